"""Each built-in profile, measured through each adapter, shows exactly its declared quirks.

The declared matrix comes from the profile's fields alone (``declared_verdict``);
the measured one from the simulated device behind the JSON-lines process
(every case), the command template (one process per code, so a subset: the
baseline and every single-dimension case on which some profile declares
something other than compatible) and the in-process profile adapter.
"""

from __future__ import annotations

import shlex
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from conformance.vendor.adapters import CommandTemplateAdapter, JsonLinesAdapter, ProfileAdapter
from conformance.vendor.cases import ALL_CASES, Case
from conformance.vendor.declared import declared_matrix, declared_verdict
from conformance.vendor.runner import run_cases
from simulators.profiles import PROFILES

PY = shlex.quote(sys.executable)
TEMPLATE = (
    f"{PY} -m simulators.vendor_process --profile {{profile}} --once --uri {{uri}} --key {{key}} "
    "--algorithm {algorithm} --digits {digits} --period {period} --time {time}"
)
SINGLE_DIMENSION = ("baseline", "algorithm", "digits", "period", "secret", "uri", "provisioning")
#: URI matrix rows through the command template: the 1-digit/120 s row, a padded secret,
#: SHA-2, no secret, an HOTP URI (the counter's code) and spaces in the secret.
TEMPLATE_ROWS = ("M18", "M09", "M14", "M07", "M26", "M11")


def template_subset() -> list[Case]:
    """The baseline, each single-dimension case some profile declares a quirk for, some rows."""
    return [
        case
        for case in ALL_CASES
        if case.family == "baseline"
        or (
            case.family in SINGLE_DIMENSION
            and any(declared_verdict(p, case) != "compatible" for p in PROFILES.values())
        )
        or case.id in {f"dialect-{row}" for row in TEMPLATE_ROWS}
    ]


def measured(adapter: object, cases: list[Case]) -> dict[str, str]:
    run = run_cases(adapter, cases, timeout=20)  # type: ignore[arg-type]
    return {r.case.id: r.verdict for r in run.results}


def test_the_declared_matrices_tell_the_profiles_apart() -> None:
    # Without this, "measured == declared" could pass for a harness that notices nothing.
    matrices = {name: declared_matrix(p, list(ALL_CASES)) for name, p in PROFILES.items()}
    verdicts = Counter(v for m in matrices.values() for v in m.values())
    assert {"compatible", "silently_wrong", "refused"} <= set(verdicts)
    quirky = [name for name, m in matrices.items() if set(m.values()) != {"compatible"}]
    assert len(quirky) >= 7
    reference = matrices["rfc-reference"]
    assert {v for case_id, v in reference.items() if "dialect" not in case_id} == {"compatible"}
    # On the URI matrix, the reference refuses only what some dialect lets it refuse.
    for case in ALL_CASES:
        if reference[case.id] != "compatible":
            assert reference[case.id] == "refused"
            assert getattr(case, "refusal_conforms", False), case.id
    subset = template_subset()
    assert len({tuple(declared_matrix(p, subset).values()) for p in PROFILES.values()}) >= 7
    assert {f"dialect-{row}" for row in TEMPLATE_ROWS} <= {c.id for c in subset}
    # The family tells the profiles apart on its own, all three verdicts included.
    rows = [c for c in ALL_CASES if c.family == "uri-dialects"]
    row_matrices = {tuple(declared_matrix(p, rows).values()) for p in PROFILES.values()}
    assert len(row_matrices) >= 7
    assert {v for m in row_matrices for v in m} == {"compatible", "silently_wrong", "refused"}


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_jsonl_adapter_measures_the_declared_matrix(name: str) -> None:
    adapter = JsonLinesAdapter(
        [sys.executable, "-m", "simulators.vendor_process", "--profile", name]
    )
    cases = list(ALL_CASES)
    assert measured(adapter, cases) == declared_matrix(PROFILES[name], cases)
    assert adapter.restarts == 0


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_profile_adapter_measures_the_declared_matrix(name: str) -> None:
    cases = list(ALL_CASES)
    assert measured(ProfileAdapter(name), cases) == declared_matrix(PROFILES[name], cases)


@pytest.mark.slow
def test_command_template_adapter_measures_the_declared_matrix_of_every_profile() -> None:
    cases = template_subset()

    def one(name: str) -> tuple[str, dict[str, str], dict[str, str]]:
        adapter = CommandTemplateAdapter(TEMPLATE.replace("{profile}", name))
        return name, measured(adapter, cases), declared_matrix(PROFILES[name], cases)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(one, sorted(PROFILES)))
    differing = {name: (got, want) for name, got, want in results if got != want}
    assert not differing
    assert len(results) == len(PROFILES)
