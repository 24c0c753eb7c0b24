#!/usr/bin/env bash
# Idempotent set-up of a fresh machine: the Python environment from requirements.lock, and
# (with --test) Debian's Chromium for the browser tests. Safe to run before every start.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
"$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"' \
  || { echo "Python 3.11 is required (found $("$PYTHON" --version 2>&1))" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.lock | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "==> installing Python packages (requirements.lock)"
  # pip warns about every local index folder that lacks a package; those lines are noise.
  .venv/bin/pip install --quiet --upgrade pip 2>&1 | { grep -v "^WARNING: Location" || true; }
  .venv/bin/pip install --quiet -r requirements.lock 2>&1 | { grep -v "^WARNING: Location" || true; }
  echo "$want" > "$stamp"
fi

if [ "${1:-}" = "--test" ] && ! command -v redis-server >/dev/null 2>&1; then
  # The fault tests start private redis-server copies on spare ports.
  echo "==> installing redis-server for the fault tests"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
fi

if [ "${1:-}" = "--test" ] && [ ! -x /usr/bin/chromium ]; then
  echo "==> installing Debian's Chromium for the browser tests"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
