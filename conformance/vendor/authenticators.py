"""Real TOTP implementations installed here, each behind the vendor-adapter interface.

Every one is reached as a process (``make peers`` installs them):

- ``oathtool`` (Debian's OATH Toolkit): one run per code, ``--now=@T``.
- KeePassXC's CLI (Debian ``keepassxc``): each account is a database of its own
  with the otpauth URI in its entry's ``otp`` attribute (the attribute
  KeePassXC keeps TOTP settings in); ``keepassxc-cli show -t`` prints the
  code with its clock frozen at the time by libfaketime.
- npm ``otplib`` and ``speakeasy``: one long-running node process speaking
  JSON lines (``peers/authenticators/node/otp-jsonl.mjs``).
- PyPI ``pyotp`` and ``cryptography``'s TOTP: one Python process each, in a
  virtual environment of its own (``peers/authenticators/python_jsonl.py``).

A library that reads no otpauth URI is handed the secret and the parameters
(what an app built on it would have read from the URI); the URI forms and the
URI matrix rows are then not applicable to it, and say why.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final
from xml.sax.saxutils import escape

from conformance.drivers.faketime import libfaketime
from conformance.drivers.peers import (
    PEERS_DIR,
    REMEDY,
    environment,
    missing_commands,
    missing_environment,
    peer_python,
)
from conformance.vendor.adapters import (
    STDERR_TAIL,
    Authenticator,
    JsonLinesAdapter,
    ProvisionRequest,
    Refused,
    VendorFailure,
    _kill,
)

#: The programs of the JSON-lines adapters (they run in the peers' own environments).
PROGRAMS: Final = PEERS_DIR / "authenticators"
#: Where make peers installs the node packages of package-lock.json.
NODE_HOME: Final = "authenticators-node"


@dataclass(frozen=True)
class _Key:
    """A scanned request handed to a library that reads no URI: its secret and parameters."""

    typed_key: str
    algorithm: str
    digits: int
    period: int
    scanned: bool = False
    uri: str = ""
    uri_form: str = "none"
    provisioning: str = "key-upper"


def _as_key(case: ProvisionRequest) -> ProvisionRequest:
    return _Key(case.typed_key, case.algorithm, case.digits, case.period)


def _no_uri(name: str, case: ProvisionRequest) -> str | None:
    if case.scanned and case.uri_form != "plain":
        return (
            f"{name} reads no otpauth URI: it is handed the secret and parameters, "
            "so how a URI is written cannot be presented"
        )
    return None


class LibraryProcess(JsonLinesAdapter):
    """A library behind the JSON-lines protocol, in a process of its own."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        description: str,
        reads_uri: bool,
        reads_key_forms: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(argv, env=env)
        self.kind = "adapter"
        self.description = description
        self.name = name
        self.reads_uri = reads_uri
        self.reads_key_forms = reads_key_forms

    def not_applicable(self, case: ProvisionRequest) -> str | None:
        if not self.reads_uri:
            found = _no_uri(self.name, case)
            if found:
                return found
        if not case.scanned and not self.reads_key_forms and case.provisioning != "key-upper":
            return (
                f"{self.name} takes the key as bytes: how a typed key is read (case, spaces) "
                "is the app's own code, not the library's"
            )
        return None

    def provision(self, case: ProvisionRequest, deadline: float) -> object | Refused:
        if case.scanned and not self.reads_uri:
            case = _as_key(case)
        return super().provision(case, deadline)


# -- one process per code ------------------------------------------------------


def _run(
    argv: Sequence[str], deadline: float, *, env: Mapping[str, str] | None = None
) -> tuple[int, str, list[str]]:
    """Run one command within the case's deadline: (exit status, stdout, stderr lines)."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise VendorFailure("timeout", "no time left in the case's time limit")
    try:
        proc = subprocess.Popen(  # noqa: S603 - a fixed program, no shell
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env) if env is not None else None,
            start_new_session=True,
        )
    except OSError as exc:
        raise VendorFailure("crash", f"cannot run {argv[0]!r}: {exc.strerror or exc}") from None
    try:
        out, err = proc.communicate(timeout=remaining)
    except subprocess.TimeoutExpired:
        _kill(proc)
        proc.communicate()
        raise VendorFailure("timeout", f"{argv[0]} did not finish within the time limit") from None
    stderr = [line for line in err.decode("utf-8", "replace").splitlines() if line.strip()]
    if proc.returncode < 0:
        raise VendorFailure(
            "crash", f"{argv[0]} was killed by signal {-proc.returncode}", stderr[-STDERR_TAIL:]
        )
    return proc.returncode, out.decode("utf-8", "replace"), stderr


def _last_line(out: str, what: str, stderr: list[str]) -> str:
    lines = [line.strip() for line in out.splitlines() if line.strip()]
    if not lines:
        raise VendorFailure("garbage", f"{what} printed no code", stderr[-STDERR_TAIL:])
    return lines[-1]


def _refusal(status: int, stderr: list[str]) -> Refused:
    return Refused(f"exit status {status}", stderr[-1] if stderr else "")


def _version(argv: Sequence[str]) -> str:
    try:
        done = subprocess.run(  # noqa: S603 - a fixed program, no shell
            list(argv), capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return "version unknown"
    return (done.stdout.strip().splitlines() or ["version unknown"])[0]


@dataclass(frozen=True)
class _OathAccount:
    key: str
    algorithm: str
    digits: int
    period: int


class OathtoolAdapter:
    """Debian's ``oathtool``: ``oathtool --totp=ALG -b -d DIGITS -s PERIODs --now=@T KEY``."""

    kind = "adapter"

    def __init__(self) -> None:
        self.description = _version(["oathtool", "--version"])
        self.restarts = 0

    def not_applicable(self, case: ProvisionRequest) -> str | None:
        return _no_uri("oathtool", case)

    def _code(self, account: _OathAccount, at: int, deadline: float) -> str | Refused:
        argv = [
            "oathtool",
            f"--totp={account.algorithm}",
            "--base32",
            f"--digits={account.digits}",
            f"--time-step-size={account.period}s",
            f"--now=@{at}",
            account.key,
        ]
        status, out, stderr = _run(argv, deadline)
        if status != 0:
            return _refusal(status, stderr)
        return _last_line(out, "oathtool", stderr)

    def provision(self, case: ProvisionRequest, deadline: float) -> object | Refused:
        account = _OathAccount(case.typed_key, case.algorithm, case.digits, case.period)
        # oathtool keeps no accounts: a first run says whether it takes the key and parameters.
        found = self._code(account, 59, deadline)
        return found if isinstance(found, Refused) else account

    def codes(self, handle: object, times: Sequence[int], deadline: float) -> list[str] | Refused:
        assert isinstance(handle, _OathAccount)
        found = []
        for t in times:
            code = self._code(handle, t, deadline)
            if isinstance(code, Refused):
                return code
            found.append(code)
        return found

    def forget(self, handle: object, deadline: float) -> None:
        pass

    def close(self) -> None:
        pass


#: The password-less database of one account (a key file opens it).
_KEEPASS_XML: Final = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<KeePassFile><Meta><Generator>twofa-harness</Generator></Meta><Root><Group>
<UUID>AAAAAAAAAAAAAAAAAAAAAA==</UUID><Name>Root</Name><Entry>
<UUID>AAAAAAAAAAAAAAAAAAAAAQ==</UUID>
<String><Key>Title</Key><Value>account</Value></String>
<String><Key>otp</Key><Value>{otp}</Value></String>
</Entry></Group></Root></KeePassFile>
"""


class KeePassXCAdapter:
    """KeePassXC's CLI: the otpauth URI in an entry's ``otp`` attribute, ``show -t`` per code.

    Each account is a database imported from KeePass XML (one entry, opened
    by a key file, the CLI's fastest key derivation); each code is one
    ``keepassxc-cli show -t`` with the clock frozen at the code's time
    (libfaketime's ``FAKETIME`` without ``@``: no clock running on past a step's
    end while the CLI starts).
    """

    kind = "adapter"

    def __init__(self, library: str) -> None:
        self.description = f"keepassxc-cli {_version(['keepassxc-cli', '--version'])}"
        self.restarts = 0
        self.library = library
        self._folder = Path(tempfile.mkdtemp(prefix="twofa-keepassxc-"))
        self._key = self._folder / "key"
        self._key.write_bytes(hashlib.sha256(str(self._folder).encode()).digest())
        self._key.chmod(0o600)
        self._count = 0

    def not_applicable(self, case: ProvisionRequest) -> str | None:
        if not case.scanned:
            return (
                "keepassxc-cli has no TOTP set-up for a typed key (that is the GUI's dialog, "
                "not driven here): only otpauth URIs are presented"
            )
        return None

    def provision(self, case: ProvisionRequest, deadline: float) -> object | Refused:
        if not case.scanned:
            return Refused(
                "not_presented", "the keepassxc adapter presents otpauth URIs only, not typed keys"
            )
        self._count += 1
        xml = self._folder / f"account{self._count}.xml"
        database = self._folder / f"account{self._count}.kdbx"
        xml.write_text(_KEEPASS_XML.format(otp=escape(case.uri)), encoding="utf-8")
        try:
            argv = ["keepassxc-cli", "import", "-q", "--set-key-file", str(self._key)]
            status, _out, stderr = _run([*argv, "-t", "100", str(xml), str(database)], deadline)
        finally:
            xml.unlink(missing_ok=True)
        if status != 0:
            return _refusal(status, stderr)
        return database

    def codes(self, handle: object, times: Sequence[int], deadline: float) -> list[str] | Refused:
        assert isinstance(handle, Path)
        found = []
        for t in times:
            argv = ["keepassxc-cli", "show", "-q", "-t", "--no-password", "-k", str(self._key)]
            status, out, stderr = _run([*argv, str(handle), "account"], deadline, env=self._at(t))
            if status != 0:
                return _refusal(status, stderr)
            found.append(_last_line(out, "keepassxc-cli show -t", stderr))
        return found

    def _at(self, unix_time: int) -> dict[str, str]:
        stamp = datetime.fromtimestamp(unix_time, UTC).strftime("%Y-%m-%d %H:%M:%S")
        return {
            **os.environ,
            "LD_PRELOAD": self.library,
            "FAKETIME": stamp,  # no '@': the clock stays at that second
            "TZ": "UTC",  # libfaketime reads the stamp in local time
            "DONT_FAKE_MONOTONIC": "1",
        }

    def forget(self, handle: object, deadline: float) -> None:
        if isinstance(handle, Path):
            handle.unlink(missing_ok=True)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            shutil.rmtree(self._folder)


# -- what make peers installs, and the adapters built on it ----------------------


def _node_modules() -> Path:
    return environment(NODE_HOME) / "node_modules"


def _lock() -> Path:
    return PROGRAMS / "node" / "package-lock.json"


def _missing_node(name: str) -> str | None:
    absent = missing_commands("node", what=name)
    if absent:
        return absent
    stamp = environment(NODE_HOME) / ".installed"
    if not stamp.is_file():
        return f"{name} is not installed in {environment(NODE_HOME)}: {REMEDY}"
    if stamp.read_text().strip() != hashlib.sha256(_lock().read_bytes()).hexdigest():
        return f"{name} in {environment(NODE_HOME)} is older than {_lock().name}: {REMEDY}"
    return None


def _node_version(package: str) -> str:
    packages = json.loads(_lock().read_text())["packages"]
    return f"{package} {packages[f'node_modules/{package}']['version']}"


def _node(name: str) -> LibraryProcess:
    return LibraryProcess(
        name,
        ["node", str(PROGRAMS / "node" / "otp-jsonl.mjs"), name],
        description=f"{_node_version(name)} (node)",
        reads_uri=name == "otplib",
        env={**os.environ, "TWOFA_NODE_MODULES": str(_node_modules())},
    )


def _pinned(name: str) -> str:
    for line in (PEERS_DIR / "requirements" / f"{name}.txt").read_text().splitlines():
        if line.startswith(f"{name}=="):
            return f"{name} {line.split('==', 1)[1].strip()}"
    return name


def _python(name: str) -> LibraryProcess:
    return LibraryProcess(
        name,
        [str(peer_python(name)), str(PROGRAMS / "python_jsonl.py"), name],
        description=f"{_pinned(name)} (Python)",
        reads_uri=name == "pyotp",
        reads_key_forms=name == "pyotp",
    )


def _missing_keepassxc() -> str | None:
    absent = missing_commands("keepassxc-cli", what="keepassxc")
    if absent:
        return absent
    if libfaketime() is None:
        return f"keepassxc needs libfaketime (Debian faketime), not installed: {REMEDY}"
    return None


def _keepassxc() -> KeePassXCAdapter:
    library = libfaketime()
    assert library is not None
    return KeePassXCAdapter(library)


@dataclass(frozen=True)
class RealAdapter:
    """A real implementation: its name, what it is, whether it is installed, how to start it."""

    name: str
    title: str
    missing: Callable[[], str | None]
    build: Callable[[], Authenticator]


REAL_ADAPTERS: Final = (
    RealAdapter(
        "oathtool",
        "oathtool (Debian's OATH Toolkit), one run per code",
        lambda: missing_commands("oathtool", what="oathtool"),
        OathtoolAdapter,
    ),
    RealAdapter(
        "keepassxc",
        "KeePassXC's keepassxc-cli (Debian), the URI in an entry's otp attribute",
        _missing_keepassxc,
        _keepassxc,
    ),
    RealAdapter(
        "otplib",
        "npm otplib (generateSync, @otplib/uri's parse), in node",
        lambda: _missing_node("otplib"),
        lambda: _node("otplib"),
    ),
    RealAdapter(
        "speakeasy",
        "npm speakeasy (totp), in node",
        lambda: _missing_node("speakeasy"),
        lambda: _node("speakeasy"),
    ),
    RealAdapter(
        "pyotp",
        "PyPI pyotp (parse_uri, TOTP.at), in its own virtual environment",
        lambda: missing_environment("pyotp", "pyotp"),
        lambda: _python("pyotp"),
    ),
    RealAdapter(
        "cryptography",
        "PyPI cryptography's hazmat TOTP, in its own virtual environment",
        lambda: missing_environment("cryptography", "cryptography"),
        lambda: _python("cryptography"),
    ),
)
