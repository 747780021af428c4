"""Result logs checked against the checked-in JSON schema (docs/result-log.schema.json)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from jsonschema import Draft202012Validator

SCHEMA = Path(__file__).resolve().parents[1] / "docs" / "result-log.schema.json"


@cache
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def assert_valid_log(path: Path) -> int:
    """Every line of the log is valid by the schema; the number of lines checked."""
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, 1):
        errors = sorted(validator().iter_errors(json.loads(line)), key=str)
        assert not errors, f"{path} line {number}: {errors[0].message} at {errors[0].json_path}"
    return len(lines)
