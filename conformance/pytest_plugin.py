"""The conformance checks as pytest items: ``pytest --twofa-target embedded|URL``.

Registered through the ``pytest11`` entry point, so every pytest run in an
environment with twofa-harness installed loads this module. Without
``--twofa-target`` it only declares its options: nothing of the harness is
imported and nothing is collected.

With it, one item per selected check is collected as ``twofa::<plan>::<id>``
(markers ``twofa``, ``twofa_<plan>``, ``twofa_severity_<severity>``; the
requirement ids are keywords for ``-k``). The target is started at the first
item that runs and closed when the session ends. Outcomes map to pytest:
passed → pass, failed and error → failure, skipped and not_applicable → skip,
warning → pass with a report section; an expectations-file entry for a failure
is a strict ``xfail``.
"""

from __future__ import annotations

import inspect
import json
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from _pytest._code.code import TerminalRepr
    from _pytest.terminal import TerminalReporter

    from conformance.checks import CheckResult, CheckSpec, StepRecord
    from conformance.drivers.seam import Driver
    from conformance.expectations import Expectation
    from conformance.results import ResultLog
    from conformance.session import RunContext

#: Expected outcomes that become a strict xfail; others are compared after the run.
XFAIL_OUTCOMES: Final = ("failed", "error")
#: How much of one evidence value a failure report shows.
EVIDENCE_CHARS: Final = 600


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("twofa", "twofa-harness conformance checks")
    group.addoption(
        "--twofa-target",
        default=None,
        metavar="TARGET",
        help="Collect the conformance checks and run them against this target: "
        "'embedded' starts the reference server; a driver's name ('twofa targets'), "
        "NAME+URL, a v1 server's URL or FILE.py[:CLASS], as for 'twofa run --target'.",
    )
    group.addoption(
        "--twofa-target-option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="A setting of the target's peer, named as the peer names it (repeatable).",
    )
    group.addoption(
        "--twofa-plan",
        action="append",
        default=[],
        metavar="NAME",
        help="Collect only this plan's checks (repeatable).",
    )
    group.addoption(
        "--twofa-check",
        action="append",
        default=[],
        metavar="ID",
        help="Collect only this check (repeatable).",
    )
    group.addoption(
        "--twofa-expectations",
        default=None,
        metavar="FILE",
        help="Expected-failures YAML (as for 'twofa run --expected'); listed failures xfail.",
    )
    group.addoption(
        "--twofa-policy",
        default=None,
        metavar="FILE",
        help="Policy YAML for the embedded server.",
    )
    group.addoption(
        "--twofa-results",
        default=None,
        metavar="FILE",
        help="Also write the JSON-lines result log that 'twofa report' renders.",
    )


def pytest_configure(config: pytest.Config) -> None:
    target = config.getoption("twofa_target")
    if target is None:
        # Inert: the project's own test runs load this module and pay for nothing more.
        given = [
            f"--twofa-{name.replace('_', '-')}"
            for name in ("plan", "check", "expectations", "policy", "results", "target_option")
            if config.getoption(f"twofa_{name}")
        ]
        if given:
            verb = "needs" if len(given) == 1 else "need"
            raise pytest.UsageError(f"{', '.join(given)} {verb} --twofa-target embedded|URL")
        return
    config.pluginmanager.register(Conformance(config, target), "twofa-conformance")


class Conformance:
    """The enabled plugin: selected checks, the session's target, the result log."""

    def __init__(self, config: pytest.Config, target_spec: str) -> None:
        # The harness is imported only when the plugin is enabled.
        from conformance.drivers import (
            OptionError,
            TargetSpecError,
            parse_target,
            split_options,
        )
        from conformance.expectations import ExpectationsError, load_expectations
        from conformance.runner import plans, select_checks

        try:
            self.spec = parse_target(target_spec)
        except TargetSpecError as exc:
            raise pytest.UsageError(f"--twofa-target: {exc}") from None
        policy = config.getoption("twofa_policy")
        embedded = self.spec.driver.name == "embedded" and self.spec.url is None
        if policy is not None and not embedded:
            raise pytest.UsageError("--twofa-policy configures the embedded server only")
        if policy is not None and not Path(policy).is_file():
            raise pytest.UsageError(f"--twofa-policy: no such file: {policy}")
        try:
            self.checks = select_checks(
                config.getoption("twofa_plan"), config.getoption("twofa_check")
            )
        except KeyError as exc:
            raise pytest.UsageError(f"--twofa-plan/--twofa-check: {exc.args[0]}") from None
        expectations_file = config.getoption("twofa_expectations")
        try:
            self.expectations = (
                load_expectations(Path(expectations_file)) if expectations_file else {}
            )
        except ExpectationsError as exc:
            raise pytest.UsageError(f"--twofa-expectations: {exc}") from None
        self.config = config
        self.target_spec = target_spec
        # Resolved here: the embedded server runs in its own working folder.
        self.policy_file = Path(policy).resolve() if policy else None
        pairs = list(config.getoption("twofa_target_option"))
        if self.policy_file is not None:
            pairs.append(f"policy={self.policy_file}")
        try:
            self.options = split_options(pairs, [self.spec])[self.spec.name]
            self.spec.driver.parse_options(self.options)
        except OptionError as exc:
            raise pytest.UsageError(f"--twofa-target-option: {exc}") from None
        self.expectations_file: str | None = expectations_file
        results = config.getoption("twofa_results")
        self.results_path = Path(results) if results else None
        self.driver: Driver | None = None
        self.workdir: tempfile.TemporaryDirectory[str] | None = None
        self.run: RunContext | None = None
        self.start_error: str | None = None
        self.log: ResultLog | None = None
        self.selected: list[CheckSpec] = []
        self.warnings: list[tuple[str, str]] = []
        config.addinivalue_line("markers", "twofa: a twofa-harness conformance check")
        for plan in plans():
            config.addinivalue_line(
                "markers", f"{plan_marker(plan)}: a check of the twofa {plan} plan"
            )
        for severity in ("error", "warning"):
            config.addinivalue_line(
                "markers", f"twofa_severity_{severity}: a twofa check of severity {severity}"
            )

    # -- hooks -----------------------------------------------------------------

    def pytest_report_header(self) -> str:
        plans = sorted({spec.plan for spec in self.checks})
        line = f"twofa: target {self.target_spec}, plans {', '.join(plans) or '(none)'}"
        if self.expectations_file:
            line += f", expectations {self.expectations_file}"
        return line

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, items: list[pytest.Item]
    ) -> None:
        # Ahead of -k/-m deselection, so those select among the checks too.
        root = TwofaCollector.from_parent(session, name="twofa", nodeid="twofa", plugin=self)
        items.extend(session.genitems(root))

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.selected = [item.spec for item in session.items if isinstance(item, CheckItem)]

    def pytest_report_teststatus(
        self, report: pytest.TestReport
    ) -> tuple[str, str, tuple[str, dict[str, bool]]] | None:
        if (
            report.when == "call"
            and report.passed
            and not hasattr(report, "wasxfail")
            and ("twofa_outcome", "warning") in report.user_properties
        ):
            return "passed", "W", ("PASSED (warning)", {"yellow": True})
        return None

    def pytest_sessionfinish(self) -> None:
        self.close()

    def pytest_unconfigure(self) -> None:
        self.close()

    def pytest_terminal_summary(self, terminalreporter: TerminalReporter) -> None:
        if self.warnings:
            terminalreporter.section("twofa warnings", sep="-", yellow=True)
            for check_id, reason in self.warnings:
                terminalreporter.line(f"WARNING {check_id}: {reason}")
        if self.results_path is not None and self.start_error is None and self.run is not None:
            terminalreporter.line(f"twofa: wrote the result log {self.results_path}")

    # -- the session's target ------------------------------------------------------

    def run_context(self) -> RunContext:
        """The run context, starting the target (and the result log) at the first call."""
        from conformance.drivers import open_target
        from conformance.drivers.seam import DriverError
        from conformance.runner import start_log
        from conformance.session import run_context_for
        from conformance.target import TargetError

        if self.start_error is not None:
            raise TargetUnavailable(self.start_error)
        if self.run is None:
            self.workdir = tempfile.TemporaryDirectory(prefix="twofa-pytest-")
            started = time.time()
            try:
                self.driver = open_target(self.spec, self.options, Path(self.workdir.name))
                run = run_context_for(self.driver)
                # Probe now, so an unreachable target is one clear setup error.
                run.declared  # noqa: B018 - the property reads the target's policy
            except (TargetError, DriverError) as exc:
                self.start_error = f"cannot start or reach the twofa target: {exc}"
                raise TargetUnavailable(self.start_error) from None
            self.run = run
            if self.results_path is not None:
                self.log = start_log(
                    self.results_path,
                    run,
                    self.selected,
                    expectations_file=self.expectations_file,
                )
                self.log.target(run.driver.describe() if run.driver else {}, started)
        return self.run

    def record(self, result: CheckResult) -> None:
        from conformance.expectations import expectation_for

        if self.log is not None:
            self.log.check(
                result, expectation_for(self.expectations, result.target, result.check.id)
            )
        if result.outcome.value == "warning":
            self.warnings.append((result.check.id, result.reason))

    def close(self) -> None:
        if self.log is not None:
            run, driver = self.run, self.driver
            if run is not None and driver is not None and run.measurements is not None:
                self.log.measured(
                    run.name,
                    declared=run.declared,
                    sources=driver.policy_sources(),
                    measured=run.measurements.measured(),
                    real_time=driver.clock is None,
                )
            self.log.end()
            self.log = None
        if self.driver is not None:
            self.driver.close()
            self.driver = None
        if self.workdir is not None:
            self.workdir.cleanup()
            self.workdir = None


def plan_marker(plan: str) -> str:
    """The marker of a plan: ``twofa_<plan>``, hyphens made underscores for ``-m``."""
    return "twofa_" + plan.replace("-", "_")


class TwofaCollector(pytest.Collector):
    """``twofa``: one child per plan of the selected checks."""

    def __init__(self, *, plugin: Conformance, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plugin = plugin
        self.add_marker("twofa")

    def collect(self) -> Iterable[pytest.Item | pytest.Collector]:
        plans = dict.fromkeys(spec.plan for spec in self.plugin.checks)
        return [PlanCollector.from_parent(self, name=plan, plugin=self.plugin) for plan in plans]


class PlanCollector(pytest.Collector):
    """``twofa::<plan>``: the plan's selected checks, in declaration order."""

    def __init__(self, *, plugin: Conformance, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plugin = plugin
        self.add_marker(plan_marker(self.name))

    def collect(self) -> Iterable[pytest.Item | pytest.Collector]:
        return [
            CheckItem.from_parent(self, name=spec.id, spec=spec, plugin=self.plugin)
            for spec in self.plugin.checks
            if spec.plan == self.name
        ]


class CheckItem(pytest.Item):
    """``twofa::<plan>::<check-id>``: runs one check against the session's target."""

    def __init__(self, *, spec: CheckSpec, plugin: Conformance, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.plugin = plugin
        self.expectation: Expectation | None = plugin.expectations.get(spec.id)
        self.add_marker(f"twofa_severity_{spec.severity}")
        # `-k RPL-01` selects the checks that enforce a requirement.
        self.extra_keyword_matches.update(spec.requirements)
        self.user_properties.extend(
            [("twofa_check", spec.id), ("twofa_plan", spec.plan)]
            + [("requirement", requirement) for requirement in spec.requirements]
        )
        if self.expectation is not None and self.expectation.outcome in XFAIL_OUTCOMES:
            raises = CheckFailed if self.expectation.outcome == "failed" else CheckErrored
            reason = f"expected {self.expectation.outcome}: {self.expectation.comment}"
            self.add_marker(pytest.mark.xfail(reason=reason, strict=True, raises=raises))

    def setup(self) -> None:
        try:
            self.plugin.run_context()
        except TargetUnavailable as exc:
            problem = str(exc)
        else:
            return
        # An error at setup (not a failure of the target): one line, no traceback.
        pytest.fail(problem, pytrace=False)

    def runtest(self) -> None:
        from conformance.runner import run_check

        result = run_check(self.plugin.run_context(), self.spec)
        self.plugin.record(result)
        outcome = result.outcome.value
        self.user_properties.append(("twofa_outcome", outcome))
        if result.reason:
            self.user_properties.append(("twofa_reason", result.reason))
        self.user_properties.extend(
            ("twofa_failed_step", f"{s.n}. {s.title} [{', '.join(s.requirements)}]")
            for s in result.steps
            if s.outcome.value == "failed"
        )
        expected = self.expectation
        # A listed failure that passed is left to the strict xfail: XPASS(strict).
        left_to_xfail = expected is not None and expected.outcome in XFAIL_OUTCOMES
        passed = outcome in ("passed", "warning")
        if expected is not None and outcome != expected.outcome and not (left_to_xfail and passed):
            raise UnexpectedOutcome(result, expected)
        if outcome == "failed":
            raise CheckFailed(result)
        if outcome == "error":
            raise CheckErrored(result)
        if outcome in ("skipped", "not_applicable"):
            prefix = "not applicable: " if outcome == "not_applicable" else ""
            raise pytest.skip.Exception(prefix + result.reason, _use_item_location=True)
        if outcome == "warning":
            self.add_report_section("call", "twofa warning", describe(result, "warning"))

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str | TerminalRepr:
        error = excinfo.value
        if isinstance(error, UnexpectedOutcome):
            expected = error.expected
            headline = (
                f"expected {expected.outcome} ({expected.comment}), "
                f"got {error.result.outcome.value}"
            )
            return describe(error.result, headline)
        if isinstance(error, CheckErrored):
            return describe(error.result, "harness error (not a failure of the target)")
        if isinstance(error, CheckFailed):
            return describe(error.result, f"{self.spec.id} failed")
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[os.PathLike[str] | str, int | None, str]:
        code = getattr(self.spec.run, "__code__", None)
        source = inspect.getsourcefile(self.spec.run) if code is not None else None
        if code is None or source is None:
            return self.path, None, self.nodeid
        return source, code.co_firstlineno - 1, self.nodeid


class TargetUnavailable(Exception):
    """The target could not be started or reached: every check errors at setup."""


class CheckOutcome(Exception):
    """Carries a check's result out of ``runtest`` to ``repr_failure``."""

    def __init__(self, result: CheckResult) -> None:
        super().__init__(f"{result.check.id}: {result.outcome.value}: {result.reason}")
        self.result = result


class CheckFailed(CheckOutcome):
    """The target failed the check."""


class CheckErrored(CheckOutcome):
    """The harness or its configuration went wrong during the check."""


class UnexpectedOutcome(CheckOutcome):
    """The expectations file named another outcome than the one that happened."""

    def __init__(self, result: CheckResult, expected: Expectation) -> None:
        super().__init__(result)
        self.expected = expected


def describe(result: CheckResult, headline: str) -> str:
    """A failure report: the outcome and reason first (pytest's one-line summary shows
    that line), then the check, its steps, the failing step's requirement ids and
    evidence, and the last HTTP exchange."""
    spec = result.check
    failing = [s for s in result.steps if s.outcome.value in ("failed", "warning")]
    where = f" at step {failing[0].n} [{', '.join(failing[0].requirements)}]" if failing else ""
    lines = [
        f"{headline}{where}" + (f": {result.reason}" if result.reason else ""),
        f"check {spec.id}: {spec.title}",
        f"  plan {spec.plan}, severity {spec.severity},"
        f" requirements {', '.join(spec.requirements)}",
        "steps:",
    ]
    for step in result.steps:
        mark = step.outcome.value.upper() if step.outcome.value != "passed" else "passed"
        line = f"  {step.n}. {mark:8} {step.title} [{', '.join(step.requirements)}]"
        if step.outcome.value != "passed" and step.message:
            line += f": {step.message}"
        lines.append(line)
    if not result.steps:
        lines.append("  (none recorded)")
    for step in failing or result.steps[-1:]:
        lines.append(
            f"{'failing step' if failing else 'last step'} {step.n}: {step.title}"
            f" (requirements {', '.join(step.requirements)})"
        )
        lines.extend(_evidence_lines(step))
    exchange = _last_exchange(failing[-1:] or result.steps)
    if exchange is not None:
        lines.append("last HTTP exchange:")
        lines.extend(_exchange_lines(exchange))
    return "\n".join(lines)


def _evidence_lines(step: StepRecord) -> Iterator[str]:
    for key, value in step.evidence.items():
        if key != "http":
            yield f"  {key}: {_short(value)}"


def _last_exchange(steps: list[StepRecord]) -> dict[str, Any] | None:
    for step in reversed(steps):
        kept = step.evidence.get("http")
        if isinstance(kept, list) and kept and isinstance(kept[-1], dict):
            return kept[-1]
        if isinstance(kept, dict):
            return kept
    return None


def _exchange_lines(exchange: dict[str, Any]) -> Iterator[str]:
    yield f"  {exchange.get('method')} {exchange.get('url')} -> {exchange.get('status')}"
    if exchange.get("request") is not None:
        yield f"  request: {_short(exchange['request'])}"
    yield f"  response: {_short(exchange.get('response'))}"
    if exchange.get("headers"):
        yield f"  headers: {_short(exchange['headers'])}"


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= EVIDENCE_CHARS else text[:EVIDENCE_CHARS] + "…"
