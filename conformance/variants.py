"""``twofa run --variants``: the suite at every TOTP parameter set a target can be set to.

``--variants all`` runs each target at every algorithm/digits/period combination its
driver can set it to (``Driver.variants``; the reference server: SHA1, SHA256 and SHA512
x 6, 7 and 8 digits x 30 and 60 s), ``--variants SHA256-8-60,SHA1-6-30`` at those. Each
variant is a target of its own in the run (``embedded[SHA256-8-60]``), so every report
has it as its own test cases: the target x check matrix, a JUnit suite each, its own
measured-vs-declared table. A target whose driver has no variants runs once at its own
parameters under ``all``, and is refused (exit 2) when variants are named.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

from conformance.drivers import TargetSpec, variant_label
from conformance.drivers.seam import OptionError, TotpParameters

_ONE: Final = re.compile(r"^(SHA1|SHA256|SHA512)[-/](\d{1,2})[-/](\d{1,3})$", re.IGNORECASE)


class VariantError(ValueError):
    """An unusable ``--variants``: one line saying what would do."""


def parse_variants(text: str) -> list[TotpParameters] | None:
    """``all`` (None: every variant of each target) or a list like ``SHA256-8-60,SHA1-6-30``."""
    if text.strip().lower() == "all":
        return None
    found: list[TotpParameters] = []
    for part in (p.strip() for p in text.split(",")):
        match = _ONE.match(part)
        if match is None:
            raise VariantError(
                f"--variants {part!r}: give ALGORITHM-DIGITS-PERIOD (e.g. SHA256-8-60), a "
                "comma-separated list of them, or all"
            )
        variant = TotpParameters(match.group(1).upper(), int(match.group(2)), int(match.group(3)))
        if variant not in found:
            found.append(variant)
    return found


@dataclass(frozen=True)
class Expanded:
    """The run's targets, one per target and variant, with their options; and what to say."""

    specs: list[TargetSpec]
    options: dict[str, dict[str, str]]
    notes: list[str]


def expand(
    specs: list[TargetSpec],
    options: dict[str, dict[str, str]],
    wanted: list[TotpParameters] | None,
    workdir: Path,
) -> Expanded:
    """Each target once per variant (``wanted``, or all of its driver's when None)."""
    out: list[TargetSpec] = []
    given: dict[str, dict[str, str]] = {}
    notes: list[str] = []
    for spec in specs:
        supported = spec.driver.variants if spec.url is None else ()
        if not supported:
            if wanted is not None:
                raise VariantError(
                    f"target {spec.name!r} cannot be set to other TOTP parameters "
                    f"(its driver has no variants{'; it is a server at a URL' if spec.url else ''})"
                )
            notes.append(f"{spec.name} has no variants: it runs at its own parameters")
            out.append(spec)
            given[spec.name] = options[spec.name]
            continue
        chosen = supported if wanted is None else wanted
        for variant in chosen:
            if variant not in supported:
                shown = ", ".join(variant_label(v) for v in supported)
                raise VariantError(
                    f"target {spec.name!r} cannot be set to {variant_label(variant)} "
                    f"(its variants: {shown})"
                )
            each = replace(spec, variant=variant)
            try:
                given[each.name] = spec.driver.variant_options(
                    variant, options[spec.name], workdir / "variants" / spec.driver.name
                )
            except OptionError as exc:
                raise VariantError(str(exc)) from None
            out.append(each)
    return Expanded(out, given, notes)
