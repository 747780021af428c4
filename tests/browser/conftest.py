"""Browser test fixtures: one embedded server per module, reset per test.

pytest-playwright's browser, context and page come from the root conftest.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from conformance.browser import Evidence, WizardDriver
from conformance.session import BASE_TIME, CHECK_SEED
from conformance.target import EmbeddedTarget, Harness


@pytest.fixture(scope="module")
def target() -> Iterator[EmbeddedTarget]:
    with EmbeddedTarget() as embedded:
        yield embedded


@pytest.fixture
def harness(target: EmbeddedTarget) -> Harness:
    """The target, reset to the check seed with its clock standing at ``BASE_TIME``."""
    controls = target.harness
    assert controls is not None
    controls.reset(CHECK_SEED)
    controls.set_time(BASE_TIME)
    return controls


@pytest.fixture
def evidence(tmp_path: Path) -> Evidence:
    return Evidence(tmp_path)


@pytest.fixture
def driver(
    page: Page, target: EmbeddedTarget, harness: Harness, evidence: Evidence
) -> WizardDriver:
    """A desktop browser tab on the freshly reset target."""
    return WizardDriver(page, target, evidence)
