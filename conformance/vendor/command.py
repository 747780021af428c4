"""``twofa check-authenticator``: run the case matrix against a vendor's code generator."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Final

import click

from conformance.progress import LiveProgress
from conformance.vendor.cases import FAMILIES, select_cases

#: Verdict → the word a progress line shows, and its colour on a terminal.
PROGRESS_WORDS: Final = {
    "compatible": ("OK     ", "green"),
    "silently_wrong": ("WRONG  ", "red"),
    "refused": ("REFUSED", "yellow"),
    "failed": ("FAILED ", "magenta"),
    "not_applicable": ("N/A    ", None),
}
USAGE_ERROR: Final = 2


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
    from conformance.vendor.runner import CaseResult, VendorLog, run_cases
    from reports import create_run_folder
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
        for name, v in (("--jsonl", jsonl), ("--command", command_template), ("--profile", profile))
        if v is not None
    ]
    if len(chosen) != 1:
        raise click.UsageError(
            "give exactly one of --jsonl CMD, --command TEMPLATE, --profile NAME"
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
        adapter = AdapterSpec(jsonl=jsonl, command=command_template, profile=profile).build()
    except UnknownProfileError as exc:
        raise click.UsageError(str(exc)) from None
    except AdapterSetupError as exc:
        click.echo(f"twofa: error: {exc}", err=True)
        sys.exit(USAGE_ERROR)
    try:
        run_id, folder = create_run_folder(out)
    except OSError as exc:
        click.echo(f"twofa: error: cannot create a run folder in {out}: {exc}", err=True)
        sys.exit(USAGE_ERROR)
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
    try:
        with bar:
            run = run_cases(
                adapter,
                cases,
                timeout=timeout,
                give_up_after=give_up_after,
                expectations=expectations,
                progress=progress,
                log=log,
            )
    except AdapterSetupError as exc:
        log.close()
        click.echo(f"twofa: error: {exc}", err=True)
        _finish(out, run_id, folder)
        sys.exit(USAGE_ERROR)
    except KeyboardInterrupt:
        log.close()
        click.echo("twofa: interrupted; the reports show the cases that ended", err=True)
        _finish(out, run_id, folder)
        sys.exit(130)
    _finish(out, run_id, folder)
    sys.exit(run.exit_status)


def _finish(root: Path, run_id: str, folder: Path) -> None:
    """Render the reports, point ``latest`` at the run, print the findings and the paths."""
    from reports import ResultLogError, load_log, point_latest, summarize, write_reports
    from reports.html_page import VERDICT_TEXT

    log_path = folder / "results.jsonl"
    try:
        log = load_log(log_path)
        written = write_reports(log_path)
    except (ResultLogError, OSError) as exc:
        click.echo(f"twofa: error: cannot write the reports: {exc}", err=True)
        return
    try:
        latest = f"{point_latest(root, run_id)} -> {run_id}"
    except OSError as exc:
        latest = f"not updated ({exc})"
    summary = summarize(log)
    verdicts: dict[str, int] = {}
    for check in log.checks:
        for cell in check.matrix[:1]:
            verdicts[cell.verdict] = verdicts.get(cell.verdict, 0) + 1
    n_a = summary.counts.get("not_applicable", 0)
    counts = ", ".join(f"{n} {v.replace('_', ' ')}" for v, n in verdicts.items())
    if n_a:
        counts += f", {n_a} not applicable"
    click.echo(
        f"{VERDICT_TEXT[summary.verdict]}: {summary.total} cases, {counts} "
        f"({len(summary.unexpected)} unexpected)"
    )
    for finding in log.findings:
        click.echo(f"  {finding.severity.upper():7} {finding.text}")
    click.echo(f"wrote {folder}/: {', '.join(p.name for p in [log_path, *written.values()])}")
    click.echo(f"latest: {latest}")
    click.echo(f"report: {written['html']}")


__all__ = ["FAMILIES", "check_authenticator"]
