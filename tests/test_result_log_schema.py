"""The result log's JSON schema: generated from records/model.py, checked in, documented.

The writers' own logs are validated where their tests already write one (test_run_command,
test_replay_command, test_pytest_plugin, tests/vendor, test_records_redaction); here the
schema itself, the sample logs, and the reader and the schema refusing the same lines.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from records import model
from records.schema import COMMAND, main, text
from reports import ResultLogError, load_log
from tests.reports.records import (
    check_record,
    end_record,
    mixed_log,
    multi_target_log,
    run_record,
    write_log,
)
from tests.result_log import SCHEMA, assert_valid_log, validator

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "result-log.md"


def test_the_checked_in_schema_is_what_the_records_generate() -> None:
    current = SCHEMA.read_text(encoding="utf-8")
    assert current == text(), f"{SCHEMA} is stale: the records changed; run {COMMAND}"


def test_the_schema_command_checks_and_writes(tmp_path: Path) -> None:
    assert main(["--check", str(SCHEMA)]) == 0
    stale = tmp_path / "schema.json"
    stale.write_text("{}\n", encoding="utf-8")
    assert main(["--check", str(stale)]) == 1
    assert main(["--write", str(stale)]) == 0
    assert stale.read_text(encoding="utf-8") == current_schema()


def current_schema() -> str:
    return SCHEMA.read_text(encoding="utf-8")


def test_the_schema_is_one_union_over_the_record_kinds() -> None:
    schema = json.loads(current_schema())
    assert schema["discriminator"]["propertyName"] == "record"
    assert set(schema["discriminator"]["mapping"]) == set(model.KINDS)
    assert len(schema["oneOf"]) == len(model.KINDS)
    for kind in model.KINDS.values():
        assert "record" in schema["$defs"][kind.__name__]["required"]


@pytest.mark.parametrize(
    "log",
    [
        ROOT / "tests" / "reports" / "data" / "sample-results.jsonl",
        ROOT / "docs" / "targets-run.jsonl",
    ],
    ids=lambda p: p.name,
)
def test_the_checked_in_sample_logs_are_valid(log: Path) -> None:
    assert assert_valid_log(log) > 2
    load_log(log)


def test_the_built_sample_logs_are_valid(tmp_path: Path) -> None:
    (tmp_path / "mixed").mkdir()
    (tmp_path / "multi").mkdir()
    assert assert_valid_log(mixed_log(tmp_path / "mixed")) > 2
    assert assert_valid_log(multi_target_log(tmp_path / "multi")) > 2


_CHECK = check_record("x", "p", "passed")


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ({**_CHECK, "outcome": "great"}, "field 'outcome' is 'great'"),
        ({k: v for k, v in _CHECK.items() if k != "plan"}, "field 'plan' is missing"),
        ({**_CHECK, "duration_ms": "slow"}, "field 'duration_ms' must be a number"),
        ({**end_record([], []), "counts": {"passed": "1"}}, "'counts.passed' must be an integer"),
        ({**run_record(), "format": 2}, "field 'format' is 2, expected 1"),
    ],
)
def test_the_reader_and_the_schema_refuse_the_same_lines(
    tmp_path: Path, record: dict[str, Any], problem: str
) -> None:
    assert list(validator().iter_errors(record)), "the schema lets it through"
    first = [record] if record["record"] == "run" else [run_record(), record]
    path = write_log(tmp_path, first)
    with pytest.raises(ResultLogError) as info:
        load_log(path)
    assert info.value.line == len(first)
    assert str(info.value).startswith(f"{path} line {len(first)}: ")
    assert problem in str(info.value)


def test_unknown_fields_and_kinds_are_valid_and_read() -> None:
    assert not list(validator().iter_errors({**_CHECK, "new_field": [1, 2]}))
    assert not list(validator().iter_errors({**end_record([], []), "later": True}))


def _fields(kind: type[BaseModel], seen: set[type[BaseModel]]) -> set[str]:
    """Every field name of a record class and of the records inside it."""
    if kind in seen:
        return set()
    seen.add(kind)
    names = set(kind.model_fields)
    for field in kind.model_fields.values():
        for inner in re.findall(r"records\.model\.(\w+)", str(field.annotation)):
            nested = getattr(model, inner, None)
            if isinstance(nested, type) and issubclass(nested, BaseModel):
                names |= _fields(nested, seen)
    return names


def test_every_field_of_the_records_is_documented() -> None:
    words = DOC.read_text(encoding="utf-8")
    # Named in a table or the text (`steps[].outcome`), or shown in an example ("plan": ...).
    documented = set(re.findall(r"`(?:[a-z_]+\[\]\.)?([a-z_]+)`", words))
    documented |= set(re.findall(r'"([a-z_]+)":', words))
    seen: set[type[BaseModel]] = set()
    fields = set().union(*(_fields(kind, seen) for kind in model.KINDS.values()))
    assert fields - documented == set(), "fields of records/model.py not in docs/result-log.md"


def test_the_format_description_says_where_the_schema_is() -> None:
    words = DOC.read_text(encoding="utf-8")
    assert "result-log.schema.json" in words
    assert COMMAND in words
