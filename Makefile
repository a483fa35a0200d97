# The two commands of the README: `make demo` and `make test`. Both build .venv from the
# committed lock file with uv, so a fresh machine needs only Python 3.11 and the package index.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed-stamp

.PHONY: venv test lint typecheck pytest test-celery demo bench lock clean

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

typecheck: venv
	$(BIN)/mypy workmagic_provider sandbox/workmagic_sandbox

pytest: venv
	$(BIN)/pytest -m "not celery"

# The example DAGs on CeleryExecutor + PostgreSQL + Redis with docker-compose.yaml's wiring
# (needs Debian's postgresql and redis-server; .ci/run installs them).
test-celery: venv
	$(BIN)/pytest tests/celery -m celery

test: lint typecheck pytest

demo: venv
	$(BIN)/workmagic-sandbox demo

bench: venv
	$(BIN)/python benchmarks/run_all.py

# Regenerate the lock after changing requirements/lock.in or the dependencies in pyproject.toml.
lock: venv
	$(BIN)/uv pip compile -p 3.11 requirements/lock.in -o requirements/lock.txt --no-header

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
