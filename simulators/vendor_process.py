"""A simulated authenticator app as a vendor program: JSON lines, or one code per run.

``python -m simulators.vendor_process --profile NAME`` serves the JSON-lines
protocol of ``twofa check-authenticator --jsonl`` (docs/vendor-adapter.md)
on standard input and output. With ``--once`` it is a command-line generator
for ``--command`` templates: it provisions one account from ``--uri`` or
``--key`` (an empty value counts as absent, so one template can carry both),
prints the code at ``--time`` and exits 0; a refusal is exit 1 with the reason
on standard error; a usage error is exit 2.

Built on the simulators only, so the built-in profiles can be measured
through the same adapters a vendor uses.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import IO, Any

from simulators.device import Account, AuthenticatorDevice, ProvisioningRefused
from simulators.hotp import OtpError
from simulators.profiles import PROFILES, get_profile

#: Words of a refusal message → the error code of the protocol.
_ERROR_CODES = (
    ("duplicate parameter", "invalid_uri"),
    ("algorithm", "unsupported_algorithm"),
    ("digits", "unsupported_digits"),
    ("period", "unsupported_period"),
    ("padding", "invalid_uri"),
    ("issuer", "invalid_uri"),
    ("cannot read", "invalid_uri"),
    ("-bit secret", "secret_too_short"),
    ("key is invalid", "invalid_key"),
)


def error_code(message: str) -> str:
    """The protocol's error code for a refusal message of the simulated device."""
    return next((code for word, code in _ERROR_CODES if word in message), "refused")


class Server:
    """The JSON-lines server: one device, accounts by handle."""

    def __init__(self, profile: str) -> None:
        self.device = AuthenticatorDevice(get_profile(profile))
        self.accounts: dict[str, Account] = {}
        self.next_handle = 0

    def answer(self, request: Any) -> dict[str, Any]:
        if not isinstance(request, dict):
            return _error(None, "bad_request", "a request is a JSON object")
        rid = request.get("id")
        op = request.get("op")
        try:
            if op == "provision":
                account = self.provision(request)
                self.next_handle += 1
                handle = f"a{self.next_handle}"
                self.accounts[handle] = account
                return {"id": rid, "ok": True, "account": handle}
            if op == "codes":
                known = self.accounts.get(str(request.get("account")))
                if known is None:
                    return _error(rid, "unknown_account", "no such account")
                times = request.get("times")
                if not isinstance(times, list) or not all(
                    isinstance(t, int) and not isinstance(t, bool) and t >= 0 for t in times
                ):
                    return _error(rid, "bad_request", "times must be a list of Unix seconds")
                return {"id": rid, "ok": True, "codes": [known.code_shown_at(t) for t in times]}
            if op == "forget":
                self.accounts.pop(str(request.get("account")), None)
                return {"id": rid, "ok": True}
            return _error(rid, "unknown_op", f"unknown op {op!r}")
        except ProvisioningRefused as exc:
            return _error(rid, error_code(str(exc)), str(exc))
        except OtpError as exc:
            return _error(rid, "bad_request", str(exc))

    def provision(self, request: dict[str, Any]) -> Account:
        uri = request.get("uri")
        if isinstance(uri, str) and uri:
            return self.device.provision_from_uri(uri)
        key = request.get("key")
        if not isinstance(key, str) or not key:
            raise ProvisioningRefused("give a uri or a key")
        return self.device.provision_from_key(
            key,
            account=str(request.get("label") or "account"),
            issuer=request.get("issuer") if isinstance(request.get("issuer"), str) else None,
            algorithm=str(request.get("algorithm", "SHA1")),
            digits=_integer(request.get("digits", 6), "digits"),
            period=_integer(request.get("period", 30), "period"),
        )


def _integer(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise ProvisioningRefused(f"{name} {value!r} is not supported")
    return int(value)


def _error(rid: Any, code: str, message: str) -> dict[str, Any]:
    return {"id": rid, "ok": False, "error": {"code": code, "message": message}}


def serve(profile: str, stdin: IO[str], stdout: IO[str]) -> None:
    """Answer requests until standard input ends."""
    server = Server(profile)
    for line in stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
        except json.JSONDecodeError:
            reply = _error(None, "bad_request", "not a JSON line")
        else:
            reply = server.answer(request)
        stdout.write(json.dumps(reply, separators=(",", ":")) + "\n")
        stdout.flush()


def once(args: argparse.Namespace) -> int:
    """Provision one account, print its code at ``--time``; 1 when refused."""
    device = AuthenticatorDevice(get_profile(args.profile))
    try:
        if args.uri:
            account = device.provision_from_uri(args.uri)
        elif args.key:
            account = device.provision_from_key(
                args.key,
                account=args.label or "account",
                issuer=args.issuer or None,
                algorithm=args.algorithm,
                digits=args.digits,
                period=args.period,
            )
        else:
            print("vendor_process: give --uri or --key", file=sys.stderr)
            return 2
    except ProvisioningRefused as exc:
        print(f"refused ({error_code(str(exc))}): {exc}", file=sys.stderr)
        return 1
    print(account.code_shown_at(args.time))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m simulators.vendor_process",
        description="A simulated authenticator app speaking the check-authenticator protocols.",
    )
    parser.add_argument("--profile", default="rfc-reference", choices=sorted(PROFILES))
    parser.add_argument("--once", action="store_true", help="print one code and exit")
    parser.add_argument("--uri", default="", help="(--once) the scanned otpauth URI")
    parser.add_argument("--key", default="", help="(--once) the typed key")
    parser.add_argument("--algorithm", default="SHA1", help="(--once, --key) algorithm field")
    parser.add_argument("--digits", type=int, default=6, help="(--once, --key) digits field")
    parser.add_argument("--period", type=int, default=30, help="(--once, --key) period field")
    parser.add_argument("--label", default="", help="(--once, --key) account name")
    parser.add_argument("--issuer", default="", help="(--once, --key) issuer")
    parser.add_argument("--time", type=int, default=None, help="(--once) Unix time of the code")
    args = parser.parse_args(argv)
    if args.once:
        if args.time is None or args.time < 0:
            parser.error("--once needs --time UNIX-SECONDS")
        return once(args)
    serve(args.profile, sys.stdin, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
