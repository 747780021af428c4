"""A crash in the middle of a transaction, on purpose: for the crash tests, harness mode only.

``TWOFA_HARNESS_CRASH_AT=NAME`` (read by ``serve --harness``) installs
``CrashAt(NAME)``: when a request reaches that checkpoint (``Checkpoints.reached``,
between two writes of one transaction), the process sends itself SIGKILL, as a
power cut or the OOM killer would, before the transaction commits. Only
``create_app`` imports this module, and only in harness mode.
"""

from __future__ import annotations

import os
import signal
from typing import Final

from .rules import Checkpoints

#: Every checkpoint the server has, in the order a confirm transaction passes them.
CHECKPOINTS: Final = (
    "confirm.enrollment_claimed",
    "confirm.old_device_retired",
    "confirm.device_added",
    "confirm.sessions_ended",
    "confirm.before_commit",
)


class UnknownCheckpoint(ValueError):
    """A crash point the server does not have."""


class CrashAt(Checkpoints):
    """Kill this process with SIGKILL at one checkpoint."""

    def __init__(self, name: str) -> None:
        if name not in CHECKPOINTS:
            raise UnknownCheckpoint(
                f"unknown crash point {name!r}: one of {', '.join(CHECKPOINTS)}"
            )
        self.name = name

    def reached(self, name: str) -> None:
        if name == self.name:
            os.kill(os.getpid(), signal.SIGKILL)
