"""CLI: detect train|eval|score with a small spectral model trained on a fabricated folder set."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cameoguard.cli.main import main
from cameoguard.datasets import load_dataset
from cameoguard.detection.training import split_for_training
from cameoguard.media import save_image, write_video
from cameoguard.settings import get_settings
from tests.detection.test_evaluation import make_tree
from tests.detection.test_spectral import _crops, _photos, _upsampled

from .test_cli import _run

SEED = "s1"


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tree(tmp_path_factory.mktemp("cli-detect"), crops_per_photo=6)


@pytest.fixture(scope="module")
def model(tree: Path) -> Path:
    path = tree.parent / "models" / "spectral.npz"
    code = main(
        [
            "detect",
            "train",
            "--dataset",
            "folder",
            "--root",
            str(tree),
            "--detector",
            "spectral",
            "--seed",
            SEED,
            "-o",
            str(path),
            "--json",
        ]
    )
    assert code == 0 and path.is_file()
    return path


def test_train_reports_test_metrics_and_split_counts(
    tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "m.npz"
    code, stdout, err = _run(
        capsys,
        "detect",
        "train",
        "--dataset",
        "folder",
        "--root",
        str(tree),
        "--detector",
        "spectral",
        "--param",
        "C=0.5",
        "--fpr",
        "0.05",
        "-o",
        str(out),
        "--json",
    )
    assert code == 0, err
    result = json.loads(stdout)
    assert out.is_file() and Path(result["card"]).is_file()
    assert set(result["counts"]) == {"train", "val", "test"}
    assert all(c["pictures"] > c["fake"] > 0 for c in result["counts"].values())
    assert result["test_metrics"]["auc"] > 0.9
    assert result["training_data"].startswith("folder dataset at ")
    card = json.loads(Path(result["card"]).read_text())
    assert card["split"]["seed"] == "cameoguard" and card["split"]["crops"]["frames"] == 16
    assert (card["split"]["test"], card["split"]["val"]) == (0.2, 0.2)
    assert result["operating_points"]["fpr"] == 0.05

    code, stdout, err = _run(
        capsys,
        "detect",
        "train",
        "--dataset",
        "folder",
        "--root",
        str(tree),
        "--detector",
        "spectral",
        "-o",
        str(out),
    )
    assert code == 0, err
    assert "trained spectral" in stdout and "test metrics" in stdout and "val" in stdout


def test_eval_reproduces_the_training_split(
    tree: Path, model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, stdout, err = _run(
        capsys,
        "detect",
        "eval",
        "--model",
        str(model),
        "--dataset",
        "folder",
        "--root",
        str(tree),
        "--json",
    )
    assert code == 0, err
    result = json.loads(stdout)
    samples = load_dataset("folder", tree).samples
    test = split_for_training(
        samples, {"seed": SEED, "test": 0.2, "val": 0.2, "weighted_by_frames": 16}
    )["test"]
    assert result["split"] == "test" and result["seed"] == SEED  # read back from the card
    assert result["files"]["total"] == len(test) and result["files"]["unscored"] == 0
    assert result["file_metrics"]["auc"] > 0.9
    assert set(result["by_method"]) == {"nearest", "checker"}
    card = json.loads(model.with_suffix(".npz.card.json").read_text())
    for name in ("n", "fake", "auc", "ap", "eer", "ece", "accuracy_at_threshold"):
        # one picture per file: the files of the test split are the card's test pictures
        assert result["file_metrics"][name] == pytest.approx(card["metrics"]["test"][name])

    code, stdout, _ = _run(
        capsys,
        "detect",
        "eval",
        "--model",
        str(model),
        "--dataset",
        "folder",
        "--root",
        str(tree),
        "--split",
        "all",
    )
    assert code == 0
    assert f"{len(samples)} files" in stdout and "by method" in stdout


def test_score_json_human_and_bad_files(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    crop = _crops(_photos()[3], 1, np.random.default_rng(21))[0]
    real = save_image(crop, tmp_path / "real.png")
    fake = save_image(_upsampled(crop), tmp_path / "fake.png")
    clip = write_video(tmp_path / "clip.mp4", [_upsampled(crop)] * 8, fps=4)
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 truncated")
    files = [real, fake, clip, corrupt, tmp_path / "missing.png"]
    code, stdout, err = _run(
        capsys,
        "detect",
        "score",
        *map(str, files),
        "--model",
        str(model),
        "--frames",
        "4",
        "--json",
    )
    assert code == 2, err  # bad input among the files; the others are still scored
    rows = json.loads(stdout)
    assert [r["path"] for r in rows] == [str(f) for f in files]
    for row in rows[:3]:
        assert 0.0 <= row["fake_probability"] <= 1.0
        assert row["verdict"] in ("likely_real", "uncertain", "likely_manipulated")
    assert rows[1]["fake_probability"] > rows[0]["fake_probability"]
    assert rows[2]["frames_sampled"] == 4 and len(rows[2]["faces"]) == 4
    assert {"frame_index", "t_s", "score"} <= set(rows[2]["faces"][0])
    assert rows[3]["error"]["code"] == "media.corrupt" and rows[3]["fake_probability"] is None
    assert rows[4]["error"]["code"] == "input.not_found"

    code, stdout, err = _run(
        capsys, "detect", "score", str(fake), str(corrupt), "--model", str(model)
    )
    assert code == 2 and "Traceback" not in stdout + err
    lines = stdout.strip().splitlines()
    assert "fake probability" in lines[0] and "error" in stdout


def test_score_uses_the_configured_model_or_says_how_to_configure_one(
    model: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    picture = save_image(_crops(_photos()[0], 1, np.random.default_rng(2))[0], tmp_path / "a.png")
    code, _, err = _run(capsys, "detect", "score", str(picture))
    assert code == 2 and "CAMEOGUARD_DETECTOR_MODEL" in err and "--model" in err
    assert "Traceback" not in err
    monkeypatch.setenv("CAMEOGUARD_DETECTOR_MODEL", str(model))
    get_settings.cache_clear()
    code, stdout, err = _run(capsys, "detect", "score", str(picture), "--json")
    assert code == 0, err
    assert json.loads(stdout)[0]["detector"] == "spectral"
    code, _, err = _run(
        capsys, "detect", "score", str(picture), "--model", str(tmp_path / "none.npz")
    )
    said = " ".join(err.split())
    assert code == 2 and "not found" in said and "detect train" in said and "builtin" in said


def test_data_that_cannot_train_is_refused_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(3)
    for n, crop in enumerate(_crops(_photos()[1], 12, rng)):
        save_image(crop, tmp_path / "reals" / "real" / f"r{n}.png")
    out = tmp_path / "out" / "m.npz"
    code, stdout, err = _run(
        capsys,
        "detect",
        "train",
        "--dataset",
        "folder",
        "--root",
        str(tmp_path / "reals"),
        "--detector",
        "spectral",
        "-o",
        str(out),
        "--json",
    )
    assert code == 2 and "one class only" in err and "Traceback" not in err
    assert stdout == "" and not out.exists()
    assert not out.with_suffix(".npz.card.json").exists()
    code, _, err = _run(
        capsys,
        "detect",
        "train",
        "--dataset",
        "folder",
        "--root",
        str(tmp_path / "reals"),
        "--detector",
        "spectral",
        "--option",
        "nonsense",
        "-o",
        str(out),
    )
    assert code == 2 and "KEY=VALUE" in err
    code, _, err = _run(
        capsys,
        "detect",
        "train",
        "--dataset",
        "folder",
        "--root",
        str(tmp_path / "reals"),
        "--detector",
        "spectral",
        "--option",
        "colour=1",
        "-o",
        str(out),
    )
    assert code == 2 and "no option 'colour'" in err
    code, _, err = _run(
        capsys,
        "detect",
        "train",
        "--dataset",
        "folder",
        "--root",
        str(tmp_path / "reals"),
        "--detector",
        "spectral",
        "--fpr",
        "5",
        "-o",
        str(out),
    )
    assert code == 2 and "--fpr 5" in err and not out.exists()


def test_synth_builds_marked_pairs_with_the_deployment_key(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    people = tmp_path / "people"
    for name, photo in (("obama", "obama/obama.jpg"), ("biden", "biden/biden.jpg")):
        (people / name).mkdir(parents=True)
        source = shared_data / "faces/face_recognition" / photo
        (people / name / source.name).write_bytes(source.read_bytes())
    out = tmp_path / "synth"
    code, stdout, _ = _run(capsys, "detect", "synth", str(out), "--people", str(people), "--json")
    assert code == 0, stdout
    report = json.loads(stdout)
    assert (report["fake"], report["real"], report["skipped"]) == (2, 2, [])
    assert load_dataset("csv", out).by_label() == {"FAKE": 2, "REAL": 2}
    code, stdout, _ = _run(capsys, "watermark", "detect", str(next((out / "fake").rglob("*.jpg"))))
    assert code == 0 and "g_" in stdout  # marked with this deployment's key
    code, _, err = _run(capsys, "detect", "synth", str(out), "--people", str(people))
    assert code == 2 and "not empty" in err
