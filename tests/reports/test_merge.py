"""``twofa report merge`` (``reports/merge.py``) and ``twofa run --shard`` (``Shard``): the
partition, what a merge keeps and counts again, and every merge it refuses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance.cli import main
from conformance.runner import Shard, ShardError, select_checks
from reports import load_log, summarize
from reports.badge import render_badge
from reports.merge import MergeError, merge_logs
from tests.reports.records import (
    check_record,
    embedded_description,
    end_record,
    measured_record,
    multi_run_record,
    target_record,
    write_log,
)

IDS = ["algorithm-a", "algorithm-b", "window-c", "window-d", "replay-e"]


def shard_log(
    folder: Path,
    index: int,
    count: int,
    outcomes: dict[str, str],
    *,
    target: str = "embedded",
    measured: dict[str, Any] | None = None,
    **run: Any,
) -> Path:
    """A finished log of one part: ``outcomes`` of the checks it ran against ``target``."""
    folder.mkdir(parents=True, exist_ok=True)
    checks = [
        check_record(i, i.split("-")[0], o, target=target, started_at=1_795_000_001.0 + n)
        for n, (i, o) in enumerate(outcomes.items())
    ]
    unexpected = [c["id"] for c in checks if c["outcome"] in ("failed", "error")]
    shard = {"index": index, "count": count, "selection": IDS}
    return write_log(
        folder,
        [
            multi_run_record([target], shard=shard, **run),
            target_record({**embedded_description(), "name": target}),
            *checks,
            measured_record(target, measured, None),
            end_record(checks, unexpected),
        ],
    )


# -- the partition ---------------------------------------------------------------------


def test_shards_are_disjoint_cover_the_selection_and_keep_its_order() -> None:
    checks = select_checks()
    parts = [Shard(i, 3).select(checks) for i in (1, 2, 3)]
    ids = [[c.id for c in part] for part in parts]
    every = [i for part in ids for i in part]
    assert sorted(every) == sorted(c.id for c in checks)
    assert len(set(every)) == len(checks)
    order = [c.id for c in checks]
    for part in ids:
        assert part == sorted(part, key=order.index)
    assert ids[0][:2] == [order[0], order[3]]  # round-robin: checks 0, 3, 6 ...
    assert max(map(len, ids)) - min(map(len, ids)) <= 1
    assert [c.id for c in Shard(1, 1).select(checks)] == order


def test_a_shard_is_the_same_partition_every_time() -> None:
    assert Shard(2, 4).select(select_checks()) == Shard(2, 4).select(select_checks())
    record = Shard(2, 4).record(select_checks())
    assert (record["index"], record["count"]) == (2, 4)
    assert record["selection"] == [c.id for c in select_checks()]


@pytest.mark.parametrize("text", ["0/3", "4/3", "3", "a/b", "1/0", "-1/3", "2/3/4"])
def test_an_unusable_shard_is_refused_with_a_line_saying_how(text: str) -> None:
    with pytest.raises(ShardError, match=r"--shard .*(I/N|between 1 and N)"):
        Shard.parse(text)


def test_twofa_run_refuses_a_bad_shard_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["run", "--shard", "4/3"])
    assert done.value.code == 2
    assert "--shard '4/3': I must be between 1 and N" in capsys.readouterr().err


def test_a_shard_with_no_checks_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["run", "--check", "algorithm-codes-accepted-at-controlled-times", "--shard", "2/2"])
    assert done.value.code == 2
    assert "part 2 of 2 has no checks (the selection has 1)" in capsys.readouterr().err


def test_twofa_run_list_shows_a_shard_s_checks(capsys: pytest.CaptureFixture[str]) -> None:
    main(["run", "--list", "--shard", "2/3"])
    listed = [line.split()[1] for line in capsys.readouterr().out.splitlines()]
    assert listed == [c.id for c in Shard(2, 3).select(select_checks())]


# -- merging ---------------------------------------------------------------------------


def test_a_merge_keeps_every_check_in_run_order_and_counts_again(tmp_path: Path) -> None:
    first = shard_log(
        tmp_path / "1",
        1,
        2,
        {"algorithm-a": "passed", "window-c": "failed", "replay-e": "passed"},
        measured={"window": {"back": 1, "forward": None}, "probes": {"credentials": 3}},
    )
    second = shard_log(
        tmp_path / "2",
        2,
        2,
        {"algorithm-b": "passed", "window-d": "passed"},
        measured={"window": {"forward": 1}, "replay": {"same_code": "refused"},
                  "probes": {"credentials": 4}},
    )  # fmt: skip
    merged = merge_logs([second, first], tmp_path / "merged")
    log = load_log(merged)
    assert [c.id for c in log.checks] == IDS  # the selection's order, whatever the order given
    assert log.end is not None
    assert (log.end.counts["passed"], log.end.counts["failed"]) == (4, 1)
    assert log.end.unexpected == ("window-c",)
    assert log.end.exit_status == 1
    assert summarize(log).end_agrees is True
    (target,) = log.targets
    assert target.measured is not None
    assert target.measured.measured == {
        "window": {"back": 1, "forward": 1},
        "probes": {"credentials": 7},
        "replay": {"same_code": "refused"},
    }
    assert [p["shard"]["index"] for p in log.run.merged_from] == [2, 1]
    assert log.run.shard is None
    assert log.run.plans == ("algorithm", "window", "replay")


def test_logs_of_different_targets_merge_into_a_matrix(tmp_path: Path) -> None:
    a = shard_log(tmp_path / "a", 1, 1, {"algorithm-a": "passed"}, target="embedded")
    b = shard_log(tmp_path / "b", 1, 1, {"algorithm-a": "failed"}, target="privacyidea")
    log = load_log(merge_logs([a, b], tmp_path / "merged"))
    assert [t.name for t in log.targets] == ["embedded", "privacyidea"]
    assert log.several_targets
    assert log.end is not None
    assert log.end.unexpected == ("privacyidea::algorithm-a",)


def test_a_merge_of_different_harness_versions_is_refused(tmp_path: Path) -> None:
    a = shard_log(tmp_path / "a", 1, 2, {"algorithm-a": "passed"})
    b = shard_log(tmp_path / "b", 2, 2, {"algorithm-b": "passed"}, tool_version="0.2.0")
    with pytest.raises(MergeError, match=r"different harness versions: .*0\.1\.0.*0\.2\.0"):
        merge_logs([a, b], tmp_path / "merged")
    c = shard_log(tmp_path / "c", 2, 2, {"algorithm-b": "passed"}, git_commit="f" * 40)
    with pytest.raises(MergeError, match="different harness versions"):
        merge_logs([a, c], tmp_path / "merged")
    assert not (tmp_path / "merged" / "results.jsonl").exists()


def test_overlapping_parts_an_interrupted_part_and_a_log_given_twice_are_refused(
    tmp_path: Path,
) -> None:
    a = shard_log(tmp_path / "a", 1, 2, {"algorithm-a": "passed"})
    b = shard_log(tmp_path / "b", 1, 2, {"algorithm-a": "passed"})
    with pytest.raises(MergeError, match=r"check algorithm-a on target embedded is in .* and in"):
        merge_logs([a, b], tmp_path / "merged")
    with pytest.raises(MergeError, match="given twice"):
        merge_logs([a, a], tmp_path / "merged")
    cut = tmp_path / "cut" / "results.jsonl"
    cut.parent.mkdir()
    cut.write_text("".join(a.read_text().splitlines(keepends=True)[:-1]), encoding="utf-8")
    with pytest.raises(MergeError, match="did not finish"):
        merge_logs([cut], tmp_path / "merged")
    with pytest.raises(MergeError, match="no such file"):
        merge_logs([tmp_path / "missing.jsonl"], tmp_path / "merged")


def test_twofa_report_merge_writes_the_reports_and_exits_as_the_run_would(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = shard_log(tmp_path / "a", 1, 2, {"algorithm-a": "passed"})
    b = shard_log(tmp_path / "b", 2, 2, {"algorithm-b": "failed"})
    with pytest.raises(SystemExit) as done:
        main(["report", "merge", str(a), str(b), "--out", str(tmp_path / "m")])
    assert done.value.code == 1
    out = capsys.readouterr().out
    assert "FAILED: 2 checks from 2 logs (1 unexpected)" in out
    assert "unexpected: algorithm-b" in out
    for name in ("results.jsonl", "report.json", "junit.xml", "summary.md", "index.html"):
        assert (tmp_path / "m" / name).is_file()
    badge = json.loads((tmp_path / "m" / "badge.json").read_text(encoding="utf-8"))
    assert badge == {
        "schemaVersion": 1,
        "label": "2FA conformance",
        "message": "1/2 passed, 1 unexpected",
        "color": "red",
    }
    assert "merged from 2 logs" in (tmp_path / "m" / "summary.md").read_text(encoding="utf-8")
    with pytest.raises(SystemExit) as refused:
        main(["report", "merge", str(a), str(a), "--out", str(tmp_path / "m2")])
    assert refused.value.code == 2
    assert "given twice" in capsys.readouterr().err


def test_twofa_report_log_still_renders_one_log(tmp_path: Path) -> None:
    a = shard_log(tmp_path / "a", 1, 2, {"algorithm-a": "passed"})
    main(["report", str(a), "--out", str(tmp_path / "r")])
    assert (tmp_path / "r" / "index.html").is_file()
    assert "part 1 of 2 of 5 checks" in (tmp_path / "r" / "index.html").read_text()


def test_the_badge_is_green_when_everything_passed(tmp_path: Path) -> None:
    log = load_log(shard_log(tmp_path / "a", 1, 1, {"algorithm-a": "passed"}))
    badge = json.loads(render_badge(log))
    assert (badge["message"], badge["color"]) == ("1/1 passed", "brightgreen")
