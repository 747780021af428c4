"""The real implementations behind ``check-authenticator --adapter``, driven for real.

Each one is provisioned with RFC 6238 Appendix B's seeds through a request
object of the test's own (the ``ProvisionRequest`` seam other commands use)
and must give the RFC's codes. ``make peers`` installs them all; a test skips,
with the one line saying what is missing, only where it is not installed.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.vendor.adapters import Refused
from conformance.vendor.registry import (
    AdapterEntry,
    Authenticator,
    adapter_entries,
    adapter_entry,
)
from simulators.hotp import CodeGenerator
from simulators.otpauth import build_uri
from simulators.profiles import PROFILES
from tests.vectors import RFC6238_TOTP, SEED_BASE32, SEEDS

REAL = [e.name for e in adapter_entries() if e.kind == "real"]
TIMES = sorted({t for t, _, _ in RFC6238_TOTP})


@dataclass(frozen=True)
class Request:
    """An account as another command would hand it over: not a ``Case``."""

    scanned: bool
    uri: str
    typed_key: str
    algorithm: str
    digits: int
    period: int


def rfc_request(algorithm: str, *, scanned: bool = True) -> Request:
    uri = build_uri(SEEDS[algorithm], "rfc6238", "RFC", algorithm=algorithm, digits=8, period=30)
    return Request(scanned, uri, SEED_BASE32[algorithm], algorithm, 8, 30)


def started(name: str) -> Authenticator:
    entry = adapter_entry(name)
    missing = entry.missing()
    if missing is not None:
        pytest.skip(missing)
    return entry.build()


def deadline(seconds: float = 30) -> float:
    return time.monotonic() + seconds


#: What a real implementation is known to give instead of the RFC's code (docs/authenticators.md).
KNOWN_DEVIATIONS = {
    # Its clock stops at 2^32 - 1, 2106-02-07 06:28:15 UTC (measured; docs/authenticators.md).
    "keepassxc": {20000000000: 2**32 - 1},
}


@pytest.mark.parametrize("name", REAL)
def test_a_real_adapter_gives_the_rfc_6238_codes(name: str) -> None:
    adapter = started(name)
    try:
        for algorithm in ("SHA1", "SHA256", "SHA512"):
            handle = adapter.provision(rfc_request(algorithm), deadline())
            assert not isinstance(handle, Refused), handle
            codes = adapter.codes(handle, TIMES, deadline())
            assert not isinstance(codes, Refused), codes
            expected = {t: code for t, code, mode in RFC6238_TOTP if mode == algorithm}
            for t, code in zip(TIMES, codes, strict=True):
                instead = KNOWN_DEVIATIONS.get(name, {}).get(t)
                if instead is None:
                    assert code == expected[t], (algorithm, t)
                else:
                    generator = CodeGenerator(SEEDS[algorithm], digits=8, algorithm=algorithm)
                    assert code != expected[t]
                    assert code == generator.code_at(instead), (algorithm, t)
            adapter.forget(handle, deadline())
    finally:
        adapter.close()


@pytest.mark.parametrize("name", [n for n in REAL if n != "keepassxc"])
def test_a_real_adapter_takes_a_typed_key(name: str) -> None:
    adapter = started(name)
    try:
        handle = adapter.provision(rfc_request("SHA256", scanned=False), deadline())
        assert not isinstance(handle, Refused), handle
        assert adapter.codes(handle, [59, 1111111109], deadline()) == ["46119246", "68084774"]
    finally:
        adapter.close()


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("pyotp", "Secrets must be at least 112 bits after decoding"),
        ("otplib", "Secret must be at least 16 bytes (128 bits), got 10 bytes"),
        ("cryptography", "Key length has to be at least 128 bits."),
    ],
)
def test_a_library_refusing_a_short_key_says_so_in_its_own_words(name: str, words: str) -> None:
    adapter = started(name)
    try:
        short = Request(False, "", "JBSWY3DPEHPK3PXP", "SHA1", 6, 30)  # 80 bits
        refused = adapter.provision(short, deadline())
        assert isinstance(refused, Refused)
        assert refused.message == words
    finally:
        adapter.close()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        status = 0
    except SystemExit as exc:
        status = int(exc.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def test_adapters_lists_every_entry_and_says_what_is_installed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    names = [e.name for e in adapter_entries()]
    assert names[:6] == ["oathtool", "keepassxc", "otplib", "speakeasy", "pyotp", "cryptography"]
    assert names[6:] == [f"profile:{p}" for p in PROFILES]
    # Nothing on PATH and an empty peers folder: every real adapter is missing, with the remedy.
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("TWOFA_PEERS_HOME", str(tmp_path))
    status, out, _ = run(capsys, "adapters")
    assert status == 0
    lines = out.splitlines()
    for entry in adapter_entries():
        (at,) = [i for i, line in enumerate(lines) if line.startswith(f"{entry.name}  ")]
        state = lines[at + 1].strip()
        if entry.kind == "real":
            assert state.startswith("NOT INSTALLED: ")
            assert state.endswith("run 'make peers'")
        else:
            assert state == "installed"
    assert "NOT INSTALLED: oathtool needs oathtool, not installed: run 'make peers'" in out
    assert f"pyotp is not installed in {tmp_path / 'pyotp'}" in out


def test_an_entry_that_is_missing_refuses_to_build(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TWOFA_PEERS_HOME", str(tmp_path))
    entry: AdapterEntry = adapter_entry("pyotp")
    from conformance.vendor.adapters import AdapterSetupError

    with pytest.raises(AdapterSetupError, match=r"pyotp is not installed .*: run 'make peers'"):
        entry.build()


def test_check_authenticator_runs_a_named_adapter_end_to_end(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    started("oathtool").close()
    status, out, err = run(
        capsys,
        "check-authenticator",
        "--adapter",
        "oathtool",
        "--cases",
        "rfc-vectors",
        "--cases",
        "provisioning",
        "--cases",
        "uri",
        "--out",
        str(tmp_path),
    )
    assert status == 0, out + err
    assert "through adapter 'oathtool (OATH Toolkit) 2.6" in err
    folder = (tmp_path / "latest").resolve()
    for name in ("results.jsonl", "report.json", "junit.xml", "summary.md", "index.html"):
        assert (folder / name).is_file()
    records = [json.loads(line) for line in (folder / "results.jsonl").read_text().splitlines()]
    checks = {r["id"]: r for r in records if r["record"] == "check"}
    rfc = [c for c in checks.values() if c["plan"] == "rfc-vectors"]
    assert len(rfc) == 3
    assert {c["outcome"] for c in rfc} == {"passed"}
    uri = [c for c in checks.values() if c["plan"] == "uri"]
    assert uri
    assert {c["outcome"] for c in uri} == {"not_applicable"}
    assert all("oathtool reads no otpauth URI" in c["reason"] for c in uri)
    typed = [c for c in checks.values() if c["plan"] == "provisioning"]
    assert len(typed) == 4
    assert {c["outcome"] for c in typed} == {"passed"}


def test_an_unknown_or_doubled_adapter_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, _, err = run(capsys, "check-authenticator", "--adapter", "nope", "--out", str(tmp_path))
    assert status == 2
    assert "unknown adapter 'nope'; known adapters: oathtool, keepassxc" in err
    status, _, err = run(
        capsys, "check-authenticator", "--adapter", "oathtool", "--profile", "authy"
    )
    assert status == 2
    assert "give exactly one of" in err
    assert not list(tmp_path.iterdir())
