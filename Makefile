# Dichtbij — the two commands: `make run` and `make test`. Everything else is a step of those.
PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 4
THREADS ?= 2
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
PYTEST_ARGS ?=

.PHONY: run test lint bench setup setup-dev assets translations db demo extract-messages clean

## Serve the app with gunicorn on http://$(HOST):$(PORT), after setting everything up.
run: setup db
	$(BIN)/gunicorn --bind $(HOST):$(PORT) --workers $(WORKERS) --threads $(THREADS) \
	  --max-requests 2000 --max-requests-jitter 200 --access-logfile - wsgi:app

## Set up, then run the whole suite on SQLite and PostgreSQL, and in Chromium.
test: setup-dev
	scripts/system-deps
	scripts/with-postgres $(BIN)/pytest $(PYTEST_ARGS)

## Seed a large database (cached in bench/.cache/), serve it with gunicorn, load it with wrk on
## loopback, print the table. BENCH_ARGS="--database postgresql --bookings 1000000" for PostgreSQL.
BENCH_ARGS ?=
bench: setup-dev
	$(BIN)/python -m bench.run --workers $(WORKERS) --threads $(THREADS) $(BENCH_ARGS)

lint: setup-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check app tests config.py wsgi.py

setup: $(VENV)/.runtime assets translations
setup-dev: $(VENV)/.dev assets translations

$(VENV)/.runtime: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $(VENV)/.runtime $@

assets: node_modules/.installed
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

MO_FILES := $(patsubst %.po,%.mo,$(wildcard app/translations/*/LC_MESSAGES/messages.po))
translations: $(MO_FILES)
app/translations/%/LC_MESSAGES/messages.mo: app/translations/%/LC_MESSAGES/messages.po $(VENV)/.runtime
	$(BIN)/pybabel compile -d app/translations -l $*

## Apply migrations; load the demo neighbourhood when the database is empty.
db: setup
	$(FLASK) db upgrade
	$(FLASK) demo load --if-empty

## After changing UI strings: update the template and both catalogues, then translate.
extract-messages: $(VENV)/.runtime
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k N_ --no-location --omit-header \
	  -o app/translations/messages.pot .
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations --ignore-obsolete \
	  --no-fuzzy-matching

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache
