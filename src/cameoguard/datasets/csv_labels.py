"""A labels CSV: one row per file, at least ``path`` and ``label`` (registered as ``csv``).

What flows through here: a CSV file (or a folder holding ``labels.csv``) goes in; one sample
per row comes out, in file order. Paths are relative to the CSV's folder (absolute paths are
kept). Labels are ``REAL``/``real``/``0`` for real and ``FAKE``/``fake``/``1`` for fake
(1 = fake, as in ``predict_proba``'s column order). Optional columns:

* ``media``: ``image`` or ``video`` (default: from the suffix);
* ``group``: the unit splits keep together (default: FF++ ids for a FaceForensics++ name in a
  ``ffpp``/``faceforensics`` folder, else the file stem);
* ``source_ids``: more ids the sample involves, separated by ``;``;
* ``method`` (or the column ``method_column`` names), ``compression``, ``dataset``;
* anything else is kept as strings in ``extra`` (``split`` there is the official split).

CNNDetection rows (a path part containing ``cnndetection``, or a ``note`` that gives the
``[50:306,50:306]`` crop or the 50 px border) get ``crop=(50, 50, 306, 306)`` unless
``crop_border`` says otherwise. Every bad row is reported at once: an unknown label, a bad
media value, a duplicate or missing file (``missing="skip"`` leaves absent files out and
records them).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from cameoguard.datasets._common import Problems, check_missing
from cameoguard.datasets.base import (
    CNNDETECTION_CROP,
    Dataset,
    Label,
    Media,
    MediaSample,
    media_from_suffix,
    register_loader,
)
from cameoguard.datasets.faceforensics import parse_ffpp_name
from cameoguard.datasets.folder import is_cnndetection
from cameoguard.errors import BadInputError

__all__ = ["DEFAULT_NAME", "LABEL_VALUES", "load_csv", "parse_label"]

#: The CSV a folder root stands for.
DEFAULT_NAME = "labels.csv"

#: Accepted label spellings: 1 = fake, 0 = real.
LABEL_VALUES = {
    "real": Label.REAL,
    "0": Label.REAL,
    "fake": Label.FAKE,
    "1": Label.FAKE,
}

_CORE = {"path", "label", "media", "group", "source_ids", "method", "compression", "dataset"}
_BORDER_NOTE = re.compile(r"\[\s*50\s*:\s*306\s*,\s*50\s*:\s*306\s*\]|50\s*px border", re.I)
_FFPP_FOLDERS = ("ffpp", "faceforensics")


def parse_label(value: str) -> Label | None:
    """The label a CSV cell spells (REAL/real/0, FAKE/fake/1), None for anything else."""
    return LABEL_VALUES.get(value.strip().lower())


def _csv_path(root: Path) -> Path:
    path = root / DEFAULT_NAME if root.is_dir() else root
    if not path.is_file():
        raise BadInputError(
            f"{path} not found: a csv dataset is a CSV file with path,label columns (or a folder "
            f"holding {DEFAULT_NAME}), paths relative to the CSV's folder",
            code="datasets.layout",
        )
    return path


def _ids(rel: str, path: Path, group: str, more: str) -> tuple[str, tuple[str, ...]]:
    """Group and source ids: the columns, else FF++ ids by name, else the stem."""
    extra_ids = tuple(i.strip() for i in more.split(";") if i.strip())
    if group:
        return group, (group, *extra_ids)
    folders = [p.lower() for p in Path(rel).parts[:-1]]
    if any(f in folders for f in _FFPP_FOLDERS) and (ids := parse_ffpp_name(path.stem)):
        return ids.group, (*ids.source_ids, *extra_ids)
    return path.stem, (path.stem, *extra_ids)


@register_loader("csv")
def load_csv(
    root: Path,
    *,
    missing: str = "error",
    crop_border: bool | None = None,
    method_column: str = "method",
    dataset: str = "csv",
) -> Dataset:
    """One sample per row of the CSV at ``root`` (a file, or a folder with labels.csv).

    ``crop_border`` True crops every image's CNNDetection border, False none, None (default)
    the rows that look like CNNDetection. ``method_column`` names the column to read methods
    from (e.g. ``generator_or_source``); ``dataset`` is used where no ``dataset`` column is.
    """
    policy = check_missing(missing)
    path = _csv_path(root)
    base = path.parent
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = [c.strip() for c in reader.fieldnames or []]
        reader.fieldnames = columns
        needed = [c for c in ("path", "label") if c not in columns]
        if needed:
            raise BadInputError(
                f"{path}: no {' or '.join(needed)} column (columns: "
                f"{', '.join(columns) or 'none'}); a labels CSV needs at least path,label",
                code="datasets.layout",
            )
        if method_column not in columns and method_column != "method":
            raise BadInputError(
                f"{path}: method_column={method_column!r} is not a column "
                f"(columns: {', '.join(columns)})",
                code="datasets.bad_option",
            )
        rows = [
            (reader.line_num, {k: (v or "").strip() for k, v in row.items() if k}) for row in reader
        ]
    problems = Problems(f"labels CSV {path}")
    samples: list[MediaSample] = []
    skipped: list[str] = []
    seen: dict[Path, int] = {}
    for line, row in rows:
        where = f"line {line}"
        rel = row.get("path", "")
        label = parse_label(row.get("label", ""))
        if label is None:
            problems.add(
                f"{where}: label {row.get('label', '')!r} is not REAL/real/0 (real) or "
                "FAKE/fake/1 (fake)"
            )
        if not rel:
            problems.add(f"{where}: empty path")
            continue
        file = Path(rel) if Path(rel).is_absolute() else base / rel
        if file in seen:
            problems.add(f"{where}: {rel} is already on line {seen[file]}")
            continue
        seen[file] = line
        by_suffix = media_from_suffix(file)
        given = row.get("media", "").lower()
        media: Media | None = by_suffix
        if given in ("image", "video"):
            media = "image" if given == "image" else "video"
            if by_suffix is not None and by_suffix != media:
                problems.add(f"{where}: {rel} says media {given} but its suffix is a {by_suffix}")
        elif given:
            problems.add(f"{where}: media {given!r} is neither image nor video")
        elif by_suffix is None:
            problems.add(f"{where}: cannot tell image or video from {rel!r}; add a media column")
        if not file.is_file():
            if policy == "skip":
                skipped.append(f"{where}: {rel} not found")
            else:
                problems.add(f"{where}: {rel} not found under {base}")
            continue
        if label is None or media is None:
            continue
        group, source_ids = _ids(rel, file, row.get("group", ""), row.get("source_ids", ""))
        if crop_border is None:
            crop = is_cnndetection(Path(rel)) or bool(_BORDER_NOTE.search(row.get("note", "")))
        else:
            crop = crop_border
        samples.append(
            MediaSample(
                path=file,
                label=label,
                media=media,
                dataset=row.get("dataset") or dataset,
                group=group,
                method=row.get(method_column) or None,
                compression=row.get("compression") or None,
                source_ids=source_ids,
                crop=CNNDETECTION_CROP if crop and media == "image" else None,
                extra={k: v for k, v in row.items() if k not in _CORE and v},
            )
        )
    problems.raise_if_any(
        "fix those rows; pass missing='skip' to leave out files that are absent on purpose"
    )
    return Dataset("csv", path, tuple(samples), skipped=tuple(skipped))
