"""Target drivers: the servers ``twofa run --target`` can judge, and how a target is named.

``--target`` takes

- ``embedded`` (or ``reference``): the reference server, started by the harness;
- ``URL`` (or ``reference+URL``): any server of the v1 contract;
- ``NAME``: a shipped driver (``twofa targets`` lists them), its peer started by the harness;
- ``NAME+URL``: that driver against a server the harness did not start (real time);
- ``FILE.py[:CLASS]`` or ``MODULE:CLASS``: a team's own driver (``docs/targets.md``).

Drivers are imported only when used: each peer's driver lives in a module of
its own, and listing them costs nothing.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from conformance.drivers.seam import (
    Capability,
    Driver,
    DriverError,
    NotInstalled,
    OptionError,
    TotpParameters,
)

#: Shipped drivers: name → "module:class" (imported on use).
SHIPPED: Final[dict[str, str]] = {
    "embedded": "conformance.drivers.reference:ReferenceDriver",
    "privacyidea": "conformance.drivers.privacyidea:PrivacyIdeaDriver",
    "pam-google-authenticator": "conformance.drivers.pam:GoogleAuthenticatorDriver",
    "pam-oath": "conformance.drivers.pam:PamOathDriver",
    "django-otp": "conformance.drivers.django_otp:DjangoOtpDriver",
    "flask-security": "conformance.drivers.flask_security:FlaskSecurityDriver",
}
#: Other names the reference server answers to.
ALIASES: Final = {"reference": "embedded"}

_URL: Final = re.compile(r"^https?://", re.IGNORECASE)
_MODULE_CLASS: Final = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


class TargetSpecError(ValueError):
    """A ``--target`` value that names no driver; the message says what would."""


def load_driver(reference: str) -> type[Driver]:
    """The driver class a "module:class" or "FILE.py[:class]" reference names."""
    where, _, attribute = reference.partition(":")
    if where.endswith(".py"):
        path = Path(where)
        if not path.is_file():
            raise TargetSpecError(f"no driver file {where}")
        spec = importlib.util.spec_from_file_location(f"twofa_driver_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise TargetSpecError(f"cannot load the driver file {where}")
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise TargetSpecError(f"{where}: {type(exc).__name__}: {exc}") from exc
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as exc:
            raise TargetSpecError(f"cannot import the driver module {where}: {exc}") from exc
    if attribute:
        found = getattr(module, attribute, None)
        if not (inspect.isclass(found) and issubclass(found, Driver)):
            raise TargetSpecError(f"{reference}: {attribute} is not a Driver subclass")
        return found
    classes = [
        value
        for value in vars(module).values()
        if inspect.isclass(value)
        and issubclass(value, Driver)
        and value.__module__ == module.__name__
        and not inspect.isabstract(value)
    ]
    if len(classes) != 1:
        raise TargetSpecError(
            f"{where} defines {len(classes)} Driver classes: name one as {where}:CLASS"
        )
    return classes[0]


def shipped_driver(name: str) -> type[Driver]:
    return load_driver(SHIPPED[ALIASES.get(name, name)])


@dataclass(frozen=True)
class TargetSpec:
    """One ``--target`` value, resolved to a driver class (nothing started yet)."""

    text: str
    driver: type[Driver]
    #: The server's URL when the harness does not start it.
    url: str | None = None
    #: The TOTP parameters the harness sets the target to (``--variants``); None: its own.
    variant: TotpParameters | None = None

    @property
    def name(self) -> str:
        """The target's name in the report: the driver's, or the URL of a v1 server; a
        variant's parameters after it (``embedded[SHA256-8-60]``)."""
        if self.url is not None and self.driver.name == "embedded":
            base = self.url
        elif self.url is not None:
            base = f"{self.driver.name}+{self.url}"
        else:
            base = self.driver.name
        return base if self.variant is None else f"{base}[{variant_label(self.variant)}]"

    @property
    def real_time(self) -> bool:
        return self.url is not None and self.driver.name != "embedded"

    def missing(self) -> str | None:
        """What is missing here to start this target (None when it can start)."""
        if self.url is not None:
            return None
        return self.driver.missing()


def variant_label(variant: TotpParameters) -> str:
    """``SHA256-8-60``: a variant as ``--variants`` and the report name it."""
    return f"{variant.algorithm}-{variant.digits}-{variant.period}"


def parse_target(text: str) -> TargetSpec:
    """Resolve a ``--target`` value; ``TargetSpecError`` names what would work."""
    text = text.strip()
    if _URL.match(text):
        return TargetSpec(text, shipped_driver("embedded"), text.rstrip("/"))
    name, plus, url = text.partition("+")
    if plus and _URL.match(url):
        canonical = ALIASES.get(name, name)
        if canonical not in SHIPPED:
            raise TargetSpecError(_unknown(name))
        driver = shipped_driver(canonical)
        if not driver.reaches_urls:
            raise TargetSpecError(
                f"target {canonical!r} cannot be reached at a URL: the harness starts it itself "
                f"(use --target {canonical})"
            )
        return TargetSpec(text, driver, url.rstrip("/"))
    if text.endswith(".py") or ".py:" in text or _MODULE_CLASS.match(text):
        return TargetSpec(text, load_driver(text))
    canonical = ALIASES.get(text, text)
    if canonical not in SHIPPED:
        raise TargetSpecError(_unknown(text))
    return TargetSpec(text, shipped_driver(canonical))


def _unknown(name: str) -> str:
    names = ", ".join(SHIPPED)
    return (
        f"unknown target {name!r}: give one of {names}, a URL (http://HOST:PORT), NAME+URL, "
        "or FILE.py[:CLASS] (see 'twofa targets')"
    )


def split_options(
    pairs: tuple[str, ...] | list[str], specs: list[TargetSpec]
) -> dict[str, dict[str, str]]:
    """``--target-option`` values per target name.

    ``NAME=VALUE`` applies to every target with an option of that name;
    ``TARGET:NAME=VALUE`` to that target only. An option no target has, or a
    pair without ``=``, is an ``OptionError``.
    """
    given: dict[str, dict[str, str]] = {spec.name: {} for spec in specs}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key.strip():
            raise OptionError(f"--target-option {pair!r}: expected NAME=VALUE")
        scope, colon, option = key.rpartition(":")
        chosen = [s for s in specs if s.name == scope or s.text == scope] if colon else specs
        if colon and not chosen:
            raise OptionError(f"--target-option {pair!r}: no target named {scope!r} in this run")
        option = option.strip()
        takers = [s for s in chosen if option in {o.name for o in s.driver.options}]
        if not takers:
            known = {s.name: ", ".join(o.name for o in s.driver.options) or "none" for s in chosen}
            listed = "; ".join(f"{n}: {o}" for n, o in known.items())
            raise OptionError(f"--target-option {option!r}: no target takes it ({listed})")
        for spec in takers:
            given[spec.name][option] = value
    return given


def open_target(spec: TargetSpec, options: dict[str, str], workdir: Path) -> Driver:
    """Start (or reach) the target: its driver with parsed settings, in ``workdir``."""
    settings = spec.driver.parse_options(options)
    if spec.url is None:
        missing = spec.driver.missing()
        if missing is not None:
            raise NotInstalled(missing)
    workdir.mkdir(parents=True, exist_ok=True)
    driver = spec.driver(settings, workdir, url=spec.url)
    if spec.url is not None or spec.variant is not None:
        driver.name = spec.name  # the report keys the target by what --target (and --variants) said
    return driver


def describe_drivers() -> list[dict[str, Any]]:
    """Every shipped driver: name, title, capabilities, options, whether installed."""
    listed = []
    for name in SHIPPED:
        driver = shipped_driver(name)
        missing = driver.missing()
        listed.append(
            {
                "name": name,
                "title": driver.title,
                "capabilities": sorted(c.value for c in driver.provides),
                "real_time": driver.reaches_urls,
                "options": [
                    {"name": o.name, "default": o.default, "help": o.help} for o in driver.options
                ],
                "installed": missing is None,
                "missing": missing,
            }
        )
    return listed


__all__ = [
    "ALIASES",
    "SHIPPED",
    "Capability",
    "Driver",
    "DriverError",
    "NotInstalled",
    "OptionError",
    "TargetSpec",
    "TargetSpecError",
    "describe_drivers",
    "load_driver",
    "open_target",
    "parse_target",
    "split_options",
]
