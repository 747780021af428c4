"""Where the real peers live: their set-up files (``peers/``) and environments (``.peers/``).

``make peers`` (``peers/install.sh``) installs Debian's PAM modules,
``pamtester`` and ``faketime``, and one virtual environment per Python peer
under ``.peers/`` (ignored by git). The host apps and set-up files the
drivers start are in ``peers/``; they run in the peers' own environments and
nothing of the harness imports them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Final

#: The checkout the harness runs from (an editable install: ``make`` sets it up so).
CHECKOUT: Final = Path(__file__).resolve().parents[2]
#: The host apps and set-up files.
PEERS_DIR: Final = CHECKOUT / "peers"
#: One line every "not installed" message ends with.
REMEDY: Final = "run 'make peers'"


def environments_dir() -> Path:
    """The folder of the peers' virtual environments (``TWOFA_PEERS_HOME`` overrides)."""
    configured = os.environ.get("TWOFA_PEERS_HOME")
    return Path(configured) if configured else CHECKOUT / ".peers"


def environment(name: str) -> Path:
    """The virtual environment of one Python peer (``.peers/NAME``)."""
    return environments_dir() / name


def peer_python(name: str) -> Path:
    return environment(name) / "bin" / "python"


def missing_environment(name: str, what: str) -> str | None:
    """None when the peer's environment is installed; else the line that says what to do."""
    if not PEERS_DIR.is_dir():
        return f"{what} needs the peers/ folder of a twofa-harness checkout ({PEERS_DIR})"
    stamp = environment(name) / ".installed"
    if not stamp.is_file():
        return f"{what} is not installed in {environment(name)}: {REMEDY}"
    return None


def missing_commands(*commands: str, what: str) -> str | None:
    """None when every command is on PATH; else which are missing and the remedy."""
    absent = [c for c in commands if shutil.which(c) is None]
    if absent:
        return f"{what} needs {', '.join(absent)}, not installed: {REMEDY}"
    return None
