# Two commands on a fresh machine: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint bench venv clean

$(STAMP): requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

venv: $(STAMP)

## Start everything (embedded PostgreSQL and Redis unless DATABASE_URL / REDIS_URL are set).
run: $(STAMP)
	EXCHANGE_DEMO_MODE=$${EXCHANGE_DEMO_MODE:-true} DJANGO_DEBUG=$${DJANGO_DEBUG:-true} \
	  PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PY) scripts/with_services.py scripts/run.sh

## The whole test suite, against real PostgreSQL and Redis.
test: $(STAMP)
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PY) scripts/with_services.py $(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

bench: $(STAMP)
	$(PY) bench/engine.py
	$(PY) bench/lobster_replay.py

clean:
	rm -rf $(VENV) var
