#!/usr/bin/env python3
"""A JSON-lines vendor adapter for ``twofa check-authenticator --jsonl``: copy it, plug in your app.

Run by the harness as a long-lived process: one JSON request per line on
standard input, one JSON answer per line on standard output (flushed), until
standard input ends. Standard library only, on purpose: it must not depend
on the harness. The protocol is in docs/vendor-adapter.md.

    twofa check-authenticator --jsonl "python3 examples/vendor_adapter.py"

Replace ``app_code`` (and, if your app has its own parsing, ``read_uri`` and
``read_typed_key``) with calls into your app's code; everything else is the
protocol. As shipped it is a correct RFC 6238 generator, so the command above
exits 0.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import sys
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

HASHES = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}


class Refusal(Exception):
    """What your app would show the user instead of adding the account."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def app_code(key: bytes, algorithm: str, digits: int, period: int, unix_time: int) -> str:
    """YOUR APP'S GENERATOR GOES HERE. This one is RFC 6238 (TOTP over RFC 4226 HOTP)."""
    counter = unix_time // period
    digest = hmac.new(key, counter.to_bytes(8, "big"), HASHES[algorithm]).digest()
    offset = digest[-1] & 0x0F
    value = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def decode_key(text: str) -> bytes:
    body = text.rstrip("=")
    try:
        key = base64.b32decode(body + "=" * (-len(body) % 8))
    except (binascii.Error, ValueError):
        raise Refusal("invalid_key", "the key is not base32") from None
    if not key:
        raise Refusal("invalid_key", "the key is empty")
    return key


def account(key: bytes, algorithm: str, digits: Any, period: Any) -> dict[str, Any]:
    """Check the parameters as your app would; answer what codes are computed with."""
    algorithm = str(algorithm).upper()
    if algorithm not in HASHES:
        raise Refusal("unsupported_algorithm", f"algorithm {algorithm} is not supported")
    if str(digits) not in ("6", "7", "8"):
        raise Refusal("unsupported_digits", f"{digits} digits are not supported")
    if not str(period).isdigit() or int(period) == 0:
        raise Refusal("unsupported_period", f"period {period} is not supported")
    return {"key": key, "algorithm": algorithm, "digits": int(digits), "period": int(period)}


def read_uri(uri: str) -> dict[str, Any]:
    """Import a scanned otpauth:// URI."""
    parts = urlsplit(uri)
    if parts.scheme.lower() != "otpauth" or parts.netloc.lower() != "totp":
        raise Refusal("invalid_uri", "not an otpauth://totp/ URI")
    pairs = parse_qsl(parts.query)
    names = [name for name, _ in pairs]
    if any(names.count(n) > 1 for n in ("secret", "issuer", "algorithm", "digits", "period")):
        raise Refusal("invalid_uri", "a parameter is written twice")  # which one was meant?
    params = dict(pairs)
    secret = params.get("secret")
    if not secret:
        raise Refusal("invalid_uri", "the URI has no secret")
    label = unquote(parts.path.lstrip("/"))
    if not label:
        raise Refusal("invalid_uri", "the URI has no label")
    return account(
        decode_key(secret.upper()),
        params.get("algorithm", "SHA1"),
        params.get("digits", "6"),
        params.get("period", "30"),
    )


def read_typed_key(request: dict[str, Any]) -> dict[str, Any]:
    """Import a key typed into the app's manual-entry form (spaces and case forgiven)."""
    key = "".join(str(request.get("key", "")).split()).upper()
    return account(
        decode_key(key),
        request.get("algorithm", "SHA1"),
        request.get("digits", 6),
        request.get("period", 30),
    )


def main() -> None:
    accounts: dict[str, dict[str, Any]] = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        request: dict[str, Any] = {}
        try:
            request = json.loads(line)
            op = request.get("op")
            if op == "provision":
                handle = f"a{len(accounts) + 1}"
                uri = request.get("uri")
                accounts[handle] = read_uri(uri) if uri else read_typed_key(request)
                answer: dict[str, Any] = {"ok": True, "account": handle}
            elif op == "codes":
                acc = accounts.get(request.get("account", ""))
                if acc is None:
                    raise Refusal("unknown_account", "no such account")
                codes = [
                    app_code(acc["key"], acc["algorithm"], acc["digits"], acc["period"], int(t))
                    for t in request["times"]
                ]
                answer = {"ok": True, "codes": codes}
            elif op == "forget":
                accounts.pop(request.get("account", ""), None)
                answer = {"ok": True}
            else:
                raise Refusal("unknown_op", f"unknown op {op!r}")
        except Refusal as exc:
            answer = {"ok": False, "error": {"code": exc.code, "message": exc.message}}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            answer = {"ok": False, "error": {"code": "bad_request", "message": str(exc)}}
        answer["id"] = request.get("id") if isinstance(request, dict) else None
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
