"""``python -m reports LOG [--out DIR] [--format json,junit,summary,html,badge]``: the reports.

Prints the written paths, one a line, and exits 0; bad input (a missing or
malformed log, an unknown format) gives one line on standard error and exit 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from reports.log import ResultLogError
from reports.writer import FORMATS, write_reports

USAGE_ERROR = 2


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but an error is one line (no usage block), like the twofa command."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _formats(value: str) -> list[str]:
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown format {', '.join(unknown) or repr(value)} (known: {', '.join(FORMATS)})"
        )
    return names


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; answers the exit status."""
    parser = _OneLineParser(
        prog="python -m reports",
        description="Render a result log (results.jsonl) as JSON, JUnit XML, Markdown and HTML.",
    )
    parser.add_argument("log", help="the result log, e.g. out/reports/latest/results.jsonl")
    parser.add_argument("--out", help="folder to write into (default: the log's folder)")
    parser.add_argument(
        "--format",
        type=_formats,
        default=list(FORMATS),
        help=f"comma-separated formats to write (default: {','.join(FORMATS)})",
    )
    args = parser.parse_args(argv)
    try:
        written = write_reports(args.log, args.out, args.format)
    except ResultLogError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except OSError as exc:
        print(f"{parser.prog}: error: cannot write reports: {exc}", file=sys.stderr)
        return USAGE_ERROR
    for path in written.values():
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
