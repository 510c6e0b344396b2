"""``cameo_composite``: an enrolled cameo's face, put into the requester's picture or video.

What flows through: a :class:`~cameoguard.generator_adapter.backends.base.BackendRequest`
with one or more authorized cameos and a target file. Each cameo's first enrollment picture
that yields 68 landmarks becomes a :class:`~cameoguard.generator_adapter.faceswap.SourceFace`.
The target is read under the request's limits. A picture is swapped once and written as PNG.
A video is decoded frame by frame (never held whole): :class:`FaceTracker` finds faces with
MTCNN on a downscaled frame every few frames (and at a cut) and follows them in between by
re-fitting the 68 landmarks around the last ones; each cameo's face track is swapped by its
own :class:`~cameoguard.generator_adapter.faceswap.FaceSwapper` (smoothed landmarks and
colour); the frames go straight into the H.264 encoder, with the target's sound.

Which face gets which cameo: the N largest faces (N = the number of cameos, or ``max_faces``
if smaller), left to right in cameo order; each is then followed by box overlap, so it does
not jump to another person. Frames where no face is found pass through unchanged. A target
without any face is refused (:class:`~cameoguard.errors.BackendError`) and nothing is written.

Options (``request.options``, all optional): ``blend`` ("alpha", the default: Poisson cloning
bleeds a bright background into the face; or "seamless"), ``smoothing`` (0-1, default 0.5),
``keep_shape`` (0-1, how much of the cameo's own face proportions to keep), ``max_faces`` (at
least 1) and ``detect_every`` (frames between detections, 1-30, default 5).

The returned details are counts, settings and timings, never landmarks or pixels.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import numpy.typing as npt

from cameoguard.errors import BackendError, BadInputError
from cameoguard.generator_adapter.backends.base import (
    Backend,
    BackendRequest,
    RawMedia,
    register_backend,
)
from cameoguard.generator_adapter.faceswap import (
    BLENDS,
    KEEP_SHAPE,
    FaceSwapper,
    SourceFace,
    find_source,
    landmarks68,
    landmarks_box,
    track_landmarks68,
)
from cameoguard.media.types import MediaInfo, MediaKind

if TYPE_CHECKING:
    from cameoguard.consent.faces import FaceDetector
    from cameoguard.settings import Settings

__all__ = ["CompositeBackend", "CompositeOptions", "FaceTracker"]

Image = npt.NDArray[np.uint8]
Points = npt.NDArray[np.float32]
Box = tuple[float, float, float, float]

#: Frames are scaled so their short side is this for detection (MTCNN takes 37 ms on a
#: 711 x 400 frame and 120 ms on 1280 x 720 on 2 cores; below 400 px the detector pads).
DETECT_SHORT_SIDE = 400
#: A detection continues a track when their boxes overlap by at least this IoU.
MATCH_IOU = 0.3
#: Mean grey-level change of a 64 x 36 thumbnail above which a frame starts a new shot.
CUT_CHANGE = 24.0


def _option_number(options: Mapping[str, Any], name: str, low: float, high: float) -> float:
    value = options[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise BadInputError(
            f"option {name}={value!r} is invalid; cameo_composite takes a number from {low:g} "
            f"to {high:g}",
            code="generation.bad_option",
        )
    return float(value)


@dataclass(frozen=True, slots=True)
class CompositeOptions:
    """The backend's options, checked (unknown keys belong to other stages and are ignored)."""

    blend: str = "alpha"
    smoothing: float = 0.5
    keep_shape: float = KEEP_SHAPE
    max_faces: int | None = None
    detect_every: int = 5

    @classmethod
    def parse(cls, options: Mapping[str, Any]) -> CompositeOptions:
        values: dict[str, Any] = {}
        if "blend" in options:
            if options["blend"] not in BLENDS:
                raise BadInputError(
                    f"option blend={options['blend']!r} is invalid; choose one of "
                    f"{', '.join(BLENDS)}",
                    code="generation.bad_option",
                )
            values["blend"] = options["blend"]
        for name in ("smoothing", "keep_shape"):
            if name in options:
                values[name] = _option_number(options, name, 0.0, 1.0)
        if options.get("max_faces") is not None:
            values["max_faces"] = int(_option_number(options, "max_faces", 1, 64))
        if "detect_every" in options:
            values["detect_every"] = int(_option_number(options, "detect_every", 1, 30))
        return cls(**values)


def _iou(a: Box, b: Box) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _plausible_step(before: Points, after: Points) -> bool:
    """A re-fitted face that changed size by under a third and moved under a third of its
    size: still the face it was (otherwise it left the frame or was covered)."""
    a, b = landmarks_box(before), landmarks_box(after)
    size_a, size_b = a[2] - a[0], b[2] - b[0]
    if size_b <= 0 or not 0.75 <= size_b / size_a <= 1.33:
        return False
    shift = np.hypot((a[0] + a[2] - b[0] - b[2]) / 2, (a[1] + a[3] - b[1] - b[3]) / 2)
    return bool(shift < size_a / 3)


@dataclass
class _Timing:
    detect_s: float = 0.0
    landmarks_s: float = 0.0
    swap_s: float = 0.0
    detections: int = 0


class FaceTracker:
    """Follows up to ``slots`` faces through a video; slot i is the i-th from the left when
    first seen. :meth:`update` returns, per slot, this frame's landmarks (or None) and
    whether the face was (re)acquired this frame (so its smoothing restarts)."""

    def __init__(
        self,
        detector: FaceDetector,
        slots: int,
        *,
        detect_every: int = 5,
        detect_short_side: int = DETECT_SHORT_SIDE,
    ) -> None:
        self.detector, self.every, self.short_side = detector, detect_every, detect_short_side
        self.slots: list[Points | None] = [None] * slots
        self.timing = _Timing()
        self._since = detect_every  # frames since the last detection: detect on the first
        self._thumb: npt.NDArray[np.float32] | None = None

    def detect(self, rgb: Image) -> list[Box]:
        """MTCNN boxes in ``rgb`` (downscaled for speed), largest first."""
        height, width = rgb.shape[:2]
        scale = min(1.0, self.short_side / min(height, width))
        small = rgb
        if scale < 1.0:
            size = (round(width * scale), round(height * scale))
            small = np.asarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), np.uint8)
        started = time.perf_counter()
        faces = self.detector.detect(small)
        self.timing.detect_s += time.perf_counter() - started
        self.timing.detections += 1
        return [
            (f.box[0] / scale, f.box[1] / scale, f.box[2] / scale, f.box[3] / scale) for f in faces
        ]

    def _is_cut(self, rgb: Image) -> bool:
        gray = cv2.cvtColor(
            cv2.resize(rgb, (64, 36), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY
        )
        thumb = np.asarray(gray, dtype=np.float32)
        cut = self._thumb is not None and float(np.abs(thumb - self._thumb).mean()) > CUT_CHANGE
        self._thumb = thumb
        return cut

    def _follow(self, rgb: Image) -> None:
        for index, previous in enumerate(self.slots):
            if previous is None:
                continue
            current = track_landmarks68(rgb, previous)
            if _plausible_step(previous, current):
                self.slots[index] = current
            else:
                self.slots[index] = None
                self._since = self.every  # look again on the next frame

    def assign(self, rgb: Image, boxes: Sequence[Box]) -> list[bool]:
        """Match ``boxes`` (largest first) to the slots; returns which slots were acquired."""
        free = list(range(len(boxes)))
        for index, landmarks in enumerate(self.slots):
            if landmarks is None:
                continue
            box = landmarks_box(landmarks)
            best = max(free, key=lambda j: _iou(box, boxes[j]), default=None)
            if best is not None and _iou(box, boxes[best]) >= MATCH_IOU:
                free.remove(best)
            else:
                self.slots[index] = None
        lost = [i for i, landmarks in enumerate(self.slots) if landmarks is None]
        chosen = sorted((boxes[j] for j in free[: len(lost)]), key=lambda b: b[0] + b[2])
        fresh = [False] * len(self.slots)
        for index, box in zip(lost, chosen, strict=False):
            self.slots[index] = track_landmarks68(rgb, landmarks68(rgb, box))
            fresh[index] = True
        return fresh

    def update(self, rgb: Image) -> tuple[list[Points | None], list[bool]]:
        started = time.perf_counter()
        if self._is_cut(rgb):
            self.slots = [None] * len(self.slots)
            self._since = self.every
        self._follow(rgb)
        self.timing.landmarks_s += time.perf_counter() - started
        fresh = [False] * len(self.slots)
        if self._since >= self.every:
            self._since = 0
            boxes = self.detect(rgb)
            started = time.perf_counter()
            fresh = self.assign(rgb, boxes)
            self.timing.landmarks_s += time.perf_counter() - started
        self._since += 1
        return list(self.slots), fresh


@dataclass
class _Counts:
    frames: int = 0
    swapped: int = 0
    faces_max: int = 0
    timing: _Timing = field(default_factory=_Timing)

    def add(self, faces: int) -> None:
        self.frames += 1
        self.swapped += faces > 0
        self.faces_max = max(self.faces_max, faces)

    def details(self) -> dict[str, Any]:
        per_frame = 1000.0 / max(self.frames, 1)
        return {
            "frames": self.frames,
            "frames_swapped": self.swapped,
            "frames_without_face": self.frames - self.swapped,
            "faces_per_frame_max": self.faces_max,
            "detections": self.timing.detections,
            "ms_per_frame": {
                "detect": round(self.timing.detect_s * per_frame, 1),
                "landmarks": round(self.timing.landmarks_s * per_frame, 1),
                "swap": round(self.timing.swap_s * per_frame, 1),
            },
        }


def _no_face(what: str) -> BackendError:
    return BackendError(
        f"no face found in the target {what}; pass a target where a face is visible (frontal "
        "or half-profile, at least about 40 px across)",
        code="generation.no_target_face",
    )


class CompositeBackend(Backend):
    """Landmark face swap of enrolled cameos into a requester's picture or video."""

    name = "cameo_composite"
    version = "1"
    kinds = frozenset({MediaKind.IMAGE, MediaKind.VIDEO})
    needs_target = True
    needs_cameo = True

    def __init__(self, detector: FaceDetector | None = None) -> None:
        self._detector = detector

    @property
    def detector(self) -> FaceDetector:
        if self._detector is None:
            from cameoguard.consent.faces import FaceDetector

            self._detector = FaceDetector()
        return self._detector

    def close(self) -> None:
        if self._detector is not None:
            self._detector.close()

    @property
    def model_version(self) -> str:
        import dlib

        return f"{self.version} (MTCNN, dlib {dlib.__version__} 68-point landmarks)"

    def generate(self, request: BackendRequest) -> RawMedia:
        options = CompositeOptions.parse(request.options)
        info = self._target_info(request)
        sources = self._sources(request)
        slots = min(len(sources), options.max_faces or len(sources))
        swappers = [
            FaceSwapper(
                source,
                blend=options.blend,
                smoothing=options.smoothing if info.kind is MediaKind.VIDEO else 0.0,
                keep_shape=options.keep_shape,
                fps=info.fps or 25.0,
            )
            for source in sources[:slots]
        ]
        counts = _Counts()
        request.report(0.0, "preparing the cameo faces")
        if info.kind is MediaKind.IMAGE:
            path = self._image(request, info, swappers, counts)
            audio = False
        else:
            path, audio = self._video(request, info, swappers, options, counts)
        details = {
            **counts.details(),
            "audio": audio,
            "blend": options.blend,
            "smoothing": options.smoothing,
            "keep_shape": options.keep_shape,
            "cameos": slots,
        }
        request.report(1.0, f"swapped faces in {counts.swapped} of {counts.frames} frames")
        return RawMedia(path, info.kind, self.name, self.model_version, details)

    def _target_info(self, request: BackendRequest) -> MediaInfo:
        from cameoguard.media.probe import probe

        if request.target is None:
            raise BackendError(
                "cameo_composite puts a cameo into a picture or video you supply; pass a "
                "target file",
                code="generation.target_missing",
            )
        info = probe(request.target, request.limits)
        if info.kind is not request.kind:
            raise BackendError(
                f"the target is {'an' if info.kind is MediaKind.IMAGE else 'a'} {info.kind} but "
                f"{'an' if request.kind is MediaKind.IMAGE else 'a'} {request.kind} was "
                f"requested; pass a target of the requested kind",
                code="generation.target_kind",
            )
        return info

    def _sources(self, request: BackendRequest) -> list[SourceFace]:
        if not request.cameos:
            raise BackendError(
                "cameo_composite needs at least one authorized cameo", code="generation.no_cameo"
            )
        sources = []
        for cameo in request.cameos:
            request.check_cancelled()
            source = find_source(cameo.faces, self.detector)
            if source is None:
                raise BackendError(
                    f"cameo {cameo.cameo_id}: none of its {len(cameo.faces)} enrollment "
                    "pictures yields face landmarks; enroll the cameo again with clear, "
                    "frontal photos",
                    code="generation.cameo_unusable",
                )
            sources.append(source)
        return sources

    def _image(
        self,
        request: BackendRequest,
        info: MediaInfo,
        swappers: Sequence[FaceSwapper],
        counts: _Counts,
    ) -> Path:
        from cameoguard.media.image import load_image

        rgb = load_image(info.path, request.limits)
        request.check_cancelled()
        tracker = FaceTracker(self.detector, len(swappers))
        tracker.short_side = max(rgb.shape[:2])  # a still: detect at full size
        counts.timing = tracker.timing
        faces, _ = tracker.update(rgb)
        out = self._swap_all(rgb, faces, [True] * len(faces), swappers, counts)
        if counts.swapped == 0:
            raise _no_face("picture")
        request.check_cancelled()
        return request.write_image(out)

    def _swap_all(
        self,
        rgb: Image,
        faces: Sequence[Points | None],
        fresh: Sequence[bool],
        swappers: Sequence[FaceSwapper],
        counts: _Counts,
    ) -> Image:
        started = time.perf_counter()
        out, swapped = rgb, 0
        for swapper, landmarks, new in zip(swappers, faces, fresh, strict=True):
            if landmarks is None or new:
                swapper.reset()
            if landmarks is not None:
                out, _ = swapper.swap(out, landmarks)
                swapped += 1
        counts.timing.swap_s += time.perf_counter() - started
        counts.add(swapped)
        return out

    def _video(
        self,
        request: BackendRequest,
        info: MediaInfo,
        swappers: Sequence[FaceSwapper],
        options: CompositeOptions,
        counts: _Counts,
    ) -> tuple[Path, bool]:
        from cameoguard.media.video import read_audio

        audio = read_audio(info.path, request.limits) if info.has_audio else None
        fps = info.fps or 25.0
        frames = self._frames(request, info, swappers, options, counts)
        return request.write_video(frames, fps, audio), audio is not None

    def _frames(
        self,
        request: BackendRequest,
        info: MediaInfo,
        swappers: Sequence[FaceSwapper],
        options: CompositeOptions,
        counts: _Counts,
    ) -> Iterator[Image]:
        from cameoguard.media.video import iter_frames

        tracker = FaceTracker(self.detector, len(swappers), detect_every=options.detect_every)
        counts.timing = tracker.timing
        fps = info.fps or 25.0
        total = info.frame_count or max(1, round((info.duration_s or 0.0) * fps))
        for frame in iter_frames(info.path, request.limits):
            request.check_cancelled()
            height, width = frame.height - frame.height % 2, frame.width - frame.width % 2
            rgb = np.ascontiguousarray(frame.rgb[:height, :width])
            faces, fresh = tracker.update(rgb)
            yield self._swap_all(rgb, faces, fresh, swappers, counts)
            if counts.frames % 10 == 0:
                request.report(
                    min(0.99, counts.frames / total), f"frame {counts.frames} of about {total}"
                )
        if counts.swapped == 0:
            raise _no_face("video")


@register_backend(CompositeBackend.name)
def _factory(_settings: Settings) -> Backend:
    return CompositeBackend()
