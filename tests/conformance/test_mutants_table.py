"""docs/conformance.md's mutants table is what the checks' declarations say."""

from __future__ import annotations

import runpy
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_the_table_is_made_from_the_declarations() -> None:
    script = runpy.run_path(str(ROOT / "scripts" / "mutants_table.py"))
    assert script["main"](["--check", str(ROOT / "docs" / "conformance.md")]) == 0
    table = script["render"]()
    assert "| `no_replay_guard` | accepts a code again | `replay-same-code-twice`" in table
    assert "nothing" not in table


def test_the_servers_seams_table_is_made_from_the_fault_modules() -> None:
    script = runpy.run_path(str(ROOT / "scripts" / "mutants_table.py"))
    assert script["main"](["--check", str(ROOT / "docs" / "reference-server.md")]) == 0
    # Every fault overrides at least one extension point of rules.py.
    seams = script["render_seams"]()
    assert "| `no_replay_guard` | `ReplayGuard.unused`, `ReplayGuard.claim` |" in seams
    rows = seams.splitlines()[3:-1]
    assert rows
    assert all(row.split("|")[2].strip().startswith("`") for row in rows), rows
