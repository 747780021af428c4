"""Gating: device-group versions, old clients and the seats 2FA covers (the seed)."""

from __future__ import annotations

from typing import Any

from conformance.checks import CheckContext, check
from conformance.plans.sessions import expect_second_factor_required
from conformance.session import (
    ADMIN,
    OTHER_SEAT_AGENT,
    PASSWORD,
    RS_AGENT,
    V5_AGENT,
    Agent,
    check_seed,
)

#: The contract's default minimum client, for targets that declare none.
DEFAULT_MINIMUM = ("4.3", 1575)
UNKNOWN_EMAIL = "nobody@conformance.test"


def declared_minimum(ctx: CheckContext) -> tuple[str, int]:
    minimum = ctx.run.policy.get("minimum_client")
    if isinstance(minimum, dict) and "version" in minimum and "build" in minimum:
        return str(minimum["version"]), int(minimum["build"])
    return DEFAULT_MINIMUM


def group_id(groups: Any, name: str) -> int | None:
    """The id of the device group called ``name`` in a ``GET device-groups`` answer."""
    found = [g.get("id") for g in groups or [] if isinstance(g, dict) and g.get("name") == name]
    return found[0] if found and isinstance(found[0], int) else None


@check(
    "gating-outdated-device-groups-block-2fa",
    "Refuse to turn 2FA on while a device group is below the minimum version",
    plan="gating",
    requirements=("SEED-02",),
    killed_by=("no_version_gating",),
)
def outdated_device_groups_block_2fa(ctx: CheckContext) -> None:
    """With 2FA off and one device group a build below the minimum, turning 2FA on
    is 409 ``device_groups_outdated`` naming that group and the minimum, and changes
    nothing; once the group is moved up it works; then a group cannot move below."""
    run = ctx.run
    version, build = declared_minimum(ctx)
    groups = [
        {"name": "At the minimum", "version": version, "build": build},
        {"name": "One build below", "version": version, "build": build - 1},
    ]
    run.fresh_start(check_seed(ADMIN, two_factor_required=False, device_groups=groups))
    admin = run.agent(ADMIN)
    with ctx.step("The admin signs in (2FA is off: password only)") as step:
        step.expect_status(admin.sign_in(), 200)
        listed = step.exchange(admin.call("GET", "/api/v1/admin/device-groups"))
        below = group_id(listed.body, "One build below")
        if below is None:
            step.stop("the device group list does not name the seeded groups")
    with ctx.step("Turning 2FA on is refused, naming the outdated group") as step:
        answer = admin.call("PUT", "/api/v1/admin/settings", {"two_factor_required": True})
        if step.expect_status(answer, 409, "device_groups_outdated"):
            error = answer.body["error"]
            named = [g.get("name") for g in error.get("groups", []) if isinstance(g, dict)]
            step.evidence(groups_named=named, minimum=error.get("minimum"))
            step.expect(named == ["One build below"], f"the refusal names {named}")
            step.expect(
                error.get("minimum") == {"version": version, "build": build},
                f"the refusal gives the minimum as {error.get('minimum')}",
            )
        settings = step.exchange(admin.call("GET", "/api/v1/admin/settings"))
        step.expect(
            settings.field("two_factor_required") is False,
            "2FA is on after the refusal",
        )
    with ctx.step("Move the group to the minimum; now 2FA turns on") as step:
        path = f"/api/v1/admin/device-groups/{below}"
        step.expect_status(admin.call("PATCH", path, {"build": build}), 200)
        answer = admin.call("PUT", "/api/v1/admin/settings", {"two_factor_required": True})
        step.expect_status(answer, 200)
        step.expect(answer.field("two_factor_required") is True, "the answer says 2FA is off")
    with ctx.step(
        "While 2FA is on, no group moves below the minimum", on_failure="continue"
    ) as step:
        answer = admin.call("PATCH", f"/api/v1/admin/device-groups/{below}", {"build": build - 1})
        step.expect_refused(answer, "device_group_below_minimum", "device_groups_outdated")


@check(
    "gating-old-clients-must-upgrade",
    "Send desktop and mobile clients below the minimum to upgrade",
    plan="gating",
    requirements=("SEED-02",),
    needs_harness=False,
    killed_by=("no_version_gating",),
)
def old_clients_must_upgrade(ctx: CheckContext) -> None:
    """Sign-in from a desktop app one build below the minimum and from an older
    mobile version is 426 ``client_upgrade_required`` with ``minimum_version``; at
    the minimum, a newer minor version and the web get an ordinary answer (401 for
    the unknown email used). Runs without harness endpoints (contract minimum)."""
    version, build = declared_minimum(ctx)
    major, minor = version.split(".")
    minimum = f"{version}.{build}"
    too_old = [("desktop", f"{version}.{build - 1}"), ("mobile", f"{major}.{int(minor) - 1}.9999")]
    recent = [
        ("desktop", minimum),
        ("mobile", f"{major}.{int(minor) + 1}.0"),
        ("web", ""),
    ]
    for kind, client_version in too_old:
        with ctx.step(
            f"A {kind} app at {client_version} must upgrade", on_failure="continue"
        ) as step:
            answer = Agent(ctx.run, UNKNOWN_EMAIL, PASSWORD, kind, client_version).sign_in()
            if step.expect_status(answer, 426, "client_upgrade_required"):
                given = answer.body["error"].get("minimum_version")
                step.expect(given == minimum, f"minimum_version is {given!r}, not {minimum!r}")
    for kind, client_version in recent:
        shown = client_version or "(no version)"
        with ctx.step(f"A {kind} app at {shown} may sign in", on_failure="continue") as step:
            answer = Agent(ctx.run, UNKNOWN_EMAIL, PASSWORD, kind, client_version).sign_in()
            step.expect_status(answer, 401, "invalid_credentials")
    with ctx.step("A desktop app without a usable version is a 400", on_failure="continue") as step:
        answer = Agent(ctx.run, UNKNOWN_EMAIL, PASSWORD, "desktop", version).sign_in()
        step.expect_refused(answer, "malformed_client_version")
        step.expect(answer.status == 400, f"answered {answer.describe()}, expected 400")


@check(
    "gating-remote-support-seats-need-the-second-factor",
    "Ask the second factor of both Remote Support seats and of no other seat",
    plan="gating",
    requirements=("SEED-01", "ENR-14"),
    killed_by=("remote_support_seat_ungated",),
)
def remote_support_seats_need_the_second_factor(ctx: CheckContext) -> None:
    """With 2FA on, agents on the Remote Support v5 and Remote Support seats are sent
    to enrollment and cannot host with the password alone; an agent on another seat
    (Rescue Lens) signs in with the password and hosts."""
    run = ctx.run
    run.fresh_start(check_seed(V5_AGENT, RS_AGENT, OTHER_SEAT_AGENT))
    for email, seat in ((V5_AGENT, "remote_support_v5"), (RS_AGENT, "remote_support")):
        agent = run.agent(email)
        with ctx.step(f"A {seat} agent is sent to enrollment", on_failure="continue") as step:
            step.expect_status(agent.sign_in(), 200)
            step.expect(agent.stage == "enroll", f"the sign-in went to {agent.stage!r}")
            answer = agent.host_support_session()
            expect_second_factor_required(step, answer, run.policy)
    other = run.agent(OTHER_SEAT_AGENT)
    with ctx.step("A rescue_lens agent signs in with the password and hosts") as step:
        step.expect_status(other.sign_in(), 200)
        step.expect(other.stage == "done", f"the sign-in went to {other.stage!r}")
        step.expect_status(other.host_support_session(), 201)
