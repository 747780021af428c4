"""The PAM drivers against the real modules: Google's pam_google_authenticator and pam_oath.

Real pamtester, real modules, real service files in /etc/pam.d (the drivers
need root). A module that is not installed skips its tests locally and fails
them when ``CI`` is set. Every driver is closed by a finalizer, and the module
ends by checking that no service file of this process is left behind.
"""

from __future__ import annotations

import base64
import gc
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.drivers.pam import (
    PAM_DIR,
    SERVICE_PREFIX,
    GoogleAuthenticatorDriver,
    PamDriver,
    PamOathDriver,
    remove_stale_services,
)
from conformance.drivers.seam import (
    DEFAULT_PARAMETERS,
    Credential,
    DriverError,
    OptionError,
    TotpParameters,
    Unsupported,
    Verdict,
)

#: 2033-05-18 03:33:30, the start of a step (66666667 * 30 = 2_000_000_010).
STEP_START = 2_000_000_010
PERIOD = 30
DRIVERS = [GoogleAuthenticatorDriver, PamOathDriver]

OpenDriver = Callable[..., PamDriver]


def _ours() -> list[Path]:
    """This process's service files in /etc/pam.d."""
    return sorted(PAM_DIR.glob(f"{SERVICE_PREFIX}{os.getpid()}-*"))


def _children() -> set[int]:
    """Processes whose parent is this test process (none of a call's should outlive it).

    Other tests' fixtures (a browser, a server) may have children of their own
    running: compare before and after a call, never with an empty set.
    """
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == os.getpid():
            found.add(int(stat.parent.name))
    return found


def _require(driver: type[PamDriver]) -> None:
    missing = driver.missing()
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run every peer: {missing}")
        pytest.skip(missing)


@pytest.fixture(scope="module", autouse=True)
def nothing_left_behind() -> Iterator[None]:
    yield
    # Runs after every test's finalizers: also after a failed test.
    assert _ours() == [], "service files left in /etc/pam.d"


@pytest.fixture
def open_driver(tmp_path: Path, request: pytest.FixtureRequest) -> OpenDriver:
    """Open a driver with options given as text (as ``--target-option``); closed at teardown."""
    count = iter(range(1000))

    def open_(kind: type[PamDriver], **options: Any) -> PamDriver:
        _require(kind)
        settings = kind.parse_options({k: str(v) for k, v in options.items()})
        driver = kind(settings, tmp_path / f"driver-{next(count)}")
        request.addfinalizer(driver.close)
        return driver

    return open_


def _at(driver: PamDriver, step: int, phase: int = 15) -> float:
    """The clock set ``phase`` seconds into the step ``step`` steps after STEP_START."""
    instant = float(STEP_START + step * PERIOD + phase)
    assert driver.clock is not None
    driver.clock.set(instant)
    return instant


def accepted_offsets(driver: PamDriver, offsets: range, *, first_step: int = 100) -> list[int]:
    """For each offset a fresh credential, the clock mid-step, the code of step cur+offset."""
    accepted = []
    for n, offset in enumerate(offsets):
        at = _at(driver, first_step + 10 * n)
        credential = driver.provision(DEFAULT_PARAMETERS)
        try:
            if driver.submit(credential, credential.code_at(at, offset)).accepted:
                accepted.append(offset)
        finally:
            driver.drop(credential)
    return accepted


def _state(credential: Credential) -> str:
    return Path(credential.handle["state_path"]).read_text(encoding="ascii")


def _option_lines(credential: Credential) -> set[str]:
    return {line[2:] for line in _state(credential).splitlines() if line.startswith('" ')}


# -- both modules ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", DRIVERS, ids=lambda k: k.name)
def test_missing_is_none_here(kind: type[PamDriver]) -> None:
    missing = kind.missing()
    if missing is not None and not os.environ.get("CI"):
        pytest.skip(missing)
    assert missing is None


@pytest.mark.parametrize("kind", DRIVERS, ids=lambda k: k.name)
def test_missing_says_what_and_the_remedy(
    kind: type[PamDriver], monkeypatch: pytest.MonkeyPatch
) -> None:
    _require(kind)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    said = kind.missing()
    assert said is not None
    assert "root" in said
    assert "make peers" in said
    monkeypatch.setattr("shutil.which", lambda name: None)
    said = kind.missing()
    assert said is not None
    assert "pamtester" in said
    assert "run 'make peers', as root" in said


@pytest.mark.parametrize("kind", DRIVERS, ids=lambda k: k.name)
def test_starts_and_closes_leaving_nothing(kind: type[PamDriver], open_driver: OpenDriver) -> None:
    driver = open_driver(kind)
    first = driver.provision(DEFAULT_PARAMETERS)
    second = driver.provision(DEFAULT_PARAMETERS)
    assert len(_ours()) == 2
    service = Path(first.handle["service_path"]).read_text()
    assert driver.module in service
    assert str(first.handle["state_path"]) in service
    assert first.label != second.label
    before = _children()
    driver.submit(first, "000000")
    assert _children() <= before
    driver.drop(first)
    assert _ours() == [second.handle["service_path"]]
    driver.close()
    driver.close()  # idempotent
    assert _ours() == []
    assert not driver.state.exists()


def test_service_files_go_when_a_driver_is_never_closed(tmp_path: Path) -> None:
    _require(PamOathDriver)
    driver = PamOathDriver({}, tmp_path)
    driver.provision(DEFAULT_PARAMETERS)
    assert len(_ours()) == 1
    del driver
    gc.collect()  # the weakref finalizer (also run at interpreter exit)
    assert _ours() == []


def _dead_pid() -> int:
    gone = subprocess.Popen(["true"])
    gone.wait()
    return gone.pid


def test_stale_service_files_of_dead_runs_are_listed_and_removed(tmp_path: Path) -> None:
    stale = tmp_path / f"{SERVICE_PREFIX}{_dead_pid()}-1-1"
    alive = tmp_path / f"{SERVICE_PREFIX}{os.getppid()}-999-1"
    other = tmp_path / "sshd"
    for path in (stale, alive, other):
        path.write_text("auth required pam_deny.so\n")
    assert remove_stale_services(tmp_path) == [stale]
    assert not stale.exists()
    assert alive.exists()  # its writer is still running
    assert other.exists()  # not the driver's


def test_opening_a_driver_removes_stale_service_files(open_driver: OpenDriver) -> None:
    _require(PamOathDriver)
    stale = PAM_DIR / f"{SERVICE_PREFIX}{_dead_pid()}-1-1"
    alive = PAM_DIR / f"{SERVICE_PREFIX}{os.getppid()}-999-1"
    stale.write_text("auth required pam_deny.so\n")
    alive.write_text("auth required pam_deny.so\n")
    try:
        open_driver(PamOathDriver)
        # Which driver removed it is not asserted: one opened by another test
        # worker at the same moment may have done it first.
        assert not stale.exists()
        assert alive.exists()  # its writer is still running
    finally:
        stale.unlink(missing_ok=True)
        alive.unlink()


@pytest.mark.parametrize("kind", DRIVERS, ids=lambda k: k.name)
def test_current_code_accepted_only_at_the_faked_time(
    kind: type[PamDriver], open_driver: OpenDriver
) -> None:
    driver = open_driver(kind)
    # 2033 and, moving back, 2021: the real time's code (years away) is refused.
    for step in (100, -400_000_000 // PERIOD):
        at = _at(driver, step)
        credential = driver.provision(DEFAULT_PARAMETERS)
        real = credential.code_at(time.time())
        if real != credential.code_at(at):
            assert driver.submit(credential, real).refused
        answer = driver.submit(credential, credential.code_at(at))
        assert answer.accepted, answer.describe()
        assert answer.evidence["server_time"] == int(at)
        assert "pamtester" in answer.evidence["command"]
        assert "successfully authenticated" in answer.evidence["stdout"]
        driver.drop(credential)


@pytest.mark.parametrize("kind", DRIVERS, ids=lambda k: k.name)
def test_a_wrong_code_is_refused_as_invalid(kind: type[PamDriver], open_driver: OpenDriver) -> None:
    driver = open_driver(kind)
    at = _at(driver, 100)
    credential = driver.provision(DEFAULT_PARAMETERS)
    near = {credential.code_at(at, k) for k in range(-10, 11)}
    wrong = next(c for c in ("123456", "654321", "000000") if c not in near)
    answer = driver.submit(credential, wrong)
    reasons = driver.describe()["reasons"]
    expected = Verdict.REFUSED if "exit status only" in reasons else Verdict.INVALID
    assert answer.verdict is expected, answer.describe()
    assert "Authentication failure" in answer.evidence["stderr"]


@pytest.mark.parametrize("kind", DRIVERS, ids=lambda k: k.name)
def test_codes_must_be_one_line_of_text(kind: type[PamDriver], open_driver: OpenDriver) -> None:
    driver = open_driver(kind)
    credential = driver.provision(DEFAULT_PARAMETERS)
    with pytest.raises(DriverError):
        driver.submit(credential, 123456)
    with pytest.raises(DriverError):
        driver.submit(credential, "123456\n654321")
    driver.drop(credential)
    with pytest.raises(DriverError, match="dropped"):
        driver.submit(credential, "123456")


@pytest.mark.parametrize("kind", DRIVERS, ids=lambda k: k.name)
def test_submit_together_runs_the_processes_at_once(
    kind: type[PamDriver], open_driver: OpenDriver
) -> None:
    driver = open_driver(kind)
    at = _at(driver, 100)
    credential = driver.provision(DEFAULT_PARAMETERS)
    before = _children()
    answers = driver.submit_together(credential, [credential.code_at(at)] * 10)
    assert len(answers) == 10
    times = [a.evidence["ms"] for a in answers]
    # Every process had read its file and asked for the code before any got it.
    assert max(t["prompted"] for t in times) <= min(t["released"] for t in times)
    assert max(t["started"] for t in times) < min(t["ended"] for t in times)
    assert any(a.accepted for a in answers)
    assert _children() <= before


# -- Google's module -------------------------------------------------------------------


def test_google_provisions_by_its_own_command(open_driver: OpenDriver) -> None:
    driver = open_driver(GoogleAuthenticatorDriver)
    credential = driver.provision(DEFAULT_PARAMETERS)
    assert credential.provisioned_by == "server"
    assert credential.uri is not None
    assert credential.uri.startswith("otpauth://totp/")
    first_line = _state(credential).splitlines()[0]
    assert base64.b32decode(first_line + "=" * (-len(first_line) % 8)) == credential.key
    assert len(credential.key) >= 16
    # The module's defaults: no option line but TOTP_AUTH.
    assert _option_lines(credential) == {"TOTP_AUTH"}
    assert Path(credential.handle["state_path"]).stat().st_mode & 0o777 == 0o600


def test_google_options_change_the_declared_policy(open_driver: OpenDriver) -> None:
    defaults = open_driver(GoogleAuthenticatorDriver).declared_policy()
    assert defaults == {
        "window": {"back": 1, "forward": 1},
        "replay": "none",
        "throttle": {"max_failures": None, "lock_seconds": None, "kind": "none"},
        "drift": {"tracking": True, "max_steps": None},
        "totp": {"algorithm": "SHA1", "digits": 6, "period": 30},
    }
    driver = open_driver(
        GoogleAuthenticatorDriver,
        window_size=7,
        disallow_reuse="true",
        rate_limit="3/30",
        step_size=60,
        noskewadj="yes",
    )
    assert driver.declared_policy() == {
        "window": {"back": 3, "forward": 3},
        "replay": "same_code",
        "throttle": {"max_failures": 3, "lock_seconds": 30, "kind": "rate_limit"},
        "drift": {"tracking": False, "max_steps": None},
        "totp": {"algorithm": "SHA1", "digits": 6, "period": 60},
    }
    assert set(driver.policy_sources()) >= {"window", "replay", "throttle", "drift", "totp"}
    credential = driver.provision(TotpParameters(period=60))
    assert _option_lines(credential) == {
        "TOTP_AUTH",
        "DISALLOW_REUSE",
        "RATE_LIMIT 3 30",
        "WINDOW_SIZE 7",
        "STEP_SIZE 60",
    }
    assert " noskewadj" in Path(credential.handle["service_path"]).read_text()


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("window_size", "4"),
        ("window_size", "23"),
        ("rate_limit", "3"),
        ("rate_limit", "11/30"),
        ("rate_limit", "3/10"),
        ("step_size", "61"),
        ("disallow_reuse", "maybe"),
    ],
)
def test_google_option_values_it_cannot_take(option: str, value: str) -> None:
    with pytest.raises(OptionError):
        GoogleAuthenticatorDriver.parse_options({option: value})


def test_google_window_follows_window_size(open_driver: OpenDriver) -> None:
    offsets = range(-5, 6)
    assert accepted_offsets(open_driver(GoogleAuthenticatorDriver), offsets) == [-1, 0, 1]
    wide = open_driver(GoogleAuthenticatorDriver, window_size=7)
    assert accepted_offsets(wide, offsets) == [-3, -2, -1, 0, 1, 2, 3]


def test_google_parameters(open_driver: OpenDriver) -> None:
    driver = open_driver(GoogleAuthenticatorDriver)
    for unsupported in (
        TotpParameters(algorithm="SHA256"),
        TotpParameters(digits=8),
        TotpParameters(period=90),
    ):
        with pytest.raises(Unsupported):
            driver.provision(unsupported)
    # Finding: -S 60 makes the module verify 60 s steps, but the URI it hands out names
    # no period, so the credential it hands out is a 30 s one.
    at = _at(driver, 100)
    credential = driver.provision(TotpParameters(period=60))
    assert "STEP_SIZE 60" in _option_lines(credential)
    assert "period" not in (credential.uri or "")
    assert credential.parameters.period == 30
    asked = Credential("60 s", credential.key, TotpParameters(period=60), at)
    assert driver.submit(credential, asked.code_at(at)).accepted


def test_google_reuse_at_defaults_and_with_disallow_reuse(open_driver: OpenDriver) -> None:
    for options, second in (({}, Verdict.ACCEPTED), ({"disallow_reuse": "1"}, Verdict.REUSED)):
        driver = open_driver(GoogleAuthenticatorDriver, **options)
        at = _at(driver, 100)
        credential = driver.provision(DEFAULT_PARAMETERS)
        code = credential.code_at(at)
        assert driver.submit(credential, code).accepted
        assert driver.clock is not None
        driver.clock.set(at + 1)
        answer = driver.submit(credential, code)
        assert answer.verdict is second, answer.describe()


def test_google_rate_limit_locks_every_attempt(open_driver: OpenDriver) -> None:
    driver = open_driver(GoogleAuthenticatorDriver, rate_limit="3/30")
    at = _at(driver, 100, phase=0)
    credential = driver.provision(DEFAULT_PARAMETERS)
    verdicts = [driver.submit(credential, "000000").verdict for _ in range(3)]
    assert verdicts == [Verdict.INVALID] * 3
    locked = driver.submit(credential, credential.code_at(at))
    assert locked.verdict is Verdict.LOCKED, locked.describe()
    assert "Too many concurrent login attempts" in locked.said
    later = _at(driver, 101, phase=10)
    assert driver.submit(credential, credential.code_at(later)).accepted


def test_google_skew_adjustment_and_noskewadj(open_driver: OpenDriver) -> None:
    """Finding: three codes 100 steps (50 minutes) ahead in consecutive steps and the third
    logs in; the module then refuses the right code, its window moved by the skew."""
    for options, learns in (({}, True), ({"noskewadj": "true"}, False)):
        driver = open_driver(GoogleAuthenticatorDriver, **options)
        credential = driver.provision(DEFAULT_PARAMETERS)
        answers = []
        for step in (100, 101, 102):
            at = _at(driver, step)
            answers.append(driver.submit(credential, credential.code_at(at, 100)).verdict)
        at = _at(driver, 110)
        current = driver.submit(credential, credential.code_at(at))
        if learns:
            assert answers == [Verdict.INVALID, Verdict.INVALID, Verdict.ACCEPTED]
            assert "TIME_SKEW 100" in _option_lines(credential)
            assert current.verdict is Verdict.INVALID
        else:
            assert answers == [Verdict.INVALID] * 3
            assert current.accepted


def test_google_time_step_truncated_to_32_bits(open_driver: OpenDriver) -> None:
    """Finding: the module keeps the time step in a signed 32-bit int. 2038, 2106 and 2603
    work; from 4011-07-14 (step 2^31) the right code is refused, and in 6089 the code of
    step 4333333333 - 2^32 = 38366037 (2006-06-25) is accepted instead."""
    driver = open_driver(GoogleAuthenticatorDriver)
    for instant, accepted in (
        (2_147_483_663, True),
        (4_294_967_311, True),
        (20_000_000_015, True),
        (2**31 * PERIOD - 15, True),
        (2**31 * PERIOD + 15, False),
        (130_000_000_015, False),
    ):
        assert driver.clock is not None
        driver.clock.set(instant)
        credential = driver.provision(DEFAULT_PARAMETERS)
        assert driver.submit(credential, credential.code_at(instant)).accepted is accepted
        driver.drop(credential)
    driver.clock.set(130_000_000_015)
    credential = driver.provision(DEFAULT_PARAMETERS)
    wrapped = 130_000_000_015 // PERIOD - 2**32
    assert driver.submit(credential, credential.code_for_step(wrapped)).accepted


def test_google_evidence_keeps_the_module_words(open_driver: OpenDriver) -> None:
    driver = open_driver(GoogleAuthenticatorDriver)
    if not driver.console_tap:
        pytest.skip("no private mount namespace here: the module's syslog lines are lost")
    at = _at(driver, 100)
    credential = driver.provision(DEFAULT_PARAMETERS)
    answer = driver.submit(credential, credential.code_at(at))
    assert any("Accepted google_authenticator for root" in x for x in answer.evidence["syslog"])
    assert credential.uri is not None
    secret = credential.uri.split("secret=")[1].split("&")[0]
    assert secret not in str(answer.evidence)


# -- pam_oath --------------------------------------------------------------------------


def test_pam_oath_writes_a_users_file_of_its_own(open_driver: OpenDriver) -> None:
    driver = open_driver(PamOathDriver)
    credential = driver.provision(DEFAULT_PARAMETERS)
    assert credential.provisioned_by == "harness"
    assert credential.uri is None
    assert len(credential.key) == 20
    assert _state(credential) == f"HOTP/T30 root - {credential.key.hex()}\n"
    assert Path(credential.handle["state_path"]).stat().st_mode & 0o777 == 0o600
    service = Path(credential.handle["service_path"]).read_text()
    assert "window=" not in service
    assert "digits=" not in service
    assert " debug" in service


def test_pam_oath_options_change_the_declared_policy(open_driver: OpenDriver) -> None:
    defaults = open_driver(PamOathDriver).declared_policy()
    assert defaults["window"] == {"back": 5, "forward": 5}
    assert defaults["replay"] == "monotonic_step"
    assert defaults["totp"] == {"algorithm": "SHA1", "digits": 6, "period": 30}
    driver = open_driver(PamOathDriver, window=2, digits=8)
    declared = driver.declared_policy()
    assert declared["window"] == {"back": 2, "forward": 2}
    assert declared["totp"]["digits"] == 8
    credential = driver.provision(TotpParameters(digits=8))
    assert "window=2 digits=8" in Path(credential.handle["service_path"]).read_text()
    assert _state(credential).startswith("HOTP/T30/8 root - ")
    with pytest.raises(Unsupported, match="digits=8"):
        driver.provision(DEFAULT_PARAMETERS)


def test_pam_oath_window_follows_window(open_driver: OpenDriver) -> None:
    offsets = range(-7, 8)
    assert accepted_offsets(open_driver(PamOathDriver), offsets) == list(range(-5, 6))
    narrow = open_driver(PamOathDriver, window=1)
    assert accepted_offsets(narrow, offsets) == [-1, 0, 1]


def test_pam_oath_parameters(open_driver: OpenDriver) -> None:
    driver = open_driver(PamOathDriver)
    for unsupported in (TotpParameters(algorithm="SHA256"), TotpParameters(period=45)):
        with pytest.raises(Unsupported):
            driver.provision(unsupported)
    for parameters in (TotpParameters(digits=8), TotpParameters(digits=7, period=60)):
        at = _at(driver, 100)
        credential = driver.provision(parameters)
        code = credential.code_at(at)
        assert len(code) == parameters.digits
        assert driver.submit(credential, code).accepted


def test_pam_oath_refuses_replays_and_older_steps(open_driver: OpenDriver) -> None:
    driver = open_driver(PamOathDriver)
    at = _at(driver, 100)
    credential = driver.provision(DEFAULT_PARAMETERS)
    assert driver.submit(credential, credential.code_at(at, 1)).accepted
    assert driver.submit(credential, credential.code_at(at, 1)).verdict is Verdict.REUSED
    older = driver.submit(credential, credential.code_at(at, 0))
    assert older.verdict is Verdict.REUSED, older.describe()
    assert "OATH_REPLAYED_OTP" in older.said
    assert driver.submit(credential, credential.code_at(at, 2)).accepted


def test_pam_oath_says_when_a_code_is_too_short(open_driver: OpenDriver) -> None:
    driver = open_driver(PamOathDriver)
    credential = driver.provision(DEFAULT_PARAMETERS)
    answer = driver.submit(credential, "12345")
    assert answer.verdict is Verdict.MALFORMED, answer.describe()


def test_pam_oath_far_future(open_driver: OpenDriver) -> None:
    driver = open_driver(PamOathDriver)
    assert driver.clock is not None
    assert driver.clock.max_time == 253_402_300_799
    for instant in (4_294_967_311, 130_000_000_015, 253_402_300_799 - 20):
        driver.clock.set(instant)
        credential = driver.provision(DEFAULT_PARAMETERS)
        assert driver.submit(credential, credential.code_at(instant)).accepted
        driver.drop(credential)
    with pytest.raises(DriverError):
        driver.clock.set(253_402_300_800)
