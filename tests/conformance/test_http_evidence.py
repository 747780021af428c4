"""HTTP evidence reaches reports without credentials: passwords, secrets, whole tokens."""

from __future__ import annotations

import json

from conformance.http import Exchange

URI = "otpauth://totp/RS:a%40b.test?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=RS"
TOKEN = "Gx8D3sq2-very-long-bearer-token-value"


def test_passwords_secrets_and_tokens_are_redacted_and_the_rest_kept() -> None:
    exchange = Exchange(
        "POST",
        "/api/v1/enrollment/device",
        200,
        request_body={"email": "a@b.test", "password": "hunter2-hunter2"},
        body={
            "token": TOKEN,
            "next": "done",
            "otpauth_uri": URI,
            "manual_key": "JBSW Y3DP EHPK 3PXP",
            "qr_png_base64": "iVBORw0KGgo" * 50,
            "items": [{"token": TOKEN}],
        },
    )
    evidence = exchange.evidence()
    text = json.dumps(evidence)
    for leaked in ("hunter2", "JBSWY3DP", "JBSW Y3DP", TOKEN, "iVBORw0KGgoiVBOR"):
        assert leaked not in text
    assert evidence["request"]["email"] == "a@b.test"
    response = evidence["response"]
    assert response["next"] == "done"
    assert response["token"].startswith(TOKEN[:6])  # tokens can still be told apart
    assert response["otpauth_uri"].startswith("otpauth://totp/RS:a%40b.test?secret=<redacted>&")
    assert response["otpauth_uri"].endswith("&issuer=RS")
    assert response["items"][0]["token"] != TOKEN
    # The exchange itself is untouched: checks read the real answer.
    assert exchange.body["token"] == TOKEN
