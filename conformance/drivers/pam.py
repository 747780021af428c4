"""Debian's PAM TOTP modules through ``pamtester``: Google's module and pam_oath.

- ``pam-google-authenticator``: ``libpam-google-authenticator`` 20191231
  (upstream v1.08, commit 2c7415d), provisioned by its own
  ``google-authenticator`` command;
- ``pam-oath``: ``libpam-oath`` (OATH Toolkit 2.6.7), whose users file the
  harness writes (the module has no provisioning of its own).

A credential is a secret file (Google) or users file (pam_oath) of its own,
mode 0600, in the driver's state directory, and a PAM service file
``/etc/pam.d/twofa-harness-<pid>-<driver>-<n>`` naming it; both modules
rewrite their file (reuse, rate-limit and skew state; the last OTP), so a new
credential always starts from a freshly written one. A submission is
``pamtester SERVICE root authenticate`` with the code on stdin, its clock
started at the server time by libfaketime (``FAKETIME="@YYYY-MM-DD hh:mm:ss"``,
what ``faketime @T`` sets, without the wrapper: see ``faked_environment``);
about 10 ms. The clock is a ``ManualServerClock`` applied to each call; exit
status 0 means accepted.

Why a code was refused, as far as each module says so without changing
anything outside the state directory:

- pam_oath's ``debug`` option prints liboath's result on stdout
  (``OATH_REPLAYED_OTP``, ``OATH_INVALID_OTP``, "OTP too short");
- Google's module tells only syslog (``openlog(LOG_CONS)``). ``/dev/log`` is
  absent here, so glibc writes each message to ``/dev/console`` instead: the
  driver runs pamtester in a private mount namespace (``unshare --mount``)
  with a FIFO of its own bound over ``/dev/console`` and reads the lines from
  it. Nothing outside the namespace sees the mount, and the machine's console
  is spared the messages. Where a namespace cannot be made (no
  ``CAP_SYS_ADMIN``), refusals are ``REFUSED``.

The declared policies follow the modules' documentation (``policy_sources``
quotes each):

Google (README.md, man/google-authenticator.1.md, FILEFORMAT and
man/pam_google_authenticator.8.md at tag 1.08,
https://github.com/google/google-authenticator-libpam/tree/1.08): a secret
file at the module's defaults holds only ``TOTP_AUTH`` (``-D -u`` and "no" to
the window question), so: a window of 3 codes, "one previous code, the current
code, the next code"; reuse allowed; no rate limit; skew adjustment on (off
with ``noskewadj``), its reach undocumented; SHA1, 6 digits, 30 s.

pam_oath (pam_oath/README, and liboath's ``oath_authenticate_usersfile(3)``,
https://www.nongnu.org/oath-toolkit/pam_oath.html,
https://manpages.ubuntu.com/manpages/jammy/man3/oath_authenticate_usersfile.3.html):
``window`` "how many past/future OTPs to search" (module default 5) each way;
"the usersfile will only record the last OTP and use that to make sure more
recent OTPs have not been seen yet": monotonic_step; no throttling or drift
setting among "all parameters"; SHA1, 6 digits (``HOTP/T30``), 30 s.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import math
import os
import re
import secrets
import selectors
import shutil
import subprocess
import threading
import time
import weakref
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Final
from urllib.parse import unquote

from conformance.drivers.faketime import FILE_MAX_TIME, faked_environment, libfaketime
from conformance.drivers.peers import REMEDY
from conformance.drivers.seam import (
    Answer,
    Credential,
    Driver,
    DriverError,
    ManualServerClock,
    NotInstalled,
    Option,
    TotpParameters,
    Unsupported,
    Verdict,
    boolean,
    integer,
)
from simulators.otpauth import OtpauthError, parse_uri

#: Where PAM looks for service files; the driver's own carry ``SERVICE_PREFIX``.
PAM_DIR: Final = Path("/etc/pam.d")
SERVICE_PREFIX: Final = "twofa-harness-"
#: twofa-harness-<pid>-<driver>-<n>: the pid says whether its writer is still alive.
_SERVICE_NAME: Final = re.compile(r"^twofa-harness-(\d+)-(\d+)-(\d+)$")
#: The user pamtester authenticates; ``user=root`` makes Google's module read files as root.
USER: Final = "root"
#: A module that has not answered by then is stuck: an error, never a verdict.
CALL_TIMEOUT_SECONDS: Final = 10.0
#: FAKETIME's stamp has a four-digit year (faketime.FILE_MAX_TIME: 9999-12-31).
MAX_TIME: Final = FILE_MAX_TIME
#: pamtester's answer to a refused authentication (pam_strerror(PAM_AUTH_ERR)).
AUTH_FAILURE: Final = "Authentication failure"

GOOGLE_DOCS: Final = "https://github.com/google/google-authenticator-libpam/blob/1.08"
OATH_README: Final = (
    "https://www.nongnu.org/oath-toolkit/pam_oath.html "
    "(pam_oath/README; 2.6.7's: /usr/share/doc/libpam-oath/README.gz)"
)
OATH_USERSFILE_DOC: Final = (
    "https://manpages.ubuntu.com/manpages/jammy/man3/oath_authenticate_usersfile.3.html "
    "(liboath 2.6.7)"
)

_driver_numbers = itertools.count(1)


def module_path(filename: str) -> str | None:
    """Where the PAM module ``filename`` is installed (Debian's multiarch folder), or None."""
    for pattern in (
        "/lib/*/security/",
        "/usr/lib/*/security/",
        "/lib/security/",
        "/usr/lib/security/",
        "/lib64/security/",
    ):
        found = sorted(glob.glob(pattern + filename))
        if found:
            return found[0]
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_services(directory: Path = PAM_DIR) -> list[Path]:
    """Remove the driver's service files whose writing process is gone (a killed run)."""
    removed = []
    for path in sorted(directory.glob(SERVICE_PREFIX + "*")):
        match = _SERVICE_NAME.match(path.name)
        if match is None or _alive(int(match.group(1))):
            continue
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed.append(path)
    return removed


def _remove_services(paths: set[Path]) -> None:
    """The finalizer's work: remove the service files still listed (safe to call twice)."""
    for path in list(paths):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        paths.discard(path)


class _ConsoleTap:
    """A FIFO bound over ``/dev/console`` in the call's own mount namespace.

    glibc's syslog, with ``LOG_CONS`` and no ``/dev/log``, opens ``/dev/console``
    for every message; a regular file there would be rewritten from its start
    each time, a FIFO keeps every line in order. The driver holds the reading
    end open (non-blocking) from before the call starts, so a write never waits.
    """

    #: Bind the FIFO, then become the pamtester command; a failed mount exits 125.
    SCRIPT: Final = 'mount --bind "$0" /dev/console || exit 125; exec "$@"'

    def __init__(self, path: Path) -> None:
        self.path = path
        os.mkfifo(path, 0o600)
        self._fd: int | None = os.open(path, os.O_RDONLY | os.O_NONBLOCK)

    def wrap(self, command: list[str]) -> list[str]:
        return [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            self.SCRIPT,
            str(self.path),
            *command,
        ]

    def read(self) -> str:
        """What was written to the console, once the call is over; removes the FIFO."""
        chunks: list[bytes] = []
        if self._fd is not None:
            while True:
                try:
                    chunk = os.read(self._fd, 65536)
                except BlockingIOError:
                    break
                if not chunk:
                    break
                chunks.append(chunk)
        self.close()
        return b"".join(chunks).decode("utf-8", errors="replace").replace("\r\n", "\n")

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def console_tap_works(directory: Path) -> bool:
    """Whether a private mount namespace with the console tap can be made here."""
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        return False
    tap = _ConsoleTap(directory / "console-probe.fifo")
    try:
        probe = subprocess.run(  # noqa: S603 - fixed commands
            tap.wrap(["true"]), capture_output=True, timeout=CALL_TIMEOUT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    finally:
        tap.close()
    return probe.returncode == 0


@dataclass
class PamCall:
    """One pamtester run and what came of it."""

    command: list[str]
    code: str
    server_time: float
    status: int | None = None
    stdout: str = ""
    stderr: str = ""
    #: The module's syslog lines (Google's module, through the console tap), if caught.
    console: str | None = None
    #: Monotonic times: started, prompted (together only), released, ended.
    times: dict[str, float] = field(default_factory=dict)
    timed_out: bool = False

    def evidence(self, origin: float) -> dict[str, Any]:
        found: dict[str, Any] = {
            "command": " ".join(self.command),
            "stdin": self.code,
            "server_time": self.server_time,
            "exit_status": self.status,
            "stdout": self.stdout,
            "stderr": self.stderr,
        }
        if self.console is not None:
            found["syslog"] = self.console.strip().splitlines()
        found["ms"] = {k: round((v - origin) * 1000, 1) for k, v in self.times.items()}
        if self.timed_out:
            found["timed_out_after_s"] = CALL_TIMEOUT_SECONDS
        return found


class _Running:
    """A pamtester process started with its stdin held back until ``release``."""

    def __init__(
        self, command: list[str], env: dict[str, str], call: PamCall, tap: _ConsoleTap | None
    ) -> None:
        self.call = call
        self.tap = tap
        self._stderr = b""
        call.times["started"] = time.monotonic()
        try:
            self.process = subprocess.Popen(  # noqa: S603 - the driver's own command
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
            )
        except OSError as exc:
            if tap is not None:
                tap.close()
            raise DriverError(f"cannot run {command[0]}: {exc}") from exc

    def wait_for_prompt(self, prompt: bytes, deadline: float) -> None:
        """Until the module asks for the code (it has read its file) or the process ended."""
        stream = self.process.stderr
        assert stream is not None
        with selectors.DefaultSelector() as selector:
            selector.register(stream.fileno(), selectors.EVENT_READ)
            while prompt not in self._stderr:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    raise DriverError(
                        f"pamtester did not prompt within {CALL_TIMEOUT_SECONDS:.0f} s: "
                        + self._stderr.decode(errors="replace")
                    )
                chunk = os.read(stream.fileno(), 4096)
                if not chunk:
                    break  # it ended without asking (Google's rate limit asks nothing)
                self._stderr += chunk
        self.call.times["prompted"] = time.monotonic()

    def release(self) -> None:
        """Hand the code over: the module goes on to verify it."""
        stdin = self.process.stdin
        assert stdin is not None
        with contextlib.suppress(BrokenPipeError):
            stdin.write(self.call.code.encode("utf-8") + b"\n")
            stdin.flush()
        with contextlib.suppress(BrokenPipeError):
            stdin.close()
        # communicate() would flush the closed stdin: it is done with.
        self.process.stdin = None
        self.call.times["released"] = time.monotonic()

    def finish(self, deadline: float) -> PamCall:
        call = self.call
        try:
            out, err = self.process.communicate(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, err = self.process.communicate()
            call.timed_out = True
        call.times["ended"] = time.monotonic()
        call.status = self.process.returncode
        call.stdout = out.decode("utf-8", errors="replace")
        call.stderr = (self._stderr + err).decode("utf-8", errors="replace")
        if self.tap is not None:
            call.console = self.tap.read()
        return call

    def abandon(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        if self.tap is not None:
            self.tap.close()


class PamDriver(Driver):
    """A PAM module reached through pamtester, one service file per credential."""

    #: The module's file name, the commands it needs, and the Debian packages that bring them.
    module: ClassVar[str] = ""
    commands: ClassVar[tuple[str, ...]] = ("pamtester",)
    packages: ClassVar[str] = ""
    #: What the module asks on stderr once it has read its file (submit_together waits for it).
    prompt: ClassVar[bytes] = b""
    #: Whether the module says why only to syslog (read through the console tap).
    reasons_on_console: ClassVar[bool] = False
    #: The name of the credential's state file in its folder.
    state_file: ClassVar[str] = ""

    def __init__(
        self, options: Mapping[str, Any], workdir: Path, *, url: str | None = None
    ) -> None:
        super().__init__(options, workdir, url=url)
        if url is not None:
            raise DriverError(f"{self.name} runs the module on this machine; it has no URL")
        missing = self.missing()
        if missing is not None:
            raise NotInstalled(missing)
        self.number = next(_driver_numbers)
        self.state = workdir / f"{self.name}-{os.getpid()}-{self.number}"
        self.state.mkdir(parents=True, exist_ok=True)
        self.clock = ManualServerClock(time.time(), max_time=MAX_TIME)
        self._services: set[Path] = set()
        # Runs at close(), at garbage collection, or at interpreter exit, whichever comes first.
        self._finalizer = weakref.finalize(self, _remove_services, self._services)
        self._numbers = itertools.count(1)
        self._calls = itertools.count(1)
        self._lock = threading.Lock()
        remove_stale_services()  # left by a killed run
        self.console_tap = self.reasons_on_console and console_tap_works(self.state)

    # -- installation ----------------------------------------------------------------

    @classmethod
    def missing(cls) -> str | None:
        absent = [c for c in cls.commands if shutil.which(c) is None]
        if libfaketime() is None:
            absent.append("libfaketime")
        if module_path(cls.module) is None:
            absent.append(cls.module)
        if absent:
            return (
                f"{cls.name} needs {', '.join(absent)} (Debian {cls.packages}), "
                f"not installed: {REMEDY}, as root"
            )
        if os.geteuid() != 0:
            return (
                f"{cls.name} writes PAM service files in {PAM_DIR} and must run as root "
                f"(as root, {REMEDY} installs what it needs)"
            )
        if not PAM_DIR.is_dir():
            return f"{cls.name} needs {PAM_DIR} (Linux-PAM): {REMEDY}, as root"
        return None

    # -- what each module does ---------------------------------------------------------

    @abstractmethod
    def _check_parameters(self, parameters: TotpParameters) -> None:
        """``Unsupported`` for parameters the module cannot provision."""

    @abstractmethod
    def _write_state(self, path: Path, parameters: TotpParameters) -> Credential:
        """Write the credential's state file; the credential (its label is set after)."""

    @abstractmethod
    def _service_text(self, state_path: Path) -> str:
        """The PAM service file naming the state file."""

    @abstractmethod
    def _answer(self, call: PamCall, evidence: dict[str, Any]) -> Answer:
        """The verdict on one pamtester run, from what the module said."""

    # -- the verifier ------------------------------------------------------------------

    def provision(self, parameters: TotpParameters) -> Credential:
        self._check_parameters(parameters)
        with self._lock:
            n = next(self._numbers)
        service = f"{SERVICE_PREFIX}{os.getpid()}-{self.number}-{n}"
        folder = self.state / f"credential-{n}"
        folder.mkdir()
        state_path = folder / self.state_file
        if re.search(r"[\s\[\]]", str(state_path)):
            raise DriverError(f"a PAM module argument cannot hold this path: {state_path}")
        credential = self._write_state(state_path, parameters)
        credential.label = service
        service_path = PAM_DIR / service
        with self._lock:
            self._services.add(service_path)
        try:
            # Exclusive: never take over a file of another run.
            with service_path.open("x", encoding="ascii") as written:
                written.write(self._service_text(state_path))
        except OSError as exc:
            with self._lock:
                self._services.discard(service_path)
            raise DriverError(f"cannot write the PAM service file {service_path}: {exc}") from exc
        credential.handle.update(service=service, service_path=service_path, folder=folder)
        credential.handle["state_path"] = state_path
        return credential

    def _prepare(
        self, credential: Credential, code: str | int
    ) -> tuple[list[str], dict[str, str], PamCall]:
        if not isinstance(code, str):
            raise DriverError(f"{self.name} takes codes as text (pamtester reads a line)")
        if any(c in code for c in "\r\n\0"):
            raise DriverError(f"{self.name} cannot carry a line break or NUL in a code")
        service = credential.handle.get("service")
        if service is None or PAM_DIR / service not in self._services:
            raise DriverError(f"credential {credential.label} was dropped")
        at = math.floor(self.now())
        command = ["pamtester", service, USER, "authenticate"]
        env, shown = faked_environment(at)
        return command, env, PamCall([*shown, *command], code, float(at))

    def _start(self, credential: Credential, code: str | int) -> _Running:
        command, env, call = self._prepare(credential, code)
        tap = None
        if self.console_tap:
            folder: Path = credential.handle["folder"]
            tap = _ConsoleTap(folder / f"console-{next(self._calls)}.fifo")
            command = tap.wrap(command)
        return _Running(command, env, call, tap)

    def submit(self, credential: Credential, code: str | int) -> Answer:
        running = self._start(credential, code)
        try:
            running.release()
            call = running.finish(time.monotonic() + CALL_TIMEOUT_SECONDS)
        except BaseException:
            running.abandon()
            raise
        return self._answer(call, call.evidence(call.times["started"]))

    def submit_together(self, credential: Credential, codes: Sequence[str]) -> list[Answer]:
        """Every pamtester started, each waiting at its prompt with the file read; then all
        codes handed over at once: the verifications and file updates really overlap."""
        started: list[_Running] = []
        try:
            for code in codes:
                started.append(self._start(credential, code))
            deadline = time.monotonic() + CALL_TIMEOUT_SECONDS
            for running in started:
                running.wait_for_prompt(self.prompt, deadline)
            for running in started:
                running.release()
            calls = [running.finish(deadline) for running in started]
        except BaseException:
            for running in started:
                running.abandon()
            raise
        origin = min(call.times["started"] for call in calls)
        answers = []
        for call in calls:
            evidence = call.evidence(origin)
            evidence["together"] = (
                f"{len(calls)} pamtester processes, each released once all had prompted"
            )
            answers.append(self._answer(call, evidence))
        return answers

    def drop(self, credential: Credential) -> None:
        service_path: Path | None = credential.handle.get("service_path")
        if service_path is not None:
            with contextlib.suppress(FileNotFoundError):
                service_path.unlink()
            with self._lock:
                self._services.discard(service_path)
        folder: Path | None = credential.handle.get("folder")
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    def close(self) -> None:
        self._finalizer()
        shutil.rmtree(self.state, ignore_errors=True)

    def describe(self) -> dict[str, Any]:
        described = super().describe()
        described["module"] = module_path(self.module)
        described["reasons"] = self._reasons_source()
        return described

    def _reasons_source(self) -> str:
        return "exit status only"

    # -- shared answer logic -------------------------------------------------------------

    def _pamtester_error(self, call: PamCall, evidence: dict[str, Any]) -> Answer | None:
        """An ERROR answer when pamtester did not come to a verdict, else None."""
        if call.timed_out:
            return Answer(Verdict.ERROR, f"no answer within {CALL_TIMEOUT_SECONDS:.0f} s", evidence)
        if call.status == 0:
            return None
        if call.status == 1 and AUTH_FAILURE in call.stderr:
            return None
        return Answer(Verdict.ERROR, f"exit {call.status}: {pamtester_said(call)}", evidence)


def pamtester_said(call: PamCall) -> str:
    """pamtester's own last words: its verdict line, without the module's prompt before it."""
    line = _last_line(call.stdout if call.status == 0 else call.stderr)
    return line.rpartition(": pamtester: ")[2] if ": pamtester: " in line else line


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


# -- Google's module -------------------------------------------------------------------


def rate_limit(text: str) -> tuple[int, int]:
    """``N/M``: at most N login attempts per M seconds (google-authenticator -r N -R M)."""
    attempts, slash, seconds = text.strip().partition("/")
    if not slash:
        raise ValueError(f"{text!r} is not N/M (attempts/seconds, e.g. 3/30)")
    n = integer(1, 10)(attempts)
    m = integer(15, 600)(seconds)
    return n, m


def window_size(text: str) -> int:
    """google-authenticator -w: 1..21 codes; odd, the sizes its documentation defines."""
    size = integer(1, 21)(text)
    if size % 2 == 0:
        raise ValueError(
            f"{size} is even: the documentation defines a window of N codes as (N-1)/2 "
            "before and after the current one, and says nothing of an even N"
        )
    return size


#: The module's syslog lines and what they say of the code, in order of precedence.
GOOGLE_REASONS: Final = (
    ("Trying to reuse a previously used time-based code", Verdict.REUSED),
    ("Too many concurrent login attempts", Verdict.LOCKED),
    ("Failed to update secret file", Verdict.REFUSED),
    ("Invalid verification code", Verdict.INVALID),
)
_SYSLOG_PREFIX: Final = re.compile(r"^[^\s]*\(pam_google_authenticator\)\[\d+\]: ")


class GoogleAuthenticatorDriver(PamDriver):
    """Google's pam_google_authenticator, its secrets made by ``google-authenticator``."""

    name = "pam-google-authenticator"
    title = "Google Authenticator PAM module (Debian libpam-google-authenticator 20191231)"
    module = "pam_google_authenticator.so"
    commands = ("pamtester", "google-authenticator")
    packages = "libpam-google-authenticator, pamtester, faketime"
    prompt = b"Verification code: "
    reasons_on_console = True
    state_file = "google_authenticator"
    options: ClassVar[Sequence[Option]] = (
        Option(
            "window_size",
            "google-authenticator -w N: N codes centred on the current one, (N-1)/2 before "
            "and after (odd, 1..21); unset: the module's default of 3",
            window_size,
            3,
        ),
        Option(
            "disallow_reuse",
            "google-authenticator -d: each code at most once (DISALLOW_REUSE); "
            "false (the module's default): -D",
            boolean,
            False,
        ),
        Option(
            "rate_limit",
            "google-authenticator -r N -R M, given as N/M: at most N login attempts every "
            "M seconds (N 1..10, M 15..600); unset: -u, no rate limit",
            rate_limit,
        ),
        Option(
            "step_size",
            "google-authenticator -S S: the period in seconds (1..60) of the credentials "
            "it provisions by default; its otpauth URI carries no period",
            integer(1, 60),
            30,
        ),
        Option(
            "noskewadj",
            "the PAM module option noskewadj: no automatic time-skew adjustment",
            boolean,
            False,
        ),
    )

    ISSUER: Final = "twofa-harness"

    @property
    def window(self) -> int:
        return int(self.settings.get("window_size", 3))

    @property
    def period(self) -> int:
        return int(self.settings.get("step_size", 30))

    def _check_parameters(self, parameters: TotpParameters) -> None:
        # compute_code: HMAC-SHA1, "truncatedHash %= 1000000"; -S takes 1..60.
        if parameters.algorithm != "SHA1":
            raise Unsupported("Google's module computes HMAC-SHA1 codes only")
        if parameters.digits != 6:
            raise Unsupported("Google's module verifies 6-digit codes only")
        if not 1 <= parameters.period <= 60:
            raise Unsupported("google-authenticator -S takes a period of 1..60 seconds")

    def _flags(self, parameters: TotpParameters) -> tuple[list[str], set[str]]:
        """google-authenticator's flags, and the option lines they must write."""
        flags: list[str] = []
        lines = {"TOTP_AUTH"}
        if self.settings.get("disallow_reuse"):
            flags.append("-d")
            lines.add("DISALLOW_REUSE")
        else:
            flags.append("-D")
        limit = self.settings.get("rate_limit")
        if limit is not None:
            n, m = limit
            flags += ["-r", str(n), "-R", str(m)]
            lines.add(f"RATE_LIMIT {n} {m}")
        else:
            flags.append("-u")
        if "window_size" in self.settings:
            flags += ["-w", str(self.window)]
            lines.add(f"WINDOW_SIZE {self.window}")
        # Without -w it asks about the window: "n" keeps the module's default (no line).
        if parameters.period != 30 or "step_size" in self.settings:
            flags += ["-S", str(parameters.period)]
            lines.add(f"STEP_SIZE {parameters.period}")
        return flags, lines

    def _write_state(self, path: Path, parameters: TotpParameters) -> Credential:
        flags, expected = self._flags(parameters)
        label = f"{path.parent.name}@{self.name}"
        command = [
            "google-authenticator",
            "-t",
            "-C",
            "-f",
            "-s",
            str(path),
            "-l",
            label,
            "-i",
            self.ISSUER,
            "-Q",
            "UTF8",
            "-e",
            "0",
            *flags,
        ]
        try:
            made = subprocess.run(  # noqa: S603 - the peer's own command
                command,
                input="n\n",
                capture_output=True,
                text=True,
                timeout=CALL_TIMEOUT_SECONDS,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise DriverError(f"google-authenticator failed: {exc}") from exc
        if made.returncode != 0:
            raise DriverError(
                f"google-authenticator exited {made.returncode}: {_last_line(made.stderr)}"
            )
        chart = re.search(r"[?&]chl=(\S+)", made.stdout)
        if chart is None:
            raise DriverError("google-authenticator printed no chart URL with an otpauth URI")
        uri = unquote(chart.group(1))
        try:
            parsed = parse_uri(uri)
            key = parsed.key()
        except OtpauthError as exc:
            raise DriverError(f"google-authenticator's otpauth URI is unusable: {exc}") from exc
        text = path.read_text(encoding="ascii")
        first, *rest = text.splitlines()
        if first.strip() != parsed.secret:
            raise DriverError("the secret file and the otpauth URI hold different secrets")
        written = {line[2:].strip() for line in rest if line.startswith('" ')}
        if written != expected:
            raise DriverError(
                f"google-authenticator {' '.join(flags)} wrote the option lines "
                f"{sorted(written)}, expected {sorted(expected)}"
            )
        path.chmod(0o600)
        return Credential(
            label=label,
            key=key,
            # What the URI hands out: it carries no period, digits or algorithm.
            parameters=TotpParameters(parsed.algorithm, parsed.digits, parsed.period),
            created_at=self.now(),
            provisioned_by="server",
            uri=uri,
        )

    def _service_text(self, state_path: Path) -> str:
        arguments = f"secret={state_path} user={USER} debug"
        if self.settings.get("noskewadj"):
            arguments += " noskewadj"
        return (
            f"# {self.name}: written by twofa-harness (pid {os.getpid()}); removed when done\n"
            f"auth required pam_google_authenticator.so {arguments}\n"
            "account required pam_permit.so\n"
        )

    def _reasons_source(self) -> str:
        if self.console_tap:
            return "syslog lines, caught on /dev/console in a private mount namespace"
        return "exit status only (no mount namespace here: refusals are 'refused')"

    def _answer(self, call: PamCall, evidence: dict[str, Any]) -> Answer:
        failed = self._pamtester_error(call, evidence)
        if failed is not None:
            return failed
        lines = [
            _SYSLOG_PREFIX.sub("", line)
            for line in (call.console or "").splitlines()
            if line.strip() and "debug: " not in line
        ]
        said = "; ".join(lines) or pamtester_said(call)
        if call.status == 0:
            return Answer(Verdict.ACCEPTED, f"exit 0: {said}", evidence)
        for words, verdict in GOOGLE_REASONS:
            if any(words in line for line in lines):
                return Answer(verdict, f"exit {call.status}: {said}", evidence)
        return Answer(Verdict.REFUSED, f"exit {call.status}: {said}", evidence)

    # -- the declared policy -------------------------------------------------------------

    def declared_policy(self) -> dict[str, Any]:
        side = (self.window - 1) // 2
        limit = self.settings.get("rate_limit")
        throttle: dict[str, Any] = (
            {"max_failures": limit[0], "lock_seconds": limit[1], "kind": "rate_limit"}
            if limit is not None
            else {"max_failures": None, "lock_seconds": None, "kind": "none"}
        )
        return {
            "window": {"back": side, "forward": side},
            "replay": "same_code" if self.settings.get("disallow_reuse") else "none",
            "throttle": throttle,
            "drift": {"tracking": not self.settings.get("noskewadj"), "max_steps": None},
            "totp": {"algorithm": "SHA1", "digits": 6, "period": self.period},
        }

    def policy_sources(self) -> dict[str, str]:
        man = f"{GOOGLE_DOCS}/man/google-authenticator.1.md"
        return {
            "window": (
                f"{man} (-w): 'an extra token before and after the current time is allowed"
                "... increased from its default size of 3 permitted codes (one previous "
                "code, the current code, the next code) to 17 permitted codes (the 8 "
                "previous codes, the current code, and the 8 next codes)'; "
                f"{GOOGLE_DOCS}/FILEFORMAT: 'WINDOW_SIZE n: the default window size is 3, "
                "allowing up to one extra valid token before and after the currently active "
                "one'. Declared (N-1)/2 each way; even sizes are refused as an option: the "
                "docs do not say how they split"
            ),
            "replay": (
                f"{man} (-D/-d): '(Dis)allow multiple uses of the same authentication "
                f"token'; {GOOGLE_DOCS}/FILEFORMAT: 'DISALLOW_REUSE: a time-based token can "
                "be used at most once. Any attempt to log in using the same token will be "
                "denied'. Without it reuse is allowed ('none'); with it the docs speak of "
                "the same token only ('same_code'), not of older ones"
            ),
            "throttle": (
                f"{man} (-r/-R/-u): 'Disable rate-limiting, or limit logins to N per every "
                "M seconds... no more than N login attempts every M seconds'; FILEFORMAT: "
                "'RATE_LIMIT n m: restricts the number of logins to at most n within each m "
                "second interval'. It counts attempts, not only failures (declared as "
                "max_failures N, lock_seconds M); the docs give no lockout. Unset: -u"
            ),
            "drift": (
                f"{GOOGLE_DOCS}/README.md (noskewadj): 'The PAM module makes an attempt to "
                "compensate for time skew. You can teach it about the amount of skew that "
                "you are experiencing, by trying to log it three times in a row'; "
                f"{GOOGLE_DOCS}/man/pam_google_authenticator.8.md: 'noskewadj: Don't adjust "
                "time skew automatically'. The docs set no bound on the skew (max_steps None)"
            ),
            "totp": (
                f"{man}: 'By default, time-based tokens are generated every 30 seconds' "
                "(-S: 1..60 s); the docs name no digits or algorithm: SHA1 and 6 digits are "
                "the only ones it provisions (its URI names neither, nor the period)"
            ),
            "defaults": (
                "a secret file at the module's defaults: '\" TOTP_AUTH' and no other option "
                "line (google-authenticator -t -D -u, answering 'n' to the window question); "
                f"{GOOGLE_DOCS}/FILEFORMAT lists every option line the module reads"
            ),
        }


# -- pam_oath --------------------------------------------------------------------------

#: liboath's results (oath.h) and what they say of the code.
OATH_VERDICTS: Final = {
    "OATH_OK": Verdict.ACCEPTED,
    "OATH_INVALID_OTP": Verdict.INVALID,
    "OATH_REPLAYED_OTP": Verdict.REUSED,
    # A code longer than digits= is read as a password plus the OTP; the user has none.
    "OATH_BAD_PASSWORD": Verdict.REFUSED,
}
#: pam_oath's own refusals before liboath sees the code (pam_oath.c's DBG lines).
OATH_FORM_REFUSALS: Final = ("OTP too short", "OTP shorter than digits", "OTP too long")
_OATH_RESULT: Final = re.compile(r"authenticate rc (-?\d+) \((\w+): ([^)]*)\)")


class PamOathDriver(PamDriver):
    """OATH Toolkit's pam_oath, with a users file the harness writes."""

    name = "pam-oath"
    title = "pam_oath (Debian libpam-oath, OATH Toolkit 2.6.7)"
    module = "pam_oath.so"
    packages = "libpam-oath, pamtester, faketime"
    prompt = b"One-time password (OATH) for"
    state_file = "users.oath"
    options: ClassVar[Sequence[Option]] = (
        Option(
            "window",
            "pam_oath window=N: how many past and future OTPs to search (0..100); "
            "unset: the module's default of 5",
            integer(0, 100),
            5,
        ),
        Option(
            "digits",
            "pam_oath digits=N (6, 7 or 8): the OTP length it reads off the end of what is "
            "typed (the rest is a password); also the digits of the users-file lines",
            integer(6, 8),
        ),
    )

    @property
    def window(self) -> int:
        return int(self.settings.get("window", 5))

    def _check_parameters(self, parameters: TotpParameters) -> None:
        # liboath's usersfile types: HOTP/T30 and HOTP/T60, /6 /7 /8; HMAC-SHA1 only.
        if parameters.algorithm != "SHA1":
            raise Unsupported("pam_oath's users file has no hash field: HMAC-SHA1 only")
        if parameters.period not in (30, 60):
            raise Unsupported("pam_oath's users file knows 30 s and 60 s steps only")
        if parameters.digits not in (6, 7, 8):
            raise Unsupported("pam_oath verifies 6, 7 or 8 digits")
        configured = self.settings.get("digits")
        if configured is not None and parameters.digits != configured:
            raise Unsupported(
                f"pam_oath is configured with digits={configured}: it reads "
                f"{configured}-digit codes only"
            )

    def _write_state(self, path: Path, parameters: TotpParameters) -> Credential:
        key = secrets.token_bytes(20)
        kind = f"HOTP/T{parameters.period}"
        if parameters.digits != 6:
            kind += f"/{parameters.digits}"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as written:
            written.write(f"{kind} {USER} - {key.hex()}\n")
        return Credential(
            label=path.parent.name,
            key=key,
            parameters=parameters,
            created_at=self.now(),
            provisioned_by="harness",
            handle={"type": kind},
        )

    def _service_text(self, state_path: Path) -> str:
        arguments = f"usersfile={state_path}"
        if "window" in self.settings:
            arguments += f" window={self.window}"
        if "digits" in self.settings:
            arguments += f" digits={self.settings['digits']}"
        return (
            f"# {self.name}: written by twofa-harness (pid {os.getpid()}); removed when done\n"
            f"auth required pam_oath.so {arguments} debug\n"
            "account required pam_permit.so\n"
        )

    def _reasons_source(self) -> str:
        return "pam_oath's debug lines on stdout (liboath's result)"

    def _answer(self, call: PamCall, evidence: dict[str, Any]) -> Answer:
        failed = self._pamtester_error(call, evidence)
        if failed is not None:
            return failed
        debug = call.stdout.splitlines()
        # The last liboath result is the code's; the "first pass" one only checks the user.
        results = [
            found
            for found in (_OATH_RESULT.search(line) for line in debug if "first pass" not in line)
            if found is not None
        ]
        if call.status == 0:
            said = f"{results[-1].group(2)}: {results[-1].group(3)}" if results else "exit 0"
            return Answer(Verdict.ACCEPTED, f"exit 0: {said}", evidence)
        for line in debug:
            if any(words in line for words in OATH_FORM_REFUSALS):
                said = line.split("] ", 1)[-1]
                return Answer(Verdict.MALFORMED, f"exit {call.status}: {said}", evidence)
        if not results:
            return Answer(Verdict.REFUSED, f"exit {call.status}: {AUTH_FAILURE}", evidence)
        name, words = results[-1].group(2), results[-1].group(3)
        verdict = OATH_VERDICTS.get(name, Verdict.ERROR)
        if verdict is Verdict.ACCEPTED:
            # liboath said OK and PAM still refused: something after it failed.
            verdict = Verdict.ERROR
        return Answer(verdict, f"exit {call.status}: {name}: {words}", evidence)

    # -- the declared policy -------------------------------------------------------------

    def declared_policy(self) -> dict[str, Any]:
        return {
            "window": {"back": self.window, "forward": self.window},
            "replay": "monotonic_step",
            "throttle": {"max_failures": None, "lock_seconds": None, "kind": "none"},
            "drift": {"tracking": False, "max_steps": None},
            "totp": {
                "algorithm": "SHA1",
                "digits": int(self.settings.get("digits", 6)),
                "period": 30,
            },
        }

    def policy_sources(self) -> dict[str, str]:
        return {
            "window": (
                f'{OATH_README}: \'"window": Specify search depth, an integer typically from '
                "5 to 50'; pam_oath passes it to oath_authenticate_usersfile, "
                f"{OATH_USERSFILE_DOC}: 'window: how many past/future OTPs to search' (the "
                "same number each way). The README names no default: the module states the "
                "one in effect itself, in its debug line 'parse_cfg: window=5' (each call's "
                "stdout, in the evidence)"
            ),
            "replay": (
                f"{OATH_USERSFILE_DOC}: 'for TOTP the usersfile will only record the last OTP "
                "and use that to make sure more recent OTPs have not been seen yet when "
                "validating a new OTP'; 'If the supplied otp is the same as the last "
                "successfully authenticated one-time password, OATH_REPLAYED_OTP is returned'"
            ),
            "throttle": (
                f"{OATH_README} ('List of all parameters': debug, alwaysok, try_first_pass, "
                "use_first_pass, usersfile, digits, window): no setting limits failures, and "
                "none is documented"
            ),
            "drift": (
                f"{OATH_README} and {OATH_USERSFILE_DOC}: no drift tracking is documented; the "
                "users file records the last OTP and its time only"
            ),
            "totp": (
                f"{OATH_README} ('digits': 'Supported values are 6, 7, and 8'); the users "
                "file type the harness writes, HOTP/T30 (UsersFile format: HOTP/T30, "
                "HOTP/T60, optional /6 /7 /8; no hash field, so HMAC-SHA1)"
            ),
        }


__all__ = [
    "GoogleAuthenticatorDriver",
    "PamCall",
    "PamDriver",
    "PamOathDriver",
    "console_tap_works",
    "module_path",
    "remove_stale_services",
]
