"""The example vendor adapters in examples/ run as examples/README.md documents them."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
README = (ROOT / "examples" / "README.md").read_text()
TWOFA = str(Path(sys.executable).with_name("twofa"))


def documented(prefix: str) -> list[str]:
    """The documented commands starting with ``prefix`` (continuation lines joined)."""
    text = README.replace("\\\n", " ")
    found = []
    for in_table, in_console in re.findall(
        r"`(twofa check-authenticator [^`]+)`|\$ (twofa .+)", text
    ):
        command = " ".join((in_table or in_console).split())
        if command.startswith(prefix):
            found.append(command)
    return found


def twofa(command: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    argv = shlex.split(command)
    assert argv[0] == "twofa"
    env = {**os.environ, "TZ": "UTC"}
    return subprocess.run(
        [TWOFA, *argv[1:], "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )


def test_the_readme_documents_both_adapters() -> None:
    assert any("--jsonl" in c for c in documented("twofa check-authenticator"))
    assert any("--command" in c for c in documented("twofa check-authenticator"))


def test_the_jsonl_example_passes_every_case(tmp_path: Path) -> None:
    (command,) = {c for c in documented("twofa check-authenticator --jsonl")}
    done = twofa(command, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    # Compatible, or refused where a URI dialect allows it (e.g. M07, no secret).
    found = re.search(
        r"^PASSED: (\d+) cases, (\d+) compatible, (\d+) refused \(0 unexpected\)$",
        done.stdout,
        re.M,
    )
    assert found, done.stdout
    total, compatible, refused = map(int, found.groups())
    assert compatible + refused == total
    assert "URI matrix row(s) refused, as a dialect allows" in done.stdout
    assert (tmp_path / "latest" / "index.html").exists()


def test_the_command_example_runs_what_a_secret_can_carry(tmp_path: Path) -> None:
    (command,) = [c for c in documented("twofa check-authenticator --cases")]
    done = twofa(command, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("PASSED: 11 cases, 3 compatible, 8 not applicable (0 unexpected)")


def test_the_example_adapter_refuses_in_the_protocols_words(tmp_path: Path) -> None:
    requests = [
        '{"id": 1, "op": "provision", "uri": "otpauth://totp/A:b?secret=GEZDGNBV&algorithm=MD5"}',
        '{"id": 2, "op": "codes", "account": "nope", "times": [59]}',
        "not json",
    ]
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "vendor_adapter.py")],
        input="\n".join(requests) + "\n",
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    lines = done.stdout.splitlines()
    assert '"code": "unsupported_algorithm"' in lines[0]
    assert '"id": 1' in lines[0]
    assert '"code": "unknown_account"' in lines[1]
    assert '"code": "bad_request"' in lines[2]
