"""summary.md: the CI job summary puts the verdict and the unexpected results first, escaped."""

from __future__ import annotations

from pathlib import Path

from reports import load_log, render_markdown
from tests.reports.records import (
    COMMIT,
    HOSTILE,
    MIXED_UNEXPECTED,
    RUN_ID,
    check_record,
    end_record,
    mixed_checks,
    mixed_log,
    run_record,
    step,
    write_log,
)


def _table_rows(markdown: str, header: str) -> list[str]:
    lines = markdown.splitlines()
    start = lines.index(header)
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def _cells(row: str) -> int:
    """Cells of a GFM table row: pipes that are not escaped, minus the outer two."""
    unescaped = row.replace("\\|", "")
    return unescaped.count("|") - 1


def test_verdict_counts_then_unexpected_then_table_then_provenance(tmp_path: Path) -> None:
    text = render_markdown(load_log(mixed_log(tmp_path)))
    assert text.startswith("## \u274c FAILED: twofa-harness run\n")
    assert "**8 checks** \u00b7 **3 unexpected results**" in text
    assert "| 2 | 2 | 1 | 1 | 1 | 1 |" in text  # passed, failed, warning, skipped, n/a, error
    order = [
        text.index("### Unexpected results"),
        text.index("### Plans and checks"),
        text.index("### Provenance"),
    ]
    assert order == sorted(order)
    unexpected = text[order[0] : order[1]]
    for check_id in MIXED_UNEXPECTED:
        assert f"#### `{check_id}`" in unexpected
    assert "`replay-expected-fail`" not in unexpected  # failed as expected: not news


def test_unexpected_result_names_its_failing_step_and_requirement_ids(tmp_path: Path) -> None:
    text = render_markdown(load_log(mixed_log(tmp_path)))
    section = text[text.index("#### `window-fail`") : text.index("#### `replay-expected")]
    assert "**Requirements:** `WIN-02` `WIN-04`" in section
    assert "**Step 2 failed:** Step 2 (`WIN-04`): step +2 accepted" in section
    assert "**Step 1" not in section  # the passing step is not repeated here
    passed_unexpectedly = text[text.index("#### `replay-expected-fail-but-passed`") :]
    assert "but the expectations file says **failed**: guard not shipped yet" in (
        passed_unexpectedly
    )


def test_the_failing_steps_http_exchanges_are_in_a_fence(tmp_path: Path) -> None:
    exchange = {
        "method": "POST",
        "url": "/api/v1/auth/otp",
        "status": 200,
        "request": {"code": "287082"},
        "response": {"next": "done", "note": "```\n</details><script>x</script>"},
    }
    failing = check_record(
        "replay-same-code-twice",
        "replay",
        "failed",
        steps=[step(1, "failed", evidence={"http": [exchange] * 5})],
    )
    path = write_log(tmp_path, [run_record(plans=["replay"]), failing])
    text = render_markdown(load_log(path))
    assert "the last 3 of 5; all are in index.html" in text
    assert text.count("\u2192 POST /api/v1/auth/otp") == 3
    # The evidence holds a ``` run: the fence is longer, so the evidence cannot close it.
    assert "\n````\n" in text
    fenced = text.split("\n````\n")[1]
    assert "</details><script>x</script>" in fenced


def test_text_from_the_log_is_escaped_and_keeps_tables_whole(tmp_path: Path) -> None:
    checks = mixed_checks()
    checks[3]["reason"] = f"a | b {HOSTILE} `tick` *star* [link](http://x)"
    checks[3]["title"] = HOSTILE
    path = write_log(tmp_path, [run_record(), *checks, end_record(checks, MIXED_UNEXPECTED)])
    text = render_markdown(load_log(path))
    assert HOSTILE not in text
    assert "&lt;script&gt;" in text
    assert "a \\| b" in text
    assert "\\[link\\](http://x)" in text
    for row in _table_rows(text, "| Plan | Check | Outcome | Requirements | Time |"):
        assert _cells(row) == 5, row
    for row in _table_rows(text, "| | |"):
        assert _cells(row) == 2, row


def test_provenance_names_harness_commit_target_policy_and_seed(tmp_path: Path) -> None:
    text = render_markdown(load_log(mixed_log(tmp_path)))
    provenance = text[text.index("### Provenance") :]
    assert f"| Harness | twofa-harness 0.1.0, commit {COMMIT} |" in provenance
    assert f"| Run id | `{RUN_ID}` |" in provenance
    assert "| Target | embedded http://127.0.0.1:43121 (harness mode) |" in provenance
    assert "| Started | 2026-11-18 11:06:40 UTC |" in provenance
    assert "| Finished | 2026-11-18 11:07:22 UTC |" in provenance
    assert '<details><summary>Declared policy</summary>\n\n```json\n{\n  "totp"' in provenance
    assert '"password": "<redacted>"' in provenance


def test_a_clean_run_says_passed_and_lists_no_unexpected_results(tmp_path: Path) -> None:
    checks = [check_record("a", "p", "passed"), check_record("b", "p", "passed")]
    path = write_log(tmp_path, [run_record(plans=["p"]), *checks, end_record(checks, [])])
    text = render_markdown(load_log(path))
    assert text.startswith("## \u2705 PASSED: twofa-harness run\n")
    assert "**0 unexpected results**" in text
    assert "### Unexpected results" not in text


def test_an_interrupted_run_says_so(tmp_path: Path) -> None:
    text = render_markdown(load_log(mixed_log(tmp_path, complete=False)))
    assert "> **Interrupted run:** results.jsonl has no end record" in text
    assert "| Finished | not recorded (interrupted); last check ended" in text
