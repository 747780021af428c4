"""The privacyIDEA driver against a real privacyIDEA 3.14 (no mocks, no sleeps for steps).

Three servers for the whole module: two managed ones under libfaketime (the
documented defaults; and timeWindow=60, max_failcount=3,
failcounter_clear_timeout=2, AutoResync) and one on the real clock that
real-time mode reaches by URL. Every probe takes a fresh credential on steps no
earlier probe came near.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.drivers.privacyidea import (
    SERIAL_PREFIX,
    TARGET_PASSWORD_VARIABLE,
    USER_VARIABLE,
    AdminSession,
    Configuration,
    PrivacyIdeaDriver,
    PrivacyIdeaServer,
    start_server,
)
from conformance.drivers.seam import (
    DEFAULT_PARAMETERS,
    DriverError,
    OptionError,
    TotpParameters,
    Unsupported,
    Verdict,
)
from conformance.http import HttpClient
from conformance.measure import wrong_codes

#: 2033-05-18 03:33:30, the start of a step: far from the real time, so codes are the fake clock's.
BASE = 2_000_000_010
DAY = 86_400
NARROW = {
    "timeWindow": 60,
    "max_failcount": 3,
    "failcounter_clear_timeout": 2,
    "AutoResync": True,
}


def require_peer() -> None:
    """Skip without privacyIDEA here; in CI (``CI`` set) fail instead: CI never skips a peer."""
    missing = PrivacyIdeaDriver.missing()
    if missing is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the privacyIDEA driver: {missing}")
    pytest.skip(missing)


class Steps:
    """Fresh steps for probes: each call is 40 steps (20 minutes) after the last."""

    def __init__(self, start: int = BASE) -> None:
        self.cursor = start - start % 30

    def next(self, phase: int = 15) -> int:
        self.cursor += 40 * 30
        return self.cursor + phase


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("privacyidea")


@pytest.fixture(scope="module")
def default(workdir: Path) -> Iterator[PrivacyIdeaDriver]:
    require_peer()
    with PrivacyIdeaDriver({}, workdir / "default") as driver:
        yield driver  # type: ignore[misc]


@pytest.fixture(scope="module")
def narrow(workdir: Path) -> Iterator[PrivacyIdeaDriver]:
    require_peer()
    settings = PrivacyIdeaDriver.parse_options({k: str(v) for k, v in NARROW.items()})
    with PrivacyIdeaDriver(settings, workdir / "narrow") as driver:
        yield driver  # type: ignore[misc]


@pytest.fixture(scope="module")
def steps() -> Steps:
    return Steps()


@pytest.fixture(scope="module")
def unfaked(workdir: Path) -> Iterator[PrivacyIdeaServer]:
    """A privacyIDEA on the real clock, started by the same code as the managed mode."""
    require_peer()
    server = start_server(workdir / "unfaked")
    try:
        yield server
    finally:
        server.stop()


def probe(driver: PrivacyIdeaDriver, steps: Steps, offset: int, phase: int = 15) -> bool:
    """A fresh credential; the clock mid-step; the code ``offset`` steps away: accepted?"""
    assert driver.clock is not None
    at = steps.next(phase)
    driver.clock.set(at - 60)
    credential = driver.provision(DEFAULT_PARAMETERS)
    try:
        driver.clock.set(at)
        return driver.submit(credential, credential.code_at(at, offset)).accepted
    finally:
        driver.drop(credential)


def accepted_offsets(driver: PrivacyIdeaDriver, steps: Steps, reach: int) -> list[int]:
    return [o for o in range(-reach, reach + 1) if probe(driver, steps, o)]


def lock_probe(
    driver: PrivacyIdeaDriver, steps: Steps, failures: int, after: int = 0
) -> tuple[list[Verdict], Verdict]:
    """A fresh credential, ``failures`` wrong codes, ``after`` seconds, then the right code."""
    assert driver.clock is not None
    at = steps.next(1)
    driver.clock.set(at)
    credential = driver.provision(DEFAULT_PARAMETERS)
    try:
        wrong = [
            driver.submit(credential, c).verdict for c in wrong_codes(credential, at, failures)
        ]
        driver.clock.set(at + after)
        steps.cursor = max(steps.cursor, at + after)
        return wrong, driver.submit(credential, credential.code_at(at + after)).verdict
    finally:
        driver.drop(credential)


# -- installation, start, close ------------------------------------------------------------


def test_missing_is_none_here() -> None:
    require_peer()
    assert PrivacyIdeaDriver.missing() is None


def test_starts_on_loopback_and_closes_leaving_nothing(tmp_path: Path) -> None:
    require_peer()
    driver = PrivacyIdeaDriver({}, tmp_path)
    assert driver.server is not None
    process = driver.server.process.process
    url = driver.server.url
    assert url.startswith("http://127.0.0.1:")
    assert driver.clock is not None
    assert driver.clock.path.is_file()
    state = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert len(state) == 1
    assert (state[0] / "server" / "pi.cfg").is_file()
    driver.close()
    driver.close()  # idempotent
    assert process.poll() is not None
    with pytest.raises(DriverError):
        AdminSession(HttpClient(url, timeout=2), "admin", "x", hint="").sign_in()
    # The state (keys, config, database, clock file) is gone; the server's log is kept.
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"{state[0].name}-privacyidea.log",
        f"{state[0].name}-server.log",
    ]


def test_a_refused_admin_jwt_signs_in_again(default: PrivacyIdeaDriver, steps: Steps) -> None:
    # What a clock moved past the JWT's exp looks like to the driver: a 401 on an admin call.
    assert default.clock is not None
    default.clock.set(steps.next(15))
    default.admin._token = "expired"
    credential = default.provision(DEFAULT_PARAMETERS)
    assert default.admin._token != "expired"
    default.drop(credential)


# -- the fake clock, the verdicts ----------------------------------------------------------


def test_fake_clock_current_code_accepted_where_only_it_is_valid(
    default: PrivacyIdeaDriver, steps: Steps
) -> None:
    assert default.clock is not None
    at = steps.next(15)
    default.clock.set(at)
    credential = default.provision(DEFAULT_PARAMETERS)
    assert credential.provisioned_by == "server"
    assert credential.uri is not None
    assert credential.uri.startswith("otpauth://totp/")
    assert credential.label.startswith(SERIAL_PREFIX)
    # The code of the real time is a wrong code here: the server's time is the fake one.
    real_now = credential.code_at(time.time())
    window = {credential.code_at(at, k) for k in range(-8, 9)}
    if real_now not in window:
        assert default.submit(credential, real_now).verdict is Verdict.INVALID
    answer = default.submit(credential, credential.code_at(at))
    assert answer.verdict is Verdict.ACCEPTED, answer.describe()
    assert answer.said == "matching 1 tokens"
    default.drop(credential)


def test_wrong_code_refused_as_invalid_and_replay_as_reused(
    default: PrivacyIdeaDriver, steps: Steps
) -> None:
    assert default.clock is not None
    at = steps.next(15)
    default.clock.set(at)
    credential = default.provision(DEFAULT_PARAMETERS)
    wrong = default.submit(credential, wrong_codes(credential, at, 1)[0])
    assert wrong.verdict is Verdict.INVALID
    assert wrong.said == "wrong otp value"
    assert wrong.evidence["http"]["url"] == "/validate/check"
    code = credential.code_at(at)
    assert default.submit(credential, code).accepted
    again = default.submit(credential, code)
    assert again.verdict is Verdict.REUSED, again.describe()
    default.drop(credential)


def test_a_json_number_crashes_privacyidea_an_error_not_a_refusal(
    default: PrivacyIdeaDriver, steps: Steps
) -> None:
    # A finding: POST /validate/check with "pass" as a JSON number answers 500.
    assert default.clock is not None
    at = steps.next(15)
    default.clock.set(at)
    credential = default.provision(DEFAULT_PARAMETERS)
    answer = default.submit(credential, int(credential.code_at(at)))
    assert answer.verdict is Verdict.ERROR
    assert answer.said.startswith("500")
    default.drop(credential)


def test_parameters_honoured_or_unsupported(default: PrivacyIdeaDriver, steps: Steps) -> None:
    assert default.clock is not None
    at = steps.next(15)
    default.clock.set(at)
    wanted = TotpParameters("SHA256", 8, 60)
    credential = default.provision(wanted)
    assert credential.parameters == wanted
    assert default.submit(credential, credential.code_at(at)).accepted
    default.drop(credential)
    with pytest.raises(Unsupported):
        default.provision(TotpParameters("MD5", 6, 30))


# -- options and the declared policy ---------------------------------------------------------


def test_defaults_declare_the_documented_policy(default: PrivacyIdeaDriver) -> None:
    assert default.declared_policy() == {
        "window": {"back": 6, "forward": 6},
        "replay": "monotonic_step",
        "throttle": {"max_failures": 10, "lock_seconds": "permanent", "kind": "lockout"},
        "drift": {"tracking": False, "max_steps": None},
        "totp": {"algorithm": "SHA1", "digits": 6, "period": 30},
    }
    sources = default.policy_sources()
    assert "readthedocs" in sources["window"]
    assert "180" in sources["window"]
    assert "documented default 10" in sources["throttle.max_failures"]


@pytest.mark.parametrize(
    ("option", "value", "key", "expected"),
    [
        ("timeWindow", 60, "window", {"back": 2, "forward": 2}),
        ("timeWindow", 0, "window", {"back": 0, "forward": 0}),
        ("timeWindow", 100, "window", {"back": 3, "forward": 3}),
        ("timeStep", 60, "window", {"back": 3, "forward": 3}),
        ("timeStep", 60, "totp", {"algorithm": "SHA1", "digits": 6, "period": 60}),
        ("hashlib", "sha256", "totp", {"algorithm": "SHA256", "digits": 6, "period": 30}),
        ("otplen", 8, "totp", {"algorithm": "SHA1", "digits": 8, "period": 30}),
        (
            "max_failcount",
            3,
            "throttle",
            {"max_failures": 3, "lock_seconds": "permanent", "kind": "lockout"},
        ),
        (
            "failcounter_clear_timeout",
            2,
            "throttle",
            {"max_failures": 10, "lock_seconds": 120, "kind": "lockout"},
        ),
        ("AutoResync", True, "drift", {"tracking": True, "max_steps": 1000}),
        ("DefaultSyncWindow", 50, "drift", {"tracking": False, "max_steps": None}),
    ],
)
def test_each_option_changes_the_declared_policy_as_documented(
    option: str, value: Any, key: str, expected: Any
) -> None:
    assert Configuration({option: value}, {}).declared_policy()[key] == expected


def test_sync_window_counts_only_with_autoresync() -> None:
    both = Configuration({"AutoResync": True, "DefaultSyncWindow": 50}, {})
    assert both.declared_policy()["drift"] == {"tracking": True, "max_steps": 50}


def test_managed_system_options_are_written_to_the_server(narrow: PrivacyIdeaDriver) -> None:
    system = narrow.configuration.system
    assert system["failcounter_clear_timeout"] == "2"
    assert system["AutoResync"] == "True"
    assert narrow.declared_policy()["throttle"] == {
        "max_failures": 3,
        "lock_seconds": 120,
        "kind": "lockout",
    }


def test_unknown_or_bad_options_are_refused() -> None:
    with pytest.raises(OptionError):
        PrivacyIdeaDriver.parse_options({"window": "3"})
    with pytest.raises(OptionError):
        PrivacyIdeaDriver.parse_options({"timeStep": "0"})
    with pytest.raises(OptionError, match="not one of sha1, sha256, sha512"):
        PrivacyIdeaDriver.parse_options({"hashlib": "md5"})
    with pytest.raises(OptionError):
        PrivacyIdeaDriver.parse_options({"otplen": "9"})


def test_a_variant_is_written_to_the_server_and_the_checks_provision_it(tmp_path: Path) -> None:
    variant = TotpParameters("SHA512", 8, 60)
    assert variant in PrivacyIdeaDriver.variants
    assert len(PrivacyIdeaDriver.variants) == 18
    given = PrivacyIdeaDriver.variant_options(variant, {"max_failcount": "3"}, tmp_path)
    assert given == {"max_failcount": "3", "hashlib": "sha512", "otplen": "8", "timeStep": "60"}
    with PrivacyIdeaDriver(PrivacyIdeaDriver.parse_options(given), tmp_path) as driver:
        system = driver.configuration.system
        assert (system["totp.hashlib"], system["DefaultOtpLen"], system["totp.timeStep"]) == (
            "sha512",
            "8",
            "60",
        )
        declared = driver.declared_policy()["totp"]
        assert declared == {"algorithm": "SHA512", "digits": 8, "period": 60}
        credential = driver.provision(TotpParameters(**declared))
        assert credential.parameters == variant
        assert driver.clock is not None
        at = driver.clock.now()
        assert driver.submit(credential, credential.code_at(at)).accepted


# -- behaviour follows the settings ------------------------------------------------------------


def test_the_window_follows_timeWindow(
    default: PrivacyIdeaDriver, narrow: PrivacyIdeaDriver, steps: Steps
) -> None:
    wide = accepted_offsets(default, steps, 8)
    small = accepted_offsets(narrow, steps, 4)
    # timeWindow // timeStep steps back, as the docs say: 6 at 180 s, 2 at 60 s.
    assert min(wide) == -6
    assert min(small) == -2
    # A finding: one step fewer forward than back (the docs: "before and after").
    assert max(wide) == 5
    assert max(small) == 1
    assert wide == list(range(-6, 6))
    assert small == list(range(-2, 2))


def test_max_failcount_locks_after_that_many_wrong_codes(
    default: PrivacyIdeaDriver, narrow: PrivacyIdeaDriver, steps: Steps
) -> None:
    wrong, right = lock_probe(narrow, steps, 2)
    assert right is Verdict.ACCEPTED
    wrong, right = lock_probe(narrow, steps, 3)
    assert wrong == [Verdict.INVALID] * 3
    assert right is Verdict.LOCKED
    # The default maxfail (10) lets the right code through after three, locks after ten.
    assert lock_probe(default, steps, 3)[1] is Verdict.ACCEPTED
    assert lock_probe(default, steps, 9)[1] is Verdict.ACCEPTED
    wrong, right = lock_probe(default, steps, 10)
    assert right is Verdict.LOCKED


def test_failcounter_clear_timeout_ends_the_lock(
    default: PrivacyIdeaDriver, narrow: PrivacyIdeaDriver, steps: Steps
) -> None:
    # failcounter_clear_timeout=2: locked right after, free a day later.
    assert lock_probe(narrow, steps, 3, after=30)[1] is Verdict.LOCKED
    assert lock_probe(narrow, steps, 3, after=DAY)[1] is Verdict.ACCEPTED
    # Unset (0): still locked a day later.
    assert lock_probe(default, steps, 10, after=DAY)[1] is Verdict.LOCKED


def test_autoresync_accepts_two_consecutive_far_codes(
    default: PrivacyIdeaDriver, narrow: PrivacyIdeaDriver, steps: Steps
) -> None:
    results = {}
    for driver in (default, narrow):
        assert driver.clock is not None
        at = steps.next(15)
        driver.clock.set(at)
        credential = driver.provision(DEFAULT_PARAMETERS)
        first = driver.submit(credential, credential.code_at(at, 20))
        second = driver.submit(credential, credential.code_at(at, 21))
        results[driver.settings.get("AutoResync", False)] = (first.verdict, second.verdict)
        driver.drop(credential)
    assert results[False] == (Verdict.INVALID, Verdict.INVALID)
    assert results[True] == (Verdict.INVALID, Verdict.ACCEPTED)


def test_parallel_submissions_really_run_together(default: PrivacyIdeaDriver, steps: Steps) -> None:
    assert default.clock is not None
    at = steps.next(15)
    default.clock.set(at)
    credential = default.provision(DEFAULT_PARAMETERS)
    answers = default.submit_together(credential, [credential.code_at(at)] * 10)
    default.drop(credential)
    assert len(answers) == 10
    # At least one gets through; how many more do is the replay race's finding.
    assert sum(a.accepted for a in answers) >= 1


# -- real-time mode ------------------------------------------------------------------------


@pytest.fixture
def target_admin(unfaked: PrivacyIdeaServer, monkeypatch: pytest.MonkeyPatch) -> PrivacyIdeaServer:
    monkeypatch.setenv(USER_VARIABLE, unfaked.user)
    monkeypatch.setenv(TARGET_PASSWORD_VARIABLE, unfaked.password)
    return unfaked


def server_serials(server: PrivacyIdeaServer) -> list[str]:
    admin = AdminSession(HttpClient(server.url), server.user, server.password, hint="")
    listed = admin.call("GET", "/token/?pagesize=1000")
    return [t["serial"] for t in listed.body["result"]["value"]["tokens"]]


def test_real_time_mode_verifies_and_leaves_no_token_behind(
    target_admin: PrivacyIdeaServer, tmp_path: Path
) -> None:
    driver = PrivacyIdeaDriver({"timeWindow": 90}, tmp_path, url=target_admin.url)
    try:
        assert driver.clock is None
        assert driver.server is None
        assert "clock" not in {c.value for c in driver.capabilities}
        kept = driver.provision(DEFAULT_PARAMETERS)
        dropped = driver.provision(DEFAULT_PARAMETERS)
        now = time.time()
        # Within the window either side of a step boundary: the current code is accepted.
        assert driver.submit(kept, kept.code_at(now)).accepted
        wrong = driver.submit(kept, wrong_codes(kept, now, 1)[0])
        assert wrong.verdict is Verdict.INVALID
        driver.drop(dropped)
        assert dropped.label not in server_serials(target_admin)
        assert kept.label in server_serials(target_admin)
        assert driver.declared_policy()["window"] == {"back": 3, "forward": 3}
    finally:
        driver.close()
    assert not [s for s in server_serials(target_admin) if s.startswith(SERIAL_PREFIX)]


def test_real_time_policy_reads_the_servers_system_config(
    target_admin: PrivacyIdeaServer, tmp_path: Path
) -> None:
    owner = AdminSession(
        HttpClient(target_admin.url), target_admin.user, target_admin.password, hint=""
    )
    assert owner.call("POST", "/system/setConfig", {"DefaultMaxFailCount": "5"}).status == 200
    try:
        with PrivacyIdeaDriver({}, tmp_path, url=target_admin.url) as driver:
            declared = driver.declared_policy()
            sources = driver.policy_sources()
        assert declared is not None
        assert declared["throttle"]["max_failures"] == 5
        assert "GET /system/: DefaultMaxFailCount=5" in sources["throttle.max_failures"]
        assert declared["window"] == {"back": 6, "forward": 6}
        assert "documented default 180" in sources["window"]
    finally:
        owner.call("DELETE", "/system/DefaultMaxFailCount")


def test_real_time_mode_names_the_variables(
    unfaked: PrivacyIdeaServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(USER_VARIABLE, raising=False)
    monkeypatch.delenv(TARGET_PASSWORD_VARIABLE, raising=False)
    with pytest.raises(DriverError, match=f"{USER_VARIABLE}.*{TARGET_PASSWORD_VARIABLE}"):
        PrivacyIdeaDriver({}, tmp_path, url=unfaked.url)
    monkeypatch.setenv(USER_VARIABLE, unfaked.user)
    monkeypatch.setenv(TARGET_PASSWORD_VARIABLE, "not-the-password")
    with pytest.raises(DriverError, match=TARGET_PASSWORD_VARIABLE):
        PrivacyIdeaDriver({}, tmp_path, url=unfaked.url)


def test_real_time_mode_refuses_system_options(
    target_admin: PrivacyIdeaServer, tmp_path: Path
) -> None:
    with pytest.raises(OptionError, match="AutoResync"):
        PrivacyIdeaDriver({"AutoResync": True}, tmp_path, url=target_admin.url)
