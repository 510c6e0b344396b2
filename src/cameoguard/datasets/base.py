"""Dataset values and the loader registry.

What flows through here: a loader name and a dataset root go into :func:`load_dataset`, which
calls the loader registered under that name and returns a :class:`Dataset`, an immutable list
of :class:`MediaSample` values (a path, its REAL/FAKE label and what is known about where it
came from) plus counts by label, method and official split. Loaders only list files and read
label files; they never decode media.

``group`` is the unit that must not leak between train and test (a source video, an
identity); ``source_ids`` are every video or identity a sample involves (an FF++ fake
``000_003`` involves ``000`` and ``003``). :mod:`cameoguard.datasets.splits` keeps every
connected set of those ids inside one split.

Loaders register by a stable name (``faceforensics``, ``celebdf``, ``dfdc``, ``folder``,
``csv``); a name registered twice raises, an unknown name lists the known ones, an unknown
option lists the loader's options. A missing root or a tree that does not look like the
dataset raises :class:`~cameoguard.errors.BadInputError` naming the expected layout; bad rows
are collected and raised together, never skipped silently.
"""

from __future__ import annotations

import inspect
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from cameoguard.errors import BadInputError, ConfigurationError

__all__ = [
    "CNNDETECTION_CROP",
    "IMAGE_SUFFIXES",
    "LOADERS",
    "NONE_KEY",
    "VIDEO_SUFFIXES",
    "Dataset",
    "Label",
    "Loader",
    "Media",
    "MediaSample",
    "available_loaders",
    "combine_datasets",
    "load_dataset",
    "loader_options",
    "media_from_suffix",
    "register_loader",
]

Media = Literal["image", "video"]

#: File suffixes (lower case) that loaders list as images or videos; other files are ignored.
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".heic", ".avif"}
)
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v"})

#: CNNDetection's 356x356 images carry a 50 px border whose colour gives the label away:
#: the picture to use is ``[50:306, 50:306]``, as a (left, top, right, bottom) box.
CNNDETECTION_CROP = (50, 50, 306, 306)

#: The key counts use for a missing method or split.
NONE_KEY = "none"


class Label(StrEnum):
    """Ground truth of a sample. ``FAKE`` is manipulated or generated; as a number, 1."""

    REAL = "REAL"
    FAKE = "FAKE"

    @property
    def target(self) -> int:
        """0 for REAL, 1 for FAKE (the column order of ``predict_proba``)."""
        return 1 if self is Label.FAKE else 0


def media_from_suffix(path: Path) -> Media | None:
    """``"image"`` or ``"video"`` from the file suffix, None for anything else."""
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    return None


@dataclass(frozen=True, slots=True)
class MediaSample:
    """One labelled file.

    ``crop`` is a (left, top, right, bottom) pixel box to cut before use (None: use all of
    it). ``extra`` holds loader-specific strings (official split, DFDC part, scene, ...).
    """

    path: Path
    label: Label
    media: Media
    dataset: str
    group: str
    method: str | None = None
    compression: str | None = None
    source_ids: tuple[str, ...] = ()
    crop: tuple[int, int, int, int] | None = None
    extra: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))
        object.__setattr__(self, "label", Label(self.label))
        if self.media not in ("image", "video"):
            raise BadInputError(f"{self.path}: media is {self.media!r}, expected image or video")
        if not self.group:
            raise BadInputError(f"{self.path}: a sample needs a non-empty group")
        ids = tuple(self.source_ids) or (self.group,)
        object.__setattr__(self, "source_ids", ids)
        if self.crop is not None:
            crop = tuple(int(v) for v in self.crop)
            if len(crop) != 4 or not (0 <= crop[0] < crop[2] and 0 <= crop[1] < crop[3]):
                raise BadInputError(
                    f"{self.path}: crop {self.crop!r} is not a (left, top, right, bottom) box "
                    "with left < right and top < bottom"
                )
            object.__setattr__(self, "crop", crop)
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))

    @property
    def ids(self) -> frozenset[str]:
        """The group and every source id: what must stay inside one split."""
        return frozenset((self.group, *self.source_ids))


def _count(values: Iterator[str | None]) -> dict[str, int]:
    counts = Counter(NONE_KEY if v is None else v for v in values)
    return dict(sorted(counts.items()))


@dataclass(frozen=True, slots=True)
class Dataset:
    """The samples a loader found under ``root``, in a stable (sorted by path) order.

    ``skipped`` lists files a label file names but that were absent, when the caller asked
    for ``missing="skip"``; ``notes`` says what else the loader left out and why.
    """

    name: str
    root: Path
    samples: tuple[MediaSample, ...]
    skipped: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.samples)

    def __iter__(self) -> Iterator[MediaSample]:
        return iter(self.samples)

    def by_label(self) -> dict[str, int]:
        return _count(str(s.label) for s in self.samples)

    def by_method(self) -> dict[str, int]:
        """Counts by manipulation method (``none`` for samples without one, e.g. reals)."""
        return _count(s.method for s in self.samples)

    def by_split(self) -> dict[str, int]:
        """Counts by the dataset's official split (``extra["split"]``), ``none`` if unknown."""
        return _count(s.extra.get("split") for s in self.samples)

    def by_media(self) -> dict[str, int]:
        return _count(s.media for s in self.samples)

    def summary(self) -> dict[str, Any]:
        """Counts for people and ``--json``: samples, label, method, split, media, skipped."""
        return {
            "name": self.name,
            "root": str(self.root),
            "samples": len(self.samples),
            "label": self.by_label(),
            "method": self.by_method(),
            "split": self.by_split(),
            "media": self.by_media(),
            "skipped": len(self.skipped),
        }


#: A loader takes the root and keyword-only options and returns a Dataset.
Loader = Callable[..., Dataset]

#: name -> loader.
LOADERS: dict[str, Loader] = {}


def register_loader(name: str) -> Callable[[Loader], Loader]:
    """Register a loader under ``name``; a name registered twice raises ``ValueError``."""

    def decorator(loader: Loader) -> Loader:
        if name in LOADERS:
            raise ValueError(f"dataset loader {name!r} is already registered")
        LOADERS[name] = loader
        return loader

    return decorator


def _load_builtin() -> None:
    from cameoguard.datasets import (  # noqa: F401
        celebdf,
        csv_labels,
        dfdc,
        faceforensics,
        folder,
    )


def available_loaders() -> list[str]:
    _load_builtin()
    return sorted(LOADERS)


def _options_of(loader: Loader) -> list[str]:
    params = inspect.signature(loader).parameters.values()
    return [p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY]


def combine_datasets(datasets: Sequence[Dataset]) -> Dataset:
    """One dataset of several (e.g. a public set and a synthetic one), samples in given order.

    Splits over the result keep every group and source id on one side across all parts (an
    FF++ original and a synthetic swap made from its frames share the video's id).
    """
    if not datasets:
        raise BadInputError("no dataset to combine")
    if len(datasets) == 1:
        return datasets[0]
    seen: dict[Path, str] = {}
    for dataset in datasets:
        for sample in dataset:
            if sample.path in seen:
                raise BadInputError(
                    f"{sample.path} is in both {seen[sample.path]} and {dataset.name}; "
                    "combine datasets that do not share files"
                )
            seen[sample.path] = dataset.name
    return Dataset(
        "+".join(d.name for d in datasets),
        datasets[0].root,
        tuple(s for d in datasets for s in d.samples),
        tuple(x for d in datasets for x in d.skipped),
        tuple(x for d in datasets for x in d.notes),
    )


def loader_options(name: str) -> list[str]:
    """The keyword options the loader ``name`` accepts."""
    _load_builtin()
    loader = LOADERS.get(name)
    return [] if loader is None else _options_of(loader)


def load_dataset(name: str, root: str | Path, **options: Any) -> Dataset:
    """The samples of the dataset at ``root``, listed by the loader registered as ``name``."""
    _load_builtin()
    loader = LOADERS.get(name)
    if loader is None:
        raise ConfigurationError(
            f"unknown dataset loader {name!r}; choose one of {', '.join(sorted(LOADERS))}",
            code="datasets.unknown_loader",
        )
    known = _options_of(loader)
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise BadInputError(
            f"dataset loader {name!r} has no option {', '.join(map(repr, unknown))}; "
            f"its options are {', '.join(known) or '(none)'}",
            code="datasets.bad_option",
        )
    return loader(Path(root).expanduser(), **options)
