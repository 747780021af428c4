"""Browser wizard flows: the seed's enrollment as a person does it, in Chromium.

Each check drives the target's pages (docs/wizard.md) with the browser driver
(``conformance.browser``): it reads the verification mail on the mailbox page,
scans the QR code from the screen's pixels or types the key shown, and types
a simulated app's codes. Every step leaves screenshots, attached to the check
with paths relative to the run folder. A target without pages is
``not_applicable``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Final

from playwright.sync_api import Browser, Playwright
from playwright.sync_api import Error as PlaywrightError

from conformance.browser import (
    BrowserNotFound,
    Evidence,
    QrDecodeError,
    WizardDriver,
    WizardError,
    new_context,
)
from conformance.browser.pages import (
    CodePrompt,
    ConnectDevice,
    EmailVerification,
    Home,
    Landing,
)
from conformance.browser.service import run_in_browser
from conformance.checks import CheckContext, HarnessError, Step, check
from conformance.http import HttpClient
from conformance.session import PASSWORD, V5_AGENT, check_seed
from records import redact_uri
from simulators.clock import ManualClock
from simulators.device import AuthenticatorDevice, ProvisioningRefused
from simulators.otpauth import OtpauthError, parse_uri

#: The phone a mobile check emulates (a Playwright device descriptor).
PHONE: Final = "Pixel 7"
#: The app every wizard walk falls back to: it follows the Key Uri Format to the letter.
REFERENCE_APP: Final = "rfc-reference"


def app_for(ctx: CheckContext, profile: str, *, typed: bool = False) -> tuple[str, str | None]:
    """``profile``'s app when it honours the algorithm, digits and period the target
    declares (scanned, or ``typed`` with the settings chosen beside the key); else the
    reference app, and why. A wizard check is about the target's pages, not about an
    app the target's parameters are reported to break (that is ``check-authenticator``'s
    and the interop matrix's to say)."""
    algorithm, digits, period = ctx.run.totp_parameters
    probe = AuthenticatorDevice(profile, ManualClock(0))
    try:
        if typed:
            account = probe.provision_from_key(
                "JBSWY3DPEHPK3PXP", account="probe", algorithm=algorithm, digits=digits,
                period=period,
            )  # fmt: skip
        else:
            account = probe.provision_from_uri(
                f"otpauth://totp/probe?secret=JBSWY3DPEHPK3PXP&algorithm={algorithm}"
                f"&digits={digits}&period={period}"
            )
        honoured = (account.algorithm, account.digits, account.period) == (
            algorithm,
            digits,
            period,
        )
    except ProvisioningRefused:
        honoured = False
    if honoured:
        return profile, None
    return REFERENCE_APP, (
        f"the target provisions {algorithm}, {digits} digits, {period} s, which "
        f"{probe.profile.title} is reported not to honour: walked with {REFERENCE_APP}"
    )


KEY_IN_GROUPS: Final = re.compile(r"^[A-Z2-7]{4}( [A-Z2-7]{1,4})*$")

WizardBody = Callable[[CheckContext, WizardDriver], None]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextmanager
def _step(ctx: CheckContext, title: str, requirements: tuple[str, ...] = ()) -> Iterator[Step]:
    """A check step in which the browser not being where the flow expects is a failure."""
    with ctx.step(title, requirements) as step:
        try:
            yield step
        except (WizardError, QrDecodeError, ProvisioningRefused, OtpauthError) as exc:
            step.stop(str(exc))
        except PlaywrightError as exc:
            # A control docs/wizard.md names is missing (or never became usable).
            step.stop(f"the page does not offer what docs/wizard.md names: {_first_line(exc)}")


def _in_browser(ctx: CheckContext, body: WizardBody, *, mobile: str | None = None) -> None:
    """Fresh state, then ``body`` with a driver in a new (desktop or phone) browser context."""
    run = ctx.run
    probe = run.http.get("/sign-in")
    if probe.status == 404:
        ctx.not_applicable("the target serves no wizard pages: GET /sign-in answers 404")
    run.fresh_start(check_seed(V5_AGENT))
    root = run.output_dir
    evidence = Evidence(root, f"evidence/{ctx.spec.id}")

    def job(playwright: Playwright, browser: Browser) -> None:
        context = new_context(browser, playwright, mobile=mobile)
        try:
            body(ctx, WizardDriver(context.new_page(), run.target, evidence, clock=run.clock))
        finally:
            context.close()
            ctx.attachments.extend(evidence.records)

    try:
        run_in_browser(job)
    except BrowserNotFound as exc:
        raise HarnessError(str(exc)) from None


def _refused_with_message(step: Step, landing: Landing, what: str) -> bool:
    """The submitted page again with a 4xx and a sentence in its alert: a clear refusal."""
    step.evidence(status=landing.status, alert=landing.alert, page=landing.heading)
    refused = landing.status is not None and 400 <= landing.status < 500
    return step.expect(
        refused and bool(landing.alert),
        f"{what} was not refused with a message: the browser shows {landing.describe()}",
    )


def _to_connect_page(ctx: CheckContext, driver: WizardDriver) -> ConnectDevice:
    title = "Sign in, continue, type the code from the verification email"
    with _step(ctx, title, ("SEED-04",)) as s:
        mail, connect = driver.verify_email(driver.begin_enrollment(V5_AGENT, PASSWORD), V5_AGENT)
        s.evidence(code=mail.code)
        s.note(f"the mail to {mail.to} carried the code; the connect page is shown")
    return connect


@check(
    "wizard-desktop-qr-enrollment",
    "Enroll in a desktop browser by scanning the QR code from the screen",
    plan="wizard",
    requirements=("SEED-04", "URI-01", "URI-03", "URI-09", "ENR-14", "SEED-06"),
    killed_by=(
        "qr_uri_mismatch",
        "no_token_rotation",
    ),
)
def desktop_qr_enrollment(ctx: CheckContext) -> None:
    """Walk the wizard in a desktop Chromium: the QR code's pixels must carry the
    provisioning URI the API hands out for the same session, the key shown must be
    its secret; the app scans the code, confirms with a setup code, and the next
    sign-in with a new code gets a new session cookie that hosts a support session."""

    def body(ctx: CheckContext, driver: WizardDriver) -> None:
        connect = _to_connect_page(ctx, driver)
        app, why = app_for(ctx, "google-authenticator-2023")
        phone = driver.new_device(app)
        with _step(
            ctx, "Scan the QR code: its pixels carry the provisioning URI", ("URI-01",)
        ) as s:
            scanned = connect.scan_qr()
            token = driver.session_token()
            answer = HttpClient(driver.base_url).get("/api/v1/enrollment/device", token=token)
            served = answer.field("otpauth_uri") if answer.status == 200 else None
            s.evidence(scanned=redact_uri(scanned), served=redact_uri(str(served)))
            s.expect(
                isinstance(served, str),
                f"GET /api/v1/enrollment/device with the browser's session answered "
                f"{answer.describe()}, not the provisioning URI",
            )
            if s.expect(
                scanned == served,
                f"the QR code carries {redact_uri(scanned)}, but the provisioning URI is "
                f"{redact_uri(str(served))}",
            ):
                s.note("the URI decoded from the QR pixels is the provisioning URI")
        with _step(ctx, "The key shown is the URI's secret, in groups of four", ("URI-03",)) as s:
            key = connect.manual_key()
            s.evidence(key_shape=re.sub(r"[A-Z2-7]", "X", key))
            s.expect(bool(KEY_IN_GROUPS.match(key)), "the key is not base32 in groups of four")
            s.expect(
                key.replace(" ", "") == parse_uri(scanned).secret,
                "the key shown is not the secret of the QR code's URI",
            )
        with _step(ctx, "The app scans the QR code; type its setup code", ("URI-09",)) as s:
            if why:
                s.evidence(app=app, why=why)
            phone.provision_from_uri(scanned)
            s.evidence(setup_code=driver.confirm_setup(connect, phone))
            s.note("set up; the wizard continued to Remote Support")
        with _step(
            ctx, "Sign out; log in with a new code: a new session, the old one ended", ("ENR-14",)
        ) as s:
            driver.sign_out()
            driver.advance(phone.account().period)
            prompt = driver.sign_in(V5_AGENT, PASSWORD).as_(CodePrompt)
            partial = driver.session_token()
            code = driver.code(phone)
            s.evidence(code=code)
            prompt.enter_code(code).as_(Home)
            s.expect(
                partial is not None and driver.session_token() not in (None, partial),
                "the session cookie after the second factor is the one from before it",
            )
            # The cookie from before the second factor must be dead, not merely replaced.
            before = HttpClient(driver.base_url).get("/api/v1/me", token=partial)
            s.exchange(before)
            s.expect(
                before.status == 401,
                f"the session from before the second factor still works ({before.describe()})",
            )
        with _step(ctx, "Host a support session", ("SEED-06",)) as s:
            s.evidence(join_code=driver.host_support_session())
            s.note("hosted a support session with the session of the new code")

    _in_browser(ctx, body)


@check(
    "wizard-mobile-key-enrollment",
    "Enroll in a phone's browser by typing the key shown, spaces included",
    plan="wizard",
    requirements=("SEED-03", "SEED-04", "URI-03", "URI-09"),
    killed_by=("qr_for_mobile",),
)
def mobile_key_enrollment(ctx: CheckContext) -> None:
    """Walk the wizard in Chromium emulating a Pixel 7: the connect page shows no
    QR code and says to type the key; the key typed as shown (with its spaces)
    into an app confirms the enrollment, and the app's next code logs in."""

    def body(ctx: CheckContext, driver: WizardDriver) -> None:
        connect = _to_connect_page(ctx, driver)
        with _step(ctx, "A phone's browser gets no QR code, only the key", ("SEED-03",)) as s:
            shown = connect.has_qr()
            s.evidence(qr_shown=shown)
            s.expect(not shown, "the page shows a QR code to a phone, which cannot scan itself")
            s.expect(
                re.search(r"\btype\b.*\bkey\b", connect.text(), re.I | re.S) is not None,
                "the page does not tell the agent to type the key into the app",
            )
        app, why = app_for(ctx, "google-authenticator-legacy", typed=True)
        phone = driver.new_device(app)
        with _step(
            ctx, "Type the key as shown into the app; type its setup code", ("URI-09",)
        ) as s:
            key = connect.manual_key()
            settings = connect.typed_settings()
            s.evidence(key_shape=re.sub(r"[A-Z2-7]", "X", key), settings=vars(settings))
            if why:
                s.evidence(app=app, why=why)
            declared = ctx.run.totp_parameters
            typed_as = (settings.algorithm, settings.digits, settings.period)
            s.expect(
                typed_as == declared,
                f"the page shows the key with the settings {typed_as}, but the target verifies "
                f"{declared}: an app given the typed key computes codes the target refuses",
            )
            phone.provision_from_key(
                key,
                account=V5_AGENT,
                algorithm=settings.algorithm,
                digits=settings.digits,
                period=settings.period,
            )
            s.evidence(setup_code=driver.confirm_setup(connect, phone))
        with _step(ctx, "Sign out; log in with the app's next code", ("URI-03",)) as s:
            driver.sign_out()
            driver.advance(phone.account().period)
            driver.log_in(V5_AGENT, PASSWORD, phone)
            s.note("logged in")

    _in_browser(ctx, body, mobile=PHONE)


@check(
    "wizard-resend-replaces-the-email-code",
    'Make "Send the email again" retire the earlier email code',
    plan="wizard",
    requirements=("SEED-04", "SEC-08"),
    killed_by=("resend_keeps_old_code",),
)
def resend_replaces_the_email_code(ctx: CheckContext) -> None:
    """At "Verification email has been sent", wait out the resend cool-down and
    press "Send the email again": the earlier mail's code is refused with a
    message on the page, the new mail's code continues the enrollment."""

    def body(ctx: CheckContext, driver: WizardDriver) -> None:
        with _step(ctx, "Sign in, continue; the first verification email", ("SEED-04",)) as s:
            email_page = driver.begin_enrollment(V5_AGENT, PASSWORD)
            first = driver.wait_for_new_mail(V5_AGENT).code
            s.evidence(code=first)
        cooldown = float(ctx.run.policy.get("email_code", {}).get("resend_cooldown_seconds", 0))
        with _step(ctx, "Send the email again", ("SEED-04",)) as s:
            if cooldown:
                driver.advance(cooldown)
            landing = driver.send_email_again(email_page, V5_AGENT)
            s.evidence(status=landing.status, waited_seconds=cooldown)
            email_page = landing.as_(EmailVerification)
            second = driver.wait_for_new_mail(V5_AGENT).code
            s.evidence(code=second)
            s.expect(second != first, "the new email carries the same code as the first")
        with _step(ctx, "The first email's code is refused with a message", ("SEC-08",)) as s:
            assert first is not None
            refused = email_page.enter_code(first)
            if not _refused_with_message(s, refused, "the replaced email code"):
                s.stop()
            email_page = refused.as_(EmailVerification)
        with _step(ctx, "The new email's code continues the enrollment", ("SEED-04",)) as s:
            assert second is not None
            landing = email_page.enter_code(second)
            s.evidence(page=landing.heading)
            s.expect(
                landing.heading == "Install an authenticator app",
                f"the new code did not continue: {landing.describe()}",
            )

    _in_browser(ctx, body)


@check(
    "wizard-new-device-retires-the-old-one",
    'Retire the old phone once "Set up a new mobile device" is confirmed',
    plan="wizard",
    requirements=("SEED-05", "ENR-07"),
    killed_by=("old_device_survives",),
)
def new_device_retires_the_old_one(ctx: CheckContext) -> None:
    """Enroll a phone by QR code, then re-enroll through "Set up a new mobile
    device" at the code prompt with a second phone: afterwards the old phone's
    code is refused with a message and the new phone's code logs in."""

    def body(ctx: CheckContext, driver: WizardDriver) -> None:
        with _step(ctx, "Enroll the first phone by its QR code", ("SEED-04",)):
            old = driver.enroll(V5_AGENT, PASSWORD, "rfc-reference", by="qr")
            driver.sign_out()
            driver.advance(old.account.period)
        new_phone = driver.new_device("aegis", name="new phone")
        with _step(ctx, 'Sign in, "Set up a new mobile device", enroll it', ("SEED-05",)) as s:
            new = driver.reenroll(V5_AGENT, PASSWORD, new_phone, by="qr")
            s.expect(new.account.key != old.account.key, "the new phone got the old secret")
            driver.sign_out()
            driver.advance(new.account.period)
        with _step(ctx, "The old phone's code is refused with a message", ("ENR-07",)) as s:
            prompt = driver.sign_in(V5_AGENT, PASSWORD).as_(CodePrompt)
            old_code = driver.code(old.device)
            s.evidence(code=old_code)
            landing = prompt.enter_code(old_code)
            if not _refused_with_message(s, landing, "the retired phone's code"):
                s.stop()
            prompt = landing.as_(CodePrompt)
        with _step(ctx, "The new phone's code logs in", ("SEED-05",)) as s:
            new_code = driver.code(new_phone)
            s.evidence(code=new_code)
            landing = prompt.enter_code(new_code)
            s.expect(landing.heading == "Remote Support", f"not signed in: {landing.describe()}")

    _in_browser(ctx, body)
