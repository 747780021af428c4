"""The wizard plan's own behaviour: no pages, no browser, evidence in the run folder."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conformance.browser.launch import ENV_VAR
from conformance.browser.service import BrowserThread
from conformance.runner import run_checks, select_checks
from conformance.target import EmbeddedTarget, Target
from records import Outcome

pytestmark = pytest.mark.browser

WIZARD_CHECKS = [spec.id for spec in select_checks(plan_names=["wizard"])]


class HarnessWithoutPages(BaseHTTPRequestHandler):
    """A server with harness endpoints and the JSON API only: no /sign-in page."""

    def do_GET(self) -> None:
        if self.path == "/__harness__/policy":
            self._answer(200, {"window": {"back": 1, "forward": 1}})
        else:
            self._answer(404, {"error": {"code": "not_found", "message": "Nothing here."}})

    def _answer(self, status: int, body: object) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def pageless_target() -> Iterator[Target]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), HarnessWithoutPages)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield Target(f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_the_plan_has_the_four_flows() -> None:
    assert WIZARD_CHECKS == [
        "wizard-desktop-qr-enrollment",
        "wizard-mobile-key-enrollment",
        "wizard-resend-replaces-the-email-code",
        "wizard-new-device-retires-the-old-one",
    ]


def test_a_target_without_pages_is_not_applicable(pageless_target: Target, tmp_path: Path) -> None:
    wizard = select_checks(plan_names=["wizard"])
    summary = run_checks(pageless_target, wizard, tmp_path / "r.jsonl")
    assert [r.outcome for r in summary.results] == [Outcome.NOT_APPLICABLE] * len(WIZARD_CHECKS)
    assert {r.reason for r in summary.results} == {
        "the target serves no wizard pages: GET /sign-in answers 404"
    }
    assert summary.exit_status == 0


def test_no_browser_is_a_harness_error_saying_what_to_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "no-such-chromium"))
    lonely = BrowserThread()  # not the process's shared one, which may have a browser already
    monkeypatch.setattr("conformance.plans.wizard.run_in_browser", lonely.run)
    try:
        with EmbeddedTarget() as target:
            checks = select_checks(check_ids=["wizard-resend-replaces-the-email-code"])
            [result] = run_checks(target, checks, tmp_path / "r.jsonl").results
    finally:
        lonely.close()
    assert result.outcome is Outcome.ERROR
    assert result.reason.startswith(f"harness error: {ENV_VAR}=")
    assert "make setup" in result.reason


def test_screenshots_land_in_the_run_folder_as_attachments(tmp_path: Path) -> None:
    log = tmp_path / "run" / "results.jsonl"
    with EmbeddedTarget() as target:
        checks = select_checks(check_ids=["wizard-resend-replaces-the-email-code"])
        [result] = run_checks(target, checks, log).results
    assert result.outcome is Outcome.PASSED, result.reason
    [record] = [
        json.loads(line)
        for line in log.read_text().splitlines()
        if json.loads(line)["record"] == "check"
    ]
    attachments = record["attachments"]
    assert len(attachments) >= 6
    titles = [a["title"] for a in attachments]
    assert "Mail to v5@conformance.test" in titles
    assert any(t.startswith("Verification email has been sent: ") for t in titles), titles
    for attachment in attachments:
        assert attachment["kind"] == "screenshot"
        assert attachment["path"].startswith("evidence/wizard-resend-replaces-the-email-code/")
        assert (log.parent / attachment["path"]).read_bytes().startswith(b"\x89PNG")
