"""What every loader shares: layout checks, problem collection, missing-file policy.

What flows through here: a loader notes every bad row or file in a :class:`Problems` list as
it goes and calls :meth:`Problems.raise_if_any` at the end, so the caller sees all of them in
one :class:`~cameoguard.errors.BadInputError` (the first ten and a count) instead of fixing
them one run at a time. Nothing is skipped silently: a file a label list names but that is
absent is a problem unless the caller asked for ``missing="skip"``, and then it is recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from cameoguard.errors import BadInputError

__all__ = [
    "MissingPolicy",
    "Problems",
    "check_missing",
    "iter_media_files",
    "require_dir",
]

MissingPolicy = Literal["error", "skip"]

#: How many problems a message lists before it only counts the rest.
SHOWN = 10


class Problems:
    """Problems found while loading one dataset, raised together."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.items: list[str] = []

    def add(self, problem: str) -> None:
        self.items.append(problem)

    def __len__(self) -> int:
        return len(self.items)

    def raise_if_any(self, hint: str = "") -> None:
        if not self.items:
            return
        shown = "\n  ".join(self.items[:SHOWN])
        more = len(self.items) - SHOWN
        tail = f"\n  ... and {more} more" if more > 0 else ""
        fix = f"\n{hint}" if hint else ""
        raise BadInputError(
            f"{self.what}: {len(self.items)} problem(s), nothing was loaded:\n  {shown}{tail}{fix}",
            code="datasets.bad_rows",
        )


def check_missing(missing: str) -> MissingPolicy:
    if missing == "error":
        return "error"
    if missing == "skip":
        return "skip"
    raise BadInputError(
        f"missing={missing!r} is not a policy; use 'error' (the default) or 'skip'",
        code="datasets.bad_option",
    )


def require_dir(path: Path, layout: str) -> Path:
    """``path`` if it is a directory, else an error that says what the root should hold."""
    if not path.is_dir():
        state = "is not a folder" if path.exists() else "not found"
        raise BadInputError(f"{path} {state}: {layout}", code="datasets.layout")
    return path


def iter_media_files(folder: Path, suffixes: frozenset[str]) -> Iterator[Path]:
    """Files under ``folder`` (recursively, sorted) whose lower-case suffix is in ``suffixes``.

    Hidden files and folders (``.DS_Store``, ``._x.mp4``) are not media and are left out.
    """
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.suffix.lower() in suffixes and path.is_file():
            yield path
