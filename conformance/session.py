"""The run context: the target, a mirror of its clock, fresh seeds and agents.

Checks speak the v1 contract through ``Agent`` (one person at one client) and
provision simulated authenticator devices from what the server hands out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from conformance.checks import CheckContext, HarnessError, Step
from conformance.drivers.seam import Capability, Driver
from conformance.http import Exchange, HttpClient
from conformance.measured import MeasuredTarget
from conformance.target import Harness, Target
from simulators.clock import Clock, ManualClock, SkewedClock
from simulators.device import Account, AuthenticatorDevice, ProvisioningRefused

#: A step boundary (2_000_000_010 / 30 = 66_666_667) in 2033: checks start here,
#: ten seconds into a step, so no check straddles a boundary by accident.
BASE_TIME: Final = 2_000_000_010 + 10
PASSWORD: Final = "conformance-password-1"  # noqa: S105 - a test agent's password
#: How long a check waits for a mail a target sends after its answer (a delivery, not a
#: time step: the reference server hands its notices to SMTP once the response is sent).
MAIL_WAIT_SECONDS: Final = 5.0
_MAIL_POLL_SECONDS: Final = 0.05

#: The seed every check starts from: one admin, agents on both Remote Support
#: seats and one on another seat, every device group at the minimum, 2FA on.
CHECK_SEED: Final[dict[str, Any]] = {
    "agents": [
        {
            "email": "admin@conformance.test",
            "password": PASSWORD,
            "seat": "account_admin",
            "role": "admin",
        },
        {
            "email": "v5@conformance.test",
            "password": PASSWORD,
            "seat": "remote_support_v5",
            "role": "agent",
        },
        {
            "email": "rs@conformance.test",
            "password": PASSWORD,
            "seat": "remote_support",
            "role": "agent",
        },
        {
            "email": "other@conformance.test",
            "password": PASSWORD,
            "seat": "rescue_lens",
            "role": "agent",
        },
    ],
    "device_groups": [{"name": "Support desk", "version": "4.3", "build": 1575}],
    "two_factor_required": True,
}


V5_AGENT: Final = "v5@conformance.test"
RS_AGENT: Final = "rs@conformance.test"
OTHER_SEAT_AGENT: Final = "other@conformance.test"
ADMIN: Final = "admin@conformance.test"


def check_seed(
    *emails: str,
    two_factor_required: bool = True,
    device_groups: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The check seed with only the agents named (a reset hashes every password: ~40 ms each)."""
    agents = [a for a in CHECK_SEED["agents"] if a["email"] in emails]
    if len(agents) != len(emails):
        raise HarnessError(f"the check seed has no agent among {emails}")
    return {
        "agents": agents,
        "device_groups": device_groups or CHECK_SEED["device_groups"],
        "two_factor_required": two_factor_required,
    }


class RunContext:
    """What every check of one run against one target shares.

    The flow checks speak the v1 contract through ``target`` (with its harness
    endpoints); the verifier checks go through ``driver``, the target seam, and
    share its measurements (``measured``). A target without the v1 contract has
    no ``target``; the checks that need it are not applicable there.
    """

    def __init__(self, target: Target | None, *, driver: Driver | None = None) -> None:
        self._target = target
        self.driver = driver
        #: Mirror of the server's harness clock: devices read it (through skew).
        self.clock = ManualClock(BASE_TIME)
        self._policy: dict[str, Any] | None = None
        self._measured: MeasuredTarget | None = None
        #: The run folder (the result log's folder), set by the runner: checks write their
        #: attachments (screenshots) under it, with paths relative to it. None: keep no files.
        self.output_dir: Path | None = None

    @property
    def target(self) -> Target:
        """The v1-contract target (the product flow)."""
        if self._target is None:
            raise HarnessError("this check needs the v1 contract's product flow")
        return self._target

    @property
    def http(self) -> HttpClient:
        return self.target.http

    @property
    def name(self) -> str:
        """The target's name in the report."""
        if self.driver is not None:
            return self.driver.name
        return "embedded" if self.target.kind == "embedded" else self.target.base_url

    @property
    def capabilities(self) -> frozenset[Capability]:
        if self.driver is not None:
            return self.driver.capabilities
        return frozenset({Capability.FLOW}) if self._target is not None else frozenset()

    @property
    def has_harness(self) -> bool:
        """Whether the v1 target has the /__harness__ endpoints (seeds, mailbox, clock)."""
        return self._target is not None and self._target.harness is not None

    @property
    def verifier(self) -> Driver:
        """The target's driver: the verifier checks' way in."""
        if self.driver is None:
            raise HarnessError("this check needs a target driver (the verifier capability)")
        return self.driver

    @property
    def measured(self) -> MeasuredTarget:
        """The target's measurements, shared by the checks that judge them."""
        if self.driver is None:
            raise HarnessError("this check needs a target driver (the verifier capability)")
        if self._measured is None:
            self._measured = MeasuredTarget(self.driver, self.declared)
        return self._measured

    @property
    def measurements(self) -> MeasuredTarget | None:
        """The measurements taken so far, if any (for the result log)."""
        return self._measured

    @property
    def harness(self) -> Harness:
        harness = self.target.harness
        if harness is None:
            raise HarnessError("this check needs the /__harness__ endpoints")
        return harness

    @property
    def declared(self) -> dict[str, Any] | None:
        """The target's declared policy, or None when it declares none."""
        if self.driver is not None:
            return self.driver.declared_policy()
        return self.policy if self.has_harness else None

    @property
    def policy(self) -> dict[str, Any]:
        """The v1 target's declared policy (empty without harness endpoints)."""
        if self._policy is None:
            if self.driver is not None and self._target is None:
                self._policy = self.driver.declared_policy() or {}
            else:
                harness = self.target.harness
                self._policy = harness.policy() if harness else {}
        return self._policy

    @property
    def totp_parameters(self) -> tuple[str, int, int]:
        totp = self.policy.get("totp", {})
        return (
            str(totp.get("algorithm", "SHA1")),
            int(totp.get("digits", 6)),
            int(totp.get("period", 30)),
        )

    def fresh_start(self, seed: dict[str, Any] | None = None, at: float = BASE_TIME) -> None:
        """A fresh database with ``seed`` (the check seed by default) and the clock at ``at``."""
        self.harness.reset(seed or CHECK_SEED)
        self.set_time(at)

    def set_time(self, unix_seconds: float) -> None:
        self.clock.set(self.harness.set_time(unix_seconds))

    def advance(self, seconds: float) -> None:
        self.clock.set(self.harness.advance(seconds))

    def agent(
        self, email: str = V5_AGENT, *, client: str = "web", version: str = "4.3.1575"
    ) -> Agent:
        return Agent(self, email, PASSWORD, client, version)

    def device(
        self, profile: str = "rfc-reference", *, skew: float = 0.0, drift_ppm: float = 0.0
    ) -> AuthenticatorDevice:
        clock: Clock = self.clock
        if skew or drift_ppm:
            clock = SkewedClock(self.clock, skew, drift_ppm)
        return AuthenticatorDevice(profile, clock)


@dataclass
class Agent:
    """One agent at one client, walking the contract's flow."""

    run: RunContext
    email: str
    password: str
    client: str = "web"
    version: str = "4.3.1575"
    token: str | None = None
    stage: str | None = None
    provisioning: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        headers = {"X-Client-Kind": self.client}
        if self.client != "web":
            headers["X-Client-Version"] = self.version
        return headers

    def call(
        self, method: str, path: str, body: Any = None, *, token: str | None = None
    ) -> Exchange:
        exchange = self.run.http.request(
            method, path, json_body=body, token=token or self.token, headers=self.headers
        )
        if isinstance(exchange.body, dict):
            if isinstance(exchange.body.get("token"), str):
                self.token = exchange.body["token"]
            if isinstance(exchange.body.get("next"), str):
                self.stage = exchange.body["next"]
        return exchange

    # -- the contract's calls --------------------------------------------------

    def sign_in(self, password: str | None = None) -> Exchange:
        self.token = None
        return self.call(
            "POST",
            "/api/v1/auth/sign-in",
            {"email": self.email, "password": password or self.password},
        )

    def submit_otp(self, code: str, *, token: str | None = None) -> Exchange:
        return self.call("POST", "/api/v1/auth/otp", {"code": code}, token=token)

    def start_enrollment(self) -> Exchange:
        return self.call("POST", "/api/v1/enrollment/start")

    def resend_email(self) -> Exchange:
        return self.call("POST", "/api/v1/enrollment/email/resend")

    def verify_email(self, code: str) -> Exchange:
        return self.call("POST", "/api/v1/enrollment/email/verify", {"code": code})

    def get_device(self) -> Exchange:
        exchange = self.call("GET", "/api/v1/enrollment/device")
        if exchange.status == 200 and isinstance(exchange.body, dict):
            self.provisioning = exchange.body
        return exchange

    def confirm(self, code: str) -> Exchange:
        return self.call("POST", "/api/v1/enrollment/confirm", {"code": code})

    def host_support_session(self, *, token: str | None = None) -> Exchange:
        return self.call("POST", "/api/v1/support-sessions", {}, token=token)

    def sign_out(self) -> Exchange:
        return self.call("POST", "/api/v1/auth/sign-out")

    def me(self) -> Exchange:
        return self.call("GET", "/api/v1/me")

    def reach_device_step(self, step: Step) -> None:
        """Sign in, start enrollment, verify the email: at the connect-device step."""
        if not step.expect_status(self.sign_in(), 200):
            step.stop()
        if not step.expect_status(self.start_enrollment(), 202):
            step.stop()
        if not step.expect_status(self.verify_email(self.latest_email_code()), 200):
            step.stop()

    def mails(self) -> list[dict[str, Any]]:
        """Every mail the harness mailbox holds for this agent, oldest first."""
        return self.run.harness.mailbox(self.email)

    def new_mails(self, before: int, *, wait: float = MAIL_WAIT_SECONDS) -> list[dict[str, Any]]:
        """The mails after the first ``before``, waiting up to ``wait`` seconds for one."""
        deadline = time.monotonic() + wait
        while True:
            mails = self.mails()[before:]
            if mails or time.monotonic() >= deadline:
                return mails
            time.sleep(_MAIL_POLL_SECONDS)

    def latest_email_code(self) -> str:
        mails = [m for m in self.run.harness.mailbox(self.email) if m.get("code")]
        if not mails:
            raise HarnessError(f"no verification mail with a code reached {self.email}")
        return str(mails[-1]["code"])

    # -- whole flows, recorded into a step ----------------------------------------

    def enroll(self, device: AuthenticatorDevice, step: Step, *, typed: bool = False) -> Account:
        """Sign in, verify the email, provision ``device``, confirm: a bound device.

        Every answer is kept as evidence in ``step``; a wrong answer fails it and
        leaves the step.
        """
        signed_in = self.stage in ("enroll", "verify_otp", "done") and self.token is not None
        if not signed_in and not step.expect_status(self.sign_in(), 200):
            step.stop()
        if not step.expect_status(self.start_enrollment(), 202):
            step.stop()
        if not step.expect_status(self.verify_email(self.latest_email_code()), 200):
            step.stop()
        if not step.expect_status(self.get_device(), 200):
            step.stop()
        account = self.provision(device, typed=typed)
        if account is None:
            step.stop(f"{device.profile.title} refused what the server handed out")
        code = device.code_now()
        step.evidence(setup_code=code, setup_step=account.step_at(device.clock.now()))
        if not step.expect_status(self.confirm(code), 200):
            step.stop()
        step.note(f"enrolled {self.email} with {device.profile.name}")
        return account

    def provision(self, device: AuthenticatorDevice, *, typed: bool = False) -> Account | None:
        info = self.provisioning
        try:
            if typed:
                return device.provision_from_key(
                    str(info.get("manual_key", "")),
                    account=str(info.get("account", self.email)),
                    issuer=info.get("issuer"),
                    algorithm=str(info.get("algorithm", "SHA1")),
                    digits=int(info.get("digits", 6)),
                    period=int(info.get("period", 30)),
                )
            return device.provision_from_uri(str(info.get("otpauth_uri", "")))
        except (ProvisioningRefused, ValueError):
            return None

    def log_in(self, device: AuthenticatorDevice, step: Step) -> bool:
        """Password, then the device's current code: a full token."""
        if not step.expect_status(self.sign_in(), 200):
            return False
        return step.expect_status(self.submit_otp(device.code_now()), 200)


def run_context_for(driver: Driver) -> RunContext:
    """The run context of a driver's target (the reference driver keeps its own)."""
    existing = getattr(driver, "run", None)
    if isinstance(existing, RunContext):
        existing.driver = driver
        return existing
    return RunContext(driver.flow, driver=driver)


def start_with_enrolled_agent(
    ctx: CheckContext, *, requirements: tuple[str, ...] = (), seed: dict[str, Any] | None = None
) -> tuple[Agent, AuthenticatorDevice, Account]:
    """The usual prologue: a fresh seed (by default the v5 agent alone), then that agent
    enrolled with the RFC reference device."""
    run = ctx.run
    run.fresh_start(seed or check_seed(V5_AGENT))
    agent, device = run.agent(), run.device()
    with ctx.step("Enroll an agent with the RFC reference device", requirements) as step:
        account = agent.enroll(device, step)
    return agent, device, account
