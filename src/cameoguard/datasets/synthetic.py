"""Synthetic face-swap training data: ``cameo_composite`` swaps paired with their originals.

What flows through: people (an identity and its photos or videos; :func:`people_from_folders`)
are put into small clusters, deterministically from ``seed``; inside a cluster every target
file gets the face of another member, swapped with the generation core's own face swap
(:class:`~cameoguard.generator_adapter.faceswap.FaceSwapper`: dlib landmarks, Delaunay warp,
colour transfer, alpha or seamless blend) and randomised settings. Each fake is written beside
its original re-encoded the same way (the same JPEG quality, or the same H.264 CRF), so neither
the codec nor the file size tells the labels apart, and ``labels.csv`` lists both for the
``csv`` loader.

Clusters are the split unit: an identity appears in exactly one cluster (as target and as
source), so :func:`~cameoguard.datasets.split_by_group` never puts a person on both sides.

Face swaps of real people leave this package only marked: every output *and* its paired
original carry this deployment's invisible watermark with its own payload (listed in the CSV;
derived from the seed, the key and the file's place, so a rebuild is bit-identical),
so a leaked sample is traceable to this dataset and the mark itself says nothing about the
label. The samples are not in the ledger (they are not generations of anyone's cameo) and carry
no C2PA manifest. Nothing is written outside ``out_dir``; files are written atomically and the
CSV last, so an interrupted build leaves no CSV that lists missing or partial files.
"""

from __future__ import annotations

import csv
import hashlib
import io
import random
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from cameoguard.consent.faces import FaceDetector
from cameoguard.datasets.base import IMAGE_SUFFIXES, VIDEO_SUFFIXES, media_from_suffix
from cameoguard.errors import BadInputError, CameoguardError
from cameoguard.fsutil import atomic_output
from cameoguard.media import (
    Limits,
    iter_frames,
    load_image,
    probe,
    sample_frames,
    save_image,
    write_video,
)
from cameoguard.watermark.marker import Watermarker
from cameoguard.watermark.payload import format_payload

__all__ = [
    "CSV_COLUMNS",
    "Person",
    "SynthReport",
    "SynthSettings",
    "build_composites",
    "clusters_of",
    "people_from_folders",
]

Image = npt.NDArray[np.uint8]

#: The columns of the ``labels.csv`` the builder writes.
CSV_COLUMNS = (
    "path",
    "label",
    "media",
    "group",
    "source_ids",
    "method",
    "dataset",
    "identity",
    "source_identity",
    "source_file",
    "target_file",
    "blend",
    "keep_shape",
    "quality",
    "watermark",
)
METHOD = "cameo_composite"


@dataclass(frozen=True, slots=True)
class Person:
    identity: str
    files: tuple[Path, ...]


@dataclass(frozen=True, slots=True)
class SynthSettings:
    cluster_size: int = 2
    blends: tuple[str, ...] = ("alpha", "seamless")
    keep_shape: tuple[float, float] = (0.6, 1.0)
    jpeg_quality: tuple[int, int] = (75, 95)
    crf: tuple[int, int] = (18, 28)
    video_seconds: float = 3.0
    fakes_per_target: int = 1
    min_side: int = 256
    seed: str = "cameoguard"

    def __post_init__(self) -> None:
        if self.cluster_size < 2:
            raise BadInputError(f"cluster_size must be at least 2, got {self.cluster_size}")
        if not self.blends or set(self.blends) - {"alpha", "seamless"}:
            raise BadInputError(f"blends must be alpha and/or seamless, got {self.blends}")
        if not 0.0 <= self.keep_shape[0] <= self.keep_shape[1] <= 1.0:
            raise BadInputError(f"keep_shape must be a range inside [0, 1], got {self.keep_shape}")
        if not 1 <= self.jpeg_quality[0] <= self.jpeg_quality[1] <= 100:
            raise BadInputError(f"jpeg_quality must be a range in 1..100, got {self.jpeg_quality}")
        if not 0 <= self.crf[0] <= self.crf[1] <= 51:
            raise BadInputError(f"crf must be a range in 0..51, got {self.crf}")
        if not 1 <= self.fakes_per_target <= 16:
            raise BadInputError(f"fakes_per_target must be in 1..16, got {self.fakes_per_target}")
        if not 64 <= self.min_side <= 4096:
            raise BadInputError(f"min_side must be in 64..4096, got {self.min_side}")
        if not self.video_seconds > 0:
            raise BadInputError(f"video_seconds must be positive, got {self.video_seconds}")


@dataclass
class SynthReport:
    out_dir: Path
    clusters: dict[str, tuple[str, ...]]
    fake: int = 0
    real: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def csv_path(self) -> Path:
        return self.out_dir / "labels.csv"

    def to_dict(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "labels_csv": str(self.csv_path),
            "fake": self.fake,
            "real": self.real,
            "clusters": {k: list(v) for k, v in self.clusters.items()},
            "skipped": [{"file": f, "reason": r} for f, r in self.skipped],
        }


def people_from_folders(
    roots: Iterable[Path], *, videos_are_people: bool = True, exclude: Iterable[str] = ()
) -> list[Person]:
    """People from folders: each sub-folder of a root is one identity (its images and videos);
    each video directly inside a root is an identity of its own (``videos_are_people``).
    Sub-folders named in ``exclude`` (e.g. a folder of group photos) are left out."""
    skip = set(exclude)
    people: dict[str, list[Path]] = {}
    for root in roots:
        root = Path(root)
        if not root.is_dir():
            raise BadInputError(f"{root} is not a folder of people (one sub-folder per identity)")
        for entry in sorted(root.iterdir()):
            if entry.is_dir() and entry.name not in skip:
                files = [
                    f
                    for f in sorted(entry.rglob("*"))
                    if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES
                ]
                if files:
                    people.setdefault(entry.name, []).extend(files)
            elif videos_are_people and entry.suffix.lower() in VIDEO_SUFFIXES:
                people.setdefault(entry.stem, []).append(entry)
    return [Person(identity, tuple(files)) for identity, files in sorted(people.items())]


def clusters_of(people: Sequence[Person], size: int, seed: str) -> dict[str, tuple[Person, ...]]:
    """Disjoint clusters of ``size`` people (the last one takes the remainder), seeded."""
    if len(people) < 2:
        raise BadInputError(
            f"a face-swap dataset needs at least 2 people, got {len(people)}: give folders with "
            "one sub-folder of photos per person"
        )
    order = sorted(people, key=lambda p: p.identity)
    random.Random(f"clusters:{seed}").shuffle(order)  # noqa: S311 (reproducible, not secret)
    chunks = [order[i : i + size] for i in range(0, len(order), size)]
    if len(chunks) > 1 and len(chunks[-1]) < 2:
        chunks[-2].extend(chunks.pop())
    return {f"cluster{i:02d}": tuple(chunk) for i, chunk in enumerate(chunks)}


class _Builder:
    def __init__(
        self,
        out_dir: Path,
        marker: Watermarker,
        faces: FaceDetector,
        limits: Limits,
        settings: SynthSettings,
    ) -> None:
        self.out, self.marker, self.faces, self.limits = out_dir, marker, faces, limits
        self.settings = settings
        self.rows: list[dict[str, str]] = []
        self.source_files: dict[str, str] = {}

    def source_face(self, person: Person) -> Any:
        """The first usable face of ``person`` (cut out of its picture with a wide margin, as
        enrollment crops are), or None; the file it came from goes into ``source_files``."""
        from cameoguard.generator_adapter.faceswap import find_source

        for file in person.files:
            try:
                if media_from_suffix(file) == "image":
                    pictures = [load_image(file, self.limits)]
                else:
                    pictures = [f.rgb for f in sample_frames(file, 3, self.limits)]
            except CameoguardError:
                continue
            crops = [c for p in pictures if (c := self._largest_face(self._grow(p))) is not None]
            source = find_source(crops, self.faces)
            if source is not None:
                self.source_files[person.identity] = str(file)
                return source
        return None

    def _largest_face(self, rgb: Image) -> Image | None:
        found = self.faces.detect(rgb)
        if not found:
            return None
        x0, y0, x1, y1 = max(found, key=lambda f: f.size).box
        pad = 0.5 * max(x1 - x0, y1 - y0)
        h, w = rgb.shape[:2]
        top, left = max(0, int(y0 - pad)), max(0, int(x0 - pad))
        bottom, right = min(h, int(y1 + pad)), min(w, int(x1 + pad))
        return np.ascontiguousarray(rgb[top:bottom, left:right])

    def _swapper(self, source: Any, rng: random.Random, fps: float, video: bool) -> Any:
        from cameoguard.generator_adapter.faceswap import FaceSwapper

        low, high = self.settings.keep_shape
        return FaceSwapper(
            source,
            blend=rng.choice(self.settings.blends),
            smoothing=0.5 if video else 0.0,
            keep_shape=round(rng.uniform(low, high), 3),
            fps=fps,
        )

    def _row(self, rel: Path, label: str, cluster: str, **extra: str) -> None:
        self.rows.append(
            {
                "path": rel.as_posix(),
                "label": label,
                "group": cluster,
                "method": METHOD if label == "fake" else "",
                "dataset": "synthetic_composites",
                **extra,
            }
        )

    def _grow(self, rgb: Image) -> Image:
        """Small pictures scaled up (both sides of a pair alike) so the watermark fits."""
        short = min(rgb.shape[:2])
        if short >= self.settings.min_side:
            return rgb
        scale = self.settings.min_side / short
        h, w = (int(np.ceil(v * scale / 2) * 2) for v in rgb.shape[:2])
        return np.asarray(cv2.resize(rgb, (w, h), interpolation=cv2.INTER_CUBIC), np.uint8)

    def _pictures(self, target: Path) -> tuple[list[Image], float]:
        if media_from_suffix(target) == "image":
            return [self._grow(load_image(target, self.limits))], 25.0
        fps = probe(target, self.limits).fps or 25.0
        frames = []
        for frame in iter_frames(target, self.limits):
            if frame.pts_s is not None and frame.pts_s >= self.settings.video_seconds:
                break
            h, w = frame.height - frame.height % 2, frame.width - frame.width % 2
            frames.append(self._grow(np.ascontiguousarray(frame.rgb[:h, :w])))
        return frames, fps

    def _swap(self, pictures: Sequence[Image], swapper: Any) -> tuple[list[Image], int]:
        from cameoguard.generator_adapter.backends.composite import FaceTracker

        tracker = FaceTracker(self.faces, 1)
        if len(pictures) == 1:
            tracker.short_side = max(pictures[0].shape[:2])  # a still: detect at full size
        out, swapped = [], 0
        for rgb in pictures:
            (landmarks,), (fresh,) = tracker.update(rgb)
            if landmarks is None or fresh:
                swapper.reset()
            if landmarks is not None:
                rgb, _ = swapper.swap(rgb, landmarks)
                swapped += 1
            out.append(rgb)
        return out, swapped

    def _payload(self, rel: Path) -> int:
        """A payload fixed by the seed, the key and the file's place (a rebuild is identical;
        two files never share one)."""
        text = f"{self.settings.seed}\0{self.marker.key_id}\0{rel.as_posix()}".encode()
        value = int.from_bytes(hashlib.blake2b(text, digest_size=6).digest(), "big")
        return value or 1

    def _write(self, rel: Path, pictures: Sequence[Image], fps: float, quality: int) -> str:
        payload = self._payload(rel)
        if rel.suffix == ".jpg":
            marked = self.marker.embed_image(pictures[0], payload)
            save_image(marked, self.out / rel, "JPEG", quality)
        else:
            with tempfile.TemporaryDirectory(dir=self.out, prefix=".unmarked-") as scratch:
                unmarked = write_video(Path(scratch) / "clip.mp4", pictures, fps, crf=quality)
                self.marker.embed_file(unmarked, self.out / rel, payload, self.limits, crf=quality)
        return format_payload(payload)

    def target(
        self,
        target: Path,
        person: Person,
        sources: Sequence[tuple[Person, Any]],
        cluster: str,
        rng: random.Random,
    ) -> int:
        """Write the fakes of ``target`` (one per source) and its original; the fakes count."""
        pictures, fps = self._pictures(target)
        media = "image" if media_from_suffix(target) == "image" else "video"
        suffix = ".jpg" if media == "image" else ".mp4"
        fakes: list[tuple[str, list[Image], Any, Person]] = []
        for n, (source_person, source) in enumerate(sources):
            swapper = self._swapper(source, rng, fps, video=media == "video")
            faked, swapped = self._swap(pictures, swapper)
            if swapped < max(1, len(pictures) // 2):
                return 0  # the target's face is not found often enough: no pair at all
            name = f"{person.identity}__{target.stem}__from_{source_person.identity}"
            if any(f[0] == name for f in fakes):
                name = f"{name}_{n}"
            fakes.append((name, faked, swapper, source_person))
        low, high = self.settings.jpeg_quality if media == "image" else self.settings.crf
        quality = rng.randint(low, high)
        common = {
            "media": media,
            "identity": person.identity,
            "target_file": str(target),
            "quality": str(quality) if media == "image" else f"crf{quality}",
        }
        stem = f"{person.identity}__{target.stem}"
        rel = Path("real") / cluster / f"{stem}{suffix}"
        mark = self._write(rel, pictures, fps, quality)
        self._row(rel, "real", cluster, source_ids=person.identity, watermark=mark, **common)
        for name, faked, swapper, source_person in fakes:
            rel = Path("fake") / cluster / f"{name}{suffix}"
            mark = self._write(rel, faked, fps, quality)
            self._row(
                rel,
                "fake",
                cluster,
                **common,
                watermark=mark,
                source_identity=source_person.identity,
                source_file=self.source_files.get(source_person.identity, ""),
                source_ids=f"{person.identity};{source_person.identity}",
                blend=swapper.blend,
                keep_shape=str(swapper.keep_shape),
            )
        return len(fakes)

    def write_csv(self) -> None:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, restval="", lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        with atomic_output(self.out / "labels.csv") as tmp:
            tmp.write_text(buffer.getvalue(), encoding="utf-8")


def build_composites(
    people: Sequence[Person],
    out_dir: Path,
    *,
    marker: Watermarker,
    faces: FaceDetector,
    limits: Limits,
    settings: SynthSettings | None = None,
) -> SynthReport:
    """Write fake/real pairs under ``out_dir`` and their ``labels.csv``; see the module doc."""
    settings = settings or SynthSettings()
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise BadInputError(
            f"{out_dir} is not empty; a synthetic dataset is built into a new or empty folder"
        )
    clusters = clusters_of(people, settings.cluster_size, settings.seed)
    report = SynthReport(out_dir, {k: tuple(p.identity for p in v) for k, v in clusters.items()})
    builder = _Builder(out_dir, marker, faces, limits, settings)
    out_dir.mkdir(parents=True, exist_ok=True)
    for cluster, members in clusters.items():
        sources = {p.identity: builder.source_face(p) for p in members}
        usable = [p for p in members if sources[p.identity] is not None]
        for person in members:
            if sources[person.identity] is None:
                report.skipped.append((person.identity, "no usable source face in any file"))
        for index, person in enumerate(usable):
            others = [p for p in usable if p.identity != person.identity]
            if not others:
                report.skipped.append((person.identity, f"no other usable person in {cluster}"))
                continue
            for n, target in enumerate(person.files):
                rng = random.Random(f"{settings.seed}:{cluster}:{target.name}")  # noqa: S311
                chosen = [
                    others[(index + n + k) % len(others)] for k in range(settings.fakes_per_target)
                ]
                pairs = [(p, sources[p.identity]) for p in chosen]
                try:
                    made = builder.target(target, person, pairs, cluster, rng)
                except CameoguardError as exc:
                    report.skipped.append((str(target), exc.message))
                    continue
                if not made:
                    report.skipped.append((str(target), "no face to swap onto"))
                    continue
                report.fake += made
                report.real += 1
    builder.write_csv()
    return report
