"""Browser fixtures: pytest-playwright on the system's Chromium, one embedded server per module.

The launch arguments extend pytest-playwright's own (so ``--headed`` and
``--slowmo`` keep working) with the Chromium path and ``--disable-gpu``.
Every context times out after 5 s instead of Playwright's 30 s.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page

from conformance.browser import Evidence, WizardDriver
from conformance.browser.launch import DEFAULT_TIMEOUT_MS
from conformance.browser.launch import launch_options as harness_launch_options
from conformance.session import BASE_TIME, CHECK_SEED
from conformance.target import EmbeddedTarget, Harness


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return harness_launch_options(browser_type_launch_args)


@pytest.fixture
def context(context: BrowserContext) -> BrowserContext:
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    return context


@pytest.fixture
def page(page: Page) -> Page:
    page.set_default_timeout(DEFAULT_TIMEOUT_MS)
    return page


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
