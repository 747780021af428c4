"""The services every request reads, built once per app by ``create_app``.

A module of its own (flaskr's layering): the flow, the blueprints and the
pages take their dependencies from here, and nothing imports the app factory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from .clock import ServerClock
from .mail import Mailer, ReceivedMail
from .models import CapturedMail
from .policy import Policy
from .rules import Rules
from .security import Passwords, SecretBox
from .seed import load_seed


@dataclass
class Services:
    """What request handlers need, built once per app."""

    engine: Engine
    sessions: sessionmaker[Session]
    clock: ServerClock
    policy: Policy
    passwords: Passwords
    box: SecretBox
    mailer: Mailer | None
    harness: bool
    #: Every decision point (``rules.py``): the reference server's, or a mutant's.
    rules: Rules = field(default_factory=Rules)

    def load_seed(self, db: Session, seed: dict[str, Any]) -> dict[str, Any]:
        """Empty every table and load ``seed`` (validated) with this app's clock, password
        hashing, policy and gating; the seed with its ids (``seed.load_seed``)."""
        return load_seed(
            db,
            seed,
            now=self.clock.now(),
            passwords=self.passwords,
            policy=self.policy,
            gating=self.rules.gating,
        )

    def capture(self, mail: ReceivedMail) -> None:
        """Store a message the embedded SMTP server received (harness mailbox)."""
        with self.sessions.begin() as db:
            db.add(
                CapturedMail(
                    to=mail.to,
                    subject=mail.subject,
                    body=mail.body,
                    code=mail.code,
                    received_at=self.clock.now(),
                )
            )


def services() -> Services:
    """The ``Services`` of the app handling the current request."""
    found: Services = current_app.extensions["twofa"]
    return found
