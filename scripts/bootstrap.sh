#!/usr/bin/env bash
# Create .venv and install cameoguard into it, only when something changed.
# Idempotent: a stamp records the hash of everything that decides the install.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3.11}"
VENV=.venv
STAMP="$VENV/.cameoguard-install-stamp"

if ! command -v "$PYTHON" >/dev/null 2>&1; then
    if command -v python3 >/dev/null 2>&1 && python3 -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
        PYTHON=python3
    else
        echo "error: cameoguard needs Python 3.11 ('$PYTHON' not found)." >&2
        echo "       Install it (Debian/Ubuntu: apt-get install python3.11 python3.11-venv) or set PYTHON=/path/to/python3.11." >&2
        exit 2
    fi
fi

want="$(cat pyproject.toml scripts/bootstrap.sh | sha256sum | cut -d' ' -f1)"
if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
    exit 0
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    echo "==> creating $VENV with $PYTHON"
    if ! "$PYTHON" -m venv "$VENV"; then
        echo "error: could not create a virtual environment." >&2
        echo "       On Debian/Ubuntu: apt-get install python3.11-venv, then run this again." >&2
        rm -rf "$VENV"
        exit 2
    fi
fi

echo "==> installing cameoguard and its dependencies into $VENV (first run takes a few minutes)"
"$VENV/bin/python" -m pip install --quiet --upgrade "pip>=24" setuptools wheel
"$VENV/bin/python" -m pip install --quiet -e '.[dev]'
# facenet-pytorch pins torch<2.3, numpy<2, Pillow<10.3 in its metadata but runs on the
# versions above; install it without letting pip resolve (downgrade) those.
"$VENV/bin/python" -m pip install --quiet --no-deps facenet-pytorch==2.6.0
echo "$want" > "$STAMP"
echo "==> $VENV is ready"
