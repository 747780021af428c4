"""The conformance plans. Importing this package registers every check."""

from typing import Final

from conformance.plans import (
    accounts,
    algorithm,
    drift,
    enrollment,
    gating,
    provisioning,
    reenrollment,
    replay,
    sessions,
    throttling,
    window,
    wizard,
)

#: The order plans run and are reported in (imports register them in another order):
#: the algorithm through the target first, then the flow, the browser last.
PLAN_ORDER: Final = (
    "algorithm",
    "provisioning",
    "window",
    "drift",
    "replay",
    "throttling",
    "enrollment",
    "reenrollment",
    "gating",
    "sessions",
    "accounts",
    "wizard",
)

__all__ = [
    "PLAN_ORDER",
    "accounts",
    "algorithm",
    "drift",
    "enrollment",
    "gating",
    "provisioning",
    "reenrollment",
    "replay",
    "sessions",
    "throttling",
    "window",
    "wizard",
]
