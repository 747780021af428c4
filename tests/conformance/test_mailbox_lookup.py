"""The harness mailbox lookup URL-encodes its ``to=`` (issue 14).

In a query string ``+`` means a space, so ``v5+desk@...`` sent raw is looked up
as ``v5 desk@...`` and finds nothing: an agent with a plus address could never
be enrolled by the suite.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.session import PASSWORD, RunContext
from conformance.target import EmbeddedTarget

PLUS = "v5+desk@conformance.test"


@pytest.fixture(scope="module")
def target() -> Iterator[EmbeddedTarget]:
    with EmbeddedTarget() as started:
        yield started


def test_an_address_with_a_plus_finds_its_mail(target: EmbeddedTarget) -> None:
    run = RunContext(target)
    seat = {"email": PLUS, "password": PASSWORD, "seat": "remote_support_v5", "role": "agent"}
    run.fresh_start({"agents": [seat], "device_groups": [], "two_factor_required": True})
    agent = run.agent(PLUS)
    assert agent.sign_in().status == 200
    assert agent.start_enrollment().status == 202
    [mail] = run.harness.mailbox(PLUS)
    assert mail["to"] == PLUS
    assert agent.verify_email(agent.latest_email_code()).status == 200
    # The bug it guards against: the same address unencoded reads as a space.
    raw = target.http.get(f"/__harness__/mailbox?to={PLUS}")
    assert raw.status == 200
    assert raw.body == []
