"""FaceForensics++ (with DeepFakeDetection): the release layout and a flat copy of it.

What flows through here: a FaceForensics++ root goes in, a :class:`~.base.Dataset` of its
videos comes out, one compression level at a time (mixing levels would let a detector learn
the codec instead of the manipulation). The release layout is::

    original_sequences/{youtube,actors}/{c0,c23,c40,raw}/videos/000.mp4
    manipulated_sequences/<Method>/{c0,c23,c40,raw}/videos/000_003.mp4

A fake ``000_003`` shows target video ``000`` with a face or expression from ``003``: its
group is ``000`` and its source ids are ``000`` and ``003``, so splits keep the fake and both
originals together. DeepFakeDetection names its actors' videos ``01__kitchen_pan.mp4`` and
its fakes ``01_02__meeting_serious__YVGY8LOK.mp4``; their ids are ``actor:01``, ``actor:02``.

``ffpp_flat`` reads the shared test data's copy: ``original/*.mp4`` beside one folder per
method (``Deepfakes/519_515.mp4``), with the same names and ids.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cameoguard.datasets._common import Problems, iter_media_files, require_dir
from cameoguard.datasets.base import (
    VIDEO_SUFFIXES,
    Dataset,
    Label,
    MediaSample,
    register_loader,
)
from cameoguard.errors import BadInputError

__all__ = ["COMPRESSIONS", "FFppIds", "load_faceforensics", "load_ffpp_flat", "parse_ffpp_name"]

DATASET = "faceforensics"

#: Compression folders, in the order a default prefers them.
COMPRESSIONS = ("c23", "c40", "c0", "raw")

_LAYOUT = (
    "a FaceForensics++ root holds original_sequences/ and manipulated_sequences/ "
    "(original_sequences/youtube/c23/videos/000.mp4, "
    "manipulated_sequences/Deepfakes/c23/videos/000_003.mp4)"
)
_FLAT_LAYOUT = (
    "a flat FaceForensics++ folder holds original/ and one folder per method "
    "(original/004.mp4, Deepfakes/519_515.mp4)"
)
_NAMES = "NNN.mp4 or AAA_BBB.mp4 (FF++), AA__scene.mp4 or AA_BB__scene__ID.mp4 (DeepFakeDetection)"

_ORIGINAL = re.compile(r"^(\d{3})$")
_FAKE = re.compile(r"^(\d{3})_(\d{3})$")
_DFD_ORIGINAL = re.compile(r"^(\d{2})__([A-Za-z0-9_-]+?)$")
_DFD_FAKE = re.compile(r"^(\d{2})_(\d{2})__([A-Za-z0-9_-]+?)__([A-Za-z0-9]+)$")


@dataclass(frozen=True, slots=True)
class FFppIds:
    """What a FaceForensics++ file name says: real or fake, group, ids involved, details."""

    label: Label
    group: str
    source_ids: tuple[str, ...]
    extra: dict[str, str] = field(default_factory=dict)


def parse_ffpp_name(stem: str) -> FFppIds | None:
    """The ids in a FaceForensics++ / DeepFakeDetection file stem; None if it is neither."""
    if m := _ORIGINAL.match(stem):
        return FFppIds(Label.REAL, m[1], (m[1],))
    if m := _FAKE.match(stem):
        return FFppIds(Label.FAKE, m[1], (m[1], m[2]), {"target": m[1], "source": m[2]})
    if m := _DFD_FAKE.match(stem):
        target, source = f"actor:{m[1]}", f"actor:{m[2]}"
        extra = {"target": target, "source": source, "scene": m[3], "take": m[4]}
        return FFppIds(Label.FAKE, target, (target, source), extra)
    if m := _DFD_ORIGINAL.match(stem):
        actor = f"actor:{m[1]}"
        return FFppIds(Label.REAL, actor, (actor,), {"scene": m[2]})
    return None


def _sample(
    path: Path,
    expected: Label,
    method: str | None,
    compression: str | None,
    extra: dict[str, str],
    problems: Problems,
) -> MediaSample | None:
    ids = parse_ffpp_name(path.stem)
    if ids is None:
        problems.add(f"{path}: name does not look like {_NAMES}")
        return None
    if ids.label is not expected:
        kind = "an original" if ids.label is Label.REAL else "a manipulated"
        problems.add(f"{path}: the name is that of {kind} video, but it is in a {expected} folder")
        return None
    return MediaSample(
        path=path,
        label=expected,
        media="video",
        dataset=DATASET,
        group=ids.group,
        method=method,
        compression=compression,
        source_ids=ids.source_ids,
        extra={**extra, **ids.extra},
    )


def _select(kind: str, found: Sequence[str], wanted: Sequence[str] | None) -> list[str]:
    if wanted is None:
        return list(found)
    if isinstance(wanted, str):
        wanted = [wanted]
    unknown = [w for w in wanted if w not in found]
    if unknown:
        raise BadInputError(
            f"{kind} {', '.join(unknown)} not found; this root has {', '.join(found) or 'none'}",
            code="datasets.bad_option",
        )
    return list(wanted)


def _subdirs(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _pick_compression(
    collections: dict[str, Path], compression: str | None
) -> tuple[str, list[str]]:
    """The compression to load and notes on the collections that lack it."""
    present = {
        name: {c for c in COMPRESSIONS if (d / c / "videos").is_dir()}
        for name, d in collections.items()
    }
    union = set().union(*present.values())
    if not union:
        raise BadInputError(
            f"no <compression>/videos/ folder ({', '.join(COMPRESSIONS)}) under "
            f"{', '.join(sorted(collections))}: {_LAYOUT}",
            code="datasets.layout",
        )
    if compression is None:
        compression = next(c for c in COMPRESSIONS if c in union)
    elif compression not in union:
        raise BadInputError(
            f"compression {compression!r} not found; this root has {', '.join(sorted(union))}",
            code="datasets.bad_option",
        )
    notes = [
        f"{name} has no {compression}/videos/ (it has {', '.join(sorted(have)) or 'none'}): "
        "none of its videos are included"
        for name, have in sorted(present.items())
        if compression not in have
    ]
    return compression, notes


@register_loader("faceforensics")
def load_faceforensics(
    root: Path,
    *,
    compression: str | None = None,
    methods: Sequence[str] | None = None,
    originals: Sequence[str] | None = None,
) -> Dataset:
    """FaceForensics++ videos at one ``compression`` (default c23 when present).

    ``methods`` picks manipulation folders (default all: Deepfakes, Face2Face, FaceSwap,
    NeuralTextures, FaceShifter, DeepFakeDetection, as present); ``originals`` picks
    original_sequences subsets (default all: youtube, actors).
    """
    require_dir(root, _LAYOUT)
    orig_dir = require_dir(root / "original_sequences", _LAYOUT)
    fake_dir = require_dir(root / "manipulated_sequences", _LAYOUT)
    sources = _select("original subset", _subdirs(orig_dir), originals)
    chosen = _select("method", _subdirs(fake_dir), methods)
    collections = {f"original_sequences/{s}": orig_dir / s for s in sources}
    collections |= {f"manipulated_sequences/{m}": fake_dir / m for m in chosen}
    level, notes = _pick_compression(collections, compression)
    problems = Problems(f"FaceForensics++ at {root}")
    samples: list[MediaSample] = []
    for key, folder in collections.items():
        videos = folder / level / "videos"
        if not videos.is_dir():
            continue
        is_original = key.startswith("original_sequences/")
        label = Label.REAL if is_original else Label.FAKE
        method = None if is_original else folder.name
        extra = {"subset": folder.name} if is_original else {}
        for path in iter_media_files(videos, VIDEO_SUFFIXES):
            sample = _sample(path, label, method, level, extra, problems)
            if sample is not None:
                samples.append(sample)
    problems.raise_if_any(f"expected names: {_NAMES}")
    samples.sort(key=lambda s: s.path)
    return Dataset("faceforensics", root, tuple(samples), notes=tuple(notes))


@register_loader("ffpp_flat")
def load_ffpp_flat(
    root: Path,
    *,
    compression: str | None = None,
    methods: Sequence[str] | None = None,
) -> Dataset:
    """A flat FaceForensics++ copy: ``original/`` beside one folder per method.

    ``compression`` is recorded on every sample as given (a flat copy does not say);
    ``methods`` picks method folders (default all).
    """
    require_dir(root, _FLAT_LAYOUT)
    hint = ""
    if not (root / "original").is_dir() and (root / "videos" / "ffpp" / "original").is_dir():
        hint = f" (did you mean {root / 'videos' / 'ffpp'}?)"
    require_dir(root / "original", _FLAT_LAYOUT + hint)
    chosen = _select("method", [d for d in _subdirs(root) if d != "original"], methods)
    problems = Problems(f"flat FaceForensics++ at {root}")
    samples: list[MediaSample] = []
    for path in iter_media_files(root / "original", VIDEO_SUFFIXES):
        sample = _sample(path, Label.REAL, None, compression, {}, problems)
        if sample is not None:
            samples.append(sample)
    for method in chosen:
        for path in iter_media_files(root / method, VIDEO_SUFFIXES):
            sample = _sample(path, Label.FAKE, method, compression, {}, problems)
            if sample is not None:
                samples.append(sample)
    problems.raise_if_any(f"expected names: {_NAMES}")
    samples.sort(key=lambda s: s.path)
    return Dataset("ffpp_flat", root, tuple(samples))
