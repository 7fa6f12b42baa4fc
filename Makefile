# KAT Clinic: `make run` starts the demo clinic, `make test` runs the whole suite.
SHELL := /bin/sh
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
DATA_DIR ?= $(CURDIR)/var
export PORT DATA_DIR

.PHONY: run test lint types check-migrations ci bench bench-pages bench-peer soak fuzz worker clean-venv statemachine fhir-validator lock

# The venv installs the locked tree (every package pinned, with its hashes); `make lock`
# re-pins it after a change to requirements.txt or requirements-dev.txt.
$(VENV)/.installed: requirements-dev.lock
	@python=$$(scripts/find-python) || exit 1; \
	if [ ! -x $(PY) ]; then echo "Creating $(VENV) with $$python"; "$$python" -m venv $(VENV) || exit 1; fi
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.lock
	@touch $@

LOCK_VENV := $(VENV)-lock
PIP_COMPILE := $(LOCK_VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe \
	--strip-extras --no-emit-index-url --no-emit-find-links
lock:
	@python=$$(scripts/find-python) || exit 1; \
	if [ ! -x $(LOCK_VENV)/bin/pip-compile ]; then "$$python" -m venv $(LOCK_VENV) && \
	$(LOCK_VENV)/bin/pip install --quiet --disable-pip-version-check pip-tools; fi
	$(PIP_COMPILE) --output-file requirements.lock requirements.txt
	$(PIP_COMPILE) --output-file requirements-dev.lock requirements-dev.txt

venv: $(VENV)/.installed

run: $(VENV)/.installed
	@mkdir -p "$(DATA_DIR)"
	KATCLINIC_DEV=1 $(PY) manage.py migrate --noinput
	KATCLINIC_DEV=1 $(PY) manage.py seed_demo --if-empty
	KATCLINIC_DEV=1 scripts/run-dev "$(PY)"

worker: $(VENV)/.installed
	$(PY) manage.py worker

# The second FHIR validator the tests run (Medplum's, on Node); its test skips without it,
# and `make test` installs it first wherever npm is on the machine.
VALIDATOR := tools/fhir-validator
$(VALIDATOR)/node_modules/.package-lock.json: $(VALIDATOR)/package-lock.json
	npm ci --prefix $(VALIDATOR) --no-audit --no-fund
fhir-validator: $(VALIDATOR)/node_modules/.package-lock.json
ifneq ($(shell command -v npm 2>/dev/null),)
TEST_NEEDS := $(VALIDATOR)/node_modules/.package-lock.json
endif

test: $(VENV)/.installed $(TEST_NEEDS)
	$(PY) -m pytest -n auto $(PYTEST_ARGS)

# The cross-app patient-path state machine, long: make statemachine STATEMACHINE_EXAMPLES=500
STATEMACHINE_EXAMPLES ?= 300
STATEMACHINE_STEPS ?= 50
statemachine: $(VENV)/.installed
	STATEMACHINE_EXAMPLES=$(STATEMACHINE_EXAMPLES) STATEMACHINE_STEPS=$(STATEMACHINE_STEPS) \
		$(PY) -m pytest -n 0 katclinic/core/tests/test_patient_path_machine.py

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

types: $(VENV)/.installed
	KATCLINIC_TESTING=1 $(VENV)/bin/mypy katclinic

check-migrations: $(VENV)/.installed
	KATCLINIC_TESTING=1 $(PY) manage.py makemigrations --check --dry-run


bench: $(VENV)/.installed
	$(PY) bench/run.py $(BENCH_ARGS)

# In-process CPU per page (no HTTP), on a fresh dataset.
bench-pages: $(VENV)/.installed
	$(PY) bench/inprocess.py $(BENCH_ARGS)

# Side by side with GNU Health (installed into its own venv); skips with the reason.
bench-peer: $(VENV)/.installed
	$(PY) bench/peer.py $(BENCH_ARGS)

# API fuzzing; a long run: make fuzz FUZZ_SECONDS=1800 FUZZ_EXAMPLES=200
FUZZ_SECONDS ?= 30
FUZZ_EXAMPLES ?= 5
fuzz: $(VENV)/.installed
	$(PY) bench/fuzz/run.py --max-time $(FUZZ_SECONDS) --max-examples $(FUZZ_EXAMPLES) $(FUZZ_ARGS)

# Soak: CLIENTS concurrent clients for DURATION seconds; SOAK_ARGS="--postgres URL" for PostgreSQL.
DURATION ?= 600
CLIENTS ?= 16
soak: $(VENV)/.installed
	$(PY) bench/soak/run.py --duration $(DURATION) --clients $(CLIENTS) $(SOAK_ARGS)

clean-venv:
	rm -rf $(VENV)
