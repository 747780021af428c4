"""Passwords, tokens, codes and secrets at rest.

- Passwords: argon2id (argon2-cffi); the cost is configurable so tests stay fast.
- Tokens: ``secrets.token_urlsafe(32)`` (256 bits); only their SHA-256 is stored.
- Email codes: 6 random digits; stored as an HMAC keyed with a key derived from
  the instance key (HKDF-SHA256, RFC 5869), compared in constant time.
- TOTP secrets: Fernet ciphertext under the instance key itself, which comes
  from configuration (``TWOFA_SECRET_KEY``) or a key file kept apart from the
  database (``TWOFA_SECRET_KEY_FILE``); only harness mode generates a throwaway
  key file in its instance folder.
- CSRF values of the web pages: an HMAC of the session's binding, keyed with
  another HKDF-derived key (its own ``info`` label).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Any, Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

#: OWASP's argon2id baseline: 19 MiB, 2 iterations, 1 lane.
DEFAULT_ARGON2: Final[dict[str, int]] = {"time_cost": 2, "memory_cost": 19 * 1024, "parallelism": 1}

KEY_FILE_NAME: Final = "totp-encryption.key"

#: HKDF ``info`` labels: one key per purpose, derived from the instance key.
EMAIL_CODE_KEY_INFO: Final = b"twofa-reference-server v1 email-code hmac"
CSRF_KEY_INFO: Final = b"twofa-reference-server v1 web csrf hmac"

#: How to make a key, for the start-up error that asks for one.
KEYGEN_HINT: Final = "make one with: twofa keygen --out /etc/twofa/secret.key"


class SecretKeyError(ValueError):
    """The secret-encryption key is missing, unreadable, or kept beside the data."""


class Passwords:
    """argon2id hashing with a dummy verify for unknown accounts (same cost either way)."""

    def __init__(self, params: dict[str, Any] | None = None) -> None:
        self._hasher = PasswordHasher(**(params or DEFAULT_ARGON2))
        self._dummy = self._hasher.hash(secrets.token_hex(16))

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        """True when ``password`` matches; with ``stored`` None, burn the same time and fail."""
        try:
            return self._hasher.verify(stored or self._dummy, password) and stored is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def new_token() -> str:
    """An opaque bearer token with 256 bits from the OS generator."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What the database stores for a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_email_code(digits: int = 6) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(digits))


def new_join_code() -> str:
    """A 9-digit join code a customer types to join a support session."""
    return "".join(secrets.choice("0123456789") for _ in range(9))


def derive_key(fernet_key: bytes, info: bytes) -> bytes:
    """A 256-bit key for one purpose: HKDF-SHA256 of the Fernet key's 32 bytes, no salt.

    The input is already uniformly random (RFC 5869 §3.1: a salt is optional
    then); ``info`` separates the purposes, so no derived key reveals another
    or the Fernet key that encrypts the TOTP secrets.
    """
    material = base64.urlsafe_b64decode(fernet_key)
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(material)


class SecretBox:
    """Encrypts TOTP secrets at rest and keys the email-code and CSRF HMACs."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)
        self._code_key = derive_key(key, EMAIL_CODE_KEY_INFO)
        self._csrf_key = derive_key(key, CSRF_KEY_INFO)

    def encrypt(self, secret: bytes) -> bytes:
        return self._fernet.encrypt(secret)

    def decrypt(self, token: bytes) -> bytes:
        return self._fernet.decrypt(token)

    def code_digest(self, code: str) -> str:
        return hmac.new(self._code_key, code.encode("ascii"), hashlib.sha256).hexdigest()

    def code_matches(self, stored: str | None, code: str) -> bool:
        """Constant-time comparison of a submitted code with a stored digest."""
        if stored is None:
            return False
        return hmac.compare_digest(stored, self.code_digest(code))

    def csrf_value(self, binding: str) -> str:
        """The CSRF value of a page session (``binding`` names the session, never a secret)."""
        return hmac.new(self._csrf_key, binding.encode("utf-8"), hashlib.sha256).hexdigest()

    def csrf_matches(self, binding: str, submitted: str) -> bool:
        """Constant-time check of a submitted CSRF value."""
        return hmac.compare_digest(
            self.csrf_value(binding).encode("ascii"), submitted.encode("utf-8", "replace")
        )


def parse_key(configured: str | bytes, where: str) -> bytes:
    """A Fernet key (32 url-safe base64 bytes); ``SecretKeyError`` names ``where`` it came from."""
    key = configured.strip() if isinstance(configured, bytes) else configured.strip().encode()
    try:
        Fernet(key)
    except ValueError:
        raise SecretKeyError(
            f"{where} is not a Fernet key (32 url-safe base64-encoded bytes); {KEYGEN_HINT}"
        ) from None
    return key


def read_key_file(path: Path) -> bytes:
    """The key in ``path`` (``TWOFA_SECRET_KEY_FILE``)."""
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise SecretKeyError(
            f"cannot read the key file {path} (TWOFA_SECRET_KEY_FILE): {exc.strerror}"
        ) from None
    return parse_key(text, f"the key file {path}")


def load_or_create_key(instance_path: Path) -> bytes:
    """Harness mode's throwaway key: read from (or made in) the instance folder, mode 0600."""
    path = instance_path / KEY_FILE_NAME
    if path.exists():
        return path.read_bytes().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    try:
        return write_new_key(path)
    except FileExistsError:  # another process starting at the same moment wrote it first
        return path.read_bytes().strip()


def resolve_key(
    key: str | bytes | None,
    key_file: str | Path | None,
    *,
    harness: bool,
    instance_path: Path,
    database_file: Path | None,
) -> bytes:
    """The instance key from ``TWOFA_SECRET_KEY`` or ``TWOFA_SECRET_KEY_FILE``.

    Outside harness mode one of them is required, and a key file may not sit in
    the SQLite database's folder (a copy of the data would hold its key). In
    harness mode, without either, a throwaway key file is made in the instance folder.
    """
    if key and key_file:
        raise SecretKeyError("set TWOFA_SECRET_KEY or TWOFA_SECRET_KEY_FILE, not both")
    if key:
        return parse_key(key, "TWOFA_SECRET_KEY")
    if key_file:
        path = Path(key_file).expanduser().resolve()
        if not harness and database_file is not None:
            folder = database_file.resolve().parent
            if path.parent == folder or folder in path.parents:
                raise SecretKeyError(
                    f"the key file {path} sits beside the database in {folder}: keep it apart "
                    "(e.g. /etc/twofa/secret.key), or a copy of the data holds its key"
                )
        return read_key_file(path)
    if harness:
        return load_or_create_key(instance_path)
    raise SecretKeyError(
        f"no secret-encryption key: set TWOFA_SECRET_KEY or TWOFA_SECRET_KEY_FILE ({KEYGEN_HINT})"
    )


def write_new_key(path: Path) -> bytes:
    """A new Fernet key written to ``path`` (mode 0600; never over an existing file)."""
    key = Fernet.generate_key()
    # O_EXCL: never over an existing file, and two processes cannot both write one.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
    return key
