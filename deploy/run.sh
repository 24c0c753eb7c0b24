#!/usr/bin/env bash
# The embedded platform on one machine: set-up, migrate, seed a demo (empty database only),
# then the web server (ASGI), a Celery worker and Celery beat. Ctrl+C stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/setup.sh

HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
export DATA_DIR=${DATA_DIR:-$PWD/var}
# Fewer malloc arenas: a lower memory peak for the threaded serving processes (Dockerfile).
export MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-1}
mkdir -p "$DATA_DIR/broker/queue" "$DATA_DIR/broker/control" "$DATA_DIR/media"
PY=.venv/bin/python

$PY manage.py migrate --noinput >/dev/null
$PY manage.py collectstatic --noinput >/dev/null
$PY manage.py seed_demo

pids=()
cleanup() {
  trap - INT TERM EXIT
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

$PY -m daphne -b "$HOST" -p "$PORT" defect_platform.asgi:application &
pids+=($!)
$PY -m celery -A defect_platform worker -Q default,training --concurrency 1 \
  --loglevel WARNING --hostname "worker@%h" &
pids+=($!)
$PY -m celery -A defect_platform beat --loglevel WARNING \
  --schedule "$DATA_DIR/celerybeat-schedule" &
pids+=($!)

for _ in $(seq 1 100); do
  if $PY - "$HOST" "$PORT" <<'PYEOF' 2>/dev/null; then break; fi
import sys, urllib.request
urllib.request.urlopen(f"http://{sys.argv[1]}:{sys.argv[2]}/healthz", timeout=1)
PYEOF
  sleep 0.3
done
echo
echo "Defect inspection platform is running: http://$HOST:$PORT/  (log in as admin / admin)"
echo "Ctrl+C stops it."
# Exit (and stop the rest) as soon as one of the processes dies.
wait -n "${pids[@]}"
