"""The tables of mutants, made from the declarations: the checks' and the server's.

Each check names the faults that must make it fail (``killed_by=``); each
fault says what its mutant does (``reference_server.faults.FAULTS``) and
overrides one extension point of ``reference_server/rules.py`` (found in its
module). docs/conformance.md gets one row per fault with the checks that catch
it (``mutants-table`` markers), docs/reference-server.md one row per fault with
the extension point it overrides (``fault-seams`` markers):

    .venv/bin/python scripts/mutants_table.py --update docs/conformance.md
    .venv/bin/python scripts/mutants_table.py --update docs/reference-server.md
    .venv/bin/python scripts/mutants_table.py --check docs/conformance.md

(tests/conformance/test_mutants_table.py runs the checks.)
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
from pathlib import Path
from typing import Final

from conformance.runner import registered_checks
from reference_server import rules
from reference_server.faults import FAULTS

START: Final = "<!-- mutants-table:start -->"
END: Final = "<!-- mutants-table:end -->"
#: docs/reference-server.md's table: each fault's extension point, found in its module.
SEAMS_START: Final = "<!-- fault-seams:start -->"
SEAMS_END: Final = "<!-- fault-seams:end -->"


def overrides(fault: str) -> list[str]:
    """``Rules`` extension points the fault's module overrides: ``Window.accepted``..."""
    module = importlib.import_module(f"reference_server.faults.{fault}")
    found = []
    for value in vars(module).values():
        if not (inspect.isclass(value) and value.__module__ == module.__name__):
            continue
        for base in value.__mro__[1:]:
            if base.__module__ == rules.__name__:
                names = [n for n in vars(value) if not n.startswith("_")]
                found += [f"{base.__name__}.{n}" for n in names if hasattr(base, n)]
                break
    return found


def render_seams() -> str:
    lines = ["| fault | extension point it overrides (`rules.py`) | what breaks |", "|---|---|---|"]
    for fault, what in FAULTS.items():
        points = ", ".join(f"`{p}`" for p in overrides(fault))
        lines.append(f"| `{fault}` | {points} | {what} |")
    return f"{SEAMS_START}\n" + "\n".join(lines) + f"\n{SEAMS_END}"


def render() -> str:
    lines = ["| fault | what the mutant does | caught by |", "|---|---|---|"]
    checks = registered_checks()
    for fault, what in FAULTS.items():
        caught = [
            f"`{spec.id}`" + (" (a warning)" if spec.severity == "warning" else "")
            for spec in checks
            if fault in spec.killed_by
        ]
        lines.append(f"| `{fault}` | {what} | {', '.join(caught) or 'nothing'} |")
    return f"{START}\n" + "\n".join(lines) + f"\n{END}"


def current(document: str, start_marker: str = START, end_marker: str = END) -> str:
    start, end = document.find(start_marker), document.find(end_marker)
    if start < 0 or end < start:
        raise ValueError(f"no {start_marker} ... {end_marker} markers")
    return document[start : end + len(end_marker)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--update", type=Path, metavar="DOC")
    action.add_argument("--check", type=Path, metavar="DOC")
    args = parser.parse_args(argv)
    path = args.update or args.check
    text = path.read_text(encoding="utf-8")
    # Each document holds one of the two tables: the checks' or the server's seams.
    markers = (START, END) if START in text else (SEAMS_START, SEAMS_END)
    wanted = render() if markers[0] == START else render_seams()
    if args.check is not None:
        if current(text, *markers) != wanted:
            print(f"{path}: the table is not what the declarations say", file=sys.stderr)
            return 1
        return 0
    path.write_text(text.replace(current(text, *markers), wanted), encoding="utf-8")
    print(f"wrote the table of {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
