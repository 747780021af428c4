"""The reference 2FA server of twofa-harness: the seed's flow behind the v1 HTTP contract.

``create_app(config)`` builds the Flask app; ``python -m reference_server serve``
runs it. This package imports nothing from the rest of the harness.
"""

from __future__ import annotations

from .app import create_app
from .clock import ServerClock
from .policy import Policy

__all__ = ["Policy", "ServerClock", "create_app"]
