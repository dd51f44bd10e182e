#!/usr/bin/env bash
# The first command: set up, create/upgrade the SQLite database in ./instance, load demo data
# and serve Dangol on http://127.0.0.1:5000.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/helpdesk db upgrade
.venv/bin/helpdesk demo
exec .venv/bin/helpdesk serve
