# Two commands on a fresh machine: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# npm packages: anvil (the dev chain and the chain tests), solc and OpenZeppelin (to rebuild the
# committed dev-token artifact), and the front-end libraries vendored into static/vendor/.
NODE_STAMP := node_modules/.installed

LOCK := CUSTOM_COMPILE_COMMAND="make lock" $(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe \
	--strip-extras --no-emit-index-url --no-emit-find-links $(LOCK_ARGS)

.PHONY: run test lint checks bench venv lock clean

# The dev lock (tests and tools too), every package pinned and hashed; then the repo's own ccxt
# driver, editable: a local directory has no hash, so it goes in a second call, without deps
# (its one dependency, ccxt, is in the lock). A server needs only the runtime lock:
# `pip install --require-hashes -r requirements.txt`.
$(STAMP): requirements-dev.txt clients/ccxt/pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e ./clients/ccxt
	touch $(STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

venv: $(STAMP) $(NODE_STAMP)

## Edit requirements.in / requirements-dev.in, then lock: the runtime lock first, since the dev one
## takes it as a constraint. Existing pins are kept; upgrade with LOCK_ARGS=--upgrade or
## LOCK_ARGS="--upgrade-package django".
lock:  # uses the pip-compile of an installed venv (`make venv` once)
	$(LOCK) -o requirements.txt requirements.in
	$(LOCK) -o requirements-dev.txt requirements-dev.in

## Start everything (embedded PostgreSQL and Redis unless DATABASE_URL / REDIS_URL are set; a local
## anvil dev chain unless ETH_RPC_URL is set).
run: $(STAMP) $(NODE_STAMP)
	EXCHANGE_DEMO_MODE=$${EXCHANGE_DEMO_MODE:-true} DJANGO_DEBUG=$${DJANGO_DEBUG:-true} \
	  PATH=$(abspath $(VENV))/bin:$$PATH $(PY) scripts/with_services.py --chain scripts/run.sh

## The whole test suite, against real PostgreSQL and Redis.
test: $(STAMP) $(NODE_STAMP)
	PATH=$(abspath $(VENV))/bin:$$PATH $(PY) scripts/with_services.py bash scripts/test.sh $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

## What CI checks before the tests: ruff, makemigrations --check, mypy, the import contract.
checks: $(STAMP)
	VENV=$(VENV) scripts/checks.sh

bench: $(STAMP)
	$(PY) bench/engine.py
	$(PY) bench/lobster_replay.py

clean:
	rm -rf $(VENV) var
