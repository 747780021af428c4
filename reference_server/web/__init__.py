"""The seed's user experience as web pages, over the same ``flow`` as the JSON API.

``pages`` holds the routes (contract: docs/wizard.md), ``session`` the cookie,
CSRF and mobile detection, ``messages`` the sentences a person reads.
"""

from __future__ import annotations

from .pages import bp, error_page

__all__ = ["bp", "error_page"]
