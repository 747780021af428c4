"""Each app profile's declared quirks, observed through a provisioned device."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulators.device import AuthenticatorDevice, ProvisioningRefused
from simulators.hotp import encode_base32, totp
from simulators.profiles import PROFILES, UnknownProfileError, get_profile
from tests.vectors import SEED_BASE32, SEEDS

T = 1_111_111_109  # an RFC 6238 Appendix B time
OK, REFUSED = "ok", "refused"

#: What each probe URI asks for: (algorithm, digits, period).
PROBES = {
    "sha256": ("SHA256", 6, 30),
    "sha512": ("SHA512", 6, 30),
    "digits8": ("SHA1", 8, 30),
    "digits7": ("SHA1", 7, 30),
    "period60": ("SHA1", 6, 60),
}

#: Expected outcome per profile and probe: OK (the right code), REFUSED, or the
#: (algorithm, digits, period) the app silently computes with instead. Written
#: out by hand from apps-and-servers.md B.2, not derived from the profile data.
EXPECTED: dict[str, dict[str, object]] = {
    "rfc-reference": dict.fromkeys(PROBES, OK),
    "google-authenticator-legacy": {
        "sha256": ("SHA1", 6, 30),
        "sha512": ("SHA1", 6, 30),
        "digits8": ("SHA1", 6, 30),
        "digits7": ("SHA1", 6, 30),
        "period60": ("SHA1", 6, 30),
    },
    "google-authenticator-2023": {
        "sha256": REFUSED,
        "sha512": OK,
        "digits8": OK,
        "digits7": OK,
        "period60": ("SHA1", 6, 30),
    },
    "microsoft-authenticator": {
        "sha256": ("SHA1", 6, 30),
        "sha512": ("SHA1", 6, 30),
        "digits8": ("SHA1", 6, 30),
        "digits7": ("SHA1", 6, 30),
        "period60": ("SHA1", 6, 30),
    },
    "authy": {
        "sha256": ("SHA1", 6, 30),
        "sha512": ("SHA1", 6, 30),
        "digits8": OK,
        "digits7": OK,
        "period60": ("SHA1", 6, 30),
    },
    "lastpass-authenticator": dict.fromkeys(PROBES, OK),
    "freeotp": dict.fromkeys(PROBES, OK),
    "yubico-authenticator": {
        "sha256": REFUSED,
        "sha512": REFUSED,
        "digits8": OK,
        "digits7": OK,
        "period60": OK,
    },
    "bitwarden-authenticator": dict.fromkeys(PROBES, OK),
    "aegis": dict.fromkeys(PROBES, OK),
    "1password": {
        "sha256": OK,
        "sha512": REFUSED,
        "digits8": REFUSED,
        "digits7": REFUSED,
        "period60": OK,
    },
}

#: Other quirks: refuses padded URI secret, refuses ':' in issuer, refuses a typed
#: key with spaces, warns on an 80-bit secret, has cloud backup.
OTHER: dict[str, set[str]] = {
    "rfc-reference": set(),
    "google-authenticator-legacy": set(),
    "google-authenticator-2023": set(),
    "microsoft-authenticator": set(),
    "authy": set(),
    "lastpass-authenticator": {"backup"},
    "freeotp": {"colon", "warn80"},
    "yubico-authenticator": {"padding"},
    "bitwarden-authenticator": {"spaces"},
    "aegis": set(),
    "1password": set(),
}


def test_the_catalogue_is_what_the_tests_expect() -> None:
    assert set(PROFILES) == set(EXPECTED) == set(OTHER)
    assert len(PROFILES) - 1 >= 8  # at least eight models besides the reference


def _uri(algorithm: str, digits: int, period: int, issuer: str = "ACME") -> str:
    return (
        f"otpauth://totp/ACME:alice?secret={SEED_BASE32[algorithm]}&issuer={issuer}"
        f"&algorithm={algorithm}&digits={digits}&period={period}"
    )


@pytest.mark.parametrize("profile", sorted(EXPECTED))
@pytest.mark.parametrize("probe", sorted(PROBES))
def test_parameter_handling(profile: str, probe: str) -> None:
    algorithm, digits, period = PROBES[probe]
    expected = EXPECTED[profile][probe]
    device = AuthenticatorDevice(profile)
    uri = _uri(algorithm, digits, period)
    if expected == REFUSED:
        with pytest.raises(ProvisioningRefused):
            device.provision_from_uri(uri)
        return
    account = device.provision_from_uri(uri)
    used = (algorithm, digits, period) if expected == OK else expected
    assert isinstance(used, tuple)
    right = totp(SEEDS[algorithm], T, algorithm=algorithm, digits=digits, period=period)
    computed = totp(SEEDS[algorithm], T, algorithm=used[0], digits=used[1], period=used[2])
    assert device.code_at(T) == computed
    assert account.silently_defaulted == (expected != OK)
    if expected != OK:
        assert device.code_at(T) != right  # the dangerous case: imported, wrong codes
        assert account.quirks_applied


def test_legacy_google_given_a_sha256_uri_shows_the_sha1_code_for_that_secret() -> None:
    device = AuthenticatorDevice("google-authenticator-legacy")
    device.provision_from_uri(_uri("SHA256", 8, 30))
    assert device.code_at(59) == totp(SEEDS["SHA256"], 59, algorithm="SHA1", digits=6)
    assert device.code_at(59) != "46119246"


@pytest.mark.parametrize("profile", sorted(OTHER))
def test_padding_colon_spaces_warnings_and_backup(profile: str) -> None:
    quirks = OTHER[profile]
    padded = _uri("SHA1", 6, 30).replace(SEED_BASE32["SHA1"], encode_base32(b"x" * 16) + "======")
    colon = _uri("SHA1", 6, 30, issuer="https://acme.example")
    short = "otpauth://totp/ACME:alice?secret=JBSWY3DPEHPK3PXP&issuer=ACME"
    for quirk, action in (
        ("padding", lambda d: d.provision_from_uri(padded)),
        ("colon", lambda d: d.provision_from_uri(colon)),
        (
            "spaces",
            lambda d: d.provision_from_key(
                "gezd gnbv gy3t qojq gezd gnbv gy3t qojq", account="alice"
            ),
        ),
    ):
        device = AuthenticatorDevice(profile)
        if quirk in quirks:
            with pytest.raises(ProvisioningRefused):
                action(device)
        else:
            action(device)
    warned = AuthenticatorDevice(profile).provision_from_uri(short).warnings
    assert bool(warned) == ("warn80" in quirks)
    assert get_profile(profile).cloud_backup == ("backup" in quirks)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_profile_names_its_sources(profile: str) -> None:
    app = get_profile(profile)
    assert app.sources
    assert all("[None]" not in quirk for quirk in app.quirks), app.quirks
    assert bool(app.quirks) == bool(
        {q for q in EXPECTED[profile].values() if q != OK} | OTHER[profile]
    )


def test_unknown_profile_names_the_known_ones() -> None:
    with pytest.raises(UnknownProfileError, match="rfc-reference"):
        get_profile("nokia-3310")


def _typed_forms(key: bytes) -> list[str]:
    text = encode_base32(key)
    grouped = " ".join(text[i : i + 4] for i in range(0, len(text), 4))
    padded = text + "=" * (-len(text) % 8)
    return [text, grouped, grouped.lower(), text.lower(), padded, "-".join(grouped.split())]


@given(key=st.binary(min_size=10, max_size=64))
def test_typed_keys_round_trip_through_every_profile_that_accepts_them(key: bytes) -> None:
    for profile in PROFILES.values():
        for typed in _typed_forms(key):
            device = AuthenticatorDevice(profile)
            try:
                account = device.provision_from_key(typed, account="alice")
            except ProvisioningRefused:
                rules = profile.key_entry
                assert (
                    (" " in typed and rules.spaces == "refuse")
                    or ("=" in typed and rules.padding == "refuse")
                    or ("-" in typed and rules.hyphens == "refuse")
                    or (typed != typed.upper() and rules.lower_case == "refuse")
                ), (profile.name, typed)
                continue
            assert account.key == key, (profile.name, typed)
