"""``twofa interop``: every server's parameter sets, handed to every app, judged."""

from __future__ import annotations

import shlex
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

import click

from conformance.progress import LiveProgress
from conformance.skeleton import USAGE_ERROR, execute, finish, open_run_folder

if TYPE_CHECKING:
    from conformance.drivers.seam import TotpParameters
    from conformance.interop.engine import App, CellResult, Server
    from reports import RunLog, Summary

#: Verdict → the word a progress line shows, and its colour on a terminal.
WORDS: Final = {
    "works": ("OK    ", "green"),
    "silently_wrong": ("WRONG ", "red"),
    "refused": ("REFUSED", "yellow"),
    "failed": ("FAILED", "magenta"),
    "not_applicable": ("N/A   ", None),
}


def _names(text: str | None) -> list[str]:
    return [] if text is None else [n.strip() for n in text.split(",") if n.strip()]


def choose_servers(text: str | None) -> list[Server]:
    """The servers ``--servers`` names (default: every shipped driver that is installed).

    An unknown name is a usage error listing the names; a named server not installed is
    exit 2 with its missing line; unnamed ones not installed are skipped, saying why.
    """
    from conformance.drivers import SHIPPED, TargetSpecError, parse_target
    from conformance.interop.engine import Server

    named = _names(text)
    chosen = []
    for name in named or list(SHIPPED):
        try:
            spec = parse_target(name)
        except TargetSpecError:
            raise click.UsageError(
                f"unknown server {name!r}: give one of {', '.join(SHIPPED)} or FILE.py[:CLASS] "
                "(a driver of your own)"
            ) from None
        if spec.url is not None:
            raise click.UsageError(f"--servers {name!r}: interop moves the clock, give no URL")
        if _installed("server", spec.name, spec.missing(), named=bool(named)):
            chosen.append(Server(spec.name, spec))
    return chosen


def _installed(kind: str, name: str, missing: str | None, *, named: bool) -> bool:
    """Whether a server or app is there to try; one named but not installed is exit 2 with
    its missing line, one not named is skipped, saying why."""
    if missing is None:
        return True
    if named:
        click.echo(f"twofa: error: {kind} {name!r}: {missing}", err=True)
        sys.exit(USAGE_ERROR)
    click.echo(f"twofa interop: skipping {name}: {missing}", err=True)
    return False


def choose_apps(text: str | None, jsonl: Sequence[str]) -> list[App]:
    """The apps ``--apps`` names and ``--jsonl`` adds (default: every installed adapter).

    Unknown names are a usage error listing the names; a named app not installed is exit 2
    with its missing line; unnamed ones not installed are skipped, saying why.
    """
    from conformance.interop.engine import App
    from conformance.vendor.adapters import AdapterSetupError, JsonLinesAdapter
    from conformance.vendor.registry import adapter_entries

    entries = {e.name: e for e in adapter_entries()}
    named = _names(text)
    unknown = [n for n in named if n not in entries]
    if unknown:
        raise click.UsageError(
            f"unknown app {unknown[0]!r}: give one of {', '.join(entries)} "
            "(or --jsonl CMD for a program of your own)"
        )
    # Every app checked before any is started: an exit leaves no adapter process behind.
    wanted = [
        entries[name]
        for name in named or ([] if jsonl else list(entries))
        if _installed("app", name, entries[name].missing(), named=bool(named))
    ]
    apps: list[App] = []
    try:
        for entry in wanted:
            apps.append(App(entry.name, entry.title, entry.build()))
        for command in jsonl:
            argv = shlex.split(command)
            name = _jsonl_name(argv, command, {app.name for app in apps})
            apps.append(App(name, command, JsonLinesAdapter(argv)))
    except AdapterSetupError as exc:
        for app in apps:
            app.adapter.close()
        click.echo(f"twofa: error: {exc}", err=True)
        sys.exit(USAGE_ERROR)
    return apps


def _jsonl_name(argv: Sequence[str], command: str, taken: set[str]) -> str:
    """``jsonl:vendor_adapter.py``: a program of one's own, by its script (else its command)
    and the arguments after it; a number when that name is taken."""
    scripts = [i for i, a in enumerate(argv) if a.endswith((".py", ".js", ".mjs", ".rb", ".pl"))]
    at = scripts[0] if scripts else 0
    name = f"jsonl:{' '.join([Path(argv[at]).name, *argv[at + 1 :]]) if argv else command}"
    numbered, n = name, 2
    while numbered in taken:
        numbered, n = f"{name} #{n}", n + 1
    return numbered


@click.command("interop")
@click.option(
    "--servers",
    "servers_text",
    default=None,
    metavar="A,B,...",
    help="Servers: shipped driver names ('twofa targets') or FILE.py[:CLASS]; default: every "
    "installed one.",
)
@click.option(
    "--apps",
    "apps_text",
    default=None,
    metavar="X,Y,...",
    help="Apps: adapter names (real implementations and profile:NAME models); default: every "
    "installed one.",
)
@click.option(
    "--jsonl",
    "jsonl",
    multiple=True,
    metavar="CMD",
    help="An app of your own speaking JSON lines (docs/vendor-adapter.md), repeatable; with "
    "no --apps, only these apps run.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("out/interop"),
    show_default=True,
    help="Root folder: the run writes OUT/<run-id>/ and OUT/latest names the newest run.",
)
@click.option(
    "--timeout",
    type=float,
    default=5.0,
    show_default=True,
    help="Seconds an app may take for one account (provisioning and its code).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 8),
    default=2,
    show_default=True,
    help="Servers tried at once (each has its own clock).",
)
def interop_command(
    servers_text: str | None,
    apps_text: str | None,
    jsonl: tuple[str, ...],
    out: Path,
    timeout: float,
    workers: int,
) -> None:
    """Hand what each server issues to each app and submit the app's codes to the server.

    For every server and each parameter set it can issue (its default and the other
    algorithms, digits and periods its configuration allows), the app is given exactly what
    the server hands a user (the QR code decoded from its pixels, or the otpauth URI), its
    code at a controlled time (the server's clock is that same time) is submitted, and a
    device behind and ahead by the server's declared window follows. Each cell: works,
    refused by the app, silently wrong (the app showed a code the server refused), failed
    or not applicable, with the side at fault by the standards. Exit 1 when a cell is
    silently wrong or failed; 2 for wrong arguments or a named server or app not installed.
    """
    from conformance.drivers.seam import DriverError
    from conformance.interop.engine import label, plan_jobs, run_interop
    from conformance.interop.log import InteropLog, group_findings

    if not timeout > 0:
        raise click.UsageError("--timeout must be a positive number of seconds")
    servers = choose_servers(servers_text)
    if not servers:
        click.echo("twofa: error: no server is installed: run 'make peers'", err=True)
        sys.exit(USAGE_ERROR)
    apps = choose_apps(apps_text, jsonl)
    if not apps:
        click.echo("twofa: error: no app is installed: run 'make peers'", err=True)
        sys.exit(USAGE_ERROR)
    run_id, folder = open_run_folder(out)
    click.echo(
        f"twofa interop {run_id}: {len(servers)} servers x {len(apps)} apps "
        f"({', '.join(s.name for s in servers)}; {', '.join(a.name for a in apps)}), "
        f"writing {folder}",
        err=True,
    )
    log = InteropLog(folder / "results.jsonl")
    log.start(
        run_id=run_id,
        servers=[s.name for s in servers],
        apps=[a.name for a in apps],
        timeout=timeout,
    )
    jobs = plan_jobs(servers, workers)
    bar = LiveProgress([job.name for job in jobs], "server starts")
    printing = threading.Lock()
    started = time.monotonic()

    def say(line: str, *, done: bool = False) -> None:
        with printing:
            (bar.done if done else bar.line)(line)

    def on_set(server: str, parameters: TotpParameters, results: list[CellResult]) -> None:
        tally: dict[str, int] = {}
        for result in results:
            tally[result.judgement.verdict] = tally.get(result.judgement.verdict, 0) + 1
        counts = ", ".join(f"{n} {v.replace('_', ' ')}" for v, n in tally.items())
        say(f"{server} {label(parameters)}: {len(results)} apps: {counts}")
        for result in results:
            word, colour = WORDS[result.judgement.verdict]
            if result.judgement.verdict in ("silently_wrong", "failed", "refused"):
                say(
                    f"    {click.style(word, fg=colour, bold=True)} {result.app}: "
                    f"{result.judgement.reason}"
                )

    def body() -> int:
        with tempfile.TemporaryDirectory(prefix="twofa-interop-") as workdir:
            run_interop(
                jobs,
                apps,
                Path(workdir),
                timeout=timeout,
                on_cell=log.cell,
                on_set=on_set,
                note=lambda server, text: say(f"twofa interop: {server}: {text}"),
                on_job=lambda job: say(
                    f"twofa interop: {job.name} done ({time.monotonic() - started:.0f} s)",
                    done=True,
                ),
                workers=workers,
            )
        return log.end(group_findings(log.results))

    def wrap_up() -> None:
        for app in apps:
            app.adapter.close()
        log.close()  # an interrupted run's log stays without its end record
        finish(out, run_id, folder / "results.jsonl", counts=_counts, details=_details)

    status = execute(
        body,
        bar,
        wrap_up=wrap_up,
        noun="cells",
        target_errors=(DriverError,),
        target_words="a server failed",
    )
    sys.exit(status)


def _counts(log: RunLog, summary: Summary) -> str:
    """``430 cells, 300 works, 20 silently wrong, ...``: the verdicts of the cells."""
    verdicts: dict[str, int] = {}
    for check in log.checks:
        verdict = str((check.variant or {}).get("verdict", check.outcome))
        verdicts[verdict] = verdicts.get(verdict, 0) + 1
    counts = ", ".join(f"{n} {v.replace('_', ' ')}" for v, n in verdicts.items())
    return f"{len(log.checks)} cells" + (f", {counts}" if counts else "")


def _details(log: RunLog, summary: Summary) -> list[str]:
    """The findings, then every silently wrong pair with the side at fault."""
    lines = [f"  {f.severity.upper():7} {f.text}" for f in log.findings]
    wrong = [c for c in log.checks if (c.variant or {}).get("verdict") == "silently_wrong"]
    if wrong:
        lines.append(f"  silently wrong pairs ({len(wrong)}):")
        for check in wrong:
            v = check.variant or {}
            lines.append(
                f"    {v.get('server')} {v.get('parameters')} x {v.get('app')} "
                f"(fault: {v.get('fault')})"
            )
    return lines


__all__ = ["choose_apps", "choose_servers", "interop_command"]
