"""Accounts: sign-in tells nobody whether an account exists, and a lock is mailed.

The contract answers a wrong password with 401 ``invalid_credentials`` "also
for an unknown email". These checks hold a known and an unknown address to
the same answers on a first wrong password and after many (a lock that only
known accounts get tells an attacker which accounts exist), and the owner of a
locked account to a mail about it.

What is compared is what a client sees: the status, the error code and
message, the body's keys, ``Retry-After`` and the content type. Response time
is measured too (medians over interleaved tries, a generous bound), as
evidence and to catch a server that skips the password hash for unknown
addresses; the reference server's own code path is held to the same
statements for both by a server test (``tests/server/test_enumeration.py``),
since over HTTP a small difference would drown in noise.
"""

from __future__ import annotations

import secrets
import statistics
import time
from typing import Any, Final

from conformance.checks import CheckContext, Step, check
from conformance.http import Exchange
from conformance.session import MAIL_WAIT_SECONDS, PASSWORD, RS_AGENT, V5_AGENT, check_seed

WRONG_PASSWORD: Final = "not-the-password-1"  # noqa: S105 - a deliberately wrong password
#: Wrong passwords tried when the target declares no password lock.
UNDECLARED_MAX_FAILURES: Final = 10
#: Interleaved timing rounds (a known and an unknown address each).
TIMING_ROUNDS: Final = 15
#: The medians may differ by this factor and this many milliseconds before it counts.
TIMING_RATIO: Final = 2.0
TIMING_MARGIN_MS: Final = 20.0


def declared_password_failures(ctx: CheckContext) -> int:
    password = ctx.run.policy.get("throttle", {}).get("password", {})
    value = password.get("max_failures") if isinstance(password, dict) else None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return int(value)
    return UNDECLARED_MAX_FAILURES


def unknown_address() -> str:
    """An address no seed has (fresh each call)."""
    return f"nobody-{secrets.token_hex(4)}@conformance.test"


def signature(answer: Exchange) -> dict[str, Any]:
    """What a client can tell from an answer: status, error, body keys, headers."""
    body: dict[str, Any] = answer.body if isinstance(answer.body, dict) else {}
    found = body.get("error")
    error: dict[str, Any] = found if isinstance(found, dict) else {}
    return {
        "status": answer.status,
        "code": error.get("code"),
        "message": error.get("message"),
        "body_keys": sorted(body),
        "error_keys": sorted(error),
        "retry_after": answer.headers.get("Retry-After"),
        "content_type": answer.headers.get("Content-Type"),
    }


def _sign_in(ctx: CheckContext, email: str, password: str) -> Exchange:
    return ctx.run.http.post("/api/v1/auth/sign-in", {"email": email, "password": password})


def _differences(known: Exchange, unknown: Exchange) -> list[str]:
    a, b = signature(known), signature(unknown)
    return [f"{key}: known {a[key]!r}, unknown {b[key]!r}" for key in a if a[key] != b[key]]


def _compare(step: Step, label: str, known: Exchange, unknown: Exchange) -> bool:
    differences = _differences(known, unknown)
    if differences:
        step.exchange(known)
        step.exchange(unknown)
        step.fail(
            f"{label}: a known and an unknown email answered differently "
            f"({'; '.join(differences)}): an attacker learns which accounts exist"
        )
        return False
    return True


@check(
    "accounts-sign-in-reveals-no-account",
    "Answer a known and an unknown email alike, on a first wrong password and after many",
    plan="accounts",
    requirements=("SEED-07", "THR-01"),
    killed_by=("unknown_emails_never_lock",),
)
def sign_in_reveals_no_account(ctx: CheckContext) -> None:
    """A wrong password for a known and for an unknown email: the same status, error
    code and message, body keys, ``Retry-After`` and content type, on the first try and
    on each of the declared ``throttle.password.max_failures`` + 1 tries (an unknown
    address must lock like a known one, or neither shows a lock). Then the medians of
    their response times may not differ by more than 2x and 20 ms."""
    tries = declared_password_failures(ctx) + 1
    run = ctx.run
    run.fresh_start(check_seed(V5_AGENT, RS_AGENT))
    known, unknown = V5_AGENT, unknown_address()
    with ctx.step("A first wrong password: the same answer", ("SEED-07",)) as step:
        first_known = step.exchange(_sign_in(ctx, known, WRONG_PASSWORD))
        first_unknown = step.exchange(_sign_in(ctx, unknown, WRONG_PASSWORD))
        step.evidence(known=signature(first_known), unknown=signature(first_unknown))
        if _compare(step, "the first wrong password", first_known, first_unknown):
            step.note(f"both answered {first_known.describe()}")
    with ctx.step(
        f"{tries} more wrong passwords each: the same answers, lock included",
        ("SEED-07", "THR-01"),
    ) as step:
        answers: list[str] = []
        for n in range(1, tries + 1):
            k = _sign_in(ctx, known, WRONG_PASSWORD)
            u = _sign_in(ctx, unknown, WRONG_PASSWORD)
            answers.append(k.describe())
            if not _compare(step, f"wrong password {n + 1}", k, u):
                break
        step.evidence(answers=answers)
        locked = [a for a in answers if a.startswith("423")]
        step.note(
            f"both answered {answers[0]} then {locked[0]}" if locked else f"both: {answers[-1]}"
        )
    with ctx.step("Response times: medians of interleaved tries", ("SEED-07",)) as step:
        _timing(ctx, step)


def _timing(ctx: CheckContext, step: Step) -> None:
    """A known address (its count reset by its right password each round) and a fresh
    unknown one per round, in alternating order; compare the medians."""
    known_ms: list[float] = []
    unknown_ms: list[float] = []
    for n in range(TIMING_ROUNDS):
        order = [("known", RS_AGENT), ("unknown", unknown_address())]
        for kind, email in order if n % 2 == 0 else reversed(order):
            started = time.perf_counter()
            answer = _sign_in(ctx, email, WRONG_PASSWORD)
            elapsed = (time.perf_counter() - started) * 1000
            if answer.status != 401:
                step.exchange(answer)
                step.skip(f"a timing try answered {answer.describe()}, not 401: not compared")
                return
            (known_ms if kind == "known" else unknown_ms).append(elapsed)
        _sign_in(ctx, RS_AGENT, PASSWORD)  # the right password: the count starts again
    known, unknown = statistics.median(known_ms), statistics.median(unknown_ms)
    step.evidence(
        rounds=TIMING_ROUNDS,
        known_median_ms=round(known, 2),
        unknown_median_ms=round(unknown, 2),
        bound=f"x{TIMING_RATIO} and {TIMING_MARGIN_MS} ms",
    )
    slow, fast = max(known, unknown), min(known, unknown)
    if slow > fast * TIMING_RATIO and slow - fast > TIMING_MARGIN_MS:
        which = "known" if known > unknown else "unknown"
        step.fail(
            f"sign-in with a {which} email takes {slow:.1f} ms (median) against "
            f"{fast:.1f} ms: the time tells whether an account exists"
        )
        return
    step.note(f"medians {known:.1f} ms (known) and {unknown:.1f} ms (unknown)")


@check(
    "accounts-lock-is-mailed-to-the-owner",
    "Mail the owner of an account whose sign-in wrong passwords lock",
    plan="accounts",
    requirements=("THR-03",),
    killed_by=("sign_in_lock_not_mailed",),
)
def lock_is_mailed_to_the_owner(ctx: CheckContext) -> None:
    """Wrong passwords until sign-in answers 423 (at most the declared
    ``throttle.password.max_failures`` + 1): then a mail reaches the account's
    address (RFC 4226 §7.2: "initiate a procedure to inform the user") carrying no
    code and not the password tried."""
    tries = declared_password_failures(ctx) + 1
    run = ctx.run
    run.fresh_start(check_seed(V5_AGENT))
    agent = run.agent()
    before = len(agent.mails())
    with ctx.step("Wrong passwords until sign-in is locked", ("THR-03",)) as step:
        answers = []
        for _ in range(tries):
            answer = agent.sign_in(WRONG_PASSWORD)
            answers.append(answer.describe())
            if answer.status == 423:
                break
        step.evidence(answers=answers)
        if answers[-1] != "423 account_locked":
            step.stop(f"sign-in answered {answers[-1]} after {len(answers)} wrong passwords")
        step.note(f"locked after {len(answers) - 1} wrong passwords")
    with ctx.step("The account's owner gets a mail about it", ("THR-03",)) as step:
        mails = agent.new_mails(before)
        if not mails:
            step.stop(f"no mail reached {agent.email} within {MAIL_WAIT_SECONDS:.0f} s")
        mail = mails[0]
        step.evidence(subject=mail.get("subject"), mails=len(mails))
        step.expect(not mail.get("code"), "the lock mail carries a 6-digit code")
        body = str(mail.get("body", ""))
        step.expect(WRONG_PASSWORD not in body, "the lock mail repeats the password tried")
        step.note(f"mailed: {mail.get('subject')!r}")
