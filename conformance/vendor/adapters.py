"""Ways to reach a vendor's code generator: a JSON-lines process, a command template, a profile.

Every adapter answers the same three questions: provision this case (an
account handle, or ``Refused``), give the codes of that account at these Unix
times (codes, or ``Refused``), forget it. Whatever the vendor's program does
wrong (dies, hangs, prints garbage) is a ``VendorFailure`` for that one case;
the adapter recovers (restarts the process) so the run goes on. Only a
program that cannot be started at all is an ``AdapterSetupError``.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shlex
import shutil
import subprocess
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Final, Literal, Protocol

from conformance.vendor.cases import ACCOUNT, ISSUER, Case
from simulators.device import Account, AuthenticatorDevice, ProvisioningRefused
from simulators.profiles import get_profile
from simulators.vendor_process import error_code

#: ``not_run``: the run gave up on the program before the case (see ``run_cases``).
FailureKind = Literal["crash", "timeout", "garbage", "not_run"]

#: Lines of the vendor program's standard error kept for the evidence of a failure.
STDERR_TAIL: Final = 20
#: Longest answer line read; a longer one is garbage (and cannot exhaust memory).
MAX_LINE_BYTES: Final = 1 << 20


@dataclass(frozen=True)
class Refused:
    """The vendor said no, with a structured error (not a crash)."""

    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.message else self.code


class VendorFailure(Exception):
    """The vendor's program crashed, hung or answered something unreadable (one case fails)."""

    def __init__(self, kind: FailureKind, detail: str, stderr: Sequence[str] = ()) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind: FailureKind = kind
        self.detail = detail
        self.stderr = list(stderr)


class AdapterSetupError(Exception):
    """The adapter cannot work at all (no such program, a template without placeholders)."""


class ProvisionRequest(Protocol):
    """What provisioning an account needs: a scanned URI, or a typed key and the app's fields.

    ``Case`` satisfies it; so can any object of the caller's (a real server's URI
    and key, for ``twofa interop``). ``typed_key`` of a scanned request is the
    plain base32 secret: adapters of libraries that read no otpauth URI take it,
    with ``algorithm``, ``digits`` and ``period``.
    """

    @property
    def scanned(self) -> bool: ...
    @property
    def uri(self) -> str: ...
    @property
    def typed_key(self) -> str: ...
    @property
    def algorithm(self) -> str: ...
    @property
    def digits(self) -> int: ...
    @property
    def period(self) -> int: ...
    #: How the URI is written (``plain`` for a server's own) and how the account reaches
    #: the app (``uri`` scanned, ``key-upper`` ... typed): what ``not_applicable`` reads.
    @property
    def uri_form(self) -> str: ...
    @property
    def provisioning(self) -> str: ...


class VendorAdapter(Protocol):
    """What the runner needs from a way of reaching a code generator."""

    #: ``jsonl``, ``command`` or ``profile``.
    kind: str
    #: What is under test, for the report (the command line or the profile name).
    description: str
    #: How many times the vendor's process was restarted after dying or hanging.
    restarts: int

    def not_applicable(self, case: Case) -> str | None:
        """Why this adapter cannot present the case, or None when it can."""
        ...

    def provision(self, case: Case, deadline: float) -> object | Refused:
        """Provision an account for the case; a handle for ``codes``, or the refusal."""
        ...

    def codes(
        self, handle: object, times: Sequence[int], deadline: float
    ) -> list[str] | Refused: ...

    def forget(self, handle: object, deadline: float) -> None: ...

    def close(self) -> None: ...


class Authenticator(VendorAdapter, Protocol):
    """A ``VendorAdapter`` that takes any ``ProvisionRequest``, not only a ``Case``."""

    def not_applicable(self, case: ProvisionRequest) -> str | None: ...
    def provision(self, case: ProvisionRequest, deadline: float) -> object | Refused: ...


# -- the built-in profiles, in process ----------------------------------------


class ProfileAdapter:
    """A simulator profile (``simulators.profiles``) answering in process."""

    kind = "profile"

    def __init__(self, profile_name: str) -> None:
        self.profile = get_profile(profile_name)
        self.description = profile_name
        self.restarts = 0
        self._device = AuthenticatorDevice(self.profile)

    def not_applicable(self, case: ProvisionRequest) -> str | None:
        return None

    def provision(self, case: ProvisionRequest, deadline: float) -> object | Refused:
        try:
            if case.scanned:
                return self._device.provision_from_uri(case.uri)
            return self._device.provision_from_key(
                case.typed_key,
                account=ACCOUNT,
                issuer=ISSUER,
                algorithm=case.algorithm,
                digits=case.digits,
                period=case.period,
            )
        except ProvisioningRefused as exc:
            return Refused(error_code(str(exc)), str(exc))

    def codes(self, handle: object, times: Sequence[int], deadline: float) -> list[str] | Refused:
        assert isinstance(handle, Account)
        return [handle.code_shown_at(t) for t in times]

    def forget(self, handle: object, deadline: float) -> None:
        # A fresh device per account would cost nothing either; removing keeps one device.
        self._device = AuthenticatorDevice(self.profile)

    def close(self) -> None:
        pass


# -- a long-running process speaking JSON lines -------------------------------


class JsonLinesAdapter:
    """A vendor process reading one JSON request per line and answering one per line.

    Protocol (docs/vendor-adapter.md): ``provision`` (a URI, or a typed key with
    the app's manual-entry fields), ``codes`` (an account and a list of Unix
    times, answered in one line), ``forget``. Answers carry the request's
    ``id``; answers with an older id (left over from a case that timed out)
    are skipped.
    """

    kind = "jsonl"

    def __init__(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None) -> None:
        if not argv:
            raise AdapterSetupError("--jsonl needs a command")
        self.argv = list(argv)
        self.description = shlex.join(self.argv)
        self.env = dict(env) if env is not None else None
        self.restarts = 0
        self._starts = 0
        self._next_id = 0
        self._proc: subprocess.Popen[bytes] | None = None
        #: Whether the current process's death has been reported (as a crash) yet.
        self._death_reported = False
        self._lines: queue.Queue[bytes | None] = queue.Queue()
        self._stderr: deque[str] = deque(maxlen=STDERR_TAIL)
        self._start()  # a program that cannot start at all is a setup error, before any case

    # process management

    def _start(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        if self._proc is not None and not self._death_reported:
            # It exited on its own after its last answer: that is a crash too, reported
            # once (whether the death comes before or during the next request is timing).
            raise self._died(self._proc, "exited between requests")
        if self._proc is not None:
            self._reap()
            self.restarts += 1
        try:
            proc = subprocess.Popen(  # noqa: S603 - the vendor's own command, no shell
                self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=self.env,
                start_new_session=True,
            )
        except OSError as exc:
            if self._starts == 0:
                raise AdapterSetupError(
                    f"cannot start {self.description}: {exc.strerror or exc}"
                ) from None
            raise VendorFailure("crash", f"cannot restart the program: {exc}") from None
        self._starts += 1
        self._proc = proc
        self._death_reported = False
        lines: queue.Queue[bytes | None] = queue.Queue()
        self._lines = lines
        assert proc.stdout is not None
        assert proc.stderr is not None
        threading.Thread(target=_pump_lines, args=(proc.stdout, lines), daemon=True).start()
        threading.Thread(target=_pump_stderr, args=(proc.stderr, self._stderr), daemon=True).start()
        return proc

    def _reap(self) -> None:
        """Stop the current process (a hang, or a death already happened) and forget it."""
        proc = self._proc
        if proc is None:
            return
        self._proc = None
        if proc.poll() is None:
            _kill(proc)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def _died(self, proc: subprocess.Popen[bytes], what: str) -> VendorFailure:
        self._death_reported = True
        try:
            status = proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            _kill(proc)
            status = proc.wait()
        time.sleep(0.01)  # let the stderr pump read the last lines
        how = f"killed by signal {-status}" if status < 0 else f"exit status {status}"
        return VendorFailure("crash", f"the program {what} ({how})", list(self._stderr))

    def request(self, message: dict[str, Any], deadline: float) -> dict[str, Any]:
        """Send one request and wait (until ``deadline``) for the answer with its id."""
        proc = self._start()
        self._next_id += 1
        request_id = self._next_id
        line = json.dumps({"id": request_id, **message}, separators=(",", ":")) + "\n"
        assert proc.stdin is not None
        try:
            proc.stdin.write(line.encode("utf-8"))
            proc.stdin.flush()
        except OSError:
            raise self._died(proc, "stopped reading its input") from None
        while True:
            remaining = deadline - time.monotonic()
            try:
                if remaining <= 0:
                    raise queue.Empty
                raw = self._lines.get(timeout=remaining)
            except queue.Empty:
                self._reap()
                raise VendorFailure(
                    "timeout",
                    f"no answer to {message['op']!r} within the case's time limit",
                    list(self._stderr),
                ) from None
            if raw is None:
                raise self._died(proc, f"exited while answering {message['op']!r}")
            answer = _parse_answer(raw, list(self._stderr))
            answer_id = answer.get("id")
            if isinstance(answer_id, int) and not isinstance(answer_id, bool):
                if answer_id < request_id:
                    continue  # the late answer of a request that timed out
                if answer_id == request_id:
                    return answer
            raise VendorFailure(
                "garbage",
                f"answer id {answer_id!r} does not match the request id {request_id}",
                list(self._stderr),
            )

    # the adapter interface

    def not_applicable(self, case: ProvisionRequest) -> str | None:
        return None

    def provision(self, case: ProvisionRequest, deadline: float) -> object | Refused:
        message: dict[str, Any] = {"op": "provision"}
        if case.scanned:
            message["uri"] = case.uri
        else:
            message |= {
                "key": case.typed_key,
                "algorithm": case.algorithm,
                "digits": case.digits,
                "period": case.period,
                "label": ACCOUNT,
                "issuer": ISSUER,
            }
        answer = self.request(message, deadline)
        refused = _refusal(answer, self._stderr)
        if refused is not None:
            return refused
        account = answer.get("account")
        if not isinstance(account, str | int) or isinstance(account, bool):
            raise VendorFailure(
                "garbage", f"provision answered without an 'account': {_short(answer)}"
            )
        return account

    def codes(self, handle: object, times: Sequence[int], deadline: float) -> list[str] | Refused:
        answer = self.request({"op": "codes", "account": handle, "times": list(times)}, deadline)
        refused = _refusal(answer, self._stderr)
        if refused is not None:
            return refused
        return _codes_of(answer.get("codes"), len(times), answer)

    def forget(self, handle: object, deadline: float) -> None:
        answer = self.request({"op": "forget", "account": handle}, deadline)
        # A refusal to forget changes nothing the case measured.
        _refusal(answer, self._stderr)

    def close(self) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None and proc.stdin is not None:
            try:
                proc.stdin.close()  # end of input: a well-behaved program exits
                proc.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self._reap()


def _pump_lines(stream: IO[bytes], lines: queue.Queue[bytes | None]) -> None:
    try:
        while True:
            raw = stream.readline(MAX_LINE_BYTES)
            if not raw:
                break
            if raw.strip():
                lines.put(raw)
    except (OSError, ValueError):
        pass
    lines.put(None)


def _pump_stderr(stream: IO[bytes], tail: deque[str]) -> None:
    try:
        for raw in iter(lambda: stream.readline(MAX_LINE_BYTES), b""):
            text = raw.decode("utf-8", "replace").rstrip()
            if text:
                tail.append(text[:500])
    except (OSError, ValueError):
        pass


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, 9)  # the whole session: a shell wrapper's children too
    except OSError:
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def _short(value: object, limit: int = 200) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit] + "..."


def _parse_answer(raw: bytes, stderr: list[str]) -> dict[str, Any]:
    try:
        answer = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        shown = raw.decode("utf-8", "replace").rstrip("\n")
        raise VendorFailure("garbage", f"not a JSON line: {_short(shown)!r}", stderr) from None
    if not isinstance(answer, dict):
        raise VendorFailure("garbage", f"not a JSON object: {_short(answer)}", stderr)
    return answer


def _refusal(answer: dict[str, Any], stderr: deque[str]) -> Refused | None:
    ok = answer.get("ok")
    if ok is True:
        return None
    if ok is not False:
        raise VendorFailure(
            "garbage", f"'ok' must be true or false: {_short(answer)}", list(stderr)
        )
    error = answer.get("error")
    if isinstance(error, dict):
        return Refused(str(error.get("code") or "refused"), str(error.get("message") or ""))
    return Refused("refused", "" if error is None else str(error))


def _codes_of(raw: object, count: int, answer: object) -> list[str]:
    if not isinstance(raw, list) or len(raw) != count:
        raise VendorFailure(
            "garbage", f"expected 'codes' as a list of {count} strings: {_short(answer)}"
        )
    if not all(isinstance(c, str) for c in raw):
        raise VendorFailure(
            "garbage", f"codes must be strings (a number loses leading zeros): {_short(answer)}"
        )
    return [str(c) for c in raw]


# -- a one-shot command per code -----------------------------------------------

#: Placeholders of a command template and what each one becomes.
PLACEHOLDERS: Final[dict[str, str]] = {
    "uri": "the otpauth URI of a scanned case (empty for a typed-key case)",
    "key": "the key as typed in a typed-key case, e.g. 'gezd gnbv ...'; for a scanned case "
    "empty when the template has {uri}, else the plain secret",
    "secret": "the secret, base32 upper case without padding",
    "secret_hex": "the secret in hexadecimal",
    "algorithm": "SHA1, SHA256 or SHA512",
    "digits": "6, 7 or 8",
    "period": "15, 30 or 60",
    "time": "the Unix time to give the code for",
    "label": "the account label, issuer:account",
    "issuer": "the issuer",
    "account": "the account name",
}
_PLACEHOLDER: Final = re.compile(r"\{\{|\}\}|\{([A-Za-z_]+)\}")


def _substitute(argument: str, values: Mapping[str, str]) -> str:
    return _PLACEHOLDER.sub(
        lambda m: {"{{": "{", "}}": "}"}.get(m.group(0)) or values[m.group(1)], argument
    )


@dataclass(frozen=True)
class _Provisioned:
    """A command-template account: the placeholder values, and the code the first run printed."""

    values: dict[str, str]
    known: dict[int, str]


class CommandTemplateAdapter:
    """A command-line generator run once per code, its arguments filled from the case.

    The template is split like a shell would (``shlex``) but never run by a
    shell: each placeholder is replaced inside its own argument, so a value
    with spaces or quotes stays one argument. The code is the last non-empty
    line of standard output; a non-zero exit is a refusal (its standard error
    is the reason), unless the program died of a signal or printed a Python
    traceback, which is a crash.
    """

    kind = "command"

    def __init__(self, template: str, *, env: Mapping[str, str] | None = None) -> None:
        try:
            self.argv = shlex.split(template)
        except ValueError as exc:
            raise AdapterSetupError(f"--command: cannot split the template: {exc}") from None
        if not self.argv:
            raise AdapterSetupError("--command needs a template")
        used = {m.group(1) for a in self.argv for m in _PLACEHOLDER.finditer(a) if m.group(1)}
        unknown = sorted(used - set(PLACEHOLDERS))
        if unknown:
            raise AdapterSetupError(
                f"--command: unknown placeholder {{{unknown[0]}}} "
                f"(known: {', '.join('{' + p + '}' for p in PLACEHOLDERS)})"
            )
        if "time" not in used:
            raise AdapterSetupError("--command: the template needs {time}")
        if not used & {"uri", "key", "secret", "secret_hex"}:
            raise AdapterSetupError(
                "--command: the template needs one of {uri}, {key}, {secret}, {secret_hex}"
            )
        program = self.argv[0]
        if "{" not in program and shutil.which(program) is None:
            raise AdapterSetupError(f"--command: no such program {program!r}")
        self.used = used
        self.description = template
        self.env = dict(env) if env is not None else None
        self.restarts = 0

    def not_applicable(self, case: Case) -> str | None:
        if case.scanned:
            if "uri" in self.used:
                return None
            if case.uri_form != "plain":
                return "the template has no {uri}, so URI forms cannot be presented"
        else:
            if "key" in self.used:
                return None
            if case.provisioning != "key-upper":
                return "the template has no {key}, so a typed key's form cannot be presented"
        if self.used & {"secret", "secret_hex", "key"}:
            return None
        return "the template has only {uri}, so a typed key cannot be presented"

    def provision(self, case: Case, deadline: float) -> object | Refused:
        """Run the command for the case's first time: a non-zero exit refuses the account."""
        route = (
            "uri"
            if case.scanned and "uri" in self.used
            else "key"
            if not case.scanned and "key" in self.used
            else "canonical"
        )
        values = {
            "uri": case.uri if route == "uri" else "",
            "key": {"uri": "", "key": case.typed_key}.get(route, case.secret_base32),
            "secret": case.secret_base32,
            "secret_hex": case.secret.hex(),
            "algorithm": case.algorithm,
            "digits": str(case.digits),
            "period": str(case.period),
            "label": case.label,
            "issuer": ISSUER,
            "account": ACCOUNT,
        }
        first = case.times[0]
        answer = self._run(
            [_substitute(a, {**values, "time": str(first)}) for a in self.argv], deadline
        )
        if isinstance(answer, Refused):
            return answer
        return _Provisioned(values, {first: answer})

    def codes(self, handle: object, times: Sequence[int], deadline: float) -> list[str] | Refused:
        assert isinstance(handle, _Provisioned)
        found = []
        for t in times:
            if t in handle.known:
                found.append(handle.known[t])
                continue
            argv = [_substitute(a, {**handle.values, "time": str(t)}) for a in self.argv]
            answer = self._run(argv, deadline)
            if isinstance(answer, Refused):
                return answer
            found.append(answer)
        return found

    def _run(self, argv: list[str], deadline: float) -> str | Refused:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise VendorFailure("timeout", "no time left in the case's time limit")
        try:
            proc = subprocess.Popen(  # noqa: S603 - the vendor's own command, no shell
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=self.env,
                start_new_session=True,
            )
        except OSError as exc:
            raise VendorFailure("crash", f"cannot run {argv[0]!r}: {exc.strerror or exc}") from None
        try:
            out, err = proc.communicate(timeout=remaining)
        except subprocess.TimeoutExpired:
            _kill(proc)
            proc.communicate()
            raise VendorFailure(
                "timeout", "the command did not finish within the case's time limit"
            ) from None
        stderr = [line for line in err.decode("utf-8", "replace").splitlines() if line.strip()]
        if proc.returncode < 0:
            raise VendorFailure(
                "crash",
                f"the command was killed by signal {-proc.returncode}",
                stderr[-STDERR_TAIL:],
            )
        if proc.returncode != 0:
            if any(line.startswith("Traceback (most recent call last)") for line in stderr):
                raise VendorFailure(
                    "crash",
                    f"the command crashed (exit status {proc.returncode}, a traceback)",
                    stderr[-STDERR_TAIL:],
                )
            return Refused(f"exit status {proc.returncode}", stderr[-1] if stderr else "")
        lines = [line.strip() for line in out.decode("utf-8", "replace").splitlines()]
        lines = [line for line in lines if line]
        if not lines:
            raise VendorFailure("garbage", "the command printed no code", stderr[-STDERR_TAIL:])
        return lines[-1]

    def forget(self, handle: object, deadline: float) -> None:
        pass

    def close(self) -> None:
        pass


@dataclass
class AdapterSpec:
    """Which adapter the command line asked for (one of the three)."""

    jsonl: str | None = None
    command: str | None = None
    profile: str | None = None
    env: dict[str, str] | None = field(default=None)

    def build(self) -> VendorAdapter:
        if self.jsonl is not None:
            try:
                argv = shlex.split(self.jsonl)
            except ValueError as exc:
                raise AdapterSetupError(f"--jsonl: cannot split the command: {exc}") from None
            return JsonLinesAdapter(argv, env=self.env)
        if self.command is not None:
            return CommandTemplateAdapter(self.command, env=self.env)
        assert self.profile is not None
        return ProfileAdapter(self.profile)
