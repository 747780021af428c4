"""In-process reference servers (tests/inprocess.py): independent of each other in one process."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from conformance.http import TargetUnreachable
from conformance.runner import run_checks, select_checks
from tests.inprocess import InProcessTarget

#: A fault a single check catches: the same code accepted twice.
FAULT = "no_replay_guard"
CHECK = "replay-same-code-twice"


def test_two_servers_with_different_faults_behave_differently_and_share_no_data(
    tmp_path: Path,
) -> None:
    # The mutant first: if applying a fault changed anything module-wide (a Rules
    # class, a registry), the reference server built after it would carry it.
    with InProcessTarget({"faults": [FAULT]}) as mutant, InProcessTarget() as reference:
        assert mutant.base_url != reference.base_url
        assert mutant.harness is not None
        assert reference.harness is not None
        assert mutant.harness.policy()["faults"] == [FAULT]
        assert reference.harness.policy()["faults"] == []

        # Each its own harness clock (a row of its own database).
        mutant.harness.set_time(1_000_000_000)
        reference.harness.set_time(2_000_000_000)
        assert mutant.harness.now() == 1_000_000_000
        assert reference.harness.now() == 2_000_000_000

        checks = select_checks(check_ids=[CHECK])
        [caught] = run_checks(mutant, checks, tmp_path / "m.jsonl").results
        assert caught.outcome.value == "failed", caught.reason
        # The mutant's run mailed its agents; none of that reached the other mailbox.
        assert mutant.harness.mailbox() != []
        assert reference.harness.mailbox() == []
        assert reference.harness.now() == 2_000_000_000

        [held] = run_checks(reference, checks, tmp_path / "r.jsonl").results
        assert held.outcome.value == "passed", held.reason


def test_closing_stops_the_server_and_removes_its_folder() -> None:
    target = InProcessTarget()
    folder = target.instance_path
    assert (folder / "reference.sqlite").is_file()
    threads = {t.name for t in threading.enumerate()}
    assert f"inprocess-server-{target.port}" in threads
    target.close()
    assert not folder.exists()
    assert f"inprocess-server-{target.port}" not in {t.name for t in threading.enumerate()}
    with pytest.raises(TargetUnreachable):
        target.http.get("/__harness__/policy")


def test_the_environment_does_not_reach_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    # A crash point would SIGKILL this process; a mail host would get real mail.
    monkeypatch.setenv("TWOFA_HARNESS_CRASH_AT", "confirm.before_commit")
    monkeypatch.setenv("SMTP_HOST", "mail.invalid")
    with InProcessTarget() as target:
        svc = target.services
        assert svc.mailer is not None
        assert svc.mailer.host == "127.0.0.1"
        assert type(svc.rules.checkpoints).__name__ == "Checkpoints"
    assert os.environ["SMTP_HOST"] == "mail.invalid"
