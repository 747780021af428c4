"""The enrollment wizard in a real Chromium, against the embedded reference server.

Each test starts from the check seed with the server clock standing still; time
moves only through the harness. Every step leaves a screenshot in ``evidence``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright

from conformance.browser import Evidence, WizardDriver, new_context
from conformance.browser.pages import (
    AdminSettings,
    CodePrompt,
    Done,
    EmailVerification,
    EnrollmentMessage,
    Home,
    InstallApp,
    Landing,
    SetupCode,
    SignInPage,
)
from conformance.http import HttpClient
from conformance.session import PASSWORD
from conformance.target import EmbeddedTarget, Harness
from simulators.device import AuthenticatorDevice
from simulators.otpauth import parse_uri

pytestmark = pytest.mark.browser

V5 = "v5@conformance.test"
KEY_GROUPS = re.compile(r"^[A-Z2-7]{4}( [A-Z2-7]{1,4})*$")


def session_token(page: Page) -> str:
    """The browser's session cookie: the same bearer token the JSON API issues."""
    [cookie] = [c for c in page.context.cookies() if c["name"] == "twofa_session"]
    return cookie["value"]


def assert_clear_refusal(landing: Landing, page_class: type, status: int) -> None:
    """The submitted page again, with the API's status and a sentence in an alert."""
    assert landing.status == status, landing.describe()
    assert landing.is_(page_class), landing.describe()
    assert landing.alert is not None, landing.describe()
    assert len(landing.alert) > 15, landing.alert
    assert "Traceback" not in landing.page.content()


def assert_evidence_saved(evidence: Evidence, *titles: str) -> None:
    assert evidence.root is not None
    for record in evidence.records:
        assert record["kind"] == "screenshot"
        assert (evidence.root / record["path"]).stat().st_size > 0
    shown = [record["title"] for record in evidence.records]
    for title in titles:
        assert title in shown, shown


def test_desktop_enrollment_sign_out_sign_in_with_a_new_code_and_host(
    driver: WizardDriver, evidence: Evidence
) -> None:
    enrolled = driver.enroll(V5, PASSWORD, "google-authenticator-2023", by="qr")
    assert enrolled.qr_shown
    assert enrolled.qr_uri is not None
    driver.sign_out()

    # The setup code's step counts as used: the next sign-in needs the next step's code.
    prompt = driver.sign_in(V5, PASSWORD).as_(CodePrompt)
    reused = prompt.enter_code(enrolled.setup_code)
    assert_clear_refusal(reused, CodePrompt, 401)
    partial = session_token(driver.page)
    driver.advance(30)
    code = driver.code(enrolled.device)
    assert code != enrolled.setup_code
    reused.as_(CodePrompt).enter_code(code).as_(Home)
    assert session_token(driver.page) != partial  # a new session after the second factor

    join_code = driver.host_support_session()
    assert re.fullmatch(r"\d{6,}", join_code), join_code
    assert_evidence_saved(
        evidence,
        f"Sign in as {V5}",
        "QR code as shown",
        f"Mail to {V5}",
        "Setup code typed",
        "Two-factor authentication is set up",
        "Verification code typed",
        "Support session hosted",
    )


def test_the_qr_pixels_carry_the_servers_uri_and_the_key_the_same_secret(
    driver: WizardDriver, target: EmbeddedTarget
) -> None:
    _, connect = driver.verify_email(driver.begin_enrollment(V5, PASSWORD), V5)
    answer = HttpClient(target.base_url).get(
        "/api/v1/enrollment/device", token=session_token(driver.page)
    )
    assert answer.status == 200, answer.describe()
    server_uri = answer.body["otpauth_uri"]

    assert connect.scan_qr() == server_uri
    key = connect.manual_key()
    assert KEY_GROUPS.match(key), key
    assert key.replace(" ", "") == parse_uri(server_uri).secret
    by_key = AuthenticatorDevice("rfc-reference").provision_from_key(key, account=V5)
    by_uri = AuthenticatorDevice("rfc-reference").provision_from_uri(server_uri)
    assert by_key.key == by_uri.key


@pytest.mark.parametrize(
    ("descriptor", "profile"),
    [("iPhone 13", "lastpass-authenticator"), ("Pixel 7", "google-authenticator-legacy")],
)
def test_a_phone_browser_gets_no_qr_and_the_typed_key_works(
    browser: Browser,
    playwright: Playwright,
    target: EmbeddedTarget,
    harness: Harness,
    tmp_path: Path,
    descriptor: str,
    profile: str,
) -> None:
    context = new_context(browser, playwright, mobile=descriptor)
    try:
        driver = WizardDriver(context.new_page(), target, Evidence(tmp_path))
        _, connect = driver.verify_email(driver.begin_enrollment(V5, PASSWORD), V5)
        assert not connect.has_qr()
        assert re.search(r"\btype\b.*\bkey\b", connect.text(), re.I | re.S), connect.text()
        key = connect.manual_key()
        assert " " in key  # typed as shown, spaces and all
        enrolled = driver.connect_and_confirm(connect, driver.new_device(profile), V5, by="key")
        assert not enrolled.qr_shown
        driver.sign_out()
        driver.advance(30)
        driver.log_in(V5, PASSWORD, enrolled.device)
    finally:
        context.close()


def test_send_the_email_again_kills_the_old_code(driver: WizardDriver, harness: Harness) -> None:
    email_page = driver.begin_enrollment(V5, PASSWORD)
    first = driver.wait_for_new_mail(V5).code
    too_soon = driver.send_email_again(email_page, V5)
    assert_clear_refusal(too_soon, EmailVerification, 429)

    driver.advance(harness.policy()["email_code"]["resend_cooldown_seconds"])
    resent = driver.send_email_again(too_soon.as_(EmailVerification), V5)
    assert resent.status is not None
    assert resent.status < 400, resent.describe()
    second = driver.wait_for_new_mail(V5).code
    assert first is not None
    assert second is not None
    assert second != first

    old = resent.as_(EmailVerification).enter_code(first)
    assert_clear_refusal(old, EmailVerification, 401)
    old.as_(EmailVerification).enter_code(second).as_(InstallApp)


def test_a_new_phone_retires_the_old_one(driver: WizardDriver) -> None:
    old = driver.enroll(V5, PASSWORD, "rfc-reference", by="qr")
    driver.sign_out()
    driver.advance(30)
    new = driver.reenroll(V5, PASSWORD, driver.new_device("aegis", name="new phone"), by="qr")
    assert new.account.key != old.account.key
    driver.sign_out()
    driver.advance(30)

    prompt = driver.sign_in(V5, PASSWORD).as_(CodePrompt)
    refused = prompt.enter_code(driver.code(old.device))
    assert_clear_refusal(refused, CodePrompt, 401)
    refused.as_(CodePrompt).enter_code(driver.code(new.device)).as_(Home)


def test_admin_turns_2fa_on_only_when_every_group_is_up_to_date(
    page: Page, target: EmbeddedTarget, harness: Harness, evidence: Evidence
) -> None:
    seed = harness.reset({})  # the demo seed: one device group below 4.3 b1575
    passwords = {agent["email"]: agent["password"] for agent in seed["agents"]}
    stale = next(g for g in seed["device_groups"] if g["version"] == "4.3" and g["build"] < 1575)
    driver = WizardDriver(page, target, evidence)

    def lands_on(email: str) -> Landing:
        landing = driver.sign_in(email, passwords[email])
        if landing.is_(Home):
            landing.as_(Home).sign_out()
        else:
            driver.open(SignInPage)
        return landing

    assert lands_on("rs.agent@example.com").is_(Home)
    driver.sign_in("admin@example.com", passwords["admin@example.com"]).as_(Home)
    admin = driver.admin_settings()
    refused = admin.set_two_factor_required(True)
    assert_clear_refusal(refused, AdminSettings, 409)
    assert stale["name"] in (refused.alert or "")
    assert f"{stale['version']}" in (refused.alert or "")
    assert str(stale["build"]) in (refused.alert or "")

    updated = refused.as_(AdminSettings).update_group(stale["name"], build=1575)
    assert updated.alert is None, updated.describe()
    saved = updated.as_(AdminSettings).set_two_factor_required(True)
    assert saved.alert is None, saved.describe()
    assert saved.as_(AdminSettings).two_factor_checkbox().is_checked()
    driver.open(Home).sign_out()

    assert lands_on("rs.agent@example.com").is_(EnrollmentMessage)
    assert lands_on("v5.agent@example.com").is_(EnrollmentMessage)
    assert lands_on("lens.agent@example.com").is_(Home)


def test_a_wrong_setup_code_is_refused_with_a_message(driver: WizardDriver) -> None:
    _, connect = driver.verify_email(driver.begin_enrollment(V5, PASSWORD), V5)
    phone = driver.new_device()
    account, *_ = driver.provision(connect, phone, V5, "qr")
    setup = connect.continue_().as_(SetupCode)
    wrong = account.code_at(driver.clock.now() + 3600)
    refused = setup.enter_code(wrong)
    assert_clear_refusal(refused, SetupCode, 401)
    refused.as_(SetupCode).enter_code(driver.code(phone)).as_(Done)


def test_an_expired_email_code_is_refused_with_a_message(
    driver: WizardDriver, harness: Harness
) -> None:
    email_page = driver.begin_enrollment(V5, PASSWORD)
    code = driver.wait_for_new_mail(V5).code
    assert code is not None
    driver.advance(harness.policy()["email_code"]["ttl_seconds"] + 1)
    refused = email_page.enter_code(code)
    assert_clear_refusal(refused, EmailVerification, 410)
    assert "expired" in (refused.alert or "").lower()


def test_a_locked_second_factor_is_refused_with_a_message(
    driver: WizardDriver, harness: Harness
) -> None:
    enrolled = driver.enroll(V5, PASSWORD)
    driver.sign_out()
    driver.advance(30)
    prompt = driver.sign_in(V5, PASSWORD).as_(CodePrompt)
    wrong = enrolled.account.code_at(driver.clock.now() + 3600)
    landing = prompt.landing
    for _ in range(harness.policy()["throttle"]["max_failures"]):
        landing = landing.as_(CodePrompt).enter_code(wrong)
        assert landing.status in (401, 423), landing.describe()
    locked = landing.as_(CodePrompt).enter_code(driver.code(enrolled.device))
    assert_clear_refusal(locked, CodePrompt, 423)
