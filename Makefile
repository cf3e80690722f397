# Hushwire: two commands do all set-up on a fresh clone.
#   make demo   create .venv, install, run the demo (relay, inbox, website on 127.0.0.1)
#   make test   create .venv, install everything the suite needs, lint, type-check, test
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest bench clean widget widget-test chromium postgresql haproxy redis app

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

WIDGET_STAMP := widget/node_modules/.installed
WIDGET_JS    := src/hushwire/static/hushwire-widget.js
WIDGET_SRC   := $(shell find widget/src widget/scripts -type f) widget/package.json \
                widget/package-lock.json widget/tsconfig.json

# The widget's toolchain and runtime dependencies, pinned by widget/package-lock.json.
$(WIDGET_STAMP): widget/package.json widget/package-lock.json
	cd widget && npm ci --no-audit --no-fund --loglevel=error
	touch $(WIDGET_STAMP)

# The widget the Python package ships: the core bundle and its modules
# (src/hushwire/static/hushwire-widget-*.js, loaded on demand), written together by one build.
# They are committed; widget-test (build:check) fails if any of them is not the build of the
# current sources, or if a module file is left over from an older build.
$(WIDGET_JS): $(WIDGET_STAMP) $(WIDGET_SRC)
	cd widget && npm run --silent build

widget: $(WIDGET_JS)

# The web app (widget/src/app/, docs/app.md): one bundle with its worker embedded, committed too.
APP_JS := src/hushwire/static/app/hushwire-app.js
$(APP_JS): $(WIDGET_STAMP) $(WIDGET_SRC)
	cd widget && node scripts/build_app.mjs

app: $(APP_JS)

# Type-check, unit tests on tests/vectors and the relay integration test (needs the venv's
# relay), then the bundle check (core size budget; core and modules up to date).
widget-test: $(STAMP) $(WIDGET_STAMP)
	cd widget && npm run --silent typecheck
	cd widget && npm test --silent
	cd widget && npm run --silent build:check
	cd widget && node scripts/build_app.mjs --check

# Debian's chromium for the browser tests (Playwright's own download does not work here).
chromium:
	@if command -v chromium >/dev/null 2>&1; then \
		echo "chromium: $$(command -v chromium)"; \
	else \
		SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
		$$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y chromium; \
	fi

# Debian's PostgreSQL server binaries (/usr/lib/postgresql/<ver>/bin) for the PostgreSQL store
# tests: they start their own throwaway server in a temporary directory, never the Debian
# cluster service. `make demo` does not need it (the relay's default store is SQLite).
postgresql:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		echo "postgresql: $$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"; \
	else \
		SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
		$$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y postgresql; \
	fi

# Debian's HAProxy for the cluster failure tests (tests/server/test_cluster.py): they start
# their own instance on loopback with a configuration in a temporary directory, never the
# Debian service. `make demo` does not need it.
haproxy:
	@if command -v haproxy >/dev/null 2>&1 || test -x /usr/sbin/haproxy; then \
		echo "haproxy: $$(command -v haproxy || echo /usr/sbin/haproxy)"; \
	else \
		SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
		$$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y haproxy; \
	fi

# Debian's Redis for benchmarks/cluster_notify.py only (LISTEN/NOTIFY vs Redis pub/sub): the
# benchmark starts its own instance in a temporary directory. Tests do not need it.
redis:
	@if command -v redis-server >/dev/null 2>&1; then \
		echo "redis-server: $$(command -v redis-server)"; \
	else \
		SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
		$$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y redis-server; \
	fi

demo: $(STAMP)
	$(VENV)/bin/hushwire demo $(DEMO_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(VENV)/bin/mypy

pytest: $(STAMP) $(NODE_STAMP) chromium postgresql haproxy
	$(PY) -m pytest --cov=hushwire --cov-report=term --cov-report=json:.coverage.json
	$(PY) tests/check_coverage.py .coverage.json

test: lint typecheck pytest widget-test

# Figures for the issue notes; each script prints its own baseline. BENCH_ARGS=--quick for a
# short run (scripts without --quick ignore it). The browser benchmarks need chromium and the
# widget's node_modules (grp_browser.py bundles the GRP client with esbuild).
bench: $(STAMP) $(WIDGET_STAMP) chromium postgresql haproxy redis
	@for b in benchmarks/*.py; do \
		case $$(basename $$b) in _*) continue;; esac; \
		echo "== $$b"; \
		if grep -q -- '--quick' $$b; then $(PY) $$b $(BENCH_ARGS) || exit 1; \
		else $(PY) $$b || exit 1; fi; \
	done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.json widget/node_modules
