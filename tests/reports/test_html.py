"""The HTML report: self-contained, escaped, and showing what a person needs to see."""

from __future__ import annotations

import base64
import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest

from reports import load_log, render_html
from tests.reports.records import (
    COMMIT,
    HOSTILE,
    RUN_ID,
    WINDOW_CHART,
    check_record,
    mixed_log,
    png_bytes,
    run_record,
    step,
    write_log,
)

SAMPLE = Path(__file__).parent / "data" / "sample-results.jsonl"


class _Tags(HTMLParser):
    """Collects start tags and their attributes, as a browser would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


@pytest.fixture
def mixed_html(tmp_path: Path) -> str:
    return render_html(load_log(mixed_log(tmp_path)))


def test_loads_nothing_from_outside(mixed_html: str) -> None:
    for tag, attrs in _tags(mixed_html):
        for name in ("src", "href", "action", "xlink:href"):
            value = attrs.get(name)
            if value is not None:
                assert value.startswith(("#", "data:")), (tag, name, value[:60])
        assert tag not in ("script", "link", "iframe", "object", "embed")
    assert "url(" not in mixed_html
    assert "@import" not in mixed_html


def test_hostile_evidence_is_escaped(mixed_html: str) -> None:
    assert HOSTILE not in mixed_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in mixed_html
    assert not any(tag == "script" for tag, _ in _tags(mixed_html))


def test_hostile_ids_titles_and_attachment_paths_are_escaped(tmp_path: Path) -> None:
    evil = '"><img src=x onerror=alert(1)>'
    check = check_record(
        evil,
        evil,
        "failed",
        title=evil,
        requirements=[evil],
        attachments=[{"kind": evil, "title": evil, "path": evil}],
        charts=[{"kind": evil, "title": evil, "data": {"x": evil}}],
    )
    html = render_html(load_log(write_log(tmp_path, [run_record(variant={evil: evil}), check])))
    assert evil not in html
    assert not any(tag == "img" for tag, _ in _tags(html))
    assert not any("onerror" in attrs for _, attrs in _tags(html))


def test_png_attachment_is_embedded_and_missing_one_is_named(tmp_path: Path) -> None:
    html = render_html(load_log(mixed_log(tmp_path)))
    images = [attrs for tag, attrs in _tags(html) if tag == "img"]
    assert len(images) == 1
    src = images[0]["src"] or ""
    assert src.startswith("data:image/png;base64,")
    assert base64.b64decode(src.removeprefix("data:image/png;base64,")) == png_bytes()
    assert images[0]["alt"] == "QR code"
    assert "missing: evidence/gone.png" in html


def test_attachment_outside_the_log_folder_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "secret.png").write_bytes(png_bytes())
    logs = tmp_path / "logs"
    logs.mkdir()
    check = check_record(
        "a", "p", "passed", attachments=[{"kind": "file", "title": "t", "path": "../secret.png"}]
    )
    html = render_html(load_log(write_log(logs, [run_record(), check])))
    assert "data:image" not in html
    assert "outside the log's folder: ../secret.png" in html


def _svg(html: str) -> str:
    match = re.search(r"<svg class=\"window-chart\".*?</svg>", html, re.S)
    assert match, "no window chart"
    return match.group()


def test_window_chart_draws_cells_and_the_declared_window(mixed_html: str) -> None:
    svg = _svg(mixed_html)
    tags = _tags(svg)
    cells = [a for t, a in tags if t == "rect" and a.get("class") != "declared"]
    assert len(cells) == 5  # offsets -2..+2, one row
    declared = [a for t, a in tags if t == "rect" and a.get("class") == "declared"]
    assert len(declared) == 1
    # The outline spans exactly the three cells of offsets -1, 0, +1.
    x0, width = float(declared[0]["x"] or 0), float(declared[0]["width"] or 0)
    inside = [
        c
        for c in cells
        if x0 <= float(c["x"] or 0) and float(c["x"] or 0) + float(c["width"] or 0) <= x0 + width
    ]
    assert len(inside) == 3
    assert "declared window \u22121\u2026+1" in svg
    # +2 was accepted outside the declared window: its own colour and a glyph, not colour only.
    assert svg.count("accepted OUTSIDE the declared window") == 1
    assert "\u2713!" in svg
    assert "Differs from the declaration: +2 accepted outside it" in mixed_html


def test_window_chart_has_one_row_per_phase(tmp_path: Path) -> None:
    data = {
        "offsets": [-1, 0, 1],
        "accepted": [True, True, True],
        "phases": [0, 15, 29],
        "accepted_by_phase": [[True, True, False], [True, True, True], [True, True, True]],
        "declared": {"back": 1, "forward": 1},
    }
    check = check_record("a", "window", "failed", charts=[{**WINDOW_CHART, "data": data}])
    svg = _svg(render_html(load_log(write_log(tmp_path, [run_record(), check]))))
    cells = [a for t, a in _tags(svg) if t == "rect" and a.get("class") != "declared"]
    assert len(cells) == 9
    for label in ("at 0 s", "at 15 s", "at 29 s"):
        assert f">{label}</text>" in svg
    assert "refused INSIDE the declared window" in svg


def test_undrawable_chart_shows_its_data_instead(tmp_path: Path) -> None:
    bad = {**WINDOW_CHART, "data": {"offsets": [0, 1], "accepted": [True]}}
    check = check_record("a", "window", "failed", charts=[bad])
    html = render_html(load_log(write_log(tmp_path, [run_record(), check])))
    assert "Cannot draw this window chart: accepted has 1 entries for 2 offsets." in html
    assert "<svg" not in html


def test_matrix_view_colours_verdicts_and_lists_failing_cases(tmp_path: Path) -> None:
    cells = [
        ("algorithm", "SHA1", "compatible"),
        ("algorithm", "SHA256", "silently_wrong"),
        ("digits", "8", "refused"),
    ]
    checks = [
        check_record(
            f"{p}-{v}".lower(),
            "authenticator",
            "passed" if verdict == "compatible" else "failed",
            matrix={"parameter": p, "value": v, "verdict": verdict},
        )
        for p, v, verdict in cells
    ]
    run = run_record(command="check-authenticator", plans=["authenticator"])
    html = render_html(load_log(write_log(tmp_path, [run, *checks])))
    table = html[html.index("<h2 id='matrix'>") : html.index("<h2 id='details'>")]
    assert "<th scope='row'>algorithm</th>" in table
    assert "class='m-silently_wrong'><code>SHA256</code>" in table
    assert "class='m-compatible'><code>SHA1</code>" in table
    failing = table[table.index("Failing cases") :]
    assert "algorithm = SHA256" in failing
    assert "digits = 8" in failing
    assert "SHA1" not in failing


def test_provenance_summary_and_requirement_ids_everywhere(mixed_html: str) -> None:
    for text in (
        "twofa-harness 0.1.0",
        "http://127.0.0.1:43121",
        "algorithm=SHA1, digits=6, period=30",
        "2026-11-18 11:06:40 UTC",
        "42.00 s",
        "complete",
    ):
        assert text in mixed_html
    assert '<span class="word">FAILED</span>' in mixed_html
    assert "3 unexpected result(s)" in mixed_html
    # Every check and every step shows its requirement ids.
    assert mixed_html.count('<span class="req">WIN-04</span>') >= 3  # table, check, step
    assert "<h2 id='unexpected'>" in mixed_html
    assert '<span class="tag expected">expected failure</span>' in mixed_html
    assert "(it happened): known bug #42" in mixed_html
    assert "expected failure but passed (guard not shipped yet)" in mixed_html


def test_outcomes_have_text_not_only_colour(mixed_html: str) -> None:
    for word in ("passed", "failed", "warning", "skipped", "not applicable", "error"):
        assert re.search(rf'<span class="badge o-\w+">\S+ {word}</span>', mixed_html), word


def test_interrupted_log_says_so(tmp_path: Path) -> None:
    html = render_html(load_log(mixed_log(tmp_path, complete=False)))
    assert "<strong>Interrupted run.</strong>" in html
    assert "results.jsonl has no end record" in html
    assert "(interrupted)" in html


def test_sample_log_renders_every_check(tmp_path: Path) -> None:
    log = load_log(SAMPLE)
    html = render_html(log)
    assert len(log.checks) == 10
    assert {c.plan for c in log.checks} == {"algorithm", "window", "replay"}
    for check in log.checks:
        assert f"<code>{check.id}</code>" in html
    assert html.count("data:image/png;base64,") == 1
    assert html.count('class="window-chart"') == 2
    assert "missing:" not in html


def test_provenance_shows_run_id_commit_policy_and_seed(mixed_html: str) -> None:
    assert f"<dt>Run id</dt><dd><code>{RUN_ID}</code></dd>" in mixed_html
    assert f"twofa-harness 0.1.0, commit <code>{COMMIT}</code>" in mixed_html
    policy = mixed_html[mixed_html.index("<dt>Declared policy</dt>") :]
    assert policy.startswith("<dt>Declared policy</dt><dd><details><summary>totp, window")
    assert '"period": 30' in unescape(policy)
    seed = mixed_html[mixed_html.index("<dt>Seed</dt>") :]
    assert "(passwords redacted)" in seed
    assert "&lt;redacted&gt;" in seed  # escaped, and shown as the text <redacted>
    assert '"password": "<redacted>"' in unescape(seed)


def test_plan_by_check_matrix_links_every_check(mixed_html: str) -> None:
    overview = mixed_html[mixed_html.index("<h2 id='overview'>") : mixed_html.index("id='plans'")]
    cells = re.findall(r"<a class='cell o-(\w+)( unexpected)?' href='#([\w-]+)'", overview)
    assert [(outcome, anchor) for outcome, _, anchor in cells] == [
        ("passed", "check-alg-pass"),
        ("warning", "check-alg-warn"),
        ("not_applicable", "check-alg-na"),
        ("failed", "check-window-fail"),
        ("skipped", "check-window-skip"),
        ("failed", "check-replay-expected-fail"),
        ("passed", "check-replay-expected-fail-but-passed"),
        ("error", "check-replay-error"),
    ]
    assert [anchor for _, flag, anchor in cells if flag] == [
        "check-window-fail",
        "check-replay-expected-fail-but-passed",
        "check-replay-error",
    ]
    # Screen readers and text searches get the id and outcome, not only a glyph.
    assert "<span class='sr'>window-fail: failed unexpected</span>" in overview


def test_a_list_of_http_exchanges_is_shown_as_exchanges(tmp_path: Path) -> None:
    exchanges = [
        {"method": "POST", "url": "/api/v1/auth/otp", "status": 200, "request": {"code": "1"}},
        {"method": "POST", "url": "/api/v1/auth/otp", "status": 401, "request": {"code": "1"}},
    ]
    check = check_record(
        "a", "replay", "failed", steps=[step(1, "failed", evidence={"http": exchanges})]
    )
    html = render_html(load_log(write_log(tmp_path, [run_record(), check])))
    shown = re.findall(r'<pre class="http" aria-label="HTTP exchange">(.*?)</pre>', html, re.S)
    assert [x.splitlines()[0] for x in shown] == ["\u2192 POST /api/v1/auth/otp"] * 2
    assert ["\u2190 401" in x for x in shown] == [False, True]


def test_a_checks_own_variant_is_shown(tmp_path: Path) -> None:
    checks = [
        check_record("alg-digits", "algorithm", "passed", variant={"digits": 6}),
        check_record("alg-digits", "algorithm", "passed", variant={"digits": 8}),
    ]
    html = render_html(load_log(write_log(tmp_path, [run_record(), *checks])))
    assert "<span>variant <code>digits=6</code></span>" in html
    assert "<span>variant <code>digits=8</code></span>" in html
    assert 'id="check-alg-digits-2"' in html
