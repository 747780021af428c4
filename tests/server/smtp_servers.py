"""Real SMTP servers for the deployment tests: aiosmtpd with STARTTLS, implicit TLS, AUTH.

A throwaway certificate authority signs a certificate for 127.0.0.1; the
server under test trusts it through ``SMTP_CA_FILE`` (or ``ca_file=``).
"""

from __future__ import annotations

import asyncio
import datetime
import ssl
import warnings
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import default as default_policy
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

USER = "mailer@example.com"
PASSWORD = "smtp-test-password"


@dataclass(frozen=True)
class Certificate:
    """A CA file to trust and the server's certificate chain and key."""

    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def make_certificate(folder: Path, common_name: str = "twofa test CA") -> Certificate:
    """A CA and a certificate for 127.0.0.1 and localhost it signed, valid for a day."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(IPv4Address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    paths = Certificate(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    paths.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


@dataclass(frozen=True)
class Received:
    """One message and how it came: over TLS or not, authenticated as whom."""

    to: tuple[str, ...]
    subject: str
    body: str
    tls: bool
    login: str | None


class RecordingSmtp(Controller):
    """aiosmtpd on 127.0.0.1 and a free port that keeps what it receives.

    ``mode``: ``starttls`` (STARTTLS required before MAIL and AUTH), ``tls``
    (implicit TLS from the first byte) or ``none``. ``auth``: AUTH required,
    with ``USER``/``PASSWORD``.
    """

    def __init__(self, mode: str, certificate: Certificate | None, *, auth: bool) -> None:
        self.received: list[Received] = []
        self.refused_logins = 0
        options: dict[str, Any] = {}
        if mode == "starttls":
            assert certificate is not None
            options.update(tls_context=certificate.server_context(), require_starttls=True)
        elif mode == "tls":
            assert certificate is not None
            options["ssl_context"] = certificate.server_context()
        if auth:
            # aiosmtpd tells only STARTTLS apart as TLS; implicit TLS is TLS from the start.
            options.update(
                auth_required=True, auth_require_tls=mode == "starttls", authenticator=self._check
            )
        super().__init__(self, hostname="127.0.0.1", port=0, **options)

    def _check(
        self, _server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword) and (data.login, data.password) == (
            USER.encode(),
            PASSWORD.encode(),
        ):
            return AuthResult(success=True, auth_data=USER)
        self.refused_logins += 1
        return AuthResult(success=False, handled=False)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = BytesParser(policy=default_policy).parsebytes(envelope.content)
        part = message.get_body(preferencelist=("plain",))
        tls = server.transport.get_extra_info("ssl_object") is not None
        self.received.append(
            Received(
                to=tuple(envelope.rcpt_tos),
                subject=str(message.get("Subject", "")),
                body=part.get_content() if part is not None else "",
                tls=tls,
                login=session.auth_data if session.authenticated else None,
            )
        )
        return "250 Message accepted for delivery"

    def factory(self) -> Any:
        # With implicit TLS, AUTH without "TLS required" is not the risk aiosmtpd warns of.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
            return super().factory()

    def _trigger_server(self) -> None:
        # aiosmtpd probes self.port: with port 0, read the bound port first.
        if self.port == 0 and isinstance(self.server, asyncio.Server):
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]
