#!/usr/bin/env bash
# `make test`: every test except the whole-venue ones on PYTEST_WORKERS pytest-xdist workers
# (default 2; 0 runs them in this process), each worker with its own test database and Redis
# databases (tests/conftest.py); then the whole-venue tests (a venue started by `make run`, the
# fault drill, the embedded servers) alone, so that no other test competes with their start-up.
# Both stages always run; the exit status is non-zero if either failed. Extra arguments go to
# both pytest runs (e.g. `make test PYTEST_ARGS="-x -q"`).
set -uo pipefail
workers="${PYTEST_WORKERS:-2}"
parallel=()
if [ "$workers" != "0" ]; then
  parallel=(-n "$workers" --dist loadfile)
fi
python -m pytest -m "not whole_venue" "${parallel[@]}" "$@"
first=$?
python -m pytest -m whole_venue "$@"
second=$?
# pytest's 5 is "no tests collected" (e.g. a -k that selects none in one stage): not a failure.
[ "$first" -eq 5 ] && first=0
[ "$second" -eq 5 ] && second=0
exit $(( first != 0 || second != 0 ))
