"""The conformance plans. Importing this package registers every check."""

from conformance.plans import (
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

__all__ = [
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
