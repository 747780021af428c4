"""docs/conformance.md's table of mutants, made from the checks' own declarations.

Each check names the faults that must make it fail (``killed_by=``); each
fault says what its mutant does (``reference_server.faults.FAULTS``). This
renders one row per fault between the document's ``mutants-table`` markers:

    .venv/bin/python scripts/mutants_table.py --update docs/conformance.md
    .venv/bin/python scripts/mutants_table.py --check docs/conformance.md

(tests/conformance/test_mutants_table.py runs the check.)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Final

from conformance.runner import registered_checks
from reference_server.faults import FAULTS

START: Final = "<!-- mutants-table:start -->"
END: Final = "<!-- mutants-table:end -->"


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


def current(document: str) -> str:
    start, end = document.find(START), document.find(END)
    if start < 0 or end < start:
        raise ValueError(f"no {START} ... {END} markers")
    return document[start : end + len(END)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--update", type=Path, metavar="DOC")
    action.add_argument("--check", type=Path, metavar="DOC")
    args = parser.parse_args(argv)
    path = args.update or args.check
    text = path.read_text(encoding="utf-8")
    wanted = render()
    if args.check is not None:
        if current(text) != wanted:
            print(f"{path}: the mutants table is not what the checks declare", file=sys.stderr)
            return 1
        return 0
    path.write_text(text.replace(current(text), wanted), encoding="utf-8")
    print(f"wrote the mutants table of {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
