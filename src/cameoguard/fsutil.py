"""Atomic file output: a destination either receives the complete result or is untouched.

Writers produce into a temporary file beside the destination, flush and fsync it, then
``os.replace`` it into place. Any exception removes the temporary file, so a failed signing or
encoding never leaves a partial, empty or unsigned file where the caller asked for output.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_output", "sha256_file", "write_private_file"]


@contextlib.contextmanager
def atomic_output(destination: str | os.PathLike[str], *, mode: int = 0o644) -> Iterator[Path]:
    """Yield a temporary path; on clean exit it replaces ``destination`` atomically.

    The temporary file keeps the destination's suffix, so libraries that pick a format from the
    extension behave the same as with the final name.
    """
    dest = Path(destination)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{dest.name}.", suffix=f".part{dest.suffix}", dir=dest.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if not tmp.exists() or tmp.stat().st_size == 0:
            raise OSError(f"refusing to publish an empty file at {dest}")
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_private_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` with mode 0600 from the first byte (for private keys)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path, mode=0o600) as tmp:
        os.chmod(tmp, 0o600)
        tmp.write_bytes(data)


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
