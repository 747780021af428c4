"""Renderers that turn result logs into JSON (CTRF), JUnit XML, Markdown and HTML reports.

Reads result files only (docs/result-log.md); imports nothing else of the harness.
"""

from reports.html_page import render_html
from reports.json_report import render_json
from reports.junit import render_junit
from reports.layout import LATEST, create_run_folder, new_run_id, point_latest, read_latest
from reports.log import (
    Attachment,
    Chart,
    Check,
    EndRecord,
    Expectation,
    Finding,
    MatrixCell,
    Measurement,
    ResultLogError,
    RunLog,
    RunRecord,
    Step,
    Target,
    TargetRun,
    load_log,
)
from reports.markdown import render_markdown
from reports.summary import Summary, is_unexpected, summarize
from reports.writer import FORMATS, write_reports

__all__ = [
    "FORMATS",
    "LATEST",
    "Attachment",
    "Chart",
    "Check",
    "EndRecord",
    "Expectation",
    "Finding",
    "MatrixCell",
    "Measurement",
    "ResultLogError",
    "RunLog",
    "RunRecord",
    "Step",
    "Summary",
    "Target",
    "TargetRun",
    "create_run_folder",
    "is_unexpected",
    "load_log",
    "new_run_id",
    "point_latest",
    "read_latest",
    "render_html",
    "render_json",
    "render_junit",
    "render_markdown",
    "summarize",
    "write_reports",
]
