"""Servers x apps: each server's parameter sets, handed to each app, its codes submitted.

For each server (a target driver) and each parameter set it can issue, a fresh
credential is made by the server's own provisioning; the app is given exactly
what the server hands a user (the QR code decoded from its pixels where the server
draws one, else its otpauth URI; a library that reads no URI takes the URI's key
and stated parameters, as its integrator would); the app's code at a controlled
time is submitted to the server, whose clock is set to that same time. A device
behind and ahead by the server's declared window follows when the first code works.

Each submission stands on a time slot of its own, an hour after the last, so no
probe's step is near another's (no replay or drift carried over); a credential
serves the apps one after another while the server accepts their codes and is
replaced after a refusal (which may count towards a lock or a throttle).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from conformance.drivers import TargetSpec, open_target
from conformance.drivers.seam import (
    DEFAULT_PARAMETERS,
    Credential,
    Driver,
    DriverError,
    OptionError,
    TotpParameters,
    Unsupported,
)
from conformance.interop.judge import (
    FAR_FUTURE,
    FAR_PROBE,
    Judgement,
    Probe,
    Stated,
    judge_codes,
    judge_refusal,
)
from conformance.qr import QrDecodeError, decode_qr_png
from conformance.vendor.adapters import Authenticator, Refused, VendorFailure
from simulators.hotp import CodeGenerator
from simulators.otpauth import OtpauthError, parse_uri

#: The parameter sets tried on a server whose driver has no ``variants``: the ones apps know.
CANDIDATES: Final = tuple(
    TotpParameters(algorithm, digits, period)
    for algorithm in ("SHA1", "SHA256", "SHA512")
    for digits in (6, 7, 8)
    for period in (30, 60)
)
#: Seconds between two submissions on a server's clock (at least): past the windows of the
#: servers' defaults, a multiple of every period tried, so each lands at the same phase.
SLOT_SECONDS: Final = 900
#: Server seconds a credential serves apps for: sessions a driver keeps for it expire (the
#: reference server's full token lasts 12 h), and a new credential is cheap next to that.
MAX_CREDENTIAL_AGE: Final = 10 * 3600
#: Seconds into a step each code is submitted: a 15 s step still has 12 s left.
PHASE_SECONDS: Final = 3
#: Seconds an app may take for one account (provisioning and the code together).
DEFAULT_TIMEOUT: Final = 5.0


def label(parameters: TotpParameters) -> str:
    """``SHA256-8-60``: a parameter set as ``--variants`` names it."""
    return f"{parameters.algorithm}-{parameters.digits}-{parameters.period}"


@dataclass
class App:
    """An app under test: its name, and the adapter that reaches it (one user at a time)."""

    name: str
    title: str
    adapter: Authenticator
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class Handed:
    """What the server handed a user, as an app is given it (a ``ProvisionRequest``)."""

    uri: str
    typed_key: str
    algorithm: str
    digits: int
    period: int
    #: ``qr`` (decoded from the server's pixels) or ``uri`` (the URI as handed out).
    source: str
    scanned: bool = True
    #: Read by adapters of libraries that take no URI (``Case``'s words): a URI written in
    #: the usual way, scanned; such a library is given its key and stated parameters.
    uri_form: str = "plain"
    provisioning: str = "uri"


def handed_out(credential: Credential) -> tuple[Handed, Stated | None]:
    """The URI an app scans (the QR's text where the server draws one) and what it states.

    ``DriverError`` when the server drew a QR code no camera could read.
    """
    uri, source = str(credential.uri), "uri"
    png = credential.fields.get("qr_png_base64")
    if isinstance(png, str):
        try:
            uri, source = decode_qr_png(base64.b64decode(png, validate=True)), "qr"
        except (QrDecodeError, binascii.Error) as exc:
            raise DriverError(f"the server's QR code cannot be read: {exc}") from exc
    try:
        stated: Stated | None = Stated.of(uri)
    except OtpauthError:
        stated = None
    if stated is not None:
        return (
            Handed(uri, str(parse_uri(uri).secret), *_values(stated.parameters), source),
            stated,
        )
    d = DEFAULT_PARAMETERS
    return Handed(uri, "", d.algorithm, d.digits, d.period, source), None


def _values(p: TotpParameters) -> tuple[str, int, int]:
    return p.algorithm, p.digits, p.period


@dataclass
class CellResult:
    """One server x parameter set x app: what happened, and its judgement."""

    server: str
    parameters: TotpParameters
    app: str
    judgement: Judgement
    started_at: float
    duration_ms: float
    handed: Handed | None = None
    stated: Stated | None = None
    #: The server's other fields beside the URI (no secrets), for the evidence.
    fields: dict[str, Any] = field(default_factory=dict)
    #: What the app answered to the account: ``accepted`` or its refusal or failure.
    app_answer: str = ""
    probes: list[Probe] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.server}.{label(self.parameters)}.{self.app}"


class Timeline:
    """A server's clock slots: each ``spacing`` seconds after the last, ``PHASE_SECONDS`` into
    a step (``spacing`` is a multiple of every period tried)."""

    def __init__(self, start: float, spacing: int = SLOT_SECONDS) -> None:
        self.spacing = spacing
        self._next = math.ceil(start / spacing + 24) * spacing + PHASE_SECONDS

    def slot(self) -> int:
        found, self._next = self._next, self._next + self.spacing
        return found


def spacing_for(window: dict[str, int], period: int) -> int:
    """Slot spacing past the whole window (and a step more), in multiples of ``SLOT_SECONDS``."""
    span = (window.get("back", 0) + window.get("forward", 0) + 2) * period
    return SLOT_SECONDS * max(1, math.ceil(span / SLOT_SECONDS))


@dataclass
class ServerRun:
    """One started server at one parameter set: its credentials in use, its clock slots."""

    driver: Driver
    name: str
    parameters: TotpParameters
    timeline: Timeline
    #: The credential each probe kind uses next, and the server time it was made at.
    pool: dict[str, tuple[Credential, int]] = field(default_factory=dict)
    #: The slots of the ``FAR_PROBE`` (its credentials are made and used after 2106).
    far_timeline: Timeline = field(default_factory=lambda: Timeline(FAR_FUTURE))

    @property
    def reaches_far_future(self) -> bool:
        """Whether the far-future probe runs here: the default set, a clock that gets there."""
        clock = self.driver.clock
        return (
            self.parameters == DEFAULT_PARAMETERS
            and clock is not None
            and clock.max_time > FAR_FUTURE + 400 * SLOT_SECONDS
        )

    def timeline_of(self, kind: str) -> Timeline:
        return self.far_timeline if kind == FAR_PROBE else self.timeline

    @property
    def window(self) -> dict[str, int]:
        """The window the server declares for these credentials, in steps; {} when it
        declares none, or declares it for another period (privacyIDEA's seconds, Google's
        codes: a declaration for 30 s credentials says nothing certain of 60 s ones)."""
        declared = self.driver.declared_policy() or {}
        period = (declared.get("totp") or {}).get("period", self.parameters.period)
        if period != self.parameters.period:
            return {}
        found = declared.get("window") or {}
        return {k: int(found[k]) for k in ("back", "forward") if isinstance(found.get(k), int)}

    def probes(self) -> list[tuple[str, int, int]]:
        """(name, device offset in seconds, steps): the server's time, after 2106 (at the
        default set), then its window's edges."""
        period = self.parameters.period
        found = [("same time", 0, 0)]
        # Before the window's edges: a server whose declared window does not hold (the first
        # refusal ends a cell) still has its time after 2106 tried with every app.
        if self.reaches_far_future:
            found.append((FAR_PROBE, 0, 0))
        back, forward = self.window.get("back", 0), self.window.get("forward", 0)
        if back:
            found.append(("device behind", -back * period, -back))
        if forward:
            found.append(("device ahead", forward * period, forward))
        return found

    def credential(self, kind: str) -> Credential:
        """The probe kind's credential: the one in use, or a fresh one (made at a slot)."""
        slot = self.timeline_of(kind).slot()
        existing = self.pool.get(kind)
        if existing is not None and slot - existing[1] < MAX_CREDENTIAL_AGE:
            return existing[0]
        self.retire(kind)
        assert self.driver.clock is not None
        self.driver.clock.set(slot)
        made = self.driver.provision(self.parameters)
        self.pool[kind] = (made, slot)
        return made

    def retire(self, kind: str) -> None:
        existing = self.pool.pop(kind, None)
        if existing is not None:
            # A credential the server lost is as good as dropped.
            with contextlib.suppress(DriverError):
                self.driver.drop(existing[0])

    def close(self) -> None:
        for kind in list(self.pool):
            self.retire(kind)
        if self.driver.clock is not None and self.driver.clock.now() >= FAR_FUTURE:
            # The next parameter set's timeline starts at the server's time: not after 2106.
            self.driver.clock.set(self.timeline.slot())


def run_cell(run: ServerRun, app: App, timeout: float) -> CellResult:
    """Hand one app the server's credentials, submit its codes, judge the cell.

    A driver error fails the cell on the server's side (no retry: a retry hid a driver
    bug once, a reset that deleted the credentials in use); the next cell starts on
    fresh credentials.
    """
    started_at, start = time.time(), time.monotonic()
    result = CellResult(run.name, run.parameters, app.name, Judgement("works", ""), started_at, 0)
    try:
        result.judgement = _probe_all(run, app, timeout, result)
    except VendorFailure as exc:
        result.app_answer = result.app_answer or f"{exc.kind}: {exc.detail}"
        result.judgement = Judgement(
            "failed", f"the app failed ({exc.kind}): {exc.detail}", "app", ("the app fails",)
        )
    except DriverError as exc:
        run.close()
        result.judgement = Judgement(
            "failed", f"the server failed: {exc}", "server", ("the server fails",)
        )
    except Unsupported as exc:
        result.judgement = Judgement("not_applicable", f"the server cannot issue it: {exc}")
    result.duration_ms = (time.monotonic() - start) * 1000
    return result


def _probe_all(run: ServerRun, app: App, timeout: float, result: CellResult) -> Judgement:
    real = run.parameters
    for kind, offset, steps in run.probes():
        credential = run.credential(kind)
        handed, stated = handed_out(credential)
        if result.handed is None:
            result.handed, result.stated = handed, stated
            result.fields = {k: v for k, v in credential.fields.items() if k != "qr_png_base64"}
        why_not = app.adapter.not_applicable(handed)
        if why_not is not None:
            return Judgement("not_applicable", why_not)
        server_time = run.timeline_of(kind).slot()
        device_time = server_time + offset
        with app.lock:
            deadline = time.monotonic() + timeout
            handle = app.adapter.provision(handed, deadline)
            if isinstance(handle, Refused):
                result.app_answer = f"refused the account: {handle}"
                return judge_refusal(result.app_answer, stated, handed.uri, handle.code)
            received = app.adapter.codes(handle, [device_time], deadline)
            app.adapter.forget(handle, deadline)
        if isinstance(received, Refused):
            result.app_answer = f"refused to show a code: {received}"
            return judge_refusal(result.app_answer, stated, handed.uri, received.code)
        result.app_answer = "accepted the account"
        if stated is None:
            # The app showed a code for a URI that defines none: no code can be right.
            return Judgement(
                "silently_wrong",
                "the app imported a URI that defines no TOTP code and showed a code",
                "app",
                ("the app imports a URI that defines no TOTP code instead of refusing it",),
                ("URI-01",),
            )
        server_code = CodeGenerator(
            credential.key, digits=real.digits, algorithm=real.algorithm, period=real.period
        ).code_at(device_time)
        probe = Probe(
            kind,
            offset,
            steps,
            server_time,
            received[0],
            stated.generator().code_at(device_time),
            server_code,
            key=credential.key,
        )
        assert run.driver.clock is not None
        run.driver.clock.set(server_time)
        probe.answer = run.driver.submit(credential, probe.app_code)
        result.probes.append(probe)
        if not probe.answer.accepted:
            run.retire(kind)
            break
    assert result.stated is not None  # a code was judged only for a URI that defines one
    return judge_codes(result.probes, result.stated, real, run.window)


# -- servers and their parameter sets ------------------------------------------------------


@dataclass(frozen=True)
class Server:
    """A server to try: its name and its driver (not started)."""

    name: str
    spec: TargetSpec


#: ``(server name, parameters, results of that set)`` after each parameter set ends.
SetDone = Callable[[str, TotpParameters, list[CellResult]], None]
#: ``(server name, message)``: a parameter set it cannot issue, a server skipped, and so on.
Note = Callable[[str, str], None]


def _default_first(sets: Sequence[TotpParameters], default: TotpParameters) -> list[TotpParameters]:
    return sorted(dict.fromkeys(sets), key=lambda p: p != default)


@contextmanager
def _started(server: Server, options: dict[str, str], workdir: Path) -> Iterator[Driver]:
    driver = open_target(server.spec, options, workdir)
    try:
        yield driver
    finally:
        driver.close()


@dataclass(frozen=True)
class Job:
    """One started server and the parameter sets tried on it (one worker runs it)."""

    server: Server
    #: The variant the driver is set to (``variant_options``), or None: its own options.
    variant: TotpParameters | None
    #: The parameter sets to try; a set the server cannot issue is passed over.
    sets: tuple[TotpParameters, ...]

    @property
    def name(self) -> str:
        return self.server.name + (f" {label(self.variant)}" if self.variant else "")


def plan_jobs(servers: Sequence[Server], chunks: int) -> list[Job]:
    """The jobs, slowest first: a driver whose configuration fixes the parameters it issues
    is started once per variant; one whose credentials each take their own (no variants,
    or ``provisions_every_variant``) is tried at every candidate set, split over ``chunks``
    instances of it."""
    with_variants, without = [], []
    for server in servers:
        driver = server.spec.driver
        if driver.variants and not driver.provisions_every_variant:
            variants = _default_first(driver.variants, DEFAULT_PARAMETERS)
            with_variants += [Job(server, v, (v,)) for v in variants]
        else:
            sets = _default_first(CANDIDATES, DEFAULT_PARAMETERS)
            parts = max(1, chunks)
            without += [Job(server, None, tuple(sets[i::parts])) for i in range(parts)]
    # A server without variants answers every candidate on one clock: its parts go first.
    return without + with_variants


def run_job(
    job: Job,
    apps: Sequence[App],
    workdir: Path,
    *,
    timeout: float,
    on_cell: Callable[[CellResult], None],
    on_set: SetDone,
    note: Note,
    stop: threading.Event,
) -> None:
    """Start the job's server, try each of its parameter sets with every app, stop it."""
    server = job.server
    options: dict[str, str] = {}
    if job.variant is not None:
        try:
            options = server.spec.driver.variant_options(job.variant, {}, workdir)
        except OptionError as exc:
            note(server.name, f"{label(job.variant)}: {exc}")
            return
    with _started(server, options, workdir) as driver:
        if not _usable(server, driver, note):
            return
        for parameters in job.sets:
            if stop.is_set():
                return
            _run_set(server, driver, parameters, apps, timeout, on_cell, on_set, note, stop)


def _usable(server: Server, driver: Driver, note: Note) -> bool:
    if driver.clock is None:
        note(server.name, "skipped: its clock cannot be moved, so no code has a controlled time")
        return False
    return True


def _run_set(
    server: Server,
    driver: Driver,
    parameters: TotpParameters,
    apps: Sequence[App],
    timeout: float,
    on_cell: Callable[[CellResult], None],
    on_set: SetDone,
    note: Note,
    stop: threading.Event,
) -> None:
    run = ServerRun(driver, server.name, parameters, Timeline(driver.now()))
    run.timeline = Timeline(driver.now(), spacing_for(run.window, parameters.period))
    try:
        first = run.credential("same time")
    except Unsupported:
        return  # not a parameter set this server issues
    except DriverError as exc:
        note(server.name, f"{label(parameters)}: cannot provision: {exc}")
        return
    if first.uri is None or first.provisioned_by != "server":
        run.close()
        raise _NoProvisioning(server.name)
    results = []
    try:
        for app in apps:
            if stop.is_set():
                break
            result = run_cell(run, app, timeout)
            results.append(result)
            on_cell(result)
    finally:
        run.close()
    on_set(server.name, parameters, results)


class _NoProvisioning(Exception):
    """The server hands a user nothing (the harness wrote its key): no interop to try."""


def run_interop(
    jobs: Sequence[Job],
    apps: Sequence[App],
    workdir: Path,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    on_cell: Callable[[CellResult], None],
    on_set: SetDone,
    note: Note,
    on_job: Callable[[Job], None],
    workers: int = 2,
) -> None:
    """Every job, ``workers`` at a time (each job's server has its own clock).

    Interrupted (Ctrl-C), the jobs finish their cell and stop; then it is raised again.
    """
    stop = threading.Event()
    skipped: set[str] = set()

    def one(index: int, job: Job) -> None:
        try:
            if job.server.name not in skipped:
                run_job(
                    job,
                    apps,
                    workdir / f"{index}",
                    timeout=timeout,
                    on_cell=on_cell,
                    on_set=on_set,
                    note=note,
                    stop=stop,
                )
        except _NoProvisioning:
            if job.server.name not in skipped:
                skipped.add(job.server.name)
                note(
                    job.server.name,
                    "skipped: it has no provisioning of its own (the harness writes its key), "
                    "so it hands a user nothing an app could be given",
                )
        except DriverError as exc:
            note(job.name, f"skipped: it cannot start: {exc}")
        finally:
            on_job(job)

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="interop") as pool:
        futures = [pool.submit(one, i, job) for i, job in enumerate(jobs)]
        try:
            for future in futures:
                future.result()
        except BaseException:
            stop.set()
            raise


__all__ = [
    "CANDIDATES",
    "App",
    "CellResult",
    "Handed",
    "Job",
    "Server",
    "handed_out",
    "label",
    "plan_jobs",
    "run_cell",
    "run_interop",
    "run_job",
]
