"""The verification policy: every number a 2FA server has to choose, in one place.

Built once from the application configuration (``POLICY`` mapping, possibly
loaded from a YAML file) and served as-is by ``GET /__harness__/policy``. The
domain code reads it through the app's ``Rules`` (``rules.py``); ``faults``
names the deliberate faults of a mutant (harness mode only, ``faults/``), which
the policy only lists: they act by replacing one of those rules.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from .totp import DIGEST_BYTES
from .versions import Version, VersionError, parse_group_version

#: NIST SP 800-63B §5.2.2: never more than 100 consecutive failed attempts.
NIST_MAX_CONSECUTIVE_FAILURES: Final = 100

#: The rolling day over which an account's wrong email codes are counted.
DAY_SECONDS: Final = 24 * 3600

#: The seed's minimum: "v4.3, b1575 or later".
DEFAULT_MINIMUM_CLIENT: Final = Version(4, 3, 1575)


class PolicyError(ValueError):
    """Raised for a policy the server refuses to run with."""


@dataclass(frozen=True)
class Policy:
    """Every tunable of second-factor verification, with the defaults the server ships."""

    window_back: int = 1
    window_forward: int = 1
    drift_tracking: bool = True
    drift_max_steps: int = 2
    replay: str = "monotonic_step"
    throttle_max_failures: int = 5
    throttle_lock_seconds: int = 300
    throttle_counts_reused: bool = True
    #: After this many consecutive failures the second factor stays locked until an
    #: admin unlocks it or the agent re-enrolls (NIST: at most 100).
    throttle_hard_limit: int = NIST_MAX_CONSECUTIVE_FAILURES
    password_max_failures: int = 10
    password_lock_seconds: int = 300
    #: Wrong passwords (counted per submitted address) are forgotten after a day without one.
    password_forget_after_seconds: int = DAY_SECONDS
    email_code_digits: int = 6
    email_code_ttl_seconds: int = 600
    email_code_max_attempts: int = 5
    email_code_resend_cooldown_seconds: int = 30
    #: Wrong email codes per account over a rolling window, whatever the number of codes
    #: sent or sign-ins (NIST SP 800-63B §5.2.2: at most 100); then enrollment is refused.
    email_code_daily_budget: int = NIST_MAX_CONSECUTIVE_FAILURES
    email_code_budget_window_seconds: int = DAY_SECONDS
    totp_algorithm: str = "SHA1"
    totp_digits: int = 6
    totp_period: int = 30
    totp_issuer: str = "Remote Support"
    minimum_client: Version = DEFAULT_MINIMUM_CLIENT
    partial_token_ttl_seconds: int = 1800
    full_token_ttl_seconds: int = 12 * 3600
    faults: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.window_back < 0 or self.window_forward < 0:
            raise PolicyError("window sizes cannot be negative")
        if self.drift_max_steps < 0:
            raise PolicyError("drift max_steps cannot be negative")
        if self.replay not in ("monotonic_step", "none"):
            raise PolicyError("replay must be 'monotonic_step' or 'none'")
        if self.totp_algorithm not in DIGEST_BYTES:
            raise PolicyError("totp algorithm must be SHA1, SHA256 or SHA512")
        if self.totp_digits not in (6, 7, 8):
            raise PolicyError("totp digits must be 6, 7 or 8")
        if not 1 <= self.totp_period <= 120:
            raise PolicyError("totp period must be 1 to 120 seconds (NIST: change every 2 min)")
        if ":" in self.totp_issuer or not self.totp_issuer:
            raise PolicyError("the issuer must be non-empty and contain no ':'")
        if not (
            1 <= self.throttle_max_failures <= self.throttle_hard_limit
            and self.throttle_hard_limit <= NIST_MAX_CONSECUTIVE_FAILURES
        ):
            raise PolicyError("throttle limits must satisfy 1 <= max_failures <= hard_limit <= 100")
        if self.email_code_digits != 6:
            raise PolicyError("email codes have 6 digits")
        if not 1 <= self.email_code_daily_budget <= NIST_MAX_CONSECUTIVE_FAILURES:
            raise PolicyError("the email code daily_budget must be 1 to 100 (NIST SP 800-63B)")
        if self.email_code_budget_window_seconds < 3600:
            raise PolicyError("the email code budget window must be at least an hour")
        if self.password_forget_after_seconds < self.password_lock_seconds:
            raise PolicyError("password failures must be remembered at least as long as a lock")

    @property
    def secret_bytes(self) -> int:
        """RFC 6238 §5.1: a secret as long as the HMAC output of the algorithm."""
        return DIGEST_BYTES[self.totp_algorithm]

    def describe(self) -> dict[str, Any]:
        """The policy as ``GET /__harness__/policy`` serves it."""
        return {
            "window": {"back": self.window_back, "forward": self.window_forward},
            "drift": {
                "tracking": self.drift_tracking,
                "max_steps": self.drift_max_steps,
                "window_centre": "current step + recorded drift",
            },
            "replay": self.replay,
            "throttle": {
                "max_failures": self.throttle_max_failures,
                "lock_seconds": self.throttle_lock_seconds,
                "counts_reused": self.throttle_counts_reused,
                "scope": "account, across all sessions",
                "consecutive_failures_never_reset_by_lock_expiry": True,
                "hard_limit": self.throttle_hard_limit,
                "after_hard_limit": "locked until an admin unlocks the second factor",
                "sign_in_while_locked": "423 account_locked",
                "reenroll_while_locked": False,
                "setup_codes_count": True,
                "password": {
                    "max_failures": self.password_max_failures,
                    "lock_seconds": self.password_lock_seconds,
                    "scope": "the email address submitted, whether or not an account has it",
                    "unknown_accounts_lock": True,
                    "forget_after_seconds": self.password_forget_after_seconds,
                    "lock_mailed_to_owner": True,
                },
            },
            "email_code": {
                "digits": self.email_code_digits,
                "ttl_seconds": self.email_code_ttl_seconds,
                "max_attempts": self.email_code_max_attempts,
                "max_attempts_scope": "per code, within the account's daily budget",
                "attempts_scope": "account",
                "daily_budget": self.email_code_daily_budget,
                "budget_window_seconds": self.email_code_budget_window_seconds,
                "budget_window": "rolling, server time",
                "budget_recovers": "each wrong code counts for budget_window_seconds; "
                "an admin unlock clears them; new codes and sign-ins do not",
                "after_budget": "enrollment and re-enrollment refused: "
                "429 email_code_budget_exhausted",
                "resend_cooldown_seconds": self.email_code_resend_cooldown_seconds,
            },
            "notifications": {
                "device_bound": "mailed to the account's address (enrollment and "
                "re-enrollment), after the binding commits; a failed send is retried",
                "sign_in_locked": "mailed to the account's owner when a lock begins "
                "(at most one a day)",
                "email_code_budget_exhausted": "mailed to the account's owner",
                "delivery": "outbox: queued in the transaction, sent after the response",
            },
            "totp": {
                "algorithm": self.totp_algorithm,
                "digits": self.totp_digits,
                "period": self.totp_period,
                "secret_bytes": self.secret_bytes,
                "issuer": self.totp_issuer,
                "stored_per_device": True,
            },
            "minimum_client": {
                "version": self.minimum_client.version,
                "build": self.minimum_client.build,
            },
            "sessions": {
                "on_two_factor_enabled": "demote",
                "partial_token_ttl_seconds": self.partial_token_ttl_seconds,
                "full_token_ttl_seconds": self.full_token_ttl_seconds,
                "email_code_ttl_seconds": self.email_code_ttl_seconds,
                "confirm_ends_other_sessions": True,
                "second_factor_required_status": 403,
            },
            "faults": sorted(self.faults),
        }


#: Where each nested key of a policy document lands in ``Policy``.
_FLAT_KEYS: Final[dict[tuple[str, ...], str]] = {
    ("window", "back"): "window_back",
    ("window", "forward"): "window_forward",
    ("drift", "tracking"): "drift_tracking",
    ("drift", "max_steps"): "drift_max_steps",
    ("replay",): "replay",
    ("throttle", "max_failures"): "throttle_max_failures",
    ("throttle", "lock_seconds"): "throttle_lock_seconds",
    ("throttle", "counts_reused"): "throttle_counts_reused",
    ("throttle", "hard_limit"): "throttle_hard_limit",
    ("throttle", "password", "max_failures"): "password_max_failures",
    ("throttle", "password", "lock_seconds"): "password_lock_seconds",
    ("throttle", "password", "forget_after_seconds"): "password_forget_after_seconds",
    ("email_code", "ttl_seconds"): "email_code_ttl_seconds",
    ("email_code", "max_attempts"): "email_code_max_attempts",
    ("email_code", "resend_cooldown_seconds"): "email_code_resend_cooldown_seconds",
    ("email_code", "daily_budget"): "email_code_daily_budget",
    ("email_code", "budget_window_seconds"): "email_code_budget_window_seconds",
    ("totp", "algorithm"): "totp_algorithm",
    ("totp", "digits"): "totp_digits",
    ("totp", "period"): "totp_period",
    ("totp", "issuer"): "totp_issuer",
    ("sessions", "partial_token_ttl_seconds"): "partial_token_ttl_seconds",
    ("sessions", "full_token_ttl_seconds"): "full_token_ttl_seconds",
}


def policy_from_mapping(document: Mapping[str, Any] | None) -> Policy:
    """Build a policy from a nested document shaped like ``Policy.describe()``.

    Keys that are not tunable (``scope``, descriptions) are ignored; a wrong type
    for a tunable key is a ``PolicyError``.
    """
    if not document:
        return Policy()
    values: dict[str, Any] = {}
    for path, name in _FLAT_KEYS.items():
        node: Any = document
        for key in path:
            if not isinstance(node, Mapping) or key not in node:
                break
            node = node[key]
        else:
            values[name] = node
    defaults = Policy()
    for name, value in values.items():
        expected = type(getattr(defaults, name))
        if expected is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise PolicyError(f"{name} must be a whole number")
        if expected is not int and not isinstance(value, expected):
            raise PolicyError(f"{name} must be a {expected.__name__}")
    if "minimum_client" in document:
        minimum = document["minimum_client"]
        try:
            values["minimum_client"] = parse_group_version(
                str(minimum["version"]), int(minimum["build"])
            )
        except (KeyError, TypeError, ValueError, VersionError) as exc:
            raise PolicyError(f"minimum_client is not valid: {exc}") from exc
    if "faults" in document:
        values["faults"] = frozenset(str(f) for f in document["faults"])
    if "totp" in document and "algorithm" in document["totp"]:
        values["totp_algorithm"] = str(document["totp"]["algorithm"]).upper()
    return dataclasses.replace(defaults, **values)
