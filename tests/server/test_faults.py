"""Deliberate faults (mutants) exist only in harness mode and are named."""

from __future__ import annotations

from typing import Any

import pytest

from reference_server.app import create_app
from reference_server.policy import KNOWN_FAULTS, PolicyError


def test_faults_are_refused_outside_harness_mode(app_config: dict[str, Any]) -> None:
    with pytest.raises(PolicyError, match="harness mode only"):
        create_app({**app_config, "HARNESS": False, "FAULTS": frozenset({"no_replay_guard"})})


def test_unknown_faults_are_refused(app_config: dict[str, Any]) -> None:
    with pytest.raises(PolicyError, match="unknown faults"):
        create_app({**app_config, "FAULTS": frozenset({"no_such_fault"})})


@pytest.mark.parametrize("fault", sorted(KNOWN_FAULTS))
def test_a_harness_server_declares_its_faults(app_config: dict[str, Any], fault: str) -> None:
    app = create_app({**app_config, "FAULTS": frozenset({fault})})
    try:
        policy = app.test_client().get("/__harness__/policy").get_json()
        assert policy["faults"] == [fault]
    finally:
        app.extensions["twofa"].engine.dispose()
