"""Twenty threads submit the same valid code to a real WSGI server at once: one wins."""

from __future__ import annotations

import http.client
import json
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from .conftest import V5, Api


@pytest.fixture
def live_server(app: Flask) -> Iterator[BaseWSGIServer]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    thread.join()


def _post(port: int, path: str, token: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(
            "POST",
            path,
            body=json.dumps(body),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        connection.close()


@pytest.mark.parametrize("max_failures", [5, 100])
def test_twenty_threads_same_code_exactly_one_accepted(
    api: Api, live_server: BaseWSGIServer, max_failures: int
) -> None:
    if max_failures != 5:
        # a lenient throttle too, so every loser is judged as a replay, not locked out
        api.services.policy = type(api.services.policy)(
            throttle_max_failures=max_failures, throttle_hard_limit=100
        )
    generator = api.enroll(V5).generator
    api.advance(30)
    tokens = [api.token(V5, expect="verify_otp") for _ in range(20)]
    code = api.code(generator)
    barrier = threading.Barrier(len(tokens))
    results: list[tuple[int, dict[str, Any]]] = []
    lock = threading.Lock()

    def submit(token: str) -> None:
        barrier.wait()
        outcome = _post(live_server.server_port, "/api/v1/auth/otp", token, {"code": code})
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=submit, args=(t,)) for t in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = Counter(status for status, _ in results)
    assert statuses[200] == 1, statuses
    assert set(statuses) <= {200, 401, 423}
    codes = Counter(body["error"]["code"] for status, body in results if status != 200)
    assert set(codes) <= {"otp_reused", "otp_locked"}
    if max_failures == 100:
        assert codes == {"otp_reused": 19}
