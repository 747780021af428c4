"""The JSON schema of a result log's lines, generated from the records (records/model.py).

``python -m records.schema --write docs/result-log.schema.json`` writes it (``make schema``);
``--check`` exits 1 when the file is not what the model generates. One schema for one line:
a ``oneOf`` over the record kinds, told apart by ``record``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from pydantic import TypeAdapter

from records.model import AnyRecord

#: Where the checked-in schema lives, beside the format's description.
SCHEMA_FILE: Final = Path("docs/result-log.schema.json")
#: The command that writes it again, for messages that say the file is stale.
COMMAND: Final = f"python -m records.schema --write {SCHEMA_FILE}"


def schema() -> dict[str, Any]:
    """The schema of one line of a result log."""
    generated = TypeAdapter(AnyRecord).json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "One line of a twofa-harness result log (results.jsonl)",
        "description": (
            "Generated from records/model.py by `" + COMMAND + "`; docs/result-log.md "
            "describes the fields. Readers ignore unknown fields and unknown record kinds."
        ),
        **generated,
    }


def text() -> str:
    """The schema as the checked-in file has it."""
    return json.dumps(schema(), indent=2, sort_keys=True) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m records.schema", description=__doc__)
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", type=Path, metavar="FILE", help="write the schema to FILE")
    action.add_argument("--check", type=Path, metavar="FILE", help="exit 1 unless FILE is current")
    args = parser.parse_args(argv)
    if args.write is not None:
        args.write.write_text(text(), encoding="utf-8")
        print(f"wrote {args.write}")
    elif args.check is not None:
        current = args.check.read_text(encoding="utf-8") if args.check.exists() else None
        if current != text():
            print(f"{args.check} is not what the records generate; run {COMMAND}", file=sys.stderr)
            return 1
        print(f"{args.check} is what the records generate")
    else:
        sys.stdout.write(text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
