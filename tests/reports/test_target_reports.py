"""Every report of a run of several targets: CTRF, JUnit, summary.md and index.html."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from reports import load_log, render_html, render_json, render_junit, render_markdown
from tests.reports.records import (
    FAILED_TO_START,
    HOSTILE,
    MULTI_UNEXPECTED,
    PEER_DECLARED,
    PEER_MEASURED,
    REAL_TIME_DECLARED,
    REAL_TIME_MEASURED,
    REFERENCE_DECLARED,
    REFERENCE_MEASURED,
    START_ERROR,
    embedded_description,
    end_record,
    measured_record,
    multi_run_record,
    multi_target_log,
    multi_target_records,
    real_time_description,
    run_record,
    target_checks,
    target_record,
    write_log,
)

SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "report.schema.json").read_text())
REAL_TIME = real_time_description()["name"]


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(SCHEMA)
    cls.check_schema(SCHEMA)
    return cls(SCHEMA)


def _errors(validator: jsonschema.protocols.Validator, document: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def one_target_log(folder: Path) -> Path:
    """A one-target log as the runner writes it now: target and measured records included."""
    checks = target_checks("embedded", {"window-measured-matches-declared": "passed"})
    return write_log(
        folder,
        [
            multi_run_record(["embedded"]),
            target_record(embedded_description()),
            *checks,
            measured_record("embedded", REFERENCE_MEASURED, REFERENCE_DECLARED),
            end_record(checks, []),
        ],
    )


def real_time_log(folder: Path) -> Path:
    """One target the harness cannot move the clock of."""
    checks = target_checks(
        REAL_TIME, {"window-measured-matches-declared": "passed", "drift-device": "not_applicable"}
    )
    run = run_record(target=real_time_description(), targets=[{"name": REAL_TIME}])
    return write_log(
        folder,
        [
            run,
            target_record(real_time_description()),
            *checks,
            measured_record(REAL_TIME, REAL_TIME_MEASURED, REAL_TIME_DECLARED, real_time=True),
            end_record(checks, []),
        ],
    )


def _document(path: Path) -> dict[str, Any]:
    return json.loads(render_json(load_log(path)))  # type: ignore[no-any-return]


# -- report.json --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["several", "interrupted", "one-target", "real-time"])
def test_reports_of_target_logs_validate_against_the_schema(
    validator: jsonschema.protocols.Validator, tmp_path: Path, kind: str
) -> None:
    if kind == "several":
        path = multi_target_log(tmp_path)
    elif kind == "interrupted":
        path = multi_target_log(tmp_path, complete=False)
    elif kind == "one-target":
        path = one_target_log(tmp_path)
    else:
        path = real_time_log(tmp_path)
    assert _errors(validator, _document(path)) == []


def test_the_schema_checks_measured_and_declared(
    validator: jsonschema.protocols.Validator, tmp_path: Path
) -> None:
    good = _document(multi_target_log(tmp_path))
    bad_replay = json.loads(json.dumps(good))
    bad_replay["extra"]["declared"]["privacyidea"]["replay"] = "sometimes"
    bad_window = json.loads(json.dumps(good))
    bad_window["extra"]["measured"]["embedded"]["window"]["accepted_by_phase"]["0"] = ["-1"]
    no_label = json.loads(json.dumps(good))
    del no_label["results"]["tests"][0]["labels"]["target"]
    for document in (bad_replay, bad_window, no_label):
        assert _errors(validator, document), document


def test_extra_holds_measured_declared_and_targets_keyed_by_target(tmp_path: Path) -> None:
    extra = _document(multi_target_log(tmp_path))["extra"]
    assert extra["measured"] == {"embedded": REFERENCE_MEASURED, "privacyidea": PEER_MEASURED}
    assert extra["declared"] == {"embedded": REFERENCE_DECLARED, "privacyidea": PEER_DECLARED}
    assert [t["name"] for t in extra["targets"]] == ["embedded", "privacyidea", FAILED_TO_START]
    peer = extra["targets"][1]
    assert (peer["kind"], peer["url"], peer["options"], peer["clock"]) == (
        "peer",
        "http://127.0.0.1:5001",
        {"timeWindow": 60},
        "moved by the harness",
    )
    assert peer["sources"]["throttle.max_failures"] == "[option] max_failcount"
    broken = extra["targets"][2]
    assert (broken["started"], broken["error"], broken["sources"]) == (False, START_ERROR, None)
    assert extra["run"]["targets"] == ["embedded", "privacyidea", FAILED_TO_START]
    assert extra["summary"]["unexpected"] == MULTI_UNEXPECTED
    assert extra["summary"]["end_agrees"] is True
    assert extra["summary"]["by_target"]["privacyidea"]["failed"] == 2
    check = extra["checks"][2]
    assert (check["target"], check["key"], check["name"]) == (
        "privacyidea",
        "privacyidea::window-measured-matches-declared",
        "privacyidea::window-measured-matches-declared",
    )


def test_ctrf_tests_carry_their_target_and_unique_names(tmp_path: Path) -> None:
    results = _document(multi_target_log(tmp_path))["results"]
    names = [t["name"] for t in results["tests"]]
    assert len(names) == len(set(names)) == 6
    assert names[0] == "embedded::window-measured-matches-declared"
    peer = results["tests"][2]
    assert peer["labels"]["target"] == "privacyidea"
    assert peer["labels"]["check"] == "window-measured-matches-declared"
    assert peer["suite"] == ["privacyidea", "window"]
    assert results["summary"]["suites"] == 6  # 3 targets x 2 plans
    assert "privacyidea: peer http://127.0.0.1:5001" in results["environment"]["testEnvironment"]
    assert (
        f"{FAILED_TO_START} (could not be started)" in (results["environment"]["testEnvironment"])
    )


def test_a_one_target_report_keeps_its_shape(tmp_path: Path) -> None:
    document = _document(one_target_log(tmp_path))
    test = document["results"]["tests"][0]
    assert test["name"] == "window-measured-matches-declared"
    assert test["suite"] == ["window"]
    assert test["labels"]["target"] == "embedded"
    assert document["results"]["environment"]["testEnvironment"] == (
        "embedded http://127.0.0.1:43121 (harness mode)"
    )
    assert document["extra"]["measured"] == {"embedded": REFERENCE_MEASURED}
    assert document["extra"]["summary"]["unexpected"] == []


# -- junit.xml ----------------------------------------------------------------------------


def _parse(text: str) -> ET.Element:
    return ET.fromstring(text)  # noqa: S314 - our own output


def test_junit_has_one_suite_per_target(tmp_path: Path) -> None:
    root = _parse(render_junit(load_log(multi_target_log(tmp_path))))
    suites = {s.attrib["name"]: s for s in root.iter("testsuite")}
    assert list(suites) == ["embedded", "privacyidea", FAILED_TO_START]
    assert {k: root.attrib[k] for k in ("tests", "failures", "errors")} == {
        "tests": "6",
        "failures": "2",
        "errors": "2",
    }
    peer = suites["privacyidea"]
    assert (peer.attrib["tests"], peer.attrib["failures"]) == ("2", "2")
    cases = peer.findall("testcase")
    assert [c.attrib["classname"] for c in cases] == [
        "twofa.privacyidea.window",
        "twofa.privacyidea.replay",
    ]
    assert cases[0].attrib["name"] == "window-measured-matches-declared"
    props = {p.attrib["name"]: p.attrib["value"] for p in peer.find("properties") or []}
    assert (props["target"], props["target_url"]) == ("privacyidea", "http://127.0.0.1:5001")
    case_props = {p.attrib["name"]: p.attrib["value"] for p in cases[0].iter("property")}
    assert case_props["target"] == "privacyidea"
    broken = suites[FAILED_TO_START].findall("testcase")
    assert all(c.find("error") is not None for c in broken)


def test_junit_of_one_target_keeps_a_suite_per_plan(tmp_path: Path) -> None:
    root = _parse(render_junit(load_log(one_target_log(tmp_path))))
    assert [s.attrib["name"] for s in root.iter("testsuite")] == ["window"]
    case = next(root.iter("testcase"))
    assert case.attrib["classname"] == "twofa.window"


def test_junit_of_an_interrupted_multi_target_run_still_errors(tmp_path: Path) -> None:
    root = _parse(render_junit(load_log(multi_target_log(tmp_path, complete=False))))
    assert [s.attrib["name"] for s in root.iter("testsuite")][-1] == "run"
    assert root.attrib["errors"] == "3"  # two checks of the target that did not start, and the run


# -- summary.md ---------------------------------------------------------------------------


def _rows(markdown: str, header: str) -> list[str]:
    lines = markdown.splitlines()
    start = lines.index(header)
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def test_markdown_has_a_target_by_check_matrix(tmp_path: Path) -> None:
    text = render_markdown(load_log(multi_target_log(tmp_path)))
    header = f"| Plan | Check | `embedded` | `privacyidea` | `{FAILED_TO_START}` |"
    rows = _rows(text, header)
    assert rows == [
        "| window | `window-measured-matches-declared` | \u2713 passed | "
        "\u2717 failed **(unexpected)** | \u26a0 error **(unexpected)** |",
        "| replay | `replay-same-code-twice` | \u2713 passed | "
        "\u2717 failed **(unexpected)** | \u26a0 error **(unexpected)** |",
    ]
    assert "3 targets: `embedded`, `privacyidea`, `pam-oath`" in text
    assert f"> **Target `{FAILED_TO_START}` could not be started:** harness error" in text
    counts = _rows(text, "| Target | \u2713 passed | \u2717 failed | \u26a0 error |")
    assert counts[1] == "| `privacyidea` | 0 | 2 | 0 |"
    assert "#### `privacyidea::window-measured-matches-declared`" in text


def test_markdown_puts_measured_beside_declared_per_target(tmp_path: Path) -> None:
    text = render_markdown(load_log(multi_target_log(tmp_path)))
    section = text[text.index("### Measured vs declared: `privacyidea`") :]
    rows = _rows(section, "| What | Declared | Measured | |")
    assert "| window back | 2 steps | 3 steps | \u2717 **differs** |" in rows
    assert "| window forward | 2 steps | 2 steps | \u2713 same |" in rows
    assert (
        "| throttle: locks after | after 10 wrong code(s) (lockout) | after 10 wrong code(s) "
        "| \u2713 same |" in rows
    )
    assert sum("**differs**" in r for r in rows) == 3
    embedded = text[text.index("### Measured vs declared: `embedded`") :]
    assert "**differs**" not in embedded[: embedded.index("### Measured vs declared: `priv")]
    assert "### Measured vs declared: `pam-oath`" not in text  # it measured nothing


def test_markdown_says_when_a_target_ran_in_real_time(tmp_path: Path) -> None:
    text = render_markdown(load_log(real_time_log(tmp_path)))
    assert (
        f"> `{REAL_TIME}` ran in real time: checks that move the clock are not applicable." in text
    )
    assert "### Measured vs declared\n" in text  # one target: no name in the heading
    assert "### Target \u00d7 check matrix" not in text


def test_markdown_of_an_interrupted_run_says_what_was_not_measured(tmp_path: Path) -> None:
    records = multi_target_records(complete=False)
    cut = next(i for i, r in enumerate(records) if r.get("target") == "privacyidea")
    text = render_markdown(load_log(write_log(tmp_path, records[: cut + 1])))
    peer = text[text.index("### Measured vs declared: `privacyidea`") :]
    assert peer.split("\n\n")[1].startswith("Nothing measured: no measured record")
    broken = text[text.index(f"### Measured vs declared: `{FAILED_TO_START}`") :]
    assert "the run stopped before this target started" in broken
    assert f"| `{FAILED_TO_START}` | not reached" in text


# -- index.html ---------------------------------------------------------------------------


def _between(html: str, start: str, end: str) -> str:
    return html[html.index(start) : html.index(end, html.index(start))]


def test_html_matrix_cells_link_to_each_targets_check(tmp_path: Path) -> None:
    html = render_html(load_log(multi_target_log(tmp_path)))
    matrix = _between(html, "<h2 id='target-matrix'>", "<h2 id='targets'>")
    links = re.findall(r"<a class='badge o-(\w+)' href='#([\w-]+)'", matrix)
    assert links == [
        ("passed", "check-embedded-window-measured-matches-declared"),
        ("failed", "check-privacyidea-window-measured-matches-declared"),
        ("error", "check-pam-oath-window-measured-matches-declared"),
        ("passed", "check-embedded-replay-same-code-twice"),
        ("failed", "check-privacyidea-replay-same-code-twice"),
        ("error", "check-pam-oath-replay-same-code-twice"),
    ]
    for _, anchor in links:
        assert f'id="{anchor}"' in html
    assert matrix.count("<span class='tag unexpected'>unexpected</span>") == 4
    assert "<h2 id='overview'>" not in html  # the plan matrix is for one target


def test_html_compares_each_targets_measured_and_declared_policy(tmp_path: Path) -> None:
    html = render_html(load_log(multi_target_log(tmp_path)))
    peer = _between(html, "<section class='target' id='target-2'", "</section>")
    assert "<strong>3 difference(s)</strong>" in peer
    differs = re.findall(r"<tr class='differs'><th scope='row'>([^<]+)</th>", peer)
    assert differs == [
        "window back",
        "replay: the same code twice",
        "replay: one code sent in parallel, accepted",
    ]
    assert "<td class='cmp'>\u2260 differs</td>" in peer
    # The declaration's sources, as text (the page links nowhere).
    assert "<dt>throttle.max_failures</dt><dd>[option] max_failcount</dd>" in peer
    assert "https://privacyidea.readthedocs.io/en/latest/glossary.html" in peer
    assert "href='https:" not in peer
    embedded = _between(html, "<section class='target' id='target-1'", "</section>")
    assert "No difference between what was measured and what is declared." in embedded
    broken = _between(html, "<section class='target' id='target-3'", "</section>")
    assert "could not be started" in broken
    assert "<table class='policy'>" not in broken


def test_html_draws_each_targets_measured_window(tmp_path: Path) -> None:
    html = render_html(load_log(multi_target_log(tmp_path)))
    peer = _between(html, "<section class='target' id='target-2'", "</section>")
    svg = re.search(r'<svg class="window-chart".*?</svg>', peer, re.S)
    assert svg is not None
    cells = re.findall(r'<rect x="[\d.]+" y="[\d.]+" width', svg.group())
    assert len(cells) == 4 * 9  # four phases, offsets -4..+4
    for label in ("at 0 s", "at 1 s", "at 15 s", "at 29 s"):
        assert f">{label}</text>" in svg.group()
    assert "declared window \u22122\u2026+2" in svg.group()
    assert "\u22123 accepted outside it (at 29 s)" in peer
    assert svg.group().count("accepted OUTSIDE the declared window") == 1


def test_html_provenance_lists_every_target(tmp_path: Path) -> None:
    html = render_html(load_log(multi_target_log(tmp_path)))
    provenance = _between(html, "<dt>Targets</dt>", "</ol>")
    items = re.findall(r"<li>(.*?)</li>", provenance, re.S)
    assert len(items) == 3
    assert "<code>privacyidea</code>: peer <code>http://127.0.0.1:5001</code>" in items[1]
    assert (
        "<strong>privacyIDEA 3.14 (TOTP tokens: /token/init, /validate/check)</strong>"
        in (items[1])
    )
    assert "capabilities <code>clock</code>, <code>declared_policy</code>" in items[1]
    assert "options <code>timeWindow=60</code>" in items[1]
    assert "clock moved by the harness" in items[1]
    assert "<strong>could not be started</strong>: harness error" in items[2]
    assert f"Target <code>{FAILED_TO_START}</code> could not be started:</strong>" in html


def test_html_says_when_a_target_ran_in_real_time(tmp_path: Path) -> None:
    html = render_html(load_log(real_time_log(tmp_path)))
    section = _between(html, "<section class='target' id='target-1'", "</section>")
    assert "Ran in real time: checks that move the clock are not applicable." in section
    assert "<strong>ran in real time</strong>" in html  # in the provenance too
    svg = re.search(r'<svg class="window-chart".*?</svg>', section, re.S)
    assert svg is not None
    assert ">accepted</text>" in svg.group()  # one row: real time has no phases
    assert "<h2 id='overview'>" in html  # one target: the page's plan matrix stays


def test_html_of_a_log_before_targets_has_no_target_section(tmp_path: Path) -> None:
    from tests.reports.records import mixed_log

    html = render_html(load_log(mixed_log(tmp_path)))
    assert "<h2 id='targets'>" not in html
    assert "<h2 id='overview'>" in html


def test_hostile_target_names_and_sources_are_escaped(tmp_path: Path) -> None:
    evil = '"><img src=x onerror=alert(1)>'
    description = {**embedded_description(), "name": evil, "title": HOSTILE}
    checks = target_checks(evil, {"window-x": "failed"})
    records = [
        multi_run_record([evil, "other"]),
        target_record(description),
        *checks,
        measured_record(evil, REFERENCE_MEASURED, REFERENCE_DECLARED, {HOSTILE: HOSTILE}),
    ]
    log = load_log(write_log(tmp_path, records))
    for text in (render_html(log), render_markdown(log)):
        assert HOSTILE not in text
        assert evil not in text
    json.loads(render_json(log))
    _parse(render_junit(log))


def test_html_loads_nothing_from_outside_with_several_targets(tmp_path: Path) -> None:
    html = render_html(load_log(multi_target_log(tmp_path)))
    for attr in re.findall(r"""(?:src|href)=['"]([^'"]*)['"]""", html):
        assert attr.startswith(("#", "data:")), attr


def test_html_of_an_interrupted_multi_target_run(tmp_path: Path) -> None:
    records = multi_target_records(complete=False)
    cut = next(i for i, r in enumerate(records) if r.get("target") == "privacyidea")
    html = render_html(load_log(write_log(tmp_path, records[: cut + 1])))
    assert "<strong>Interrupted run.</strong>" in html
    provenance = _between(html, "<dt>Targets</dt>", "</ol>")
    assert f"<code>{FAILED_TO_START}</code>: not reached (the run stopped before it started)" in (
        provenance
    )
    peer = _between(html, "<section class='target' id='target-2'", "</section>")
    assert "Nothing measured: the log has no measured record for this target" in peer
    assert "<table class='policy'>" not in peer
    matrix = _between(html, "<h2 id='target-matrix'>", "<h2 id='targets'>")
    assert matrix.count("<td class='muted'>not run</td>") == 3  # the peer's second, pam-oath's two


def test_write_reports_renders_a_multi_target_log(tmp_path: Path) -> None:
    from reports import write_reports

    written = write_reports(multi_target_log(tmp_path))
    assert sorted(written) == ["badge", "html", "json", "junit", "summary"]
    summary = written["summary"].read_text(encoding="utf-8")
    assert summary.startswith("## \u274c FAILED")
    assert "**4 unexpected results**" in summary
