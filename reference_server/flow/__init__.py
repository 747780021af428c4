"""The domain operations of sign-in, enrollment, hosting and admin: one implementation.

The JSON API (``blueprints/``) and the web pages (``web.py``) are two front ends
over these functions. Each takes the ``Services``, the caller's token string
(the bearer token or the session cookie) and its input, does the work in one
transaction and returns a plain answer or raises ``ApiError``.

The flow never reads the request: the blueprints read it (``blueprints/requests.py``)
and pass plain values. A body comes as a ``Body``, a function returning the
body the blueprint parsed (or raising the error it found), opened only after the
token and the stage are checked: a wrong token or stage is reported before a
malformed body, as the API has always answered. Every decision a deliberate
fault may replace goes through ``svc.rules`` (``rules.py``).
"""

from __future__ import annotations

from .admin import (
    create_agent,
    create_group,
    get_settings,
    list_agents,
    list_groups,
    put_settings,
    unlock_agent,
    update_agent,
    update_group,
    valid_agent,
    valid_group,
)
from .base import Body, Sent, TokenAnswer, no_body
from .enrollment import (
    confirm,
    device_details,
    qr_png,
    resend_email,
    start_enrollment,
    verify_email,
)
from .session import (
    describe_agent,
    host_support_session,
    me,
    sign_in,
    sign_out,
    submit_code,
)

__all__ = [
    "Body",
    "Sent",
    "TokenAnswer",
    "confirm",
    "create_agent",
    "create_group",
    "describe_agent",
    "device_details",
    "get_settings",
    "host_support_session",
    "list_agents",
    "list_groups",
    "me",
    "no_body",
    "put_settings",
    "qr_png",
    "resend_email",
    "sign_in",
    "sign_out",
    "start_enrollment",
    "submit_code",
    "unlock_agent",
    "update_agent",
    "update_group",
    "valid_agent",
    "valid_group",
    "verify_email",
]
