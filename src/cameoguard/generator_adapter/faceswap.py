"""Landmark face swap: one face's pixels, warped, recoloured and blended onto another face.

What flows through: a *source* face picture (an enrolled cameo's aligned crop) and a *target*
RGB frame, each with the 68 dlib landmarks of its face (:func:`landmarks68`, from the shape
predictor that ships in ``face-recognition-models``). :func:`swap_face` triangulates the
source landmarks (Delaunay), maps every triangle onto the target's with its own affine
transform (one ``cv2.remap`` over the face's bounding box), matches the warped face's colour
to the target's skin (Reinhard: centre and spread per CIE LAB channel, measured robustly on
the skin between the features) and blends it in with a feathered alpha (or Poisson
``seamlessClone``) inside the convex hull of the target landmarks. Every pixel outside that
hull comes back bit for bit. Two things make the result recognisable as the source, not the
target: the target's inner landmarks are moved towards the source face's own proportions
(:func:`keep_source_shape`), and hair or background that covers the source face's edge is
left out (the source mask, measured once per source picture). :class:`FaceSwapper`
does the same frame after frame for one face track, smoothing the landmarks (a one-euro
filter that resets on a jump) and the colour statistics, so the face neither jitters nor
flickers.

The same functions make FaceSwap-style training data for the deepfake detector.

Landmarks and pixels are biometric: nothing here logs them or keeps them beyond the objects
the caller holds. The dlib models load lazily, once, under a lock; importing does nothing.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import numpy.typing as npt

from cameoguard.errors import ModelUnavailableError

if TYPE_CHECKING:
    from cameoguard.consent.faces import FaceDetector

__all__ = [
    "BLENDS",
    "KEEP_SHAPE",
    "PREDICTOR_68",
    "ColorStats",
    "FaceSwapper",
    "OneEuroFilter",
    "SourceFace",
    "color_stats",
    "find_source",
    "keep_source_shape",
    "landmarks68",
    "landmarks_box",
    "source_landmarks",
    "swap_face",
    "track_landmarks68",
]

Image = npt.NDArray[np.uint8]
Mask = npt.NDArray[np.uint8]
Points = npt.NDArray[np.float32]
Box = tuple[float, float, float, float]

#: Blend modes: a feathered alpha over the colour-matched face (the default), or Poisson
#: cloning (``cv2.seamlessClone``), which follows the target's shading more closely but bleeds
#: a bright background or dark hair at the face's edge into it (seen on shared/data/faces).
BLENDS = ("alpha", "seamless")
#: How far the target's inner landmarks move towards the source face's proportions by default
#: (see :func:`keep_source_shape`): on shared/data/faces it halves the identity gap.
KEEP_SHAPE = 0.8
PREDICTOR_68 = "shape_predictor_68_face_landmarks.dat"

# dlib's 68-point predictor was trained on the boxes of dlib's HOG detector, which sit lower and
# tighter than MTCNN's. Measured on the 55 single-face photos of shared/data/faces that both
# detectors find, as (x0, y0, x1, y1) in units of the other box (mean over the photos):
_MTCNN_TO_DLIB = (-0.044, 0.082, 1.013, 0.951)  # the HOG box, in MTCNN box units
_LANDMARKS_TO_DLIB = (-0.033, -0.109, 0.998, 0.906)  # the HOG box, in landmark-extent units
_LANDMARKS_TO_MTCNN = (0.007, -0.212, 0.986, 0.965)  # the MTCNN box, in landmark-extent units

#: A source crop is padded (border replicate) to at least this short side before detection.
_SOURCE_MIN_SIDE = 400
#: The hull is eroded by this fraction of the face size before feathering and colour stats.
_FEATHER = 0.04
#: Reinhard's std ratio is clamped to [1/_MAX_GAIN, _MAX_GAIN] (a dark or flat target face
#: must not blow the source's contrast up).
_MAX_GAIN = 1.25

# landmark groups of the 68-point scheme (iBUG 300-W)
_BROWS = (slice(17, 22), slice(22, 27))
_FEATURES = (slice(36, 42), slice(42, 48), slice(48, 60))  # eyes and outer lips
_NOSE = slice(27, 36)
#: (first corner, second corner, points) of the parts that move with expression: eyes, mouth
_MOVING = ((36, 39, slice(36, 42)), (42, 45, slice(42, 48)), (48, 54, slice(48, 68)))
#: Points fitting the similarity from source to target: brows, nose, eyes (not the jaw or
#: mouth, which move with speech).
_RIGID = slice(17, 48)

#: A source pixel is unlike the face's skin beyond this many robust standard deviations (LAB
#: distance, each channel's spread at least _SKIN_SPREAD_FLOOR).
_SKIN_DISTANCE = 3.5
_SKIN_SPREAD_FLOOR = np.array([4.0, 2.0, 2.0], dtype=np.float32)

_LOCK = threading.Lock()
_MODELS: dict[str, Any] = {}


# --- models -----------------------------------------------------------------------------------


def _dlib() -> Any:
    try:
        import dlib
    except ImportError as error:  # pragma: no cover - a declared dependency
        raise ModelUnavailableError(
            "face swapping needs dlib; install it with: pip install dlib-bin"
        ) from error
    return dlib


def _model(name: str) -> Any:
    """``predictor`` (68 landmarks) or ``frontal`` (dlib's HOG face detector), loaded once."""
    with _LOCK:
        if name not in _MODELS:
            dlib = _dlib()
            if name == "frontal":
                _MODELS[name] = dlib.get_frontal_face_detector()
            else:
                from cameoguard.consent.embedders.dlib_resnet import dlib_models_dir

                path = dlib_models_dir() / PREDICTOR_68
                if not path.is_file():
                    raise ModelUnavailableError(
                        f"dlib model file {path} is missing; reinstall face-recognition-models "
                        "(pip install --force-reinstall face-recognition-models)"
                    )
                _MODELS[name] = dlib.shape_predictor(str(path))
        return _MODELS[name]


# --- landmarks --------------------------------------------------------------------------------


def _map_box(box: Box, units: tuple[float, float, float, float]) -> Box:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    return (x0 + units[0] * w, y0 + units[1] * h, x0 + units[2] * w, y0 + units[3] * h)


def _extent(points: Points) -> Box:
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    return (float(x0), float(y0), float(x1), float(y1))


def _predict(rgb: Image, rect: Box) -> Points:
    dlib = _dlib()
    predictor = _model("predictor")
    left, top, right, bottom = (round(v) for v in rect)
    shape = predictor(np.ascontiguousarray(rgb), dlib.rectangle(left, top, right, bottom))
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)


def landmarks68(rgb: Image, box: Box) -> Points:
    """The 68 dlib landmarks, ``(68, 2)`` float32 (x, y), of the face in an MTCNN ``box``.

    ``box`` is (x0, y0, x1, y1) as :class:`~cameoguard.consent.faces.FaceDetector` reports it;
    it is mapped onto the geometry of the boxes dlib's predictor was trained on.
    """
    return _predict(rgb, _map_box(box, _MTCNN_TO_DLIB))


def track_landmarks68(rgb: Image, previous: Points) -> Points:
    """The 68 landmarks of a face that had ``previous`` landmarks a frame ago (no detector)."""
    return _predict(rgb, _map_box(_extent(previous), _LANDMARKS_TO_DLIB))


def landmarks_box(points: Points) -> Box:
    """The MTCNN-style box (x0, y0, x1, y1) of a face with these landmarks (for IoU tracking)."""
    return _map_box(_extent(points), _LANDMARKS_TO_MTCNN)


def _mostly_inside(points: Points, shape: tuple[int, ...]) -> bool:
    height, width = shape[:2]
    inside = (points[:, 0] >= -1) & (points[:, 0] <= width) & (points[:, 1] >= -1)
    inside &= points[:, 1] <= height
    x0, y0, x1, y1 = _extent(points)
    return bool(inside.mean() >= 0.9) and min(x1 - x0, y1 - y0) >= 0.2 * min(height, width)


def source_landmarks(rgb: Image, detector: FaceDetector | None = None) -> Points | None:
    """The 68 landmarks of the face in a face crop, or None when no face is found in it.

    The crop is padded by replicating its border (detectors need context around a tight
    crop); MTCNN (``detector``) finds the box, dlib's own HOG detector is the fallback.
    """
    height, width = rgb.shape[:2]
    pad = max(min(height, width) // 4, math.ceil((_SOURCE_MIN_SIDE - min(height, width)) / 2))
    padded = np.asarray(cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_REPLICATE), np.uint8)
    rects: list[Box] = []
    if detector is not None:
        rects += [_map_box(face.box, _MTCNN_TO_DLIB) for face in detector.detect(padded)[:1]]
    if not rects:
        found = sorted(_model("frontal")(padded, 1), key=lambda r: r.area(), reverse=True)
        rects += [(r.left(), r.top(), r.right(), r.bottom()) for r in found[:1]]
    for rect in rects:
        points = _predict(padded, rect)
        points = _predict(padded, _map_box(_extent(points), _LANDMARKS_TO_DLIB)) - pad
        if _mostly_inside(points, rgb.shape):
            return np.asarray(points, dtype=np.float32)
    return None


# --- source faces -----------------------------------------------------------------------------


def _part_hulls(
    mask: npt.NDArray[Any], points: Points, offset: tuple[float, float], width: int
) -> None:
    """Clear eyes, outer lips and (``width`` px thick) brows from ``mask``, in place."""
    local = np.round((points - offset) * 16).astype(np.int32)
    for part in _FEATURES:
        cv2.fillConvexPoly(mask, cv2.convexHull(local[part]), 0, lineType=cv2.LINE_8, shift=4)
    for brow in _BROWS:
        cv2.polylines(mask, [local[brow]], False, 0, thickness=width, shift=4)


def _hull(shape: tuple[int, int], points: Points, offset: tuple[float, float]) -> Mask:
    hull = np.zeros(shape, np.uint8)
    corners = cv2.convexHull(np.round((points - offset) * 16).astype(np.int32))
    cv2.fillConvexPoly(hull, corners, 255, lineType=cv2.LINE_8, shift=4)
    return hull


def _disc(radius: int) -> npt.NDArray[np.uint8]:
    return np.asarray(cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2))


def _source_mask(rgb: Image, points: Points) -> Mask:
    """Where the source picture shows its face: the landmark hull, less whatever unlike the
    face's skin reaches in from the hull's edge beside the features (hair over the cheeks and
    temples, background beside a turned head). Brows, eyes, nose, mouth and anything below
    the mouth corners (a beard) always stay."""
    hull = _hull(rgb.shape[:2], points, (0.0, 0.0))
    x0, y0, x1, y1 = _extent(points)
    size = max(x1 - x0, y1 - y0)
    reference = cv2.erode(hull, _disc(max(1, round(0.1 * size))))
    _part_hulls(reference, points, (0.0, 0.0), max(1, round(0.08 * size)))
    if reference.sum() < 16 * 255:
        return hull
    lab = _lab(rgb)
    stats = color_stats(rgb, reference > 0)
    spread = np.maximum(stats.std, _SKIN_SPREAD_FLOOR)
    distance = np.sqrt((((lab - stats.mean) / spread) ** 2).sum(axis=2))
    unlike = ((distance > _SKIN_DISTANCE) & (hull > 0)).astype(np.uint8)
    unlike[math.ceil(min(points[48, 1], points[54, 1])) :] = 0
    features = _hull(rgb.shape[:2], points[17:], (0.0, 0.0))
    unlike[cv2.dilate(features, _disc(max(1, round(0.02 * size)))) > 0] = 0
    unlike = cv2.morphologyEx(unlike, cv2.MORPH_OPEN, _disc(2))
    edge = (hull > 0) & (cv2.erode(hull, _disc(2)) == 0)
    _, labels = cv2.connectedComponents(unlike)
    touching = np.unique(labels[edge & (unlike > 0)])
    out = hull.copy()
    out[np.isin(labels, touching[touching > 0])] = 0
    return np.asarray(cv2.morphologyEx(out, cv2.MORPH_OPEN, _disc(3)), dtype=np.uint8)


@dataclass(frozen=True, eq=False)
class SourceFace:
    """A source face ready to warp: its picture, landmarks and :func:`_source_mask`, stacked as
    RGBA at full, half and quarter size, and the Delaunay triangles (landmark index triples)
    every swap maps one by one."""

    rgb: Image = field(repr=False)
    landmarks: Points = field(repr=False)
    mask: Mask = field(repr=False)
    triangles: npt.NDArray[np.int32] = field(repr=False)
    levels: tuple[tuple[Image, Points], ...] = field(repr=False)

    @classmethod
    def from_landmarks(cls, rgb: Image, landmarks: Points) -> SourceFace:
        from scipy.spatial import Delaunay

        rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
        points = np.asarray(landmarks, dtype=np.float32).reshape(68, 2)
        triangles = np.asarray(Delaunay(points.astype(np.float64)).simplices, dtype=np.int32)
        mask = _source_mask(rgb, points)
        levels = [(np.dstack([rgb, mask]), points)]
        for _ in range(2):
            image, marks = levels[-1]
            if min(image.shape[:2]) < 64:
                break
            smaller = np.asarray(cv2.pyrDown(image), dtype=np.uint8)
            levels.append((smaller, ((marks + 0.5) / 2 - 0.5).astype(np.float32)))
        return cls(rgb, points, mask, triangles, tuple(levels))

    @property
    def size(self) -> float:
        x0, y0, x1, y1 = _extent(self.landmarks)
        return max(x1 - x0, y1 - y0)

    def level(self, target_size: float) -> tuple[Image, Points]:
        """The smallest pyramid level still at least as large as the target face."""
        ratio = target_size / max(self.size, 1.0)
        index = 0
        while index + 1 < len(self.levels) and ratio <= 0.5 ** (index + 1):
            index += 1
        return self.levels[index]


def find_source(
    pictures: Sequence[Image], detector: FaceDetector | None = None
) -> SourceFace | None:
    """The first picture whose face yields landmarks, prepared for swapping; None if none."""
    for picture in pictures:
        points = source_landmarks(picture, detector)
        if points is not None:
            return SourceFace.from_landmarks(picture, points)
    return None


# --- face shape -------------------------------------------------------------------------------


def _similarity(source: Points, target: Points) -> npt.NDArray[np.float64]:
    """The least-squares similarity (Umeyama; 2 x 3) taking ``source`` points onto ``target``."""
    src, dst = source.astype(np.float64), target.astype(np.float64)
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    a, b = src - mu_s, dst - mu_d
    u, sigma, vt = np.linalg.svd(b.T @ a / len(src))
    flip = np.diag([1.0, np.sign(np.linalg.det(u @ vt)) or 1.0])
    rotation = u @ flip @ vt
    scale = float(np.trace(np.diag(sigma) @ flip) / max(a.var(axis=0).sum(), 1e-9))
    return np.hstack([scale * rotation, (mu_d - scale * rotation @ mu_s)[:, None]])


def keep_source_shape(source_lm68: Points, target_lm68: Points, keep: float) -> Points:
    """Target landmarks moved ``keep`` (0-1) of the way towards the source face's proportions.

    The source landmarks are brought onto the target by a similarity (fitted on brows, nose
    and eyes). Brows and nose then move ``keep`` of the way to the source's; eyes and mouth
    keep the target's shape (blinks, speech) but take the source's position and width. The
    jaw stays the target's, so the face outline and the blending mask do not move. Warping
    onto these points keeps the inter-ocular distance, nose length and mouth placement that
    make a face recognisable as the source.
    """
    target = np.asarray(target_lm68, dtype=np.float64).reshape(68, 2)
    if keep <= 0:
        return target.astype(np.float32)
    fit = _similarity(source_lm68[_RIGID], target_lm68[_RIGID].astype(np.float32))
    aligned = np.asarray(source_lm68, np.float64) @ fit[:, :2].T + fit[:, 2]
    out = target.copy()
    for part in (*_BROWS, _NOSE):
        out[part] += keep * (aligned[part] - target[part])
    for first, second, part in _MOVING:
        centre_t = (target[first] + target[second]) / 2
        centre_a = (aligned[first] + aligned[second]) / 2
        width_t = max(float(np.linalg.norm(target[second] - target[first])), 1e-6)
        ratio = float(np.linalg.norm(aligned[second] - aligned[first])) / width_t
        scale = 1.0 + keep * (ratio - 1.0)
        out[part] = (target[part] - centre_t) * scale + centre_t + keep * (centre_a - centre_t)
    return out.astype(np.float32)


# --- one swap ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ColorStats:
    """Centre and spread of a face's pixels per CIE LAB channel (L 0-100, a and b about ±100),
    as :func:`color_stats` measures them (a robust mean and standard deviation)."""

    mean: npt.NDArray[np.float32]
    std: npt.NDArray[np.float32]

    def to_array(self) -> npt.NDArray[np.float32]:
        return np.stack([self.mean, self.std]).astype(np.float32)

    @classmethod
    def from_array(cls, array: npt.NDArray[np.float32]) -> ColorStats:
        return cls(array[0].astype(np.float32), array[1].astype(np.float32))


def _lab(rgb: Image) -> npt.NDArray[np.float32]:
    return np.asarray(cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab))


def color_stats(rgb: Image, mask: npt.NDArray[np.bool_]) -> ColorStats:
    """Robust LAB statistics of ``rgb`` where ``mask`` is set: the median, and half the range
    from the 16th to the 84th percentile (the standard deviation of a normal distribution,
    unmoved by a beard, make-up or a specular highlight)."""
    pixels = _lab(rgb)[mask]
    if len(pixels) < 16:
        pixels = _lab(rgb).reshape(-1, 3)
    low, mid, high = np.percentile(pixels, [16, 50, 84], axis=0)
    return ColorStats(mid.astype(np.float32), ((high - low) / 2).astype(np.float32))


@dataclass(frozen=True, slots=True, eq=False)
class _Layout:
    """Where a swap happens: a region of the target frame and the face's masks inside it."""

    y0: int
    x0: int
    hull: Mask  # 255 inside the convex hull of the target landmarks
    skin: npt.NDArray[np.bool_]  # the hull eroded, less eyes, brows, mouth: for colour stats
    alpha: npt.NDArray[np.float32]  # feathered, 0 outside the hull
    size: float  # face size in pixels (the longer side of the landmark extent)
    erode: int  # feather width in pixels

    @property
    def rows(self) -> slice:
        return slice(self.y0, self.y0 + self.hull.shape[0])

    @property
    def cols(self) -> slice:
        return slice(self.x0, self.x0 + self.hull.shape[1])


def _layout(shape: tuple[int, ...], target: Points) -> _Layout | None:
    height, width = shape[:2]
    x0, y0, x1, y1 = _extent(target)
    size = max(x1 - x0, y1 - y0)
    erode = max(1, round(_FEATHER * size))
    margin = 2 * erode + 4
    left, top = max(0, math.floor(x0) - margin), max(0, math.floor(y0) - margin)
    right, bottom = min(width, math.ceil(x1) + margin), min(height, math.ceil(y1) + margin)
    if right - left < 8 or bottom - top < 8 or size < 8:
        return None
    hull = _hull((bottom - top, right - left), target, (left, top))
    inner = cv2.erode(hull, _disc(erode))
    if not inner.any():
        return None
    alpha = _feather(inner, erode)
    alpha[hull == 0] = 0.0
    skin = inner.copy()
    _part_hulls(skin, target, (left, top), 2 * erode + 1)
    return _Layout(top, left, hull, skin > 0, alpha, size, erode)


def _feather(mask: npt.NDArray[Any], radius: int) -> npt.NDArray[np.float32]:
    """``mask`` (0-255) blurred to a 0-1 alpha whose edge ramps over ``radius`` px each way."""
    blurred = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (2 * radius + 1,) * 2, radius / 2)
    return np.asarray(blurred, dtype=np.float32)


def _triangle_maps(
    triangles: npt.NDArray[np.int32], source: Points, target: Points
) -> npt.NDArray[np.float64]:
    """Per triangle, the affine map (3 x 2, rows for x, y, 1) from target to source points,
    plus one global affine map last (for pixels outside every triangle or in a flat one)."""
    ones = np.ones((len(target), 1))
    design = np.hstack([target.astype(np.float64), ones])
    overall = np.linalg.lstsq(design, source.astype(np.float64), rcond=None)[0]
    corners = design[triangles]  # (T, 3, 3)
    maps = np.repeat(overall[None], len(triangles) + 1, axis=0)
    solvable = np.abs(np.linalg.det(corners)) > 1e-3
    maps[:-1][solvable] = np.linalg.solve(corners[solvable], source[triangles][solvable])
    return maps


def _warp(source: SourceFace, target: Points, layout: _Layout) -> Image:
    """The source face (RGB and its paste mask, RGBA) warped triangle by triangle onto
    ``target``, over the layout's region."""
    image, points = source.level(layout.size)
    local = target - (layout.x0, layout.y0)
    height, width = layout.hull.shape
    ids = np.full((height, width), len(source.triangles), np.int16)
    for index, triangle in enumerate(source.triangles):
        corners = np.round(local[triangle] * 16).astype(np.int32)
        cv2.fillConvexPoly(ids, corners, index, lineType=cv2.LINE_8, shift=4)
    maps = _triangle_maps(source.triangles, points, local).astype(np.float32)  # (T + 1, 3, 2)
    xs = np.arange(width, dtype=np.float32)[None, :]
    ys = np.arange(height, dtype=np.float32)[:, None]
    # one coefficient at a time: a close-up face stays a few arrays of its own size in memory
    map_x = xs * maps[ids, 0, 0] + ys * maps[ids, 1, 0] + maps[ids, 2, 0]
    map_y = xs * maps[ids, 0, 1] + ys * maps[ids, 1, 1] + maps[ids, 2, 1]
    warped = cv2.remap(
        image,
        map_x,
        map_y,
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0, 0),  # off the source picture: nothing to paste
    )
    return np.asarray(warped, dtype=np.uint8)


def _transfer(face: Image, source: ColorStats, target: ColorStats) -> Image:
    """Reinhard colour transfer: ``face``'s LAB statistics moved from ``source`` to ``target``."""
    gain = np.clip(target.std / np.maximum(source.std, 1e-3), 1 / _MAX_GAIN, _MAX_GAIN)
    lab = (_lab(face) - source.mean) * gain + target.mean
    rgb = np.asarray(cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_Lab2RGB), np.float32)
    return np.asarray(np.clip(np.rint(rgb * 255.0), 0, 255), dtype=np.uint8)


def _seamless(face: Image, target: Image, hull: Mask) -> Image:
    """Poisson cloning of ``face`` into ``target`` inside ``hull`` (all the same size).

    The region is padded (mirrored pixels, an empty mask border) so that a face cut by the
    frame edge never reaches the border of what OpenCV sees; the placement point is the centre
    OpenCV derives from the mask's bounding box, so the clone lands where the face is.
    """
    if not hull.any():
        return face
    pad = 3
    src = cv2.copyMakeBorder(face, pad, pad, pad, pad, cv2.BORDER_REFLECT_101)
    dst = cv2.copyMakeBorder(target, pad, pad, pad, pad, cv2.BORDER_REFLECT_101)
    mask = cv2.copyMakeBorder(hull, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    x, y, w, h = cv2.boundingRect(mask)
    cloned = cv2.seamlessClone(src, dst, mask, (x + w // 2, y + h // 2), cv2.NORMAL_CLONE)
    return np.asarray(cloned[pad:-pad, pad:-pad], dtype=np.uint8)


def _composite(target: Image, face: Image, alpha: npt.NDArray[np.float32]) -> Image:
    base = target.astype(np.float32)
    out = np.rint(base + alpha[..., None] * (face.astype(np.float32) - base))
    mixed = np.clip(out, 0, 255).astype(np.uint8)
    return np.asarray(np.where((alpha > 0)[..., None], mixed, target), dtype=np.uint8)


def _check_keep(keep: float) -> float:
    if not 0.0 <= keep <= 1.0:
        raise ValueError(f"keep_shape must be in [0, 1], got {keep}")
    return float(keep)


def _check_blend(blend: str) -> None:
    if blend not in BLENDS:
        raise ValueError(f"blend must be one of {', '.join(BLENDS)}, got {blend!r}")


def _swap(
    source: SourceFace,
    frame: Image,
    target: Points,
    blend: str,
    keep: float,
    choose: Callable[[tuple[ColorStats, ColorStats]], tuple[ColorStats, ColorStats]],
) -> tuple[Image, Mask]:
    """The swapped frame and its alpha mask (0-255); ``choose`` turns the colour statistics
    measured this time, (source, target), into the ones applied."""
    mask = np.zeros(frame.shape[:2], np.uint8)
    layout = _layout(frame.shape, target)
    if layout is None:
        return frame.copy(), mask
    region = frame[layout.rows, layout.cols]
    warped = _warp(source, keep_source_shape(source.landmarks, target, keep), layout)
    face, pasted = warped[..., :3], warped[..., 3]
    skin = layout.skin & (pasted > 127)
    measured = (color_stats(face, skin), color_stats(region, skin))
    face = _transfer(face, *choose(measured))
    if blend == "seamless":
        face = _seamless(face, region, np.where(pasted > 127, layout.hull, 0).astype(np.uint8))
    alpha = layout.alpha * _feather(pasted, layout.erode)
    out = frame.copy()
    out[layout.rows, layout.cols] = _composite(region, face, alpha)
    mask[layout.rows, layout.cols] = np.ceil(alpha * 255.0).astype(np.uint8)
    return out, mask


def swap_face(
    source_rgb: Image,
    source_lm68: Points,
    target_rgb: Image,
    target_lm68: Points,
    *,
    blend: str = "alpha",
    keep_shape: float = KEEP_SHAPE,
    color_stats: tuple[ColorStats, ColorStats] | None = None,
) -> tuple[Image, Mask]:
    """``target_rgb`` with the source face put onto the face with ``target_lm68``.

    Returns the new frame (a copy) and the alpha mask used, ``(h, w)`` uint8, 0 wherever the
    frame is unchanged bit for bit (everything outside the target landmarks' hull).
    ``color_stats`` = (source, target) LAB statistics replaces the measured ones (smoothed
    statistics from a video, say). A face entirely outside the frame changes nothing.
    """
    _check_blend(blend)
    _check_keep(keep_shape)
    source = SourceFace.from_landmarks(source_rgb, source_lm68)
    target = np.asarray(target_lm68, dtype=np.float32).reshape(68, 2)
    frame = np.ascontiguousarray(target_rgb)
    return _swap(source, frame, target, blend, keep_shape, lambda measured: color_stats or measured)


# --- video ------------------------------------------------------------------------------------


class OneEuroFilter:
    """Casiez et al.'s 1€ filter over arrays, with one cutoff shared by every element.

    A low-pass filter whose cutoff rises with speed: still input loses its jitter, fast motion
    is followed with little lag. Speed is measured in ``scale`` units per second (face sizes,
    for landmarks) as the 90th percentile over elements, so a fast mouth or a turning head
    lifts the cutoff for the whole shape and the shape moves as one.
    """

    def __init__(self, min_cutoff: float, beta: float, d_cutoff: float = 1.0) -> None:
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self._value: npt.NDArray[np.float64] | None = None
        self._speed: npt.NDArray[np.float64] | None = None

    def reset(self) -> None:
        self._value = self._speed = None

    @property
    def value(self) -> npt.NDArray[np.float64] | None:
        return self._value

    @staticmethod
    def _alpha(cutoff: float, dt: float) -> float:
        return 1.0 / (1.0 + 1.0 / (2.0 * math.pi * cutoff * dt))

    def __call__(
        self, x: npt.NDArray[Any], dt: float, scale: float = 1.0
    ) -> npt.NDArray[np.float64]:
        x = np.asarray(x, dtype=np.float64)
        if self._value is None or self._speed is None:
            self._value, self._speed = x.copy(), np.zeros_like(x)
            return x.copy()
        speed = (x - self._value) / dt / max(scale, 1e-6)
        a = self._alpha(self.d_cutoff, dt)
        self._speed = a * speed + (1 - a) * self._speed
        cutoff = self.min_cutoff + self.beta * float(np.percentile(np.abs(self._speed), 90))
        a = self._alpha(cutoff, dt)
        self._value = a * x + (1 - a) * self._value
        return self._value.copy()


class FaceSwapper:
    """Swaps one source face into one face track of a video, frame by frame, smoothly.

    ``smoothing`` in [0, 1]: 0 swaps each frame's raw landmarks and colours; 1 smooths
    hardest. Landmarks go through a :class:`OneEuroFilter` (min cutoff from 3 Hz at 0 down to
    0.3 Hz at 1) that restarts when the face jumps by more than a third of its size (a cut, a
    different person) or after :meth:`reset` (the track was lost); colour statistics follow an
    exponential average with a time constant of ``smoothing`` x 0.6 s.
    """

    JUMP = 0.33

    def __init__(
        self,
        source: SourceFace,
        *,
        blend: str = "alpha",
        smoothing: float = 0.5,
        keep_shape: float = KEEP_SHAPE,
        fps: float = 30.0,
    ) -> None:
        _check_blend(blend)
        if not 0.0 <= smoothing <= 1.0:
            raise ValueError(f"smoothing must be in [0, 1], got {smoothing}")
        if not fps > 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.source, self.blend, self.smoothing, self.dt = source, blend, smoothing, 1.0 / fps
        self.keep_shape = _check_keep(keep_shape)
        self._landmarks = OneEuroFilter(min_cutoff=3.0 * 10.0**-smoothing, beta=4.0)
        self._stats: npt.NDArray[np.float64] | None = None

    def reset(self) -> None:
        """Forget the smoothing state (call when the face was lost or the shot changed)."""
        self._landmarks.reset()
        self._stats = None

    def smooth(self, target_lm68: Points) -> Points:
        """The smoothed landmarks for this frame (updates the filter)."""
        target = np.asarray(target_lm68, dtype=np.float32).reshape(68, 2)
        if self.smoothing == 0:
            return target
        x0, y0, x1, y1 = _extent(target)
        size = max(x1 - x0, y1 - y0, 1.0)
        previous = self._landmarks.value
        if previous is not None and np.abs(target - previous).mean() > self.JUMP * size:
            self.reset()
        return self._landmarks(target, self.dt, size).astype(np.float32)

    def _stats_for(self, measured: tuple[ColorStats, ColorStats]) -> tuple[ColorStats, ColorStats]:
        now = np.stack([s.to_array() for s in measured]).astype(np.float64)
        if self._stats is None or self.smoothing == 0:
            self._stats = now
        else:
            a = 1.0 - math.exp(-self.dt / (0.6 * self.smoothing))
            self._stats = a * now + (1 - a) * self._stats
        source, target = (ColorStats.from_array(s.astype(np.float32)) for s in self._stats)
        return source, target

    def swap(self, frame: Image, target_lm68: Points) -> tuple[Image, Mask]:
        """``frame`` with the source face on the (smoothed) target face; see :func:`swap_face`."""
        target = self.smooth(target_lm68)
        frame = np.ascontiguousarray(frame)
        return _swap(self.source, frame, target, self.blend, self.keep_shape, self._stats_for)
