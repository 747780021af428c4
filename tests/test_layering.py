"""The import-linter contracts name every module of the reference server.

Two contracts list the server's modules one by one (a forbidden contract
cannot say "all but the factory"); a module added later and left out of a
list would be free to import the faults or the app factory. This keeps the
lists whole.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[1]
PACKAGE = ROOT / "reference_server"


def server_modules() -> set[str]:
    """Every top-level module and subpackage of ``reference_server``."""
    found = {f"reference_server.{p.stem}" for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    found |= {
        f"reference_server.{p.name}" for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()
    }
    return found


def contract(name_start: str) -> dict[str, object]:
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
        "contracts"
    ]
    [found] = [c for c in contracts if c["name"].startswith(name_start)]
    return found


def test_every_module_but_the_factory_is_kept_from_the_faults() -> None:
    faults = contract("the deliberate faults are loaded by the app factory alone")
    instruments = {"reference_server.faults", "reference_server.crashes"}
    assert set(faults["forbidden_modules"]) == instruments
    expected = server_modules() - {"reference_server.app"} - instruments
    assert set(faults["source_modules"]) == expected


def test_no_module_may_import_the_app_factory() -> None:
    factory = contract("no module of the reference server imports the app factory")
    expected = server_modules() - {"reference_server.app", "reference_server.__main__"}
    assert set(factory["source_modules"]) == expected
