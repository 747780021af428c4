"""The verdict each case should get from an app profile, derived from its declared fields alone.

This reads ``AppProfile`` data (which values each parameter honours and what
happens to the others, key-entry rules, URI padding, ':' in the issuer,
the secret-size floor), never the simulated device, so comparing it with a
measured matrix tests the device, the adapters and the harness together:
a profile measured through any adapter must show exactly its declared quirks.
"""

from __future__ import annotations

from conformance.vendor.cases import Case
from conformance.vendor.verdicts import Verdict
from simulators.profiles import AppProfile


def declared_verdict(profile: AppProfile, case: Case) -> Verdict:
    """What the profile says the app does with this case."""
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
