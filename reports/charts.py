"""Charts drawn as inline SVG (no scripts, no external resources), each with a text equivalent.

This module checks a chart's data and measures the drawing out (``ChartView``);
``templates/chart.html`` holds the SVG markup.

The ``window`` chart shows which time-step offsets a server accepted, one
row per phase of the step when the log has phases, with the server's
declared window drawn as an outline around the offsets it promised to accept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from reports.templating import ENVIRONMENT, pretty_json

CELL_W: Final = 50
CELL_H: Final = 30
LABEL_W: Final = 96
TOP: Final = 30
BOTTOM: Final = 44

#: (fill, stroke, glyph, legend) for each kind of cell; colour is never the only signal.
CELL_STYLES: Final = {
    "accepted": ("#cfe8d2", "#2e7d32", "\u2713", "accepted, inside the declared window"),
    "refused": ("#eeeeee", "#9e9e9e", "\u2717", "refused, outside the declared window"),
    "accepted_outside": ("#f4c7c3", "#b71c1c", "\u2713!", "accepted OUTSIDE the declared window"),
    "refused_inside": ("#ffe0a3", "#b26a00", "\u2717!", "refused INSIDE the declared window"),
}


class ChartDataError(ValueError):
    """Raised when a chart's data cannot be drawn (the report shows the data instead)."""


@dataclass(frozen=True)
class WindowData:
    """A validated ``window`` chart."""

    offsets: list[int]
    rows: list[tuple[str, list[bool]]]
    back: int | None
    forward: int | None

    def declared(self, offset: int) -> bool | None:
        if self.back is None or self.forward is None:
            return None
        return -self.back <= offset <= self.forward


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_list(value: Any, name: str) -> list[int]:
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise ChartDataError(f"{name} must be a list of integers")
    return value


def _bool_list(value: Any, name: str, length: int) -> list[bool]:
    if not isinstance(value, list) or not all(isinstance(v, bool) for v in value):
        raise ChartDataError(f"{name} must be a list of booleans")
    if len(value) != length:
        raise ChartDataError(f"{name} has {len(value)} entries for {length} offsets")
    return value


def _phase_label(phase: Any) -> str:
    if isinstance(phase, int | float) and not isinstance(phase, bool):
        return f"at {phase:g} s"
    return f"at {phase}"


def parse_window(data: dict[str, Any]) -> WindowData:
    """Validate a ``window`` chart's data; raises ``ChartDataError`` saying what is wrong."""
    offsets = _int_list(data.get("offsets"), "offsets")
    if not offsets:
        raise ChartDataError("offsets is empty")
    phases = data.get("phases")
    rows: list[tuple[str, list[bool]]]
    if phases:
        if not isinstance(phases, list):
            raise ChartDataError("phases must be a list")
        by_phase = data.get("accepted_by_phase")
        if not isinstance(by_phase, list) or len(by_phase) != len(phases):
            raise ChartDataError("accepted_by_phase needs one row per phase")
        rows = [
            (_phase_label(p), _bool_list(row, f"accepted_by_phase[{i}]", len(offsets)))
            for i, (p, row) in enumerate(zip(phases, by_phase, strict=True))
        ]
    else:
        rows = [("accepted", _bool_list(data.get("accepted"), "accepted", len(offsets)))]
    declared = data.get("declared")
    back = forward = None
    if isinstance(declared, dict):
        b, f = declared.get("back"), declared.get("forward")
        if isinstance(b, int) and isinstance(f, int) and not isinstance(b, bool):
            back, forward = b, f
    return WindowData(offsets, rows, back, forward)


def _cell_kind(accepted: bool, inside: bool | None) -> str:
    if inside is None:
        return "accepted" if accepted else "refused"
    if accepted:
        return "accepted" if inside else "accepted_outside"
    return "refused_inside" if inside else "refused"


def _signed(n: int) -> str:
    return f"+{n}" if n > 0 else ("0" if n == 0 else f"\u2212{-n}")


@dataclass(frozen=True)
class Cell:
    """One offset of one row: a coloured square with its glyph and a tooltip."""

    x: int
    y: int
    width: int
    height: int
    fill: str
    stroke: str
    tip: str
    glyph_x: float
    glyph_y: float
    glyph: str


@dataclass(frozen=True)
class Row:
    """One phase of the step (or the one row of real time), its label at the left."""

    label: str
    label_x: int
    label_y: float
    cells: list[Cell]


@dataclass(frozen=True)
class Tick:
    x: float
    y: int
    text: str


@dataclass(frozen=True)
class Outline:
    """The declared window: a dashed box around the offsets it promises, labelled above."""

    x: int
    y: int
    width: int
    height: int
    label_x: float
    label_y: int
    label: str


@dataclass(frozen=True)
class WindowPicture:
    """Everything the window chart template draws, measured out in pixels here."""

    title: str
    width: int
    height: int
    rows: list[Row]
    ticks: list[Tick]
    axis_x: int
    axis_y: int
    outline: Outline | None
    text: str
    #: The legend's entries: (fill, stroke, glyph, words), as ``CELL_STYLES``.
    legend: tuple[tuple[str, str, str, str], ...] = tuple(CELL_STYLES.values())


@dataclass(frozen=True)
class ChartView:
    """One chart as the template shows it: a picture, or why not and the data instead."""

    title: str
    picture: WindowPicture | None = None
    error: str | None = None
    unknown_kind: str | None = None
    data_json: str | None = None


def window_picture(window: WindowData, title: str) -> WindowPicture:
    """The geometry of the window chart, plus a sentence saying the same in words."""
    cols, nrows = len(window.offsets), len(window.rows)
    width = max(LABEL_W + cols * CELL_W + 12, 480)  # room for the axis title
    height = TOP + nrows * CELL_H + BOTTOM
    rows = []
    for r, (label, accepted) in enumerate(window.rows):
        y = TOP + r * CELL_H
        cells = []
        for c, (offset, ok) in enumerate(zip(window.offsets, accepted, strict=True)):
            fill, stroke, glyph, legend = CELL_STYLES[_cell_kind(ok, window.declared(offset))]
            x = LABEL_W + c * CELL_W
            cells.append(
                Cell(
                    x=x + 1,
                    y=y + 1,
                    width=CELL_W - 2,
                    height=CELL_H - 2,
                    fill=fill,
                    stroke=stroke,
                    tip=f"offset {_signed(offset)}, {label}: {legend}",
                    glyph_x=x + CELL_W / 2,
                    glyph_y=y + CELL_H / 2 + 5,
                    glyph=glyph,
                )
            )
        rows.append(Row(label, LABEL_W - 8, y + CELL_H / 2 + 4, cells))
    axis_y = TOP + nrows * CELL_H
    ticks = [
        Tick(LABEL_W + c * CELL_W + CELL_W / 2, axis_y + 16, _signed(offset))
        for c, offset in enumerate(window.offsets)
    ]
    outline = None
    inside = [c for c, o in enumerate(window.offsets) if window.declared(o)]
    if inside:
        x0 = LABEL_W + inside[0] * CELL_W - 2
        x1 = LABEL_W + (inside[-1] + 1) * CELL_W + 2
        label = (
            f"declared window {_signed(-(window.back or 0))}\u2026{_signed(window.forward or 0)}"
        )
        outline = Outline(x0, TOP - 4, x1 - x0, nrows * CELL_H + 8, (x0 + x1) / 2, TOP - 10, label)
    return WindowPicture(
        title, width, height, rows, ticks, LABEL_W, axis_y + 36, outline, describe_window(window)
    )


def describe_window(window: WindowData) -> str:
    """The chart in words, for screen readers, text browsers and grep."""
    sentences = []
    for label, accepted in window.rows:
        taken = [_signed(o) for o, ok in zip(window.offsets, accepted, strict=True) if ok]
        head = "Accepted offsets" if label == "accepted" else f"Accepted {label}"
        sentences.append(f"{head}: {', '.join(taken) if taken else 'none'}.")
    if window.back is None or window.forward is None:
        sentences.append("No declared window in the data.")
    else:
        sentences.append(f"Declared window: {window.back} back, {window.forward} forward.")
        wrong = []
        for label, accepted in window.rows:
            for offset, ok in zip(window.offsets, accepted, strict=True):
                inside = window.declared(offset)
                if ok and not inside:
                    wrong.append(f"{_signed(offset)} accepted outside it ({label})")
                elif inside and not ok:
                    wrong.append(f"{_signed(offset)} refused inside it ({label})")
        sentences.append(
            "Differs from the declaration: " + "; ".join(wrong) + "."
            if wrong
            else "Matches the declaration."
        )
    return " ".join(sentences)


def chart_view(kind: str, title: str, data: dict[str, Any]) -> ChartView:
    """One chart as the template draws it; undrawable or unknown charts keep their data."""
    if kind != "window":
        return ChartView(title, unknown_kind=kind, data_json=pretty_json(data))
    try:
        return ChartView(title, picture=window_picture(parse_window(data), title))
    except ChartDataError as exc:
        return ChartView(
            title, error=f"Cannot draw this window chart: {exc}.", data_json=pretty_json(data)
        )


def chart_html(kind: str, title: str, data: dict[str, Any]) -> str:
    """One chart as an HTML figure (the report's templates draw it from ``chart_view``)."""
    return _figure(chart_view(kind, title, data))


def _phase_value(label: str) -> int | float | str:
    """A phase key of ``accepted_by_phase`` ("15") as the number it names, else the text."""
    try:
        number = float(label)
    except ValueError:
        return label
    return int(number) if number.is_integer() else number


def window_from_measured(window: Any, declared: Any = None) -> dict[str, Any]:
    """A ``window`` chart's data from a ``measured`` record's window (accepted offsets by phase).

    The record lists the offsets accepted at each phase; the chart's columns go
    one step past the widest of them and of the declared window, both of which
    the measurement probes beyond. Real time gives one row. Raises
    ``ChartDataError`` for data that cannot be drawn.
    """
    if not isinstance(window, dict):
        raise ChartDataError("the measured window must be an object")
    by_phase = window.get("accepted_by_phase")
    if not isinstance(by_phase, dict) or not by_phase:
        raise ChartDataError("accepted_by_phase must be an object with one list per phase")
    rows = {str(k): _int_list(v, f"accepted_by_phase[{k!r}]") for k, v in by_phase.items()}
    back = forward = None
    if isinstance(declared, dict):
        b, f = declared.get("back"), declared.get("forward")
        if _is_int(b) and _is_int(f):
            back, forward = b, f
    widest = [abs(o) for offsets in rows.values() for o in offsets]
    reach = max([*widest, back or 0, forward or 0, 1]) + 1
    offsets = list(range(-reach, reach + 1))
    data: dict[str, Any] = {
        "offsets": offsets,
        "accepted": [any(o in taken for taken in rows.values()) for o in offsets],
    }
    phases = [_phase_value(label) for label in rows]
    if len(rows) > 1 or not isinstance(phases[0], str):
        data["phases"] = phases
        data["accepted_by_phase"] = [[o in taken for o in offsets] for taken in rows.values()]
    if back is not None and forward is not None:
        data["declared"] = {"back": back, "forward": forward}
    return data


def measured_window_view(title: str, window: Any, declared: Any = None) -> ChartView:
    """The window chart of a ``measured`` record, drawn as the checks' window charts are."""
    try:
        data = window_from_measured(window, declared)
    except ChartDataError as exc:
        shown = window if isinstance(window, dict) else {"window": window}
        return ChartView(
            title, error=f"Cannot draw this window: {exc}.", data_json=pretty_json(shown)
        )
    return chart_view("window", title, data)


def measured_window_html(title: str, window: Any, declared: Any = None) -> str:
    """The window chart of a ``measured`` record as an HTML figure."""
    return _figure(measured_window_view(title, window, declared))


def _figure(view: ChartView) -> str:
    return str(ENVIRONMENT.get_template("chart.html").module.chart(view))  # type: ignore[attr-defined]
