"""``twofa run`` end to end: the run folder and its reports, a mutant's report in Chromium,
expectations, and the same verdicts against a separately started server.

Each run is the installed ``twofa`` command in a subprocess, as a user or a CI
job runs it. The quick runs use the ``replay`` plan only; the parity test runs
every plan twice and is marked slow.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from playwright.sync_api import Page

from conformance.checks import REGISTRY
from conformance.cli import main
from conformance.runner import plans, select_checks
from conformance.session import PASSWORD
from conformance.target import LISTENING_LINE
from tests.processes import children, interruptible
from tests.result_log import assert_valid_log

ROOT = Path(__file__).resolve().parents[2]
TWOFA = str(Path(sys.executable).with_name("twofa"))
SCHEMA = ROOT / "docs" / "report.schema.json"
REPORT_FILES = ("results.jsonl", "report.json", "junit.xml", "summary.md", "index.html")
#: A plan with a mutant (no_replay_guard) and a quick run (about 2 s).
PLAN = "replay"
FAULT = "no_replay_guard"


@dataclass
class Run:
    """One finished ``twofa run``: its exit status, output and run folder."""

    status: int
    stdout: str
    stderr: str
    out: Path

    @property
    def folder(self) -> Path:
        match = re.search(r"^report: (.+)/index\.html$", self.stdout, re.MULTILINE)
        assert match, self.stdout + self.stderr
        return Path(match.group(1))

    def records(self, kind: str) -> list[dict[str, Any]]:
        lines = (self.folder / "results.jsonl").read_text(encoding="utf-8").splitlines()
        return [r for r in map(json.loads, lines) if r["record"] == kind]


def twofa_run(out: Path, *args: str) -> Run:
    process = subprocess.Popen(
        [TWOFA, "run", "--out", str(out), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=out.parent,
        env={**os.environ, "TZ": "UTC"},
    )
    stdout, stderr = process.communicate(timeout=300)
    return Run(process.returncode, stdout, stderr, out)


@pytest.fixture(scope="module")
def replay_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    assert PLAN in plans(), f"the {PLAN!r} plan these tests run is gone: pick another"
    return twofa_run(tmp_path_factory.mktemp("run") / "reports", "--plan", PLAN)


@pytest.fixture(scope="module")
def mutant_policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    policy = tmp_path_factory.mktemp("policy") / f"{FAULT}.yaml"
    policy.write_text(yaml.safe_dump({"faults": [FAULT]}), encoding="utf-8")
    return policy


@pytest.fixture(scope="module")
def mutant_run(tmp_path_factory: pytest.TempPathFactory, mutant_policy: Path) -> Run:
    out = tmp_path_factory.mktemp("mutant") / "reports"
    return twofa_run(out, "--plan", PLAN, "--policy", str(mutant_policy))


def test_a_run_writes_every_report_and_latest_names_it(replay_run: Run) -> None:
    assert replay_run.status == 0, replay_run.stderr
    folder = replay_run.folder
    assert folder.parent == replay_run.out
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{6}", folder.name)
    for name in REPORT_FILES:
        assert (folder / name).stat().st_size > 0, name
    assert_valid_log(folder / "results.jsonl")
    latest = replay_run.out / "latest"
    assert latest.is_symlink()
    assert latest.resolve() == folder.resolve()
    lines = replay_run.stdout.splitlines()
    assert lines[0].startswith(f"PASSED: {len(select_checks([PLAN]))} checks")
    assert lines[-1] == f"report: {folder}/index.html"


def test_progress_names_the_target_run_and_each_check_with_its_time(replay_run: Run) -> None:
    run_id = replay_run.folder.name
    header = re.search(
        rf"^twofa run {run_id}: (\d+) checks against embedded http://127\.0\.0\.1:"
        r"\d+ \(harness mode\)",
        replay_run.stderr,
        re.MULTILINE,
    )
    assert header, replay_run.stderr
    expected = [spec.id for spec in select_checks([PLAN])]
    assert int(header.group(1)) == len(expected)
    width = len(str(len(expected)))
    progress = re.findall(
        rf"^\[ *(\d+)/{len(expected)}\] PASS {PLAN}/([a-z0-9-]+) \(\d+\.\d\d s\)$",
        replay_run.stderr,
        re.MULTILINE,
    )
    assert progress == [(str(i), check) for i, check in enumerate(expected, 1)]
    assert f"[{1:>{width}}/{len(expected)}]" in replay_run.stderr
    assert "\x1b[" not in replay_run.stderr  # no colour codes in a log that is not a terminal


def test_junit_has_one_test_case_per_check_and_variant(replay_run: Run) -> None:
    # Parsing our own output, as a CI server would.
    root = ET.parse(replay_run.folder / "junit.xml").getroot()  # noqa: S314
    cases = [(c.attrib["classname"], c.attrib["name"]) for c in root.iter("testcase")]
    checks = replay_run.records("check")
    assert cases == [(f"twofa.{c['plan']}", c["id"]) for c in checks]
    assert len(cases) == len(select_checks([PLAN]))
    assert root.attrib["tests"] == str(len(cases))
    assert root.attrib["failures"] == root.attrib["errors"] == "0"


def test_report_json_validates_against_its_documented_schema(replay_run: Run) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    document = json.loads((replay_run.folder / "report.json").read_text(encoding="utf-8"))
    errors = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(document)]
    assert errors == []
    assert document["results"]["summary"]["passed"] == len(select_checks([PLAN]))


def test_the_run_record_carries_the_provenance(replay_run: Run) -> None:
    [run] = replay_run.records("run")
    [end] = replay_run.records("end")
    assert run["run_id"] == replay_run.folder.name
    assert run["tool"] == "twofa-harness"
    assert run["target"]["kind"] == "embedded"
    assert run["policy"]["totp"]["algorithm"] == "SHA1"
    assert run["policy"]["faults"] == []
    assert {a["email"] for a in run["seed"]["agents"]} >= {"v5@conformance.test"}
    assert {a["password"] for a in run["seed"]["agents"]} == {"<redacted>"}
    assert run["started_at"] < end["finished_at"]
    git = shutil.which("git")
    if git is None:
        assert run["git_commit"] is None
    else:
        # The harness's own checkout: the recorded commit is one of its commits.
        kind = subprocess.run(
            [git, "-C", str(ROOT), "cat-file", "-t", run["git_commit"]],
            capture_output=True,
            text=True,
            check=True,
        )
        assert kind.stdout.strip() == "commit"
        assert isinstance(run["git_dirty"], bool)
    html = (replay_run.folder / "index.html").read_text(encoding="utf-8")
    summary = (replay_run.folder / "summary.md").read_text(encoding="utf-8")
    for text in (run["run_id"], run["git_commit"] or "git commit unknown"):
        assert text in html
        assert text in summary


def test_no_password_reaches_the_log_or_the_reports(replay_run: Run) -> None:
    for name in REPORT_FILES:
        assert PASSWORD not in (replay_run.folder / name).read_text(encoding="utf-8"), name


def test_a_run_against_a_mutant_exits_1_and_names_the_unexpected_checks(mutant_run: Run) -> None:
    assert mutant_run.status == 1, mutant_run.stderr
    assert_valid_log(mutant_run.folder / "results.jsonl")
    failed = [c["id"] for c in mutant_run.records("check") if c["outcome"] == "failed"]
    assert "replay-same-code-twice" in failed
    assert mutant_run.stdout.startswith(f"FAILED: {len(select_checks([PLAN]))} checks")
    for check_id in failed:
        assert f"  unexpected: {PLAN}/{check_id}: " in mutant_run.stdout
        assert re.search(rf"^\[ *\d+/\d+\] FAIL {PLAN}/{check_id} \(", mutant_run.stderr, re.M)
    [run] = mutant_run.records("run")
    assert run["policy"]["faults"] == [FAULT]
    assert run["target"]["policy_file"].endswith(f"{FAULT}.yaml")
    [end] = mutant_run.records("end")
    assert end["unexpected"] == failed
    assert end["exit_status"] == 1
    summary = (mutant_run.folder / "summary.md").read_text(encoding="utf-8")
    assert summary.startswith("## \u274c FAILED")


@pytest.mark.browser
def test_the_mutants_index_html_shows_the_failed_check_with_its_evidence(
    mutant_run: Run, page: Page
) -> None:
    check = next(c for c in mutant_run.records("check") if c["outcome"] == "failed")
    step = next(s for s in check["steps"] if s["outcome"] == "failed")
    http = step["evidence"]["http"]
    exchange = http[-1] if isinstance(http, list) else http
    requirement = step["requirements"][0]
    # The page comes from pytest-playwright (root conftest): its event loop, its browser.
    page.goto((mutant_run.folder / "index.html").as_uri())
    assert page.locator(".verdict .word").inner_text() == "FAILED"
    # The unexpected list at the top links to the check's details.
    page.locator("#unexpected + ul a", has_text=check["id"]).first.click()
    section = page.locator(f"section#check-{check['id']}")
    assert section.is_visible()
    heading = section.locator("h3").inner_text()
    assert check["id"] in heading
    assert "failed" in heading
    assert "unexpected" in heading
    assert requirement in section.locator("div", has_text="Requirements:").first.inner_text()
    assert check["reason"] in section.inner_text()
    failed_step = section.locator("ol.steps > li", has=page.locator(".badge.o-failed")).first
    assert failed_step.is_visible()
    assert step["title"] in failed_step.inner_text()
    assert requirement in failed_step.locator(".req").all_inner_texts()
    shown = failed_step.locator("pre.http").last
    assert shown.is_visible()
    text = shown.inner_text()
    assert f"\u2192 {exchange['method']} {exchange['url']}" in text
    assert f"\u2190 {exchange['status']}" in text


def test_expected_failures_listed_with_comments_make_the_mutant_run_pass(
    tmp_path: Path, mutant_run: Run, mutant_policy: Path
) -> None:
    failed = [c["id"] for c in mutant_run.records("check") if c["outcome"] == "failed"]
    expectations = tmp_path / "expectations.yaml"
    expectations.write_text(
        yaml.safe_dump(
            [{"check": c, "outcome": "failed", "comment": f"{FAULT} mutant"} for c in failed]
        ),
        encoding="utf-8",
    )
    run = twofa_run(
        tmp_path / "reports",
        "--plan",
        PLAN,
        "--policy",
        str(mutant_policy),
        "--expectations",
        str(expectations),
    )
    assert run.status == 0, run.stdout + run.stderr
    assert "(0 unexpected)" in run.stdout.splitlines()[0]
    junit = ET.parse(run.folder / "junit.xml").getroot()  # noqa: S314
    assert junit.attrib["failures"] == "0"
    [record] = run.records("run")
    assert record["expectations_file"] == str(expectations)


def test_an_expected_failure_that_passes_is_unexpected(tmp_path: Path) -> None:
    expectations = tmp_path / "expected.yaml"
    expectations.write_text(
        "- check: replay-same-code-twice\n  comment: the old replay guard (TICKET-1)\n",
        encoding="utf-8",
    )
    # --expected is the option's old name, kept as a hidden alias.
    run = twofa_run(
        tmp_path / "reports", "--check", "replay-same-code-twice", "--expected", str(expectations)
    )
    assert run.status == 1, run.stdout + run.stderr
    assert "  unexpected: replay/replay-same-code-twice: expected failed, was passed" in run.stdout


def _run_in_process(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(["run", *args])
        status = 0
    except SystemExit as exc:
        status = int(exc.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (
            "- check: replay-same-code-twice\n  outcome: failed\n",
            "entry 1 (replay-same-code-twice): needs a comment saying why this outcome is expected",
        ),
        ("- check: replay-same-code-twice\n  comment: '  '\n", "needs a comment"),
        ("- check: no-such-check\n  comment: x\n", "entry 1 (no-such-check): no such check"),
        (
            "- {check: replay-same-code-twice, comment: a}\n"
            "- {check: replay-same-code-twice, comment: b}\n",
            "entry 2 (replay-same-code-twice): listed twice (first in entry 1)",
        ),
        (
            "- {check: replay-same-code-twice, comment: a, coment: b}\n",
            "entry 1 (replay-same-code-twice): unknown field 'coment'",
        ),
        (
            "- {check: replay-same-code-twice, comment: a, outcome: broken}\n",
            "unknown outcome 'broken' (one of passed, failed,",
        ),
        ("- just a string\n", "entry 1: expected a mapping"),
        ("- {outcome: failed, comment: a}\n", "entry 1: needs a 'check' id"),
        ("check: replay-same-code-twice\n", "expected a list of entries"),
        ("- check: [unclosed\n", "line 2: not valid YAML"),
    ],
)
def test_a_bad_expectations_file_is_one_line_with_file_and_entry_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, fragment: str
) -> None:
    path = tmp_path / "expectations.yaml"
    path.write_text(content, encoding="utf-8")
    status, out, err = _run_in_process(capsys, "--expectations", str(path))
    assert (status, out) == (2, "")
    assert err.count("\n") == 1, err
    assert err.startswith(f"twofa: error: {path}")
    assert fragment in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--expectations", "{missing}"], "no such expectations file"),
        (["--expectations", "{file}", "--expected", "{file}"], "give one of them"),
        (["--target", "ftp://example.com"], "unknown target 'ftp://example.com'"),
        (["--target", "no-such-peer"], "unknown target 'no-such-peer': give one of embedded"),
        (["--target-option", "window=3"], "--target-option 'window': no target takes it"),
        (["--target", "pam-oath", "--target-option", "window=x"], "option window"),
        (["--target", "pam-oath+http://127.0.0.1:1"], "cannot be reached at a URL"),
        (["--target", "http://127.0.0.1:9", "--policy", "{file}"], "--policy configures"),
        (["--plan", "nope"], "unknown plan or check: nope"),
    ],
)
def test_argument_errors_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], fragment: str
) -> None:
    good = tmp_path / "ok.yaml"
    good.write_text("[]\n", encoding="utf-8")
    filled = [a.format(missing=tmp_path / "absent.yaml", file=good) for a in args]
    status, out, err = _run_in_process(capsys, *filled)
    assert (status, out) == (2, "")
    assert err.count("\n") == 1, err
    assert fragment in err


def test_an_unreachable_target_is_exit_2_and_writes_no_run_folder(tmp_path: Path) -> None:
    run = twofa_run(tmp_path / "reports", "--target", "http://127.0.0.1:9", "--plan", PLAN)
    assert run.status == 2
    assert "does not answer" in run.stderr
    assert not (tmp_path / "reports").exists()


@pytest.fixture
def separate_server(tmp_path: Path) -> Iterator[str]:
    """``python -m reference_server serve --harness --port 0`` in its own folder and database."""
    instance = tmp_path / "server"
    instance.mkdir()
    env = {
        **os.environ,
        "TWOFA_INSTANCE_PATH": str(instance),
        "DATABASE_URL": f"sqlite:///{instance / 'reference.sqlite'}",
        "PYTHONUNBUFFERED": "1",
        "TZ": "UTC",
    }
    env.pop("SMTP_HOST", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "reference_server", "serve", "--harness", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=instance,
    )
    assert process.stdout is not None
    url: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:  # keep draining so the server never blocks on its pipe
            if not url and line.startswith(LISTENING_LINE):
                url.append(line[len(LISTENING_LINE) :].strip())
                ready.set()
        ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert ready.wait(30), "the reference server did not start in 30 s"
        assert url, "the reference server exited at start"
        yield url[0]
    finally:
        process.terminate()
        process.wait(timeout=10)
        reader.join(timeout=5)
        process.stdout.close()


@pytest.mark.slow
@pytest.mark.xdist_group("whole-embedded-run")
def test_a_separately_started_server_gets_the_same_verdicts_as_the_embedded_run(
    tmp_path: Path, separate_server: str, whole_embedded_run: Path
) -> None:
    remote = twofa_run(tmp_path / "remote", "--target", separate_server)
    assert remote.status == 0, remote.stdout + remote.stderr  # as the embedded run's
    [remote_run] = remote.records("run")
    assert {k: remote_run["target"][k] for k in ("kind", "url", "harness", "name")} == {
        "kind": "remote",
        "url": separate_server,
        "harness": True,
        "name": separate_server,
    }
    verdicts = {c["id"]: c["outcome"] for c in remote.records("check")}
    embedded = map(json.loads, (whole_embedded_run / "results.jsonl").read_text().splitlines())
    assert verdicts == {r["id"]: r["outcome"] for r in embedded if r["record"] == "check"}
    assert set(verdicts) == set(REGISTRY)


def _signalled_after_the_first_check(out: Path, signum: int) -> tuple[Run, set[int]]:
    """A whole ``twofa run`` sent ``signum`` once its first check ended: the run, and the
    processes it had started by then (its embedded server)."""
    # Every plan: after the first check dozens remain (seconds of work), so the
    # signal lands mid-run however fast one plan has become.
    process = subprocess.Popen(
        [TWOFA, "run", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=interruptible,
        env={**os.environ, "TZ": "UTC"},
    )
    assert process.stderr is not None
    seen: list[str] = []
    started: set[int] = set()
    for line in process.stderr:
        seen.append(line)
        if re.match(r"\[ *1/\d+\] ", line):
            started = children(process.pid)
            process.send_signal(signum)
            break
    stdout, rest = process.communicate(timeout=60)
    return Run(process.returncode, stdout, "".join(seen) + rest, out), started


def test_interrupting_a_run_still_writes_its_reports(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    run, _ = _signalled_after_the_first_check(out, signal.SIGINT)  # Ctrl-C
    assert run.status == 130, run.stderr
    assert "twofa: interrupted; the reports show the checks that ended" in run.stderr
    assert run.records("end") == []
    assert 1 <= len(run.records("check")) < len(select_checks())
    assert run.stdout.startswith("INTERRUPTED: ")
    html = (run.folder / "index.html").read_text(encoding="utf-8")
    assert "<strong>Interrupted run.</strong>" in html
    assert (out / "latest").resolve() == run.folder.resolve()


def test_sigterm_is_an_interrupt_that_stops_the_servers_it_started(tmp_path: Path) -> None:
    # A cancelled CI job sends SIGTERM: reports of what ended, and no server left behind.
    out = tmp_path / "reports"
    run, started = _signalled_after_the_first_check(out, signal.SIGTERM)
    assert started, "the run started no server process"
    assert run.status == 130, run.stderr
    assert run.stdout.startswith("INTERRUPTED: ")
    assert (out / "latest" / "index.html").is_file()
    # The embedded server (and anything it started) exited with the run.
    assert not [pid for pid in started if Path(f"/proc/{pid}").exists()]


def test_help_names_expectations_and_hides_the_old_name(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run_in_process(capsys, "--help")
    assert status == 0
    assert "--expectations FILE" in out
    assert "--expected" not in out
    assert "out/reports" in out


def test_a_checks_attachments_land_in_the_run_folder_and_the_html(tmp_path: Path) -> None:
    from PIL import Image

    from conformance.checks import CheckContext, CheckSpec
    from conformance.runner import run_checks
    from conformance.target import EmbeddedTarget
    from reports import write_reports

    def attach(ctx: CheckContext) -> None:
        assert ctx.run.output_dir is not None
        with ctx.step("Take a screenshot", ("RPL-01",)) as step:
            shot = ctx.run.output_dir / "evidence" / "01-page.png"
            shot.parent.mkdir()
            Image.new("RGB", (4, 3), (10, 200, 10)).save(shot, format="PNG")
            ctx.attachments.append(
                {"kind": "screenshot", "title": "The page", "path": "evidence/01-page.png"}
            )
            step.note("saved")

    # Not registered: a throwaway check must not join the suite's registry.
    spec = CheckSpec("attachment-demo", "Attach a screenshot", "demo", ("RPL-01",), "error", attach)
    folder = tmp_path / "run"
    with EmbeddedTarget() as target:
        summary = run_checks(target, [spec], folder / "results.jsonl")
    assert summary.exit_status == 0
    assert_valid_log(folder / "results.jsonl")
    assert (folder / "evidence" / "01-page.png").is_file()
    html = write_reports(folder / "results.jsonl")["html"].read_text(encoding="utf-8")
    assert '<img src="data:image/png;base64,' in html
    assert "missing:" not in html
