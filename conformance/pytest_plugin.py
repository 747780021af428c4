"""The conformance checks as pytest items (``pytest --twofa-target ...``); inert without it."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("twofa", "twofa-harness conformance checks")
    group.addoption(
        "--twofa-target",
        default=None,
        metavar="embedded|URL",
        help="Collect the conformance checks and run them against this target.",
    )
