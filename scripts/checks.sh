#!/usr/bin/env bash
# Static checks, run by .ci/run before the tests (and by `make checks`): lint, migrations in step
# with the models, types, the import contract. Each prints its time; the first failure stops.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"

check() {
  local name="$1"; shift
  local start=$SECONDS
  echo "== $name: $*"
  "$@"
  echo "== $name: ok in $((SECONDS - start)) s"
}

check ruff "$VENV/bin/ruff" check .
# Settings of the tests (development mode): production settings refuse to start without secrets.
check migrations env DJANGO_SETTINGS_MODULE=exchange.settings_tests \
  "$VENV/bin/python" manage.py makemigrations --check --dry-run
check mypy "$VENV/bin/mypy"  # files and settings in pyproject.toml
check imports "$VENV/bin/lint-imports"
