#!/usr/bin/env bash
# The body of `make run`, run inside scripts/with_services.py (so DATABASE_URL and REDIS_URL are set).
set -euo pipefail
python manage.py migrate --noinput -v0
python manage.py seed_demo
cat <<MSG

  Exchange is starting on http://127.0.0.1:${PORT:-8000}/
  Demo logins (password demo-pass-2024): alice, bob, carol, maker (traders), admin, compliance
  Django admin: http://127.0.0.1:${PORT:-8000}/admin/   Ctrl-C stops everything.

MSG
exec honcho start -f Procfile --port "${PORT:-8000}"
