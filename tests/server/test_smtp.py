"""The SMTP client against real servers: STARTTLS, implicit TLS, credentials, refusals.

A message goes out only over what was configured: with ``starttls`` a server
that offers no STARTTLS, or a certificate nobody vouches for, gets nothing,
and credentials never cross a clear connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reference_server.mail import Mailer, MailError

from .smtp_servers import PASSWORD, USER, Certificate, RecordingSmtp, make_certificate

SENDER = "Remote Support <no-reply@deploy.test>"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def smtp(request: pytest.FixtureRequest, certificate: Certificate) -> Iterator[RecordingSmtp]:
    mode, auth = request.param
    server = RecordingSmtp(mode, certificate if mode != "none" else None, auth=auth)
    server.start()
    yield server
    server.stop()


def mailer(server: RecordingSmtp, tls: str, certificate: Certificate, **options: str) -> Mailer:
    return Mailer(
        "127.0.0.1",
        server.port,
        SENDER,
        tls=tls,
        ca_file=str(certificate.ca_file),
        username=options.get("username"),
        password=options.get("password"),
    )


@pytest.mark.parametrize(
    ("smtp", "tls"),
    [(("starttls", True), "starttls"), (("tls", True), "tls")],
    indirect=["smtp"],
)
def test_mail_goes_over_tls_with_credentials(
    smtp: RecordingSmtp, tls: str, certificate: Certificate
) -> None:
    mailer(smtp, tls, certificate, username=USER, password=PASSWORD).send(
        "agent@example.com", "Your code", "Your code is 123456."
    )
    [received] = smtp.received
    assert received.to == ("agent@example.com",)
    assert received.subject == "Your code"
    assert "123456" in received.body
    assert received.tls
    assert received.login == USER


@pytest.mark.parametrize("smtp", [("starttls", True)], indirect=True)
def test_a_wrong_password_is_a_mail_error(smtp: RecordingSmtp, certificate: Certificate) -> None:
    with pytest.raises(MailError):
        mailer(smtp, "starttls", certificate, username=USER, password="wrong").send(
            "agent@example.com", "Your code", "123456"
        )
    assert smtp.received == []
    assert smtp.refused_logins >= 1  # smtplib tries each mechanism the server offers


@pytest.mark.parametrize("smtp", [("none", False)], indirect=True)
def test_starttls_is_never_skipped_when_the_server_lacks_it(
    smtp: RecordingSmtp, certificate: Certificate
) -> None:
    with pytest.raises(MailError):
        mailer(smtp, "starttls", certificate, username=USER, password=PASSWORD).send(
            "agent@example.com", "Your code", "123456"
        )
    assert smtp.received == []
    # the same server with tls "none" (a local relay, no credentials) takes it
    mailer(smtp, "none", certificate).send("agent@example.com", "Your code", "123456")
    assert [m.tls for m in smtp.received] == [False]


@pytest.mark.parametrize("smtp", [("starttls", False), ("tls", False)], indirect=True)
def test_a_certificate_from_an_unknown_authority_is_refused(
    smtp: RecordingSmtp, tmp_path: Path
) -> None:
    stranger = make_certificate(tmp_path / "other-ca", common_name="another CA")
    tls = "tls" if smtp.ssl_context is not None else "starttls"
    with pytest.raises(MailError):
        mailer(smtp, tls, stranger).send("agent@example.com", "Your code", "123456")
    assert smtp.received == []


def test_an_unknown_tls_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="starttls, tls, none"):
        Mailer("127.0.0.1", 25, SENDER, tls="ssl")
