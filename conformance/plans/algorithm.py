"""Algorithm, parameters and time mapping through the verifier (checklist §1).

Every check here needs only the verifier capability (and the clock where it
says so), so every target is judged by them: the reference server, real
peers, a team's own driver.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from conformance.checks import CheckContext, Step, check
from conformance.drivers.seam import Capability, Credential, Verdict
from conformance.measure import Prober, Sample
from simulators.hotp import DIGEST_BYTES, HASHES, CodeGenerator

VERIFIER = (Capability.VERIFIER,)
TIMED = (Capability.VERIFIER, Capability.CLOCK)

#: Where the check's controlled instants begin (the first step start from here).
BASE_TIME: Final = 2_000_000_040
#: Controlled instants after the step edges, in increasing order: the 2^31 and 2^32 time
#: boundaries, the RFC 6238 year-2603 vector time, and a time step that itself needs more
#: than 32 bits (RFC 6238 §4.2).
BOUNDARY_TIMES: Final = (
    ("2^31 (2038-01-19 03:14:08Z)", 2_147_483_648),
    ("2^32 (2106-02-07 06:28:16Z)", 4_294_967_296),
    ("20000000000 (2603-10-11, RFC 6238 Appendix B)", 20_000_000_000),
    # T = 4_333_333_333 > 2^32: a server that keeps a 32-bit counter fails here.
    ("a time step beyond 2^32 (year 6089)", 130_000_000_000),
)


def controlled_times(period: int) -> list[tuple[str, int]]:
    """A step's first second and the last second of the next step (two steps apart, in the
    target's own period), then the boundary times."""
    first = -(-BASE_TIME // period) * period
    return [
        ("a step's first second", first),
        ("a step's last second", first + 2 * period - 1),
        *BOUNDARY_TIMES,
    ]


def _year(unix_time: float) -> int:
    return datetime.fromtimestamp(min(unix_time, 253_402_300_799), UTC).year


@check(
    "algorithm-codes-accepted-at-controlled-times",
    "Accept the reference algorithm's code at controlled server times",
    plan="algorithm",
    requirements=("ALG-01", "ALG-02", "ALG-05", "ALG-08"),
    needs=TIMED,
    killed_by=("counter_32bit",),
)
def codes_accepted_at_controlled_times(ctx: CheckContext) -> None:
    """The code the RFC algorithm computes for the server's own time is accepted,
    at step edges and beyond 32-bit time. A time the target's clock cannot reach
    (CPython under libfaketime stops in 2262) is a skipped step with the reason."""
    driver = ctx.run.verifier
    clock = driver.clock
    if clock is None:
        ctx.not_applicable("the target's clock cannot be moved")
    parameters = ctx.run.measured.parameters
    times = controlled_times(parameters.period)
    prober = Prober(driver, parameters, start=times[0][1] - 200)
    with ctx.step("Provision a credential", ("URI-09",)) as step:
        credential, _ = prober.fresh(10)
        step.evidence(credential=credential.label, parameters=credential.parameters.describe())
    try:
        for label, instant in times:
            with ctx.step(
                f"Log in at {label}", ("ALG-05", "ALG-08"), on_failure="continue"
            ) as step:
                if instant > clock.max_time:
                    step.skip(
                        f"the target's clock cannot be moved to {_year(instant)}: it stops at "
                        f"{_year(clock.max_time)}"
                    )
                    continue
                prober.set_time(instant)
                code = credential.code_at(instant)
                answer = step.answer(prober.submit(credential, code))
                step.evidence(
                    server_time=instant,
                    step=credential.step_at(instant),
                    code=code,
                    answer=answer.describe(),
                )
                step.expect(answer.accepted, f"the correct code was {answer.describe()}")
    finally:
        prober.drop(credential)


@check(
    "algorithm-provisioning-declares-parameters",
    "Provision the algorithm, digits and period the server verifies with",
    plan="algorithm",
    requirements=("ALG-03", "ALG-07", "ALG-09", "URI-05", "URI-06", "URI-07", "SEC-01", "SEC-02"),
    needs=VERIFIER,
    killed_by=("short_secret",),
)
def provisioning_declares_parameters(ctx: CheckContext) -> None:
    """Ask for SHA1, SHA256 and SHA512, 7 and 8 digits and a 60 s period, one at a
    time: a target may refuse what it does not support, but what it provisions must
    be what it hands out (the otpauth URI, the fields beside it) and what it
    verifies (a code computed with those parameters is accepted). The secret is at
    least 128 bits (RFC 4226 R6) and, preferably, as long as the HMAC output. The
    lists of what worked are the target's ``supported`` parameters."""
    run = ctx.run
    trials = run.measured.parameter_trials()
    for trial in trials:
        title = f"Provision {trial.asked.describe()}"
        with ctx.step(
            title, ("ALG-07", "ALG-09", "URI-05", "URI-06", "URI-07"), on_failure="continue"
        ) as step:
            step.evidence(**trial.as_dict())
            if trial.sample is not None:
                step.answer(trial.sample.answer)
            if trial.unsupported is not None:
                step.note(f"not supported: {trial.unsupported}")
                continue
            if trial.handed_out != trial.asked:
                shown = trial.handed_out.describe() if trial.handed_out else "nothing"
                step.fail(f"asked for {trial.asked.describe()}, the server handed out {shown}")
            fields = {k: trial.fields.get(k) for k in ("algorithm", "digits", "period")}
            if all(v is not None for v in fields.values()):
                said = (str(fields["algorithm"]).upper(), fields["digits"], fields["period"])
                asked = (trial.asked.algorithm, trial.asked.digits, trial.asked.period)
                step.expect(said == asked, f"the fields beside the URI say {said}, not {asked}")
            if trial.sample is not None and not trial.sample.accepted:
                step.fail(
                    f"a code computed with {trial.asked.describe()} was "
                    f"{trial.sample.answer.describe()}: users get codes the server never accepts"
                )
            if trial.supported:
                step.note(f"supported: {trial.asked.describe()}")
    baseline = next((t for t in trials if t.unsupported is None), None)
    declared = run.declared
    with ctx.step("The default credential matches the declared parameters", ("ALG-07",)) as step:
        totp = (declared or {}).get("totp")
        if baseline is None:
            step.stop("the target provisioned no credential at all")
        if isinstance(totp, dict) and baseline.handed_out is not None:
            parameters = run.measured.parameters
            provisioned = next(
                (t for t in trials if t.asked == parameters and t.unsupported is None), None
            )
            step.evidence(declared=totp)
            step.expect(
                provisioned is not None and provisioned.supported,
                f"the declared parameters {parameters.describe()} do not provision and verify",
            )
        else:
            step.note("the target declares no TOTP parameters")
    with ctx.step("The secret is long enough", ("SEC-01", "SEC-02")) as step:
        size = baseline.secret_bytes or 0
        algorithm = baseline.handed_out.algorithm if baseline.handed_out else "SHA1"
        step.evidence(secret_bytes=size, provisioned_by=baseline.provisioned_by)
        if baseline.provisioned_by == "harness":
            step.note(f"the harness wrote a {size * 8}-bit secret: the target makes none")
        else:
            step.expect(size >= 16, f"the secret is {size * 8} bits, under 128 (RFC 4226 R6)")
            if size < DIGEST_BYTES[algorithm]:
                step.warn(
                    f"the secret is {size} bytes, shorter than the {algorithm} output "
                    f"({DIGEST_BYTES[algorithm]} bytes, RFC 6238 §5.1)"
                )


@check(
    "algorithm-other-hash-refused",
    "Refuse a code computed with another hash than the provisioned one",
    plan="algorithm",
    requirements=("ALG-07", "ALG-09"),
    needs=VERIFIER,
    killed_by=("any_hash_accepted",),
)
def other_hash_refused(ctx: CheckContext) -> None:
    """A code made with the right secret but a different HMAC hash is refused
    (each on a fresh credential, so a lock cannot explain the refusal); the right
    code of a fresh credential is accepted, so a target that refuses everything
    cannot pass."""
    measured = ctx.run.measured
    prober = measured.prober
    algorithm = measured.parameters.algorithm
    for other in HASHES:
        if other == algorithm:
            continue
        credential, at = prober.fresh(10)
        try:
            p = credential.parameters
            wrong = CodeGenerator(
                credential.key, digits=p.digits, algorithm=other, period=p.period
            ).code_at(at)
            right = credential.code_at(at)
            if wrong == right:
                continue  # the two hashes happen to agree here: no evidence either way
            with ctx.step(f"Submit the {other} code", ("ALG-07", "ALG-09")) as step:
                answer = step.answer(prober.submit(credential, wrong))
                step.evidence(code=wrong, right_code=right, answer=answer.describe())
                step.expect(answer.refused, f"a code computed with {other} was {answer.describe()}")
        finally:
            prober.drop(credential)
    with ctx.step("The right code of a fresh credential is accepted", ("ALG-05",)) as step:
        _control(ctx, prober, step)


def _control(ctx: CheckContext, prober: Prober, step: Step) -> Sample:
    """The current code of a fresh credential: it must be accepted."""
    credential, at = prober.fresh(10)
    try:
        code = credential.code_at(at)
        answer = prober.submit(credential, code)
    finally:
        prober.drop(credential)
    step.answer(answer)
    step.evidence(code=code, answer=answer.describe())
    step.expect(answer.accepted, f"the right code was {answer.describe()}")
    return Sample(0, at % prober.period, at, credential.step_at(at), code, answer)


#: The code-format variants: label, the transport form needed, the consequence if accepted.
FORMAT_VARIANTS = (
    ("as a JSON number", "json_number"),
    ("as full-width digits", "non_ascii_digits"),
    ("with a space inside", "whitespace"),
    ("without its leading zero", None),
)


def _variant(label: str, code: str) -> str | int:
    if label == "as a JSON number":
        return int(code)
    if label == "as full-width digits":
        return code.translate({ord(d): 0xFF10 + int(d) for d in "0123456789"})
    if label == "with a space inside":
        return code[:3] + " " + code[3:]
    return code[1:]


def _credential_with_leading_zero(prober: Prober) -> tuple[Credential, float]:
    """A fresh credential and a time (mid-step) at which its code starts with 0.

    With a clock, the clock moves to the first such step (about one in ten); in
    real time, fresh credentials are made until one shows such a code now.
    """
    for _ in range(60):
        credential, at = prober.fresh(10)
        if not prober.real_time:
            later = next(
                (
                    at + k * prober.period
                    for k in range(200)
                    if credential.code_at(at + k * prober.period).startswith("0")
                ),
                None,
            )
            if later is not None:
                prober.set_time(later)
                prober.move_on(later)
                return credential, later
        elif credential.code_at(at).startswith("0"):
            return credential, at
        prober.drop(credential)
    raise AssertionError("60 credentials without a leading-zero code: the odds are 1 in 500")


@check(
    "algorithm-code-format-is-strict",
    "Refuse codes that are not exactly the digits the device shows",
    plan="algorithm",
    requirements=("ALG-03", "ALG-04"),
    severity="warning",
    needs=VERIFIER,
    killed_by=("lenient_code_format",),
)
def code_format_is_strict(ctx: CheckContext) -> None:
    """The right code as a JSON number, as full-width digits, with a space inside or
    without its leading zero is refused (each on a fresh credential whose code starts
    with 0). A lenient parser is a departure from what the digits shown mean, not a
    break of a MUST: a warning. Forms the target's transport cannot carry (a JSON
    number through a PAM prompt) are skipped steps."""
    driver = ctx.run.verifier
    prober = ctx.run.measured.prober
    with ctx.step("The right code of a fresh credential is accepted", ("ALG-05",)) as step:
        _control(ctx, prober, step)
    for label, form in FORMAT_VARIANTS:
        with ctx.step(f"Submit the code {label}", on_failure="continue") as step:
            if form is not None and form not in driver.code_forms:
                step.skip(f"the target's interface cannot carry a code {label}")
                continue
            credential, at = _credential_with_leading_zero(prober)
            try:
                code = credential.code_at(at)
                value = _variant(label, code)
                answer = prober.submit(credential, value)
            finally:
                prober.drop(credential)
            step.answer(answer)
            step.evidence(code=code, submitted=value, answer=answer.describe())
            if answer.verdict is Verdict.ERROR:
                step.fail(f"the code {label} made the target fail: {answer.describe()}")
            elif answer.accepted:
                step.warn(
                    f"the code {label} was accepted: the server compares something other than "
                    "the digits the app shows, so a mistyped or transformed code can log in"
                )
            else:
                step.note(f"refused: {answer.describe()}")
