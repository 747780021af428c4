"""Types shared by the flow modules."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypedDict

#: A request body, read lazily (after the token and stage checks).
Body = Callable[[], Mapping[str, Any]]


def no_body() -> Mapping[str, Any]:
    """The body of a call that takes none (the pages send no JSON)."""
    return {}


class TokenAnswer(TypedDict):
    """A new token and the stage it is at."""

    token: str
    next: str


class Sent(TypedDict):
    """A verification email went out."""

    next: str
    sent_to: str
