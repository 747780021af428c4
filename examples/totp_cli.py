#!/usr/bin/env python3
"""A one-shot TOTP generator for ``twofa check-authenticator --command``: one code per run.

Standard library only. The harness fills the template's placeholders and runs
it once per code; the code is the last non-empty line printed; a non-zero
exit means the account was refused (the reason on standard error).

    twofa check-authenticator --command \\
      "python3 examples/totp_cli.py --secret {secret} --algorithm {algorithm} \\
       --digits {digits} --period {period} --time {time}"

A template without {uri} or {key} gets only the cases a plain secret can
carry (the URI-form and typed-key cases are reported not applicable).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import hmac
import sys

HASHES = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}


def main() -> int:
    parser = argparse.ArgumentParser(description="Print the TOTP code at a Unix time.")
    parser.add_argument("--secret", required=True, help="base32 secret")
    parser.add_argument("--algorithm", default="SHA1")
    parser.add_argument("--digits", type=int, default=6)
    parser.add_argument("--period", type=int, default=30)
    parser.add_argument("--time", type=int, required=True)
    args = parser.parse_args()
    if args.algorithm.upper() not in HASHES:
        print(f"unsupported algorithm {args.algorithm}", file=sys.stderr)
        return 1
    body = args.secret.rstrip("=").upper()
    try:
        key = base64.b32decode(body + "=" * (-len(body) % 8))
    except (binascii.Error, ValueError):
        print("the secret is not base32", file=sys.stderr)
        return 1
    counter = args.time // args.period
    digest = hmac.new(key, counter.to_bytes(8, "big"), HASHES[args.algorithm.upper()]).digest()
    offset = digest[-1] & 0x0F
    value = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    print(str(value % 10**args.digits).zfill(args.digits))
    return 0


if __name__ == "__main__":
    sys.exit(main())
