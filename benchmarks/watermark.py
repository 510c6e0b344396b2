"""Watermark benchmark: every scheme under one attack suite, images, video and audio, one table.

    .venv/bin/python benchmarks/watermark.py [--quick] [--rivagan-images N] [--out PATH]

Images: the shared faces (``../shared/data/faces``) and scikit-image's sample images (grey ones
made RGB, the logo composited on white). Images with a side under 256 px are upscaled (bicubic)
to a 512 px short side, images with a side over ``--max-side`` (1024) are reduced (area) to it,
so that the slow baselines stay inside the time budget; the report names both. Each scheme marks
each image with fresh random bits: ``tiled`` a random 48-bit payload through
:class:`PayloadCodec` (172 channel bits), ``dwtdct``, ``dwtdctsvd`` and ``rivagan`` 32 random
raw bits. rivaGan costs seconds per image and attack, so it runs on ``--rivagan-images`` (6)
images spread evenly over the set, each reduced to 384 px on its long side (256 px at least on
the short side).

Attacks (``_attacks.py``): none, JPEG q90/75/50, resize to 0.5 and back, centre crop 10 % (the
central 90 % of each side, resized back), brightness and contrast +-20 %, Gaussian noise
sigma 5, and a screenshot-like re-render (resize to 0.8, PNG). Recovery: ``tiled`` reads the
candidates in order (at most ``max_candidates``) and succeeds when the first that decodes is the
embedded payload; a baseline succeeds when all 32 bits are right. Bit accuracy: share of channel
bits whose sign is right, from the candidate that decoded (else the strongest candidate; no
candidate counts 0.5) for ``tiled``, of the 32 bits for the baselines. PSNR and SSIM (RGB,
scikit-image) compare the marked image with the original. Embed and detect time are measured
on one 1280x720 FF++ frame, median of a few runs.

False positives: ``tiled`` detection plus codec decode on ``--false-positives`` (1000) unmarked
images: the image set and FF++ frames as they are, then random crops and rescales of them (at
least 256 px a side); any payload that decodes is a false positive. Printed beside the analytic
bound (decisions x ``false_alarm_bound(max_candidates)``).

Video: 10 s 720p clips cut from the FF++ 720p originals and manipulated clips, re-encoded with
``write_video`` (cached in ``benchmarks/results/media/``): the unmarked sources. Each is marked
with ``Watermarker.embed_file`` (timed), then attacked (H.264 CRF 23 and 28 re-encode, 480p +
H.264, frame rate x0.8 by dropping frames, first 2 s trimmed; x264 ``veryfast``) and read with
``Watermarker.detect_file`` (timed). The unmarked sources are read too (expected: not found).

Audio (when the ``stft-ss`` scheme is available): synthetic 10 s speech-like and music-like
stereo clips, marked with ``Watermarker.embed_audio``, attacked (AAC and MP3 128 kbit/s through
``write_audio``/``load_audio``, resampled to 16 kHz, first 2 s trimmed), read by the scheme and
the codec; SNR of marked vs original.

Everything is seeded (``--seed``): the key, the payloads, the noise and the crops. Progress goes
to stderr, the report (markdown) to stdout, the results to ``benchmarks/results/watermark.json``
(``watermark-quick.json`` with ``--quick``) or ``--out``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from skimage import data as skdata
from skimage.metrics import structural_similarity

import _machine
from _attacks import (
    AUDIO_ATTACKS,
    IMAGE_ATTACKS,
    VideoAttack,
    downscale,
    frame_rate,
    music_like,
    same,
    speech_like,
    trim_start,
)
from cameoguard.media import Limits, write_video
from cameoguard.media.image import load_image
from cameoguard.media.probe import probe
from cameoguard.media.types import AudioClip
from cameoguard.media.video import iter_frames, sample_frames
from cameoguard.watermark.base import (
    AudioScheme,
    ImageScheme,
    SoftBits,
    available_schemes,
    create_scheme,
)
from cameoguard.watermark.keys import WatermarkKey
from cameoguard.watermark.payload import CODED_BITS, ID_BITS, PayloadCodec, false_alarm_bound

RGB = npt.NDArray[np.uint8]
RESULTS = Path(__file__).resolve().parent / "results"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
MEDIA_VERSION = "v1"  # bump when the cut clips change, so stale caches are not reused
LIMITS = Limits(
    max_bytes=1 << 31, max_pixels=1 << 27, max_video_seconds=600.0, max_audio_seconds=600.0
)

SKIMAGE_NAMES = (
    "astronaut",
    "camera",
    "coffee",
    "chelsea",
    "rocket",
    "immunohistochemistry",
    "hubble_deep_field",
    "moon",
    "coins",
    "retina",
    "colorwheel",
    "grass",
    "gravel",
    "brick",
    "clock",
    "logo",
    "page",
    "text",
)
IMAGE_SCHEMES = ("tiled", "dwtdct", "dwtdctsvd", "rivagan")
MIN_SIDE, UPSCALE_TO, RIVAGAN_MAX_SIDE = 256, 512, 384
TIMING_REPEATS = {"tiled": 10, "dwtdct": 3, "dwtdctsvd": 3, "rivagan": 1}
VIDEO_CLIPS = ("original/004", "original/634", "NeuralTextures/004_982", "FaceSwap/634_660")
CLIP_SECONDS = 10.0
ATTACK_PRESET = "veryfast"
VIDEO_ATTACKS: dict[str, tuple[VideoAttack | None, int]] = {
    "none": (None, 0),  # the marked file as written by embed_file
    "h264-crf23": (same, 23),
    "h264-crf28": (same, 28),
    "480p+h264-crf23": (downscale(480), 23),
    "fps-x0.8+h264-crf23": (frame_rate(0.8), 23),
    "trim-2s+h264-crf23": (trim_start(2.0), 23),
}
AUDIO_CLIPS = (("speech", 44_100), ("music", 48_000), ("speech", 48_000), ("music", 44_100))
AUDIO_SECONDS = 10.0
TARGETS = {
    "image_recovery": 0.99,
    "crop_recovery": 0.95,
    "psnr_db": 38.0,
    "video": 1.0,
    "video_embed_s": 20.0,
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- reading a mark -------------------------------------------------------------------------


@dataclass(frozen=True)
class Read:
    """One detection: the payload right, a wrong payload decoded, channel-bit accuracy."""

    recovered: bool
    wrong: bool
    bit_accuracy: float
    seconds: float


def read_payload(
    candidates: Sequence[SoftBits], codec: PayloadCodec, payload: int, limit: int, seconds: float
) -> Read:
    """As :class:`Watermarker` does: the first of ``limit`` candidates whose tag checks."""
    truth = codec.encode(payload).astype(bool)
    tried = list(candidates[:limit])
    for cand in tried:
        decoded = codec.decode(cand.values)
        if decoded is not None:
            accuracy = float(np.mean((cand.values > 0) == truth))
            return Read(decoded.value == payload, decoded.value != payload, accuracy, seconds)
    accuracy = float(np.mean((tried[0].values > 0) == truth)) if tried else 0.5
    return Read(False, False, accuracy, seconds)


def read_raw(candidates: Sequence[SoftBits], bits: npt.NDArray[np.uint8], seconds: float) -> Read:
    if not candidates:
        return Read(False, False, 0.5, seconds)
    right = (candidates[0].values > 0) == bits.astype(bool)
    return Read(bool(np.all(right)), False, float(np.mean(right)), seconds)


def random_payload(rng: np.random.Generator) -> int:
    return int(rng.integers(1, 1 << ID_BITS))


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


# --- results --------------------------------------------------------------------------------


@dataclass
class Tally:
    """Reads of one (scheme, attack) row."""

    recovered: int = 0
    wrong: int = 0
    bit_accuracy: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    def add(self, read: Read, item: str) -> None:
        self.recovered += read.recovered
        self.wrong += read.wrong
        self.bit_accuracy.append(read.bit_accuracy)
        self.seconds.append(read.seconds)
        if not read.recovered:
            self.misses.append(item)

    @property
    def n(self) -> int:
        return len(self.bit_accuracy)

    @property
    def rate(self) -> float:
        return self.recovered / self.n if self.n else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "recovered": self.recovered,
            "recovery": round(self.rate, 4),
            "wrong_payloads": self.wrong,
            "bit_accuracy": round(statistics.fmean(self.bit_accuracy), 4),
            "detect_s_median": round(statistics.median(self.seconds), 4),
            "misses": self.misses,
        }


Rows = dict[tuple[str, str], Tally]


def row(rows: Rows, scheme: str, attack: str) -> Tally:
    return rows.setdefault((scheme, attack), Tally())


# --- images ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TestImage:
    name: str
    source: str  # "skimage" or "faces"
    rgb: RGB = field(repr=False)
    note: str = ""  # "upscaled from WxH" / "reduced from WxH"


def to_rgb(image: npt.NDArray[Any]) -> RGB:
    """scikit-image data as RGB uint8: grey stacked, alpha composited on white, floats scaled."""
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    elif image.dtype != np.uint8:
        image = np.clip(np.asarray(image, np.float64) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    if image.shape[2] == 4:
        alpha = image[:, :, 3:4].astype(np.float32) / 255.0
        over = image[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
        return np.clip(np.rint(over), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(image[:, :, :3])


def fit(rgb: RGB, max_side: int) -> tuple[RGB, str]:
    """Upscale a side < 256 to a 512 short side; else reduce the long side to ``max_side`` (0:
    never), keeping the aspect ratio and at least 256 px on the short side."""
    h, w = rgb.shape[:2]
    if min(h, w) < MIN_SIDE:
        s, interp, what = UPSCALE_TO / min(h, w), cv2.INTER_CUBIC, "upscaled"
    elif max_side and max(h, w) > max_side:
        s, interp, what = max(max_side / max(h, w), MIN_SIDE / min(h, w)), cv2.INTER_AREA, "reduced"
    else:
        return rgb, ""
    if s == 1.0:
        return rgb, ""
    out = cv2.resize(rgb, (round(w * s), round(h * s)), interpolation=interp)
    return np.asarray(out, np.uint8), f"{what} from {w}x{h}"


def face_paths() -> list[Path]:
    root = SHARED / "faces"
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})


def load_images(max_side: int, quick: bool) -> list[TestImage]:
    images: list[TestImage] = []
    names = SKIMAGE_NAMES[:3] if quick else SKIMAGE_NAMES
    for name in names:
        rgb, note = fit(to_rgb(getattr(skdata, name)()), max_side)
        images.append(TestImage(name, "skimage", rgb, note))
    faces = face_paths()
    if quick:
        faces = faces[:: max(1, len(faces) // 3)][:3]
    for path in faces:
        rgb, note = fit(load_image(path, LIMITS), max_side)
        images.append(TestImage(str(path.relative_to(SHARED / "faces")), "faces", rgb, note))
    return images


def spread(n_items: int, k: int) -> list[int]:
    """``k`` indices spread evenly over ``range(n_items)``."""
    if k >= n_items:
        return list(range(n_items))
    return sorted({round(i * (n_items - 1) / max(1, k - 1)) for i in range(k)})


def psnr(a: RGB, b: RGB) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


def ssim(a: RGB, b: RGB) -> float:
    return float(structural_similarity(a, b, channel_axis=2, data_range=255))


@dataclass
class ImageResult:
    """What one image gave under every scheme (computed in a worker process)."""

    reads: list[tuple[str, str, Read]] = field(default_factory=list)
    quality: list[tuple[str, float, float]] = field(default_factory=list)  # scheme, PSNR, SSIM
    embed_s: list[tuple[str, float]] = field(default_factory=list)
    other_key_found: int = 0
    line: str = ""


# Worker state: set before the pool forks, so the workers inherit it instead of unpickling it.
_STATE: dict[str, Any] = {}


def _scheme(name: str, key: WatermarkKey) -> ImageScheme:
    cache: dict[tuple[str, bytes], ImageScheme] = _STATE.setdefault("schemes", {})
    if (name, key.secret) not in cache:
        cache[name, key.secret] = image_scheme(name, key)
    return cache[name, key.secret]


def image_job(i: int) -> ImageResult:
    image: TestImage = _STATE["images"][i]
    key, other, seed = _STATE["key"], _STATE["other"], _STATE["seed"]
    codec = PayloadCodec(key)
    out, start, got = ImageResult(), time.perf_counter(), []
    for k, name in enumerate(IMAGE_SCHEMES):
        if name == "rivagan" and i not in _STATE["riva"]:
            continue
        scheme = _scheme(name, key)
        rgb = image.rgb if name != "rivagan" else fit(image.rgb, RIVAGAN_MAX_SIDE)[0]
        rng = np.random.default_rng([seed, i, k])
        payload = random_payload(rng)
        bits = codec.encode(payload) if name == "tiled" else rng.integers(0, 2, 32, np.uint8)
        marked, seconds = timed(lambda s=scheme, r=rgb, b=bits: s.embed_image(r, b))
        out.embed_s.append((name, seconds))
        out.quality.append((name, psnr(rgb, marked), ssim(rgb, marked)))
        ok = 0
        for a, (attack_name, attack) in enumerate(IMAGE_ATTACKS.items()):
            attacked = attack(marked, np.random.default_rng([seed, i, 1000 + a]))
            cands, seconds = timed(lambda s=scheme, x=attacked: s.detect_image(x))
            if name == "tiled":
                read = read_payload(cands, codec, payload, scheme.max_candidates, seconds)
            else:
                read = read_raw(cands, bits, seconds)
            out.reads.append((name, attack_name, read))
            ok += read.recovered
        got.append(f"{name} {ok}/{len(IMAGE_ATTACKS)}")
        if name == "tiled":  # the marked image read with another deployment's key
            theirs = _scheme("tiled", other)
            read = read_payload(theirs.detect_image(marked), PayloadCodec(other), 1, 12, 0)
            out.other_key_found = int(read.recovered or read.wrong)
    h, w = image.rgb.shape[:2]
    out.line = f"{image.name} {w}x{h}: {', '.join(got)} ({time.perf_counter() - start:.1f} s)"
    return out


def run_jobs(job: Callable[[Any], Any], items: Sequence[Any], jobs: int) -> Iterator[Any]:
    """``map(job, items)`` in order, over ``jobs`` forked worker processes when above 1."""
    if jobs <= 1:
        yield from map(job, items)
        return
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        yield from pool.map(job, items)


def bench_images(
    images: list[TestImage], key: WatermarkKey, other: WatermarkKey, args: argparse.Namespace
) -> tuple[Rows, dict[str, Any]]:
    riva = set(spread(len(images), args.rivagan_images))
    _STATE.update(images=images, key=key, other=other, seed=args.seed, riva=riva)
    rows: Rows = {}
    quality: dict[str, dict[str, list[tuple[float, str]]]] = {}
    embed_s: dict[str, list[float]] = {}
    other_found = 0
    for i, result in enumerate(run_jobs(image_job, range(len(images)), args.jobs)):
        for name, attack_name, read in result.reads:
            row(rows, name, attack_name).add(read, images[i].name)
        for name, p, q in result.quality:
            quality.setdefault(name, {"psnr": [], "ssim": []})
            quality[name]["psnr"].append((p, images[i].name))
            quality[name]["ssim"].append((q, images[i].name))
        for name, seconds in result.embed_s:
            embed_s.setdefault(name, []).append(seconds)
        other_found += result.other_key_found
        log(f"[{i + 1}/{len(images)}] {result.line}")
    summary = {
        "quality": {
            name: {
                "psnr_mean": round(statistics.fmean(v for v, _ in q["psnr"]), 2),
                "psnr_min": round(min(q["psnr"])[0], 2),
                "psnr_min_image": min(q["psnr"])[1],
                "ssim_mean": round(statistics.fmean(v for v, _ in q["ssim"]), 4),
                "ssim_min": round(min(q["ssim"])[0], 4),
                "ssim_min_image": min(q["ssim"])[1],
                "n": len(q["psnr"]),
                "per_image": {
                    n: [round(p, 2), round(s, 4)]
                    for (p, n), (s, _) in zip(q["psnr"], q["ssim"], strict=True)
                },
            }
            for name, q in quality.items()
        },
        "embed_s_median": {n: round(statistics.median(v), 4) for n, v in embed_s.items()},
        "rivagan_images": [images[i].name for i in sorted(riva)],
        "other_key": {"decisions": len(images), "found": other_found},
    }
    return rows, summary


def image_scheme(name: str, key: WatermarkKey) -> ImageScheme:
    """From the registry; straight from its module when the registry cannot load (the registry
    imports every built-in scheme, the audio one included, before it answers)."""
    try:
        scheme = create_scheme(name, key)
    except ImportError as exc:
        log(f"the scheme registry failed to load ({exc}); building {name} directly")
        from cameoguard.watermark.baselines import ImwatermarkScheme
        from cameoguard.watermark.tiled import TiledScheme

        methods = {"dwtdct": "dwtDct", "dwtdctsvd": "dwtDctSvd", "rivagan": "rivaGan"}
        scheme = TiledScheme(key) if name == "tiled" else ImwatermarkScheme(methods[name])
    assert isinstance(scheme, ImageScheme)
    return scheme


def audio_scheme_ready() -> str | None:
    """None when ``stft-ss`` is registered, else why not."""
    try:
        names = {s.name for s in available_schemes()}
    except Exception as exc:  # a half-written module may raise anything on import
        return f"the scheme registry failed to load: {type(exc).__name__}: {exc}"
    return None if "stft-ss" in names else "the stft-ss scheme is not registered yet"


# --- timing on a 720p frame -----------------------------------------------------------------


def frame_720p() -> tuple[RGB, str]:
    path = SHARED / "real_fake" / "videos" / "ffpp" / "original" / "004.mp4"
    if path.is_file():
        frame = next(iter_frames(path, LIMITS)).rgb
        if frame.shape[:2] == (720, 1280):
            return frame, "first frame of FF++ original/004.mp4"
    rgb = cv2.resize(to_rgb(skdata.astronaut()), (1280, 720), interpolation=cv2.INTER_CUBIC)
    return np.asarray(rgb), "astronaut resized to 1280x720"


def bench_timing(key: WatermarkKey, quick: bool) -> dict[str, Any]:
    frame, what = frame_720p()
    codec = PayloadCodec(key)
    rng = np.random.default_rng(7)
    out: dict[str, Any] = {"frame": what}
    for name in IMAGE_SCHEMES:
        scheme = image_scheme(name, key)
        bits = codec.encode(12345) if name == "tiled" else rng.integers(0, 2, 32, np.uint8)
        repeats = 1 if quick and name != "tiled" else TIMING_REPEATS[name]
        if name == "rivagan":  # load the model outside the timed call
            scheme.embed_image(np.zeros((256, 256, 3), np.uint8), bits)
        else:
            scheme.detect_image(scheme.embed_image(frame, bits))
        log(f"timing {name} on a 1280x720 frame ({repeats} runs) ...")
        embed = [timed(lambda s=scheme, b=bits: s.embed_image(frame, b)) for _ in range(repeats)]
        marked = embed[0][0]
        detect = [timed(lambda s=scheme, m=marked: s.detect_image(m))[1] for _ in range(repeats)]
        out[name] = {
            "embed_ms": round(1000 * statistics.median(t for _, t in embed), 1),
            "detect_ms": round(1000 * statistics.median(detect), 1),
            "repeats": repeats,
        }
        if name == "tiled":
            embedder, build = timed(
                lambda s=scheme, b=bits: s.video_embedder(b, 720, 1280, [frame] * 8)
            )
            per_frame = [timed(lambda e=embedder: e(frame))[1] for _ in range(repeats)]
            out[name] |= {
                "video_setup_ms (8 reference frames)": round(1000 * build, 1),
                "video_frame_ms": round(1000 * statistics.median(per_frame), 1),
            }
    return out


# --- false positives ------------------------------------------------------------------------


def ffpp_videos() -> list[Path]:
    return sorted((SHARED / "real_fake" / "videos" / "ffpp").glob("*/*.mp4"))


def variant(rgb: RGB, rng: np.random.Generator) -> tuple[RGB, str]:
    """A random crop (0.5 to 1 of each side), rescaled by 0.6 to 1.4 half the time; >= 256 px."""
    h, w = rgb.shape[:2]
    ch = int(rng.integers(min(h, max(MIN_SIDE, h // 2)), h + 1))
    cw = int(rng.integers(min(w, max(MIN_SIDE, w // 2)), w + 1))
    y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    out = rgb[y : y + ch, x : x + cw]
    what = f"crop {cw}x{ch}+{x}+{y}"
    if rng.random() < 0.5:
        s = max(float(rng.uniform(0.6, 1.4)), MIN_SIDE / min(ch, cw))
        size = (max(MIN_SIDE, round(cw * s)), max(MIN_SIDE, round(ch * s)))
        interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
        out = np.asarray(cv2.resize(out, size, interpolation=interp))
        what += f" scaled {s:.2f}"
    return np.ascontiguousarray(out), what


def fp_job(decisions: range) -> tuple[list[str], int]:
    """Detect and decode on unmarked decisions ``decisions``: (payloads found, candidates)."""
    sources: list[tuple[str, RGB]] = _STATE["fp_sources"]
    scheme, codec = _scheme("tiled", _STATE["key"]), PayloadCodec(_STATE["key"])
    found: list[str] = []
    attempts = 0
    for d in decisions:
        if d < len(sources):
            name, rgb = sources[d]
            what = "whole"
        else:
            rng = np.random.default_rng([_STATE["seed"], 99, d])
            name, rgb = sources[int(rng.integers(len(sources)))]
            rgb, what = variant(rgb, rng)
        tried = scheme.detect_image(rgb)[: scheme.max_candidates]
        attempts += len(tried)
        for cand in tried:
            decoded = codec.decode(cand.values)
            if decoded is not None:
                found.append(f"{name} ({what}): {decoded.text}")
                break
    return found, attempts


def bench_false_positives(
    images: list[TestImage], key: WatermarkKey, args: argparse.Namespace
) -> dict[str, Any]:
    n, per_video = args.false_positives, 8 if args.quick else 24
    sources: list[tuple[str, RGB]] = [(im.name, im.rgb) for im in images]
    for path in ffpp_videos():
        for frame in sample_frames(path, per_video, LIMITS):
            sources.append((f"{path.parent.name}/{path.name}#{frame.index}", frame.rgb))
    _STATE.update(fp_sources=sources, key=key, seed=args.seed)
    chunks = [range(lo, min(n, lo + 50)) for lo in range(0, n, 50)]
    found: list[str] = []
    attempts = done = 0
    start = time.perf_counter()
    for chunk, (hits, tried) in zip(chunks, run_jobs(fp_job, chunks, args.jobs), strict=True):
        found += hits
        attempts += tried
        done += len(chunk)
        if done % 250 == 0 or done == n:
            log(f"false positives: {done}/{n} ({time.perf_counter() - start:.0f} s)")
    max_candidates = _scheme("tiled", key).max_candidates
    per_decision = false_alarm_bound(max_candidates)
    return {
        "decisions": n,
        "sources": len(sources),
        "ffpp_frames": len(sources) - len(images),
        "candidates_decoded": attempts,
        "found": len(found),
        "found_items": found,
        "max_candidates": max_candidates,
        "bound_per_decision": per_decision,
        "bound_expected": n * per_decision,
        "seconds": round(time.perf_counter() - start, 1),
    }


# --- video ----------------------------------------------------------------------------------


def cut_clip(source: Path, dest: Path) -> Path:
    """The first 10 s of ``source`` re-encoded by ``write_video`` (crf 20): an unmarked source."""
    if dest.is_file():
        return dest
    fps = probe(source, LIMITS).fps or 25.0
    frames = (f.rgb for f in islice(iter_frames(source, LIMITS), round(CLIP_SECONDS * fps)))
    dest.parent.mkdir(parents=True, exist_ok=True)
    return write_video(dest, frames, fps)


def bench_video(
    key: WatermarkKey, clips: Sequence[str], seed: int, work: Path
) -> tuple[Rows, dict[str, Any]]:
    from cameoguard.watermark.marker import Watermarker

    marker = Watermarker(key)
    rows: Rows = {}
    per_clip: dict[str, Any] = {}
    scheme_name = f"{marker.image_scheme.name} (video)"
    for c, clip in enumerate(clips):
        src = SHARED / "real_fake" / "videos" / "ffpp" / f"{clip}.mp4"
        if not src.is_file():
            log(f"video: {src} is missing, skipped")
            continue
        name = clip.replace("/", "-")
        source = cut_clip(src, RESULTS / "media" / f"wm-{name}-10s-{MEDIA_VERSION}.mp4")
        info = probe(source, LIMITS)
        payload = random_payload(np.random.default_rng([seed, 500, c]))
        marked = work / f"{name}-marked.mp4"
        cpu = time.process_time()
        _, embed_s = timed(lambda s=source, m=marked, p=payload: marker.embed_file(s, m, p, LIMITS))
        embed_cpu_s = time.process_time() - cpu
        unmarked, _ = timed(lambda s=source: marker.detect_file(s, LIMITS))
        record: dict[str, Any] = {
            "source": f"{info.width}x{info.height} {info.fps} fps {info.duration_s} s",
            "embed_s": round(embed_s, 2),
            "embed_cpu_s": round(embed_cpu_s, 2),
            "unmarked_found": unmarked.found,
            "attacks": {},
        }
        frames, decode_s = timed(lambda m=marked: [f.rgb for f in iter_frames(m, LIMITS)])
        fps = probe(marked, LIMITS).fps or 25.0
        if c == 0:  # what embed_file cannot go below: decoding and x264 at its crf 18
            _, encode_s = timed(
                lambda f=frames, r=fps: write_video(work / "floor.mp4", f, r, crf=18)
            )
            record |= {"decode_s": round(decode_s, 2), "encode_crf18_s": round(encode_s, 2)}
        for attack_name, (attack, crf) in VIDEO_ATTACKS.items():
            path = marked
            if attack is not None:
                path = work / f"{name}-{attack_name}.mp4"
                out_frames, out_fps = attack(frames, fps)
                write_video(path, out_frames, out_fps, crf=crf, preset=ATTACK_PRESET)
            det, seconds = timed(lambda p=path: marker.detect_file(p, LIMITS))
            track = det.tracks[0] if det.tracks else None
            if det.found and track is not None and track.bit_agreement is not None:
                accuracy = track.bit_agreement
            else:  # what the strongest candidate says, for the bit accuracy column
                sampled = [f.rgb for f in sample_frames(path, 24, LIMITS)]
                cands = marker.image_scheme.detect_frames(sampled)
                limit = marker.image_scheme.max_candidates
                accuracy = read_payload(cands, marker.codec, payload, limit, 0).bit_accuracy
            read = Read(
                det.found and det.payload == payload,
                det.found and det.payload != payload,
                accuracy,
                seconds,
            )
            row(rows, scheme_name, attack_name).add(read, clip)
            record["attacks"][attack_name] = {
                "recovered": read.recovered,
                "detect_s": round(seconds, 2),
            }
            if path != marked:
                path.unlink()
        per_clip[clip] = record
        log(
            f"video {clip}: embed {embed_s:.1f} s ({embed_cpu_s:.1f} s CPU), "
            + ", ".join(
                f"{a} {'ok' if r['recovered'] else 'MISS'}" for a, r in record["attacks"].items()
            )
        )
        marked.unlink(missing_ok=True)
    return rows, {
        "clips": per_clip,
        "scheme": marker.image_scheme.name,
        "attack_preset": ATTACK_PRESET,
    }


# --- audio ----------------------------------------------------------------------------------


def snr_db(orig: npt.NDArray[np.float32], marked: npt.NDArray[np.float32]) -> float:
    o = orig.astype(np.float64)
    d = marked.astype(np.float64) - o
    return float(10.0 * np.log10(np.sum(o**2) / max(float(np.sum(d**2)), 1e-30)))


def bench_audio(
    key: WatermarkKey, clips: Sequence[tuple[str, int]], seed: int, work: Path
) -> tuple[Rows, dict[str, Any]]:
    from cameoguard.watermark.marker import Watermarker

    marker = Watermarker(key)
    scheme: AudioScheme = marker.audio_scheme
    rows: Rows = {}
    snrs, embed_s, detect_s = [], [], []
    unmarked_found = 0
    for c, (kind, rate) in enumerate(clips):
        rng = np.random.default_rng([seed, 700, c])
        make = speech_like if kind == "speech" else music_like
        original = AudioClip(make(AUDIO_SECONDS, rate, rng), rate)
        payload = random_payload(rng)
        marked, seconds = timed(lambda o=original, p=payload: marker.embed_audio(o, p))
        embed_s.append(seconds)
        snrs.append(snr_db(original.samples, marked.samples))
        unmarked = marker.detect_audio(original)
        unmarked_found += unmarked.found
        item = f"{kind}-{rate // 1000}k-{c}"
        for attack_name, attack in AUDIO_ATTACKS.items():
            x, sr = attack(marked.samples, rate, work, LIMITS)
            cands, seconds = timed(lambda x=x, sr=sr: scheme.detect_audio(x, sr))
            detect_s.append(seconds)
            read = read_payload(cands, marker.codec, payload, scheme.max_candidates, seconds)
            row(rows, f"{scheme.name} (audio)", attack_name).add(read, item)
        log(f"audio {item}: SNR {snrs[-1]:.1f} dB")
    return rows, {
        "scheme": scheme.name,
        "clips": len(clips),
        "seconds": AUDIO_SECONDS,
        "snr_db_mean": round(statistics.fmean(snrs), 2),
        "snr_db_min": round(min(snrs), 2),
        "embed_s_median": round(statistics.median(embed_s), 3),
        "detect_s_median": round(statistics.median(detect_s), 3),
        "unmarked_found": unmarked_found,
    }


# --- environment ----------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    packages = ("numpy", "opencv-python-headless", "opencv-python", "av", "onnxruntime",
                "invisible-watermark", "scikit-image", "cameoguard")  # fmt: skip
    return {
        **_machine.machine_info(),
        "load_avg_start": [round(x, 2) for x in os.getloadavg()],
        "versions": _machine.package_versions(packages),
    }


# --- report ---------------------------------------------------------------------------------


def pct(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{100 * x:.1f} %"


def table(rows: Rows) -> list[str]:
    lines = ["| scheme | attack | recovery | bit accuracy | n |", "|---|---|---:|---:|---:|"]
    for (scheme, attack), t in rows.items():
        acc = statistics.fmean(t.bit_accuracy)
        lines.append(f"| {scheme} | {attack} | {pct(t.rate)} | {100 * acc:.1f} % | {t.n} |")
    return lines


def check(ok: bool) -> str:
    return "ok" if ok else "MISS"


def report(results: dict[str, Any], rows: Rows) -> list[str]:
    m = results["machine"]
    out = [
        "# cameoguard watermark benchmark",
        "",
        f"{m['cpu']}, {m['cores']} cores, load average {m['load_avg_start']} at start, "
        f"{m.get('load_avg_end')} at the end; Python {m['python']}; seed {results['seed']}; "
        f"{results['jobs']} worker processes for images and false positives"
        + (" (--quick)" if results["quick"] else ""),
    ]
    images = results.get("images")
    if images:
        out += [
            "",
            f"Images: {images['count']} ({images['skimage']} scikit-image samples, "
            f"{images['faces']} shared faces); {len(images['upscaled'])} upscaled to a "
            f"{UPSCALE_TO} px short side (a side < {MIN_SIDE} px; the JSON lists them), "
            f"{len(images['reduced'])} reduced to {results['max_side']} px on the long side. "
            f"rivagan: {len(images['rivagan_images'])} of them, at most "
            f"{RIVAGAN_MAX_SIDE} px on the long side unless that takes the short side under "
            f"{MIN_SIDE} px (--rivagan-images "
            f"{results['rivagan_images']}): {', '.join(images['rivagan_images'])}.",
        ]
    out += ["", *table(rows), ""]
    if images:
        out.append("Quality, marked vs original (PSNR dB, SSIM; mean / min):")
        for name, q in images["quality"].items():
            out.append(
                f"- {name}: PSNR {q['psnr_mean']:.2f} / {q['psnr_min']:.2f} "
                f"({q['psnr_min_image']}), SSIM {q['ssim_mean']:.4f} / {q['ssim_min']:.4f} "
                f"({q['ssim_min_image']}) (n={q['n']})"
            )
    timing = results.get("timing")
    if timing:
        out.append(f"Time per 1280x720 frame ({timing['frame']}; median ms, embed / detect):")
        for name in IMAGE_SCHEMES:
            t = timing[name]
            extra = ""
            if "video_frame_ms" in t:
                extra = (
                    f"; as a video, {t['video_frame_ms']:.1f} ms a frame after a "
                    f"{t['video_setup_ms (8 reference frames)']:.0f} ms setup"
                )
            out.append(
                f"- {name}: {t['embed_ms']:.1f} / {t['detect_ms']:.1f} ({t['repeats']} runs){extra}"
            )
    fp = results.get("false_positives")
    if fp:
        out.append(
            f"False positives (tiled, unmarked): {fp['found']} payloads in {fp['decisions']} "
            f"decisions ({fp['sources']} images and FF++ frames whole ({fp['ffpp_frames']} "
            f"frames), the rest random crops/rescales; {fp['candidates_decoded']} candidates "
            f"decoded). Bound: {fp['decisions']} x false_alarm_bound({fp['max_candidates']}) = "
            f"{fp['bound_expected']:.2e} expected; per decision {fp['max_candidates']} x 2^-32 = "
            f"{fp['bound_per_decision']:.2e}."
        )
        ok = images["other_key"] if images else None
        if ok:
            out.append(
                f"  Marked images read with another key: {ok['found']} payloads in "
                f"{ok['decisions']} decisions."
            )
    video = results.get("video")
    if video and video.get("clips"):
        clips = video["clips"]
        embeds = [c["embed_s"] for c in clips.values()]
        cpus = [c["embed_cpu_s"] for c in clips.values()]
        detects = [a["detect_s"] for c in clips.values() for a in c["attacks"].values()]
        out.append(
            f"Video ({len(clips)} clips of 10 s 720p 25 fps, {', '.join(clips)}): embed_file "
            f"{statistics.fmean(embeds):.1f} s mean, {max(embeds):.1f} s max per clip "
            f"(target <= {TARGETS['video_embed_s']:.0f} s on {m['cores']} cores; CPU time "
            f"{statistics.fmean(cpus):.1f} s mean, {max(cpus):.1f} s max); detect_file "
            f"{statistics.median(detects):.1f} s median, {max(detects):.1f} s max; unmarked "
            f"sources found: {sum(c['unmarked_found'] for c in clips.values())}. Attack "
            f"re-encodes: x264 {video['attack_preset']}; fps x0.8 = 25 -> 20 fps."
        )
        first = next(iter(clips.values()))
        if "encode_crf18_s" in first:
            out.append(
                f"  For scale, on the first clip: decoding its frames took "
                f"{first['decode_s']:.1f} s and x264 (crf 18, medium) of them "
                f"{first['encode_crf18_s']:.1f} s of its {first['embed_s']:.1f} s embed_file."
            )
    elif "video_skipped" in results:
        out.append(f"Video: skipped ({results['video_skipped']}).")
    audio = results.get("audio")
    if audio:
        out.append(
            f"Audio ({audio['scheme']}, {audio['clips']} synthetic speech/music clips of "
            f"{audio['seconds']:.0f} s): SNR {audio['snr_db_mean']:.1f} dB mean, "
            f"{audio['snr_db_min']:.1f} dB min; embed {audio['embed_s_median']:.2f} s, detect "
            f"{audio['detect_s_median']:.2f} s (median per clip); unmarked clips found: "
            f"{audio['unmarked_found']}."
        )
    elif "audio_skipped" in results:
        out.append(f"Audio: skipped ({results['audio_skipped']}).")
    wrong = [(k, t.wrong) for k, t in rows.items() if t.wrong]
    if wrong:
        out.append("WRONG payloads decoded: " + ", ".join(f"{s}/{a}: {w}" for (s, a), w in wrong))
    out += ["", "Targets (tiled):", *targets(results, rows)]
    misses = [(k, t.misses) for k, t in rows.items() if k[0].startswith("tiled") and t.misses]
    if misses:
        out.append("tiled misses:")
        out += [f"- {a} ({s}): {', '.join(ms)}" for (s, a), ms in misses]
    out.append(f"Run time: {results['run_s']:.0f} s.")
    return out


def targets(results: dict[str, Any], rows: Rows) -> list[str]:
    out = []
    for (scheme, attack), t in rows.items():
        if scheme == "tiled":
            goal = (
                TARGETS["crop_recovery"] if attack.startswith("crop") else TARGETS["image_recovery"]
            )
            out.append(f"- image {attack}: {pct(t.rate)} >= {pct(goal)}: {check(t.rate >= goal)}")
        elif scheme.startswith("tiled"):
            goal = TARGETS["video"]
            out.append(f"- video {attack}: {pct(t.rate)} >= {pct(goal)}: {check(t.rate >= goal)}")
    images = results.get("images")
    if images and "tiled" in images["quality"]:
        q = images["quality"]["tiled"]
        out.append(
            f"- PSNR mean {q['psnr_mean']:.2f} dB (min {q['psnr_min']:.2f}) >= "
            f"{TARGETS['psnr_db']:.0f} dB: {check(q['psnr_mean'] >= TARGETS['psnr_db'])}"
            f" (min: {check(q['psnr_min'] >= TARGETS['psnr_db'])})"
        )
    video = results.get("video")
    if video and video.get("clips"):
        worst = max(c["embed_s"] for c in video["clips"].values())
        goal = TARGETS["video_embed_s"]
        out.append(
            f"- video embed {worst:.1f} s max per clip <= {goal:.0f} s: {check(worst <= goal)}"
        )
    fp = results.get("false_positives")
    if fp:
        out.append(f"- false positives {fp['found']} == 0: {check(fp['found'] == 0)}")
    return out


# --- main -----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 6 images (2 for rivaGan), 100 false-positive decisions, 1 clip, 2 sounds",
    )
    parser.add_argument(
        "--rivagan-images",
        type=int,
        default=6,
        help="images rivaGan runs on (about 25 s each at 384 px on this VM; default 6)",
    )
    parser.add_argument(
        "--max-side",
        type=int,
        default=1024,
        help="reduce images to this long side (0: never; default 1024)",
    )
    parser.add_argument(
        "--false-positives",
        type=int,
        default=1000,
        help="unmarked decisions for the false-positive count (default 1000)",
    )
    parser.add_argument(
        "--skip", default="", help="comma-separated parts to skip: images,timing,fp,video,audio"
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=len(os.sched_getaffinity(0)),
        help="worker processes for the images and false positives (default: usable cores)",
    )
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--out", type=Path, help="JSON results (default benchmarks/results/...)")
    args = parser.parse_args(argv)
    if args.rivagan_images < 0 or args.false_positives < 0 or args.max_side < 0 or args.jobs < 1:
        parser.error("counts and sizes must not be negative")
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    unknown = args.skip - {"images", "timing", "fp", "video", "audio"}
    if unknown:
        parser.error(f"unknown parts to skip: {', '.join(sorted(unknown))}")
    if args.quick:
        args.rivagan_images = min(args.rivagan_images, 2)
        args.false_positives = min(args.false_positives, 100)
    name = "watermark-quick.json" if args.quick else "watermark.json"
    args.out = args.out or RESULTS / name
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    seed_bytes = hashlib.sha256(f"cameoguard-benchmark/{args.seed}".encode()).digest()
    key = WatermarkKey(seed_bytes)
    other = WatermarkKey(hashlib.sha256(b"other/" + seed_bytes).digest())
    results: dict[str, Any] = {
        "machine": machine_info(),
        "seed": args.seed,
        "quick": args.quick,
        "max_side": args.max_side,
        "jobs": args.jobs,
        "rivagan_images": args.rivagan_images,
        "targets": TARGETS,
        "coded_bits": CODED_BITS,
    }
    rows: Rows = {}
    if not SHARED.is_dir():
        log(f"{SHARED} is missing: only scikit-image samples, no faces or FF++ clips")
    images = load_images(args.max_side, args.quick) if SHARED.is_dir() else []
    if "images" not in args.skip:
        log(
            f"images: {len(images)}, schemes {', '.join(IMAGE_SCHEMES)}, "
            f"{len(IMAGE_ATTACKS)} attacks"
        )
        image_rows, summary = bench_images(images, key, other, args)
        rows |= image_rows
        results["images"] = summary | {
            "count": len(images),
            "skimage": sum(im.source == "skimage" for im in images),
            "faces": sum(im.source == "faces" for im in images),
            "upscaled": [f"{im.name} ({im.note})" for im in images if im.note.startswith("up")],
            "reduced": [f"{im.name} ({im.note})" for im in images if im.note.startswith("red")],
        }
    if "fp" not in args.skip:  # before the timing loads rivaGan's ONNX sessions: workers fork
        results["false_positives"] = bench_false_positives(images, key, args)
    if "timing" not in args.skip:
        results["timing"] = bench_timing(key, args.quick)
    RESULTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=RESULTS, prefix="watermark-") as tmp:
        work = Path(tmp)
        not_ready = audio_scheme_ready()
        if "video" not in args.skip:
            if not_ready is None:
                clips = VIDEO_CLIPS[:1] if args.quick else VIDEO_CLIPS
                video_rows, results["video"] = bench_video(key, clips, args.seed, work)
                rows |= video_rows
            else:
                results["video_skipped"] = f"Watermarker needs stft-ss: {not_ready}"
        if "audio" not in args.skip:
            if not_ready is None:
                clips_a = AUDIO_CLIPS[:2] if args.quick else AUDIO_CLIPS
                audio_rows, results["audio"] = bench_audio(key, clips_a, args.seed, work)
                rows |= audio_rows
            else:
                results["audio_skipped"] = not_ready
    results["run_s"] = round(time.perf_counter() - started, 1)
    results["machine"]["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    results["rows"] = [{"scheme": s, "attack": a} | t.to_dict() for (s, a), t in rows.items()]
    print("\n".join(report(results, rows)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=_json_default) + "\n")
    log(f"wrote {args.out}")
    return 0


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)  # type: ignore[call-overload]
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


if __name__ == "__main__":
    sys.exit(main())
