"""docs/authenticators.md's table, rendered from real check-authenticator runs' logs."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from conformance.cli import main as twofa
from conformance.vendor.cases import select_cases
from reports import load_log
from reports.authenticators_table import END, RUNS_DIR, START, main

ROOT = Path(__file__).parents[2]
DOC = ROOT / "docs" / "authenticators.md"
#: make authenticators-table's adapters, in its order (the Makefile's REAL_ADAPTERS).
REAL_ADAPTERS = re.search(
    r"^REAL_ADAPTERS := (.+)$", (ROOT / "Makefile").read_text(encoding="utf-8"), re.MULTILINE
)


def check(out: Path, adapter: str) -> Path:
    with pytest.raises(SystemExit):
        twofa([
            "check-authenticator", "--adapter", adapter, "--out", str(out),
            "--cases", "baseline", "--cases", "algorithm", "--cases", "dialect-M14",
        ])  # fmt: skip
    return (out / "latest" / "results.jsonl").resolve()


def test_the_table_is_rendered_between_the_markers_from_the_logs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = check(tmp_path / "good", "profile:rfc-reference")
    bad = check(tmp_path / "bad", "profile:authy")
    doc = tmp_path / "doc.md"
    doc.write_text(f"# Title\n\nkept\n\n{START}\nold\n{END}\n\nafter\n", encoding="utf-8")
    assert main([f"reference={good}", f"authy={bad}", "--update", str(doc)]) == 0
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# Title\n\nkept\n\n")
    assert text.endswith(f"{END}\n\nafter\n")
    assert "old" not in text
    assert "| `reference` | rfc-reference | 4 | 4 | 0 | 0 | 0 | 0 | exit 0, 0 unexpected |" in text
    assert "| `authy` | authy | 4 | 1 | 3 | 0 | 0 | 0 | exit 1, 3 unexpected |" in text
    assert "| algorithm | all 2 ok | 2 wrong |" in text
    assert "| uri-dialects | all 1 ok | 1 wrong |" in text
    assert "**`reference`**: no errors or warnings." in text
    assert "- ERROR: SHA256 accepted but codes computed with SHA1" in text
    # The logs it was rendered from are kept beside it, trimmed, and render it again.
    assert sorted(p.name for p in (tmp_path / RUNS_DIR).iterdir()) == [
        "01-reference.jsonl",
        "02-authy.jsonl",
    ]
    assert main(["--check", str(doc)]) == 0
    capsys.readouterr()


def test_the_documents_table_is_what_its_runs_render() -> None:
    assert main(["--check", str(DOC)]) == 0


def test_the_runs_are_every_real_adapter_s_whole_run_without_evidence() -> None:
    assert REAL_ADAPTERS is not None, "the Makefile names no REAL_ADAPTERS"
    runs = sorted((DOC.parent / RUNS_DIR).glob("*.jsonl"))
    assert [p.stem.partition("-")[2] for p in runs] == REAL_ADAPTERS.group(1).split()
    for path in runs:
        log = load_log(path)
        assert len(log.checks) == len(select_cases()), path  # every case family
        assert all(
            not check.steps and check.matrix
            for check in log.checks
            if check.outcome != "not_applicable"
        ), path
        assert log.end is not None, path


def test_a_changed_cell_is_caught(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(DOC.parent / RUNS_DIR, tmp_path / RUNS_DIR)
    doc = tmp_path / "authenticators.md"
    cases = len(select_cases())
    doc.write_text(DOC.read_text(encoding="utf-8").replace(f"| {cases} |", f"| {cases + 1} |", 1))
    assert main(["--check", str(doc)]) == 1
    assert "its table is not what" in capsys.readouterr().err


def test_a_bad_argument_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nolog"]) == 2
    assert "give NAME=LOG" in capsys.readouterr().err
    doc = tmp_path / "doc.md"
    doc.write_text("no markers\n", encoding="utf-8")
    log = check(tmp_path / "run", "profile:rfc-reference")
    assert main([f"a={log}", "--update", str(doc)]) == 2
    assert "has no <!-- authenticators-table:start -->" in capsys.readouterr().err
    assert doc.read_text(encoding="utf-8") == "no markers\n"
    assert not (tmp_path / RUNS_DIR).exists()  # nothing written for a document it cannot update
    assert main(["--check", str(doc)]) == 2
    assert "no adapter's log" in capsys.readouterr().err
