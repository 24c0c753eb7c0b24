#!/usr/bin/env bash
# The whole test suite: set-up, lint, migrations check, then every pytest tier against the
# machine's PostgreSQL and Redis. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/setup.sh --test

export DATABASE_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/defect_platform}
export DB_CONN_MAX_AGE=0
export TEST_REDIS_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379/0}
export DATA_DIR=$(mktemp -d /tmp/defect-test.XXXXXX)
trap 'rm -rf "$DATA_DIR"' EXIT

echo "==> ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "==> migrations are up to date"
env -u DATABASE_URL .venv/bin/python manage.py makemigrations --check --dry-run >/dev/null
echo "==> pytest"
.venv/bin/python -m pytest "$@"
