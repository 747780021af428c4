"""A team's own TOTP verifier, as small as one can be: the server ``totp_service_driver.py`` judges.

Standard library only. JSON over HTTP on loopback:

- ``POST /credentials {"algorithm", "digits", "period"}`` -> 201 ``{"id", "otpauth_uri"}``
  (the server makes the secret); 400 ``{"error"}`` for parameters it does not offer;
- ``POST /credentials/ID/verify {"code": "123456"}`` -> 200 ``{"ok": true}``, or 401
  ``{"ok": false, "reason": "invalid" | "reused" | "locked"}``;
- ``DELETE /credentials/ID`` -> 204.

Its policy: ``--window N`` steps each way (default 1); every step at most once,
and no step older than the last accepted one; 5 wrong codes in a row lock the
credential for 5 minutes. Run: ``python3 examples/totp_service.py --port 8080``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HASHES = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}
MAX_FAILURES, LOCK_SECONDS = 5, 300


def hotp(key: bytes, counter: int, digits: int, algorithm: str) -> str:
    digest = hmac.new(key, counter.to_bytes(8, "big"), HASHES[algorithm]).digest()
    offset = digest[-1] & 0x0F
    value = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


class Credential:
    def __init__(self, algorithm: str, digits: int, period: int) -> None:
        self.key = secrets.token_bytes(len(HASHES[algorithm]().digest()))
        self.algorithm, self.digits, self.period = algorithm, digits, period
        self.last_step = -1
        self.failures = 0
        self.locked_until = 0.0


class Service:
    def __init__(self, window: int) -> None:
        self.window = window
        self.credentials: dict[str, Credential] = {}
        # One lock: checking a code and recording its step must be one atomic act.
        self.lock = threading.Lock()

    def verify(self, credential: Credential, code: object) -> str:
        """'ok', 'invalid', 'reused' or 'locked'."""
        now = time.time()
        with self.lock:
            if now < credential.locked_until:
                return "locked"
            digits = credential.digits
            if not (
                isinstance(code, str) and len(code) == digits and code.isascii() and code.isdigit()
            ):
                return self._failed(credential, now)
            current = int(now // credential.period)
            for step in range(current - self.window, current + self.window + 1):
                if hmac.compare_digest(
                    hotp(credential.key, step, digits, credential.algorithm), code
                ):
                    if step <= credential.last_step:
                        return "reused"
                    credential.last_step, credential.failures = step, 0
                    return "ok"
            return self._failed(credential, now)

    @staticmethod
    def _failed(credential: Credential, now: float) -> str:
        credential.failures += 1
        if credential.failures >= MAX_FAILURES:
            credential.locked_until, credential.failures = now + LOCK_SECONDS, 0
        return "invalid"


def handler(service: Service) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # quiet: codes are secrets
            pass

        def answer(self, status: int, body: dict[str, object] | None = None) -> None:
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def body(self) -> dict[str, object]:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                parsed = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                return {}
            return parsed if isinstance(parsed, dict) else {}

        def do_POST(self) -> None:
            parts = self.path.strip("/").split("/")
            if parts == ["credentials"]:
                body = self.body()
                algorithm = str(body.get("algorithm", "SHA1")).upper()
                digits, period = body.get("digits", 6), body.get("period", 30)
                if algorithm not in HASHES or digits not in (6, 8) or period not in (30, 60):
                    return self.answer(
                        400, {"error": "offered: SHA1/256/512, 6 or 8 digits, 30 or 60 s"}
                    )
                credential = Credential(algorithm, int(digits), int(period))  # type: ignore[arg-type]
                name = secrets.token_hex(8)
                service.credentials[name] = credential
                secret = base64.b32encode(credential.key).decode().rstrip("=")
                uri = (
                    f"otpauth://totp/Example:{name}?secret={secret}&issuer=Example"
                    f"&algorithm={algorithm}&digits={digits}&period={period}"
                )
                return self.answer(201, {"id": name, "otpauth_uri": uri})
            if len(parts) == 3 and parts[0] == "credentials" and parts[2] == "verify":
                credential = service.credentials.get(parts[1])
                if credential is None:
                    return self.answer(404, {"error": "no such credential"})
                result = service.verify(credential, self.body().get("code"))
                ok = result == "ok"
                return self.answer(200 if ok else 401, {"ok": ok, "reason": result})
            return self.answer(404, {"error": "not found"})

        def do_GET(self) -> None:
            self.answer(404, {"error": "not found"})

        def do_DELETE(self) -> None:
            parts = self.path.strip("/").split("/")
            if len(parts) == 2 and parts[0] == "credentials":
                service.credentials.pop(parts[1], None)
                return self.answer(204)
            return self.answer(404, {"error": "not found"})

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--window", type=int, default=1, help="steps accepted each way")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler(Service(args.window)))
    print(f"totp-service listening on http://127.0.0.1:{server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
