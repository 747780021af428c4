"""The wizard's web pages (contract: docs/wizard.md) through the Flask test client.

Pages are read with the standard library's HTML parser: headings, landmarks,
controls by role and accessible name, alerts and status messages, as the
browser driver finds them. Codes come from ``simulators`` at the server's
injected clock time; the email code from the captured mailbox.
"""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
import zxingcpp
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from werkzeug.test import TestResponse

from reference_server.app import create_app
from reference_server.errors import ApiError
from reference_server.web.messages import human
from simulators.hotp import CodeGenerator, decode_base32
from simulators.otpauth import parse_uri

from .conftest import ADMIN, OTHER, PRODUCTION_KEY, RS, V5, Api

DESKTOP_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0 Safari/537.36"
)
IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
ANDROID_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0 Mobile Safari/537.36"
)
QR_ALT = "QR code for your authenticator app"
CSRF_TEXT = "This form has expired; reload the page and try again."

_VOID = frozenset({"input", "img", "meta", "br", "hr", "link"})
_INPUT_ROLES = {
    "text": "textbox",
    "email": "textbox",
    "password": "textbox",
    "number": "spinbutton",
    "checkbox": "checkbox",
}


@dataclass
class Control:
    role: str
    name: str
    attrs: dict[str, str]


@dataclass
class _Open:
    tag: str
    attrs: dict[str, str]
    text: list[str] = field(default_factory=list)


class Page(HTMLParser):
    """What a person (or the browser driver) finds on a page."""

    def __init__(self, response: TestResponse) -> None:
        super().__init__(convert_charrefs=True)
        self.response = response
        self.status = response.status_code
        self.html = response.get_data(as_text=True)
        self.h1: list[str] = []
        self.alerts: list[str] = []
        self.statuses: list[str] = []
        self.labels: dict[str, str] = {}
        self.by_label: dict[str, str] = {}
        self.by_testid: dict[str, str] = {}
        self.articles: list[str] = []
        self.captions: list[str] = []
        self.tags: list[tuple[str, dict[str, str]]] = []
        self._stack: list[_Open] = []
        self._buttons: list[tuple[dict[str, str], str]] = []
        self._links: list[tuple[dict[str, str], str]] = []
        self.feed(self.html)
        self.close()

    # -- parsing ---------------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.tags.append((tag, values))
        if tag not in _VOID:
            self._stack.append(_Open(tag, values))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        for element in self._stack:
            element.text.append(data)

    def handle_endtag(self, tag: str) -> None:
        while self._stack:
            element = self._stack.pop()
            text = " ".join("".join(element.text).split())
            self._closed(element, text)
            if element.tag == tag:
                return

    def _closed(self, element: _Open, text: str) -> None:
        attrs = element.attrs
        role = attrs.get("role")
        if element.tag == "h1":
            self.h1.append(text)
        if role == "alert":
            self.alerts.append(text)
        if role == "status":
            self.statuses.append(text)
        if element.tag == "label" and "for" in attrs:
            self.labels[attrs["for"]] = text
        if "aria-label" in attrs:
            self.by_label[attrs["aria-label"]] = text
        if "data-testid" in attrs:
            self.by_testid[attrs["data-testid"]] = text
        if element.tag == "article":
            self.articles.append(text)
        if element.tag == "caption":
            self.captions.append(text)
        if element.tag == "button":
            self._buttons.append((attrs, text))
        if element.tag == "a" and "href" in attrs:
            self._links.append((attrs, text))

    # -- reading ---------------------------------------------------------------------
    @property
    def heading(self) -> str:
        assert len(self.h1) == 1, f"one h1 per page, found {self.h1}"
        return self.h1[0]

    @property
    def alert(self) -> str:
        assert self.alerts, f"no alert on {self.h1}"
        return " ".join(self.alerts)

    def controls(self) -> list[Control]:
        found: list[Control] = []
        for tag, attrs in self.tags:
            if tag == "input" and attrs.get("type", "text") in _INPUT_ROLES:
                name = attrs.get("aria-label") or self.labels.get(attrs.get("id", ""), "")
                found.append(Control(_INPUT_ROLES[attrs.get("type", "text")], name, attrs))
            if tag == "img":
                found.append(Control("img", attrs.get("alt", ""), attrs))
        for attrs, text in self._buttons:
            found.append(Control("button", attrs.get("aria-label") or text, attrs))
        for attrs, text in self._links:
            found.append(Control("link", attrs.get("aria-label") or text, attrs))
        return found

    def control(self, role: str, name: str) -> Control:
        matches = [c for c in self.controls() if c.role == role and c.name == name]
        assert len(matches) == 1, f"{role} {name!r}: {len(matches)} on {self.heading!r}"
        return matches[0]

    def has(self, role: str, name: str) -> bool:
        return any(c.role == role and c.name == name for c in self.controls())

    def csrf(self) -> str:
        values = {
            a["value"] for t, a in self.tags if t == "input" and a.get("name") == "csrf_token"
        }
        assert len(values) == 1, values
        return values.pop()

    def check_layout(self) -> None:
        """Every page: a viewport meta, one h1, one main landmark, no traceback."""
        assert self.response.mimetype == "text/html"
        metas = [a for t, a in self.tags if t == "meta" and a.get("name") == "viewport"]
        assert metas == [{"name": "viewport", "content": "width=device-width"}]
        assert self.heading
        assert [t for t, _ in self.tags].count("main") == 1
        assert "Traceback" not in self.html


class Browser:
    """A browser over the Flask test client: cookies kept, CSRF read from the page shown."""

    def __init__(self, app: Flask, user_agent: str = DESKTOP_UA, **headers: str) -> None:
        self.client: FlaskClient = app.test_client()
        self.headers = {"User-Agent": user_agent, **headers}
        self.page: Page | None = None

    def open(self, path: str, **headers: str) -> Page:
        response = self.client.get(path, headers={**self.headers, **headers})
        self.page = Page(response)
        return self.page

    def post(
        self, path: str, data: dict[str, str] | None = None, *, csrf: str | None = None
    ) -> Any:
        """Submit a form of the page shown (its CSRF value unless ``csrf`` is given)."""
        assert self.page is not None
        form = {"csrf_token": self.page.csrf() if csrf is None else csrf, **(data or {})}
        return self.client.post(path, data=form, headers=self.headers)

    def submit(self, path: str, data: dict[str, str] | None = None) -> Page:
        """Submit, follow a redirect like a browser, and read the page it lands on."""
        response = self.post(path, data)
        if response.status_code in (302, 303):
            return self.open(location(response))
        self.page = Page(response)
        return self.page

    def cookie(self, name: str) -> str | None:
        found = self.client.get_cookie(name)
        return None if found is None else found.value

    @property
    def token(self) -> str:
        value = self.cookie("twofa_session")
        assert value is not None
        return value

    def sign_in(self, who: tuple[str, str]) -> Page:
        self.open("/sign-in")
        return self.submit("/sign-in", {"email": who[0], "password": who[1]})


def location(response: Any) -> str:
    """Where a redirect points: path and query, as the browser would follow it."""
    target = urlsplit(response.headers["Location"])
    return target.path + (f"?{target.query}" if target.query else "")


def decode_qr(src: str) -> str:
    prefix = "data:image/png;base64,"
    assert src.startswith(prefix)
    image = Image.open(io.BytesIO(base64.b64decode(src[len(prefix) :])))
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(found) == 1
    text: str = found[0].text
    return text


@pytest.fixture
def web(app: Flask, api: Api) -> Browser:
    return Browser(app)


def to_connect(web: Browser, api: Api, who: tuple[str, str]) -> Page:
    """From a fresh sign-in (stage enroll) to the connect page."""
    page = web.sign_in(who)
    assert page.heading == "Two-factor authentication is required"
    page = web.submit("/enroll")
    assert page.heading == "Verification email has been sent"
    page = web.submit("/enroll/email", {"code": api.mail_code(who[0])})
    assert page.heading == "Install an authenticator app"
    return web.open("/enroll/connect")


def generator_of(page: Page) -> CodeGenerator:
    return CodeGenerator(decode_base32(page.by_testid["manual-key"].replace(" ", "")))


def web_enroll(web: Browser, api: Api, who: tuple[str, str]) -> CodeGenerator:
    generator = generator_of(to_connect(web, api, who))
    web.open("/enroll/confirm")
    page = web.submit("/enroll/confirm", {"code": api.code(generator)})
    assert page.heading == "Two-factor authentication is set up"
    return generator


# -- the whole flow ----------------------------------------------------------------------


def test_desktop_flow_every_page_its_heading_and_controls(web: Browser, api: Api) -> None:

    assert location(web.client.get("/")) == "/sign-in"
    page = web.open("/sign-in")
    page.check_layout()
    assert page.heading == "Sign in"
    page.control("textbox", "Email")
    assert page.control("textbox", "Password").attrs["type"] == "password"
    page.control("button", "Sign in")

    response = web.post("/sign-in", {"email": V5[0], "password": V5[1]})
    assert response.status_code == 303
    assert location(response) == "/enroll"
    page = web.open("/enroll")
    page.check_layout()
    assert page.heading == "Two-factor authentication is required"
    assert "requires two-factor authentication" in page.html
    page.control("button", "Continue")

    page = web.submit("/enroll")
    page.check_layout()
    assert page.heading == "Verification email has been sent"
    assert "v***@example.com" in page.html
    page.control("textbox", "Verification code")
    page.control("button", "Continue")
    page.control("button", "Send the email again")

    page = web.submit("/enroll/email", {"code": api.mail_code(V5[0])})
    page.check_layout()
    assert page.heading == "Install an authenticator app"
    page.control("button", "Continue")

    page = web.open("/enroll/connect")
    page.check_layout()
    assert page.heading == "Connect to your mobile device"
    assert page.response.headers["Cache-Control"] == "no-store"
    img = page.control("img", QR_ALT).attrs
    uri = decode_qr(img["src"])
    # The QR holds exactly the provisioning URI the JSON API gives for the same token.
    assert uri == api.device(web.token).json["otpauth_uri"]
    key = page.by_label["Key"]
    assert page.by_testid["manual-key"] == key
    assert re.fullmatch(r"[A-Z2-7]{4}( [A-Z2-7]{1,4})+", key)
    assert decode_base32(key.replace(" ", "")) == parse_uri(uri).key()
    assert "Remote Support" in page.html
    assert V5[0] in page.html
    assert int(img["width"]) >= 4 * 21  # never shrunk: at least 4 px per module
    page.control("button", "Continue")

    page = web.open("/enroll/confirm")
    page.check_layout()
    assert page.heading == "Enter setup code"
    page.control("textbox", "Setup code")
    page.control("button", "Continue")
    generator = CodeGenerator(parse_uri(uri).key())
    partial_token = web.token
    code = api.code(generator)
    page = web.submit("/enroll/confirm", {"code": f"{code[:3]} {code[3:]}"})  # spaces are fine
    page.check_layout()
    assert page.heading == "Two-factor authentication is set up"
    assert page.control("link", "Continue").attrs["href"] == "/home"
    assert web.token != partial_token

    page = web.open("/home")
    page.check_layout()
    assert page.heading == "Remote Support"
    assert not page.has("link", "Admin settings")  # not an admin
    page.control("button", "Sign out")
    page = web.submit("/home/host")
    assert page.heading == "Remote Support"
    assert re.fullmatch(r"[0-9]{9}", page.by_testid["join-code"])
    assert page.by_testid["join-code"] in " ".join(page.statuses)

    page = web.submit("/sign-out")
    assert page.heading == "Sign in"
    assert "You have signed out." in page.statuses
    assert web.cookie("twofa_session") is None
    assert location(web.client.get("/home")) == "/sign-in"


def test_later_sign_in_asks_for_the_code_and_issues_a_new_cookie(web: Browser, api: Api) -> None:
    generator = web_enroll(web, api, V5)
    web.open("/home")
    web.submit("/sign-out")
    api.advance(30)  # the setup code's step is used
    page = web.sign_in(V5)
    page.check_layout()
    assert page.heading == "Enter your verification code"
    page.control("textbox", "Verification code")
    page.control("button", "Log in")
    page.control("button", "Set up a new mobile device")
    partial = web.token
    response = web.post("/verify", {"code": api.code(generator)})
    assert response.status_code == 303
    assert location(response) == "/home"
    assert web.token != partial
    assert api.get("/api/v1/me", partial).status_code == 401  # the partial token ended
    assert api.get("/api/v1/me", web.token).json["stage"] == "done"


# -- mobile -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_agent", "headers"),
    [(IPHONE_UA, {}), (ANDROID_UA, {}), (DESKTOP_UA, {"Sec-CH-UA-Mobile": "?1"})],
    ids=["iphone", "android", "sec-ch-ua-mobile"],
)
def test_mobile_browsers_get_the_key_only(
    app: Flask, api: Api, user_agent: str, headers: dict[str, str]
) -> None:
    web = Browser(app, user_agent, **headers)
    page = to_connect(web, api, V5)
    assert page.heading == "Connect to your mobile device"
    assert not page.has("img", QR_ALT)
    assert "data:image/png" not in page.html
    assert "type the key below into the authenticator app" in " ".join(page.html.split())
    key = page.by_label["Key"].replace(" ", "")
    assert decode_base32(key) == parse_uri(api.device(web.token).json["otpauth_uri"]).key()


def test_a_desktop_browser_saying_not_mobile_gets_the_qr(app: Flask, api: Api) -> None:
    web = Browser(app, DESKTOP_UA, **{"Sec-CH-UA-Mobile": "?0"})
    assert to_connect(web, api, V5).has("img", QR_ALT)


#: The seed's instructions for connecting the app ("the same instructional text displays
#: during the enrollment process for all apps").
SEED_CONNECT_TEXT = (
    "complete the steps to register your authenticator app on your mobile device by either:",
    "Scanning a bar code (the QR code)",
    "Manually entering the code displayed on the screen in the authenticator app.",
    "When finished, click Continue.",
)


def test_the_wizard_speaks_the_seeds_text_on_desktop_web_and_mobile(app: Flask, api: Api) -> None:
    """Step 5 names LastPass Authenticator, step 6's instructions are the same for every
    client, step 9 reads as the seed does."""
    seen = []
    for user_agent, who in ((DESKTOP_UA, V5), (IPHONE_UA, RS)):
        web = Browser(app, user_agent)
        page = web.sign_in(who)
        web.submit("/enroll")
        install = web.submit("/enroll/email", {"code": api.mail_code(who[0])})
        text = " ".join(install.html.split())
        assert "install an authenticator app (e.g., LastPass Authenticator)" in text
        connect = web.open("/enroll/connect")
        text = " ".join(connect.html.split())
        assert all(line in text for line in SEED_CONNECT_TEXT), (user_agent, text)
        seen.append(connect.has("img", QR_ALT))
        generator = generator_of(connect)
        web.open("/enroll/confirm")
        done = web.submit("/enroll/confirm", {"code": api.code(generator)})
        assert page.heading
        text = " ".join(done.html.split())
        assert (
            "Congratulations! You have completed the Two-Factor Authentication enrollment." in text
        )
        assert (
            "Click Continue to access the application, which will require you to enter a new "
            "code in order to log in and host support sessions." in text
        )
    assert seen == [True, False]  # the desktop gets the QR code, the phone the key only


# -- messages in the page ---------------------------------------------------------------


def test_resend_kills_the_old_code_with_a_visible_message(web: Browser, api: Api) -> None:
    web.sign_in(V5)
    web.submit("/enroll")
    old = api.mail_code(V5[0])
    page = web.submit("/enroll/email/resend")  # within the cooldown
    assert page.status == 429
    assert page.heading == "Verification email has been sent"
    assert "Wait 30 seconds" in page.alert
    api.advance(30)
    page = web.submit("/enroll/email/resend")
    assert page.status == 200
    assert "no longer works" in " ".join(page.statuses)
    new = api.mail_code(V5[0])
    assert new != old
    page = web.submit("/enroll/email", {"code": old})
    assert page.status == 401
    assert page.heading == "Verification email has been sent"
    assert "not correct" in page.alert
    page = web.submit("/enroll/email", {"code": new})
    assert page.heading == "Install an authenticator app"


def test_expired_email_code_says_to_send_again(web: Browser, api: Api) -> None:
    web.sign_in(V5)
    web.submit("/enroll")
    api.advance(601)
    page = web.submit("/enroll/email", {"code": api.mail_code(V5[0])})
    page.check_layout()
    assert page.status == 410
    assert page.heading == "Verification email has been sent"
    assert "expired" in page.alert
    assert "Send the email again" in page.alert


def test_wrong_or_malformed_setup_code_shows_a_message(web: Browser, api: Api) -> None:
    generator = generator_of(to_connect(web, api, V5))
    web.open("/enroll/confirm")
    page = web.submit("/enroll/confirm", {"code": api.wrong(generator)})
    page.check_layout()
    assert page.status == 401
    assert page.heading == "Enter setup code"
    assert "not correct" in page.alert
    page = web.submit("/enroll/confirm", {"code": "12ab56"})
    assert page.status == 400
    assert "digits only" in page.alert
    page = web.submit("/enroll/confirm", {"code": api.code(generator)})
    assert page.heading == "Two-factor authentication is set up"


def test_locked_second_factor_shows_how_long(web: Browser, api: Api) -> None:
    generator = api.enroll(V5).generator
    page = web.sign_in(V5)
    assert page.heading == "Enter your verification code"
    for _ in range(5):
        page = web.submit("/verify", {"code": api.wrong(generator)})
        assert page.status == 401
        assert "not correct" in page.alert
    page = web.submit("/verify", {"code": api.code(generator)})  # right, but locked
    page.check_layout()
    assert page.status == 423
    assert page.heading == "Enter your verification code"
    assert "locked" in page.alert
    assert "Try again in 5 minutes" in page.alert
    assert page.response.headers["Retry-After"] == "300"
    page = web.submit("/verify/new-device")  # closed while locked
    assert page.status == 423
    page = web.sign_in(V5)
    page.check_layout()
    assert page.status == 423
    assert page.heading == "Sign in"
    assert "Try again in 5 minutes" in page.alert
    assert web.page is not None
    assert web.page.control("textbox", "Email").attrs["value"] == V5[0]


def test_wrong_password_keeps_the_form(web: Browser, api: Api) -> None:
    page = web.sign_in((V5[0], "not-the-password"))
    page.check_layout()
    assert page.status == 401
    assert page.heading == "Sign in"
    assert "not correct" in page.alert
    assert web.cookie("twofa_session") is None


@pytest.mark.parametrize(
    ("email", "password"),
    [("v5@example.com\x00", "x"), ("a" * 300 + "@example.com", "x"), (V5[0], "p" * 2000)],
    ids=["nul", "long-email", "long-password"],
)
def test_bad_sign_in_input_is_a_400_message(web: Browser, email: str, password: str) -> None:
    page = web.sign_in((email, password))
    page.check_layout()
    assert page.status == 400
    assert page.heading == "Sign in"
    assert page.alert
    assert web.cookie("twofa_session") is None


ARABIC_INDIC_123456 = "\u0661\u0662\u0663\u0664\u0665\u0666"


@pytest.mark.parametrize(
    "code", ["", "12345", "1234567", ARABIC_INDIC_123456, "12\x0034", "x" * 5000]
)
def test_odd_codes_are_a_400_message(web: Browser, api: Api, code: str) -> None:
    api.enroll(V5)
    web.sign_in(V5)
    page = web.submit("/verify", {"code": code})
    page.check_layout()
    assert page.status == 400
    assert page.heading == "Enter your verification code"
    assert "digits only" in page.alert


def test_lock_messages_name_the_way_out() -> None:
    admin = human(ApiError("otp_locked", unlock="admin"))
    assert "admin" in admin
    wait = human(ApiError("account_locked", retry_after=45, unlock="wait"))
    assert "Try again in 45 seconds" in wait
    password = human(ApiError("account_locked", retry_after=300))
    assert "wrong passwords" in password


# -- re-enrollment and admin ------------------------------------------------------------


def test_set_up_a_new_mobile_device_retires_the_old_one(web: Browser, api: Api) -> None:
    old = api.enroll(V5).generator
    page = web.sign_in(V5)
    page = web.submit("/verify/new-device")
    assert page.heading == "Verification email has been sent"
    page = web.submit("/enroll/email", {"code": api.mail_code(V5[0])})
    new = generator_of(web.open("/enroll/connect"))
    web.open("/enroll/confirm")
    page = web.submit("/enroll/confirm", {"code": api.code(new)})
    assert page.heading == "Two-factor authentication is set up"
    api.advance(30)
    partial = api.token(V5, expect="verify_otp")
    assert api.otp(partial, api.code(old)).status_code == 401
    assert api.otp(partial, api.code(new)).status_code == 200


ADMIN_SEED: dict[str, Any] = {
    "agents": [
        {"email": ADMIN[0], "password": ADMIN[1], "seat": "account_admin", "role": "admin"},
        {"email": RS[0], "password": RS[1], "seat": "remote_support", "role": "agent"},
        {"email": OTHER[0], "password": OTHER[1], "seat": "rescue_lens", "role": "agent"},
    ],
    "device_groups": [
        {"name": "Desk", "version": "4.3", "build": 1575},
        {"name": "Kiosks", "version": "4.3", "build": 1574},
    ],
    "two_factor_required": False,
}


def test_admin_refuses_2fa_naming_the_outdated_group_then_accepts(
    app: Flask, web: Browser, api: Api
) -> None:
    api.reset(ADMIN_SEED)
    page = web.sign_in(ADMIN)
    assert page.heading == "Remote Support"
    page = web.open(page.control("link", "Admin settings").attrs["href"])
    page.check_layout()
    assert page.heading == "Admin settings"
    assert "checked" not in page.control("checkbox", "Require two-factor authentication").attrs
    page.control("button", "Save settings")
    assert page.captions == ["Device groups"]
    for name in ("Desk", "Kiosks"):
        page.control("textbox", f"Version for {name}")
        page.control("spinbutton", f"Build for {name}")
        page.control("button", f"Save {name}")

    page = web.submit("/admin/settings", {"two_factor_required": "on"})
    assert page.status == 409
    assert "Kiosks: version 4.3 build 1574" in page.alert
    assert "Desk" not in page.alert
    assert "checked" not in page.control("checkbox", "Require two-factor authentication").attrs
    assert api.get("/api/v1/admin/settings", api.admin()).json["two_factor_required"] is False

    form = page.control("button", "Save Kiosks")
    assert form.attrs["aria-label"] == "Save Kiosks"
    page = web.submit("/admin/device-groups/2", {"version": "4.3", "build": "abc"})
    assert page.status == 400
    assert "whole number" in page.alert
    page = web.submit("/admin/device-groups/2", {"version": "4.3", "build": "1575"})
    assert page.status == 200
    assert "Saved Kiosks" in " ".join(page.statuses)
    assert page.control("spinbutton", "Build for Kiosks").attrs["value"] == "1575"
    page = web.submit("/admin/settings", {"two_factor_required": "on"})
    assert page.status == 200
    assert "checked" in page.control("checkbox", "Require two-factor authentication").attrs
    page = web.submit("/admin/device-groups/2", {"version": "4.3", "build": "1574"})
    assert page.status == 409  # no group may fall below the minimum while 2FA is on

    remote_support = Browser(app)
    assert remote_support.sign_in(RS).heading == "Two-factor authentication is required"
    rescue_lens = Browser(app)
    assert rescue_lens.sign_in(OTHER).heading == "Remote Support"


def test_admin_page_is_for_admins(web: Browser, api: Api) -> None:
    api.reset(ADMIN_SEED)
    page = web.sign_in(OTHER)
    assert page.heading == "Remote Support"
    page = web.open("/admin")
    page.check_layout()
    assert page.status == 403
    assert "Only an admin" in page.alert


# -- stage, session, CSRF, cookies ------------------------------------------------------


def test_wrong_stage_navigation_redirects_to_the_stage_page(web: Browser, api: Api) -> None:
    for path in ("/home", "/enroll", "/enroll/confirm", "/verify", "/admin"):
        assert location(web.client.get(path)) == "/sign-in"
    web.sign_in(V5)
    assert location(web.client.get("/enroll/confirm")) == "/enroll"
    assert location(web.client.get("/home")) == "/enroll"
    assert location(web.client.get("/")) == "/enroll"
    web.open("/enroll")
    web.submit("/enroll")
    for path in ("/enroll", "/enroll/install", "/enroll/connect", "/enroll/confirm", "/verify"):
        assert location(web.client.get(path)) == "/enroll/email"
    response = web.post("/enroll/confirm", {"code": "123456"})
    assert location(response) == "/enroll/email"


def test_signing_in_again_ends_the_earlier_session(web: Browser, api: Api) -> None:
    web.sign_in(V5)
    first = web.token
    page = web.sign_in(OTHER)
    assert page.heading == "Remote Support"
    assert web.token != first
    assert api.get("/api/v1/me", first).status_code == 401


def test_an_ended_session_goes_back_to_sign_in(web: Browser, api: Api) -> None:
    web.sign_in(V5)
    api.post("/api/v1/auth/sign-out", web.token)
    response = web.client.get("/enroll")
    assert location(response) == "/sign-in?session=ended"
    assert "twofa_session=;" in response.headers["Set-Cookie"]
    page = web.open("/sign-in?session=ended")
    assert "Your session has ended; sign in again." in page.statuses


def test_csrf_missing_or_wrong_is_a_400_page_and_changes_nothing(
    app: Flask, web: Browser, api: Api
) -> None:
    web.sign_in(V5)
    mails = len(api.get(f"/__harness__/mailbox?to={V5[0]}").json)
    other = Browser(app)
    other.sign_in(RS)
    foreign = other.page.csrf() if other.page else ""
    for csrf in ("", "0" * 64, foreign):
        response = web.post("/enroll", csrf=csrf)
        page = Page(response)
        page.check_layout()
        assert page.status == 400
        assert CSRF_TEXT in page.alert
        assert "csrf_failed" in page.html
    response = web.client.post("/enroll", headers=web.headers)  # no field at all
    assert response.status_code == 400
    assert len(api.get(f"/__harness__/mailbox?to={V5[0]}").json) == mails
    assert api.get("/api/v1/me", web.token).json["stage"] == "enroll"


def test_sign_in_needs_the_presession_cookie(app: Flask, api: Api) -> None:
    web = Browser(app)
    page = web.open("/sign-in")
    csrf = page.csrf()
    fresh = Browser(app)  # the same form value from a browser without the cookie
    response = fresh.client.post(
        "/sign-in", data={"csrf_token": csrf, "email": V5[0], "password": V5[1]}
    )
    assert response.status_code == 400
    assert CSRF_TEXT in Page(response).alert
    assert fresh.cookie("twofa_session") is None
    assert web.post("/sign-in", {"email": V5[0], "password": V5[1]}).status_code == 303


def _set_cookie(response: Any, name: str) -> str:
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "=")]
    assert len(headers) == 1, headers
    header: str = headers[0]
    return header


def test_cookie_flags(app: Flask, api: Api) -> None:
    web = Browser(app)
    presession = _set_cookie(web.client.get("/sign-in"), "twofa_csrf")
    assert "HttpOnly" in presession
    assert "SameSite=Strict" in presession
    web.open("/sign-in")
    response = web.post("/sign-in", {"email": V5[0], "password": V5[1]})
    session = _set_cookie(response, "twofa_session")
    assert "HttpOnly" in session
    assert "SameSite=Lax" in session
    assert "Path=/" in session
    assert "Secure" not in session  # plain http: a Secure cookie would never come back

    secure = app.test_client()
    response = secure.get("/sign-in", base_url="https://localhost")
    assert "Secure" in _set_cookie(response, "twofa_csrf")


def test_pages_are_not_cached_and_not_framed(web: Browser, api: Api) -> None:
    page = web.open("/sign-in")
    headers = page.response.headers
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


# -- errors and the mailbox -------------------------------------------------------------


def test_flask_errors_on_web_paths_are_html(web: Browser, api: Api) -> None:
    page = web.open("/no-such-page")
    page.check_layout()
    assert page.status == 404
    assert page.heading == "Page not found"
    assert "not_found" in page.html
    response = web.client.put("/sign-in")
    assert response.status_code == 405
    assert response.mimetype == "text/html"
    assert "POST" in response.headers["Allow"]
    web.open("/sign-in")
    response = web.post("/sign-in", {"email": "x" * (65 * 1024)})
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    api_response = web.client.get("/api/v1/no-such-call")
    assert api_response.status_code == 404
    assert api_response.mimetype == "application/json"


def test_a_server_failure_on_a_web_path_is_an_html_page(app_config: dict[str, Any]) -> None:
    def boom() -> str:
        raise RuntimeError("kaboom")

    fresh = create_app(app_config)
    fresh.add_url_rule("/boom", view_func=boom)
    page = Page(fresh.test_client().get("/boom"))
    page.check_layout()
    assert page.status == 500
    assert "kaboom" not in page.html
    assert "internal_error" in page.html
    fresh.extensions["twofa"].engine.dispose()


def test_mailbox_page_lists_mail_newest_first(web: Browser, api: Api) -> None:
    web.sign_in(V5)
    web.submit("/enroll")
    api.advance(30)
    web.submit("/enroll/email/resend")
    page = web.open("/mailbox")
    page.check_layout()
    assert page.heading == "Mailbox"
    codes = [m["code"] for m in api.get(f"/__harness__/mailbox?to={V5[0]}").json]
    assert len(page.articles) == 2
    assert codes[1] in page.articles[0]  # newest first
    assert codes[0] in page.articles[1]
    for article in page.articles:
        assert V5[0] in article
        assert "Email Verification" in article


def test_mailbox_page_only_in_harness_mode_and_from_loopback(
    app: Flask, app_config: dict[str, Any], api: Api
) -> None:
    remote = app.test_client()
    remote.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    response = remote.get("/mailbox")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    production = create_app({**app_config, "HARNESS": False, "TWOFA_SECRET_KEY": PRODUCTION_KEY})
    response = production.test_client().get("/mailbox")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    production.extensions["twofa"].engine.dispose()


@pytest.mark.parametrize(
    ("totp", "shown"),
    [
        ({}, None),
        ({"algorithm": "SHA512", "digits": 8, "period": 60}, ("SHA512", "8", "60 seconds")),
        ({"period": 45}, ("SHA1", "6", "45 seconds")),
    ],
)
def test_the_connect_page_shows_the_settings_to_type_beside_a_non_default_key(
    app_config: dict[str, Any], clock: Any, totp: dict[str, Any], shown: tuple[str, ...] | None
) -> None:
    """An app given a typed key alone computes SHA1, 6-digit, 30 s codes: other settings
    are shown beside the key (the Key Uri Format's defaults are not)."""
    app = create_app({**app_config, "POLICY": {"totp": totp}} if totp else app_config)
    api = Api(app.test_client(), app, clock)
    api.reset()
    page = to_connect(Browser(app, IPHONE_UA), api, V5)
    found = tuple(
        m.group(1)
        for name in ("Algorithm", "Digits", "Period")
        if (m := re.search(rf'<dd aria-label="{name}">([^<]*)</dd>', page.html))
    )
    assert found == (shown or ())
    advice = "also choose these settings in the app"
    assert (advice in " ".join(page.html.split())) is (shown is not None)
    app.extensions["twofa"].engine.dispose()
