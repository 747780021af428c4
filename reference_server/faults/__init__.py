"""Deliberate faults: the reference server made wrong in one way, for the conformance tests.

Each fault is a module of this package with ``apply(rules)``, which replaces
one of the app's ``Rules`` (``reference_server/rules.py``) by a subclass that
overrides one method. Only ``create_app`` imports this package, and only in
harness mode (import-linter keeps the rest of the server from importing it):
the server's own code paths hold no fault of their own.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Final

from ..rules import Rules

#: Every fault, by its name in a policy file's ``faults:`` list: what its mutant does.
FAULTS: Final[dict[str, str]] = {
    "counter_32bit": "truncates the time step to 32 bits",
    "short_secret": "hands out 80-bit secrets",
    "any_hash_accepted": "accepts codes of any HMAC hash",
    "lenient_code_format": "accepts numbers, spaces, non-ASCII digits, missing zero padding",
    "no_replay_guard": "accepts a code again",
    "reusable_setup_code": "leaves the setup code's step usable for login",
    "qr_uri_mismatch": "draws the QR code from the URI without its issuer",
    "manual_key_truncated": "shows the manual key without its last group",
    "cacheable_provisioning": "omits Cache-Control: no-store",
    "qr_for_mobile": "gives mobile clients a QR code",
    "unencoded_label": "writes the otpauth label without percent-encoding",
    "undeclared_wide_window": "accepts one step more each way than it declares",
    "undeclared_narrow_window": "refuses the next step although it declares forward 1",
    "no_drift_tracking": "declares drift tracking, never moves the window",
    "unbounded_drift": "follows a drifting clock without limit",
    "no_throttle": "never locks",
    "email_code_never_expires": "ignores the email code's lifetime",
    "resend_keeps_old_code": "mails a new code on resend but keeps the old one",
    "no_email_attempt_limit": "checks email codes without limit",
    "email_budget_per_code": "gives every new email code fresh guesses: no budget of wrong "
    "codes per account",
    "binding_not_mailed": "binds a device without mailing the account's address",
    "unknown_emails_never_lock": "counts wrong passwords for existing accounts only: an unknown "
    "email never locks",
    "sign_in_lock_not_mailed": "locks sign-in without mailing the account's owner",
    "reusable_email_code": "a used email code verifies again within its lifetime",
    "old_device_survives": "the replaced device's codes still log in",
    "old_device_retired_early": "retires the old device when a re-enrollment's email is verified",
    "no_version_gating": "ignores device-group and client versions",
    "remote_support_seat_ungated": "asks no second factor of the Remote Support (non-v5) seat",
    "partial_token_hosts": "lets a partial token host a support session",
    "no_token_rotation": "keeps the partial token alive after the code, ends no session "
    "at confirmation",
}


class UnknownFault(ValueError):
    """A fault name with no module here."""


def apply(rules: Rules, names: Iterable[str]) -> Rules:
    """``rules`` with each named fault applied (in name order)."""
    wanted = sorted(set(names))
    unknown = [n for n in wanted if n not in FAULTS]
    if unknown:
        raise UnknownFault(f"unknown faults: {unknown}")
    for name in wanted:
        importlib.import_module(f"{__name__}.{name}").apply(rules)
    return rules
