"""Finding and starting the browser: the resolution order and the harness's own errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Playwright

from conformance.browser.launch import (
    CHROMIUM_ARGS,
    ENV_VAR,
    BrowserNotFound,
    find_chromium,
    launch,
    launch_options,
)


def executable(folder: Path, name: str, body: str = "exit 1") -> Path:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


def test_the_environment_variable_wins(tmp_path: Path) -> None:
    mine = executable(tmp_path, "my-chromium")
    recorded = tmp_path / ".browser"
    recorded.write_text(str(executable(tmp_path, "recorded-chromium")) + "\n")
    found = find_chromium({ENV_VAR: str(mine)}, recorded=recorded, default=Path("/nonexistent"))
    assert found.path == mine
    assert found.source == ENV_VAR


def test_a_wrong_environment_variable_is_an_error_not_a_fallback(tmp_path: Path) -> None:
    default = executable(tmp_path, "chromium")
    with pytest.raises(BrowserNotFound, match=f"{ENV_VAR}=/no/such/browser is not an executable"):
        find_chromium({ENV_VAR: "/no/such/browser"}, recorded=tmp_path / "none", default=default)


def test_the_path_make_setup_recorded_comes_next(tmp_path: Path) -> None:
    recorded_browser = executable(tmp_path, "recorded-chromium")
    recorded = tmp_path / ".browser"
    recorded.write_text(f"{recorded_browser}\n")
    found = find_chromium({}, recorded=recorded, default=executable(tmp_path, "default"))
    assert found.path == recorded_browser


def test_a_stale_recorded_path_falls_back_to_the_default(tmp_path: Path) -> None:
    recorded = tmp_path / ".browser"
    recorded.write_text("/no/longer/here\n")
    default = executable(tmp_path, "chromium")
    found = find_chromium({}, recorded=recorded, default=default)
    assert (found.path, found.source) == (default, "default")


def test_no_browser_anywhere_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(BrowserNotFound) as raised:
        find_chromium({}, recorded=tmp_path / "none", default=tmp_path / "chromium")
    message = str(raised.value)
    assert "make setup" in message
    assert "apt-get install -y chromium" in message
    assert f"export {ENV_VAR}=" in message


def test_launch_options_extend_the_callers_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "/bin/sh")
    options = launch_options({"headless": False, "slow_mo": 100, "args": ["--lang=en"]})
    assert options["executable_path"] == "/bin/sh"
    assert options["args"] == ["--lang=en", *CHROMIUM_ARGS]
    assert (options["headless"], options["slow_mo"]) == (False, 100)


def test_a_binary_that_is_not_a_browser_gives_the_harness_error(
    playwright: Playwright, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_VAR, str(executable(tmp_path, "not-a-browser")))
    with pytest.raises(BrowserNotFound) as raised:
        launch(playwright, timeout=10_000)
    message = str(raised.value)
    assert message.startswith(f"Chromium at {tmp_path / 'not-a-browser'} did not start:")
    assert "make setup" in message
    assert "\n" not in message  # one sentence, not Playwright's call log


@pytest.mark.skipif(not os.access("/usr/bin/chromium", os.X_OK), reason="no system Chromium")
def test_the_default_is_debians_chromium() -> None:
    found = find_chromium({}, recorded=Path("/nonexistent"))
    assert found.path == Path("/usr/bin/chromium")
