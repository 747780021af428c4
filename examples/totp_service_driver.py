"""A target driver for a team's own server (examples/totp_service.py), in about 50 lines.

``twofa run --target examples/totp_service_driver.py [--target-option window=2]``
starts the service under libfaketime, so the harness moves its clock, and
judges it with every verifier check (docs/targets.md).
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from conformance.drivers.faketime import FaketimeFileClock
from conformance.drivers.process import ServerProcess, free_port
from conformance.drivers.seam import (
    Answer,
    Credential,
    Driver,
    Option,
    TotpParameters,
    Unsupported,
    Verdict,
    integer,
)
from simulators.otpauth import parse_uri

#: The service's reasons, as the seam's verdicts (anything else: it failed to answer).
VERDICTS = {"ok": Verdict.ACCEPTED, "invalid": Verdict.INVALID, "reused": Verdict.REUSED}
VERDICTS["locked"] = Verdict.LOCKED


class TotpServiceDriver(Driver):
    name = "totp-service"
    title = "examples/totp_service.py, a team's own TOTP verifier"
    options = (Option("window", "steps accepted each way", integer(0, 10), default=1),)
    code_forms = frozenset({"json_number", "non_ascii_digits", "whitespace"})

    def __init__(self, options: dict[str, Any], workdir: Path, *, url: str | None = None) -> None:
        super().__init__(options, workdir, url=url)
        self.window = self.settings.get("window", 1)
        self.clock = FaketimeFileClock(workdir / "faketime", 2_000_000_000)
        port, script = free_port(), Path(__file__).with_name("totp_service.py")
        self.process = ServerProcess(
            [sys.executable, str(script), "--port", str(port), "--window", str(self.window)],
            name=self.name,
            log_path=workdir / "service.log",
            env=self.clock.environment(),
            ready="listening on",
        )
        self.base = f"http://127.0.0.1:{port}"

    def _call(self, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data, method=method)
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def provision(self, parameters: TotpParameters) -> Credential:
        status, body = self._call("POST", "/credentials", vars(parameters))
        if status == 400:
            raise Unsupported(body["error"])
        uri = parse_uri(body["otpauth_uri"])
        handed_out = TotpParameters(uri.algorithm, uri.digits, uri.period)
        return Credential(body["id"], uri.key(), handed_out, self.now(), uri=body["otpauth_uri"])

    def submit(self, credential: Credential, code: str | int) -> Answer:
        status, body = self._call("POST", f"/credentials/{credential.label}/verify", {"code": code})
        return Answer(VERDICTS.get(body.get("reason"), Verdict.ERROR), f"{status} {body}")

    def drop(self, credential: Credential) -> None:
        self._call("DELETE", f"/credentials/{credential.label}")

    def declared_policy(self) -> dict[str, Any]:  # what the service's --help says
        return {
            "window": {"back": self.window, "forward": self.window},
            "replay": "monotonic_step",
            "drift": {"tracking": False},
            "throttle": {"max_failures": 5, "lock_seconds": 300},
        }

    def close(self) -> None:
        self.process.stop()
