"""The simulated device: clocks, accounts, HOTP presses, cloud backup."""

from __future__ import annotations

import pytest

from simulators.clock import ManualClock, SkewedClock
from simulators.device import AuthenticatorDevice, BackupUnsupported, ProvisioningRefused
from simulators.hotp import hotp, totp
from tests.vectors import SEED_BASE32, SEED_SHA1, rfc_uri


def test_code_now_reads_the_devices_own_skewed_clock() -> None:
    server_time = ManualClock(59)
    phone = AuthenticatorDevice(clock=SkewedClock(server_time, offset_seconds=31))
    phone.provision_from_uri(rfc_uri("SHA1"))
    assert phone.code_now() == totp(SEED_SHA1, 90, digits=8)  # a step ahead of the server
    assert phone.code_at(59) == "94287082"
    server_time.advance(30)
    assert phone.code_now() == totp(SEED_SHA1, 120, digits=8)


def test_typed_key_and_scanned_uri_give_the_same_codes() -> None:
    scanned = AuthenticatorDevice(clock=ManualClock(1_234_567_890))
    typed = AuthenticatorDevice(clock=ManualClock(1_234_567_890))
    scanned.provision_from_uri(rfc_uri("SHA1", digits=6))
    typed.provision_from_key("gezd gnbv gy3t qojq gezd gnbv gy3t qojq", account="alice")
    assert scanned.code_now() == typed.code_now() == "005924"


def test_hotp_button_counts_up_from_the_uri_counter() -> None:
    token = AuthenticatorDevice()
    token.provision_from_uri(rfc_uri("SHA1", digits=6, otp_type="hotp", counter=3))
    assert [token.next_hotp_code() for _ in range(3)] == [hotp(SEED_SHA1, c) for c in (3, 4, 5)]


def test_newest_account_wins_and_accounts_can_be_removed() -> None:
    phone = AuthenticatorDevice(clock=ManualClock(59))
    phone.provision_from_uri(rfc_uri("SHA1"))
    phone.provision_from_uri(
        f"otpauth://totp/ACME:alice?secret={SEED_BASE32['SHA256']}&issuer=ACME&algorithm=SHA256"
    )
    assert phone.account().label == "ACME:alice"
    assert phone.code_now("RFC:sha1") == "94287082"
    phone.remove("ACME:alice")
    assert phone.code_now() == "94287082"
    with pytest.raises(LookupError):
        phone.account("ACME:alice")
    with pytest.raises(LookupError):
        AuthenticatorDevice().code_now()


def test_cloud_backup_restores_the_same_secret_on_a_new_phone() -> None:
    clock = ManualClock(1_700_000_000)
    old = AuthenticatorDevice("lastpass-authenticator", clock)
    old.provision_from_uri(rfc_uri("SHA512"))
    new = AuthenticatorDevice.restore(old.backup(), clock, name="replacement phone")
    assert new.code_now() == old.code_now()
    assert new.account().key == old.account().key
    clock.advance(3600)
    assert new.code_now() == old.code_now()


def test_apps_without_cloud_backup_cannot_back_up() -> None:
    phone = AuthenticatorDevice("google-authenticator-legacy")
    phone.provision_from_uri(rfc_uri("SHA1"))
    with pytest.raises(BackupUnsupported):
        phone.backup()


@pytest.mark.parametrize(
    "uri",
    [
        "otpauth://totp/ACME:alice?issuer=ACME",
        "otpauth://totp/ACME:alice?secret=NOT-BASE32!&issuer=ACME",
        "otpauth://hotp/ACME:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
        "otpauth://totp/ACME:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&period=0",
        "otpauth://totp/ACME:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&algorithm=MD5",
        "https://example.com/",
    ],
)
def test_the_reference_app_refuses_unusable_uris(uri: str) -> None:
    with pytest.raises(ProvisioningRefused):
        AuthenticatorDevice().provision_from_uri(uri)
