# Two commands on a fresh machine: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# npm packages: anvil (the dev chain and the chain tests), solc and OpenZeppelin (to rebuild the
# committed dev-token artifact), and the front-end libraries vendored into static/vendor/.
NODE_STAMP := node_modules/.installed

.PHONY: run test lint bench venv clean

$(STAMP): requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

venv: $(STAMP) $(NODE_STAMP)

## Start everything (embedded PostgreSQL and Redis unless DATABASE_URL / REDIS_URL are set).
run: $(STAMP) $(NODE_STAMP)
	EXCHANGE_DEMO_MODE=$${EXCHANGE_DEMO_MODE:-true} DJANGO_DEBUG=$${DJANGO_DEBUG:-true} \
	  PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PY) scripts/with_services.py scripts/run.sh

## The whole test suite, against real PostgreSQL and Redis.
test: $(STAMP) $(NODE_STAMP)
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PY) scripts/with_services.py bash scripts/test.sh $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

bench: $(STAMP)
	$(PY) bench/engine.py
	$(PY) bench/lobster_replay.py

clean:
	rm -rf $(VENV) var
