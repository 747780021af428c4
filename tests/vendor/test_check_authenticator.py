"""``twofa check-authenticator`` end to end: reports, exit status, misbehaving vendor programs."""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from conformance.cli import main
from conformance.vendor.cases import select_cases
from conformance.vendor.declared import declared_matrix
from simulators.profiles import PROFILES
from tests.processes import interruptible
from tests.result_log import assert_valid_log

FIXTURES = Path(__file__).parent / "fixtures"
SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "report.schema.json").read_text())
PY = shlex.quote(sys.executable)
REPORT_FILES = ("results.jsonl", "report.json", "junit.xml", "summary.md", "index.html")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(["check-authenticator", *args])
        status = 0
    except SystemExit as exc:
        status = int(exc.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def latest(out: Path) -> Path:
    return (out / "latest").resolve()


def checks(folder: Path) -> dict[str, dict[str, Any]]:
    records = [json.loads(line) for line in (folder / "results.jsonl").read_text().splitlines()]
    return {r["id"]: r for r in records if r["record"] == "check"}


def verdicts(folder: Path) -> dict[str, str]:
    return {
        case_id: (r["matrix"][0]["verdict"] if r.get("matrix") else r["outcome"])
        for case_id, r in checks(folder).items()
    }


def junit_root(folder: Path) -> ET.Element:
    return ET.fromstring((folder / "junit.xml").read_text())  # noqa: S314 - our own report


def vendor(mode: str) -> str:
    return f"{PY} {shlex.quote(str(FIXTURES / 'misbehaving_vendor.py'))} {mode}"


def cli_template(mode: str) -> str:
    return f"{PY} {shlex.quote(str(FIXTURES / 'misbehaving_cli.py'))} {mode} {{uri}} {{time}}"


def test_rfc_reference_profile_is_compatible_and_writes_every_report(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, out, err = run(capsys, "--profile", "rfc-reference", "--out", str(tmp_path))
    assert status == 0, out + err
    folder = latest(tmp_path)
    for name in REPORT_FILES:
        assert (folder / name).stat().st_size > 0, name
    assert_valid_log(folder / "results.jsonl")
    found = verdicts(folder)
    refused = {case_id for case_id, v in found.items() if v == "refused"}
    assert set(found.values()) == {"compatible", "refused"}
    # Only URI matrix rows a dialect lets a consumer refuse, e.g. M07 (no secret), M18.
    assert {"dialect-M07", "dialect-M18"} <= refused
    assert all(case_id.startswith("dialect-") for case_id in refused)
    assert {r["outcome"] for r in checks(folder).values()} == {"passed"}
    assert len(found) == len(select_cases())
    document = json.loads((folder / "report.json").read_text())
    jsonschema.validate(document, SCHEMA)
    assert document["extra"]["summary"]["verdict"] == "passed"
    assert document["extra"]["findings"][0]["severity"] == "info"
    assert "Compatible in every case" in out
    assert out.splitlines()[-1] == f"report: {folder / 'index.html'}"
    assert "Compatibility matrix" in (folder / "index.html").read_text()
    total = len(select_cases())
    assert f"[{1:>{len(str(total))}}/{total}] OK" in err


def test_a_silently_wrong_app_fails_with_the_plain_language_finding(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, out, _ = run(
        capsys,
        "--profile",
        "authy",
        "--cases",
        "algorithm",
        "--cases",
        "baseline",
        "--out",
        str(tmp_path),
    )
    assert status == 1
    sentence = (
        "SHA256 accepted but codes computed with SHA1: servers issuing SHA256 secrets will "
        "lock these users out."
    )
    assert sentence in out
    folder = latest(tmp_path)
    assert_valid_log(folder / "results.jsonl")
    assert sentence in (folder / "summary.md").read_text()
    assert sentence in (folder / "index.html").read_text()
    document = json.loads((folder / "report.json").read_text())
    jsonschema.validate(document, SCHEMA)
    assert sentence in [f["text"] for f in document["extra"]["findings"]]
    junit = junit_root(folder)
    failed = {c.get("name") for c in junit.iter("testcase") if c.find("failure") is not None}
    assert failed == {c.id for c in select_cases(["algorithm"])}


def test_a_crashing_vendor_is_restarted_and_its_cases_fail(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, out, err = run(
        capsys,
        "--jsonl",
        vendor("crash-on-sha512"),
        "--cases",
        "algorithm",
        "--cases",
        "combination",
        "--out",
        str(tmp_path),
    )
    assert status == 1
    assert "Traceback" not in out
    found = verdicts(latest(tmp_path))
    sha512 = {i for i in found if ".alg-SHA512." in f".{i}" or i.startswith("alg-SHA512.")}
    assert sha512
    assert all(found[i] == "failed" for i in sha512)
    # After each crash the process is restarted: every other case still ran.
    assert {v for i, v in found.items() if i not in sha512} == {"compatible"}
    record = checks(latest(tmp_path))[next(iter(sorted(sha512)))]
    evidence = record["steps"][0]["evidence"]
    assert evidence["failure"]["kind"] == "crash"
    assert "exit status 3" in evidence["failure"]["detail"]
    assert any("KeyError" in line for line in evidence["failure"]["stderr"])
    # The last case (SHA512/8/60) crashes too, and nothing needs the process after it.
    assert f"restarted {len(sha512) - 1} time(s)" in out
    assert "FAILED " in err


def test_a_hanging_vendor_times_out_per_case_and_the_run_goes_on(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, out, _ = run(
        capsys,
        "--jsonl",
        vendor("hang-on-2038"),
        "--cases",
        "time",
        "--timeout",
        "0.5",
        "--out",
        str(tmp_path),
    )
    assert status == 1
    found = verdicts(latest(tmp_path))
    late = {i for i in found if int(i.rsplit("t-", 1)[1]) >= 2**31}
    assert len(late) == 3
    assert {found[i] for i in late} == {"failed"}
    assert {v for i, v in found.items() if i not in late} == {"compatible"}
    record = checks(latest(tmp_path))[sorted(late)[0]]
    assert record["duration_ms"] < 3000
    assert "did not answer within 0.5 s in 3 case(s)" in out


def test_a_vendor_that_never_answers_is_given_up_on_after_five_timeouts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    start = time.monotonic()
    status, out, err = run(
        capsys, "--jsonl", vendor("hang-on-everything"), "--timeout", "0.3", "--out", str(tmp_path)
    )
    assert status == 1
    assert time.monotonic() - start < 30  # 5 timeouts, not one per case
    records = checks(latest(tmp_path))
    assert len(records) == len(select_cases(()))
    assert {r["outcome"] for r in records.values()} == {"failed"}
    not_run = [r for r in records.values() if r["duration_ms"] == 0]
    assert len(not_run) == len(records) - 5
    assert "did not answer within 0.3 s in 5 case(s)" in out
    assert f"{len(not_run)} case(s) were not run" in out
    assert "--give-up-after" in err
    for name in REPORT_FILES:
        assert (latest(tmp_path) / name).is_file()


def test_give_up_after_zero_asks_every_case(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, out, _ = run(
        capsys,
        "--jsonl",
        vendor("hang-on-everything"),
        "--cases",
        "time",
        "--timeout",
        "0.2",
        "--give-up-after",
        "0",
        "--out",
        str(tmp_path),
    )
    assert status == 1
    records = checks(latest(tmp_path))
    assert len(records) > 5
    assert "not run" not in out
    assert f"did not answer within 0.2 s in {len(records)} case(s)" in out


def test_a_vendor_printing_garbage_fails_those_cases_only(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, _, _ = run(
        capsys,
        "--jsonl",
        vendor("garbage-on-sha256"),
        "--cases",
        "algorithm",
        "--cases",
        "baseline",
        "--cases",
        "digits",
        "--out",
        str(tmp_path),
    )
    assert status == 1
    folder = latest(tmp_path)
    found = verdicts(folder)
    assert found["alg-SHA256.digits-6.period-30.bits-160.uri-plain.prov-uri.t-std"] == "failed"
    assert [v for v in found.values() if v != "compatible"] == ["failed"]
    reason = checks(folder)["alg-SHA256.digits-6.period-30.bits-160.uri-plain.prov-uri.t-std"]
    assert "not a JSON line" in reason["reason"]
    assert "500 Internal" in reason["reason"]


def test_codes_as_numbers_are_unreadable_answers(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, _, _ = run(
        capsys, "--jsonl", vendor("numbers"), "--cases", "baseline", "--out", str(tmp_path)
    )
    assert status == 1
    (record,) = checks(latest(tmp_path)).values()
    assert record["matrix"][0]["verdict"] == "failed"
    assert "codes must be strings" in record["reason"]


def test_a_vendor_that_dies_at_start_fails_every_case_with_a_finished_report(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, _out, _ = run(
        capsys, "--jsonl", vendor("die-at-start"), "--cases", "digits", "--out", str(tmp_path)
    )
    assert status == 1
    folder = latest(tmp_path)
    assert set(verdicts(folder).values()) == {"failed"}
    assert (folder / "index.html").exists()
    record = next(iter(checks(folder).values()))
    assert "cannot open the key store" in record["steps"][0]["evidence"]["failure"]["stderr"]


@pytest.mark.parametrize(
    ("mode", "selector", "kind"),
    [
        ("crash-on-sha512", "alg-SHA512.digits-6.period-30.bits-160.uri-p*.t-std", "crash"),
        ("kill-on-period-60", "alg-SHA1.digits-6.period-60.bits-160.uri-p*.t-std", "crash"),
        ("garbage-on-sha256", "alg-SHA256.digits-6.period-30.bits-160.uri-p*.t-std", "unreadable"),
        (
            "hang-on-2038",
            "alg-SHA1.digits-6.period-30.bits-160.uri-plain.prov-uri.t-2147483648",
            "timeout",
        ),
    ],
)
def test_a_misbehaving_command_fails_its_cases(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, mode: str, selector: str, kind: str
) -> None:
    status, out, _ = run(
        capsys,
        "--command",
        cli_template(mode),
        "--cases",
        selector,
        "--cases",
        "alg-SHA1.digits-6.period-30.bits-160.uri-plain.prov-uri.t-59",
        # A generous limit (this machine is shared), but a short one for the hang.
        "--timeout",
        "2" if kind == "timeout" else "10",
        "--out",
        str(tmp_path),
    )
    assert status == 1
    found = verdicts(latest(tmp_path))
    baseline = found.pop("alg-SHA1.digits-6.period-30.bits-160.uri-plain.prov-uri.t-59")
    assert baseline == "compatible"
    assert found
    assert set(found.values()) == {"failed"}
    reasons = " ".join(r["reason"] for r in checks(latest(tmp_path)).values())
    assert kind in reasons
    assert "Traceback" not in out


def test_expectations_from_the_declared_quirks_make_the_run_pass(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cases = select_cases()
    declared = declared_matrix(PROFILES["1password"], cases)
    entries = [
        {"check": case_id, "verdict": verdict, "comment": "declared by the profile"}
        for case_id, verdict in declared.items()
        if verdict != "compatible"
    ]
    # A refusal a dialect allows passes; listing it as expected must not make it unexpected.
    assert any(e["check"] == "dialect-M07" for e in entries)
    path = tmp_path / "expectations.yaml"
    path.write_text(json.dumps(entries))  # JSON is YAML
    status, out, _ = run(
        capsys, "--profile", "1password", "--expectations", str(path), "--out", str(tmp_path)
    )
    assert status == 0, out
    assert "(0 unexpected)" in out
    junit = junit_root(latest(tmp_path))
    assert not [c for c in junit.iter("testcase") if c.find("failure") is not None]


def test_an_expected_refusal_that_is_silently_wrong_is_unexpected(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "expectations.yaml"
    path.write_text(
        "- check: 'alg-SHA256.*'\n  verdict: refused\n  comment: we thought SHA256 was refused\n"
    )
    status, out, _ = run(
        capsys,
        "--profile",
        "authy",
        "--cases",
        "algorithm",
        "--expectations",
        str(path),
        "--out",
        str(tmp_path),
    )
    assert status == 1
    assert "(2 unexpected)" in out  # SHA512 is silently wrong too, and not expected
    junit = junit_root(latest(tmp_path))
    messages = [f.get("message") for f in junit.iter("failure")]
    assert any(m and m.startswith("expected refused but silently wrong") for m in messages)
    document = json.loads((latest(tmp_path) / "report.json").read_text())
    jsonschema.validate(document, SCHEMA)
    sha256 = next(c for c in document["extra"]["checks"] if c["id"].startswith("alg-SHA256"))
    assert sha256["unexpected"] is True
    assert sha256["expected_failure"] is False


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("- check: 'alg-SHA256.*'\n  verdict: refused\n", "needs a comment"),
        ("- check: nothing-like-this\n  verdict: refused\n  comment: x\n", "matches no case"),
        ("- check: 'alg-*'\n  verdict: broken\n  comment: x\n", "unknown verdict"),
        (
            "- check: 'alg-*'\n  verdict: refused\n  outcome: passed\n  comment: x\n",
            "means outcome",
        ),
        ("check: [unclosed\n", "not valid YAML"),
    ],
)
def test_a_bad_expectations_file_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "expectations.yaml"
    path.write_text(content)
    status, _out, err = run(
        capsys, "--profile", "authy", "--expectations", str(path), "--out", str(tmp_path / "o")
    )
    assert status == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give exactly one of"),
        (("--profile", "authy", "--jsonl", "x"), "give exactly one of"),
        (("--profile", "no-such-app"), "unknown profile"),
        (("--profile", "authy", "--cases", "no-such-family"), "matches no case"),
        (("--profile", "authy", "--timeout", "0"), "--timeout"),
        (("--command", "gen {secret}"), "needs {time}"),
        (("--command", "gen {secret} {time} {nonsense}"), "unknown placeholder {nonsense}"),
        (("--command", "no-such-program-here {secret} {time}"), "no such program"),
        (("--jsonl", "/no/such/vendor-program"), "cannot start"),
    ],
)
def test_wrong_arguments_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    status, _, err = run(capsys, *args, "--out", str(tmp_path))
    assert status == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_list_prints_the_cases_and_runs_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, out, _ = run(capsys, "--list", "--cases", "rfc-vectors", "--out", str(tmp_path))
    assert status == 0
    assert len(out.splitlines()) == 3
    assert not tmp_path.joinpath("latest").exists()


def test_an_interrupted_run_still_writes_its_reports(tmp_path: Path) -> None:
    twofa = str(Path(sys.executable).with_name("twofa"))
    proc = subprocess.Popen(
        [
            twofa,
            "check-authenticator",
            "--jsonl",
            vendor("hang-on-2038"),
            "--cases",
            "time",
            "--timeout",
            "60",
            "--out",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=interruptible,
    )
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:  # the 9th case (2^31) hangs
        seen.append(line)
        if line.startswith("[ 8/11]"):
            break
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, "".join(seen) + err
    assert "interrupted" in err
    assert "Traceback" not in err
    folder = latest(tmp_path)
    assert (folder / "index.html").exists()
    assert len(checks(folder)) == 8
    assert "INTERRUPTED" in out


def test_a_32_bit_time_is_named_as_the_year_2038_problem(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, out, _ = run(
        capsys, "--jsonl", vendor("int32-time"), "--cases", "time", "--out", str(tmp_path)
    )
    assert status == 1
    found = verdicts(latest(tmp_path))
    late = {i for i in found if int(i.rsplit("t-", 1)[1]) >= 2**31}
    assert {found[i] for i in late} == {"silently_wrong"}
    assert {v for i, v in found.items() if i not in late} == {"compatible"}
    assert "the Unix time is kept in a signed 32-bit integer" in out
    assert "locked out from January 2038" in out
