# Flipside: `make run` serves the demo, `make test` runs the whole suite. Both set up first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | sha1sum | cut -c1-12)
HOST ?= 127.0.0.1
PORT ?= 8000
# The address `make run` serves, and so every absolute link it builds (credentials, QR codes,
# LinkedIn, e-mails). Override it when people reach the server by another name.
PUBLIC_URL ?= http://$(HOST):$(PORT)

# The services run of the suite (PostgreSQL and Redis on this machine unless told otherwise).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/flipside
# Two Redis databases per pytest-xdist worker of the integration stage, from this one on.
TEST_REDIS_URL ?= redis://127.0.0.1:6379/12

.PHONY: install setup run system-packages node-deps test test-embedded test-services lint format bench-deps bench clean

$(STAMP):
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

# Database, static files and demo data for the embedded default (SQLite under var/).
setup: install
	DEBUG=true $(BIN)/python manage.py migrate --no-input -v 0
	DEBUG=true $(BIN)/python manage.py collectstatic --no-input -v 0
	DEBUG=true PUBLIC_URL=$(PUBLIC_URL) $(BIN)/python manage.py seed_demo

run: setup
	@echo
	@echo "Flipside is starting at http://$(HOST):$(PORT)/  (Ctrl-C stops it)"
	@echo
	DEBUG=true PUBLIC_URL=$(PUBLIC_URL) $(BIN)/daphne -b $(HOST) -p $(PORT) config.asgi:application

# Debian packages: Chromium for the browser tests, and HarfBuzz's subsetter, which WeasyPrint
# uses to embed only the glyphs a certificate or record PDF needs. Installed when we may (root);
# otherwise we say what is missing (browser tests skip; PDFs still render, larger).
system-packages:
	@missing=""; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	ldconfig -p | grep -q libharfbuzz-subset || missing="$$missing libharfbuzz-subset0"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null); \
	  else echo "note: missing Debian packages:$$missing (browser tests skip; CI installs them)"; fi; \
	fi

# The independent Verifiable Credential verifier (Digital Bazaar's, run by Node) that tests
# check our signatures with, pinned by tests/credentials/node/package-lock.json; and axe-core,
# which the browser tests run on every page they visit, pinned by tests/e2e/node (no browsers
# are downloaded: the tests drive Debian's Chromium).
node-deps:
	@if command -v npm >/dev/null; then \
	  npm ci --prefix tests/credentials/node --no-audit --no-fund --loglevel=error; \
	  npm ci --prefix tests/e2e/node --no-audit --no-fund --loglevel=error; \
	else echo "note: npm is missing; the credential verification and browser tests will skip"; fi

test: install system-packages node-deps
	DEBUG=true $(BIN)/python manage.py collectstatic --no-input -v 0
	$(MAKE) --no-print-directory test-embedded
	$(MAKE) --no-print-directory test-services

# The unit suite on the embedded default: SQLite, in-memory channel layer, eager Celery; a
# pytest-xdist worker per core, each with its own in-memory database.
test-embedded: install
	env -u DATABASE_URL -u REDIS_URL $(BIN)/pytest -q -m "not integration and not e2e" -p no:cacheprovider -n auto --durations=10

# Everything again on the services. First the unit suite on PostgreSQL, a worker per core, each
# with its own test database (the channel layer and cache stay in-memory there, as two workers
# sharing one Redis database would hear each other's rooms); then the integration and browser
# tests against real Redis, Celery workers, daphne and Chromium, on two pytest-xdist workers.
# Those tests mostly wait (on a server, a worker, a page: one at a time they kept about a third
# of one core busy), so two workers take well under the time one does, even on two cores
# (measured on a shared two-core machine under other work, load average 6-11: 4 to 8 minutes,
# against 9 to 10 one at a time at load 7; 11 minutes at load 14). Each worker starts its own daphne, Celery worker and Chromium on its own test
# database, and takes two Redis databases of its own counted from TEST_REDIS_URL's (worker N:
# base + 2N, and the next one for tests needing a broker no session worker listens on;
# tests/servers.py): 12 to 15 here, so the base must leave room. Two whatever the core count:
# each worker runs four processes of its own and takes two of Redis's sixteen databases.
# --dist loadgroup keeps together tests that share a module-scoped server (xdist_group).
# Tests marked own_processes start processes on an embedded database of their own (start-up,
# the audit command, revocation across processes): the embedded run has proved them, and the
# suite's database plays no part in them, so they are not run twice. The slowest tests of
# each stage are listed, so a slow newcomer shows in the CI log.
test-services: install
	env -u REDIS_URL DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/pytest -q -p no:cacheprovider -m "not integration and not e2e and not own_processes" -n auto --durations=10
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(BIN)/pytest -q -p no:cacheprovider -m "integration or e2e" -n 2 --dist loadgroup --durations=20

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=true $(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Load generator for bench/run.py.
bench-deps: install
	@command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null)

# `make bench NAME=baseline`: one benchmark, figures as ratios against the same run's baseline.
NAME ?= baseline
bench: bench-deps
	$(BIN)/python bench/run.py $(NAME)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
