"""Mutant reference servers for tests: one embedded server per named fault."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import yaml

from conformance.target import EmbeddedTarget


@contextmanager
def started_mutants(folder: Path, faults: Iterable[str]) -> Iterator[dict[str, EmbeddedTarget]]:
    """fault name → an embedded server started with that one fault; all closed at the end."""

    def start(fault: str) -> EmbeddedTarget:
        policy = folder / f"{fault}.yaml"
        policy.write_text(yaml.safe_dump({"faults": [fault]}))
        return EmbeddedTarget(policy_file=policy)

    # Starting and stopping a server is mostly waiting for a process: a few at once.
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {fault: pool.submit(start, fault) for fault in sorted(set(faults))}
        try:
            yield {fault: future.result() for fault, future in futures.items()}
        finally:
            started = [f.result() for f in futures.values() if f.exception() is None]
            list(pool.map(EmbeddedTarget.close, started))
