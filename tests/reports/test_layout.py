"""out/reports/<run-id>/ and latest: sortable unique ids, an atomic link, else a text file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reports import LATEST, create_run_folder, new_run_id, point_latest, read_latest
from reports.layout import RUN_ID

NOV_18_2033 = 2_015_897_630.0  # 2033-11-18 03:33:50 UTC


def test_run_ids_carry_the_utc_time_and_sort_by_it() -> None:
    run_id = new_run_id(NOV_18_2033)
    assert RUN_ID.match(run_id)
    assert run_id.startswith("20331118T033350Z-")
    later = new_run_id(NOV_18_2033 + 1)
    assert sorted([later, run_id]) == [run_id, later]


def test_two_runs_in_the_same_second_get_different_folders(tmp_path: Path) -> None:
    first_id, first = create_run_folder(tmp_path / "out", now=NOV_18_2033)
    second_id, second = create_run_folder(tmp_path / "out", now=NOV_18_2033)
    assert first_id != second_id
    assert first.is_dir()
    assert second.is_dir()
    assert first.parent == second.parent == tmp_path / "out"


def test_latest_is_a_relative_link_replaced_in_place(tmp_path: Path) -> None:
    old_id, _ = create_run_folder(tmp_path, now=NOV_18_2033)
    new_id, new = create_run_folder(tmp_path, now=NOV_18_2033 + 60)
    point_latest(tmp_path, old_id)
    latest = point_latest(tmp_path, new_id)
    assert latest == tmp_path / LATEST
    assert latest.is_symlink()
    assert os.readlink(latest) == new_id  # relative: the out folder can be moved or mounted
    assert latest.resolve() == new.resolve()
    assert read_latest(tmp_path) == new_id
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([old_id, new_id, LATEST])


def test_a_run_that_finishes_late_does_not_hide_a_newer_one(tmp_path: Path) -> None:
    old_id, _ = create_run_folder(tmp_path, now=NOV_18_2033)
    new_id, _ = create_run_folder(tmp_path, now=NOV_18_2033 + 60)
    point_latest(tmp_path, new_id)
    point_latest(tmp_path, old_id)
    assert read_latest(tmp_path) == new_id


def test_without_symlinks_latest_is_a_text_file_with_the_run_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_symlinks(*args: object, **kwargs: object) -> None:
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(os, "symlink", no_symlinks)
    run_id, _ = create_run_folder(tmp_path, now=NOV_18_2033)
    latest = point_latest(tmp_path, run_id)
    assert not latest.is_symlink()
    assert latest.read_text(encoding="utf-8") == run_id + "\n"
    assert read_latest(tmp_path) == run_id
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_real_folder_named_latest_is_left_alone_with_an_error(tmp_path: Path) -> None:
    (tmp_path / LATEST).mkdir()
    (tmp_path / LATEST / "keep.txt").write_text("mine", encoding="utf-8")
    run_id, _ = create_run_folder(tmp_path, now=NOV_18_2033)
    with pytest.raises(IsADirectoryError):
        point_latest(tmp_path, run_id)
    assert (tmp_path / LATEST / "keep.txt").read_text(encoding="utf-8") == "mine"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_read_latest_ignores_what_is_not_a_run_id(tmp_path: Path) -> None:
    assert read_latest(tmp_path) is None
    (tmp_path / LATEST).write_text("../../etc\n", encoding="utf-8")
    assert read_latest(tmp_path) is None
