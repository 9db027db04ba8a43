# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 0.0.0.0
PORT ?= 8000

.PHONY: run test lint bench clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	HOST=$(HOST) PORT=$(PORT) $(PY) manage.py serve

test: $(VENV)/.dev-installed
	$(PY) -m pytest $(PYTEST_ARGS)

# ruff (style and errors), then import-linter (.importlinter: the layers and
# the import rules of docs/architecture.md, and no import cycles).
lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

# Load benchmarks: the raw floor, the server (manage.py serve) on fresh SQLite
# and PostgreSQL databases, then the cluster (serve --workers 1, then 2, on
# PostgreSQL and a Redis of its own), same client and scenarios, one run
# (~16 min on 2 cores); writes docs/benchmarks.md, the README's performance
# section and docs/profiles/. Dev requirements, for py-spy. Smoke run:
# BENCH_ARGS="--quick" (writes under /tmp/bench-quick only); a part:
# BENCH_ARGS="--targets cluster"; scale down with e.g. BENCH_ARGS="--storm 2000"
# (--help).
bench: $(VENV)/.dev-installed
	$(PY) -m bench.runner $(BENCH_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3* test_db.sqlite3*
