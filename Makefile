# twofa-harness: every target sets up what is missing and is quick when nothing is.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
BROWSER_OK := $(VENV)/.browser
PEERS_OK := .peers/.ready
export TZ := UTC
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup peers postgres conformance-postgres test test-quick conformance targets-table authenticators-table schema lint bench fuzz serve clean

setup: $(INSTALLED) $(BROWSER_OK)

$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
	  { echo "twofa-harness needs Python 3.11 or newer; set PYTHON=/path/to/python3.11 and run make again." >&2; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing twofa-harness and its development tools into $(VENV) ..."
	@$(PY) -m pip install -q --disable-pip-version-check --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
	@$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]' 2>&1 | grep -v '^WARNING: Location' ; test $${PIPESTATUS[0]} -eq 0
	@touch $@

$(BROWSER_OK): scripts/ensure-chromium.sh
	@browser=$$(bash scripts/ensure-chromium.sh | tail -n 1) && echo "$$browser" > $@ && echo "Chromium: $$browser"

# The real 2FA servers the target drivers judge (docs/targets.md): Debian's PAM modules,
# pamtester and libfaketime; privacyIDEA, django-otp and Flask-Security-Too in their own
# virtual environments under .peers/; and the real authenticators check-authenticator
# --adapter drives (docs/authenticators.md). Quick when done (a stamp per peer).
peers: $(PEERS_OK)

$(PEERS_OK): peers/install.sh peers/requirements/privacyidea.txt peers/requirements/django-otp.txt peers/requirements/flask-security.txt \
  peers/requirements/pyotp.txt peers/requirements/cryptography.txt peers/authenticators/node/package-lock.json
	@PYTHON=$(PYTHON) bash peers/install.sh
	@touch $@

# Debian's PostgreSQL 15 binaries: the tests start throwaway clusters of their own.
POSTGRES_OK := $(VENV)/.postgres
postgres: $(POSTGRES_OK)

$(POSTGRES_OK): scripts/ensure-postgres.sh | $(INSTALLED)
	@bash scripts/ensure-postgres.sh && touch $@

# pytest-xdist: the tests run in PYTEST_WORKERS processes (each with its own servers,
# Chromium and PostgreSQL cluster); PYTEST_WORKERS=0 runs them in this one. 2 on the 2-core
# machine: a third worker did not reliably help (the whole suite on one machine, one day:
# 529 s and, on a clean clone, 901 s with 3; 623 s and 781 s with 2), and 4 was slower (half
# the suite in 489 s, its slowest tests twice as slow).
PYTEST_WORKERS ?= 2
test: setup peers postgres
	$(PY) -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# The edit loop (under a minute): the tests that start no server, browser or peer.
QUICK_TESTS := tests/simulators tests/reports tests/vendor tests/test_records_redaction.py \
  tests/test_pyotp_oracle.py tests/test_bench_throughput.py tests/test_bench_request_cost.py tests/test_layering.py tests/test_cli.py \
  tests/conformance/test_expectations.py tests/conformance/test_lint_uri_dialects.py \
  tests/conformance/test_checks_model.py tests/conformance/test_http_evidence.py \
  tests/conformance/test_replay_files.py tests/conformance/test_mutants_table.py \
  tests/conformance/test_variants.py
test-quick: setup
	$(PY) -m pytest -n $(PYTEST_WORKERS) -m "not slow and not browser" $(QUICK_TESTS) $(PYTEST_ARGS)

conformance: setup
	$(VENV)/bin/twofa run --target embedded --out out/reports

# The same suite against two server processes (gunicorn workers) on one PostgreSQL 15.
conformance-postgres: setup postgres
	$(PY) scripts/conformance_postgres.py

# docs/targets.md's table of what the peers do, measured again: every peer at its defaults.
PEER_TARGETS := privacyidea pam-google-authenticator pam-oath django-otp flask-security
targets-table: setup peers
	-$(VENV)/bin/twofa run $(addprefix --target ,$(PEER_TARGETS)) --out out/targets-table
	$(PY) -m reports.targets_table out/targets-table/latest/results.jsonl --update docs/targets.md

# docs/authenticators.md's table of the real authenticator implementations' verdicts:
# every real adapter through every case family, then the table from those runs' logs (kept,
# trimmed, in docs/authenticators-runs/, which a test renders the table from again).
REAL_ADAPTERS := oathtool keepassxc otplib speakeasy pyotp cryptography
authenticators-table: setup peers
	@mkdir -p out/authenticators-table
	@for name in $(REAL_ADAPTERS); do \
	  start=$$(date +%s%3N); \
	  $(VENV)/bin/twofa check-authenticator --adapter $$name --timeout 30 \
	    --out out/authenticators-table/$$name >out/authenticators-table/$$name.log 2>&1; \
	  echo "$$name: exit $$?, $$(( $$(date +%s%3N) - start )) ms (out/authenticators-table/$$name.log)"; \
	done
	$(PY) -m reports.authenticators_table \
	  $(foreach name,$(REAL_ADAPTERS),$(name)=out/authenticators-table/$(name)/latest/results.jsonl) \
	  --update docs/authenticators.md

# The result log's JSON schema, generated from records/model.py (a test checks it is current).
schema: $(INSTALLED)
	$(PY) -m records.schema --write docs/result-log.schema.json

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# The outside fuzzer: schemathesis against a real `serve --harness` process, deterministic,
# at 10,000 requests or more; prints the counts (tests/server/openapi_fuzz.py, docs/reference-server.md).
fuzz: $(INSTALLED)
	$(PY) tests/server/openapi_fuzz.py --min-requests 10000 --out out/fuzz

# The harness's own figures, then the reference server's throughput under wrk (gunicorn,
# 2 sync workers, SQLite and PostgreSQL; privacyIDEA's /validate/check where make peers put it).
bench: $(INSTALLED) postgres
	@bash scripts/ensure-wrk.sh
	$(PY) -m benchmarks

serve: setup
	$(VENV)/bin/twofa serve --harness

clean:
	rm -rf $(VENV) .peers out build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis .import_linter_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
