"""Evaluating a calibrated model on labelled files: rows, metrics, breakdowns, unscored files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cameoguard.consent.faces import FaceDetector
from cameoguard.datasets import Label, MediaSample, load_dataset, split_by_group
from cameoguard.detection.evaluation import evaluate, evaluate_raw, score_picture
from cameoguard.detection.scorer import CalibratedScorer
from cameoguard.detection.training import save_trained, train_detector
from cameoguard.media import Limits, save_image, write_video

from .test_spectral import _crops, _photos, _upsampled

LIMITS = Limits(512 << 20, 80_000_000, 300.0, 600.0)


def checkerboard(crop: np.ndarray, amplitude: int = 6) -> np.ndarray:
    """A faint periodic +-``amplitude`` pattern, as a transposed convolution can leave."""
    y, x = np.indices(crop.shape[:2])
    pattern = np.where((x + y) % 2 == 0, amplitude, -amplitude)[..., None]
    return np.clip(crop.astype(np.int16) + pattern, 0, 255).astype(np.uint8)


def make_tree(root: Path, crops_per_photo: int = 8, seed: int = 11) -> Path:
    """real/pP_N.png beside nearest/fake/pP_N.png and checker/fake/pP_N.png (same group)."""
    rng = np.random.default_rng(seed)
    for p, photo in enumerate(_photos()):
        for n, crop in enumerate(_crops(photo, crops_per_photo, rng)):
            save_image(crop, root / "real" / f"p{p}_{n}.png")
            save_image(_upsampled(crop), root / "nearest" / "fake" / f"p{p}_{n}.png")
            save_image(checkerboard(crop), root / "checker" / "fake" / f"p{p}_{n}.png")
    return root


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tree(tmp_path_factory.mktemp("eval-tree"))


@pytest.fixture(scope="module")
def scorer(tree: Path, detector: FaceDetector) -> CalibratedScorer:
    samples = load_dataset("folder", tree).samples
    result = train_detector(samples, "spectral", limits=LIMITS, faces=detector)
    save_trained(result, tree.parent / "eval.npz", training_data="test tree")
    return CalibratedScorer.load(tree.parent / "eval.npz", detector, LIMITS, frames=3)


def _bad_samples(tmp_path: Path) -> list[MediaSample]:
    corrupt = tmp_path / "fake" / "corrupt.png"
    corrupt.parent.mkdir(parents=True)
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    return [
        MediaSample(corrupt, Label.FAKE, "image", "folder", "corrupt", method="nearest"),
        MediaSample(tmp_path / "real" / "gone.png", Label.REAL, "image", "folder", "gone"),
    ]


def test_rows_metrics_breakdowns_and_unscored_files(
    tree: Path, scorer: CalibratedScorer, tmp_path: Path
) -> None:
    test = split_by_group(
        load_dataset("folder", tree).samples, test=0.2, val=0.2, seed="cameoguard"
    )["test"]
    samples = [*test, *_bad_samples(tmp_path)]
    calls: list[tuple[int, int]] = []
    ev = evaluate(scorer, samples, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (len(samples), len(samples)) and len(calls) == len(samples)
    assert len(ev.rows) == len(samples) and len(ev.scored) == len(test)
    assert {r.path for r in ev.unscored} == {str(s.path) for s in samples[-2:]}
    assert sorted(r.error or "" for r in ev.failed) == ["input.not_found", "media.corrupt"]
    assert all(r.note for r in ev.unscored)

    files = ev.file_metrics()
    assert files["n"] == len(test) and files["unscored"] == 2
    assert files["auc"] > 0.9 and 0.0 <= files["ece"] <= 1.0
    frames = ev.frame_metrics()
    assert frames["n"] == len(test)  # one whole-picture score per image

    reals = sum(1 for s in test if s.label is Label.REAL)
    by_method = ev.breakdown("method")
    assert set(by_method) == {"nearest", "checker"}
    fakes = {m: sum(1 for s in test if s.method == m) for m in by_method}
    for method, m in by_method.items():
        assert m["n"] == reals + fakes[method] and m["fake"] == fakes[method]
    assert by_method["nearest"]["unscored"] == 2  # the corrupt fake and the missing real
    assert by_method["checker"]["unscored"] == 1  # the missing real
    assert set(ev.breakdown("dataset")) == {"folder"}
    assert set(ev.breakdown("category")) == {"nearest", "checker", "none"}

    out = json.loads(json.dumps(ev.to_dict()))
    assert out["files"] == {"total": len(samples), "scored": len(test), "unscored": 2, "failed": 2}
    assert set(out) >= {"file_metrics", "frame_metrics", "by_method", "by_dataset", "rows"}
    row = next(r for r in out["rows"] if r["fake_probability"] is not None)
    assert 0.0 < row["fake_probability"] < 1.0 and row["verdict"] in (
        "likely_real",
        "uncertain",
        "likely_manipulated",
    )


def test_crop_boxes_are_cut_before_scoring(scorer: CalibratedScorer, tmp_path: Path) -> None:
    crop = _upsampled(_crops(_photos()[2], 1, np.random.default_rng(4))[0])
    bordered = np.full((228, 228, 3), 255, np.uint8)  # a label border around the picture
    bordered[50:178, 50:178] = crop
    path = save_image(bordered, tmp_path / "fake" / "bordered.png")
    alone = scorer.score(save_image(crop, tmp_path / "alone.png"))
    good = MediaSample(path, Label.FAKE, "image", "cnn", "b", crop=(50, 50, 178, 178))
    too_big = MediaSample(path, Label.FAKE, "image", "cnn", "c", crop=(50, 50, 306, 306))
    ev = evaluate(scorer, [good, too_big])
    assert ev.rows[0].fake_probability == pytest.approx(alone.fake_probability)
    assert ev.rows[1].error == "evaluation.bad_crop" and "does not fit" in (ev.rows[1].note or "")
    direct = score_picture(scorer, crop, "in memory")
    assert direct.fake_probability == pytest.approx(alone.fake_probability)
    assert direct.verdict == alone.verdict and direct.path == "in memory"


def test_video_files_add_one_score_per_sampled_frame(
    scorer: CalibratedScorer, tmp_path: Path
) -> None:
    crop = _crops(_photos()[1], 1, np.random.default_rng(8))[0]
    clip = write_video(tmp_path / "real" / "clip.mp4", [crop] * 6, fps=3)
    ev = evaluate(scorer, [MediaSample(clip, Label.REAL, "video", "folder", "clip")])
    assert ev.rows[0].scored and ev.rows[0].scores == 3  # scorer.frames
    assert ev.frame_metrics()["n"] == 3 and ev.file_metrics()["n"] == 1
    assert "auc" not in ev.file_metrics()  # one class: no ranking metric is claimed


def test_raw_detectors_get_ranking_metrics_only(
    tree: Path, scorer: CalibratedScorer, detector: FaceDetector, tmp_path: Path
) -> None:
    test = split_by_group(
        load_dataset("folder", tree).samples, test=0.2, val=0.2, seed="cameoguard"
    )["test"]
    raw = evaluate_raw(scorer.detector, detector, LIMITS, [*test, *_bad_samples(tmp_path)])
    out = raw.to_dict()
    assert out["calibrated"] is False and out["file_metrics"]["auc"] > 0.9
    assert {"auc", "ap", "eer"} <= set(out["frame_metrics"])
    assert "ece" not in out["file_metrics"] and "accuracy_at_threshold" not in out["file_metrics"]
    assert out["file_metrics"]["unscored"] == 2 and len(out["unscored"]) == 2
