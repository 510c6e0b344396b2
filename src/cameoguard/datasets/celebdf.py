"""Celeb-DF (v2): celebrity videos, their face swaps, and the official test list.

What flows through here: a Celeb-DF root goes in, a :class:`~.base.Dataset` comes out. The
layout is::

    Celeb-real/id0_0000.mp4           real, identity id0
    Celeb-synthesis/id0_id16_0000.mp4 fake: id0's video 0000 with id16's face
    YouTube-real/00170.mp4            real, an unnamed person (optional folder)
    List_of_testing_videos.txt        lines "1 YouTube-real/00170.mp4" (1 = real, 0 = fake)

Groups are identities (``id0``); a fake involves its target and its source identity, so a
split keeps both with it. A YouTube video is its own group (``youtube:00170``). ``split``
picks the official ``test`` list, the rest (``train``) or ``all``; every sample records its
official split in ``extra["split"]``.
"""

from __future__ import annotations

import re
from pathlib import Path

from cameoguard.datasets._common import (
    Problems,
    check_missing,
    iter_media_files,
    require_dir,
)
from cameoguard.datasets.base import VIDEO_SUFFIXES, Dataset, Label, MediaSample, register_loader
from cameoguard.errors import BadInputError

__all__ = ["TEST_LIST", "load_celebdf"]

DATASET = "celebdf"
METHOD = "celeb-synthesis"
TEST_LIST = "List_of_testing_videos.txt"

_LAYOUT = (
    "a Celeb-DF root holds Celeb-real/ (id0_0000.mp4), Celeb-synthesis/ (id0_id16_0000.mp4), "
    f"optionally YouTube-real/ (00170.mp4), and {TEST_LIST}"
)
_REAL = re.compile(r"^(id\d+)_(\d+)$")
_FAKE = re.compile(r"^(id\d+)_(id\d+)_(\d+)$")
_YOUTUBE = re.compile(r"^(\d+)$")
_FOLDERS = {"Celeb-real": Label.REAL, "YouTube-real": Label.REAL, "Celeb-synthesis": Label.FAKE}


def _sample(folder: str, path: Path, split: str, problems: Problems) -> MediaSample | None:
    stem = path.stem
    extra = {"split": split, "folder": folder}
    if folder == "Celeb-synthesis":
        if m := _FAKE.match(stem):
            extra |= {"target": m[1], "source": m[2], "target_video": f"{m[1]}_{m[3]}"}
            return MediaSample(
                path, Label.FAKE, "video", DATASET, m[1], METHOD, None, (m[1], m[2]), None, extra
            )
        problems.add(f"{path}: a Celeb-synthesis name looks like idX_idY_NNNN.mp4")
    elif folder == "Celeb-real":
        if m := _REAL.match(stem):
            return MediaSample(path, Label.REAL, "video", DATASET, m[1], extra=extra)
        problems.add(f"{path}: a Celeb-real name looks like idX_NNNN.mp4")
    elif m := _YOUTUBE.match(stem):
        return MediaSample(path, Label.REAL, "video", DATASET, f"youtube:{m[1]}", extra=extra)
    else:
        problems.add(f"{path}: a YouTube-real name looks like NNNNN.mp4")
    return None


def _read_test_list(root: Path, problems: Problems) -> dict[str, Label]:
    """Relative path -> label from the official list."""
    listed: dict[str, Label] = {}
    lines = (root / TEST_LIST).read_text(encoding="utf-8").splitlines()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        parts = line.split()
        where = f"{TEST_LIST} line {n}"
        if len(parts) != 2 or parts[0] not in ("0", "1"):
            problems.add(f"{where}: {line.strip()!r} is not '<1 real | 0 fake> <folder>/<file>'")
            continue
        label = Label.REAL if parts[0] == "1" else Label.FAKE
        rel = parts[1]
        folder = rel.split("/", 1)[0]
        if folder not in _FOLDERS:
            problems.add(f"{where}: {rel} is not in {', '.join(_FOLDERS)}")
        elif _FOLDERS[folder] is not label:
            problems.add(
                f"{where}: {rel} is labelled {label} but {folder} holds {_FOLDERS[folder]}"
            )
        elif rel in listed:
            problems.add(f"{where}: {rel} is listed twice")
        else:
            listed[rel] = label
    return listed


@register_loader("celebdf")
def load_celebdf(root: Path, *, split: str = "all", missing: str = "error") -> Dataset:
    """Celeb-DF videos of the official ``split``: ``test``, ``train`` (the rest) or ``all``.

    A test-list entry whose file is absent is an error, or skipped and recorded with
    ``missing="skip"``.
    """
    if split not in ("test", "train", "all"):
        raise BadInputError(
            f"split={split!r} is not a Celeb-DF split; use 'test', 'train' or 'all'",
            code="datasets.bad_option",
        )
    policy = check_missing(missing)
    require_dir(root, _LAYOUT)
    for needed in ("Celeb-real", "Celeb-synthesis"):
        require_dir(root / needed, _LAYOUT)
    if not (root / TEST_LIST).is_file():
        raise BadInputError(
            f"{root / TEST_LIST} not found: {_LAYOUT}; the list says which videos are the "
            "official test set",
            code="datasets.layout",
        )
    problems = Problems(f"Celeb-DF at {root}")
    listed = _read_test_list(root, problems)
    on_disk: dict[str, Path] = {}
    for folder in _FOLDERS:
        if (root / folder).is_dir():
            for path in iter_media_files(root / folder, VIDEO_SUFFIXES):
                on_disk[path.relative_to(root).as_posix()] = path
    skipped: list[str] = []
    for rel in sorted(set(listed) - set(on_disk)):
        if policy == "skip":
            skipped.append(f"{rel}: in {TEST_LIST} but not found")
        else:
            problems.add(f"{rel}: in {TEST_LIST} but not found under {root}")
    samples: list[MediaSample] = []
    for rel, path in sorted(on_disk.items()):
        official = "test" if rel in listed else "train"
        if split not in ("all", official):
            continue
        sample = _sample(rel.split("/", 1)[0], path, official, problems)
        if sample is not None:
            samples.append(sample)
    problems.raise_if_any(
        "fix or remove those files, or pass missing='skip' to leave out absent listed videos"
    )
    return Dataset("celebdf", root, tuple(samples), skipped=tuple(skipped))
