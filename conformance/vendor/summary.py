"""Plain-language findings: what a run's verdicts mean for the people using the app.

"SHA256 accepted but codes computed with SHA1: servers issuing SHA256
secrets will lock these users out." One finding per distinct problem, most
dangerous first (silently wrong, then failures, then refusals), each with
the cases that show it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from conformance.vendor.cases import PROVISIONINGS, URI_FORMS, Case
from conformance.vendor.dialect_cases import DialectCase
from records import model

if TYPE_CHECKING:
    from conformance.vendor.runner import CaseResult
    from conformance.vendor.verdicts import Diagnosis

Severity = model.FindingSeverity
#: Case ids listed per finding; the count says how many there are.
MAX_LISTED: Final = 8


@dataclass(frozen=True)
class Finding:
    severity: Severity
    text: str
    cases: tuple[str, ...]
    #: How many cases show it (``cases`` lists the first few).
    count: int

    def record(self) -> model.FindingRecord:
        """The finding as the result log has it."""
        return model.FindingRecord(
            severity=self.severity, text=self.text, checks=tuple(self.cases), count=self.count
        )


def _value_words(name: str, value: str) -> str:
    """A parameter value as people say it: 'SHA256', '8 digits', 'a 60 s period'."""
    if name == "algorithm":
        return value
    if name == "digits":
        return f"{value} digits"
    if name == "period":
        return f"a {value} s period"
    if name == "secret bits":
        return f"{value}-bit secrets"
    if name == "URI form":
        return f"a scanned URI with {URI_FORMS[value]}"
    if name == "provisioning":
        return f"a {PROVISIONINGS[value]}"
    return f"{name} {value}"


def _whom(name: str, value: str) -> str:
    """Whom a refusal of this value locks out."""
    if name == "algorithm":
        return f"users of servers issuing {value} secrets"
    if name == "digits":
        return f"users of servers asking for {value}-digit codes"
    if name == "period":
        return f"users of servers with a {value} s period"
    if name == "secret bits":
        return f"users of servers issuing {value}-bit secrets"
    if name == "URI form":
        return "users of servers writing their URIs this way"
    return "users who type the key this way"


def _group(results: Sequence[CaseResult], text: str, severity: Severity) -> Finding:
    ids = tuple(r.case.id for r in results)
    return Finding(severity, text, ids[:MAX_LISTED], len(ids))


def _silently_wrong(results: Sequence[CaseResult]) -> list[Finding]:
    by_cause: dict[tuple[str, str, str], list[CaseResult]] = {}
    unexplained = []
    for result in results:
        diagnosis = result.diagnosis
        differences = diagnosis.differences(result.case) if diagnosis else []
        if not differences:
            unexplained.append(result)
        for difference in differences:
            by_cause.setdefault(difference, []).append(result)
    found = []
    for (name, asked, used), group in by_cause.items():
        if name == "algorithm":
            text = (
                f"{asked} accepted but codes computed with {used}: servers issuing {asked} "
                "secrets will lock these users out."
            )
        elif name == "digits":
            text = (
                f"{asked} digits accepted but the codes have {used} digits: servers asking for "
                f"{asked}-digit codes will lock these users out."
            )
        elif name == "period":
            text = (
                f"A {asked} s period accepted but codes computed with a {used} s period: servers "
                f"with a {asked} s period will refuse most of these codes."
            )
        else:
            what, when = {
                "signed32": ("the Unix time is kept in a signed 32-bit integer", "January 2038"),
                "time32": ("the Unix time is kept in 32 bits", "February 2106"),
                "clamp32": (
                    "the clock stops at 2^32 - 1 (2106-02-07 06:28:15 UTC), every later code "
                    "is that second's",
                    "February 2106",
                ),
            }.get(used, ("the time step is kept in 32 bits", "when it no longer fits"))
            text = (
                f"Codes wrong at {_times_text(_wrong_times(group))}: {what}; these users will be "
                f"locked out from {when}."
            )
        found.append(_group(group, text, "error"))
    if unexplained:
        times = _wrong_times(unexplained)
        found.append(
            _group(
                unexplained,
                "Accepted but codes wrong in a way the harness cannot name (no other algorithm, "
                f"digit count, period or 32-bit time reproduces them), at {_times_text(times)}: "
                "servers will refuse these codes.",
                "error",
            )
        )
    return found


def _wrong_times(results: Sequence[CaseResult]) -> list[int]:
    times = set()
    for result in results:
        received = result.received or []
        for t, got, want in zip(
            result.case.times, received, result.case.expected_codes, strict=False
        ):
            if got != want:
                times.add(t)
    return sorted(times)


def _times_text(times: Sequence[int]) -> str:
    shown = ", ".join(str(t) for t in times[:6])
    return shown + (f" and {len(times) - 6} more times" if len(times) > 6 else "")


def _causes(case: Case) -> list[tuple[str, str]]:
    """The dimensions where a case differs from the baseline, as (name, value)."""
    variations = case.variations()
    if case.uri_form == "padded":
        variations.pop("secret bits", None)  # only there because 160 bits have no padding
    return list(variations.items())


def _refused(results: Sequence[CaseResult]) -> list[Finding]:
    # A value refused on its own (not in a time case, the only variation) is the cause;
    # every refused case that carries it is counted with it.
    alone = {
        causes[0]
        for r in results
        if not r.case.family.startswith("time") and len(causes := _causes(r.case)) == 1
    }
    groups: dict[tuple[str, str], list[CaseResult]] = {}
    rest = []
    for result in results:
        mine = [c for c in _causes(result.case) if c in alone]
        for cause in mine:
            groups.setdefault(cause, []).append(result)
        if not mine:
            rest.append(result)
    found = []
    for (name, value), group in groups.items():
        said = next((r.refusal for r in group if r.refusal is not None), None)
        reason = f" (the app says: {said})" if said else ""
        words = _value_words(name, value)
        found.append(
            _group(
                group,
                f"{words[0].upper()}{words[1:]} refused{reason}: {_whom(name, value)} cannot "
                "add the account. That is safe (they see an error), but they need another app.",
                "warning",
            )
        )
    if rest:
        found.append(
            _group(
                rest,
                f"{len(rest)} more case(s) refused although none of their parameters is refused "
                "on its own (a combination, or a time): see the failing cases.",
                "warning",
            )
        )
    return found


def _failed(results: Sequence[CaseResult], restarts: int, timeout: float) -> list[Finding]:
    by_kind: dict[str, list[CaseResult]] = {}
    for result in results:
        cause = result.failure.kind if result.failure is not None else "garbage"
        by_kind.setdefault(cause, []).append(result)
    found = []
    for kind, group in by_kind.items():
        if kind == "crash":
            text = (
                f"The program crashed in {len(group)} case(s) (it was restarted "
                f"{restarts} time(s) in the run)"
            )
        elif kind == "timeout":
            text = f"The program did not answer within {timeout:g} s in {len(group)} case(s)"
        elif kind == "not_run":
            text = (
                f"{len(group)} case(s) were not run: the program stopped answering, "
                "so the run gave up on it"
            )
            found.append(_group(group, text, "error"))
            continue
        else:
            text = f"The program's answer could not be read in {len(group)} case(s)"
        detail = group[0].reason
        found.append(_group(group, f"{text}; first: {detail}", "error"))
    return found


def _row(case: DialectCase) -> str:
    return f"URI matrix {case.row_id} ({case.tests})"


def _defaulted_words(case: DialectCase, diagnosis: Diagnosis) -> str | None:
    """'a 1-digit, 120 s URI is imported as 6 digits / 30 s', when the harness can tell."""
    asked, used = [], []
    for name, wanted, got in diagnosis.differences(case):
        if name == "algorithm":
            asked.append(wanted)
            used.append(got)
        elif name == "digits":
            asked.append(f"{wanted}-digit")
            used.append(f"{got} digits")
        elif name == "period":
            asked.append(f"{wanted} s")
            used.append(f"{got} s")
        else:
            return None
    if not asked:
        return None
    article = "an" if asked[0].startswith(("8", "11", "18")) else "a"
    return f"{article} {', '.join(asked)} URI is imported as {' / '.join(used)}"


def _dialect_wrong(results: Sequence[CaseResult]) -> list[Finding]:
    found = []
    for result in results:
        case = result.case
        assert isinstance(case, DialectCase)
        if not case.defines_code:
            cells = "; ".join(case.reject_cells) or "it defines no code"
            text = (
                f"{_row(case)} is imported although it must be refused ({cells}): the app "
                "shows codes no server can accept, and the user is not told why."
            )
        else:
            words = _defaulted_words(case, result.diagnosis) if result.diagnosis else None
            if words is not None:
                text = f"{_row(case)}: {words}: users get codes the server never accepts."
            else:
                text = (
                    f"{_row(case)} is imported but its codes are wrong ({result.reason}): users "
                    "get codes the server never accepts."
                )
        found.append(_group([result], text, "error"))
    return found


def _dialect_refused(results: Sequence[CaseResult]) -> list[Finding]:
    found = []
    allowed = [r for r in results if r.refusal_conforms]
    for result in results:
        if result.refusal_conforms:
            continue
        case = result.case
        assert isinstance(case, DialectCase)
        said = f" (the app says: {result.refusal})" if result.refusal else ""
        found.append(
            _group(
                [result],
                f"{_row(case)} refused{said}, though every dialect that speaks accepts it: "
                "users of servers writing their URIs this way cannot add the account.",
                "warning",
            )
        )
    if allowed:
        rows = ", ".join(r.case.row_id for r in allowed if isinstance(r.case, DialectCase))
        found.append(
            _group(
                allowed,
                f"{len(allowed)} URI matrix row(s) refused, as a dialect allows or the URI "
                f"defines no code: {rows}.",
                "info",
            )
        )
    return found


def _dialect_lenient(results: Sequence[CaseResult]) -> list[Finding]:
    """Rows imported with the right code although a dialect says to reject them."""
    lenient = [r for r in results if isinstance(r.case, DialectCase) and r.case.reject_cells]
    if not lenient:
        return []
    rows = "; ".join(
        f"{r.case.row_id} ({r.case.reject_cells[0]})"
        for r in lenient
        if isinstance(r.case, DialectCase)
    )
    return [
        _group(
            lenient,
            f"{len(lenient)} URI matrix row(s) imported with the right code although a dialect "
            f"says a consumer must or should reject them: {rows}.",
            "info",
        )
    ]


def findings(
    results: Sequence[CaseResult], *, restarts: int = 0, timeout: float = 0
) -> list[Finding]:
    """The plain-language findings of a run, most dangerous first.

    Silently wrong codes come first, the URI matrix rows among them; then
    failures, refusals, and what is only information.
    """
    by_verdict: dict[str, list[CaseResult]] = {}
    rows: dict[str, list[CaseResult]] = {}
    for result in results:
        if isinstance(result.case, DialectCase):
            rows.setdefault(result.verdict, []).append(result)
        else:
            by_verdict.setdefault(result.verdict, []).append(result)
    found = _dialect_wrong(rows.get("silently_wrong", []))
    found += _silently_wrong(by_verdict.get("silently_wrong", []))
    found += _failed(by_verdict.get("failed", []) + rows.get("failed", []), restarts, timeout)
    found += _refused(by_verdict.get("refused", []))
    found += _dialect_refused(rows.get("refused", []))
    found += _dialect_lenient(rows.get("compatible", []))
    skipped = by_verdict.get("not_applicable", []) + rows.get("not_applicable", [])
    ran = len(results) - len(skipped)
    passed = [r for r in results if r.outcome == "passed"]
    if passed and len(passed) == ran:
        found.append(
            Finding(
                "info",
                f"Compatible in every case that ran ({ran}): every code equals the reference "
                "algorithm's"
                + (", and every refusal is one the URI dialects allow." if rows else "."),
                (),
                ran,
            )
        )
    by_reason: dict[str, list[CaseResult]] = {}
    for result in skipped:
        by_reason.setdefault(result.reason, []).append(result)
    for reason, group in by_reason.items():
        text = f"{len(group)} case(s) not applicable through this adapter: {reason}."
        found.append(_group(group, text, "info"))
    return found
