"""The enrollment wizard as server-rendered pages (the contract is docs/wizard.md).

Every page is a thin front end over ``flow``: it reads the form, calls the same
function the JSON API calls, and renders the answer. An ``ApiError`` of the
flow shows the submitted page again with the message in ``role="alert"`` and
the API's status; a page opened at the wrong stage redirects to the page the
session's stage needs.
"""

from __future__ import annotations

import base64
import contextlib
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from flask import Blueprint, Response, abort, make_response, redirect, render_template, request
from flask import url_for as flask_url_for
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from .. import flow
from ..accounts import mask_email
from ..errors import ApiError
from ..inputs import fields
from ..models import CapturedMail
from ..outbox import deliver_after_response, delivers_notices
from ..services import services
from ..versions import VersionError, parse_group_version
from .messages import TITLES, human
from .session import (
    clear_session,
    csrf_for_presession,
    csrf_for_session,
    csrf_ok,
    is_mobile,
    presession_value,
    session_token,
    set_presession,
    set_session,
)

bp = Blueprint("web", __name__)
bp.after_request(deliver_after_response)

#: The page each stage of the token belongs on.
STAGE_PAGES: Final[dict[str, str]] = {
    "enroll": "web.enroll",
    "verify_email": "web.enroll_email",
    "connect_device": "web.enroll_install",
    "verify_otp": "web.verify",
    "done": "web.home",
}

#: Pixels per QR module: comfortably above the ~2 device pixels where decoding fails.
QR_SCALE: Final = 6

CSRF_MESSAGE: Final = "This form has expired; reload the page and try again."

_CSP: Final = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


class Redirect(Exception):
    """Leave this page for another (a wrong stage, an ended session)."""

    def __init__(self, endpoint: str, *, ended: bool = False, **args: str) -> None:
        super().__init__(endpoint)
        self.endpoint = endpoint
        self.ended = ended
        self.args_ = args


class PageError(Exception):
    """An error of the pages themselves (not of the flow), e.g. a bad CSRF value."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Visitor:
    """The signed-in browser: its token and what ``/me`` says about it."""

    token: str
    who: dict[str, Any]

    @property
    def stage(self) -> str:
        stage: str = self.who["stage"]
        return stage


def url_for(endpoint: str, **values: Any) -> str:
    return flask_url_for(endpoint, **values)


def _harden(response: BaseResponse) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = _CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    assert isinstance(response, Response)
    return response


def _page(template: str, status: int = 200, **context: Any) -> Response:
    response = make_response(render_template(template, **context), status)
    response.mimetype = "text/html"
    return _harden(response)


def _go(endpoint: str, **values: Any) -> Response:
    return _harden(redirect(url_for(endpoint, **values), 303))


def error_page(error: ApiError) -> Response:
    """An error outside the flow's pages (404, 405, 413, 500, forbidden) as HTML."""
    response = _error_response(error.status, error.code, human(error))
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def _error_response(status: int, code: str, message: str) -> Response:
    return _page(
        "error.html",
        status,
        title=TITLES.get(status, "Something went wrong"),
        error=message,
        code=code,
        http_status=status,
    )


@bp.errorhandler(Redirect)
def _redirect(leave: Redirect) -> Response:
    response = _go(leave.endpoint, **leave.args_)
    if leave.ended:
        clear_session(response)
    return response


@bp.errorhandler(PageError)
def _page_error(error: PageError) -> Response:
    return _error_response(error.status, error.code, error.message)


@bp.before_request
def _check_csrf() -> None:
    """Every POST carries the CSRF value of this browser's (pre-)session."""
    if request.method == "POST" and not csrf_ok(presession=request.endpoint == "web.sign_in_post"):
        raise PageError(400, "csrf_failed", CSRF_MESSAGE)


def visitor(*stages: str) -> Visitor:
    """The signed-in browser at one of ``stages`` (any when empty); else a redirect."""
    token = session_token()
    if token is None:
        raise Redirect("web.sign_in")
    try:
        who = flow.me(services(), token)
    except ApiError as error:
        if error.code == "unauthenticated":
            raise Redirect("web.sign_in", ended=True, session="ended") from None
        raise
    if stages and who["stage"] not in stages:
        raise Redirect(STAGE_PAGES[who["stage"]])
    return Visitor(token, who)


def _shown(error: ApiError, render: Callable[..., Response]) -> Response:
    """A flow error on the page that was submitted (ended sessions and wrong stages move on)."""
    if error.code == "unauthenticated":
        raise Redirect("web.sign_in", ended=True, session="ended")
    if error.code == "wrong_stage":
        raise Redirect("web.index")
    response = render(status=error.status, error=human(error))
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def _code() -> str:
    """The typed code without spaces; the flow's strict check does the rest."""
    return "".join(request.form.get("code", "").split())


def _code_body() -> flow.Body:
    code = _code()
    return lambda: {"code": code}


# -- sign-in -------------------------------------------------------------------------


@bp.get("/")
def index() -> Response:
    if session_token() is None:
        return _go("web.sign_in")
    return _go(STAGE_PAGES[visitor().stage])


def _sign_in_page(status: int = 200, **context: Any) -> Response:
    value, new = presession_value()
    notice = {
        "ended": "Your session has ended; sign in again.",
        "out": "You have signed out.",
    }.get(request.args.get("session", ""))
    context.setdefault("email", "")
    response = _page(
        "sign_in.html", status, csrf_token=csrf_for_presession(value), notice=notice, **context
    )
    if new:
        set_presession(response, value)
    return response


@bp.get("/sign-in")
def sign_in() -> Response:
    return _sign_in_page()


@bp.post("/sign-in")
@delivers_notices
def sign_in_post() -> Response:
    email = request.form.get("email", "")
    try:
        form = fields(
            {"email": email, "password": request.form.get("password", "")},
            {"email": str, "password": str},
        )
        answer = flow.sign_in(services(), form["email"], form["password"])
    except ApiError as error:
        shown_email = email if len(email) <= 254 and "\x00" not in email else ""
        return _shown(error, lambda **kw: _sign_in_page(email=shown_email, **kw))
    previous = session_token()
    if previous is not None:  # signing in again ends the browser's earlier session
        with contextlib.suppress(ApiError):
            flow.sign_out(services(), previous, flow.no_body)
    response = _go(STAGE_PAGES[answer["next"]])
    set_session(response, answer["token"])
    return response


@bp.post("/sign-out")
def sign_out() -> Response:
    token = session_token()
    if token is not None:
        with contextlib.suppress(ApiError):  # already ended: nothing changes
            flow.sign_out(services(), token, flow.no_body)
    response = _go("web.sign_in", session="out")
    clear_session(response)
    return response


# -- enrollment ----------------------------------------------------------------------


@bp.get("/enroll")
def enroll() -> Response:
    you = visitor("enroll")
    return _page("enroll.html", csrf_token=csrf_for_session(you.token))


@bp.post("/enroll")
def enroll_post() -> Response:
    you = visitor()
    try:
        flow.start_enrollment(services(), you.token, flow.no_body)
    except ApiError as error:
        return _shown(
            error,
            lambda **kw: _page("enroll.html", csrf_token=csrf_for_session(you.token), **kw),
        )
    return _go("web.enroll_email")


def _email_page(you: Visitor, status: int = 200, **context: Any) -> Response:
    return _page(
        "enroll_email.html",
        status,
        csrf_token=csrf_for_session(you.token),
        sent_to=mask_email(you.who["email"]),
        ttl_minutes=max(1, services().policy.email_code_ttl_seconds // 60),
        **context,
    )


@bp.get("/enroll/email")
def enroll_email() -> Response:
    return _email_page(visitor("verify_email"))


@bp.post("/enroll/email")
@delivers_notices
def enroll_email_post() -> Response:
    you = visitor("verify_email")
    try:
        flow.verify_email(services(), you.token, _code_body())
    except ApiError as error:
        return _shown(error, lambda **kw: _email_page(you, **kw))
    return _go("web.enroll_install")


@bp.post("/enroll/email/resend")
def enroll_email_resend() -> Response:
    you = visitor("verify_email")
    try:
        sent = flow.resend_email(services(), you.token, flow.no_body)
    except ApiError as error:
        return _shown(error, lambda **kw: _email_page(you, **kw))
    notice = (
        f"A new verification email has been sent to {sent['sent_to']}. "
        "The code in the earlier email no longer works."
    )
    return _email_page(you, notice=notice)


@bp.get("/enroll/install")
def enroll_install() -> Response:
    visitor("connect_device")
    return _page("enroll_install.html")


@bp.get("/enroll/connect")
def enroll_connect() -> Response:
    you = visitor("connect_device")
    details = flow.device_details(services(), you.token, mobile=is_mobile(), qr_scale=QR_SCALE)
    png: bytes | None = details.pop("qr_png")
    qr = None
    if png is not None:
        qr = {
            "src": "data:image/png;base64," + base64.b64encode(png).decode("ascii"),
            # PNG IHDR: the width sits at bytes 16-19; the img keeps exactly that size.
            "size": int.from_bytes(png[16:20], "big"),
        }
    response = _page("enroll_connect.html", device=details, qr=qr)
    response.headers["Pragma"] = "no-cache"
    return response


def _confirm_page(you: Visitor, status: int = 200, **context: Any) -> Response:
    return _page(
        "enroll_confirm.html",
        status,
        csrf_token=csrf_for_session(you.token),
        digits=services().policy.totp_digits,
        **context,
    )


@bp.get("/enroll/confirm")
def enroll_confirm() -> Response:
    return _confirm_page(visitor("connect_device"))


@bp.post("/enroll/confirm")
@delivers_notices
def enroll_confirm_post() -> Response:
    you = visitor("connect_device")
    try:
        answer = flow.confirm(services(), you.token, _code_body())
    except ApiError as error:
        return _shown(error, lambda **kw: _confirm_page(you, **kw))
    response = _go("web.enroll_done")
    set_session(response, answer["token"])
    return response


@bp.get("/enroll/done")
def enroll_done() -> Response:
    visitor("done")
    return _page("enroll_done.html")


# -- later sign-ins ------------------------------------------------------------------


def _verify_page(you: Visitor, status: int = 200, **context: Any) -> Response:
    return _page("verify.html", status, csrf_token=csrf_for_session(you.token), **context)


@bp.get("/verify")
def verify() -> Response:
    return _verify_page(visitor("verify_otp"))


@bp.post("/verify")
def verify_post() -> Response:
    you = visitor("verify_otp")
    try:
        answer = flow.submit_code(services(), you.token, _code_body())
    except ApiError as error:
        return _shown(error, lambda **kw: _verify_page(you, **kw))
    response = _go("web.home")
    set_session(response, answer["token"])
    return response


@bp.post("/verify/new-device")
def verify_new_device() -> Response:
    you = visitor("verify_otp")
    try:
        flow.start_enrollment(services(), you.token, flow.no_body)
    except ApiError as error:
        return _shown(error, lambda **kw: _verify_page(you, **kw))
    return _go("web.enroll_email")


# -- home ----------------------------------------------------------------------------


def _home_page(you: Visitor, status: int = 200, **context: Any) -> Response:
    return _page(
        "home.html", status, csrf_token=csrf_for_session(you.token), who=you.who, **context
    )


@bp.get("/home")
def home() -> Response:
    return _home_page(visitor("done"))


@bp.post("/home/host")
def host() -> Response:
    you = visitor("done")
    try:
        session = flow.host_support_session(services(), you.token, flow.no_body)
    except ApiError as error:
        return _shown(error, lambda **kw: _home_page(you, **kw))
    return _home_page(you, session=session)


# -- admin ---------------------------------------------------------------------------


def _admin_page(you: Visitor, status: int = 200, **context: Any) -> Response:
    svc = services()
    settings = flow.get_settings(svc, you.token)
    groups = flow.list_groups(svc, you.token)
    for group in groups:
        try:
            version = parse_group_version(group["version"], group["build"])
            group["outdated"] = version < svc.policy.minimum_client
        except VersionError:  # pragma: no cover - stored groups are always valid
            group["outdated"] = True
    return _page(
        "admin.html",
        status,
        csrf_token=csrf_for_session(you.token),
        settings=settings,
        groups=groups,
        **context,
    )


@bp.get("/admin")
def admin() -> Response:
    return _admin_page(visitor("done"))


def _refusal_items(error: ApiError) -> list[str]:
    return [
        f"{group['name']}: version {group['version']} build {group['build']}"
        for group in error.extra.get("groups", [])
    ]


@bp.post("/admin/settings")
def admin_settings() -> Response:
    you = visitor("done")
    wanted = request.form.get("two_factor_required") == "on"
    try:
        flow.put_settings(services(), you.token, lambda: {"two_factor_required": wanted})
    except ApiError as error:
        if error.code != "device_groups_outdated":
            return _shown(error, lambda **kw: _admin_page(you, **kw))
        minimum = error.extra["minimum"]
        message = (
            "Two-factor authentication cannot be required yet: these device groups are "
            f"below the minimum, version {minimum['version']} build {minimum['build']}. "
            "Update them first."
        )
        return _admin_page(you, error.status, error=message, error_items=_refusal_items(error))
    state = "now required" if wanted else "no longer required"
    return _admin_page(you, notice=f"Settings saved: two-factor authentication is {state}.")


def _build(text: str) -> int:
    """A build typed into the page: ASCII digits only (the flow checks the range)."""
    text = text.strip()
    if not text or len(text) > 9 or not set(text) <= set("0123456789"):
        raise ApiError("malformed_version", "The build must be a whole number, like 1575.")
    return int(text)


@bp.post("/admin/device-groups/<int:group_id>")
def admin_group(group_id: int) -> Response:
    you = visitor("done")
    try:
        changes = {
            "version": request.form.get("version", "").strip(),
            "build": _build(request.form.get("build", "")),
        }
        group = flow.update_group(services(), you.token, group_id, lambda: changes)
    except ApiError as error:
        return _shown(error, lambda **kw: _admin_page(you, **kw))
    notice = f"Saved {group['name']}: version {group['version']} build {group['build']}."
    return _admin_page(you, notice=notice)


# -- harness mailbox -----------------------------------------------------------------


def _from_loopback() -> bool:
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


@bp.get("/mailbox")
def mailbox() -> Response:
    svc = services()
    if not svc.harness or not _from_loopback():
        abort(404)
    with svc.sessions.begin() as db:
        rows = db.scalars(select(CapturedMail).order_by(CapturedMail.id.desc()))
        mails = [
            {
                "to": m.to,
                "subject": m.subject,
                "body": m.body,
                "received": datetime.fromtimestamp(m.received_at, UTC).strftime(
                    "%Y-%m-%d %H:%M:%S UTC"
                ),
            }
            for m in rows
        ]
    return _page("mailbox.html", mails=mails)
