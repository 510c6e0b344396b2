"""Fixtures for the dataset tests: tiny fabricated trees of empty files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

Touch = Callable[..., Path]


@pytest.fixture
def touch(tmp_path: Path) -> Touch:
    """``touch("a/b.mp4", "c.jpg", root=...)`` makes empty files and returns the root."""

    def make(*paths: str, root: Path | None = None) -> Path:
        base = root or tmp_path
        base.mkdir(parents=True, exist_ok=True)
        for rel in paths:
            file = base / rel
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_bytes(b"")
        return base

    return make
