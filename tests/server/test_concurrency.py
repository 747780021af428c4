"""Twenty threads submit the same valid code to a real WSGI server at once: one wins."""

from __future__ import annotations

from collections import Counter

import pytest
from werkzeug.serving import BaseWSGIServer

from .conftest import V5, Api, at_once, post_json


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
    port = live_server.server_port
    results = at_once(
        [lambda t=t: post_json(port, "/api/v1/auth/otp", {"code": code}, t) for t in tokens]
    )
    statuses = Counter(status for status, _ in results)
    assert statuses[200] == 1, statuses
    assert set(statuses) <= {200, 401, 423}
    codes = Counter(body["error"]["code"] for status, body in results if status != 200)
    assert set(codes) <= {"otp_reused", "otp_locked"}
    if max_failures == 100:
        assert codes == {"otp_reused": 19}
