"""Page objects of the enrollment wizard, one per step (contract: docs/wizard.md).

Controls are found by role and accessible name only, as a person finds them.
Each action does what a person does (fill, click) and leaves a screenshot of
the step in the ``Evidence``. A submit returns a ``Landing``: the page the
browser arrived on, which the caller turns into the next page object with
``landing.as_(NextPage)`` (a ``WizardError`` when the browser is elsewhere).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import ClassVar, Final, TypeVar

from playwright.sync_api import BrowserContext, Locator, Page, Response

from conformance.browser.evidence import Evidence
from conformance.qr import decode_qr_png
from conformance.target import Harness

QR_NAME: Final = "QR code for your authenticator app"
MAIL_WAIT_SECONDS: Final = 5.0
_POLL_SECONDS: Final = 0.02

P = TypeVar("P", bound="WizardPage")

#: The page's h1 texts and the texts of its alerts (docs/wizard.md: role="alert").
_READ_LANDING: Final = """() => [
  Array.from(document.querySelectorAll("h1"), e => e.innerText),
  Array.from(document.querySelectorAll('[role="alert"]'), e => e.innerText),
]"""


class WizardError(AssertionError):
    """The browser is not where the flow expected: the target's answer, with what was seen."""

    def __init__(self, message: str, landing: Landing | None = None) -> None:
        super().__init__(message)
        self.landing = landing


class PagesMissing(WizardError):
    """The target serves no wizard pages (``/sign-in`` answers 404)."""


@dataclass
class Landing:
    """Where a navigation arrived: heading, HTTP status, URL and any alert text."""

    page: Page
    evidence: Evidence
    heading: str | None
    status: int | None
    url: str
    alert: str | None

    @classmethod
    def read(cls, page: Page, evidence: Evidence, response: Response | None) -> Landing:
        # One round trip, and no waiting: an error page without an h1 must not cost a timeout.
        headings, alerts = page.evaluate(_READ_LANDING)
        headings = [h.strip() for h in headings]
        alerts = [a.strip() for a in alerts if a.strip()]
        return cls(
            page=page,
            evidence=evidence,
            heading=headings[0] if headings else None,
            status=response.status if response is not None else None,
            url=page.url,
            alert=" ".join(alerts) or None,
        )

    def describe(self) -> str:
        status = f" ({self.status})" if self.status is not None else ""
        heading = f"'{self.heading}'" if self.heading else "a page without a heading"
        alert = f" saying: {self.alert}" if self.alert else ""
        return f"{heading}{status} at {self.url}{alert}"

    def is_(self, page_class: type[WizardPage]) -> bool:
        return self.heading == page_class.HEADING

    def as_(self, page_class: type[P]) -> P:
        """The page object for this page, or ``WizardError`` naming what is shown instead."""
        if not self.is_(page_class):
            raise WizardError(
                f"expected the page '{page_class.HEADING}', the browser shows {self.describe()}",
                self,
            )
        return page_class(self.page, self.evidence, self)


class WizardPage:
    """One page of the wizard: its path, its ``h1`` and what a person does there."""

    PATH: ClassVar[str]
    HEADING: ClassVar[str]

    def __init__(self, page: Page, evidence: Evidence, landing: Landing | None = None) -> None:
        self.page = page
        self.evidence = evidence
        self.landing = landing or Landing.read(page, evidence, None)

    @classmethod
    def open(cls: type[P], page: Page, base_url: str, evidence: Evidence) -> P:
        """Go to the page's path, as a person typing the address."""
        response = page.goto(base_url.rstrip("/") + cls.PATH)
        landing = Landing.read(page, evidence, response)
        if response is not None and response.status == 404:
            raise PagesMissing(f"the target serves no {cls.PATH} page (404)", landing)
        return landing.as_(cls)

    @property
    def alert(self) -> str | None:
        """The text of the page's alert, if it shows one."""
        return self.landing.alert

    def shot(self, title: str | None = None) -> None:
        self.evidence.screenshot(self.page, title or self.HEADING)

    def _button(self, name: str) -> Locator:
        return self.page.get_by_role("button", name=name, exact=True)

    def _submit(self, control: Locator, title: str | None = None) -> Landing:
        """Screenshot the step as filled in, click, and read where the browser lands."""
        self.shot(title)
        with self.page.expect_navigation() as navigation:
            control.click()
        landing = Landing.read(self.page, self.evidence, navigation.value)
        if landing.alert:
            # The message a person reads after a refusal is evidence of its own.
            self.evidence.screenshot(self.page, f"{landing.heading}: {landing.alert}")
        return landing


class SignInPage(WizardPage):
    PATH = "/sign-in"
    HEADING = "Sign in"

    def sign_in(self, email: str, password: str) -> Landing:
        self.page.get_by_label("Email", exact=True).fill(email)
        self.page.get_by_label("Password", exact=True).fill(password)
        return self._submit(self._button("Sign in"), f"Sign in as {email}")


class EnrollmentMessage(WizardPage):
    PATH = "/enroll"
    HEADING = "Two-factor authentication is required"

    def continue_(self) -> Landing:
        return self._submit(self._button("Continue"))


class EmailVerification(WizardPage):
    PATH = "/enroll/email"
    HEADING = "Verification email has been sent"

    def sent_to(self) -> str | None:
        """The masked address the page names (``v***@example.com``)."""
        found = re.search(r"[^\s@]*\*+[^\s@]*@[\w.-]+\w", self.page.locator("main").inner_text())
        return found.group(0) if found else None

    def enter_code(self, code: str) -> Landing:
        self.page.get_by_label("Verification code", exact=True).fill(code)
        return self._submit(self._button("Continue"), "Email code typed")

    def send_again(self) -> Landing:
        return self._submit(self._button("Send the email again"), "Send the email again")


class InstallApp(WizardPage):
    PATH = "/enroll/install"
    HEADING = "Install an authenticator app"

    def continue_(self) -> Landing:
        return self._submit(self._button("Continue"))


@dataclass(frozen=True)
class TypedSettings:
    """What an app is set to when the key is typed: the page's settings, else the defaults."""

    algorithm: str
    digits: int
    period: int


class ConnectDevice(WizardPage):
    PATH = "/enroll/connect"
    HEADING = "Connect to your mobile device"

    def qr_image(self) -> Locator:
        return self.page.get_by_role("img", name=QR_NAME, exact=True)

    def has_qr(self) -> bool:
        return self.qr_image().count() > 0

    def scan_qr(self) -> str:
        """Photograph the QR element (saved as evidence) and decode it from the pixels."""
        png = self.qr_image().screenshot()
        self.evidence.save_png(png, "QR code as shown")
        return decode_qr_png(png)

    def manual_key(self) -> str:
        """The key as shown, in groups of four (what a person types)."""
        return self.page.get_by_label("Key", exact=True).inner_text().strip()

    def typed_settings(self) -> TypedSettings:
        """The settings the page says to choose beside the typed key; the Key Uri Format's
        defaults (SHA1, 6 digits, 30 s) for each it does not show."""

        def shown(name: str) -> str | None:
            field = self.page.get_by_label(name, exact=True)
            return field.first.inner_text().strip() if field.count() else None

        def number(text: str | None, default: int) -> int:
            found = re.match(r"\d+", text or "")
            return int(found.group()) if found else default

        algorithm = shown("Algorithm")
        return TypedSettings(
            algorithm.upper() if algorithm else "SHA1",
            number(shown("Digits"), 6),
            number(shown("Period"), 30),
        )

    def text(self) -> str:
        return self.page.locator("main").inner_text()

    def continue_(self) -> Landing:
        return self._submit(self._button("Continue"))


class SetupCode(WizardPage):
    PATH = "/enroll/confirm"
    HEADING = "Enter setup code"

    def enter_code(self, code: str) -> Landing:
        self.page.get_by_label("Setup code", exact=True).fill(code)
        return self._submit(self._button("Continue"), "Setup code typed")


class Done(WizardPage):
    PATH = "/enroll/done"
    HEADING = "Two-factor authentication is set up"

    def continue_(self) -> Landing:
        return self._submit(self.page.get_by_role("link", name="Continue", exact=True))


class CodePrompt(WizardPage):
    PATH = "/verify"
    HEADING = "Enter your verification code"

    def enter_code(self, code: str) -> Landing:
        self.page.get_by_label("Verification code", exact=True).fill(code)
        return self._submit(self._button("Log in"), "Verification code typed")

    def set_up_new_device(self) -> Landing:
        return self._submit(self._button("Set up a new mobile device"))


class Home(WizardPage):
    PATH = "/home"
    HEADING = "Remote Support"

    def host_support_session(self) -> str:
        """Host a session; the join code the page shows in its status element."""
        landing = self._submit(self._button("Host a support session"))
        self.landing = landing
        # all_inner_texts() does not wait: a refusal shows an alert, not a status.
        statuses = " ".join(landing.page.get_by_role("status").all_inner_texts())
        found = re.search(r"\d[\d ]{4,}\d", statuses)
        if landing.heading != self.HEADING or found is None:
            raise WizardError(f"no join code after hosting: {landing.describe()}", landing)
        self.evidence.screenshot(self.page, "Support session hosted")
        return found.group(0).replace(" ", "")

    def sign_out(self) -> Landing:
        return self._submit(self._button("Sign out"))

    def open_admin_settings(self) -> Landing:
        return self._submit(self.page.get_by_role("link", name="Admin settings", exact=True))


class AdminSettings(WizardPage):
    PATH = "/admin"
    HEADING = "Admin settings"

    def two_factor_checkbox(self) -> Locator:
        return self.page.get_by_role("checkbox", name="Require two-factor authentication")

    def set_two_factor_required(self, required: bool) -> Landing:
        self.two_factor_checkbox().set_checked(required)
        title = "Require two-factor authentication" if required else "Do not require 2FA"
        return self._submit(self._button("Save settings"), title)

    def update_group(
        self, name: str, *, version: str | None = None, build: int | None = None
    ) -> Landing:
        if version is not None:
            self.page.get_by_role("textbox", name=f"Version for {name}", exact=True).fill(version)
        if build is not None:
            self.page.get_by_role("spinbutton", name=f"Build for {name}", exact=True).fill(
                str(build)
            )
        return self._submit(self._button(f"Save {name}"), f"Update {name}")


@dataclass(frozen=True)
class Mail:
    """One captured mail as the mailbox page shows it."""

    to: str
    subject: str
    body: str
    code: str | None


class Mailbox:
    """The harness's ``/mailbox`` page, read in a second tab of the same browser."""

    PATH: ClassVar[str] = "/mailbox"
    HEADING: ClassVar[str] = "Mailbox"

    def __init__(
        self,
        context: BrowserContext,
        base_url: str,
        evidence: Evidence,
        harness: Harness | None = None,
    ) -> None:
        self.context = context
        self.base_url = base_url.rstrip("/")
        self.evidence = evidence
        self.harness = harness
        self._page: Page | None = None

    def count(self, to: str) -> int:
        """How many mails with a code reached ``to`` (the JSON mailbox; 0 without harness).

        Notices (a device bound, a lock) carry no code and may arrive just after the
        answer that caused them: they are not the verification mail waited for.
        """
        if self.harness is None:
            return 0
        return sum(1 for mail in self.harness.mailbox(to) if mail.get("code"))

    def wait_for_mail(self, to: str, more_than: int) -> None:
        """Wait until more than ``more_than`` mails reached ``to`` (a delivery, not a time step)."""
        if self.harness is None:
            return
        deadline = time.monotonic() + MAIL_WAIT_SECONDS
        while self.count(to) <= more_than:
            if time.monotonic() > deadline:
                raise WizardError(f"no new mail reached {to} within {MAIL_WAIT_SECONDS:.0f} s")
            time.sleep(_POLL_SECONDS)

    def latest(self, to: str) -> Mail:
        """Open the mailbox page and read the newest mail to ``to``."""
        if self._page is None or self._page.is_closed():
            self._page = self.context.new_page()
        page = self._page
        # A background tab renders at about one frame a second: a screenshot there waits.
        page.bring_to_front()
        response = page.goto(self.base_url + self.PATH)
        landing = Landing.read(page, self.evidence, response)
        if landing.heading != self.HEADING:
            raise WizardError(f"the mailbox page is not there: {landing.describe()}", landing)
        mails = page.get_by_role("article").filter(has_text=re.compile(re.escape(to), re.I))
        if mails.count() == 0:
            raise WizardError(f"the mailbox page shows no mail to {to}", landing)
        newest = mails.first
        self.evidence.screenshot(newest, f"Mail to {to}")
        return parse_mail(newest.inner_text(), to)

    def close(self) -> None:
        if self._page is not None and not self._page.is_closed():
            self._page.close()


_FIELD = re.compile(r"^\s*(To|Subject|From|Date|Received)\s*:?\s*(.*)$", re.I)
#: The seed's email code is six digits (docs/wizard.md, the v1 contract).
_CODE_LINE = re.compile(r"^\s*(\d{6})\s*$")
_CODE_ANYWHERE = re.compile(r"(?<![\d@.\w])(\d{6})(?![\d\w])")


def parse_mail(text: str, to: str) -> Mail:
    """A mail from the text of its ``article``: header lines (To, Subject, ...), then the body.

    A header reads ``To: value`` or, from a definition list, ``To`` and the value
    on the next line. The code is a line of six digits, else six digits standing alone.
    """
    fields: dict[str, str] = {}
    body_lines: list[str] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        match = _FIELD.match(lines[index])
        if match is None or match.group(1).lower() in fields:
            break
        value = match.group(2).strip()
        if not value and index + 1 < len(lines):
            # "To" and its value in separate cells (a definition list) read as two lines.
            index += 1
            value = lines[index].strip()
        fields[match.group(1).lower()] = value
        index += 1
    body_lines = lines[index:]
    body = "\n".join(body_lines).strip()
    code = next((m.group(1) for line in body_lines if (m := _CODE_LINE.match(line))), None)
    if code is None:
        anywhere = _CODE_ANYWHERE.search(body)
        code = anywhere.group(1) if anywhere else None
    return Mail(to=fields.get("to", to), subject=fields.get("subject", ""), body=body, code=code)
