#!/usr/bin/env bash
# Install into .venv when needed, then run the test suite (arguments go to pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
exec .venv/bin/python -m pytest "$@"
