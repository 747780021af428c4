"""Enrollment over JSON: a thin front end over ``flow.enrollment``."""

from __future__ import annotations

import base64
from functools import partial

from flask import Blueprint, Response, g, jsonify

from .. import flow
from ..accounts import bearer_token
from ..app import services
from ..inputs import json_body

bp = Blueprint("enrollment", __name__, url_prefix="/api/v1/enrollment")

#: Pixels per QR module of the API's PNG.
QR_SCALE = 5


@bp.post("/start")
def start() -> tuple[Response, int]:
    body = partial(json_body, optional=True)
    return jsonify(flow.start_enrollment(services(), bearer_token(), body)), 202


@bp.post("/email/resend")
def resend() -> tuple[Response, int]:
    body = partial(json_body, optional=True)
    return jsonify(flow.resend_email(services(), bearer_token(), body)), 202


@bp.post("/email/verify")
def verify_email() -> Response:
    flow.verify_email(services(), bearer_token(), json_body)
    return jsonify({"next": "connect_device"})


@bp.get("/device")
def device() -> Response:
    mobile = g.client.kind == "mobile"
    answer = flow.device_details(services(), bearer_token(), mobile=mobile, qr_scale=QR_SCALE)
    png = answer.pop("qr_png")
    if png is not None:
        answer["qr_png_base64"] = base64.b64encode(png).decode("ascii")
    response = jsonify(answer)
    if not services().policy.has("cacheable_provisioning"):  # a mutant forgets the headers
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    return response


@bp.post("/confirm")
def confirm() -> Response:
    return jsonify(flow.confirm(services(), bearer_token(), json_body))
