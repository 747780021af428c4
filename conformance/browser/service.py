"""One Chromium for the checks of a process, driven from a thread of its own.

Two reasons for the thread: Playwright's sync API refuses to start in a thread
that already runs an asyncio loop (pytest-playwright's, in the project's own
tests, or any caller's), and starting Chromium costs about a second, so every
check of a run (and every run of the process) shares one browser. A job gets
the Playwright object and the browser, makes its own context and closes it.
"""

from __future__ import annotations

import atexit
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Final, TypeVar

from playwright.sync_api import Browser, Playwright, sync_playwright

from conformance.browser.launch import launch

T = TypeVar("T")
CLOSE_TIMEOUT_SECONDS: Final = 10.0

_Job = tuple[Callable[[], Any], "Future[Any]"]


class BrowserThread:
    """A thread that owns Playwright and one Chromium, started at the first job."""

    def __init__(self) -> None:
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None

    def run(self, job: Callable[[Playwright, Browser], T]) -> T:
        """Run ``job(playwright, browser)`` on the browser thread; its result or its exception."""
        future: Future[T] = Future()
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                # Each thread has its own queue: a closing thread never takes a new job.
                self._jobs = queue.Queue()
                self._thread = threading.Thread(
                    target=self._serve, args=(self._jobs,), name="twofa-browser", daemon=True
                )
                self._thread.start()
            self._jobs.put((lambda: job(*self._started()), future))
        return future.result()

    def _started(self) -> tuple[Playwright, Browser]:
        if self._playwright is None:
            self._playwright = sync_playwright().start()
        if self._browser is None or not self._browser.is_connected():
            self._browser = launch(self._playwright)
        return self._playwright, self._browser

    def _serve(self, jobs: queue.Queue[_Job | None]) -> None:
        while (item := jobs.get()) is not None:
            work, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(work())
            except BaseException as exc:  # handed to the caller, whatever it is
                future.set_exception(exc)
        self._stop_browser()

    def _stop_browser(self) -> None:
        try:
            if self._browser is not None and self._browser.is_connected():
                self._browser.close()
        finally:
            self._browser = None
            if self._playwright is not None:
                self._playwright.stop()
                self._playwright = None

    def close(self) -> None:
        """Close the browser and end the thread (a later job starts both again)."""
        with self._lock:
            thread, self._thread = self._thread, None
            jobs = self._jobs
        if thread is not None and thread.is_alive():
            jobs.put(None)
            thread.join(CLOSE_TIMEOUT_SECONDS)


#: The process's browser thread.
BROWSER = BrowserThread()
atexit.register(BROWSER.close)


def run_in_browser(job: Callable[[Playwright, Browser], T]) -> T:
    """Run ``job`` with the process's shared Chromium (started on first use)."""
    return BROWSER.run(job)
