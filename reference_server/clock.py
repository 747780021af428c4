"""The server's clock: real time, or a time the harness set that stands still.

Every time-dependent decision (TOTP steps, email-code expiry, locks, token
lifetimes) reads ``ServerClock.now()``; nothing reads ``time.time()`` directly,
so the harness can move the server through time steps without sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class ServerClock:
    """Real time until set; once set (or advanced) it stands still until set again."""

    def __init__(self, source: Callable[[], float] = time.time) -> None:
        self._source = source
        self._fixed: float | None = None
        self._lock = threading.Lock()

    def now(self) -> float:
        """The current server time in Unix seconds."""
        with self._lock:
            return self._source() if self._fixed is None else self._fixed

    @property
    def frozen(self) -> bool:
        """True while the clock stands still at a time the harness set."""
        return self._fixed is not None

    def set(self, unix_seconds: float) -> float:
        """Put the clock at an absolute time; it stays there."""
        with self._lock:
            self._fixed = float(unix_seconds)
            return self._fixed

    def advance(self, seconds: float) -> float:
        """Move the clock by ``seconds`` from where it is now; it stays there."""
        with self._lock:
            base = self._source() if self._fixed is None else self._fixed
            self._fixed = base + float(seconds)
            return self._fixed

    def reset(self) -> None:
        """Back to real time."""
        with self._lock:
            self._fixed = None

    def __repr__(self) -> str:
        return f"ServerClock(fixed={self._fixed!r})"
