"""Whole flows through the wizard: enroll, log in, host, sign out, re-enroll, admin.

``WizardDriver`` walks one browser page through the target's wizard the way
an agent would: it reads the verification mail in a second tab, scans the QR
code from its pixels (or types the key shown), provisions a simulated
authenticator device from it and types the device's codes. Device clocks
mirror the server's harness clock; time moves only through the harness.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeVar

from playwright.sync_api import Page

from conformance.browser.evidence import Evidence
from conformance.browser.pages import (
    AdminSettings,
    CodePrompt,
    ConnectDevice,
    Done,
    EmailVerification,
    EnrollmentMessage,
    Home,
    InstallApp,
    Landing,
    Mail,
    Mailbox,
    SetupCode,
    SignInPage,
    WizardError,
    WizardPage,
)
from conformance.target import Target
from simulators.clock import Clock, ManualClock, SkewedClock, SystemClock
from simulators.device import Account, AuthenticatorDevice

Provisioning = Literal["qr", "key"]
P = TypeVar("P", bound=WizardPage)
#: The session cookie of docs/wizard.md.
SESSION_COOKIE = "twofa_session"


@dataclass
class Enrollment:
    """What one enrollment through the wizard produced."""

    device: AuthenticatorDevice
    account: Account
    by: Provisioning
    #: The key as the page showed it, in groups of four.
    manual_key: str
    #: The URI decoded from the QR code's pixels; None when no QR code was scanned.
    qr_uri: str | None
    #: Whether the connect page showed a QR code at all.
    qr_shown: bool
    email_code: str
    setup_code: str


class WizardDriver:
    """One agent's browser tab on the target's wizard, with a mirror of the target's clock."""

    def __init__(
        self,
        page: Page,
        target: Target,
        evidence: Evidence | None = None,
        *,
        clock: ManualClock | None = None,
    ) -> None:
        self.page = page
        self.target = target
        self.base_url = target.base_url
        self.evidence = evidence or Evidence(None)
        self.harness = target.harness
        #: Mirror of the server's clock (e.g. the run's own); devices read it through skew.
        self.clock = clock or ManualClock()
        self.sync_clock()
        self.mailbox = Mailbox(page.context, self.base_url, self.evidence, self.harness)
        self._mails_before: dict[str, int] = {}

    # -- time ------------------------------------------------------------------

    def sync_clock(self) -> float:
        """Set the mirror to the server's harness clock (the system time without one)."""
        now = self.harness.now() if self.harness else SystemClock().now()
        self.clock.set(now)
        return now

    def advance(self, seconds: float) -> float:
        """Move the server's clock (never sleep for a time step) and the mirror with it."""
        if self.harness is None:
            raise WizardError("the target has no harness clock to move")
        now = self.harness.advance(seconds)
        self.clock.set(now)
        return now

    def new_device(
        self, profile: str = "rfc-reference", *, skew: float = 0.0, name: str = "phone"
    ) -> AuthenticatorDevice:
        """A phone with ``profile``'s app whose clock follows the server's (plus ``skew``)."""
        clock: Clock = SkewedClock(self.clock, skew) if skew else self.clock
        return AuthenticatorDevice(profile, clock, name=name)

    def code(self, device: AuthenticatorDevice) -> str:
        """The code ``device`` shows now (the mirror is synced first)."""
        self.sync_clock()
        return device.code_now()

    # -- where the browser is -----------------------------------------------------

    def landing(self) -> Landing:
        return Landing.read(self.page, self.evidence, None)

    def open_sign_in(self) -> SignInPage:
        return SignInPage.open(self.page, self.base_url, self.evidence)

    def sign_in(self, email: str, password: str) -> Landing:
        """Open the sign-in page and sign in; where the browser lands."""
        return self.open_sign_in().sign_in(email, password)

    def open(self, page_class: type[P]) -> P:
        """Type a page's address (e.g. ``Home``) into the address bar."""
        return page_class.open(self.page, self.base_url, self.evidence)

    def read_email_code(self, email: str) -> Mail:
        """The newest mail to ``email`` as the mailbox page shows it (must carry a code)."""
        mail = self.mailbox.latest(email)
        # Back to the wizard's tab, as a person would; a background tab barely renders.
        self.page.bring_to_front()
        if not mail.code:
            raise WizardError(f"the newest mail to {email} carries no code: {mail.body[:200]!r}")
        return mail

    # -- enrollment ----------------------------------------------------------------

    def enroll(
        self,
        email: str,
        password: str,
        device: AuthenticatorDevice | str = "rfc-reference",
        *,
        by: Provisioning = "qr",
    ) -> Enrollment:
        """Sign in, enroll ``device`` (a device or a profile name) and arrive at Home."""
        phone = self.new_device(device) if isinstance(device, str) else device
        email_page = self.begin_enrollment(email, password)
        mail, connect = self.verify_email(email_page, email)
        return self.connect_and_confirm(connect, phone, email, by, email_code=mail.code or "")

    def reenroll(
        self,
        email: str,
        password: str,
        device: AuthenticatorDevice | str,
        *,
        by: Provisioning = "qr",
    ) -> Enrollment:
        """Sign in, choose "Set up a new mobile device" at the code prompt, enroll ``device``."""
        phone = self.new_device(device, name="new phone") if isinstance(device, str) else device
        self._mark_mailbox(email)
        prompt = self.sign_in(email, password).as_(CodePrompt)
        landing = prompt.set_up_new_device()
        if landing.is_(EnrollmentMessage):
            landing = landing.as_(EnrollmentMessage).continue_()
        mail, connect = self.verify_email(landing.as_(EmailVerification), email)
        return self.connect_and_confirm(connect, phone, email, by, email_code=mail.code or "")

    def begin_enrollment(self, email: str, password: str) -> EmailVerification:
        """Sign in (2FA required, not enrolled) and continue past the enrollment message."""
        self._mark_mailbox(email)
        landing = self.sign_in(email, password)
        return landing.as_(EnrollmentMessage).continue_().as_(EmailVerification)

    def _mark_mailbox(self, email: str) -> None:
        # Mails counted before the wizard sends one, so the wait below is for a new one.
        self._mails_before[email.lower()] = self.mailbox.count(email)

    def wait_for_new_mail(self, email: str) -> Mail:
        """Wait for a mail newer than the last mark, then read it on the mailbox page."""
        self.mailbox.wait_for_mail(email, self._mails_before.get(email.lower(), 0))
        self._mark_mailbox(email)
        return self.read_email_code(email)

    def send_email_again(self, email_page: EmailVerification, email: str) -> Landing:
        """Press "Send the email again" (counting mails first, so the new one is awaited)."""
        self._mark_mailbox(email)
        return email_page.send_again()

    def verify_email(self, email_page: EmailVerification, email: str) -> tuple[Mail, ConnectDevice]:
        """Read the newest mail's code, type it, pass "Install an authenticator app"."""
        mail = self.wait_for_new_mail(email)
        assert mail.code is not None
        install = email_page.enter_code(mail.code).as_(InstallApp)
        return mail, install.continue_().as_(ConnectDevice)

    def connect_and_confirm(
        self,
        connect: ConnectDevice,
        phone: AuthenticatorDevice,
        email: str,
        by: Provisioning = "qr",
        *,
        email_code: str = "",
    ) -> Enrollment:
        """Provision ``phone`` from the connect page, type its setup code, arrive at Home."""
        account, qr_uri, key, shown = self.provision(connect, phone, email, by)
        setup_code = self.confirm_setup(connect, phone)
        return Enrollment(phone, account, by, key, qr_uri, shown, email_code, setup_code)

    def confirm_setup(self, connect: ConnectDevice, phone: AuthenticatorDevice) -> str:
        """Continue from the connect page, type ``phone``'s code, pass Done to Home: the code."""
        setup = connect.continue_().as_(SetupCode)
        setup_code = self.code(phone)
        setup.enter_code(setup_code).as_(Done).continue_().as_(Home)
        return setup_code

    def session_token(self) -> str | None:
        """The browser's session cookie (docs/wizard.md: the API's bearer token)."""
        for cookie in self.page.context.cookies(self.base_url):
            if cookie.get("name") == SESSION_COOKIE:
                return cookie.get("value")
        return None

    def provision(
        self, connect: ConnectDevice, phone: AuthenticatorDevice, email: str, by: Provisioning
    ) -> tuple[Account, str | None, str, bool]:
        """Scan the QR code or type the key shown into ``phone``: (account, uri, key, qr shown)."""
        key = connect.manual_key()
        shown = connect.has_qr()
        if by == "qr":
            if not shown:
                raise WizardError("the connect page shows no QR code to scan", connect.landing)
            uri = connect.scan_qr()
            return phone.provision_from_uri(uri), uri, key, shown
        # Typed as shown, spaces and all: the app's own key-entry rules apply.
        settings = connect.typed_settings()
        account = phone.provision_from_key(
            key,
            account=email,
            algorithm=settings.algorithm,
            digits=settings.digits,
            period=settings.period,
        )
        return account, None, key, shown

    # -- after enrollment ------------------------------------------------------------

    def log_in(self, email: str, password: str, device: AuthenticatorDevice) -> Home:
        """Sign in and type ``device``'s current code at the prompt: Home."""
        prompt = self.sign_in(email, password).as_(CodePrompt)
        return prompt.enter_code(self.code(device)).as_(Home)

    def home(self) -> Home:
        return self.landing().as_(Home)

    def host_support_session(self) -> str:
        """Host a support session from Home: its join code."""
        return self.home().host_support_session()

    def sign_out(self) -> SignInPage:
        return self.home().sign_out().as_(SignInPage)

    # -- admin ----------------------------------------------------------------------

    def admin_settings(self) -> AdminSettings:
        """From Home, follow "Admin settings"."""
        return self.home().open_admin_settings().as_(AdminSettings)

    def require_two_factor(self, required: bool = True) -> Landing:
        """Switch the account-wide 2FA setting on the admin page; the page after saving."""
        return self.landing().as_(AdminSettings).set_two_factor_required(required)

    def update_device_group(
        self, name: str, *, version: str | None = None, build: int | None = None
    ) -> Landing:
        return self.landing().as_(AdminSettings).update_group(name, version=version, build=build)

    def close(self) -> None:
        self.mailbox.close()
