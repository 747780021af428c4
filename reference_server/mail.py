"""Email: a real SMTP client, and the embedded SMTP server that captures mail.

The server sends verification emails with ``smtplib`` to whatever SMTP host is
configured. Without one, ``serve`` starts ``EmbeddedSmtp`` (aiosmtpd on
loopback); what it receives goes to a ``deliver`` callback, which the app
points at its database so the harness mailbox can serve it.
"""

from __future__ import annotations

import asyncio
import logging
import re
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from typing import Any, Final

from aiosmtpd.controller import Controller

#: A 6-digit code in a mail body: ASCII digits only.
_CODE: Final = re.compile(r"(?<![0-9])([0-9]{6})(?![0-9])", re.ASCII)


@dataclass(frozen=True)
class ReceivedMail:
    """One message as the embedded SMTP server received it."""

    to: str
    subject: str
    body: str

    @property
    def code(self) -> str | None:
        """The 6-digit code the mail carries, if any."""
        match = _CODE.search(self.body)
        return match[1] if match else None


class MailError(RuntimeError):
    """Raised when the SMTP server cannot take a message."""


#: How the SMTP connection is protected: STARTTLS, implicit TLS (SMTPS), or not at all.
TLS_MODES: Final = ("starttls", "tls", "none")
#: The usual port of each mode (RFC 6409 submission, RFC 8314 implicit TLS, SMTP relay).
DEFAULT_PORTS: Final = {"starttls": 587, "tls": 465, "none": 25}


class Mailer:
    """Sends plain-text mail over SMTP: STARTTLS or implicit TLS (certificate checked), or clear.

    With ``tls="starttls"`` a server that does not offer STARTTLS is refused
    (the mail is not sent in the clear); credentials, when given, are sent only
    after TLS is up, or over a clear connection to the embedded sink (never
    configured with credentials).
    """

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        timeout: float = 10.0,
        *,
        tls: str = "none",
        username: str | None = None,
        password: str | None = None,
        ca_file: str | None = None,
    ) -> None:
        if tls not in TLS_MODES:
            raise ValueError(f"SMTP TLS mode must be one of {', '.join(TLS_MODES)}, not {tls!r}")
        self.host = host
        self.port = port
        self.sender = sender
        self.timeout = timeout
        self.tls = tls
        self.username = username
        self._password = password
        self._ca_file = ca_file

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self._ca_file)

    def _connect(self) -> smtplib.SMTP:
        if self.tls == "tls":
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self._context()
            )
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.tls == "starttls":
            try:
                smtp.starttls(context=self._context())
            except BaseException:
                smtp.close()
                raise
        return smtp

    def send(self, to: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        try:
            with self._connect() as smtp:
                if self.username is not None:
                    smtp.login(self.username, self._password or "")
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(f"SMTP {self.host}:{self.port} refused the message") from exc

    def describe(self) -> str:
        """``host:port (tls, as user)``: no password."""
        user = f", as {self.username}" if self.username else ""
        return f"{self.host}:{self.port} ({self.tls}{user})"


class _CaptureHandler:
    """aiosmtpd handler: parse each message and hand it to ``deliver``."""

    def __init__(self, sink: EmbeddedSmtp) -> None:
        self._sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = BytesParser(policy=default_policy).parsebytes(envelope.content)
        body_part = message.get_body(preferencelist=("plain",))
        body = body_part.get_content() if body_part is not None else ""
        subject = str(message.get("Subject", ""))
        for recipient in envelope.rcpt_tos:
            self._sink.deliver(ReceivedMail(to=recipient, subject=subject, body=body))
        return "250 Message accepted for delivery"


def _discard(mail: ReceivedMail) -> None:
    """Default delivery: drop the message (nothing reads it yet)."""


class EmbeddedSmtp(Controller):
    """aiosmtpd on loopback that works with port 0.

    aiosmtpd's readiness probe connects to ``self.port``; with port 0 it would
    connect to port 0 and fail, so read the bound port before the probe.
    """

    def __init__(self, hostname: str = "127.0.0.1", port: int = 0) -> None:
        # aiosmtpd logs every DATA line at DEBUG: that would put codes in the log.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self.deliver: Callable[[ReceivedMail], None] = _discard
        super().__init__(_CaptureHandler(self), hostname=hostname, port=port)

    def _trigger_server(self) -> None:
        if self.port == 0 and isinstance(self.server, asyncio.Server):
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]

    @property
    def endpoint(self) -> tuple[str, int]:
        return (self.hostname, self.port)
