# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: run test install assets lint format migrate seed clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed assets

# Bootstrap and htmx come from the npm registry and are served from static/vendor (never a CDN).
static/vendor/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p static/vendor/bootstrap static/vendor/htmx
	cp node_modules/bootstrap/dist/css/bootstrap.min.css node_modules/bootstrap/dist/css/bootstrap.min.css.map static/vendor/bootstrap/
	cp node_modules/bootstrap/dist/js/bootstrap.bundle.min.js node_modules/bootstrap/dist/js/bootstrap.bundle.min.js.map static/vendor/bootstrap/
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx/
	touch $@

assets: static/vendor/.installed

migrate: install
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

run: seed
	PORT=$(PORT) PY=$(PY) bash scripts/run.sh

# pyproject.toml names the test settings; an inherited DJANGO_SETTINGS_MODULE must not override them.
test: install
	env -u DJANGO_SETTINGS_MODULE $(VENV)/bin/pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) node_modules static/vendor var

# Outbox throughput (against an instant and a 150 ms provider), 10,000 reminders due at once, and claim time,
# on PostgreSQL and Redis with the production worker settings (docs/benchmarks.md). Needs DATABASE_URL and
# CELERY_BROKER_URL; recreates its own database (bench_notices) and purges that broker's queue.
.PHONY: bench-notices
bench-notices: $(VENV)/.installed
	$(PY) -m bench.notices $(BENCH_ARGS)

# The host's pages under gunicorn, each as a share of a trivial page's throughput (docs/benchmarks.md, Pages).
# Needs DATABASE_URL (PostgreSQL) and wrk; recreates its own database (bench_pages).
.PHONY: bench-pages
bench-pages: $(VENV)/.installed
	$(PY) -m bench.pages $(BENCH_ARGS)
