"""Passwords, tokens, codes and secrets at rest.

- Passwords: argon2id (argon2-cffi); the cost is configurable so tests stay fast.
- Tokens: ``secrets.token_urlsafe(32)`` (256 bits); only their SHA-256 is stored.
- Email codes: 6 random digits; stored as an HMAC keyed with a key derived from
  the instance key, compared in constant time.
- TOTP secrets: Fernet ciphertext; the key comes from configuration or from a
  file in the instance folder (mode 0600), never from the database.
- CSRF values of the web pages: an HMAC of the session's binding, keyed with
  another key derived from the same instance key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Any, Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.fernet import Fernet

#: OWASP's argon2id baseline: 19 MiB, 2 iterations, 1 lane.
DEFAULT_ARGON2: Final[dict[str, int]] = {"time_cost": 2, "memory_cost": 19 * 1024, "parallelism": 1}

KEY_FILE_NAME: Final = "totp-encryption.key"


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


class SecretBox:
    """Encrypts TOTP secrets at rest and keys the email-code HMAC."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)
        self._code_key = hashlib.sha256(b"twofa email code hmac\x00" + key).digest()
        self._csrf_key = hashlib.sha256(b"twofa web csrf hmac\x00" + key).digest()

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


def load_or_create_key(configured: str | bytes | None, instance_path: Path) -> bytes:
    """The Fernet key: from configuration, else from (or into) the instance folder."""
    if configured:
        key = configured.encode("ascii") if isinstance(configured, str) else configured
        Fernet(key)  # raises ValueError for a key that is not 32 url-safe base64 bytes
        return key
    path = instance_path / KEY_FILE_NAME
    if path.exists():
        return path.read_bytes().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    # O_EXCL: two processes starting at once cannot both write a key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
    return key
