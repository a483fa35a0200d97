# The two commands of the README: `make demo` and `make test`. Both build .venv from the
# committed lock file with uv, so a fresh machine needs only Python 3.11 and the package index.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed-stamp

.PHONY: venv test lint typecheck pytest test-celery demo bench lock clean test-floor lock-floor docs

venv: $(STAMP)

$(STAMP): pyproject.toml sandbox/pyproject.toml requirements/lock.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/uv pip install --quiet --python $(BIN)/python \
		-r requirements/lock.txt -c requirements/lock.txt -e ".[dev]" -e ./sandbox
	touch $(STAMP)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@# the example DAGs stay clean under ruff's Airflow rules, for users whose repository runs them
	$(BIN)/ruff check --preview --select AIR dags/

typecheck: venv
	$(BIN)/mypy workmagic_provider sandbox/workmagic_sandbox

pytest: venv
	$(BIN)/pytest -m "not celery"

# The example DAGs on CeleryExecutor + PostgreSQL + Redis with docker-compose.yaml's wiring
# (needs Debian's postgresql and redis-server; .ci/run installs them).
test-celery: venv
	$(BIN)/pytest tests/celery -m celery

test: lint typecheck pytest

# The docs site into site/; strict: a warning (a broken link, a missing reference) fails it.
# Not `-q`, which hides the warnings that strict mode counts.
docs: venv
	$(BIN)/mkdocs build --strict

demo: venv
	$(BIN)/workmagic-sandbox demo

bench: venv
	$(BIN)/python benchmarks/run_all.py

# Regenerate the lock after changing requirements/lock.in or the dependencies in pyproject.toml.
lock: venv
	$(BIN)/uv pip compile -p 3.11 requirements/lock.in -o requirements/lock.txt --no-header
	$(MAKE) lock-floor

# The floor job: the lowest supported Airflow (requirements/floor.in) in a venv of its own, named
# by the lock's hash so a changed lock builds a new one and an unchanged one is reused.
FLOOR_HASH := $(shell sha256sum requirements/floor.txt pyproject.toml sandbox/pyproject.toml | sha256sum | cut -c1-12)
FLOOR_VENV := .venv-floor-$(FLOOR_HASH)
FLOOR_STAMP := $(FLOOR_VENV)/.installed-stamp
FLOOR_TESTS := tests/floor tests/integration/test_dag_files.py

$(FLOOR_STAMP): $(STAMP) requirements/floor.txt pyproject.toml sandbox/pyproject.toml
	rm -rf .venv-floor-*
	$(PYTHON) -m venv $(FLOOR_VENV)
	$(BIN)/uv pip install --quiet --python $(FLOOR_VENV)/bin/python \
		-r requirements/floor.txt -c requirements/floor.txt -e ".[dev]" -e ./sandbox
	touch $(FLOOR_STAMP)

test-floor: $(FLOOR_STAMP)
	$(FLOOR_VENV)/bin/python -c "import airflow; print('floor: Airflow', airflow.__version__)"
	$(FLOOR_VENV)/bin/pytest -p no:cacheprovider $(FLOOR_TESTS)

# The floor lock: lock.in's packages with the lowest supported Airflow (see floor.in).
lock-floor: venv
	$(BIN)/uv pip compile -p 3.11 requirements/floor.in \
		-o requirements/floor.txt --no-header

clean:
	rm -rf $(VENV) .venv-floor-* site .pytest_cache .ruff_cache .mypy_cache
