"""Client and device-group versions: strict parsing and one way to compare them.

A client version is ``MAJOR.MINOR.BUILD`` (``4.3.1575``); a device group has a
``MAJOR.MINOR`` version string and an integer build. Only ASCII digits count:
no signs, spaces, leading '+', full-width or other Unicode digits. Versions
compare as the tuple (major, minor, build): the build number only decides
between equal major.minor versions, so 4.4 build 0 is newer than 4.3 build 1575
and 4.2 build 9999 is older.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

#: ASCII digits only (``\d`` would match Arabic-Indic and full-width digits too).
_NUMBER: Final = r"(0|[1-9][0-9]{0,8})"
#: The patterns (matched in full) that ``declarations`` publishes in the OpenAPI document.
CLIENT_VERSION_PATTERN: Final = rf"{_NUMBER}\.{_NUMBER}\.{_NUMBER}"
GROUP_VERSION_PATTERN: Final = rf"{_NUMBER}\.{_NUMBER}"
_CLIENT_VERSION: Final = re.compile(CLIENT_VERSION_PATTERN, re.ASCII)
_GROUP_VERSION: Final = re.compile(GROUP_VERSION_PATTERN, re.ASCII)

#: Builds are plain non-negative integers below this bound.
MAX_BUILD: Final = 10**9


class VersionError(ValueError):
    """Raised for a version string or build number that does not parse strictly."""


@dataclass(frozen=True, order=True)
class Version:
    """A (major, minor, build) triple; ordering is the tuple order."""

    major: int
    minor: int
    build: int

    @property
    def version(self) -> str:
        """The ``MAJOR.MINOR`` part, as device groups and the admin settings show it."""
        return f"{self.major}.{self.minor}"

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.build}"


def parse_client_version(text: str) -> Version:
    """Parse ``MAJOR.MINOR.BUILD`` strictly (ASCII digits, no leading zeros)."""
    match = _CLIENT_VERSION.fullmatch(text)
    if match is None:
        raise VersionError("the version must look like 4.3.1575 (ASCII digits only)")
    return Version(int(match[1]), int(match[2]), int(match[3]))


def parse_group_version(version: str, build: int) -> Version:
    """Parse a device group's ``MAJOR.MINOR`` string and integer build."""
    match = _GROUP_VERSION.fullmatch(version)
    if match is None:
        raise VersionError("the version must look like 4.3 (ASCII digits only)")
    if not 0 <= build < MAX_BUILD:
        raise VersionError(f"the build must be a whole number from 0 to {MAX_BUILD - 1}")
    return Version(int(match[1]), int(match[2]), build)
