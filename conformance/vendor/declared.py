"""The verdict each case should get from an app profile, derived from its declared fields alone.

This reads ``AppProfile`` data (which values each parameter honours and what
happens to the others, key-entry rules, URI padding, ':' in the issuer,
the secret-size floor), never the simulated device, so comparing it with a
measured matrix tests the device, the adapters and the harness together:
a profile measured through any adapter must show exactly its declared quirks.
"""

from __future__ import annotations

from conformance.vendor.cases import Case
from conformance.vendor.dialect_cases import DialectCase
from conformance.vendor.verdicts import Verdict
from simulators.hotp import HASHES, MAX_DIGITS, CodeGenerator, OtpError, decode_base32
from simulators.otpauth import KNOWN_PARAMETERS, OtpauthError, parse_uri
from simulators.profiles import AppProfile, ParameterSupport

_WHITESPACE = frozenset(" \t\r\n")
#: A sourced stance on a URI-matrix row → its verdict (honouring a row without a code is wrong).
_STANCE_VERDICT: dict[str, Verdict] = {"refuse": "refused", "default": "silently_wrong"}


def declared_verdict(profile: AppProfile, case: Case) -> Verdict:
    """What the profile says the app does with this case."""
    if isinstance(case, DialectCase):
        stance = profile.dialect_stance(case.row_id)
        if stance is None:
            return derived_dialect_verdict(profile, case)
        if stance.behaviour == "honour":
            return "compatible" if case.defines_code else "silently_wrong"
        return _STANCE_VERDICT[stance.behaviour]
    if case.scanned:
        if case.uri_form == "padded" and profile.uri_padding == "refuse":
            return "refused"
        if case.uri_form == "colon-issuer" and profile.issuer_colon == "refuse":
            return "refused"
    else:
        rules = profile.key_entry
        if "spaced" in case.provisioning and rules.spaces == "refuse":
            return "refused"
        if "lower" in case.provisioning and rules.lower_case == "refuse":
            return "refused"
    if case.bits < profile.refuses_secrets_under_bits:
        return "refused"
    defaulted = False
    for support, value in (
        (profile.algorithm, case.algorithm),
        (profile.digits, case.digits),
        (profile.period, case.period),
    ):
        if support.honours(value):
            continue
        if support.fallback == "refuse":
            return "refused"
        defaulted = defaulted or support.default != value
    return "silently_wrong" if defaulted else "compatible"


def declared_matrix(profile: AppProfile, cases: list[Case]) -> dict[str, Verdict]:
    """Case id → declared verdict, for every case."""
    return {case.id: declared_verdict(profile, case) for case in cases}


def _resolve(
    raw: str, support: ParameterSupport, valid: bool, value: str | int
) -> str | int | None:
    """One parameter under the profile's rule: its value, the default, or None (refused)."""
    if valid and support.honours(value):
        return value
    return support.default if support.fallback == "default" else None


def derived_dialect_verdict(profile: AppProfile, case: DialectCase) -> Verdict:
    """A URI-matrix row under the profile's general rules (no sourced stance on the row).

    The rules: every profile reads the URI the Key Uri Format's way (another
    scheme or type, or no label, cannot be read), refuses what its padding,
    ':'-in-issuer, key (spaces, case), duplicate-parameter and secret-size
    rules refuse, and applies its parameter support (honour, default, refuse).
    """
    try:
        parsed = parse_uri(case.uri)
    except OtpauthError:
        return "refused"
    secret = parsed.secret
    if not secret:
        return "refused"
    names = parsed.parameter_names
    if profile.duplicate_parameters == "refuse" and any(
        names.count(n) > 1 for n in KNOWN_PARAMETERS
    ):
        return "refused"
    if "=" in secret and profile.uri_padding == "refuse":
        return "refused"
    issuers = (parsed.issuer_parameter, parsed.label_issuer)
    if profile.issuer_colon == "refuse" and any(i and ":" in i for i in issuers):
        return "refused"
    rules = profile.key_entry
    if any(c in _WHITESPACE for c in secret) and rules.spaces == "refuse":
        return "refused"
    if secret != secret.upper() and rules.lower_case == "refuse":
        return "refused"
    try:
        key = decode_base32("".join(secret.split()).rstrip("=").upper())
    except OtpError:
        return "refused"
    if len(key) * 8 < profile.refuses_secrets_under_bits:
        return "refused"
    counter = parsed.parameter("counter") or ""
    if parsed.type == "hotp" and not (counter.isascii() and counter.isdigit()):
        return "refused"
    algorithm = (parsed.parameter("algorithm") or "SHA1").upper()
    digits_raw = parsed.parameter("digits") or "6"
    period_raw = parsed.parameter("period") or "30"
    digits: int | str = int(digits_raw) if digits_raw.isdigit() else digits_raw
    period: int | str = int(period_raw) if period_raw.isdigit() else period_raw
    used = (
        _resolve(algorithm, profile.algorithm, algorithm in HASHES, algorithm),
        _resolve(
            digits_raw,
            profile.digits,
            isinstance(digits, int) and 1 <= digits <= MAX_DIGITS,
            digits,
        ),
        _resolve(period_raw, profile.period, isinstance(period, int) and period > 0, period),
    )
    if any(u is None for u in used):
        return "refused"
    if case.defined_codes is None:
        return "silently_wrong"
    generator = CodeGenerator(
        key, digits=int(used[1] or 0), algorithm=str(used[0]), period=int(used[2] or 0)
    )
    if parsed.type == "hotp":
        shown = tuple(generator.code_for_counter(int(counter)) for _ in case.times)
    else:
        shown = tuple(generator.code_at(t) for t in case.times)
    return "compatible" if shown == case.defined_codes else "silently_wrong"
