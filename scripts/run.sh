#!/usr/bin/env bash
# The body of `make run`, run inside scripts/with_services.py (so DATABASE_URL and REDIS_URL are set).
set -euo pipefail
mkdir -p var
python manage.py migrate --noinput -v0
# Hashed, compressed static files for WhiteNoise (var/staticfiles).
python manage.py collectstatic --noinput -v0
# The chain's assets (and on a dev chain its token) when a node is configured: `make run` starts
# anvil and sets ETH_RPC_URL (scripts/with_services.py --chain); without one the venue runs
# without deposits on chain.
if [ -n "${ETH_RPC_URL:-}" ]; then
  python manage.py setup_dev_chain
fi
case "${EXCHANGE_DEMO_MODE:-false}" in
  true|True|1|yes|on) python manage.py seed_demo ;;
esac
cat <<MSG

  Exchange is starting on http://${HOST:-127.0.0.1}:${PORT:-8000}/ (${WEB_CONCURRENCY:-$(nproc)} web processes)
  Demo mode: ${EXCHANGE_DEMO_MODE:-false} (demo logins, password demo-pass-2024: alice, bob, carol, maker, admin, compliance)
  Ctrl-C stops everything; a process that dies is restarted by the launcher.

MSG
exec python scripts/launch.py
