"""The pytest plugin: the conformance checks as pytest items (``--twofa-target``).

Each test runs pytest in a subprocess that loads the plugin through its
``pytest11`` entry point, as a team's own pytest run would.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from reports import load_log
from tests.result_log import assert_valid_log

pytest_plugins = ["pytester"]

#: Leave out what the subprocess does not need: the cache and the browser plugins.
QUIET = ("-p", "no:cacheprovider", "-p", "no:playwright", "-p", "no:base_url")
TIMEOUT = 120


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project folder that, like ours, turns warnings into errors."""
    pytester.makeini("[pytest]\nfilterwarnings = error\n")
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(*QUIET, *args, timeout=TIMEOUT)


def junit_properties(path: Path) -> dict[str, list[tuple[str, str]]]:
    tree = ET.parse(path)  # noqa: S314 - the file pytest just wrote
    return {
        case.attrib["name"]: [
            (prop.attrib["name"], prop.attrib["value"]) for prop in case.iter("property")
        ]
        for case in tree.iter("testcase")
    }


# -- inert without --twofa-target ---------------------------------------------------


def test_without_the_option_nothing_is_collected_or_imported(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_own="""
        import sys

        def test_own():
            # The plugin is loaded, but the harness is not imported.
            assert "conformance.runner" not in sys.modules
            assert "conformance.checks" not in sys.modules
        """
    )
    result = run(project, "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["collecting ... collected 1 item", "*test_own.py::test_own PASSED*"]
    )
    # No header line, no item: lines that start with "twofa".
    result.stdout.no_fnmatch_line("twofa*")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--twofa-plan", "replay"), "*--twofa-plan needs --twofa-target*"),
        (("--twofa-target", "localhost:5000"), "*unknown target 'localhost:5000'*"),
        (("--twofa-target", "embedded", "--twofa-plan", "nope"), "*unknown plan or check: nope*"),
        (
            ("--twofa-target", "http://127.0.0.1:9", "--twofa-policy", "p.yaml"),
            "*--twofa-policy configures the embedded server only*",
        ),
    ],
)
def test_wrong_options_are_usage_errors(
    project: pytest.Pytester, args: tuple[str, ...], message: str
) -> None:
    result = run(project, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    result.stderr.no_fnmatch_line("*Traceback*")


def test_an_expectations_file_without_comment_is_a_usage_error(project: pytest.Pytester) -> None:
    project.makefile(".yaml", expected="- check: replay-same-code-twice\n")
    result = run(project, "--twofa-target", "embedded", "--twofa-expectations", "expected.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--twofa-expectations: expected.yaml*entry 1*needs a comment*"])


# -- against the embedded reference server ------------------------------------------


def test_collection_selects_by_plan_marker_and_requirement(project: pytest.Pytester) -> None:
    by_marker = run(project, "--twofa-target", "embedded", "--co", "-q", "-m", "twofa_replay")
    assert by_marker.ret == pytest.ExitCode.OK
    collected = [line for line in by_marker.stdout.lines if line.startswith("twofa::")]
    assert "twofa::replay::replay-same-code-twice" in collected
    assert all(line.startswith("twofa::replay::") for line in collected)
    by_requirement = run(project, "--twofa-target", "embedded", "--co", "-q", "-k", "WIN-04")
    by_requirement.stdout.fnmatch_lines(["twofa::replay::replay-older-step-after-newer"])
    by_requirement.stdout.no_fnmatch_line("*replay-same-code-twice*")


def test_the_replay_plan_passes_against_the_reference_server(project: pytest.Pytester) -> None:
    result = run(
        project,
        "--twofa-target",
        "embedded",
        "--twofa-plan",
        "replay",
        "-v",
        "--junitxml",
        "junit.xml",
        "--twofa-results",
        "out/results.jsonl",
    )
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(
        [
            "twofa::replay::replay-same-code-twice PASSED*",
            "twofa::replay::replay-parallel-race PASSED*",
        ]
    )
    properties = junit_properties(project.path / "junit.xml")
    assert ("requirement", "RPL-01") in properties["replay-same-code-twice"]
    assert ("requirement", "WIN-04") in properties["replay-older-step-after-newer"]
    assert ("twofa_outcome", "passed") in properties["replay-parallel-race"]
    # The result log is the one the reports render, complete with its end record.
    log = load_log(project.path / "out" / "results.jsonl")
    assert_valid_log(project.path / "out" / "results.jsonl")
    assert [c.id for c in log.checks] == [
        "replay-same-code-twice",
        "replay-older-step-after-newer",
        "replay-parallel-race",
        "replay-setup-code-not-reusable-for-login",
    ]
    assert log.end is not None
    assert log.end.exit_status == 0


@pytest.fixture
def mutant_policy(project: pytest.Pytester) -> Path:
    """The reference server with its replay guard switched off."""
    return project.makefile(".yaml", mutant="faults: [no_replay_guard]\n")


def test_a_check_fails_against_its_mutant_with_step_and_requirements(
    project: pytest.Pytester, mutant_policy: Path
) -> None:
    result = run(
        project,
        "--twofa-target",
        "embedded",
        "--twofa-policy",
        mutant_policy.name,
        "--twofa-check",
        "replay-same-code-twice",
        "--junitxml",
        "junit.xml",
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ twofa::replay::replay-same-code-twice _*",
            "replay-same-code-twice failed at step 1 [[]RPL-01[]]: the same code was accepted *",
            "*plan replay, severity error, requirements RPL-01, RPL-02",
            "*1. FAILED   Submit the current code, then the same code again [[]RPL-01[]]*",
            "last HTTP exchange:",
            "*POST /api/v1/auth/otp -> 200",
            "FAILED twofa::replay::replay-same-code-twice - *",
        ]
    )
    properties = junit_properties(project.path / "junit.xml")["replay-same-code-twice"]
    assert ("twofa_outcome", "failed") in properties
    assert ("requirement", "RPL-02") in properties
    assert any(name == "twofa_failed_step" and "RPL-01" in value for name, value in properties)


def test_expectations_make_a_listed_failure_xfail_and_a_stale_entry_fail(
    project: pytest.Pytester, mutant_policy: Path
) -> None:
    project.makefile(
        ".yaml",
        expected=(
            "- check: replay-same-code-twice\n"
            "  outcome: failed\n"
            "  comment: replay guard missing, TICKET-1\n"
            # Passes against this mutant: an expected failure that passed fails the run.
            "- check: algorithm-code-format-is-strict\n"
            "  comment: stale, fixed long ago\n"
        ),
    )
    result = run(
        project,
        "--twofa-target",
        "embedded",
        "--twofa-policy",
        mutant_policy.name,
        "--twofa-check",
        "replay-same-code-twice",
        "--twofa-check",
        "algorithm-code-format-is-strict",
        "--twofa-expectations",
        "expected.yaml",
        "-rxX",
    )
    result.assert_outcomes(xfailed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "[[]XPASS(strict)[]] expected failed: stale, fixed long ago",
            "XFAIL twofa::replay::replay-same-code-twice - expected failed: replay guard missing*",
        ]
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED


# -- outcomes, against a server without harness endpoints ------------------------------

#: Checks of a plan of their own that need no harness: one per outcome the plugin maps.
SELFTEST_CHECKS = """
from conformance.checks import check


@check("selftest-warns", "Warns", plan="selftest", requirements=("SELF-01",),
       severity="warning", needs_harness=False)
def warns(ctx):
    with ctx.step("Look at the server") as step:
        step.evidence(seen="a 404")
        step.warn("the server has no harness endpoints")


@check("selftest-not-applicable", "Not applicable", plan="selftest",
       requirements=("SELF-02",), needs_harness=False)
def not_applicable(ctx):
    ctx.not_applicable("the declared policy has no such window")


@check("selftest-harness-error", "Harness error", plan="selftest",
       requirements=("SELF-03",), needs_harness=False)
def harness_error(ctx):
    with ctx.step("Ask the target"):
        {}["missing"]


@check("selftest-passes", "Passes", plan="selftest", requirements=("SELF-04",),
       needs_harness=False)
def passes(ctx):
    with ctx.step("Ask the target") as step:
        step.exchange(ctx.run.http.get("/api/v1/me"))


@check("selftest-needs-harness", "Needs the harness", plan="selftest",
       requirements=("SELF-05",))
def needs_harness(ctx):
    raise AssertionError("never runs without harness endpoints")
"""


def test_outcomes_map_to_pytest(project: pytest.Pytester, server_without_harness: str) -> None:
    project.makeconftest(SELFTEST_CHECKS)
    project.makefile(
        ".yaml",
        expected=(
            "- check: selftest-harness-error\n"
            "  outcome: error\n"
            "  comment: known harness bug\n"
            "- check: selftest-passes\n"
            "  outcome: skipped\n"
            "  comment: thought it was skipped\n"
        ),
    )
    result = run(
        project,
        "--twofa-target",
        server_without_harness,
        "--twofa-plan",
        "selftest",
        "--twofa-expectations",
        "expected.yaml",
        "--twofa-results",
        "results.jsonl",
        "--junitxml",
        "junit.xml",
        "-v",
        "-rsx",
    )
    result.assert_outcomes(passed=1, skipped=2, xfailed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "twofa::selftest::selftest-warns PASSED (warning)*",
            "twofa::selftest::selftest-not-applicable SKIPPED*",
            "twofa::selftest::selftest-harness-error XFAIL*",
            "twofa::selftest::selftest-passes FAILED*",
            "twofa::selftest::selftest-needs-harness SKIPPED*",
            "expected skipped (thought it was skipped), got passed",
            "*GET /api/v1/me -> 404",
            "*twofa warnings*",
            "WARNING selftest-warns: the server has no harness endpoints",
            "SKIPPED [[]1[]] conftest.py:*: not applicable: the declared policy has no such window",
            "SKIPPED [[]1[]] conftest.py:*: the target has no /__harness__ endpoints*",
            "XFAIL twofa::selftest::selftest-harness-error - expected error: known harness bug",
        ]
    )
    properties = junit_properties(project.path / "junit.xml")["selftest-warns"]
    assert ("twofa_outcome", "warning") in properties
    log = load_log(project.path / "results.jsonl")
    assert {c.id: c.outcome for c in log.checks} == {
        "selftest-warns": "warning",
        "selftest-not-applicable": "not_applicable",
        "selftest-harness-error": "error",
        "selftest-passes": "passed",
        "selftest-needs-harness": "skipped",
    }
    assert log.end is not None
    assert log.end.unexpected == ("selftest-passes",)


def test_a_harness_error_without_expectation_is_a_failure(
    project: pytest.Pytester, server_without_harness: str
) -> None:
    project.makeconftest(SELFTEST_CHECKS)
    result = run(
        project, "--twofa-target", server_without_harness, "--twofa-check", "selftest-harness-error"
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "harness error (not a failure of the target): harness error: KeyError: 'missing'*",
            "last step 1: Ask the target (requirements SELF-03)",
        ]
    )


def test_an_unreachable_target_is_one_setup_error_per_check(project: pytest.Pytester) -> None:
    # Port 9 (discard) on loopback: nothing listens there.
    result = run(project, "--twofa-target", "http://127.0.0.1:9", "--twofa-plan", "replay")
    result.assert_outcomes(errors=4)
    result.stdout.fnmatch_lines(["*ERROR at setup of twofa::replay::replay-same-code-twice*"])
    result.stdout.fnmatch_lines(["cannot start or reach the twofa target: *does not answer*"])
    result.stdout.no_fnmatch_line("*Traceback*")
