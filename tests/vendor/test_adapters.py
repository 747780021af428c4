"""The adapters on their own: placeholders stay one argument each, routes, protocol answers."""

from __future__ import annotations

import shlex
import sys
import time

import pytest

from conformance.vendor.adapters import (
    AdapterSetupError,
    CommandTemplateAdapter,
    JsonLinesAdapter,
    Refused,
    VendorFailure,
    _Provisioned,
)
from conformance.vendor.cases import ALL_CASES, Case, select_cases

PY = shlex.quote(sys.executable)
#: Prints its arguments' count as a 6-digit "code", and the arguments on standard error.
COUNT_ARGS = f"{PY} -c 'import sys; print(sys.argv[1:], file=sys.stderr); print(len(sys.argv) - 1)'"


def deadline() -> float:
    return time.monotonic() + 20


def typed(form: str) -> Case:
    return next(c for c in ALL_CASES if c.provisioning == form and c.family == "provisioning")


def test_a_typed_key_with_spaces_is_one_argument_and_never_reaches_a_shell() -> None:
    adapter = CommandTemplateAdapter(f"{COUNT_ARGS} {{key}} {{time}} {{label}}")
    case = typed("key-lower-spaced")
    assert " " in case.typed_key
    handle = adapter.provision(case, deadline())
    assert not isinstance(handle, Refused)
    assert adapter.codes(handle, case.times, deadline()) == ["3"] * len(case.times)


def test_routes_and_empty_placeholders() -> None:
    adapter = CommandTemplateAdapter(f"{COUNT_ARGS} --uri={{uri}} --key={{key}} --t={{time}}")
    scanned = ALL_CASES[0]
    handle = adapter.provision(scanned, deadline())
    assert isinstance(handle, _Provisioned)
    assert handle.values["uri"] == scanned.uri
    assert handle.values["key"] == ""
    key_case = typed("key-spaced")
    handle = adapter.provision(key_case, deadline())
    assert isinstance(handle, _Provisioned)
    assert handle.values["uri"] == ""
    assert handle.values["key"] == key_case.typed_key


def test_what_a_secret_only_template_cannot_present() -> None:
    adapter = CommandTemplateAdapter(f"{COUNT_ARGS} {{secret}} {{time}}")
    padded = next(c for c in ALL_CASES if c.uri_form == "padded")
    assert "{uri}" in (adapter.not_applicable(padded) or "")
    assert "{key}" in (adapter.not_applicable(typed("key-lower")) or "")
    assert adapter.not_applicable(typed("key-upper")) is None
    assert adapter.not_applicable(ALL_CASES[0]) is None
    uri_only = CommandTemplateAdapter(f"{COUNT_ARGS} {{uri}} {{time}}")
    assert uri_only.not_applicable(typed("key-upper")) is not None
    assert uri_only.not_applicable(padded) is None


def test_literal_braces() -> None:
    adapter = CommandTemplateAdapter(f"{COUNT_ARGS} {{{{secret}}}} {{secret}} {{time}}")
    handle = adapter.provision(ALL_CASES[0], deadline())
    assert not isinstance(handle, Refused)


def test_the_jsonl_adapter_skips_late_answers_and_reports_the_exit_status() -> None:
    # Answers every request twice: the second copy is a late answer for the next request.
    echo_twice = (
        "import sys, json\n"
        "for line in sys.stdin:\n"
        "    r = json.loads(line)\n"
        "    a = json.dumps({'id': r['id'], 'ok': True, 'account': 'x', 'codes': ['1'] * 2})\n"
        "    print(a); print(a, flush=True)\n"
        "    if r['op'] == 'forget': sys.exit(7)\n"
    )
    adapter = JsonLinesAdapter([sys.executable, "-c", echo_twice])
    case = select_cases(["baseline"])[0]
    assert adapter.provision(case, deadline()) == "x"
    assert adapter.codes("x", case.times, deadline()) == ["1", "1"]
    adapter.forget("x", deadline())
    with pytest.raises(VendorFailure) as failure:
        adapter.provision(case, deadline())
    assert failure.value.kind == "crash"
    assert adapter.provision(case, deadline()) == "x"  # restarted
    assert adapter.restarts == 1
    adapter.close()


def test_a_program_that_exited_between_requests_is_a_crash_once_then_restarted() -> None:
    # The same death as above, but certainly over before the next request is sent.
    answer_then_exit = (
        "import sys, json\n"
        "r = json.loads(sys.stdin.readline())\n"
        "print(json.dumps({'id': r['id'], 'ok': True, 'account': 'x'}), flush=True)\n"
    )
    adapter = JsonLinesAdapter([sys.executable, "-c", answer_then_exit])
    case = select_cases(["baseline"])[0]
    try:
        assert adapter.provision(case, deadline()) == "x"
        proc = adapter._proc
        assert proc is not None
        proc.wait(timeout=20)
        with pytest.raises(VendorFailure) as failure:
            adapter.provision(case, deadline())
        assert failure.value.kind == "crash"
        assert "exited between requests (exit status 0)" in str(failure.value)
        assert adapter.restarts == 0
        assert adapter.provision(case, deadline()) == "x"  # restarted
        assert adapter.restarts == 1
    finally:
        adapter.close()


def test_an_unusable_template_is_a_setup_error() -> None:
    with pytest.raises(AdapterSetupError, match="cannot split"):
        CommandTemplateAdapter("gen 'unclosed {time} {secret}")
