#!/usr/bin/env bash
# Install into .venv when needed, then run the end-to-end demo.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
exec .venv/bin/python -m cameoguard.demo "$@"
