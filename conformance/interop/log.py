"""The result log of ``twofa interop`` (docs/result-log.md): one check per cell, findings.

A cell is a ``check`` record: its plan is the server and parameter set, its
``variant`` names the server, parameter set, app, verdict and side at fault (the
report's server x app matrices are drawn from it), its steps carry the evidence
(the URI as handed out, redacted of its secret at write; the app's answer; each
code's server answer). Findings are ``finding`` records, one per sentence, naming
the cells that show it. Every record goes through ``records.redact`` as written.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from conformance.interop.engine import CellResult, label
from conformance.interop.judge import VERDICT_ORDER, CellVerdict
from conformance.results import provenance
from records import Outcome, RecordFile, model

#: A cell's verdict → its check's outcome. A refusal is a warning: the user is told.
OUTCOME_OF: Final[dict[CellVerdict, Outcome]] = {
    "works": Outcome.PASSED,
    "silently_wrong": Outcome.FAILED,
    "refused": Outcome.WARNING,
    "failed": Outcome.ERROR,
    "not_applicable": Outcome.NOT_APPLICABLE,
}
#: The requirements of a URI that misstates the server's parameters.
URI_RULES: Final = frozenset({"URI-03", "URI-05", "URI-06", "URI-07"})
#: The verdicts that make the run fail: an app showing codes the server refuses, an error.
UNEXPECTED: Final = frozenset({"silently_wrong", "failed"})
#: The first few cells a finding names (``count`` says how many there are).
FINDING_CHECKS: Final = 10


def plan_of(result: CellResult) -> str:
    return f"{result.server} {label(result.parameters)}"


def _step(
    n: int,
    title: str,
    requirements: Sequence[str],
    failed: bool,
    message: str,
    evidence: dict[str, Any],
) -> model.Step:
    return model.Step(
        n=n,
        title=title,
        requirements=tuple(requirements),
        outcome=Outcome.FAILED if failed else Outcome.PASSED,
        message=message,
        on_failure="stop",
        evidence=evidence,
    )


def _steps(result: CellResult) -> tuple[model.Step, ...]:
    """Provisioning, the app's answer, then each code submitted: the cell's evidence."""
    judgement, handed, stated = result.judgement, result.handed, result.stated
    if handed is None:
        return ()
    real = result.parameters
    how = "a QR code (decoded from its pixels)" if handed.source == "qr" else "an otpauth URI"
    states = None
    if stated is not None:
        states = {
            "algorithm": stated.algorithm,
            "digits": stated.digits,
            "period": stated.period,
            "omitted": sorted(stated.omitted),
        }
    misstated = judgement.side == "server" and bool(set(judgement.requirements) & URI_RULES)
    steps = [
        _step(
            1,
            f"The server provisions {real.describe()}",
            ("URI-05", "URI-06", "URI-07"),
            misstated,
            f"handed out as {how}",
            {
                "uri": handed.uri,
                "handed_out_as": handed.source,
                "verifies": {
                    "algorithm": real.algorithm,
                    "digits": real.digits,
                    "period": real.period,
                },
                "uri_states": states,
                "fields": result.fields,
            },
        )
    ]
    app_failed = judgement.verdict == "refused" or (
        judgement.verdict == "failed" and judgement.side == "app"
    )
    answer = result.app_answer or judgement.reason
    steps.append(
        _step(
            2,
            f"The app ({result.app}) is given it",
            ("URI-01",),
            app_failed,
            answer,
            {"app": result.app, "answer": answer},
        )
    )
    for probe in result.probes:
        said = probe.answer
        assert said is not None
        steps.append(
            _step(
                len(steps) + 1,
                f"The app's code {probe.describe()}, submitted",
                ("ALG-05", "WIN-01") if probe.offset == 0 else ("WIN-02",),
                not said.accepted,
                said.describe(),
                {
                    "server_time": probe.server_time,
                    "device_time": probe.server_time + probe.offset,
                    "skew_seconds": probe.offset,
                    "code": probe.app_code,
                    "app_code_is_the_uris": probe.matches_uri,
                    "app_code_is_the_servers": probe.matches_server,
                    "server_answer": said.describe(),
                    **said.evidence,
                },
            )
        )
    return tuple(steps)


@dataclass
class FindingGroup:
    """One sentence and the cells that show it."""

    side: str
    subject: str
    text: str
    verdict: CellVerdict
    cells: list[CellResult] = field(default_factory=list)

    @property
    def sentence(self) -> str:
        """The finding, the side at fault, and where: a server's sets with the apps that
        showed it, or an app's sets with the servers it showed on."""
        sets: dict[str, list[str]] = {}
        for cell in self.cells:
            other = cell.app if self.side == "server" else cell.server
            found = sets.setdefault(label(cell.parameters), [])
            if other not in found:
                found.append(other)
        word = "with" if self.side == "server" else "on"
        where = "; ".join(f"at {s} {word} {', '.join(others)}" for s, others in sets.items())
        at_fault = "the server" if self.side == "server" else "the app"
        return f"{self.subject}: {self.text} ({at_fault} is at fault; {where})"


def group_findings(results: Sequence[CellResult]) -> list[FindingGroup]:
    """The findings of the failing cells, most dangerous verdict first."""
    groups: dict[tuple[str, str, str, str], FindingGroup] = {}
    for result in results:
        j = result.judgement
        if j.verdict in ("works", "not_applicable") or j.side is None:
            continue
        subject = result.server if j.side == "server" else result.app
        for text in j.findings:
            key = (j.verdict, j.side, subject, text)
            group = groups.setdefault(key, FindingGroup(j.side, subject, text, j.verdict))
            group.cells.append(result)
    return sorted(groups.values(), key=lambda g: VERDICT_ORDER.index(g.verdict))


class InteropLog:
    """Writes the run, one check per cell, the findings and the end record (thread-safe)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = RecordFile(path)
        self._lock = threading.Lock()  # the workers' results list
        self.results: list[CellResult] = []

    def _write(self, record: model.Record) -> None:
        self._file.write(record)

    def start(
        self, *, run_id: str, servers: Sequence[str], apps: Sequence[str], timeout: float
    ) -> None:
        self._write(
            model.RunRecord(
                **provenance("interop", run_id),
                target=model.TargetInfo(kind="interop", title="servers x apps"),
                policy=None,
                seed=None,
                plans=(),
                variant={"servers": list(servers), "apps": list(apps), "timeout_seconds": timeout},
                expectations_file=None,
            )
        )

    def cell(self, result: CellResult) -> None:
        j = result.judgement
        with self._lock:
            self.results.append(result)
        self._write(
            model.CheckRecord(
                id=result.id,
                title=f"{result.app} with {result.server} at {result.parameters.describe()}",
                plan=plan_of(result),
                requirements=j.requirements,
                severity="error",
                outcome=OUTCOME_OF[j.verdict],
                reason=j.reason,
                expected=None,
                started_at=result.started_at,
                duration_ms=round(result.duration_ms, 1),
                steps=_steps(result),
                attachments=(),
                charts=(),
                variant={
                    "server": result.server,
                    "parameters": label(result.parameters),
                    "app": result.app,
                    "verdict": j.verdict,
                    "fault": j.side,
                },
            )
        )

    def end(self, findings: Sequence[FindingGroup]) -> int:
        """The findings and the end record; the exit status (1: a cell silently wrong or failed)."""
        for group in findings:
            self._write(
                model.FindingRecord(
                    severity="error" if group.verdict == "silently_wrong" else "warning",
                    text=group.sentence,
                    checks=tuple(c.id for c in group.cells[:FINDING_CHECKS]),
                    count=len(group.cells),
                )
            )
        counts = {o.value: 0 for o in Outcome}
        for result in self.results:
            counts[OUTCOME_OF[result.judgement.verdict].value] += 1
        unexpected = tuple(r.id for r in self.results if r.judgement.verdict in UNEXPECTED)
        status = 1 if unexpected else 0
        self._write(
            model.EndRecord(
                finished_at=time.time(), counts=counts, unexpected=unexpected, exit_status=status
            )
        )
        self.close()
        return status

    def close(self) -> None:
        self._file.close()


__all__ = ["OUTCOME_OF", "FindingGroup", "InteropLog", "group_findings", "plan_of"]
