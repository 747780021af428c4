"""The pure parts of ``make bench``'s throughput figures (``benchmarks/throughput.py``).

wrk's output is parsed, the "does not fall" rule and the ratios are computed and
printed as the bench prints them; and, where Debian's ``wrk`` is installed, the Lua
script sends each prepared request at most once and stops at the count. Nothing
here times anything.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from benchmarks.bare_flask import make_app, prepare_floor
from benchmarks.throughput import (
    BenchError,
    Point,
    Results,
    holds,
    parse_wrk,
    ratio_text,
    report,
    request_line,
    run_wrk,
    spares_needed,
    spread,
    totp,
    wrong_code,
)

WRK_LINE = (
    'TWOFA-BENCH {"requests": 1000, "duration_us": 2000000, "p50_us": 1500, '
    '"p99_us": 24999, "max_us": 40000, "statuses": {"200": 998, "401": 2}, "marked": 997, '
    '"errors": {"connect": 0, "read": 1, "write": 0, "timeout": 2}}'
)


def point(connections: int, rate: float, *, p99_ms: float = 10.0) -> Point:
    """A point of ``rate`` requests a second (1000 requests), all 200."""
    return Point(connections, 1000, 1000 / rate, 1.0, p99_ms, {200: 1000})


def test_parse_wrk_reads_the_marker_line_among_wrk_s_own_output() -> None:
    output = f"Running 2s test @ http://127.0.0.1:1/\n  1 threads\n{WRK_LINE}\nRequests/sec: 1.0\n"
    found = parse_wrk(output, 16, mark=True)
    assert found.connections == 16
    assert found.requests == 1000
    assert found.seconds == pytest.approx(2.0)
    assert found.rate == pytest.approx(500.0)
    assert (found.p50_ms, found.p99_ms) == (pytest.approx(1.5), pytest.approx(24.999))
    assert found.statuses == {200: 998, 401: 2}
    assert found.socket_errors == 3
    assert found.marked == 997


def test_parse_wrk_without_a_mark_keeps_marked_unset() -> None:
    assert parse_wrk(WRK_LINE, 1).marked is None


def test_parse_wrk_without_the_marker_line_is_an_error_quoting_the_output() -> None:
    with pytest.raises(BenchError, match="connection refused"):
        parse_wrk("unable to connect to 127.0.0.1:1 connection refused\n", 1)


def test_unexpected_counts_wrong_statuses_missing_marks_and_socket_errors() -> None:
    found = parse_wrk(WRK_LINE, 1, mark=True)
    # 2 answers were 401, 3 bodies lack the mark (the larger), 3 socket errors.
    assert found.unexpected(200) == 3 + 3
    assert found.unexpected(401) == 998 + 3
    clean = Point(1, 10, 1.0, 1.0, 1.0, {401: 10}, marked=10)
    assert clean.unexpected(401) == 0


def test_a_point_without_duration_has_no_rate() -> None:
    assert Point(1, 10, 0.0, 0.0, 0.0).rate == 0.0


def test_holds_when_throughput_rises_or_stays_level() -> None:
    assert holds([point(1, 300), point(2, 500), point(4, 520), point(8, 520), point(16, 530)])


def test_holds_tolerates_noise_below_five_percent_of_the_best_so_far() -> None:
    assert holds([point(1, 500), point(2, 1000), point(4, 951), point(16, 960)])


def test_holds_fails_when_a_point_falls_below_the_best_before_it() -> None:
    # 16 connections fall to 90% of the 4-connection point, not of the one just before.
    assert not holds([point(1, 500), point(4, 1000), point(8, 960), point(16, 900)])
    assert not holds([point(1, 140), point(16, 100)])


def test_holds_judges_in_rising_order_of_connections() -> None:
    assert not holds([point(16, 100), point(1, 140)])
    assert holds([point(16, 140), point(1, 100)])


def test_ratio_text() -> None:
    assert ratio_text(0.3049) == "x 0.30"
    assert ratio_text(12.5) == "x12.50"
    assert ratio_text(None) == "x  -  "


def results(bare: float, valid: float, wrong: float, *, p99_ms: float = 10.0) -> Results:
    found = Results()
    for c in (1, 16):
        found.add("bare", point(c, bare), 200)
        found.add("sqlite valid", point(c, valid, p99_ms=p99_ms), 200)
        found.add("sqlite wrong", Point(c, 1000, 1000 / wrong, 1.0, p99_ms, {401: 1000}), 401)
    return found


def test_report_prints_the_ratio_beside_each_figure_and_the_verdicts() -> None:
    lines = report(results(1000, 310, 440, p99_ms=24.9), ["sqlite"], None)
    valid = next(i for i, line in enumerate(lines) if line.startswith("sqlite valid"))
    assert "310 req/s  x 0.31" in lines[valid + 1]
    verdict = lines[valid + 3]
    assert "ratio at 16 conn 0.31 >= 0.30: met" in verdict
    assert "p99 at 16 conn 24.9 ms < 25 ms: met" in verdict
    assert "does not fall from 1 to 16 conn: met" in verdict
    wrong = next(line for line in lines if "ratio at 16 conn 0.44" in line)
    assert "0.44 >= 0.45: NOT MET" in wrong


def test_report_says_not_met_for_a_slow_p99_and_flags_unexpected_answers() -> None:
    found = results(1000, 400, 500, p99_ms=25.0)
    found.points["sqlite valid"][1] = Point(16, 1000, 2.5, 1.0, 25.0, {200: 990, 401: 10})
    lines = report(found, ["sqlite"], None)
    text = "\n".join(lines)
    assert "p99 at 16 conn 25.0 ms < 25 ms: NOT MET" in text
    assert "10 of 1000 not as expected" in text
    assert "10 responses not as expected: figures suspect" in text


def test_report_prints_our_ratio_to_the_peer_on_both_paths() -> None:
    found = results(1000, 400, 500)
    for c in (1, 16):
        found.add("privacyIDEA valid", point(c, 20), 200)
        found.add("privacyIDEA wrong", point(c, 25), 200)
    text = "\n".join(report(found, ["sqlite", "privacyIDEA"], "privacyIDEA"))
    assert "sqlite / privacyIDEA, valid codes at 16 conn:  20.0x (target >= 20x): met" in text
    assert "sqlite / privacyIDEA, wrong codes at 16 conn:  20.0x (target >= 20x): met" in text
    # The peer's own rows carry no verdicts of their own.
    assert text.count("targets:") == 2


def test_report_prints_the_floor_and_the_share_of_it_the_server_reaches() -> None:
    found = results(1000, 310, 440)
    for c in (1, 16):
        found.add("sqlite floor", point(c, 800), 200)
    text = "\n".join(report(found, ["sqlite"], None))
    assert "sqlite floor: the bare endpoint running a wrong code's statements" in text
    assert "800 req/s  x 0.80" in text
    assert "at 16 conn: 55% of sqlite's floor (which is itself x0.80)" in text
    assert "above this floor" not in text


def test_report_says_when_a_target_is_above_the_floor_itself() -> None:
    found = results(1000, 150, 180)
    for c in (1, 16):
        found.add("postgresql floor", point(c, 390), 200)
        found.add("postgresql valid", point(c, 150), 200)
        found.add("postgresql wrong", Point(c, 1000, 1000 / 180, 1.0, 10.0, {401: 1000}), 401)
    text = "\n".join(report(found, ["postgresql"], None))
    assert "the wrong-code target x0.45 is above this floor (x0.39 at 16 conn)" in text
    assert "the valid-code target" not in text  # 0.30 is below the floor: reachable


def test_the_floor_endpoint_runs_a_wrong_code_s_statements_on_the_row_its_code_picks(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'floor.sqlite3'}"
    prepare_floor(url, 3)
    client = make_app(url, 3).test_client()
    for code in ("000001", "000004", "000002"):
        answer = client.post("/api/v1/auth/otp", json={"code": code})
        assert answer.status_code == 200
    with sqlite3.connect(tmp_path / "floor.sqlite3") as db:
        counts = dict(db.execute("SELECT id, failures FROM floor_agents"))
    assert counts == {1: 0, 2: 2, 3: 1}  # 1 and 4 pick row 2 (of 3), 2 picks row 3
    prepare_floor(url, 3)  # a new bench run starts from zero
    with sqlite3.connect(tmp_path / "floor.sqlite3") as db:
        assert db.execute("SELECT sum(failures) FROM floor_agents").fetchone() == (0,)


def test_request_lines_carry_path_authorization_content_type_and_body() -> None:
    assert request_line("/api/v1/auth/otp", {"code": "012345"}, "Bearer abc") == (
        '/api/v1/auth/otp\tBearer abc\tapplication/json\t{"code":"012345"}'
    )
    assert request_line("/validate/check", {"serial": "S1", "pass": "000001"}, form=True) == (
        "/validate/check\t-\tapplication/x-www-form-urlencoded\tserial=S1&pass=000001"
    )


def test_spread_keeps_one_token_s_requests_apart() -> None:
    assert spread([["a1", "a2"], ["b1", "b2"], ["c1", "c2"]], 2) == [
        "a1",
        "b1",
        "c1",
        "a2",
        "b2",
        "c2",
    ]


def test_codes_are_rfc_6238_and_wrong_codes_match_no_step_near() -> None:
    secret = b"12345678901234567890"
    assert totp(secret, 59 // 30, digits=8) == "94287082"  # RFC 6238 appendix B
    step = 1_900_000_020 // 30
    wrong = wrong_code(secret, step, around=10)
    assert wrong not in {totp(secret, s) for s in range(step - 10, step + 11)}
    assert len(wrong) == 6
    assert wrong.isdigit()


class _Recorder(BaseHTTPRequestHandler):
    bodies: list[str]

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        self.server.bodies.append(self.rfile.read(length).decode())  # type: ignore[attr-defined]
        answer = json.dumps({"next": "done"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *_args: object) -> None:
        pass


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """wrk interrupted mid-request (it is stopped at the count): nothing to report."""


@pytest.fixture
def recorder() -> Iterator[ThreadingHTTPServer]:
    server = _QuietServer(("127.0.0.1", 0), _Recorder)
    server.bodies = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.skipif(shutil.which("wrk") is None, reason="Debian's wrk is not installed")
@pytest.mark.parametrize("connections", [1, 4])
def test_wrk_sends_each_prepared_request_once_and_stops_at_the_count(
    recorder: ThreadingHTTPServer, tmp_path: Path, connections: int
) -> None:
    count = 40
    lines = [
        request_line("/api/v1/auth/otp", {"code": f"{i:06d}"}, "Bearer t")
        for i in range(count + spares_needed(connections))
    ]
    url = f"http://127.0.0.1:{recorder.server_address[1]}"
    found = run_wrk(
        url, lines, connections=connections, count=count, workdir=tmp_path, mark='"next"'
    )
    assert found.requests >= count
    assert found.unexpected(200) == 0
    assert found.marked is not None
    assert found.marked >= count
    sent = [json.loads(body)["code"] for body in recorder.bodies]  # type: ignore[attr-defined]
    assert len(sent) == len(set(sent)), "a prepared request went out twice"
    # The first line only feeds wrk's check of the script; then the lines go in order.
    assert "000000" not in sent
    assert count <= len(sent) <= count + connections


@pytest.mark.skipif(shutil.which("wrk") is None, reason="Debian's wrk is not installed")
def test_wrk_refuses_too_few_prepared_requests(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="cannot serve"):
        run_wrk("http://127.0.0.1:1", ["x"] * 20, connections=4, count=16, workdir=tmp_path)


def test_the_median_round_is_reported_with_the_range_of_the_others() -> None:
    found = Results()
    for rate in (900, 300, 1000):  # one slow spell of the machine, in one round
        found.add("bare", point(16, 3000), 200)
        found.add("sqlite valid", point(16, rate), 200)
    assert found.at("sqlite valid", 16) == point(16, 900)
    assert [p.rate for p in found.rounds("sqlite valid", 16)] == [300, 900, 1000]
    row = next(line for line in report(found, ["sqlite"], None) if "900 req/s" in line)
    assert "x 0.30" in row
    assert "[3 rounds 300-1,000]" in row


def test_does_not_fall_is_judged_on_the_medians() -> None:
    found = Results()
    for c, rates in ((1, (500, 510, 100)), (16, (505, 90, 520))):
        for rate in rates:
            found.add("sqlite wrong", point(c, rate), 200)
    assert [p.rate for p in found.medians("sqlite wrong")] == [500, 505]
    assert holds(found.medians("sqlite wrong"))
    assert not holds([point(1, 500), point(16, 90)])  # one round alone would say it falls


def test_the_bare_endpoint_is_judged_by_the_does_not_fall_rule_too() -> None:
    level = "\n".join(report(results(1000, 400, 500), ["sqlite"], None))
    assert "the same rule for the bare endpoint: does not fall from 1 to 16 conn: met" in level
    dipping = results(1000, 400, 500)
    dipping.points["bare"][1] = point(16, 900)
    text = "\n".join(report(dipping, ["sqlite"], None))
    assert "the same rule for the bare endpoint: does not fall from 1 to 16 conn: NOT MET" in text
