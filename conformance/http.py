"""A small HTTP client that keeps every exchange as evidence.

The conformance suite reaches the server under test only through HTTP (and the
browser), so this is the whole seam. Standard library only: urllib answers 4xx
and 5xx as exceptions, which are turned back into ordinary responses here.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Final

from records import redact

#: Response headers worth keeping as evidence.
KEPT_HEADERS: Final = ("Cache-Control", "Retry-After", "Content-Type", "Pragma")


class TargetUnreachable(ConnectionError):
    """Raised when the target does not answer at all (refused, reset, timed out)."""


@dataclass
class Exchange:
    """One request and its response."""

    method: str
    path: str
    status: int
    request_body: Any = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes = b""

    @property
    def error_code(self) -> str | None:
        """The contract's ``error.code``, when the body has that shape."""
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            code = self.body["error"].get("code")
            return code if isinstance(code, str) else None
        return None

    def field(self, name: str) -> Any:
        return self.body.get(name) if isinstance(self.body, dict) else None

    def evidence(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "url": self.path,
            "status": self.status,
            "request": redact(self.request_body),
            "response": redact(self.body)
            if self.body is not None
            else self.raw[:2000].decode("utf-8", "replace"),
            "headers": self.headers,
        }

    def describe(self) -> str:
        code = self.error_code
        return f"{self.status}" + (f" {code}" if code else "")


class HttpClient:
    """JSON over HTTP to one base URL, with the client identity headers of the contract."""

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        raw_body: bytes | None = None,
    ) -> Exchange:
        data = raw_body
        all_headers = {"Accept": "application/json"}
        if json_body is not None:
            data = json.dumps(json_body).encode()
        if data is not None:
            all_headers["Content-Type"] = "application/json"
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        all_headers.update(headers or {})
        request = urllib.request.Request(  # noqa: S310 - the URL is the configured target
            self.base_url + path, data=data, method=method, headers=all_headers
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                status, raw, response_headers = response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            status, raw, response_headers = error.code, error.read(), error.headers
        except (TimeoutError, urllib.error.URLError, ConnectionError) as error:
            reason = getattr(error, "reason", error)
            raise TargetUnreachable(f"{method} {self.base_url}{path}: {reason}") from error
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
        kept = {name: response_headers[name] for name in KEPT_HEADERS if name in response_headers}
        return Exchange(method, path, status, json_body, body, kept, raw)

    def get(self, path: str, **kwargs: Any) -> Exchange:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Exchange:
        return self.request("POST", path, json_body=body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> Exchange:
        return self.request("PUT", path, json_body=body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> Exchange:
        return self.request("PATCH", path, json_body=body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Exchange:
        return self.request("DELETE", path, **kwargs)
