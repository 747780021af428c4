"""The django-otp driver against the real peer: django-otp 1.7.5 in its Django host app.

No mocks and no sleeps: the host runs under libfaketime and the tests move its
clock. Three hosts, started once for the module, each at other settings:

- ``default``: django-otp's defaults (tolerance 1, OTP_TOTP_SYNC on, throttle factor 1);
- ``narrow``: tolerance 0, throttling off (OTP_TOTP_THROTTLE_FACTOR 0);
- ``wide``: tolerance 3, OTP_TOTP_SYNC off, throttle factor 5.

Skipped with the reason when the peer is not installed here; under CI
(``CI`` set) they run, and fail, instead.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from conformance.drivers import parse_target
from conformance.drivers.django_otp import DjangoOtpDriver
from conformance.drivers.faketime import PYTHON_MAX_TIME, FaketimeFileClock
from conformance.drivers.seam import (
    Credential,
    NotInstalled,
    OptionError,
    TotpParameters,
    Unsupported,
    Verdict,
)
from tests.processes import twofa

MISSING = DjangoOtpDriver.missing()
pytestmark = pytest.mark.skipif(
    MISSING is not None and not os.environ.get("CI"), reason=f"django-otp peer: {MISSING}"
)

PERIOD = 30
#: 2033-05-18 03:33:15: mid-step (phase 15 of 30), years from the real time.
FAKE_TIME = 2_000_000_000 // PERIOD * PERIOD + 15

SETTINGS = {
    "default": {},
    "narrow": {"tolerance": "0", "OTP_TOTP_THROTTLE_FACTOR": "0"},
    "wide": {"tolerance": "3", "OTP_TOTP_SYNC": "false", "OTP_TOTP_THROTTLE_FACTOR": "5"},
}


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, DjangoOtpDriver]]:
    started: dict[str, DjangoOtpDriver] = {}
    try:
        for name, given in SETTINGS.items():
            settings = DjangoOtpDriver.parse_options(given)
            started[name] = DjangoOtpDriver(settings, tmp_path_factory.mktemp(name))
        yield started
    finally:
        for driver in started.values():
            driver.close()


def accepted_offsets(driver: DjangoOtpDriver, reach: int) -> set[int]:
    """Offsets -reach..+reach each on a fresh credential, mid-step: those accepted."""
    accepted = set()
    for offset in range(-reach, reach + 1):
        credential = at_fake_time(driver)
        answer = driver.submit(credential, credential.code_at(FAKE_TIME, offset))
        assert answer.verdict in (Verdict.ACCEPTED, Verdict.INVALID), answer.describe()
        if answer.accepted:
            accepted.add(offset)
        driver.drop(credential)
    return accepted


def at_fake_time(driver: DjangoOtpDriver, at: float = FAKE_TIME) -> Credential:
    """A new credential, the host's clock set to ``at`` first."""
    assert driver.clock is not None
    driver.clock.set(at)
    return driver.provision(TotpParameters())


def wrong_code(credential: Credential, at: float) -> str:
    """A code of a step far outside any window here, unlike every code inside one."""
    inside = {credential.code_at(at, offset) for offset in range(-5, 6)}
    return next(
        code for step in range(50, 100) if (code := credential.code_at(at, step)) not in inside
    )


# -- installation, start and close ---------------------------------------------------


def test_the_peer_is_installed_here() -> None:
    assert MISSING is None


def test_missing_names_the_remedy_without_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWOFA_PEERS_HOME", str(tmp_path))
    missing = DjangoOtpDriver.missing()
    assert missing is not None
    assert "run 'make peers'" in missing
    assert "\n" not in missing


def test_the_target_name_resolves_to_this_driver() -> None:
    assert parse_target("django-otp").driver is DjangoOtpDriver


def test_it_starts_quickly_and_closes_leaving_nothing_behind(tmp_path: Path) -> None:
    begun = time.monotonic()
    driver = DjangoOtpDriver({}, tmp_path)
    took = time.monotonic() - begun
    try:
        assert driver.server is not None
        process = driver.server.process
        assert driver.server.alive
        assert took < 10, f"start took {took:.1f} s"
        # Everything it writes is in its state directory inside workdir.
        assert driver.state.parent == tmp_path
        assert isinstance(driver.clock, FaketimeFileClock)
        assert driver.clock.path.parent == driver.state
        written = {p.name for p in driver.state.iterdir()}
        assert {"config.json", "db.sqlite3", "host.log"} <= written
    finally:
        driver.close()
    driver.close()  # idempotent
    assert process.poll() is not None
    with pytest.raises(ProcessLookupError):
        os.killpg(process.pid, 0)
    assert not any(str(driver.state) in _cmdline(pid) for pid in _pids())


def _pids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def _cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def test_a_url_is_refused(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="give no URL"):
        DjangoOtpDriver({}, tmp_path, url="http://127.0.0.1:1")


def test_a_missing_peer_is_not_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWOFA_PEERS_HOME", str(tmp_path / "none"))
    with pytest.raises(NotInstalled, match="make peers"):
        DjangoOtpDriver({}, tmp_path)


# -- provisioning --------------------------------------------------------------------


def test_the_server_generates_the_key_and_hands_out_its_uri(
    hosts: dict[str, DjangoOtpDriver],
) -> None:
    driver = hosts["default"]
    first, second = at_fake_time(driver), at_fake_time(driver)
    assert first.provisioned_by == "server"
    assert first.uri is not None
    assert first.uri.startswith("otpauth://totp/")
    assert "algorithm=SHA1" in first.uri
    assert len(first.key) == 20  # django-otp's default_key: random_hex(20)
    assert first.key != second.key
    assert first.label != second.label
    assert abs(first.created_at - FAKE_TIME) < 5
    assert "key" not in (first.fields.get("state") or {})


@pytest.mark.parametrize(
    ("parameters", "reason"),
    [
        (TotpParameters(algorithm="SHA256"), "HMAC-SHA1 only"),
        (TotpParameters(algorithm="SHA512"), "HMAC-SHA1 only"),
        (TotpParameters(digits=7), "Value 7 is not a valid choice"),
    ],
)
def test_parameters_django_otp_cannot_honour_are_unsupported(
    hosts: dict[str, DjangoOtpDriver], parameters: TotpParameters, reason: str
) -> None:
    with pytest.raises(Unsupported, match=reason):
        hosts["default"].provision(parameters)


@pytest.mark.parametrize(
    "parameters",
    [TotpParameters(digits=8), TotpParameters(period=60), TotpParameters(digits=8, period=15)],
)
def test_eight_digits_and_other_steps_verify(
    hosts: dict[str, DjangoOtpDriver], parameters: TotpParameters
) -> None:
    driver = hosts["narrow"]
    assert driver.clock is not None
    at = FAKE_TIME // parameters.period * parameters.period + parameters.period // 2
    driver.clock.set(at)
    credential = driver.provision(parameters)
    assert credential.parameters == parameters
    assert driver.submit(credential, credential.code_at(at)).accepted


# -- the clock and the verdicts --------------------------------------------------------


def test_the_current_code_is_accepted_only_at_the_faked_time(
    hosts: dict[str, DjangoOtpDriver],
) -> None:
    driver = hosts["default"]
    credential = at_fake_time(driver)
    answer = driver.submit(credential, credential.code_at(FAKE_TIME))
    assert answer.verdict is Verdict.ACCEPTED, answer.describe()
    assert answer.said == "200 verified"
    # The code of the real time (years away) is no code at the faked time.
    other = at_fake_time(driver)
    real = other.code_at(time.time())
    assert real not in {other.code_at(FAKE_TIME, offset) for offset in (-1, 0, 1)}
    assert driver.submit(other, real).verdict is Verdict.INVALID


def test_at_the_first_instant_of_a_step_the_host_is_in_that_step(
    hosts: dict[str, DjangoOtpDriver],
) -> None:
    # libfaketime's first reading after a move is ~20 us early; the driver settles it.
    driver = hosts["narrow"]
    step_start = FAKE_TIME // PERIOD * PERIOD
    for n in range(20):
        at = step_start + 10 * PERIOD * (n + 1)
        credential = at_fake_time(driver, at)
        driver.clock.set(at)  # type: ignore[union-attr]
        answer = driver.submit(credential, credential.code_at(at))
        assert answer.accepted, f"move {n}: {answer.describe()}"


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2038, 1, 19, 3, 14, 22, tzinfo=UTC).timestamp(),  # past 2^31 - 1
        datetime(2106, 2, 7, 6, 28, 31, tzinfo=UTC).timestamp(),  # past 2^32 - 1
        PYTHON_MAX_TIME - 15,
    ],
    ids=["2038", "2106", "2262"],
)
def test_codes_verify_across_the_years_the_clock_reaches(
    hosts: dict[str, DjangoOtpDriver], moment: float
) -> None:
    driver = hosts["narrow"]
    at = moment // PERIOD * PERIOD + 15
    credential = at_fake_time(driver, at)
    assert driver.submit(credential, credential.code_at(at)).accepted


def test_a_wrong_code_is_invalid_in_django_otps_words(hosts: dict[str, DjangoOtpDriver]) -> None:
    driver = hosts["narrow"]
    credential = at_fake_time(driver)
    answer = driver.submit(credential, wrong_code(credential, FAKE_TIME))
    assert answer.verdict is Verdict.INVALID
    assert "Invalid token" in answer.said
    assert answer.evidence["http"]["response"]["state"]["throttling_failure_count"] == 1


def test_the_token_reaches_django_otp_exactly_as_given(
    hosts: dict[str, DjangoOtpDriver], monkeypatch: pytest.MonkeyPatch
) -> None:
    driver = hosts["narrow"]
    credential = at_fake_time(driver)
    code = f" {credential.code_at(FAKE_TIME)}\n"
    sent: list[Any] = []
    post = driver.http.post

    def recording_post(path: str, body: Any) -> Any:
        sent.append(body)  # what goes to the host, then the real request
        return post(path, body)

    monkeypatch.setattr(driver.http, "post", recording_post)
    answer = driver.submit(credential, code)
    assert sent == [{"device": credential.handle["device"], "otp_token": code}]
    # The evidence keeps the exchange but not the code (records.redaction).
    assert answer.evidence["http"]["request"]["otp_token"] == "<6-digit code>"
    assert answer.verdict in (Verdict.ACCEPTED, Verdict.INVALID)


# -- the window follows tolerance ---------------------------------------------------------


@pytest.mark.parametrize(("host", "tolerance"), [("narrow", 0), ("default", 1), ("wide", 3)])
def test_the_window_follows_tolerance(
    hosts: dict[str, DjangoOtpDriver], host: str, tolerance: int
) -> None:
    driver = hosts[host]
    declared = driver.declared_policy()["window"]
    assert declared == {"back": tolerance, "forward": tolerance}
    accepted = accepted_offsets(driver, tolerance + 2)
    assert accepted == set(range(-tolerance, tolerance + 1))


# -- replay -----------------------------------------------------------------------------


def test_an_accepted_code_is_refused_again(hosts: dict[str, DjangoOtpDriver]) -> None:
    driver = hosts["narrow"]
    credential = at_fake_time(driver)
    code = credential.code_at(FAKE_TIME)
    assert driver.submit(credential, code).accepted
    again = driver.submit(credential, code)
    assert again.verdict is Verdict.INVALID
    assert again.evidence["http"]["response"]["state"]["last_t"] == credential.step_at(FAKE_TIME)


def test_an_older_step_is_refused_after_a_newer_one(hosts: dict[str, DjangoOtpDriver]) -> None:
    driver = hosts["wide"]
    credential = at_fake_time(driver)
    assert driver.submit(credential, credential.code_at(FAKE_TIME, 1)).accepted
    # Inside the window (tolerance 3), never used, but older than last_t.
    assert driver.submit(credential, credential.code_at(FAKE_TIME, 0)).verdict is Verdict.INVALID


@pytest.mark.parametrize("host", ["narrow", "default"])
def test_ten_parallel_submissions_of_one_code_accept_it_once(
    hosts: dict[str, DjangoOtpDriver], host: str
) -> None:
    driver = hosts[host]
    credential = at_fake_time(driver)
    answers = driver.submit_together(credential, [credential.code_at(FAKE_TIME)] * 10)
    verdicts = [answer.verdict for answer in answers]
    assert verdicts.count(Verdict.ACCEPTED) == 1, [a.describe() for a in answers]
    assert Verdict.ERROR not in verdicts, [a.describe() for a in answers]


# -- throttling: OTP_TOTP_THROTTLE_FACTOR --------------------------------------------------


def test_right_after_a_wrong_code_the_default_throttle_refuses_the_right_one(
    hosts: dict[str, DjangoOtpDriver],
) -> None:
    driver = hosts["default"]
    assert driver.clock is not None
    credential = at_fake_time(driver)
    assert driver.submit(credential, wrong_code(credential, FAKE_TIME)).verdict is Verdict.INVALID
    locked = driver.submit(credential, credential.code_at(FAKE_TIME))
    assert locked.verdict is Verdict.LOCKED, locked.describe()
    assert "N_FAILED_ATTEMPTS failure_count=1" in locked.said
    assert locked.retry_after is not None
    assert 0 < locked.retry_after <= 1
    # Two seconds on, past the one-second delay (factor 1 x 2^0), it is verified.
    driver.clock.set(FAKE_TIME + 2)
    assert driver.submit(credential, credential.code_at(FAKE_TIME)).accepted


def test_without_throttling_the_right_code_follows_a_wrong_one(
    hosts: dict[str, DjangoOtpDriver],
) -> None:
    driver = hosts["narrow"]
    credential = at_fake_time(driver)
    for _ in range(3):
        assert driver.submit(credential, wrong_code(credential, FAKE_TIME)).verdict is (
            Verdict.INVALID
        )
    assert driver.submit(credential, credential.code_at(FAKE_TIME)).accepted


def test_a_larger_throttle_factor_delays_longer(hosts: dict[str, DjangoOtpDriver]) -> None:
    driver = hosts["wide"]
    assert driver.clock is not None
    credential = at_fake_time(driver)
    driver.submit(credential, wrong_code(credential, FAKE_TIME))
    driver.clock.set(FAKE_TIME + 2)
    still = driver.submit(credential, credential.code_at(FAKE_TIME))
    assert still.verdict is Verdict.LOCKED, still.describe()
    # Five seconds from the failure (a moment after FAKE_TIME), two of them gone.
    assert still.retry_after is not None
    assert 2 < still.retry_after < 4
    driver.clock.set(FAKE_TIME + 6)
    assert driver.submit(credential, credential.code_at(FAKE_TIME)).accepted


# -- drift: OTP_TOTP_SYNC -------------------------------------------------------------------


@pytest.mark.parametrize(("host", "tracks"), [("default", True), ("wide", False)])
def test_sync_slides_the_window_by_the_drift_it_saw(
    hosts: dict[str, DjangoOtpDriver], host: str, tracks: bool
) -> None:
    driver = hosts[host]
    assert driver.clock is not None
    tolerance = driver.declared_policy()["window"]["forward"]
    assert driver.declared_policy()["drift"]["tracking"] is tracks
    credential = at_fake_time(driver)
    # A device one step ahead.
    assert driver.submit(credential, credential.code_at(FAKE_TIME, 1)).accepted
    later = FAKE_TIME + 10 * PERIOD
    driver.clock.set(later)
    # One step beyond the window: inside it only when the window slid by that drift.
    answer = driver.submit(credential, credential.code_at(later, tolerance + 1))
    assert answer.accepted is tracks, answer.describe()


# -- options and the declared policy ----------------------------------------------------------


def test_the_defaults_declare_django_otps_documented_policy(
    hosts: dict[str, DjangoOtpDriver],
) -> None:
    assert hosts["default"].declared_policy() == {
        "window": {"back": 1, "forward": 1},
        "replay": "monotonic_step",
        "throttle": {"max_failures": 1, "lock_seconds": 1, "kind": "delay"},
        "drift": {"tracking": True, "max_steps": None},
        "totp": {"algorithm": "SHA1", "digits": 6, "period": 30},
    }


def test_each_option_changes_the_declared_policy(hosts: dict[str, DjangoOtpDriver]) -> None:
    narrow, wide = hosts["narrow"].declared_policy(), hosts["wide"].declared_policy()
    assert narrow["window"] == {"back": 0, "forward": 0}
    assert wide["window"] == {"back": 3, "forward": 3}
    assert narrow["throttle"] == {"max_failures": None, "lock_seconds": None, "kind": "none"}
    assert wide["throttle"] == {"max_failures": 1, "lock_seconds": 5, "kind": "delay"}
    assert narrow["drift"]["tracking"] is True
    assert wide["drift"]["tracking"] is False


def test_every_declared_key_has_a_source(hosts: dict[str, DjangoOtpDriver]) -> None:
    driver = hosts["default"]
    sources = driver.policy_sources()
    assert set(sources) == set(driver.declared_policy())
    assert all("django-otp-official.readthedocs.io" in text for text in sources.values())


def test_options_use_django_otps_names_and_check_values() -> None:
    names = [option.name for option in DjangoOtpDriver.options]
    assert names == ["tolerance", "OTP_TOTP_SYNC", "OTP_TOTP_THROTTLE_FACTOR", "digits", "step"]
    parsed = DjangoOtpDriver.parse_options({"OTP_TOTP_SYNC": "off", "tolerance": "2"})
    assert parsed == {"OTP_TOTP_SYNC": False, "tolerance": 2}
    assert DjangoOtpDriver.parse_options({"digits": "8", "step": "60"}) == {"digits": 8, "step": 60}
    with pytest.raises(OptionError, match="7 is not one of TOTPDevice's digits"):
        DjangoOtpDriver.parse_options({"digits": "7"})
    with pytest.raises(OptionError):
        DjangoOtpDriver.parse_options({"tolerance": "-1"})
    with pytest.raises(OptionError):
        DjangoOtpDriver.parse_options({"OTP_TOTP_TOLERANCE": "1"})


# -- variants: the team's TOTPDevice digits and step -----------------------------------


def test_a_variant_sets_the_devices_digits_and_step_the_checks_provision(tmp_path: Path) -> None:
    done = twofa(
        "run", "--target", "django-otp", "--variants", "SHA1-8-60", "--plan", "algorithm",
        "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    log = tmp_path / "out" / "latest" / "results.jsonl"
    checks = [json.loads(line) for line in log.read_text().splitlines()]
    provisioning = next(
        r for r in checks if r.get("id") == "algorithm-provisioning-declares-parameters"
    )
    assert provisioning["target"] == "django-otp[SHA1-8-60]"
    step = next(s for s in provisioning["steps"] if s["title"].startswith("The default"))
    assert step["evidence"]["declared"] == {"algorithm": "SHA1", "digits": 8, "period": 60}
    assert step["outcome"] == "passed"
    refused = twofa("run", "--target", "django-otp", "--variants", "SHA256-8-60", timeout=60)
    assert refused.returncode == 2
    assert "cannot be set to SHA256-8-60 (its variants: SHA1-6-30, SHA1-6-60" in refused.stderr
