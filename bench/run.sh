#!/bin/sh
# Generate the benchmark database(s) and measure the API; see bench/README.md.
#   bench/run.sh --tickets 1000000 --db sqlite|postgresql|both [--skip-generate]
set -eu
cd "$(dirname "$0")/.."
exec .venv/bin/python -m bench "$@"
