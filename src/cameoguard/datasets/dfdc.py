"""DFDC (the Deepfake Detection Challenge training set): parts with a metadata.json each.

What flows through here: one ``dfdc_train_part_N/`` folder, or a folder of them, goes in; a
:class:`~.base.Dataset` comes out. Each part holds its videos and a ``metadata.json``::

    {"aaqaifqrwn.mp4": {"label": "FAKE", "split": "train", "original": "xyz.mp4"}, ...}

A real video is its own group; a fake takes the group of its original, so a fake and the
video it was made from never land in different splits (the metadata names no actors, so two
originals of one person can still be split apart). ``extra`` records the part, the official
split and the original. Videos that metadata.json does not name have no label: they are left
out and counted in the dataset's notes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cameoguard.datasets._common import Problems, check_missing, iter_media_files, require_dir
from cameoguard.datasets.base import VIDEO_SUFFIXES, Dataset, Label, MediaSample, register_loader
from cameoguard.errors import BadInputError

__all__ = ["METADATA", "load_dfdc"]

DATASET = "dfdc"
METADATA = "metadata.json"

_LAYOUT = (
    f"a DFDC root is one dfdc_train_part_N/ folder (its videos and {METADATA}) or a folder of "
    "such parts"
)


def _parts(root: Path) -> list[Path]:
    if (root / METADATA).is_file():
        return [root]
    parts = sorted(p for p in root.iterdir() if p.is_dir() and (p / METADATA).is_file())
    if not parts:
        raise BadInputError(
            f"no {METADATA} in {root} or its subfolders: {_LAYOUT}", code="datasets.layout"
        )
    return parts


def _read_metadata(path: Path, problems: Problems) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.add(f"{path}: not readable JSON ({exc})")
        return {}
    if not isinstance(data, dict):
        problems.add(
            f"{path}: expected an object of video name -> entry, got {type(data).__name__}"
        )
        return {}
    return data


def _entry(
    part: Path, name: str, entry: object, problems: Problems
) -> tuple[Label, str, dict[str, str]] | None:
    """Label, group and extra of one metadata entry, or None after noting the problem."""
    where = f"{part.name}/{METADATA} {name!r}"
    if not isinstance(entry, dict):
        problems.add(f"{where}: entry is {type(entry).__name__}, expected an object")
        return None
    raw = entry.get("label")
    if raw not in ("REAL", "FAKE"):
        problems.add(f"{where}: label {raw!r} is neither 'REAL' nor 'FAKE'")
        return None
    label = Label(raw)
    extra = {"part": part.name}
    if isinstance(entry.get("split"), str):
        extra["split"] = entry["split"]
    original = entry.get("original")
    if label is Label.FAKE:
        if not isinstance(original, str) or not original:
            problems.add(f"{where}: a FAKE entry needs 'original' (the video it was made from)")
            return None
        extra["original"] = original
        return label, Path(original).stem, extra
    return label, Path(name).stem, extra


@register_loader("dfdc")
def load_dfdc(root: Path, *, missing: str = "error") -> Dataset:
    """DFDC videos named in each part's metadata.json.

    A named video whose file is absent is an error, or skipped and recorded with
    ``missing="skip"``.
    """
    policy = check_missing(missing)
    require_dir(root, _LAYOUT)
    problems = Problems(f"DFDC at {root}")
    samples: list[MediaSample] = []
    skipped: list[str] = []
    notes: list[str] = []
    seen: dict[str, str] = {}
    for part in _parts(root):
        metadata = _read_metadata(part / METADATA, problems)
        for name, entry in sorted(metadata.items()):
            parsed = _entry(part, name, entry, problems)
            if parsed is None:
                continue
            if Path(name).name != name or name in ("", ".", ".."):
                problems.add(f"{part.name}/{METADATA} {name!r}: not a plain file name")
                continue
            if name in seen:
                problems.add(f"{part.name}/{name}: also in {seen[name]}")
                continue
            seen[name] = part.name
            path = part / name
            if not path.is_file():
                if policy == "skip":
                    skipped.append(f"{part.name}/{name}: in {METADATA} but not found")
                else:
                    problems.add(f"{part.name}/{name}: in {METADATA} but not found")
                continue
            label, group, extra = parsed
            samples.append(MediaSample(path, label, "video", DATASET, group, extra=extra))
        unlabelled = [p for p in iter_media_files(part, VIDEO_SUFFIXES) if p.name not in metadata]
        if unlabelled:
            notes.append(
                f"{part.name}: {len(unlabelled)} video(s) not in {METADATA} have no label and "
                f"were left out (first: {unlabelled[0].name})"
            )
    problems.raise_if_any(
        "fix those entries, or pass missing='skip' to leave out videos that are absent"
    )
    samples.sort(key=lambda s: s.path)
    return Dataset("dfdc", root, tuple(samples), skipped=tuple(skipped), notes=tuple(notes))
