"""docs/authenticators.md's table, rendered from real check-authenticator runs' logs."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.cli import main as twofa
from reports.authenticators_table import END, START, main


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
    capsys.readouterr()


def test_a_bad_argument_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nolog"]) == 2
    assert "give NAME=LOG" in capsys.readouterr().err
    doc = tmp_path / "doc.md"
    doc.write_text("no markers\n", encoding="utf-8")
    log = check(tmp_path / "run", "profile:rfc-reference")
    assert main([f"a={log}", "--update", str(doc)]) == 2
    assert "has no <!-- authenticators-table:start -->" in capsys.readouterr().err
    assert doc.read_text(encoding="utf-8") == "no markers\n"
