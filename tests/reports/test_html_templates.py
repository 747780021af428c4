"""The HTML report's templates: everything from the log escaped, nothing loaded, no silent gaps."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest
from jinja2 import StrictUndefined, UndefinedError

from reports import load_log, render_html
from reports.templating import ENVIRONMENT
from tests.reports.records import (
    HOSTILE,
    REFERENCE_DECLARED,
    REFERENCE_MEASURED,
    WINDOW_CHART,
    check_record,
    embedded_description,
    end_record,
    failed_target_record,
    measured_record,
    mixed_log,
    multi_run_record,
    multi_target_log,
    multi_target_records,
    run_record,
    step,
    target_record,
    write_log,
)

SAMPLE = Path(__file__).parent / "data" / "sample-results.jsonl"
TEMPLATES = Path(__file__).parents[2] / "reports" / "templates"
#: Breaks out of a quoted attribute, then opens a tag with a handler.
BREAKOUT = '"><img src=x onerror=alert(1)>'
#: An ampersand and both quotes, which must reach the reader as typed.
QUOTES = 'Tom & Jerry\'s "best" <b>day</b>'
HOSTILE_TEXTS = (HOSTILE, BREAKOUT, QUOTES)


class _Page(HTMLParser):
    """What a browser sees: the tags with their attributes, and the text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _page(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def hostile_log(folder: Path) -> Path:
    """Every place the page shows text from the log, filled with markup and quotes."""
    (folder / "evidence").mkdir()
    (folder / "evidence" / "note.txt").write_text(HOSTILE + QUOTES, encoding="utf-8")
    name = BREAKOUT + "target"
    description = {
        **embedded_description(),
        "name": name,
        "title": HOSTILE,
        "url": "http://127.0.0.1:1/" + QUOTES,
        "capabilities": [HOSTILE],
        "options": {HOSTILE: QUOTES},
        "clock": BREAKOUT,
    }
    exchange = {
        "method": "POST",
        "url": "/otp?" + BREAKOUT,
        "status": 200,
        "request": {"code": HOSTILE},
        "response": {"note": QUOTES},
        "headers": {"X-Evil": HOSTILE},
    }
    check = check_record(
        "check-" + HOSTILE,
        "window",
        "failed",
        target=name,
        title=HOSTILE + " " + QUOTES,
        reason=BREAKOUT + " " + QUOTES,
        requirements=[HOSTILE],
        expected={"outcome": "passed", "comment": HOSTILE},
        variant={"digits": BREAKOUT},
        steps=[
            step(
                1,
                "failed",
                title=BREAKOUT,
                message=HOSTILE + " " + QUOTES,
                requirements=[BREAKOUT],
                evidence={
                    "code": HOSTILE,
                    "step": BREAKOUT,
                    "server_time": QUOTES,
                    "http": exchange,
                    "note": HOSTILE,
                },
            )
        ],
        attachments=[
            {"kind": HOSTILE, "title": BREAKOUT + QUOTES, "path": "evidence/note.txt"},
            {"kind": "screenshot", "title": HOSTILE, "path": "evidence/" + BREAKOUT},
        ],
        charts=[
            {**WINDOW_CHART, "title": BREAKOUT},
            {"kind": HOSTILE, "title": QUOTES, "data": {}},
        ],
        matrix=[
            {"parameter": HOSTILE, "value": BREAKOUT, "verdict": "silently_wrong"},
            {"parameter": QUOTES, "value": HOSTILE, "verdict": "refused", "group": BREAKOUT},
        ],
    )
    finding = {
        "record": "finding",
        "severity": "error",
        "text": HOSTILE + " " + QUOTES,
        "checks": [check["id"], BREAKOUT],
        "count": 3,
    }
    records = [
        multi_run_record([name, HOSTILE], command=BREAKOUT, expectations_file=QUOTES),
        target_record(description),
        check,
        measured_record(name, REFERENCE_MEASURED, REFERENCE_DECLARED, {HOSTILE: BREAKOUT}),
        failed_target_record(HOSTILE, BREAKOUT),
        finding,
        end_record([check], [QUOTES]),
    ]
    return write_log(folder, records)


def test_hostile_text_from_the_log_is_shown_as_text_and_never_as_markup(tmp_path: Path) -> None:
    html = render_html(load_log(hostile_log(tmp_path)))
    page = _page(html)
    # Nothing from the log became a tag or an attribute.
    assert "<script" not in html
    assert "<img src=x" not in html
    assert "<b>day" not in html
    assert not [tag for tag, _ in page.tags if tag in ("script", "img", "b")]
    assert not [(tag, a) for tag, attrs in page.tags for a in attrs if a.startswith("on")]
    # A bare "&" or quote from the log never reaches the markup unescaped ...
    assert "Tom & Jerry" not in html
    assert "Tom &amp; Jerry&#39;s &#34;best&#34; &lt;b&gt;day&lt;/b&gt;" in html
    # ... and every string reads, as text, exactly as the server sent it.
    text = "".join(page.text)
    for hostile in HOSTILE_TEXTS:
        assert hostile in text, hostile
    for place in (
        f"{HOSTILE} {QUOTES}",  # check title, step message, finding text
        f"{BREAKOUT} {QUOTES}",  # reason
        "missing: evidence/" + BREAKOUT,  # an attachment's name
        "Target " + BREAKOUT + "target",  # a target's name
    ):
        assert place in text, place
    # Inside attributes, the quotes did not end the value.
    titles = [attrs.get("title") or "" for tag, attrs in page.tags if tag == "a"]
    assert any(t.startswith(BREAKOUT + "target: ") for t in titles)


def test_no_template_marks_text_from_the_log_safe() -> None:
    for template in TEMPLATES.glob("*.html"):
        source = template.read_text(encoding="utf-8")
        assert "|safe" not in source.replace(" ", ""), template.name
        assert "Markup" not in source, template.name
        assert "autoescape false" not in source, template.name


LOGS: dict[str, Callable[[Path], Path]] = {
    "sample": lambda _: SAMPLE,
    "mixed": mixed_log,
    "interrupted": lambda folder: mixed_log(folder, complete=False),
    "several targets": multi_target_log,
    "several targets, interrupted": lambda folder: write_log(
        folder, multi_target_records(complete=False)[:4]
    ),
    "hostile": hostile_log,
    "no checks": lambda folder: write_log(folder, [run_record(plans=[], variant={})]),
}


@pytest.mark.parametrize("make", LOGS.values(), ids=LOGS.keys())
def test_every_page_is_self_contained(tmp_path: Path, make: Callable[[Path], Path]) -> None:
    # Rendering at all proves the templates use no name they were not given (StrictUndefined).
    html = render_html(load_log(make(tmp_path)))
    assert html.startswith("<!DOCTYPE html>")
    assert "<script" not in html.lower()
    assert not re.search(r"""(?:src|href|action)\s*=\s*['"]?\s*(?:https?:)?//""", html, re.I)
    for tag, attrs in _page(html).tags:
        assert tag not in ("script", "link", "iframe", "object", "embed", "base")
        for name in ("src", "href", "action", "xlink:href"):
            value = attrs.get(name)
            if value is not None:
                assert value.startswith(("#", "data:")), (tag, name, value[:60])


def test_the_environment_escapes_and_refuses_undefined_names() -> None:
    assert ENVIRONMENT.autoescape is True
    assert ENVIRONMENT.undefined is StrictUndefined
    assert ENVIRONMENT.from_string("{{ x }}").render(x=HOSTILE) == (
        "&lt;script&gt;alert(1)&lt;/script&gt;"
    )
    with pytest.raises(UndefinedError):
        ENVIRONMENT.from_string("{{ page.no_such_field }}").render(page=object())
    with pytest.raises(UndefinedError):
        ENVIRONMENT.from_string("{{ mispelt }}").render()


def test_a_lone_surrogate_from_the_log_is_shown_escaped() -> None:
    assert ENVIRONMENT.from_string("{{ x }}").render(x="a\ud800b") == "a\\ud800b"


def test_the_package_loader_finds_every_template() -> None:
    names = set(ENVIRONMENT.list_templates())
    assert {p.name for p in TEMPLATES.iterdir() if p.is_file()} <= names
    for name in names:
        ENVIRONMENT.get_template(name)  # compiles: a syntax error fails here
