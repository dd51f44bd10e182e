#!/usr/bin/env bash
# Prepare a checkout: virtualenv with pinned Python packages, front-end packages from npm,
# compiled translations. Idempotent and quick when nothing changed.
# Usage: scripts/setup.sh [--dev]   (--dev adds the test and lint tools)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "Dangol needs Python 3.11 or newer (found: $("$PYTHON" --version 2>&1))." >&2
  exit 1
fi

requirements=requirements.txt
[ "${1:-}" = "--dev" ] && requirements=requirements-dev.txt

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.installed-$(cat requirements.txt requirements-dev.txt pyproject.toml | sha256sum | cut -c1-16)-$(basename $requirements .txt)"
if [ ! -f "$stamp" ]; then
  echo "==> installing Python packages ($requirements)"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
  touch "$stamp"
fi

if [ ! -f static/vendor/socket.io.min.js ] || [ package-lock.json -nt static/vendor/socket.io.min.js ]; then
  echo "==> installing front-end packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  mkdir -p static/vendor
  cp node_modules/socket.io-client/dist/socket.io.min.js static/vendor/
fi

echo "==> compiling translations"
.venv/bin/pybabel -q compile -d helpdesk/translations
