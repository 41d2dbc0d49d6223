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
PROCFILE=Procfile
case "${EXCHANGE_DEMO_MODE:-false}" in
  true|True|1|yes|on)
    # Demo mode: demo market makers and takers keep the book, tape and chart moving.
    mkdir -p var && { cat Procfile; echo "bots: python manage.py run_demo_bots"; } > var/Procfile.demo
    PROCFILE=var/Procfile.demo ;;
esac
exec honcho start -f "$PROCFILE" --port "${PORT:-8000}"
