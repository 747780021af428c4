"""``twofa check-authenticator``: run the case matrix against a vendor's code generator."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Final

import click

from conformance.progress import LiveProgress
from conformance.skeleton import USAGE_ERROR, execute, finish, open_run_folder
from conformance.vendor.cases import FAMILIES, select_cases

#: Verdict → the word a progress line shows, and its colour on a terminal.
PROGRESS_WORDS: Final = {
    "compatible": ("OK     ", "green"),
    "silently_wrong": ("WRONG  ", "red"),
    "refused": ("REFUSED", "yellow"),
    "failed": ("FAILED ", "magenta"),
    "not_applicable": ("N/A    ", None),
}

if TYPE_CHECKING:
    from reports import RunLog, Summary


@click.command("check-authenticator")
@click.option(
    "--jsonl",
    "jsonl",
    default=None,
    metavar="CMD",
    help="A vendor program speaking JSON lines on stdin/stdout (docs/vendor-adapter.md).",
)
@click.option(
    "--command",
    "command_template",
    default=None,
    metavar="TEMPLATE",
    help="A command run once per code, e.g. 'gen --secret {secret} --at {time}'.",
)
@click.option(
    "--profile",
    default=None,
    metavar="NAME",
    help="A built-in app profile (twofa profiles), in process.",
)
@click.option(
    "--adapter",
    "adapter_name",
    default=None,
    metavar="NAME",
    help="A named adapter (twofa adapters): a real implementation installed here, or profile:NAME.",
)
@click.option(
    "--cases",
    "selectors",
    multiple=True,
    metavar="FAMILY",
    help="Only these case families, or case ids / globs over ids (repeatable).",
)
@click.option(
    "--timeout",
    type=float,
    default=5.0,
    show_default=True,
    help="Seconds each case may take (provisioning and codes together).",
)
@click.option(
    "--give-up-after",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    metavar="N",
    help="After N cases in a row time out, fail the rest without running them (0: never).",
)
@click.option(
    "--expectations",
    "expectations_file",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Known verdicts: a YAML list of {check, verdict, comment}; check may be a glob.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("out/vendor"),
    show_default=True,
    help="Root folder: the run writes OUT/<run-id>/ and OUT/latest names the newest run.",
)
@click.option("--list", "list_only", is_flag=True, help="List the cases, run nothing.")
def check_authenticator(
    jsonl: str | None,
    command_template: str | None,
    profile: str | None,
    adapter_name: str | None,
    selectors: tuple[str, ...],
    timeout: float,
    give_up_after: int,
    expectations_file: Path | None,
    out: Path,
    list_only: bool,
) -> None:
    """Check an authenticator's code generator against the case matrix.

    Exit 0 only when every case is compatible or has the verdict the
    expectations file gives it; 1 otherwise; 2 for wrong arguments, an
    unusable expectations file or a program that cannot be started.
    Progress goes to standard error, the findings and the report paths to
    standard output.
    """
    from conformance.expectations import ExpectationsError, load_vendor_expectations
    from conformance.vendor.adapters import AdapterSetupError, AdapterSpec
    from conformance.vendor.registry import UnknownAdapterError, adapter_entry
    from conformance.vendor.runner import CaseResult, VendorLog, run_cases
    from simulators.profiles import UnknownProfileError

    try:
        cases = select_cases(selectors)
    except KeyError as exc:
        raise click.UsageError(str(exc.args[0])) from None
    if list_only:
        for case in cases:
            click.echo(f"{case.family:18} {case.id}")
        return
    chosen = [
        name
        for name, v in (
            ("--jsonl", jsonl),
            ("--command", command_template),
            ("--profile", profile),
            ("--adapter", adapter_name),
        )
        if v is not None
    ]
    if len(chosen) != 1:
        raise click.UsageError(
            "give exactly one of --jsonl CMD, --command TEMPLATE, --profile NAME, --adapter NAME"
        )
    if not timeout > 0:
        raise click.UsageError("--timeout must be a positive number of seconds")
    try:
        expectations = (
            load_vendor_expectations(expectations_file, [c.id for c in cases])
            if expectations_file
            else None
        )
    except ExpectationsError as exc:
        raise click.UsageError(str(exc)) from None
    try:
        adapter = (
            adapter_entry(adapter_name).build()
            if adapter_name is not None
            else AdapterSpec(jsonl=jsonl, command=command_template, profile=profile).build()
        )
    except (UnknownProfileError, UnknownAdapterError) as exc:
        raise click.UsageError(str(exc)) from None
    except AdapterSetupError as exc:
        click.echo(f"twofa: error: {exc}", err=True)
        sys.exit(USAGE_ERROR)
    run_id, folder = open_run_folder(out)
    click.echo(
        f"twofa check-authenticator {run_id}: {len(cases)} cases through {adapter.kind} "
        f"{adapter.description!r}, {timeout:g} s per case, writing {folder}",
        err=True,
    )
    width = len(str(len(cases)))

    bar = LiveProgress([c.id for c in cases], "cases")

    def progress(index: int, total: int, result: CaseResult) -> None:
        word, colour = PROGRESS_WORDS[result.verdict]
        line = (
            f"[{index:>{width}}/{total}] {click.style(word, fg=colour, bold=True)} "
            f"{result.case.id} ({result.duration_ms / 1000:.2f} s)"
        )
        if result.reason and result.verdict != "compatible":
            line += f": {result.reason}"
        bar.done(line)

    log = VendorLog(folder / "results.jsonl")
    log.start(
        adapter=adapter,
        cases=cases,
        run_id=run_id,
        expectations_file=str(expectations_file) if expectations_file else None,
        timeout=timeout,
    )

    def wrap_up() -> None:
        log.close()  # an interrupted run's log stays without its end record
        finish(out, run_id, folder / "results.jsonl", counts=_case_counts, details=_findings)

    status = execute(
        lambda: (
            run_cases(
                adapter,
                cases,
                timeout=timeout,
                give_up_after=give_up_after,
                expectations=expectations,
                progress=progress,
                log=log,
            ).exit_status
        ),
        bar,
        wrap_up=wrap_up,
        noun="cases",
        target_errors=(AdapterSetupError,),
        target_words="error",
    )
    sys.exit(status)


@click.command("adapters")
def adapters_command() -> None:
    """List the named adapters of check-authenticator --adapter, and whether each is installed."""
    from conformance.vendor.registry import adapter_entries

    for entry in adapter_entries():
        missing = entry.missing()
        state = "installed" if missing is None else f"NOT INSTALLED: {missing}"
        click.secho(entry.name, bold=True, nl=False)
        click.echo(f"  {entry.kind}  {entry.title}")
        click.echo(f"    {state}")


def _case_counts(log: RunLog, summary: Summary) -> str:
    """``189 cases, 180 compatible, 9 refused``: the first matrix verdict of each case."""
    verdicts: dict[str, int] = {}
    for check in log.checks:
        for cell in check.matrix[:1]:
            verdicts[cell.verdict] = verdicts.get(cell.verdict, 0) + 1
    n_a = summary.counts.get("not_applicable", 0)
    counts = ", ".join(f"{n} {v.replace('_', ' ')}" for v, n in verdicts.items())
    if n_a:
        counts += f", {n_a} not applicable"
    return f"{summary.total} cases, {counts}"


def _findings(log: RunLog, summary: Summary) -> list[str]:
    """The plain-language findings, under the verdict."""
    return [f"  {finding.severity.upper():7} {finding.text}" for finding in log.findings]


__all__ = ["FAMILIES", "adapters_command", "check_authenticator"]
