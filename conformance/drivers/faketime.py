"""Moving a peer process's clock with libfaketime (Debian ``faketime``).

Two ways, per ``shared/reference/peers-setup.md``:

- a long-running server: ``LD_PRELOAD`` of libfaketime with a timestamp file
  the harness rewrites (``FaketimeFileClock``). The file holds
  ``@YYYY-MM-DD hh:mm:ss.mmm`` and the clock runs on from there. libfaketime
  re-bases only when the file's *content* changes, so every write carries a
  tag of its own after the time (``#17``): writing the same time twice would
  otherwise keep the old base running. The file is written before the process
  starts (an unparsable file breaks its ``sleep`` calls). The peer's first
  reading after a rewrite comes back a few microseconds *before* the written
  time (299 of 300 rewrites, measured), which at a step's first second is the
  step before: the clock writes ``LEAD_SECONDS`` past the time asked for.
  ``DONT_FAKE_MONOTONIC`` keeps the peer's timeouts on real time (a faked
  monotonic clock jumps by years with the wall clock), at a price: CPython's
  ``time.sleep`` then fails with EINVAL, so a host app must wait with
  ``select`` or ``Event.wait`` instead.
- one command: libfaketime preloaded with ``FAKETIME="@YYYY-MM-DD hh:mm:ss"``
  (``faked_environment``), which is what the ``faketime`` wrapper sets, without
  the wrapper: it leaves a semaphore and a shared-memory file in ``/dev/shm``
  per call when killed, and a stale one whose pid comes round again makes a
  later call fail ("The faketime wrapper only works on platforms that support
  the sem_open() system call").

CPython under libfaketime cannot go past about 2262 (``_PyTime_t`` overflows),
so a Python peer's clock stops at ``PYTHON_MAX_TIME``.
"""

from __future__ import annotations

import glob
import itertools
import math
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from conformance.drivers.seam import DriverError, ServerClock

#: 2262-01-01: CPython's nanosecond clock under libfaketime overflows a few months later.
PYTHON_MAX_TIME: Final = 9_183_110_400.0
#: 9999-12-31: the timestamp file's four-digit year.
FILE_MAX_TIME: Final = 253_402_300_799.0
#: How far past the asked time a rewritten clock starts (see the module's docstring).
LEAD_SECONDS: Final = 0.002


def libfaketime() -> str | None:
    """The path of libfaketime.so.1 (Debian's multiarch folder), or None."""
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))
    found += sorted(glob.glob("/usr/lib/faketime/libfaketime.so.1"))
    return found[0] if found else None


def faked_environment(unix_time: float) -> tuple[dict[str, str], list[str]]:
    """The environment of one command whose clock starts at ``unix_time`` (to the millisecond).

    Returns the whole environment and how evidence shows the faked part.
    """
    library = libfaketime()
    if library is None:
        raise DriverError("libfaketime is not installed: run 'make peers'")
    stamp = _stamp(unix_time)
    faked = {
        "LD_PRELOAD": library,
        "FAKETIME": f"@{stamp}",
        # libfaketime reads the stamp in local time.
        "TZ": "UTC",
        "DONT_FAKE_MONOTONIC": "1",
    }
    shown = [f'FAKETIME="@{stamp}"', f"LD_PRELOAD={Path(library).name}"]
    return {**os.environ, **faked}, shown


def _stamp(unix_time: float) -> str:
    """The time as libfaketime reads it (in UTC, since the peer runs with TZ=UTC), to the ms."""
    millis = math.floor(unix_time * 1000)
    whole, fraction = divmod(millis, 1000)
    return datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%d %H:%M:%S") + f".{fraction:03d}"


class FaketimeFileClock(ServerClock):
    """The clock of a process started with ``environment()``: a timestamp file rewritten."""

    runs = True

    def __init__(self, path: Path, start: float, *, max_time: float = PYTHON_MAX_TIME) -> None:
        library = libfaketime()
        if library is None:
            raise DriverError("libfaketime is not installed: run 'make peers'")
        self.library = library
        self.path = path
        self.max_time = max_time
        self._tags = itertools.count(1)
        self._base = 0.0
        self._set_at = 0.0
        self.set(start)

    def environment(self) -> dict[str, str]:
        """What the peer process needs in its environment for this clock to apply."""
        return {
            "LD_PRELOAD": self.library,
            "FAKETIME_TIMESTAMP_FILE": str(self.path),
            # Without it, rewrites were not seen for seconds.
            "FAKETIME_NO_CACHE": "1",
            # The peer's own monotonic timers (sleeps, timeouts) keep real time.
            "DONT_FAKE_MONOTONIC": "1",
            # With FAKETIME_NO_CACHE every intercepted call reads the file; two kinds cost a
            # threaded Python peer dear (measured with privacyIDEA: 5,000 reads and 35 ms of
            # CPU per /validate/check, against 110 and 23 ms, as without libfaketime): the
            # GIL's wait on a CLOCK_MONOTONIC condition, which the "monotonic fix" turns into
            # a spin through the wrapper, and stat(), whose file times mean nothing here.
            "FAKETIME_FORCE_MONOTONIC_FIX": "0",
            "NO_FAKE_STAT": "1",
        }

    def set(self, unix_time: float) -> None:
        if unix_time > self.max_time:
            raise DriverError(
                f"this target's clock cannot reach {unix_time:.0f} "
                f"(libfaketime and CPython stop at {self.max_time:.0f})"
            )
        start = unix_time + LEAD_SECONDS
        temporary = self.path.with_name(self.path.name + ".new")
        temporary.write_text(f"@{_stamp(start)} #{next(self._tags)}\n", encoding="ascii")
        # Atomic: the peer never reads a half-written file.
        os.replace(temporary, self.path)
        self._base, self._set_at = start, time.monotonic()

    def now(self) -> float:
        return self._base + (time.monotonic() - self._set_at)
