"""Conformance test fixtures shared by the run, replay and pytest-plugin tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class _NoHarness(BaseHTTPRequestHandler):
    """Answers every GET 404 with the contract's error shape: a server without /__harness__."""

    def do_GET(self) -> None:
        body = json.dumps({"error": {"code": "not_found", "message": "No such page."}}).encode()
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: nothing on standard error."""


@pytest.fixture
def server_without_harness() -> Iterator[str]:
    """A real HTTP server on loopback that answers every request 404."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NoHarness)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
