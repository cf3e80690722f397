# Hushwire: two commands do all set-up on a fresh clone.
#   make demo   create .venv, install, run the demo
#   make test   create .venv, install everything the suite needs, lint, type-check, test
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

NODE_STAMP := tests/interop/node_modules/.installed

# The interop peer (npm simplex-js) and its WebSocket package, pinned by package-lock.json.
$(NODE_STAMP): tests/interop/package.json tests/interop/package-lock.json
	cd tests/interop && npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

demo: $(STAMP)
	$(VENV)/bin/hushwire --version
	$(VENV)/bin/hushwire --help

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(VENV)/bin/mypy

pytest: $(STAMP) $(NODE_STAMP)
	$(PY) -m pytest --cov=hushwire --cov-report=term --cov-report=json:.coverage.json
	$(PY) tests/check_coverage.py .coverage.json

test: lint typecheck pytest

bench: $(STAMP)
	@for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.json
