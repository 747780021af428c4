"""Secrets at rest, key handling, token storage, and nothing secret in the logs."""

from __future__ import annotations

import logging
import stat
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from reference_server.app import create_app
from reference_server.models import Agent, Device, Enrollment, Token
from reference_server.security import KEY_FILE_NAME
from simulators.hotp import encode_base32

from .conftest import V5, Api


def _all_text(api: Api) -> str:
    """Every value in every table, as text (what a stolen database file holds)."""
    engine = api.services.engine
    with engine.connect() as connection:
        dump = []
        for table in ("agents", "devices", "enrollments", "tokens", "captured_mail"):
            from sqlalchemy import text

            for row in connection.execute(text(f"SELECT * FROM {table}")):  # noqa: S608
                dump.extend(repr(v) for v in row)
    return "\n".join(dump)


def test_secrets_passwords_and_tokens_are_not_stored_in_the_clear(api: Api) -> None:
    token = api.token(V5)
    generator = api.to_connect_device(token)
    pending = api.device(token).json["manual_key"].replace(" ", "")
    confirmed = api.confirm(token, api.code(generator))
    full = confirmed.json["token"]
    dump = _all_text(api)
    assert pending not in dump
    assert V5[1] not in dump
    assert full not in dump
    assert token not in dump
    with api.services.sessions() as db:
        device = db.scalars(select(Device)).one()
        raw = api.services.box.decrypt(device.secret_encrypted)
        assert encode_base32(raw) == pending
        assert raw not in device.secret_encrypted
        agent = db.scalars(select(Agent).where(Agent.email == V5[0])).one()
        assert agent.password_hash.startswith("$argon2id$")
        assert all(len(t.token_hash) == 64 for t in db.scalars(select(Token)))
        assert all(e.email_code_hash is None for e in db.scalars(select(Enrollment)))


def test_key_file_is_private_and_outside_the_database(api: Api, app_config: dict[str, Any]) -> None:
    key_file = Path(app_config["INSTANCE_PATH"]) / KEY_FILE_NAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_bytes().strip().decode() not in _all_text(api)


def test_configured_key_is_used_and_no_file_written(
    tmp_path: Path, app_config: dict[str, Any]
) -> None:
    from cryptography.fernet import Fernet

    key = Fernet.generate_key().decode()
    instance = tmp_path / "other-instance"
    app = create_app({**app_config, "INSTANCE_PATH": str(instance), "TWOFA_SECRET_KEY": key})
    assert not (instance / KEY_FILE_NAME).exists()
    app.extensions["twofa"].engine.dispose()
    with pytest.raises(ValueError, match="Fernet key"):
        create_app({**app_config, "TWOFA_SECRET_KEY": "not-a-key"})


def test_nothing_secret_in_the_logs(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token = api.token(V5)
    api.start(token)
    email_code = api.mail_code(V5[0])
    api.verify_email(token, "000000" if email_code != "000000" else "111111")
    api.verify_email(token, email_code)
    manual_key = api.device(token).json["manual_key"]
    from simulators.hotp import CodeGenerator, decode_base32

    generator = CodeGenerator(decode_base32(manual_key.replace(" ", "")))
    setup = api.code(generator)
    api.confirm(token, setup)
    api.advance(30)
    partial = api.token(V5)
    wrong = api.wrong(generator)
    api.otp(partial, wrong)
    login = api.code(generator)
    full = api.otp(partial, login).json["token"]
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert caplog.records, "the flow should log something"
    for secret in (
        V5[1],
        email_code,
        setup,
        login,
        wrong,
        manual_key,
        manual_key.replace(" ", ""),
        token,
        full,
    ):
        assert secret not in logged


# -- keys derived from the instance key (HKDF, RFC 5869) --------------------------------


def _rfc5869_hkdf_sha256(ikm: bytes, info: bytes, length: int = 32) -> bytes:
    """HKDF written out from RFC 5869 §2.2-2.3 (no salt: a string of HashLen zeros)."""
    import hashlib
    import hmac

    prk = hmac.new(b"\0" * 32, ikm, hashlib.sha256).digest()
    okm, block = b"", b""
    for counter in range(1, -(-length // 32) + 1):
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        okm += block
    return okm[:length]


def test_email_code_and_csrf_keys_are_hkdf_of_the_instance_key() -> None:
    import base64
    import hashlib
    import hmac

    from cryptography.fernet import Fernet

    from reference_server.security import (
        CSRF_KEY_INFO,
        EMAIL_CODE_KEY_INFO,
        SecretBox,
        derive_key,
    )

    key = Fernet.generate_key()
    material = base64.urlsafe_b64decode(key)
    code_key = derive_key(key, EMAIL_CODE_KEY_INFO)
    csrf_key = derive_key(key, CSRF_KEY_INFO)
    assert code_key == _rfc5869_hkdf_sha256(material, EMAIL_CODE_KEY_INFO)
    assert csrf_key == _rfc5869_hkdf_sha256(material, CSRF_KEY_INFO)
    # one key per purpose, none equal to the Fernet key's halves or the old ad-hoc hash
    assert len({code_key, csrf_key, material[:16] * 2, material[16:] * 2, material}) == 5
    assert code_key != hashlib.sha256(b"twofa email code hmac\x00" + key).digest()
    # another instance key derives other keys
    other = Fernet.generate_key()
    assert derive_key(other, EMAIL_CODE_KEY_INFO) != code_key
    assert derive_key(other, CSRF_KEY_INFO) != csrf_key
    # and the box keys its HMACs with exactly these
    box = SecretBox(key)
    assert box.code_digest("123456") == hmac.new(code_key, b"123456", hashlib.sha256).hexdigest()
    assert box.csrf_value("session\x00abc") == (
        hmac.new(csrf_key, b"session\x00abc", hashlib.sha256).hexdigest()
    )


def test_derived_keys_are_stable_across_restarts(
    tmp_path: Path, app_config: dict[str, Any]
) -> None:
    def derived(config: dict[str, Any]) -> tuple[str, str]:
        app = create_app(config)
        box = app.extensions["twofa"].box
        app.extensions["twofa"].engine.dispose()
        return box.code_digest("654321"), box.csrf_value("pre-session\x00xyz")

    first = derived(app_config)
    assert derived(app_config) == first  # the same instance key file, read again
    elsewhere = {**app_config, "INSTANCE_PATH": str(tmp_path / "elsewhere")}
    assert derived(elsewhere) != first  # another instance made another key
    from cryptography.fernet import Fernet

    configured = {**app_config, "TWOFA_SECRET_KEY": Fernet.generate_key().decode()}
    assert derived(configured) == derived(configured)
