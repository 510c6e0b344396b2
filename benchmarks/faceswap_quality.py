"""Face swap quality and speed: identity transfer, temporal jitter, ms per frame at 720p.

    .venv/bin/python benchmarks/faceswap_quality.py [--quick] [--json PATH]

Data: ``../shared/data`` (faces/face_recognition: five people; FaceForensics++ originals);
without it, NASA's portrait of Eileen Collins (scikit-image) stands in where it can.

1. Identity: every ordered pair of the five face_recognition people (first photo each): the
   source's aligned 256 px crop (as enrollment keeps it) is swapped into the target photo and
   the dlib ResNet distance of the result to the source photo and to the target photo is
   measured, for ``keep_shape`` 0 and the default, with the alpha and seamless blends.
   Reported: median distances and the share of pairs where the source is nearer.
2. Jitter: the landmark tracker of the ``cameo_composite`` backend over the first frames of
   each FaceForensics++ original and of a still (noisy, H.264) 720p video: mean frame-to-frame
   landmark displacement ("step") and mean second difference ("jerk", what jitter adds to
   smooth motion), raw and smoothed at several ``smoothing`` values.
3. Speed: the backend end to end on a synthetic 10 s 720p 30 fps target (a face photo moving
   slowly over a 1280 x 720 canvas, with sound): seconds in all, and ms per frame for face
   detection, landmarks (tracking included), warp + colour + blend, and the rest (decode,
   encode, audio).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from cameoguard.consent.embedders.dlib_resnet import DlibResnetEmbedder
from cameoguard.consent.faces import FaceDetector, aligned_crop
from cameoguard.generator_adapter.backends.base import BackendRequest, CameoLikeness
from cameoguard.generator_adapter.backends.composite import CompositeBackend, FaceTracker
from cameoguard.generator_adapter.faceswap import (
    BLENDS,
    KEEP_SHAPE,
    FaceSwapper,
    SourceFace,
    find_source,
    landmarks68,
    swap_face,
    track_landmarks68,
)
from cameoguard.media import AudioClip, Limits, load_image, probe, write_video
from cameoguard.media.types import MediaKind
from cameoguard.media.video import iter_frames

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
PEOPLE = DATA / "faces" / "face_recognition"
FFPP = DATA / "real_fake" / "videos" / "ffpp" / "original"
LIMITS = Limits(1 << 30, 80_000_000, 300.0, 600.0)

Image = npt.NDArray[np.uint8]
Points = npt.NDArray[np.float32]


def astronaut() -> Image:
    import skimage.data

    return np.ascontiguousarray(skimage.data.astronaut())


def crop_of(rgb: Image, detector: FaceDetector) -> Image:
    return aligned_crop(rgb, detector.detect(rgb)[0], 256, 0.2)


# --- 1. identity ------------------------------------------------------------------------------


def identity(detector: FaceDetector, embedder: DlibResnetEmbedder) -> dict[str, Any]:
    people = sorted(p for p in PEOPLE.iterdir() if p.is_dir() and p.name != "multi_face")
    photos = {p.name: load_image(sorted(p.glob("*.jp*g"))[0], LIMITS) for p in people}

    def embed(rgb: Image) -> npt.NDArray[np.float32]:
        return np.asarray(embedder.embed(rgb, detector.detect(rgb)[:1])[0], np.float32)

    vectors = {name: embed(rgb) for name, rgb in photos.items()}
    results: dict[str, list[tuple[float, float]]] = {}
    for source_name, target_name in itertools.permutations(photos, 2):
        source = find_source([crop_of(photos[source_name], detector)], detector)
        assert source is not None, source_name
        target = photos[target_name]
        face = detector.detect(target)[0]
        points = track_landmarks68(target, landmarks68(target, face.box))
        for keep, blend in itertools.product((0.0, KEEP_SHAPE), BLENDS):
            out, _ = swap_face(source.rgb, source.landmarks, target, points, blend=blend,
                               keep_shape=keep)  # fmt: skip
            swapped = embed(out)
            to_source = float(np.linalg.norm(swapped - vectors[source_name]))
            to_target = float(np.linalg.norm(swapped - vectors[target_name]))
            results.setdefault(f"keep_shape={keep:g} blend={blend}", []).append(
                (to_source, to_target)
            )
    summary = {}
    print(f"\n1. identity: {len(people)} people, {len(results[next(iter(results))])} pairs")
    print(f"{'setting':<32} {'d(swap,src)':>12} {'d(swap,tgt)':>12} {'src nearer':>11}")
    for setting, pairs in results.items():
        src, tgt = np.array(pairs).T
        row = {
            "median_to_source": round(float(np.median(src)), 3),
            "median_to_target": round(float(np.median(tgt)), 3),
            "source_nearer": round(float(np.mean(src < tgt)), 3),
        }
        summary[setting] = row
        print(f"{setting:<32} {row['median_to_source']:>12.3f} {row['median_to_target']:>12.3f}"
              f" {row['source_nearer']:>11.0%}")  # fmt: skip
    return summary


# --- 2. jitter --------------------------------------------------------------------------------


def still_video(folder: Path, picture: Image, frames: int) -> Path:
    rng = np.random.default_rng(0)
    canvas = np.full((720, 1280, 3), 70, np.uint8)
    patch = cv2.resize(picture, (560, 560), interpolation=cv2.INTER_AREA)
    canvas[80:640, 360:920] = patch
    noisy = (np.clip(canvas + rng.normal(0, 3, canvas.shape), 0, 255).astype(np.uint8)
             for _ in range(frames))  # fmt: skip
    return write_video(folder / "still.mp4", noisy, 30, crf=23, preset="veryfast")


def _step(points: Points) -> float:
    return float(np.linalg.norm(np.diff(points, axis=0), axis=2).mean())


def _jerk(points: Points) -> float:
    return float(np.linalg.norm(points[2:] - 2 * points[1:-1] + points[:-2], axis=2).mean())


def jitter(
    clips: list[Path], frames: int, detector: FaceDetector, source: SourceFace
) -> dict[str, Any]:
    print(f"\n2. jitter over {frames} frames (px; eye distance in brackets)")
    print(f"{'clip':<12} {'smoothing':>9} {'step':>7} {'jerk':>7} {'|smooth-raw|':>13}")
    summary: dict[str, Any] = {}
    for clip in clips:
        tracker = FaceTracker(detector, 1)
        fps = probe(clip, LIMITS).fps or 25.0
        raw = []
        for frame in itertools.islice(iter_frames(clip, LIMITS), frames):
            faces, _ = tracker.update(frame.rgb)
            if faces[0] is not None:
                raw.append(faces[0])
        track = np.stack(raw)
        eyes = np.linalg.norm(track[:, 36:42].mean(1) - track[:, 42:48].mean(1), axis=1).mean()
        rows = {}
        for smoothing in (0.0, 0.25, 0.5, 1.0):
            swapper = FaceSwapper(source, smoothing=smoothing, fps=fps)
            smooth = np.stack([swapper.smooth(points) for points in track])
            rows[f"{smoothing:g}"] = {
                "step": round(_step(smooth), 3),
                "jerk": round(_jerk(smooth), 3),
                "lag": round(float(np.linalg.norm(smooth - track, axis=2).mean()), 3),
            }
            r = rows[f"{smoothing:g}"]
            print(f"{clip.stem + f' ({eyes:.0f})':<12} {smoothing:>9g} {r['step']:>7.2f} "
                  f"{r['jerk']:>7.2f} {r['lag']:>13.2f}")  # fmt: skip
        summary[clip.stem] = {"frames": len(track), "eye_distance_px": round(float(eyes), 1),
                              **rows}  # fmt: skip
    return summary


# --- 3. speed ---------------------------------------------------------------------------------


def moving_video(folder: Path, picture: Image, seconds: float, fps: int) -> Path:
    patch = cv2.resize(picture, (560, 560), interpolation=cv2.INTER_AREA)
    n = round(seconds * fps)
    t = np.arange(round(seconds * 48_000)) / 48_000
    tone = AudioClip((0.2 * np.sin(2 * np.pi * 220 * t))[None].astype(np.float32), 48_000)

    def frames() -> Any:
        for i in range(n):
            canvas = np.full((720, 1280, 3), 60, np.uint8)
            x, y = round(200 + 400 * i / n), round(80 + 40 * np.sin(i / 40))
            canvas[y : y + 560, x : x + 560] = patch
            yield canvas

    return write_video(folder / "moving.mp4", frames(), fps, tone, crf=18, preset="veryfast")


def speed(folder: Path, target: Path, crop: Image, detector: FaceDetector) -> dict[str, Any]:
    workdir = folder / "work"
    workdir.mkdir()
    cameo = CameoLikeness("cam_bench", "gr_bench", (crop,))
    request = BackendRequest("", MediaKind.VIDEO, workdir, LIMITS, (cameo,), target)
    started = time.perf_counter()
    raw = CompositeBackend(detector).generate(request)
    seconds = time.perf_counter() - started
    frames = raw.details["frames"]
    steps = raw.details["ms_per_frame"]
    rest = 1000 * seconds / frames - sum(steps.values())
    print(
        f"\n3. speed: {frames} frames 1280 x 720 in {seconds:.1f} s "
        f"({1000 * seconds / frames:.1f} ms per frame, {raw.details['detections']} detections)"
    )
    for name, ms in {**steps, "decode + encode + rest": round(rest, 1)}.items():
        print(f"   {name:<24} {ms:>6.1f} ms per frame")  # fmt: skip
    return {"seconds": round(seconds, 2), "frames": frames, "ms_per_frame": steps,
            "rest_ms_per_frame": round(rest, 1), "details": raw.details}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 s video, fewer jitter frames")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    shared = PEOPLE.is_dir()
    detector, embedder = FaceDetector(), DlibResnetEmbedder()
    if shared:
        source_photo = load_image(PEOPLE / "obama" / "obama.jpg", LIMITS)
        target_photo = load_image(PEOPLE / "biden" / "biden.jpg", LIMITS)
    else:
        print("../shared/data not found: the astronaut stands in; identity is skipped")
        source_photo, target_photo = astronaut()[:, ::-1].copy(), astronaut()
    box = detector.detect(target_photo)[0].box
    side = 1.6 * (box[2] - box[0])
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    pad = round(side) + 1
    padded = cv2.copyMakeBorder(target_photo, pad, pad, pad, pad, cv2.BORDER_REFLECT)
    face_patch = padded[round(cy - side) + pad : round(cy + side) + pad,
                        round(cx - side) + pad : round(cx + side) + pad]  # fmt: skip
    crop = crop_of(source_photo, detector)
    source = find_source([crop], detector)
    assert source is not None
    results: dict[str, Any] = {}
    if shared:
        results["identity"] = identity(detector, embedder)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        frames = 60 if args.quick else 150
        clips = [still_video(folder, face_patch, frames)]
        clips += sorted(FFPP.glob("*.mp4")) if FFPP.is_dir() else []
        results["jitter"] = jitter(clips, frames, detector, source)
        target = moving_video(folder, face_patch, 2.0 if args.quick else 10.0, 30)
        results["speed"] = speed(folder, target, crop, detector)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
