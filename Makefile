# seqvault: `make run` serves the zero-setup default, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.8

.PHONY: setup run reset test lint lock clean

$(VENV)/.stamp: requirements/dev.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	VIRTUAL_ENV=$(VENV) $(UV) pip sync --quiet requirements/dev.lock
	VIRTUAL_ENV=$(VENV) $(UV) pip install --quiet --no-deps -e .
	touch $@

setup: $(VENV)/.stamp
	$(PY) -m devtools.s3_emulator ensure

run: setup
	$(PY) -m devtools.run_local

# The only target that deletes local data (var/: database, queue, S3 objects, tokens).
reset:
	$(PYTHON) -m devtools.reset_local

test: setup
	$(PY) -m devtools.run_tests $(PYTEST_ARGS)

lint: $(VENV)/.stamp
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy .

# Re-resolve the locks after changing pyproject.toml.
lock: $(VENV)/.stamp
	$(UV) pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes -q -o requirements/dev.lock
	$(UV) pip compile pyproject.toml --python-version 3.11 --generate-hashes -q -o requirements/base.lock

# Removes the environments only; local data in var/ stays (`make reset` deletes it).
clean:
	rm -rf $(VENV) .venv-s3
