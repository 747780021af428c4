"""docs/targets.md's table of the peers is generated from a real run, never typed by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from reports import load_log
from reports.targets_table import END, RUN_FILE, START, block, main, render_table

ROOT = Path(__file__).parents[2]
DOC = ROOT / "docs" / "targets.md"


def test_the_documents_table_is_what_its_run_file_renders() -> None:
    assert main(["--check", str(DOC)]) == 0


def test_the_run_file_holds_every_peer_of_the_table() -> None:
    log = load_log(DOC.with_name(RUN_FILE))
    names = [t.name for t in log.targets if t.measured is not None]
    assert names == [
        "privacyidea",
        "pam-google-authenticator",
        "pam-oath",
        "django-otp",
        "flask-security",
    ]
    # Trimmed: the checks' outcomes are there, their evidence is not.
    assert log.checks
    assert all(not check.steps for check in log.checks)


def test_a_changed_cell_is_caught(tmp_path: Path) -> None:
    doc = tmp_path / "targets.md"
    (tmp_path / RUN_FILE).write_bytes(DOC.with_name(RUN_FILE).read_bytes())
    text = DOC.read_text()
    doc.write_text(text.replace("| window back |", "| window back (typed) |", 1))
    assert main(["--check", str(doc)]) == 1


def test_update_rewrites_only_between_the_markers(tmp_path: Path) -> None:
    source = DOC.with_name(RUN_FILE)
    doc = tmp_path / "targets.md"
    doc.write_text(f"# Before\n\n{START}\nstale\n{END}\n\nAfter.\n")
    assert main([str(source), "--update", str(doc)]) == 0
    text = doc.read_text()
    assert text.startswith("# Before\n\n")
    assert text.endswith("\n\nAfter.\n")
    assert "stale" not in text
    assert render_table(load_log(tmp_path / RUN_FILE)) in text
    assert main(["--check", str(doc)]) == 0


def test_a_document_without_markers_or_a_log_without_measurements_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = DOC.with_name(RUN_FILE)
    doc = tmp_path / "plain.md"
    doc.write_text("no markers here\n")
    assert main([str(source), "--update", str(doc)]) == 2
    assert "markers" in capsys.readouterr().err
    bare = tmp_path / "bare.jsonl"
    bare.write_text(source.read_text().splitlines()[0] + "\n")
    with pytest.raises(ValueError, match="no target has a measured record"):
        block(load_log(bare))
