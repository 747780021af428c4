"""``python -m reports`` and ``write_reports``: the files, and one line for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from reports import ResultLogError, write_reports
from reports.__main__ import main
from tests.reports.records import mixed_log

ROOT = Path(__file__).resolve().parents[2]


def test_write_reports_writes_five_files(tmp_path: Path) -> None:
    log = mixed_log(tmp_path)
    written = write_reports(log, tmp_path / "out")
    assert written == {
        "json": tmp_path / "out" / "report.json",
        "junit": tmp_path / "out" / "junit.xml",
        "summary": tmp_path / "out" / "summary.md",
        "html": tmp_path / "out" / "index.html",
        "badge": tmp_path / "out" / "badge.json",
    }
    badge = json.loads(written["badge"].read_text(encoding="utf-8"))
    assert badge["color"] == "red"  # the mixed log has unexpected failures
    document = json.loads(written["json"].read_text(encoding="utf-8"))
    assert document["results"]["summary"]["tests"] == 8
    assert written["summary"].read_text(encoding="utf-8").startswith("## \u274c FAILED")
    assert written["junit"].read_text(encoding="utf-8").startswith("<?xml")
    # Attachments are read from the log's folder, whatever the output folder.
    assert "data:image/png;base64," in written["html"].read_text(encoding="utf-8")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "badge.json",
        "index.html",
        "junit.xml",
        "report.json",
        "summary.md",
    ]
    # The usual permissions (umask), not the owner-only ones of a temporary file.
    assert all(p.stat().st_mode & 0o044 for p in written.values())


def test_write_reports_defaults_to_the_log_folder_and_refuses_unknown_formats(
    tmp_path: Path,
) -> None:
    log = mixed_log(tmp_path)
    assert write_reports(log, formats=["junit"]) == {"junit": tmp_path / "junit.xml"}
    with pytest.raises(ValueError, match="unknown report format pdf"):
        write_reports(log, formats=["pdf"])
    with pytest.raises(ResultLogError):
        write_reports(tmp_path / "absent.jsonl", tmp_path / "never")
    assert not (tmp_path / "never").exists()


def test_cli_writes_the_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = mixed_log(tmp_path)
    assert main([str(log), "--out", str(tmp_path / "out"), "--format", "json,html"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [str(tmp_path / "out" / "report.json"), str(tmp_path / "out" / "index.html")]
    assert not (tmp_path / "out" / "junit.xml").exists()


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reports", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def test_python_m_reports_end_to_end(tmp_path: Path) -> None:
    log = mixed_log(tmp_path)
    result = _run(str(log), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert len(result.stdout.splitlines()) == 5
    for name in ("report.json", "junit.xml", "summary.md", "index.html", "badge.json"):
        assert (tmp_path / "out" / name).stat().st_size > 0


def test_missing_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = _run(str(tmp_path / "absent.jsonl"))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "absent.jsonl: no such file" in result.stderr


def test_malformed_log_is_one_line_with_the_line_number(tmp_path: Path) -> None:
    log = mixed_log(tmp_path)
    lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = "garbage\n"
    log.write_text("".join(lines), encoding="utf-8")
    result = _run(str(log))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "results.jsonl line 3: not JSON" in result.stderr
    assert not (tmp_path / "index.html").exists()


def test_unknown_format_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = _run(str(mixed_log(tmp_path)), "--format", "json,pdf")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "unknown format pdf" in result.stderr


def test_reports_imports_nothing_else_of_the_harness() -> None:
    code = (
        "import sys, reports, reports.__main__\n"
        "ours = ('simulators', 'conformance', 'reference_server')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ours))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == "[]"
