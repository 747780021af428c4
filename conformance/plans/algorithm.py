"""Algorithm and time mapping through the target (checklist §1)."""

from __future__ import annotations

from conformance.checks import CheckContext, check
from conformance.session import V5_AGENT, check_seed, start_with_enrolled_agent
from simulators.hotp import DIGEST_BYTES, HASHES, CodeGenerator

#: Controlled instants after the check's base time, in increasing order (the
#: replay rule forbids going back): a step start, the last second of a step,
#: the 2^31 and 2^32 time boundaries, the RFC 6238 year-2603 vector time, and a
#: time step that itself needs more than 32 bits (RFC 6238 §4.2).
CONTROLLED_TIMES = (
    ("a step's first second", 2_000_000_040),
    ("a step's last second", 2_000_000_099),
    ("2^31 (2038-01-19 03:14:08Z)", 2_147_483_648),
    ("2^32 (2106-02-07 06:28:16Z)", 4_294_967_296),
    ("20000000000 (2603-10-11, RFC 6238 Appendix B)", 20_000_000_000),
    # T = 4_333_333_333 > 2^32: a server that keeps a 32-bit counter fails here.
    ("a time step beyond 2^32 (year 6089)", 130_000_000_000),
)


@check(
    "algorithm-codes-accepted-at-controlled-times",
    "Accept the reference algorithm's code at controlled server times",
    plan="algorithm",
    requirements=("ALG-01", "ALG-02", "ALG-05", "ALG-08"),
)
def codes_accepted_at_controlled_times(ctx: CheckContext) -> None:
    """The code the RFC algorithm computes for the server's own time is accepted,
    at step edges and beyond 32-bit time."""
    run = ctx.run
    agent, device, account = start_with_enrolled_agent(ctx, requirements=("URI-09",))
    for label, instant in CONTROLLED_TIMES:
        with ctx.step(f"Log in at {label}", ("ALG-05", "ALG-08"), on_failure="continue") as step:
            run.set_time(instant)
            code = device.code_now()
            step.evidence(server_time=instant, step=account.step_at(instant), code=code)
            if step.expect_status(agent.sign_in(), 200):
                step.expect_status(agent.submit_otp(code), 200)


@check(
    "algorithm-provisioning-declares-parameters",
    "Provision the algorithm, digits and period the server verifies with",
    plan="algorithm",
    requirements=("ALG-07", "URI-05", "URI-06", "URI-07", "SEC-02"),
)
def provisioning_declares_parameters(ctx: CheckContext) -> None:
    """The otpauth URI, the device fields and the declared policy agree, and the
    secret is as long as the HMAC output."""
    run = ctx.run
    run.fresh_start(check_seed(V5_AGENT))
    agent = run.agent()
    with ctx.step("Reach the connect-device stage", ("ENR-02",)) as step:
        step.expect_status(agent.sign_in(), 200)
        step.expect_status(agent.start_enrollment(), 202)
        step.expect_status(agent.verify_email(agent.latest_email_code()), 200)
        step.expect_status(agent.get_device(), 200)
    info = agent.provisioning
    device = run.device()
    with ctx.step(
        "Compare URI, fields and policy", ("ALG-07", "URI-05", "URI-06", "URI-07")
    ) as step:
        account = agent.provision(device)
        if account is None:
            step.stop("the RFC reference device cannot import the provisioning URI")
        algorithm, digits, period = run.totp_parameters
        step.evidence(
            uri_parameters=[account.algorithm, account.digits, account.period],
            fields=[info.get("algorithm"), info.get("digits"), info.get("period")],
            policy=[algorithm, digits, period],
        )
        step.expect(
            (account.algorithm, account.digits, account.period)
            == (str(info.get("algorithm")).upper(), info.get("digits"), info.get("period")),
            "the URI's parameters differ from the device fields",
        )
        step.expect(
            (account.algorithm, account.digits, account.period) == (algorithm, digits, period),
            "the URI's parameters differ from the declared policy",
        )
    with ctx.step("The secret is as long as the HMAC output", ("SEC-01", "SEC-02")) as step:
        size = len(account.key)
        step.evidence(secret_bytes=size)
        step.expect(size >= 16, f"the secret is {size * 8} bits, under 128 (RFC 4226 R6)")
        if size < DIGEST_BYTES[account.algorithm]:
            step.warn(f"the secret is {size} bytes, shorter than the {account.algorithm} output")


@check(
    "algorithm-other-hash-refused",
    "Refuse a code computed with another hash than the provisioned one",
    plan="algorithm",
    requirements=("ALG-07", "ALG-09"),
)
def other_hash_refused(ctx: CheckContext) -> None:
    """A code made with the right secret but a different HMAC hash is refused."""
    run = ctx.run
    agent, _, account = start_with_enrolled_agent(ctx)
    run.advance(120)
    with ctx.step("Sign in", ("SEC-09",)) as step:
        step.expect_status(agent.sign_in(), 200)
    now = run.clock.now()
    right = account.code_at(now)
    tried = 0
    for algorithm in HASHES:
        if algorithm == account.algorithm:
            continue
        wrong = CodeGenerator(
            account.key, digits=account.digits, algorithm=algorithm, period=account.period
        ).code_at(now)
        if wrong == right:
            continue  # the two hashes happen to agree here: no evidence either way
        tried += 1
        with ctx.step(f"Submit the {algorithm} code", ("ALG-07", "ALG-09")) as step:
            step.evidence(code=wrong, right_code=right)
            step.expect_refused(agent.submit_otp(wrong), "otp_invalid")


@check(
    "algorithm-code-format-is-strict",
    "Refuse codes that are not exactly the digits the device shows",
    plan="algorithm",
    requirements=("ALG-03", "ALG-04"),
)
def code_format_is_strict(ctx: CheckContext) -> None:
    """The right code without its zero padding, as full-width digits, as a JSON
    number, or with spaces is refused as malformed."""
    run = ctx.run
    agent, device, _ = start_with_enrolled_agent(ctx)
    run.advance(60)
    with ctx.step("Sign in") as step:
        step.expect_status(agent.sign_in(), 200)
    code = device.code_now()
    variants: list[tuple[str, object]] = [
        ("as a JSON number", int(code)),
        ("as full-width digits", code.translate({ord(d): 0xFF10 + int(d) for d in "0123456789"})),
        ("with a space inside", code[:3] + " " + code[3:]),
        ("one digit short", code[1:]),
    ]
    for label, value in variants:
        with ctx.step(f"Submit the code {label}", on_failure="continue") as step:
            exchange = agent.call("POST", "/api/v1/auth/otp", {"code": value})
            step.expect_status(exchange, 400, "malformed_code")
    with ctx.step("The right code is still accepted afterwards", ("ALG-05",)) as step:
        step.expect_status(agent.submit_otp(code), 200)
