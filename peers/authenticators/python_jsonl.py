"""PyPI pyotp or cryptography's TOTP behind check-authenticator's JSON-lines protocol.

``python python_jsonl.py pyotp|cryptography``, run in the library's own virtual
environment under .peers/ (make peers): one request per line on standard
input, one answer per line on standard output (docs/vendor-adapter.md). Each
library is called as an app built on it would call it, with its defaults:
pyotp reads the URI (``pyotp.parse_uri``) and the base32 key itself;
cryptography takes the key as bytes, which this program decodes as standard
base32 (RFC 4648: upper case, padding restored), since the library has no
reader of its own. A library's exception is the refusal, in its own words.
Standard library and the one library only: this runs outside the harness.
"""

from __future__ import annotations

import base64
import itertools
import json
import sys
from collections.abc import Callable, Iterator
from typing import Any

Generator = Callable[[int], str]


def _pyotp() -> tuple[Callable[[str], Generator], Callable[[dict[str, Any]], Generator]]:
    import hashlib

    import pyotp

    def from_uri(uri: str) -> Generator:
        otp = pyotp.parse_uri(uri)
        if not isinstance(otp, pyotp.TOTP):
            raise ValueError(f"pyotp read a {type(otp).__name__}, not a TOTP")
        return otp.at

    def from_key(request: dict[str, Any]) -> Generator:
        digest = getattr(hashlib, str(request["algorithm"]).lower())
        otp = pyotp.TOTP(
            request["key"], digits=request["digits"], digest=digest, interval=request["period"]
        )
        return otp.at

    return from_uri, from_key


def _cryptography() -> tuple[Callable[[str], Generator], Callable[[dict[str, Any]], Generator]]:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.twofactor.totp import TOTP

    def from_uri(uri: str) -> Generator:
        raise ValueError("cryptography reads no otpauth URI")

    def from_key(request: dict[str, Any]) -> Generator:
        key = str(request["key"])
        secret = base64.b32decode(key + "=" * (-len(key) % 8))
        algorithm = getattr(hashes, str(request["algorithm"]).upper())()
        totp = TOTP(secret, request["digits"], algorithm, request["period"])
        return lambda t: totp.generate(t).decode("ascii")

    return from_uri, from_key


def _answer(
    request: dict[str, Any],
    readers: tuple[Callable[[str], Generator], Callable[[dict[str, Any]], Generator]],
    accounts: dict[str, Generator],
    handles: Iterator[int],
) -> dict[str, Any]:
    op = request.get("op")
    if op == "provision":
        from_uri, from_key = readers
        generator = from_uri(request["uri"]) if "uri" in request else from_key(request)
        generator(59)  # a key or parameter the library rejects at use is refused here
        handle = f"a{next(handles)}"
        accounts[handle] = generator
        return {"ok": True, "account": handle}
    if op == "codes":
        found = accounts.get(request.get("account", ""))
        if found is None:
            return {"ok": False, "error": {"code": "unknown_account", "message": "no such account"}}
        return {"ok": True, "codes": [str(found(t)) for t in request["times"]]}
    if op == "forget":
        accounts.pop(request.get("account", ""), None)
        return {"ok": True}
    return {"ok": False, "error": {"code": "bad_request", "message": f"unknown op {op!r}"}}


def main(argv: list[str]) -> int:
    makers = {"pyotp": _pyotp, "cryptography": _cryptography}
    if len(argv) != 1 or argv[0] not in makers:
        print("usage: python_jsonl.py pyotp|cryptography", file=sys.stderr)
        return 2
    readers = makers[argv[0]]()
    accounts: dict[str, Generator] = {}
    handles = itertools.count(1)
    for line in sys.stdin:
        if not line.strip():
            continue
        request: dict[str, Any] = {}
        try:
            loaded = json.loads(line)
            request = loaded if isinstance(loaded, dict) else {}
            reply = _answer(request, readers, accounts, handles)
        except Exception as exc:  # the library's refusal, whatever its class
            reply = {"ok": False, "error": {"code": type(exc).__name__, "message": str(exc)}}
        print(json.dumps({"id": request.get("id"), **reply}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
