"""The named authenticator adapters: real implementations installed here, and the app profiles.

``twofa check-authenticator --adapter NAME`` runs one, ``twofa adapters``
lists them. A real adapter (``kind="real"``) drives an implementation as a
process: ``oathtool`` and KeePassXC's CLI from Debian, npm ``otplib`` and
``speakeasy`` in one node process, PyPI ``pyotp`` and ``cryptography`` each in
a process and a virtual environment of its own (``make peers`` installs them;
``missing()`` says when one is not). A profile (``kind="profile"``) is a
built-in model of an app (``simulators.profiles``), named ``profile:NAME`` so a
model is never mistaken for the app itself.

Every adapter an entry builds takes any ``ProvisionRequest`` (a ``Case``, or
a real server's URI and key), so other commands can hand it accounts of
their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from conformance.vendor.adapters import (
    AdapterSetupError,
    Authenticator,
    ProfileAdapter,
    ProvisionRequest,
)
from conformance.vendor.authenticators import REAL_ADAPTERS
from simulators.profiles import PROFILES

#: The prefix of a profile's adapter name.
PROFILE_PREFIX = "profile:"


class UnknownAdapterError(KeyError):
    """No adapter has that name; the message lists the names there are."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class AdapterEntry:
    """One adapter ``--adapter NAME`` can run."""

    name: str
    title: str
    kind: Literal["real", "profile"]
    _missing: Callable[[], str | None] = field(repr=False, compare=False)
    _build: Callable[[], Authenticator] = field(repr=False, compare=False)

    def missing(self) -> str | None:
        """One line: what is not installed and the remedy; None when ready."""
        return self._missing()

    def build(self) -> Authenticator:
        """The adapter, started; ``AdapterSetupError`` with one clear line when it cannot be."""
        why = self.missing()
        if why is not None:
            raise AdapterSetupError(why)
        return self._build()


def _ready() -> str | None:
    return None


def _profile_entry(name: str) -> AdapterEntry:
    profile = PROFILES[name]
    return AdapterEntry(
        f"{PROFILE_PREFIX}{name}",
        f"{profile.title} (built-in profile, a model of public reports)",
        "profile",
        _ready,
        lambda: ProfileAdapter(name),
    )


def _real_entries() -> list[AdapterEntry]:
    return [
        AdapterEntry(spec.name, spec.title, "real", spec.missing, spec.build)
        for spec in REAL_ADAPTERS
    ]


def adapter_entries() -> list[AdapterEntry]:
    """Every adapter: the real ones first, then one per built-in profile."""
    return _real_entries() + [_profile_entry(name) for name in PROFILES]


def adapter_entry(name: str) -> AdapterEntry:
    """The adapter of that name; ``UnknownAdapterError`` lists the names there are."""
    entries = adapter_entries()
    for entry in entries:
        if entry.name == name:
            return entry
    known = ", ".join(e.name for e in entries)
    raise UnknownAdapterError(f"unknown adapter {name!r}; known adapters: {known}")


__all__ = [
    "PROFILE_PREFIX",
    "AdapterEntry",
    "Authenticator",
    "ProvisionRequest",
    "UnknownAdapterError",
    "adapter_entries",
    "adapter_entry",
]
