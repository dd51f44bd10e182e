#!/usr/bin/env bash
# The second command: set up with the test tools, lint, and run the whole test suite.
# The suite runs on SQLite, and also on PostgreSQL when HELPDESK_TEST_DATABASE_URL is set
# (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev
scripts/system-packages.sh
echo "==> ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "==> mypy (service layer, models, events, config)"
.venv/bin/mypy
echo "==> import layers"
.venv/bin/lint-imports --no-cache >/dev/null || .venv/bin/lint-imports --no-cache
echo "==> pytest"
exec .venv/bin/python -m pytest "$@"
