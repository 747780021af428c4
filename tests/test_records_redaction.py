"""The one redaction of result logs (``records.redaction``), and that nothing a check hands
its steps reaches any file of a run folder unredacted."""

from __future__ import annotations

import json
from pathlib import Path

from conformance.checks import CheckResult, CheckSpec, StepRecord
from conformance.replay import _writer
from conformance.results import ResultLog
from records import MARKER, PUBLIC_TEST_DATA, Outcome, redact, redact_uri
from reports import write_reports
from tests.result_log import assert_valid_log

PASSWORD = "correct-horse-battery-staple-7"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
CODE = "739215"
TOKEN = "tok_9f8e7d6c5b4a39281706f5e4d3c2b1a0"
URI = f"otpauth://totp/RS:a%40b.test?secret={SECRET}&issuer=RS&period=30"

#: One evidence object with every kind of secret a check may hand a step.
EVIDENCE = {
    "password": PASSWORD,
    "secret": SECRET,
    "code": CODE,
    "http": [
        {
            "method": "POST",
            "status": 401,
            "request": {"code": CODE, "password": PASSWORD},
            "response": {"error": {"code": "otp_invalid"}, "token": TOKEN},
        }
    ],
    "provisioning": {"otpauth_uri": URI, "manual_key": SECRET},
    "codes": [CODE, "000123"],
}


def test_passwords_secrets_codes_and_tokens_go_and_the_rest_stays() -> None:
    done = redact(EVIDENCE)
    assert done["password"] == done["secret"] == MARKER
    assert done["code"] == "<6-digit code>"
    assert done["codes"] == ["<6-digit code>", "<6-digit code>"]
    exchange = done["http"][0]
    assert exchange["request"] == {"code": "<6-digit code>", "password": MARKER}
    assert exchange["response"]["error"] == {"code": "otp_invalid"}  # an error code stays
    assert exchange["status"] == 401  # a status is not a code
    assert exchange["response"]["token"] == f"{TOKEN[:6]}…{MARKER}"
    assert done["provisioning"]["otpauth_uri"] == (
        f"otpauth://totp/RS:a%40b.test?secret={MARKER}&issuer=RS&period=30"
    )
    assert EVIDENCE["password"] == PASSWORD  # a copy: the check's own value is untouched


def test_a_removed_value_is_removed_from_the_record_s_texts_too_as_a_whole_word() -> None:
    record = {
        "evidence": {"code": CODE, "secret": SECRET},
        "message": f"code {CODE} was accepted twice; key {SECRET} typed",
        "other": f"step 1{CODE} is not that code",
    }
    done = redact(record)
    assert done["message"] == f"code {MARKER} was accepted twice; key {MARKER} typed"
    assert done["other"] == record["other"]


def test_redacting_twice_changes_nothing() -> None:
    once = redact(EVIDENCE)
    assert redact(once) == once


def test_public_test_data_is_kept_whole() -> None:
    vector = {"typed_key": "GEZDGNBVGY3TQOJQ", "expected_codes": ["287082"], PUBLIC_TEST_DATA: True}
    assert redact({"evidence": vector}) == {"evidence": vector}
    assert redact({"evidence": {**vector, PUBLIC_TEST_DATA: False}})["evidence"]["typed_key"] == (
        MARKER
    )


def test_uris_inside_text_lose_their_secret() -> None:
    text = f"the QR code carries {URI}, not otpauth://totp/x?issuer=y&secret=ABC"
    assert SECRET not in redact_uri(text)
    assert "secret=ABC" not in redact_uri(text)
    assert redact_uri("no uri here, secret=kept") == "no uri here, secret=kept"


def _check_result() -> CheckResult:
    spec = CheckSpec(
        id="leak-probe",
        title="A check that hands its step every kind of secret",
        plan="probe",
        requirements=("REQ-1",),
        severity="error",
        run=lambda ctx: None,
    )
    step = StepRecord(
        1,
        "Submit the code",
        ("REQ-1",),
        "stop",
        Outcome.FAILED,
        f"code {CODE} refused for {PASSWORD}",
        dict(EVIDENCE),
    )
    return CheckResult(spec, Outcome.FAILED, f"code {CODE} refused", [step], 0.0, 1.0)


def test_a_repeated_secret_and_a_label_with_a_raw_space_lose_every_secret() -> None:
    # Both were kept before: the second value of a repeated parameter (dialect case M08),
    # and the only one of a URI whose label has a raw space (M34), as check-authenticator's
    # matrix cells quote them.
    repeated = "duplicate: otpauth://totp/alice?secret=AAAABBBB&secret=CCCCDDDD&issuer=x"
    assert redact_uri(repeated) == (
        f"duplicate: otpauth://totp/alice?secret={MARKER}&secret={MARKER}&issuer=x"
    )
    spaced = {"value": "raw space: otpauth://totp/ACME Co:alice?secret=GEZDGNBVGY3TQOJQ"}
    assert redact(spaced) == {"value": f"raw space: otpauth://totp/ACME Co:alice?secret={MARKER}"}


def test_no_password_secret_code_or_token_reaches_any_file_of_a_run_folder(
    tmp_path: Path,
) -> None:
    log = ResultLog(tmp_path / "results.jsonl")
    log.start(
        command="run",
        target={"kind": "url", "url": "http://127.0.0.1:1", "harness": None, "token": TOKEN},
        plans=["probe"],
        variant={},
        expectations_file=None,
        seed={"agents": [{"email": "a@b.test", "password": PASSWORD}]},
    )
    log.target({"name": "probe", "admin_password": PASSWORD, "secret": SECRET}, 0.0)
    log.check(_check_result(), None)
    assert log.end() == 1
    with (tmp_path / "trace.jsonl").open("w", encoding="utf-8") as trace:
        _writer(trace)({"scenario": "s", "step": 1, "evidence": dict(EVIDENCE)})
    written = write_reports(tmp_path / "results.jsonl", tmp_path)
    assert {"report.json", "junit.xml", "summary.md", "index.html"} <= {
        p.name for p in written.values()
    }
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) >= 6
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        for value in (PASSWORD, SECRET, CODE, TOKEN):
            assert value not in text, f"{value[:8]}… in {path.name}"
    # What the check found is still there: the error code, the status, the redaction marks.
    assert_valid_log(tmp_path / "results.jsonl")
    records = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    step = records[2]["steps"][0]
    assert step["evidence"]["http"][0]["response"]["error"]["code"] == "otp_invalid"
    assert step["message"] == f"code {MARKER} refused for {MARKER}"


def test_every_result_log_writer_writes_through_the_one_redacting_record_file(
    tmp_path: Path,
) -> None:
    from conformance.interop.log import InteropLog
    from conformance.vendor.runner import VendorLog
    from records import RecordFile, model

    # run, replay and the pytest plugin write a ResultLog; check-authenticator a
    # VendorLog; interop an InteropLog: each line of each goes through RecordFile.
    for writer in (ResultLog, VendorLog, InteropLog):
        log = writer(tmp_path / writer.__name__ / "results.jsonl")
        assert isinstance(log._file, RecordFile), writer.__name__
        log.close()
    lines = RecordFile(tmp_path / "results.jsonl")
    step = model.Step(
        n=1,
        title="sign in",
        requirements=("RFC6238-5.2",),
        outcome=Outcome.FAILED,
        message=f"code {CODE} refused",
        on_failure="continue",
        evidence=EVIDENCE,
    )
    lines.write(step)
    lines.close()
    lines.write(step)  # after close: nothing, and no error (a worker racing the end)
    text = (tmp_path / "results.jsonl").read_text(encoding="utf-8")
    assert text.count("\n") == 1
    for value in (PASSWORD, SECRET, CODE):
        assert value not in text
    assert json.loads(text)["evidence"]["http"][0]["response"]["error"]["code"] == "otp_invalid"
