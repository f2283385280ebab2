# The two commands: `make run` and `make test`. Everything they need is installed here.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8050
# Measured on this 2-core machine (bench/api_load.py, BENCH_API_SHAPES): a worker per core, 2 threads each.
WORKERS ?= 2
THREADS ?= 2
export TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
export TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
AXE := tests/integration/axe/node_modules/axe-core/axe.min.js

.PHONY: run serve serve-all test test-unit test-api test-services test-integration test-replica bench install install-test services browser clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements-test.txt
	$(PY) -m pip install --quiet -r requirements-test.txt
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

## run: install, migrate, seed the embedded SQLite database on first start, serve on 127.0.0.1:$(PORT)
run: install
	PORT=$(PORT) $(PY) app.py run

## serve: gunicorn with $(WORKERS) workers × $(THREADS) threads (app.py serve migrates and seeds once before the workers start)
serve: install
	mkdir -p var/prometheus  # app.py serve records metrics there before gunicorn's start empties it
	PORT=$(PORT) WORKERS=$(WORKERS) THREADS=$(THREADS) PROMETHEUS_MULTIPROC_DIR=$(CURDIR)/var/prometheus $(PY) app.py serve

## serve-all: production on one host: gunicorn, a Celery worker and beat (needs REDIS_URL, AQI_JOBS_BACKEND=celery)
serve-all: install
	@test -n "$$REDIS_URL$$AQI_REDIS_URL" || (echo "serve-all needs REDIS_URL (broker, schedule lock)" >&2; exit 2)
	trap 'kill 0' EXIT; $(PY) app.py worker & $(PY) app.py beat & $(PY) app.py serve

## test: install, start local PostgreSQL/Redis if stopped, install Chromium if missing, run the whole suite
test: install-test services browser $(AXE)
	$(PY) -m pytest tests

test-unit: install-test
	$(PY) -m pytest tests/unit
test-api: install-test services
	$(PY) -m pytest tests/api
test-services: install-test services
	$(PY) -m pytest tests/services
test-integration: install-test services browser $(AXE)
	$(PY) -m pytest tests/integration
## test-replica: the API and database tests with lag-tolerant reads on a streaming standby (a private primary +
## synchronous standby started for the run: initdb, pg_basebackup -R; about 2.5 minutes)
test-replica: install-test services
	$(PY) -m tests.services.local_servers $(PY) -m pytest tests/api tests/db tests/services/test_replica.py

## bench: big-data and speed figures (PostgreSQL COPY, 10M-row queries, AQI engine, API load with wrk)
bench: install-test services
	@command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk)
	$(PY) -m bench

## audit: known vulnerabilities (PyPI/OSV advisories) in every installed package, transitive ones included.
## Needs the advisory service, which CI cannot reach: not part of `make test`. pip-audit has its own venv so
## its dependencies never mix with the app's pins.
audit: install-test
	test -x .venv-audit/bin/pip-audit || ($(PYTHON) -m venv .venv-audit && .venv-audit/bin/pip install --quiet pip-audit==2.10.1)
	.venv-audit/bin/pip-audit --progress-spinner off --path $$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')

$(AXE): tests/integration/axe/package-lock.json
	npm ci --prefix tests/integration/axe --no-audit --no-fund --silent
	touch $@

services:
	@pg_isready -h 127.0.0.1 -p 5432 -q || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
	@command -v promtool >/dev/null || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus)
	@for i in $$(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && exit 0; sleep 1; done; echo "PostgreSQL or Redis did not start" >&2; exit 1

browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver)

clean:
	rm -rf var/ .pytest_cache
