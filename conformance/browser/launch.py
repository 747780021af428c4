"""Finding and launching the Chromium that Playwright drives.

Playwright's own browser download cannot work on these machines, so the
harness drives the distribution's Chromium. The path comes from, in order:
the ``TWOFA_CHROMIUM`` environment variable, the path ``make setup`` recorded
in ``.venv/.browser``, then ``/usr/bin/chromium``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from playwright.sync_api import Browser, BrowserContext, Error, Playwright, sync_playwright

ENV_VAR: Final = "TWOFA_CHROMIUM"
DEFAULT_PATH: Final = Path("/usr/bin/chromium")
#: Chromium's GPU process only slows a headless run down on these machines.
CHROMIUM_ARGS: Final = ("--disable-gpu",)
#: Playwright's 30 s default turns one broken page into minutes of waiting.
DEFAULT_TIMEOUT_MS: Final = 5_000
#: The Playwright device descriptors the harness names for mobile emulation.
MOBILE_DEVICES: Final = ("iPhone 13", "Pixel 7")

_WHAT_TO_DO: Final = (
    "Run `make setup` (it installs Debian's chromium when it can), or "
    "`apt-get install -y chromium`, or point the harness at a Chromium or Chrome "
    f"you have: export {ENV_VAR}=/path/to/chromium"
)


class BrowserNotFound(RuntimeError):
    """Raised when no Chromium can be found or started; the message says what to do."""


@dataclass(frozen=True)
class BrowserPath:
    """A Chromium executable and where the harness learnt of it."""

    path: Path
    source: str


def recorded_path_file() -> Path:
    """``.venv/.browser``, written by ``make setup``: the venv of this interpreter."""
    return Path(sys.prefix) / ".browser"


def find_chromium(
    environ: Mapping[str, str] | None = None,
    *,
    recorded: Path | None = None,
    default: Path = DEFAULT_PATH,
) -> BrowserPath:
    """The Chromium to drive, or ``BrowserNotFound`` saying what to do.

    ``environ``, ``recorded`` (the ``.venv/.browser`` file) and ``default`` are
    parameters so the resolution order can be tested; callers pass nothing.
    """
    environ = os.environ if environ is None else environ
    explicit = environ.get(ENV_VAR, "").strip()
    if explicit:
        # The user named a browser: using another one behind their back would mislead.
        if _is_executable(Path(explicit)):
            return BrowserPath(Path(explicit), ENV_VAR)
        raise BrowserNotFound(f"{ENV_VAR}={explicit} is not an executable file. {_WHAT_TO_DO}")
    recorded = recorded_path_file() if recorded is None else recorded
    if recorded.is_file():
        text = recorded.read_text(encoding="utf-8").strip()
        if text and _is_executable(Path(text)):
            return BrowserPath(Path(text), str(recorded))
    if _is_executable(default):
        return BrowserPath(default, "default")
    raise BrowserNotFound(f"No Chromium found for the browser checks. {_WHAT_TO_DO}")


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def launch_options(base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``base`` (e.g. pytest-playwright's own launch arguments) plus the path and our flags."""
    options = dict(base or {})
    args = list(options.get("args") or [])
    options["args"] = args + [a for a in CHROMIUM_ARGS if a not in args]
    options["executable_path"] = str(find_chromium().path)
    return options


def launch(playwright: Playwright, **overrides: Any) -> Browser:
    """Start Chromium headless (unless ``headless=False``), or ``BrowserNotFound``."""
    options = launch_options(overrides)
    try:
        return playwright.chromium.launch(**options)
    except Error as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BrowserNotFound(
            f"Chromium at {options['executable_path']} did not start: {first_line}. {_WHAT_TO_DO}"
        ) from None


@contextmanager
def open_browser(**overrides: Any) -> Iterator[Browser]:
    """Playwright and one Chromium for the length of the block."""
    with sync_playwright() as playwright:
        browser = launch(playwright, **overrides)
        try:
            yield browser
        finally:
            browser.close()


def new_context(
    browser: Browser, playwright: Playwright | None = None, mobile: str | None = None
) -> BrowserContext:
    """A fresh context (cookies, storage), desktop or a named mobile descriptor, 5 s timeouts."""
    options: dict[str, Any] = {}
    if mobile is not None:
        if playwright is None:
            raise ValueError("mobile emulation needs the Playwright object for its descriptors")
        if mobile not in playwright.devices:
            raise ValueError(f"unknown device descriptor {mobile!r}")
        options = device_options(playwright.devices[mobile])
    context = browser.new_context(**options)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    return context


def device_options(descriptor: Mapping[str, Any]) -> dict[str, Any]:
    """A Playwright device descriptor as ``new_context`` arguments (drops the browser type)."""
    return {k: v for k, v in descriptor.items() if k != "default_browser_type"}
