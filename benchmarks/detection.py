"""Passive detection: held-out accuracy, calibration and speed of face_cnn, beside MesoNet.

    .venv/bin/python benchmarks/detection.py [--folds 4] [--frames 32] [--epochs 20]
        [--self-blend 1.0] [--synthetic DIR] [--model MODEL] [--out DIR] [--json PATH]

Data (``../shared/data``): the FaceForensics++ clips (3 originals, one each of Deepfakes,
Face2Face, FaceSwap, NeuralTextures), the CNNDetection FF++ and StarGAN/CelebA face crops
(label border cut), the four MesoNet sample crops, and composites made here by our own
``cameo_composite`` backend over the shared face photos and the FF++ originals
(:mod:`cameoguard.datasets.synthetic`; built into ``--out`` unless ``--synthetic`` names a
built one).

Protocol: ``--folds``-fold cross-validation over connected components of ids (an FF++ original,
its manipulations and every composite made from its frames are one unit; so is a cluster of
people in the composites), so every file is scored by a model that never saw its video or
identity. In each fold ``face_cnn`` is trained on the other folds with 25 % of their units held
back for calibration and the verdict thresholds (FPR 1 %); the held-out files get calibrated
probabilities. Metrics are over the pooled held-out files, per source (each source's fakes
against its own reals): AUC, AP, EER, accuracy at the operating point, ECE (10 bins), and for
video also frame-level AUC and the clip aggregate (mean vs DFDC-style confident frames).
MesoNet (all four published weight files, raw scores: no calibration claimed) scores the same
files. A ROC plot (PNG) is written to ``--out``.

Speed (on ``--model`` if given, else a model trained on everything): milliseconds per face crop
(ONNX), per image end to end (decode, MTCNN, crop, score), and seconds to score a 10 s 1280x720
clip (16 sampled frames), median of 3.

Targets (issue 6): video AUC >= 0.95 on held-out FF++ sources, AUC >= 0.90 on our composites,
ECE <= 0.05, a 10 s 720p clip in <= 5 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import machine_info
from cameoguard.consent.faces import FaceDetector
from cameoguard.datasets import Label, MediaSample, combine_datasets, load_dataset
from cameoguard.datasets.splits import components
from cameoguard.detection.calibration import Verdict, expected_calibration_error
from cameoguard.detection.evaluation import evaluate, evaluate_raw
from cameoguard.detection.scorer import CalibratedScorer
from cameoguard.detection.training import metrics, train_detector
from cameoguard.media import Limits
from cameoguard.settings import Settings

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SOURCES = (
    "FF++ videos",
    "FF++ crops (CNNDetection)",
    "StarGAN/CelebA (CNNDetection)",
    "MesoNet crops",
    "composites, images",
    "composites, videos",
)


def source_of(sample: MediaSample) -> str:
    path = sample.path.as_posix()
    if sample.dataset == "synthetic_composites":
        return f"composites, {sample.media}s"
    if "videos/ffpp" in path:
        return "FF++ videos"
    if "cnndetection/deepfake" in path:
        return "FF++ crops (CNNDetection)"
    if "cnndetection/stargan" in path:
        return "StarGAN/CelebA (CNNDetection)"
    return "MesoNet crops"


@dataclass
class Scored:
    sample: MediaSample
    probability: float | None
    verdict: Verdict | None
    mean: float | None = None  # clips: plain mean of calibrated face scores
    frame_scores: list[float] = field(default_factory=list)
    note: str | None = None


def _folds(samples: Sequence[MediaSample], k: int) -> list[list[MediaSample]]:
    units = sorted(components(samples).values(), key=len, reverse=True)
    folds: list[list[MediaSample]] = [[] for _ in range(k)]
    for unit in units:  # largest first onto the smallest fold: folds of similar size
        min(folds, key=len).extend(unit)
    return folds


def _score_fold(scorer: CalibratedScorer, held: Sequence[MediaSample]) -> list[Scored]:
    out: list[Scored] = []
    images = [s for s in held if s.media == "image"]
    for row, sample in zip(evaluate(scorer, images).rows, images, strict=True):
        out.append(Scored(sample, row.fake_probability, row.verdict, note=row.note))
    for sample in (s for s in held if s.media == "video"):
        score = scorer.score(sample.path)
        frames = [f.score for f in score.faces]
        mean = float(np.mean(frames)) if frames else None
        out.append(Scored(sample, score.fake_probability, score.verdict, mean, frames, score.note))
    return out


def _metrics(rows: Sequence[Scored], *, use_mean: bool = False) -> dict[str, Any]:
    rows = [r for r in rows if r.probability is not None]
    y = [r.sample.label.target for r in rows]
    p = [float((r.mean if use_mean else r.probability) or 0.0) for r in rows]
    if not rows:
        return {"n": 0}
    from cameoguard.detection.calibration import OperatingPoints

    out = metrics(y, p, OperatingPoints(0.5, 0.5, 0.0, 0.0, 0.0, 0.0))
    del out["accuracy_at_threshold"]  # folds have their own thresholds: use their verdicts
    hits = [
        (r.verdict is Verdict.LIKELY_MANIPULATED) == (t == 1) for r, t in zip(rows, y, strict=True)
    ]
    out["accuracy_at_op"] = float(np.mean(hits))
    out["ece"] = expected_calibration_error(np.asarray(p), np.asarray(y))
    return out


def _frame_auc(rows: Sequence[Scored]) -> float | None:
    from sklearn.metrics import roc_auc_score

    y = [r.sample.label.target for r in rows for _ in r.frame_scores]
    s = [v for r in rows for v in r.frame_scores]
    return float(roc_auc_score(y, s)) if len(set(y)) == 2 else None


def _roc_png(curves: dict[str, tuple[list[int], list[float]]], path: Path) -> None:
    from PIL import Image, ImageDraw
    from sklearn.metrics import roc_curve

    size, pad = 520, 50
    image = Image.new("RGB", (size + 2 * pad, size + 2 * pad + 20 * len(curves)), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle([pad, pad, pad + size, pad + size], outline="black")
    draw.line([pad, pad + size, pad + size, pad], fill=(200, 200, 200))
    draw.text((pad, pad + size + 8), "false-positive rate ->", fill="black")
    draw.text((4, pad - 20), "true-positive rate", fill="black")
    colours = [
        (31, 119, 180),
        (255, 127, 14),
        (44, 160, 44),
        (214, 39, 40),
        (148, 103, 189),
        (140, 86, 75),
        (227, 119, 194),
        (127, 127, 127),
    ]
    for i, (name, (y, s)) in enumerate(curves.items()):
        if len(set(y)) < 2:
            continue
        fpr, tpr, _ = roc_curve(y, s)
        points = [(pad + f * size, pad + size - t * size) for f, t in zip(fpr, tpr, strict=True)]
        colour = colours[i % len(colours)]
        draw.line(points, fill=colour, width=2)
        draw.text((pad, pad + size + 28 + 20 * i), name, fill=colour)
    image.save(path)


def _speed(scorer: CalibratedScorer, image: Path, clip: Path, crops: list[Any]) -> dict[str, float]:
    detector = scorer.detector
    detector.fake_scores(crops[:4])
    started = time.perf_counter()
    for _ in range(5):
        detector.fake_scores(crops)
    per_crop = (time.perf_counter() - started) / (5 * len(crops)) * 1000
    image_ms = []
    for _ in range(5):
        started = time.perf_counter()
        scorer.score(image)
        image_ms.append((time.perf_counter() - started) * 1000)
    clip_s = []
    for _ in range(3):
        started = time.perf_counter()
        scorer.score(clip)
        clip_s.append(time.perf_counter() - started)
    return {
        "ms_per_face_crop": per_crop,
        "ms_per_image": statistics.median(image_ms),
        "s_per_10s_720p_clip": statistics.median(clip_s),
    }


def _make_clip(source: Path, out: Path, limits: Limits) -> Path:
    import cv2

    from cameoguard.media import iter_frames, write_video

    frames = []
    for frame in iter_frames(source, limits):
        frames.append(cv2.resize(frame.rgb, (1280, 720), interpolation=cv2.INTER_LINEAR))
        if len(frames) >= 300:
            break
    while len(frames) < 300:
        frames += frames[: 300 - len(frames)]
    return write_video(out, frames, 30.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--frames", type=int, default=32, help="frames sampled per clip")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--self-blend", type=float, default=1.0)
    parser.add_argument("--synthetic", type=Path, help="a built composites dataset")
    parser.add_argument("--model", type=Path, help="model for the speed rows")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "cg-detbench")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--reuse", action="store_true", help="reuse saved cross-validation scores")
    args = parser.parse_args(argv)
    import cv2
    import torch

    torch.set_num_threads(2)
    cv2.setNumThreads(2)
    if not SHARED.is_dir():
        print(f"needs the shared test data at {SHARED}")
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    settings = Settings(data_dir=args.out / "data")
    limits = Limits.from_settings(settings)
    faces = FaceDetector()
    synthetic = args.synthetic
    if synthetic is None:
        synthetic = args.out / "synthetic"
        if not (synthetic / "labels.csv").is_file():
            from cameoguard.datasets.synthetic import (
                SynthSettings,
                build_composites,
                people_from_folders,
            )
            from cameoguard.watermark.keys import WatermarkKey
            from cameoguard.watermark.marker import Watermarker

            people = people_from_folders(
                [
                    SHARED / "faces/face_recognition",
                    SHARED / "faces/faceapi_js",
                    SHARED / "real_fake/videos/ffpp/original",
                ],
                exclude=["multi_face"],
            )
            started = time.perf_counter()
            report = build_composites(
                people,
                synthetic,
                marker=Watermarker(WatermarkKey.generate()),
                faces=faces,
                limits=limits,
                settings=SynthSettings(video_seconds=6, fakes_per_target=2),
            )
            print(
                f"built {report.fake} composites and {report.real} originals in "
                f"{time.perf_counter() - started:.0f} s",
                flush=True,
            )
    dataset = combine_datasets(
        [load_dataset("csv", synthetic), load_dataset("csv", SHARED / "real_fake/labels.csv")]
    )
    samples = list(dataset.samples)
    cache = args.out / "crops"
    params = {"epochs": args.epochs, "self_blend": args.self_blend}
    from cameoguard.datasets.crops import CropSettings

    crops = CropSettings(frames=args.frames)
    saved = args.out / f"cv-scores-{args.folds}-{args.frames}-{args.epochs}-{args.self_blend}.json"
    by_path = {str(s.path): s for s in samples}

    def fit(train: Sequence[MediaSample], seed: str, frames: int) -> CalibratedScorer:
        """face_cnn fitted on ``train`` with 25 % of its units held back for calibration."""
        result = train_detector(
            train,
            "face_cnn",
            limits=limits,
            faces=faces,
            crops=crops,
            cache_dir=cache,
            test=0.0,
            val=0.25,
            params=params,
            seed=seed,
        )
        return CalibratedScorer(
            result.detector, result.calibrator, result.points, faces, limits, frames=frames
        )

    scored: list[Scored] = []
    if args.reuse and saved.is_file():
        for item in json.loads(saved.read_text()):
            verdict = None if item["verdict"] is None else Verdict(item["verdict"])
            scored.append(
                Scored(
                    by_path[item["path"]],
                    item["probability"],
                    verdict,
                    item["mean"],
                    item["frame_scores"],
                    item["note"],
                )
            )
        print(f"reusing the cross-validation scores in {saved}")
    else:
        started = time.perf_counter()
        for index, held in enumerate(_folds(samples, args.folds)):
            held_set = set(held)
            pool = [s for s in samples if s not in held_set]
            scorer = fit(pool, f"fold{index}", args.frames)
            scored += _score_fold(scorer, held)
            print(
                f"fold {index + 1}/{args.folds}: {len(held)} files held out, "
                f"{time.perf_counter() - started:.0f} s",
                flush=True,
            )
        saved.write_text(
            json.dumps(
                [
                    {
                        "path": str(r.sample.path),
                        "probability": r.probability,
                        "verdict": None if r.verdict is None else r.verdict.value,
                        "mean": r.mean,
                        "frame_scores": r.frame_scores,
                        "note": r.note,
                    }
                    for r in scored
                ]
            )
        )

    rows: dict[str, dict[str, Any]] = {}
    curves: dict[str, tuple[list[int], list[float]]] = {}
    for source in SOURCES:
        part = [r for r in scored if source_of(r.sample) == source]
        if not part:
            continue
        rows[source] = _metrics(part)
        rows[source]["unscored"] = sum(r.probability is None for r in part)
        if source.endswith("videos"):
            rows[source]["frame_auc"] = _frame_auc(part)
            rows[source]["auc_mean_aggregate"] = _metrics(part, use_mean=True).get("auc")
        ok = [r for r in part if r.probability is not None]
        curves[f"face_cnn: {source}"] = (
            [r.sample.label.target for r in ok],
            [float(r.probability or 0) for r in ok],
        )
    rows["all files"] = _metrics(scored)

    meso: dict[str, dict[str, Any]] = {}
    weights = settings.mesonet_weights or SHARED / "models/deepfake_detector/mesonet"
    meso_saved = args.out / f"mesonet-{args.frames}.json"
    if args.reuse and meso_saved.is_file():
        meso = json.loads(meso_saved.read_text())
    elif weights.is_dir():
        from cameoguard.detection.mesonet import MesoNetDetector

        for variant in ("meso4", "mesoinception4"):
            for trained_on in ("DF", "F2F"):
                detector = MesoNetDetector(
                    variant=variant, trained_on=trained_on, weights_dir=weights
                )
                name = f"{variant}_{trained_on}"
                meso[name] = {}
                for source in SOURCES:
                    part = [s for s in samples if source_of(s) == source]
                    raw = evaluate_raw(detector, faces, limits, part, frames=args.frames)
                    meso[name][source] = raw.files.get("auc")
        meso_saved.write_text(json.dumps(meso))
    speed: dict[str, float] = {}
    if args.model is not None:
        scorer = CalibratedScorer.load(args.model, faces, limits, frames=16)
    else:
        scorer = fit(samples, "cameoguard", 16)
    clip = _make_clip(
        SHARED / "real_fake/videos/ffpp/original/004.mp4", args.out / "clip720.mp4", limits
    )
    from cameoguard.datasets.crops import extract_face_crops

    photo = SHARED / "faces/face_recognition/obama/obama.jpg"
    some = MediaSample(photo, Label.REAL, "image", "speed", "speed")
    face_crops = list(extract_face_crops(some, faces, limits, crops, cache).crops) * 32
    speed = _speed(scorer, photo, clip, face_crops)

    _roc_png(curves, args.out / "roc.png")
    print()
    print("| source | files (fake) | AUC | AP | EER | acc@op | ECE | frame AUC | AUC (mean agg.) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")

    def f(v: Any) -> str:
        return "-" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)

    for source, m in rows.items():
        print(
            f"| {source} | {m.get('n', 0)} ({m.get('fake', 0)}) | {f(m.get('auc'))} | "
            f"{f(m.get('ap'))} | {f(m.get('eer'))} | {f(m.get('accuracy_at_op'))} | "
            f"{f(m.get('ece'))} | {f(m.get('frame_auc'))} | "
            f"{f(m.get('auc_mean_aggregate'))} |"
        )
    if meso:
        print()
        print("| MesoNet (raw, published weights) AUC | " + " | ".join(SOURCES) + " |")
        print("|---|" + "---:|" * len(SOURCES))
        for name, by in meso.items():
            print(f"| {name} | " + " | ".join(f(by.get(s)) for s in SOURCES) + " |")
    print()
    print(
        f"speed: {speed['ms_per_face_crop']:.2f} ms per face crop, "
        f"{speed['ms_per_image']:.0f} ms per image end to end, "
        f"{speed['s_per_10s_720p_clip']:.2f} s per 10 s 720p clip (16 frames)"
    )
    print(f"ROC plot: {args.out / 'roc.png'}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": machine_info(),
                    "params": params,
                    "folds": args.folds,
                    "frames": args.frames,
                    "face_cnn": rows,
                    "mesonet": meso,
                    "speed": speed,
                },
                indent=2,
                default=str,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
