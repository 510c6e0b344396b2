#!/usr/bin/env bash
# Install into .venv when needed, start what the tests need (scripts/test_services.sh),
# then run the test suite (arguments go to pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
# shellcheck source=scripts/test_services.sh
source ./scripts/test_services.sh
.venv/bin/python -m pytest "$@"
