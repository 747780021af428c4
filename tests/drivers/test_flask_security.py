"""The flask-security driver against the real peer: Flask-Security-Too 5.9 in its host app.

No mocks and no sleeps: the host runs under libfaketime and the tests move its
clock. Three hosts, started once for the module, at three settings of
``SECURITY_TWO_FACTOR_AUTHENTICATOR_VALIDITY`` (seconds; passlib's window):

- ``default``: Flask-Security's default, 120 s (4 steps each way);
- ``narrow``: 30 s (1 step each way);
- ``wide``: 90 s (3 steps each way).

Skipped with the reason when the peer is not installed here; under CI
(``CI`` set) they run, and fail, instead.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.drivers import parse_target
from conformance.drivers.faketime import PYTHON_MAX_TIME
from conformance.drivers.flask_security import (
    VALIDITY,
    FlaskSecurityDriver,
    declared_policy_for,
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
from simulators.otpauth import parse_uri

MISSING = FlaskSecurityDriver.missing()
pytestmark = pytest.mark.skipif(
    MISSING is not None and not os.environ.get("CI"), reason=f"flask-security peer: {MISSING}"
)

PERIOD = 30
#: 2033-05-18 03:33:15: mid-step (phase 15 of 30), years from the real time.
FAKE_TIME = 2_000_000_000 // PERIOD * PERIOD + 15

SETTINGS = {
    "default": {},
    "narrow": {VALIDITY: "30"},
    "wide": {VALIDITY: "90"},
}


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, FlaskSecurityDriver]]:
    started: dict[str, FlaskSecurityDriver] = {}
    try:
        for name, given in SETTINGS.items():
            settings = FlaskSecurityDriver.parse_options(given)
            started[name] = FlaskSecurityDriver(settings, tmp_path_factory.mktemp(name))
        yield started
    finally:
        for driver in started.values():
            driver.close()


@pytest.fixture
def host(hosts: dict[str, FlaskSecurityDriver]) -> FlaskSecurityDriver:
    return hosts["default"]


def made_at(driver: FlaskSecurityDriver, at: float = FAKE_TIME) -> Credential:
    """A new credential, the host's clock set to ``at`` first and again after."""
    assert driver.clock is not None
    driver.clock.set(at)
    credential = driver.provision(DEFAULT_PARAMETERS)
    # Provisioning took real time: back to the chosen phase before any code is sent.
    driver.clock.set(at)
    return credential


def accepted_offsets(driver: FlaskSecurityDriver, reach: int) -> set[int]:
    """Offsets -reach..+reach, each on a fresh credential and a fresh step, mid-step."""
    accepted = set()
    for index, offset in enumerate(range(-reach, reach + 1)):
        # Far from every earlier sample, so no earlier code is near this one's steps.
        at = FAKE_TIME + (index + 1) * 40 * PERIOD
        credential = made_at(driver, at)
        answer = driver.submit(credential, credential.code_at(at, offset))
        assert answer.verdict in (Verdict.ACCEPTED, Verdict.INVALID), answer.describe()
        if answer.accepted:
            accepted.add(offset)
    return accepted


def host_log(driver: FlaskSecurityDriver) -> str:
    """The end of the host's log, for a failure's message."""
    return driver._server.tail() if driver._server is not None else "(not started)"


def wrong_code(credential: Credential, at: float, reach: int = 8) -> str:
    """A well-formed code no step within ``reach`` of ``at`` has."""
    near = {credential.code_at(at, k) for k in range(-reach, reach + 1)}
    return next(c for c in (f"{n:06d}" for n in range(0, 10**6, 7919)) if c not in near)


# -- installation, start and close -----------------------------------------------------------


def test_the_peer_is_installed_here() -> None:
    assert MISSING is None


def test_the_target_name_resolves_to_this_driver() -> None:
    spec = parse_target("flask-security")
    assert spec.driver is FlaskSecurityDriver
    assert not spec.driver.reaches_urls


def test_close_stops_the_host_and_it_wrote_only_in_the_workdir(tmp_path: Path) -> None:
    driver = FlaskSecurityDriver({}, tmp_path)
    server = driver._server
    assert server is not None
    assert server.alive
    port, group = driver.port, server.process.pid
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
    driver.close()
    driver.close()  # idempotent
    assert not server.alive
    with pytest.raises(ProcessLookupError):
        os.killpg(group, 0)
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(("127.0.0.1", port), timeout=1),
    ):
        pass
    written = {p.relative_to(tmp_path).parts[0] for p in tmp_path.rglob("*")}
    assert len(written) == 1
    assert next(iter(written)).startswith("flask-security-")


def test_the_host_ends_when_the_harness_is_killed(tmp_path: Path) -> None:
    """Nothing is left behind even when the harness dies without closing the driver."""
    harness = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, pathlib\n"
            "from conformance.drivers.flask_security import FlaskSecurityDriver\n"
            "driver = FlaskSecurityDriver({}, pathlib.Path(sys.argv[1]))\n"
            "print(driver._server.process.pid, flush=True)\n"
            "time.sleep(60)\n",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert harness.stdout is not None
        host = int(harness.stdout.readline())
        os.kill(host, 0)  # running
    finally:
        harness.kill()
        harness.wait()
        if harness.stdout is not None:
            harness.stdout.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(host, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)  # waiting for a process to exit, not for a time step
    os.kill(host, signal.SIGKILL)
    pytest.fail("the host outlived the harness that started it by 10 s")


def test_a_second_driver_in_the_same_workdir_gets_a_fresh_state(tmp_path: Path) -> None:
    first = FlaskSecurityDriver({}, tmp_path)
    try:
        second = FlaskSecurityDriver({}, tmp_path)
        try:
            assert first.state != second.state
            assert first.port != second.port
        finally:
            second.close()
    finally:
        first.close()


# -- provisioning --------------------------------------------------------------------------


def test_provisioning_reads_the_servers_own_otpauth_uri(host: FlaskSecurityDriver) -> None:
    credential = made_at(host)
    assert credential.provisioned_by == "server"
    assert credential.uri is not None
    parsed = parse_uri(credential.uri)
    assert parsed.key() == credential.key
    assert len(credential.key) == 20  # passlib's default key size for SHA1
    assert credential.parameters == DEFAULT_PARAMETERS
    assert parsed.account == credential.label
    # Short enough for every authenticator's name limit (Yubico's: 64 bytes).
    assert len(f"{parsed.issuer}:{parsed.account}".encode()) <= 64
    assert credential.fields["b32key_matches_uri"] is True
    assert credential.fields["method"] == "authenticator"
    assert abs(credential.created_at - FAKE_TIME) < 5
    # The setup code's step is not used up: Flask-Security has no replay protection.
    assert credential.used_step is None
    assert credential.handle["setup_step"] == credential.step_at(FAKE_TIME)


def test_each_credential_is_a_new_user_with_a_new_secret(host: FlaskSecurityDriver) -> None:
    first, second = made_at(host), made_at(host)
    assert first.label != second.label
    assert first.key != second.key
    code = first.code_at(FAKE_TIME)
    if code not in {second.code_at(FAKE_TIME, k) for k in range(-4, 5)}:
        # The first user's code is not the second's.
        assert host.submit(second, code).verdict is Verdict.INVALID


@pytest.mark.parametrize(
    "parameters",
    [TotpParameters("SHA256"), TotpParameters("SHA1", 8), TotpParameters("SHA1", 6, 60)],
    ids=lambda p: p.describe(),
)
def test_other_parameters_are_unsupported(
    host: FlaskSecurityDriver, parameters: TotpParameters
) -> None:
    with pytest.raises(Unsupported, match="SHA1, 6 digits, 30 s only"):
        host.provision(parameters)


# -- the clock and the verdicts ------------------------------------------------------------


def test_the_current_code_is_accepted_at_a_faked_time_where_it_alone_is_valid(
    host: FlaskSecurityDriver,
) -> None:
    credential = made_at(host)
    code = credential.code_at(FAKE_TIME)
    # Valid only at the faked time: no step near the real time has this code.
    real = time.time()
    assert code not in {credential.code_at(real, k) for k in range(-10, 11)}
    assert host.submit(credential, code).verdict is Verdict.ACCEPTED
    # And the real time's code is refused: the host really reads the faked clock.
    assert host.submit(credential, credential.code_at(real)).verdict is Verdict.INVALID


def test_a_wrong_code_is_refused_as_invalid(host: FlaskSecurityDriver) -> None:
    credential = made_at(host)
    answer = host.submit(credential, wrong_code(credential, FAKE_TIME))
    assert answer.verdict is Verdict.INVALID
    assert answer.said == "400 Invalid code"
    exchanges = answer.evidence["http"]
    assert [e["url"] for e in exchanges] == ["/login", "/tf-validate"]
    assert exchanges[0]["request"]["password"] == "<redacted>"


def test_a_missing_code_is_malformed_and_a_non_numeric_one_invalid(
    host: FlaskSecurityDriver,
) -> None:
    credential = made_at(host)
    assert host.submit(credential, "").verdict is Verdict.MALFORMED
    # Flask-Security says "Invalid code" for letters and wrong lengths too.
    assert host.submit(credential, "abcdef").verdict is Verdict.INVALID
    assert host.submit(credential, credential.code_at(FAKE_TIME) + "1").verdict is Verdict.INVALID


def test_code_forms_the_transport_carries(host: FlaskSecurityDriver) -> None:
    credential = made_at(host)
    code = credential.code_at(FAKE_TIME)
    # passlib strips whitespace and hyphens and zero-pads an integer (JSON number).
    assert "json_number" in host.code_forms
    assert host.submit(credential, int(code)).verdict is Verdict.ACCEPTED
    assert host.submit(credential, f"{code[:3]} {code[3:]}").verdict is Verdict.ACCEPTED
    arabic = code.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert host.submit(credential, arabic).verdict is Verdict.INVALID


@pytest.mark.parametrize(
    "at",
    [2_147_483_647.0, 4_294_967_296.0 + 15, PYTHON_MAX_TIME - 86_400],
    ids=["2038-01-19", "2106-02-07", "2261-12-31"],
)
def test_far_years(host: FlaskSecurityDriver, at: float) -> None:
    credential = made_at(host, at)
    assert host.submit(credential, credential.code_at(at)).verdict is Verdict.ACCEPTED
    assert host.submit(credential, credential.code_at(at, 6)).verdict is Verdict.INVALID


def test_the_clock_stops_where_cpython_under_libfaketime_does(host: FlaskSecurityDriver) -> None:
    assert host.clock is not None
    with pytest.raises(DriverError, match="cannot reach"):
        host.clock.set(PYTHON_MAX_TIME + 1)


# -- replay and throttling, as the docs declare them -----------------------------------------


def test_the_same_code_is_accepted_again_and_ten_at_once(host: FlaskSecurityDriver) -> None:
    """The docs: "Flask-Security doesn't implement any replay-attack protection"."""
    credential = made_at(host)
    code = credential.code_at(FAKE_TIME)
    # The setup code itself, twice more.
    assert host.submit(credential, code).accepted
    assert host.submit(credential, code).accepted
    answers = host.submit_together(credential, [code] * 10)
    assert [a.verdict for a in answers] == [Verdict.ACCEPTED] * 10


def test_wrong_codes_in_a_row_lock_nothing(host: FlaskSecurityDriver) -> None:
    """The docs: track_failed_authn only sends a signal; no lockout unless the app adds one."""
    credential = made_at(host)
    codes = {credential.code_at(FAKE_TIME, k) for k in range(-8, 9)}
    wrong = [c for c in (f"{n:06d}" for n in range(1, 10**6, 7919)) if c not in codes][:30]
    answers = [host.submit(credential, code) for code in wrong]
    said = [a.describe() for a in answers]
    assert {a.verdict for a in answers} == {Verdict.INVALID}, (said, host_log(host))
    assert host.clock is not None
    host.clock.set(FAKE_TIME)
    answer = host.submit(credential, credential.code_at(FAKE_TIME))
    assert answer.accepted, (answer.describe(), host_log(host))


# -- the options and the declared policy -------------------------------------------------------


def test_the_declared_policy_at_the_defaults(host: FlaskSecurityDriver) -> None:
    assert host.declared_policy() == {
        "window": {"back": 4, "forward": 4, "seconds": 120},
        "replay": "none",
        "throttle": {"max_failures": None, "lock_seconds": None, "kind": "none"},
        "drift": None,
        "totp": {"algorithm": "SHA1", "digits": 6, "period": 30},
    }
    sources = host.policy_sources()
    assert set(sources) == {"window", "replay", "throttle", "drift", "totp"}
    assert "configuration.html#SECURITY_TWO_FACTOR_AUTHENTICATOR_VALIDITY" in sources["window"]
    assert "replay-attack protection" in sources["replay"]


@pytest.mark.parametrize(
    ("seconds", "steps"), [("0", 0), ("30", 1), ("45", 2), ("90", 3), ("120", 4), ("600", 20)]
)
def test_the_validity_option_sets_the_declared_window(seconds: str, steps: int) -> None:
    settings = FlaskSecurityDriver.parse_options({VALIDITY: seconds})
    window = declared_policy_for(settings[VALIDITY])["window"]
    assert window == {"back": steps, "forward": steps, "seconds": int(seconds)}


def test_a_running_host_declares_its_own_setting(hosts: dict[str, FlaskSecurityDriver]) -> None:
    assert hosts["narrow"].declared_policy()["window"] == {"back": 1, "forward": 1, "seconds": 30}
    assert hosts["wide"].declared_policy()["window"] == {"back": 3, "forward": 3, "seconds": 90}
    assert "set to 30" in hosts["narrow"].policy_sources()["window"]


@pytest.mark.parametrize("given", [{VALIDITY: "-1"}, {VALIDITY: "two"}, {"SECURITY_X": "1"}])
def test_bad_options_are_refused(given: dict[str, str]) -> None:
    with pytest.raises(OptionError):
        FlaskSecurityDriver.parse_options(given)


# -- the window follows the setting --------------------------------------------------------------


def test_the_window_follows_the_validity_setting(hosts: dict[str, FlaskSecurityDriver]) -> None:
    """30 s reaches one step each way, 90 s three, 120 s (the default) four."""
    narrow = accepted_offsets(hosts["narrow"], 3)
    wide = accepted_offsets(hosts["wide"], 5)
    default = accepted_offsets(hosts["default"], 6)
    assert narrow == set(range(-1, 2))
    assert wide == set(range(-3, 4))
    assert default == set(range(-4, 5))
    for name, accepted in (("narrow", narrow), ("wide", wide), ("default", default)):
        window = hosts[name].declared_policy()["window"]
        assert accepted == set(range(-window["back"], window["forward"] + 1))
