"""Renderers that turn result logs into JSON, JUnit XML and HTML reports.

Reads result files only (docs/result-log.md); imports nothing else of the harness.
"""

from reports.html_page import render_html
from reports.json_report import render_json
from reports.junit import render_junit
from reports.log import (
    Attachment,
    Chart,
    Check,
    EndRecord,
    Expectation,
    MatrixCell,
    ResultLogError,
    RunLog,
    RunRecord,
    Step,
    Target,
    load_log,
)
from reports.summary import Summary, is_unexpected, summarize
from reports.writer import FORMATS, write_reports

__all__ = [
    "FORMATS",
    "Attachment",
    "Chart",
    "Check",
    "EndRecord",
    "Expectation",
    "MatrixCell",
    "ResultLogError",
    "RunLog",
    "RunRecord",
    "Step",
    "Summary",
    "Target",
    "is_unexpected",
    "load_log",
    "render_html",
    "render_json",
    "render_junit",
    "summarize",
    "write_reports",
]
