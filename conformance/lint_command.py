"""``twofa lint-uri``: the generic Key Uri Format lint and the per-dialect lint."""

from __future__ import annotations

import json
import sys

import click

from simulators.otpauth import lint_uri


@click.command("lint-uri")
@click.argument("uri")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
def lint_uri_command(uri: str, as_json: bool) -> None:
    """Check an otpauth URI; exit 1 when any finding is an error."""
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
