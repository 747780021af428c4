"""Project-wide test settings: UTC everywhere, reproducible Hypothesis runs in CI, and
pytest-playwright on the system's Chromium for any test that asks for ``page``.

The launch arguments extend pytest-playwright's own (so ``--headed`` and
``--slowmo`` keep working) with the Chromium path and ``--disable-gpu``.
Every context times out after 5 s instead of Playwright's 30 s.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Final

import pytest
from hypothesis import HealthCheck, settings
from playwright.sync_api import BrowserContext, Page

from conformance.browser.launch import DEFAULT_TIMEOUT_MS
from conformance.browser.launch import launch_options as harness_launch_options
from tests.processes import twofa

# RFC 6238 counts from midnight UTC; naive datetimes anywhere must mean UTC.
os.environ["TZ"] = "UTC"
time.tzset()

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    print_blob=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))


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


#: What the CI examples' unsharded job runs (in a fresh directory).
WHOLE_EMBEDDED_RUN: Final = ("run", "--target", "embedded", "--out", "out/reports")


@pytest.fixture(scope="session")
def whole_embedded_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run folder of one whole ``twofa run --target embedded`` (every check, exit 0).

    A whole run takes about 25 s, and the tests that compare something with it need no
    run of their own. They are marked ``xdist_group("whole-embedded-run")`` so that one
    test process runs it once (``make test`` distributes with ``--dist loadgroup``).
    """
    cwd = tmp_path_factory.mktemp("whole-embedded-run")
    done = twofa(*WHOLE_EMBEDDED_RUN, cwd=cwd, timeout=280)
    assert done.returncode == 0, done.stdout + done.stderr
    return (cwd / "out/reports/latest").resolve()
