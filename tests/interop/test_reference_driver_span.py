"""The reference driver across a long span of server time, as interop uses it."""

from __future__ import annotations

from pathlib import Path

from conformance.drivers import open_target, parse_target
from conformance.drivers.seam import DEFAULT_PARAMETERS

#: Past the reference server's full-token lifetime (12 h): the driver's admin session ends.
SPAN_SECONDS = 13 * 3600


def test_credentials_in_use_survive_the_admin_session_ending(tmp_path: Path) -> None:
    # The driver once reset the server when its admin's session had ended, deleting every
    # credential in use: the next sign-in of one answered 401 invalid_credentials.
    with open_target(parse_target("embedded"), {}, tmp_path) as driver:
        assert driver.clock is not None
        start = driver.clock.now()
        first = driver.provision(DEFAULT_PARAMETERS)
        later = start + SPAN_SECONDS
        driver.clock.set(later)
        second = driver.provision(DEFAULT_PARAMETERS)  # the admin signs in again
        assert second.label != first.label
        driver.clock.set(later + 60)
        answer = driver.submit(first, first.code_at(later + 60))
        assert answer.accepted, answer.describe()
