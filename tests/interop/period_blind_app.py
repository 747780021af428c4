"""A JSON-lines authenticator that ignores ``period`` on purpose (tests of ``twofa interop``).

It reads the otpauth URI's secret, algorithm and digits, and always computes 30 s codes:
an app of the kind that ignores ``period=60``. Standard library only, as a vendor's
program would be (docs/vendor-adapter.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sys
from urllib.parse import parse_qs, urlsplit

HASHES = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}


def code(key: bytes, unix_time: int, digits: int, algorithm: str) -> str:
    counter = unix_time // 30  # the bug: the URI's period is never read
    digest = hmac.new(key, counter.to_bytes(8, "big"), HASHES[algorithm]).digest()
    offset = digest[-1] & 0x0F
    value = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def provision(request: dict[str, object]) -> dict[str, object]:
    query = parse_qs(urlsplit(str(request.get("uri", ""))).query)
    secret = query.get("secret", [""])[0].upper()
    algorithm = query.get("algorithm", ["SHA1"])[0].upper()
    if not secret or algorithm not in HASHES:
        return {"ok": False, "error": {"code": "invalid_uri", "message": "cannot read the URI"}}
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digits = int(query.get("digits", ["6"])[0])
    ACCOUNTS.append((key, digits, algorithm))
    return {"ok": True, "account": len(ACCOUNTS) - 1}


ACCOUNTS: list[tuple[bytes, int, str]] = []


def main() -> None:
    for line in sys.stdin:
        request = json.loads(line)
        op = request["op"]
        if op == "provision":
            reply = provision(request)
        elif op == "codes":
            key, digits, algorithm = ACCOUNTS[int(request["account"])]
            reply = {
                "ok": True,
                "codes": [code(key, int(t), digits, algorithm) for t in request["times"]],
            }
        else:
            reply = {"ok": True}
        print(json.dumps({"id": request["id"], **reply}), flush=True)


if __name__ == "__main__":
    main()
