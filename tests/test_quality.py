"""The package stays ruff-clean, formatted and strictly typed (as the README promises)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from tests.conftest import REPO


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=600, check=False)  # fmt: skip


@pytest.mark.skipif(importlib.util.find_spec("ruff") is None, reason="ruff not installed")
def test_ruff_clean() -> None:
    folders = [d for d in ("src", "tests", "benchmarks") if (REPO / d).is_dir()]
    lint = _run("ruff", "check", *folders)
    assert lint.returncode == 0, lint.stdout[-4000:]
    fmt = _run("ruff", "format", "--check", *folders)
    assert fmt.returncode == 0, fmt.stdout[-4000:]


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy not installed")
def test_mypy_strict_clean() -> None:
    result = _run("mypy")
    assert result.returncode == 0, result.stdout[-4000:]


def test_py_typed_is_shipped() -> None:
    assert (REPO / "src" / "cameoguard" / "py.typed").is_file()
