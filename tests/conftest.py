"""Project-wide test settings: UTC everywhere, reproducible Hypothesis runs in CI."""

from __future__ import annotations

import os
import time

from hypothesis import HealthCheck, settings

# RFC 6238 counts from midnight UTC; naive datetimes anywhere must mean UTC.
os.environ["TZ"] = "UTC"
time.tzset()

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    print_blob=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))
