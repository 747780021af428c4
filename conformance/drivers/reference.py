"""The reference server, and any server of the v1 contract, through the target seam.

``embedded`` starts the reference server as its own process in harness mode
(``conformance.target.EmbeddedTarget``); a URL is any v1-contract server.
With the ``/__harness__`` endpoints the target has every capability:

- verifier: a credential is an agent the harness creates through the admin
  API, signs in, verifies by the email code from the harness mailbox and
  enrolls with the URI the connect-device step hands out; its setup code uses
  up the step it was confirmed in. A submission signs the agent in when it has
  no live partial session and posts the code to ``/api/v1/auth/otp``;
- clock: ``/__harness__/clock`` (it stands still between moves);
- declared policy: ``/__harness__/policy``;
- flow: the contract itself, for the product-flow checks.

Without the harness endpoints only the flow is there (nothing can be seeded,
so no credential can be made).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar, Final

import yaml

from conformance.drivers.seam import (
    Answer,
    Capability,
    Credential,
    Driver,
    DriverError,
    Option,
    OptionError,
    ServerClock,
    TotpParameters,
    Unsupported,
    Verdict,
    integer,
)
from conformance.http import Exchange
from conformance.session import PASSWORD, Agent, RunContext, check_seed
from conformance.target import EmbeddedTarget, Harness, Target, TargetError
from simulators.otpauth import OtpauthError, parse_uri

#: The admin the verifier's credentials are created by, and their email domain.
ADMIN_EMAIL: Final = "admin@conformance.test"
CREDENTIAL_DOMAIN: Final = "verifier.test"

#: The contract's error codes, as verdicts.
VERDICTS: Final[dict[str, Verdict]] = {
    "otp_invalid": Verdict.INVALID,
    "otp_reused": Verdict.REUSED,
    "otp_locked": Verdict.LOCKED,
    "account_locked": Verdict.LOCKED,
    "malformed_code": Verdict.MALFORMED,
}


class HarnessClock(ServerClock):
    """``/__harness__/clock``: the server's clock stands still between moves."""

    runs = False

    def __init__(self, harness: Harness, run: RunContext) -> None:
        self.harness = harness
        self.run = run

    def set(self, unix_time: float) -> None:
        # The flow checks' device clocks read the run's mirror: keep it in step.
        self.run.set_time(unix_time)

    def now(self) -> float:
        return self.run.clock.now()


class ReferenceDriver(Driver):
    """The embedded reference server (``embedded``) or a v1-contract server at a URL."""

    name = "embedded"
    title = "twofa-harness reference server (v1 contract)"
    provides = frozenset(Capability)
    reaches_urls = True
    options: ClassVar[Sequence[Option]] = (
        Option("policy", "policy YAML for the embedded server (the shape of /__harness__/policy)"),
        Option(
            "workers",
            "gunicorn worker processes of the embedded server (default: one process); they "
            "share its clock, mailbox and resets through the database",
            parse=integer(1, 16),
        ),
        Option(
            "database",
            "the embedded server's database, a SQLAlchemy URL such as "
            "postgresql+psycopg://USER@/DB?host=/SOCKET/DIR (default: a fresh SQLite file)",
        ),
    )
    code_forms = frozenset({"json_number", "non_ascii_digits", "whitespace"})
    #: What the reference server's policy takes (policy.py): every hash, 6 to 8 digits,
    #: and the two periods apps know (any of 1 to 120 s is accepted).
    variants = tuple(
        TotpParameters(algorithm, digits, period)
        for algorithm in ("SHA1", "SHA256", "SHA512")
        for digits in (6, 7, 8)
        for period in (30, 60)
    )

    @classmethod
    def variant_options(
        cls, variant: TotpParameters, given: Mapping[str, str], workdir: Path
    ) -> dict[str, str]:
        """A policy file: the one given (if any) with ``totp`` set to ``variant``."""
        policy: dict[str, Any] = {}
        if given.get("policy"):
            try:
                loaded = yaml.safe_load(Path(given["policy"]).read_text(encoding="utf-8"))
            except (OSError, yaml.YAMLError) as exc:
                raise OptionError(f"cannot read the policy file {given['policy']}: {exc}") from None
            policy = dict(loaded) if isinstance(loaded, dict) else {}
        totp = dict(policy.get("totp") or {})
        totp.update(algorithm=variant.algorithm, digits=variant.digits, period=variant.period)
        policy["totp"] = totp
        workdir.mkdir(parents=True, exist_ok=True)
        path = workdir / f"policy-{variant.algorithm}-{variant.digits}-{variant.period}.yaml"
        path.write_text(yaml.safe_dump(policy, sort_keys=False), encoding="utf-8")
        return {**given, "policy": str(path)}

    def __init__(
        self,
        options: Mapping[str, Any],
        workdir: Path,
        *,
        url: str | None = None,
        target: Target | None = None,
    ) -> None:
        super().__init__(options, workdir, url=url)
        policy = options.get("policy")
        workers = options.get("workers")
        database = options.get("database")
        if url is not None and (policy, workers, database) != (None, None, None):
            raise DriverError(
                "the policy, workers and database options configure the embedded server only"
            )
        if target is None:
            try:
                target = (
                    Target(url)
                    if url is not None
                    else EmbeddedTarget(
                        policy_file=Path(policy) if policy else None,
                        workers=workers,
                        env={"DATABASE_URL": str(database)} if database else None,
                    )
                )
            except TargetError as exc:
                raise DriverError(str(exc)) from exc
        self.target = target
        if url is not None:
            self.name = url
        self.policy_file = str(policy) if policy else None
        try:
            harness = target.harness
        except TargetError as exc:
            target.close()
            raise DriverError(str(exc)) from exc
        self.run = RunContext(target)
        self.harness = harness
        self.clock = HarnessClock(harness, self.run) if harness is not None else None
        self._admin: Agent | None = None
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    # -- capabilities ----------------------------------------------------------------

    @property
    def flow(self) -> Target:
        return self.target

    @property
    def capabilities(self) -> frozenset[Capability]:
        if self.harness is None:
            return frozenset({Capability.FLOW})
        return frozenset(Capability)

    def declared_policy(self) -> dict[str, Any] | None:
        return self.run.policy if self.harness is not None else None

    def policy_sources(self) -> dict[str, str]:
        return {"*": "GET /__harness__/policy (the server declares its own policy)"}

    @property
    def parameters(self) -> TotpParameters:
        algorithm, digits, period = self.run.totp_parameters
        return TotpParameters(algorithm, digits, period)

    def describe(self) -> dict[str, Any]:
        described = {
            **self.target.describe(),
            "name": self.name,
            "title": self.title,
            "capabilities": sorted(c.value for c in self.capabilities),
            "options": dict(self.settings),
            "clock": "/__harness__/clock" if self.clock is not None else "real time",
        }
        if self.policy_file:
            described["policy_file"] = self.policy_file
        return described

    # -- the verifier ------------------------------------------------------------------

    def _signed_in_admin(self) -> Agent:
        """The admin that creates credentials; a fresh seed when there is none yet, or when
        the server was reset since (a check's reset seeds no admin of ours)."""
        if self._admin is not None:
            if self._admin.me().status == 200:
                return self._admin
            # Its session ended (the clock moved past its lifetime: interop spans days of
            # server time). Sign in again: a reset here would delete every credential in use.
            signed = self._admin.sign_in()
            if signed.status == 200 and self._admin.stage == "done":
                return self._admin
        self.run.harness.reset(check_seed(ADMIN_EMAIL))
        # A reset puts the server's clock back to real time: keep the time the checks set.
        self.run.set_time(self.run.clock.now())
        admin = self.run.agent(ADMIN_EMAIL)
        signed = admin.sign_in()
        if signed.status != 200 or admin.stage != "done":
            raise DriverError(f"the verifier's admin cannot sign in: {signed.describe()}")
        self._admin = admin
        return admin

    def provision(self, parameters: TotpParameters) -> Credential:
        if self.harness is None:
            raise DriverError("without /__harness__ endpoints no credential can be made")
        if parameters != self.parameters:
            raise Unsupported(
                f"the server provisions {self.parameters.describe()} (its declared policy)"
            )
        with self._lock:
            admin = self._signed_in_admin()
            email = f"credential-{next(self._numbers)}@{CREDENTIAL_DOMAIN}"
        created = admin.call(
            "POST",
            "/api/v1/admin/agents",
            {"email": email, "password": PASSWORD, "seat": "remote_support_v5", "role": "agent"},
        )
        _expect(created, 201)
        agent = self.run.agent(email)
        _expect(agent.sign_in(), 200)
        _expect(agent.start_enrollment(), 202)
        _expect(agent.verify_email(agent.latest_email_code()), 200)
        _expect(agent.get_device(), 200)
        info = agent.provisioning
        uri = str(info.get("otpauth_uri", ""))
        try:
            parsed = parse_uri(uri)
            key = parsed.key()
            handed_out = TotpParameters(parsed.algorithm, parsed.digits, parsed.period)
        except OtpauthError as exc:
            raise DriverError(
                f"the connect-device answer's otpauth URI is unusable: {exc}"
            ) from exc
        now = self.now()
        credential = Credential(
            label=email,
            key=key,
            parameters=handed_out,
            created_at=now,
            uri=uri,
            fields={k: v for k, v in info.items() if k not in ("otpauth_uri", "manual_key")},
            handle={"agent": agent},
        )
        setup = credential.code_at(now)
        _expect(agent.confirm(setup), 200)
        # The setup code's step counts as used (the contract): later codes need later steps.
        credential.used_step = credential.step_at(now)
        return credential

    def submit(self, credential: Credential, code: str | int) -> Answer:
        agent: Agent = credential.handle["agent"]
        if agent.stage != "verify_otp":
            locked = self._sign_in(agent)
            if locked is not None:
                return locked
        exchange = agent.call("POST", "/api/v1/auth/otp", {"code": code})
        if exchange.error_code == "unauthenticated":
            # The partial session ended (its lifetime, or the clock moved): sign in again.
            locked = self._sign_in(agent)
            if locked is not None:
                return locked
            exchange = agent.call("POST", "/api/v1/auth/otp", {"code": code})
        return _answer(exchange)

    def _sign_in(self, agent: Agent) -> Answer | None:
        """A new partial session; a locked answer when sign-in itself is locked (423)."""
        signed = agent.sign_in()
        if signed.status == 423:
            return _answer(signed)
        if signed.status != 200 or agent.stage != "verify_otp":
            raise DriverError(f"sign-in answered {signed.describe()}, expected 200 verify_otp")
        return None

    def submit_together(self, credential: Credential, codes: Sequence[str]) -> list[Answer]:
        """One partial session per code, opened first; then every code posted at once."""
        email = credential.label
        agents = [self.run.agent(email) for _ in codes]
        for agent in agents:
            locked = self._sign_in(agent)
            if locked is not None:
                raise DriverError(f"sign-in for the parallel submissions was locked: {locked}")
        barrier = threading.Barrier(len(codes))

        def one(pair: tuple[Agent, str]) -> Answer:
            agent, code = pair
            barrier.wait()
            return _answer(agent.call("POST", "/api/v1/auth/otp", {"code": code}))

        with ThreadPoolExecutor(max_workers=len(codes)) as pool:
            return list(pool.map(one, zip(agents, codes, strict=True)))

    def close(self) -> None:
        self.target.close()


def _expect(exchange: Exchange, status: int) -> None:
    if exchange.status != status:
        raise DriverError(
            f"{exchange.method} {exchange.path} answered {exchange.describe()}, expected {status}"
        )


def _answer(exchange: Exchange) -> Answer:
    retry = exchange.headers.get("Retry-After")
    retry_after = float(retry) if retry and retry.replace(".", "", 1).isdigit() else None
    evidence = {"http": exchange.evidence()}
    if exchange.status == 200:
        return Answer(Verdict.ACCEPTED, exchange.describe(), evidence)
    if exchange.status >= 500 or exchange.status < 400:
        return Answer(Verdict.ERROR, exchange.describe(), evidence)
    verdict = VERDICTS.get(exchange.error_code or "", Verdict.REFUSED)
    return Answer(verdict, exchange.describe(), evidence, retry_after)
