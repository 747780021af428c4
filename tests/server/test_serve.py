"""``python -m reference_server serve``: arguments, start-up time, restart on the same database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from reference_server.__main__ import main
from simulators.hotp import CodeGenerator, decode_base32

from .conftest import T0
from .servers import start


@pytest.mark.parametrize(
    "argv",
    [
        ["serve", "--harness", "--host", "0.0.0.0"],  # noqa: S104
        ["serve", "--harness", "--host", "192.168.1.10"],
        ["serve", "--port", "abc"],
        ["serve", "--port", "70000"],
        ["serve", "--bogus"],
        ["serve", "--password-cost", "test"],  # a cheap hash outside harness mode
        ["serve", "--harness", "--password-cost", "md5"],
        ["frobnicate"],
        [],
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("reference_server: error:")


def test_bad_arguments_as_a_process() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "reference_server", "serve", "--harness", "--host", "0.0.0.0"],  # noqa: S104
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "loopback" in result.stderr


@contextmanager
def running(tmp_path: Path) -> Iterator[tuple[str, list[str], float]]:
    """``serve --harness`` as a process (``servers.start``): its URL, its lines, its start time."""
    env = {
        **os.environ,
        "TZ": "UTC",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        "TWOFA_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    env.pop("SMTP_HOST", None)
    started = time.monotonic()
    server = start(["--harness"], env, tmp_path)
    try:
        yield server.url, server.lines, time.monotonic() - started
    finally:
        server.stop()


def call(
    url: str, method: str, path: str, body: Any = None, token: str | None = None
) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.slow
def test_harness_starts_and_a_restart_mid_enrollment_loses_nothing(tmp_path: Path) -> None:
    # Start-up time is a figure for `make bench`, not an assertion that can flake.
    agent = {"email": "v5.agent@example.com", "password": "v5-demo-password"}
    with running(tmp_path) as (url, lines, _elapsed):
        assert url.startswith("http://127.0.0.1:")
        assert not url.endswith(":0")
        text = "\n".join(lines)
        assert "smtp: 127.0.0.1:" in text
        assert "admin@example.com" in text
        assert "admin-demo-password" in text
        assert "loaded into the empty database" in text
        status, policy = call(url, "GET", "/__harness__/policy")
        assert status == 200
        assert policy["replay"] == "monotonic_step"
        admin = call(
            url,
            "POST",
            "/api/v1/auth/sign-in",
            {"email": "admin@example.com", "password": "admin-demo-password"},
        )[1]["token"]
        groups = call(url, "GET", "/api/v1/admin/device-groups", token=admin)[1]
        for group in groups:
            if (group["version"], group["build"]) < ("4.3", 1575):
                call(
                    url,
                    "PATCH",
                    f"/api/v1/admin/device-groups/{group['id']}",
                    {"build": 1575},
                    admin,
                )
        assert (
            call(url, "PUT", "/api/v1/admin/settings", {"two_factor_required": True}, admin)[0]
            == 200
        )
        status, signed = call(url, "POST", "/api/v1/auth/sign-in", agent)
        assert status == 200
        assert signed["next"] == "enroll"
        token = signed["token"]
        assert call(url, "POST", "/api/v1/enrollment/start", token=token)[0] == 202
        mail = call(url, "GET", "/__harness__/mailbox?to=v5.agent@example.com")[1][-1]
        assert (
            call(url, "POST", "/api/v1/enrollment/email/verify", {"code": mail["code"]}, token)[0]
            == 200
        )
        key = call(url, "GET", "/api/v1/enrollment/device", token=token)[1]["manual_key"]

    with running(tmp_path) as (url, lines, _elapsed):
        assert "database already had data" in "\n".join(lines)
        # the token, the stage, the pending secret and the captured mail all survived
        status, me = call(url, "GET", "/api/v1/me", token=token)
        assert status == 200
        assert me["stage"] == "connect_device"
        assert call(url, "GET", "/api/v1/enrollment/device", token=token)[1]["manual_key"] == key
        assert len(call(url, "GET", "/__harness__/mailbox")[1]) == 1
        call(url, "PUT", "/__harness__/clock", {"now": T0})
        generator = CodeGenerator(decode_base32(key.replace(" ", "")))
        status, confirmed = call(
            url, "POST", "/api/v1/enrollment/confirm", {"code": generator.code_at(T0)}, token
        )
        assert status == 200
        assert confirmed["next"] == "done"
        assert call(url, "POST", "/api/v1/support-sessions", {}, confirmed["token"])[0] == 201
