"""Stored state: agents, device groups, TOTP devices, tokens, enrollments, mail.

Secrets never sit here in the clear: passwords are argon2id hashes, TOTP
secrets are Fernet ciphertext (the key lives outside the database), tokens and
email codes are stored as keyed hashes.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of every table of the reference server."""


class Setting(Base):
    """Account-wide settings: one row (id 1)."""

    __tablename__ = "settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    two_factor_required: Mapped[bool] = mapped_column(Boolean, default=False)


class Agent(Base):
    """A person who signs in: a seat (which decides whether 2FA applies) and a role."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True, index=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    seat: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[float] = mapped_column(Float)
    #: Consecutive wrong second-factor codes, across every session of the agent.
    otp_failures: Mapped[int] = mapped_column(Integer, default=0)
    otp_locked_until: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: Set when the consecutive failures reach the hard limit (NIST: at most 100).
    otp_disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    #: When the last verification email went out (resend cooldown, per agent).
    last_email_sent_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class DeviceGroup(Base):
    """Desktop clients grouped by the version and build they are set to."""

    __tablename__ = "device_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(21))
    build: Mapped[int] = mapped_column(Integer)


class Device(Base):
    """A bound authenticator: its secret (encrypted), parameters and verification state."""

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    #: ``active`` (the one that signs in) or ``retired`` (replaced by re-enrollment).
    status: Mapped[str] = mapped_column(String(16))
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    algorithm: Mapped[str] = mapped_column(String(8))
    digits: Mapped[int] = mapped_column(Integer)
    period: Mapped[int] = mapped_column(Integer)
    enrolled_at: Mapped[float] = mapped_column(Float)
    retired_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: The last accepted time step (RFC 6238 §5.2: no step at or before it is accepted).
    last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    #: Recorded clock drift in steps (RFC 6238 §6), bounded by the policy.
    drift: Mapped[int] = mapped_column(Integer, default=0)


class Enrollment(Base):
    """One run through the enrollment wizard: email code, then a pending secret."""

    __tablename__ = "enrollments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("tokens.id"), index=True)
    #: ``verify_email`` → ``connect_device`` → ``confirmed``; or ``abandoned``.
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[float] = mapped_column(Float)
    email_code_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    email_code_expires_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    email_attempts: Mapped[int] = mapped_column(Integer, default=0)
    secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    algorithm: Mapped[str] = mapped_column(String(8))
    digits: Mapped[int] = mapped_column(Integer)
    period: Mapped[int] = mapped_column(Integer)


class EmailCodeFailure(Base):
    """One wrong email verification code: the account's budget counts these over a day."""

    __tablename__ = "email_code_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    failed_at: Mapped[float] = mapped_column(Float, index=True)


class SignInFailures(Base):
    """Wrong passwords by the email address submitted, whether or not an account has it.

    Keyed by the normalised address, so an unknown address counts and locks exactly
    like a known one: sign-in's answers never tell whether an account exists.
    """

    __tablename__ = "sign_in_failures"

    identifier: Mapped[str] = mapped_column(String(254), primary_key=True)
    #: Consecutive wrong passwords since the last success or lock.
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[float] = mapped_column(Float, index=True)
    locked_until: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: When a lock was last mailed to the account's owner (at most one mail a day).
    notified_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class Notice(Base):
    """A security notice to an agent (a device bound, a lock), queued in the transaction
    of the event and handed to SMTP once the response is sent (an outbox)."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    to: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    queued_at: Mapped[float] = mapped_column(Float)
    #: ``pending`` → ``sending`` → ``sent``; back to ``pending`` when SMTP refused it;
    #: ``failed`` after ``notices.MAX_ATTEMPTS`` refusals.
    status: Mapped[str] = mapped_column(String(8), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    sent_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class Token(Base):
    """A bearer token, stored as the SHA-256 of its value."""

    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    #: ``partial`` (bound to a stage of sign-in or enrollment) or ``full``.
    kind: Mapped[str] = mapped_column(String(8))
    stage: Mapped[str] = mapped_column(String(16))
    #: Whether this token was earned with a second factor (TOTP or a setup code).
    second_factor: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)
    ended_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class SupportSession(Base):
    """A remote support session an agent hosts."""

    __tablename__ = "support_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    join_code: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[float] = mapped_column(Float)


class CapturedMail(Base):
    """A message the embedded SMTP server received (served by the harness mailbox)."""

    __tablename__ = "captured_mail"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    to: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    received_at: Mapped[float] = mapped_column(Float)


class HarnessClock(Base):
    """The harness clock every worker process reads (harness mode): one row, id 1.

    A time the harness set (the clock stands still there); no row, or null, is real time.
    """

    __tablename__ = "harness_clock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fixed_at: Mapped[float | None] = mapped_column(Float(precision=53), nullable=True)
