"""``twofa lint-uri``: the generic Key Uri Format lint and the per-dialect lint.

Without ``--dialect`` the command is what it always was (checklist requirement
ids, ``simulators.otpauth.lint_uri``). With ``--dialect`` it lints against one
dialect, or all five as the matrix's verdict columns (docs/uri-dialects.md).
Exit status: 0 no error, 1 an error (in any dialect shown), 2 usage.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Final, cast

import click

from simulators.dialects import (
    COLUMNS,
    DIALECTS,
    SOURCES,
    Dialect,
    DialectFinding,
    DialectVerdict,
    lint_all,
    lint_dialect,
)
from simulators.otpauth import lint_uri

ALL: Final = "all"


def finding_json(finding: DialectFinding) -> dict[str, Any]:
    """One finding as ``--json`` prints it."""
    rule = finding.rule
    return {
        "rule": rule.id,
        "keyword": rule.keyword,
        "role": rule.role,
        "severity": finding.severity,
        "verdict": finding.verdict,
        "message": finding.message,
        "rule_sentence": rule.sentence,
    }


def verdict_json(verdict: DialectVerdict) -> dict[str, Any]:
    """One dialect's verdict as ``--json`` prints it."""
    return {
        "column": verdict.column,
        "source": SOURCES[verdict.dialect],
        "verdict": verdict.verdict,
        "findings": [finding_json(f) for f in verdict.findings],
    }


def _finding_line(column: str, finding: DialectFinding) -> str:
    label = finding.severity.upper() if finding.severity != "note" else "note"
    rule = finding.rule
    return (
        f"{column:3} {label:7} {finding.verdict:4} {rule.id:10} {rule.keyword:25}{finding.message}"
    )


def _print_table(verdicts: dict[Dialect, DialectVerdict]) -> None:
    columns = [v.column for v in verdicts.values()]
    counts = [f"{len(v.errors)}/{len(v.warnings)}" for v in verdicts.values()]
    for title, cells in (
        ("dialect", columns),
        ("verdict", [v.verdict for v in verdicts.values()]),
        ("err/warn", counts),
    ):
        click.echo((f"{title:10}" + "".join(f"{c:6}" for c in cells)).rstrip())
    for verdict in verdicts.values():
        for finding in verdict.findings:
            click.echo(_finding_line(verdict.column, finding))


def _generic(uri: str, as_json: bool) -> None:
    findings = lint_uri(uri)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {"requirement": f.requirement, "severity": f.severity, "message": f.message}
                    for f in findings
                ],
                indent=2,
            )
        )
    elif not findings:
        click.echo("ok: no findings")
    else:
        for finding in findings:
            click.echo(str(finding))
    if any(f.severity == "error" for f in findings):
        sys.exit(1)


@click.command("lint-uri")
@click.argument("uri")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.option(
    "--dialect",
    type=click.Choice([*DIALECTS, ALL]),
    default=None,
    help="Lint against one dialect's rules, or all five as verdict columns A L Y AP G "
    "(default: the generic Key Uri Format lint with checklist ids).",
)
@click.option(
    "--strict",
    is_flag=True,
    help="With --dialect: NC (a violation with no defined consumer behaviour) is an error, "
    "not a warning.",
)
def lint_uri_command(uri: str, as_json: bool, dialect: str | None, strict: bool) -> None:
    """Check an otpauth URI; exit 1 when any finding is an error."""
    if dialect is None:
        if strict:
            raise click.UsageError("--strict applies to --dialect only")
        _generic(uri, as_json)
        return
    if dialect == ALL:
        verdicts = lint_all(uri, strict)
    else:
        chosen = cast(Dialect, dialect)
        verdicts = {chosen: lint_dialect(uri, chosen, strict)}
    if as_json:
        payload = {
            "strict": strict,
            "columns": [COLUMNS[d] for d in verdicts],
            "dialects": {d: verdict_json(v) for d, v in verdicts.items()},
        }
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
    elif dialect == ALL:
        _print_table(verdicts)
    else:
        [verdict] = verdicts.values()
        click.echo(f"{verdict.column} {verdict.dialect}: {verdict.verdict}")
        click.echo(f"    rules of {SOURCES[verdict.dialect]}")
        for finding in verdict.findings:
            click.echo(_finding_line(verdict.column, finding))
    if any(v.errors for v in verdicts.values()):
        sys.exit(1)
