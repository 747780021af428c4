"""Mutant reference servers for tests: one in-process server per named fault."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager

from conformance.target import Target
from tests.inprocess import InProcessTarget


@contextmanager
def started_mutants(faults: Iterable[str]) -> Iterator[dict[str, Target]]:
    """fault name → a reference server in this process with that one fault; all closed at the end.

    In process (tests/inprocess.py): the checks reach it over HTTP all the same, and
    each starts and stops in about 0.1 s where a server process took about 0.8 s. The
    process-level tests (``twofa run``, ``replay``, tests/server/) start real processes.
    """
    with ExitStack() as stack:
        yield {
            fault: stack.enter_context(InProcessTarget({"faults": [fault]}))
            for fault in sorted(set(faults))
        }
