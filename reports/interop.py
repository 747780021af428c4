"""The server x app matrices of a ``twofa interop`` log, one per parameter set.

Read from each cell's check record: its ``variant`` names the server, the parameter
set, the app, the verdict and the side at fault. Rows (servers) and columns (apps) are
ordered most dangerous first: silently wrong, failed, refused, works, not applicable;
the failing cells are listed below each matrix in that order, each linking to its
evidence (the check's details: the URI, the app's answer, the server's answers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from reports.log import Check, RunLog

#: The verdicts, most dangerous first.
ORDER: Final = ("silently_wrong", "failed", "refused", "works", "not_applicable")
#: A verdict's words and the matrix colour class it is shown with.
WORDS: Final = {
    "silently_wrong": ("silently wrong", "m-silently_wrong"),
    "failed": ("failed", "m-failed"),
    "refused": ("refused by the app", "m-refused"),
    "works": ("works", "m-compatible"),
    "not_applicable": ("not applicable", "muted"),
}


@dataclass(frozen=True)
class InteropCell:
    verdict: str
    fault: str | None
    anchor: str
    check: Check

    @property
    def words(self) -> str:
        return WORDS.get(self.verdict, (self.verdict, ""))[0]

    @property
    def css(self) -> str:
        return WORDS.get(self.verdict, ("", ""))[1]


@dataclass(frozen=True)
class InteropGrid:
    """One parameter set: servers by apps, and the failing cells worst first."""

    parameters: str
    servers: list[str]
    apps: list[str]
    cells: dict[tuple[str, str], InteropCell]
    failing: list[tuple[str, str, InteropCell]]


def _rank(cells: list[InteropCell]) -> tuple[int, ...]:
    """Sorts a row or column by how many of its cells are of each verdict, worst first."""
    return tuple(-sum(c.verdict == v for c in cells) for v in ORDER)


def _set_order(parameters: str) -> tuple[int, ...]:
    """``SHA1-6-30`` before ``SHA1-6-60`` before ``SHA256-6-30``: the usual set first."""
    algorithm, _, rest = parameters.partition("-")
    numbers = [int(n) if n.isdigit() else 0 for n in rest.split("-")]
    hashes = {"SHA1": 0, "SHA256": 1, "SHA512": 2}
    return (hashes.get(algorithm.upper(), 3), *numbers)


def interop_grids(log: RunLog, anchors: dict[int, str]) -> list[InteropGrid]:
    """The matrices, SHA1, 6 digits, 30 s first; none for a log of another command."""
    if log.run.command != "interop":
        return []
    by_set: dict[str, dict[tuple[str, str], InteropCell]] = {}
    for i, check in enumerate(log.checks):
        v = check.variant or {}
        server, parameters, app = v.get("server"), v.get("parameters"), v.get("app")
        if not (isinstance(server, str) and isinstance(parameters, str) and isinstance(app, str)):
            continue
        fault = v.get("fault")
        cell = InteropCell(
            str(v.get("verdict", "")), fault if isinstance(fault, str) else None, anchors[i], check
        )
        by_set.setdefault(parameters, {})[(server, app)] = cell
    grids = []
    for parameters, cells in sorted(by_set.items(), key=lambda item: _set_order(item[0])):
        servers = list(dict.fromkeys(s for s, _ in cells))
        apps = list(dict.fromkeys(a for _, a in cells))
        servers.sort(key=lambda s: _rank([c for (t, _), c in cells.items() if t == s]))
        apps.sort(key=lambda a: _rank([c for (_, b), c in cells.items() if b == a]))
        failing = [
            (s, a, c)
            for (s, a), c in cells.items()
            if c.verdict in ("silently_wrong", "failed", "refused")
        ]
        failing.sort(key=lambda f: ORDER.index(f[2].verdict) if f[2].verdict in ORDER else 9)
        grids.append(InteropGrid(parameters, servers, apps, cells, failing))
    return grids


__all__ = ["InteropCell", "InteropGrid", "interop_grids"]
