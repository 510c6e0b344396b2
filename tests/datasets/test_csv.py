"""Labels CSVs: label spellings, optional columns, crops, all problems at once, the shared CSV."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from cameoguard.datasets import Label, load_dataset
from cameoguard.datasets.base import CNNDETECTION_CROP
from cameoguard.datasets.csv_labels import parse_label
from cameoguard.errors import BadInputError
from tests.datasets.conftest import Touch


def _csv(root: Path, text: str, name: str = "labels.csv") -> Path:
    path = root / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("value", "label"),
    [("REAL", Label.REAL), ("real", Label.REAL), ("0", Label.REAL), (" Fake ", Label.FAKE),
     ("FAKE", Label.FAKE), ("1", Label.FAKE), ("2", None), ("", None), ("yes", None)],
)  # fmt: skip
def test_parse_label(value: str, label: Label | None) -> None:
    assert parse_label(value) is label


def test_columns_and_defaults(touch: Touch) -> None:
    root = touch("a.jpg", "v/b.mp4", "ffpp/Deepfakes/000_003.mp4", "c.bin", "cnndetection/x.jpg")
    path = _csv(
        root,
        "path,label,media,group,method,source_ids,compression,split,note\n"
        "a.jpg,real,,,,,,train,\n"
        "v/b.mp4,1,video,g1,FaceSwap,x;y,c23,test,\n"
        "ffpp/Deepfakes/000_003.mp4,FAKE,,,,,,,\n"
        "c.bin,0,image,,,,,,\n"
        f"{root / 'cnndetection' / 'x.jpg'},0,,,,,,,\n",
    )
    ds = load_dataset("csv", path)
    assert [s.path.name for s in ds] == ["a.jpg", "b.mp4", "000_003.mp4", "c.bin", "x.jpg"]
    a, b, f, c, x = ds.samples
    assert a.label is Label.REAL and a.media == "image" and a.group == "a"
    assert a.extra == {"split": "train"} and ds.by_split() == {"none": 3, "test": 1, "train": 1}
    assert b.label is Label.FAKE and b.group == "g1" and b.source_ids == ("g1", "x", "y")
    assert b.method == "FaceSwap" and b.compression == "c23"
    assert f.group == "000" and f.source_ids == ("000", "003")
    assert c.media == "image" and x.crop == CNNDETECTION_CROP and x.path.is_absolute()
    assert load_dataset("csv", root).root == path  # a folder stands for its labels.csv


def test_cnndetection_crop_autodetect_and_override(touch: Touch) -> None:
    root = touch("cnndetection/a.jpg", "b.jpg", "c.jpg", "d.mp4")
    text = (
        "path,label,note\n"
        "cnndetection/a.jpg,REAL,\n"
        "b.jpg,FAKE,inside a 50px border (crop [50:306,50:306] before use!)\n"
        "c.jpg,REAL,aligned face crop\n"
        "d.mp4,REAL,crop [50:306, 50:306]\n"
    )
    path = _csv(root, text)
    crops = [s.crop for s in load_dataset("csv", path)]
    assert crops == [CNNDETECTION_CROP, CNNDETECTION_CROP, None, None]
    forced = [s.crop for s in load_dataset("csv", path, crop_border=True)]
    assert forced == [CNNDETECTION_CROP] * 3 + [None]  # never on a video
    assert {s.crop for s in load_dataset("csv", path, crop_border=False)} == {None}


def test_every_bad_row_is_reported_at_once(touch: Touch) -> None:
    root = touch("a.jpg", "b.jpg", "clip.mp4", "what.xyz")
    rows = ["path,label,media"]
    rows += ["a.jpg,maybe,", "b.jpg,REAL,audio", ",FAKE,", "a.jpg,REAL,", "clip.mp4,REAL,image"]
    rows += ["what.xyz,REAL,"]
    rows += [f"gone{i}.jpg,FAKE," for i in range(8)]
    path = _csv(root, "\n".join(rows) + "\n")
    with pytest.raises(BadInputError) as info:
        load_dataset("csv", path)
    message = str(info.value)
    assert message.startswith(f"labels CSV {path}: 14 problem(s), nothing was loaded")
    for part in (
        "line 2: label 'maybe' is not REAL/real/0 (real) or FAKE/fake/1 (fake)",
        "line 3: media 'audio' is neither image nor video",
        "line 4: empty path",
        "line 5: a.jpg is already on line 2",
        "line 6: clip.mp4 says media image but its suffix is a video",
        "line 7: cannot tell image or video from 'what.xyz'; add a media column",
        "line 8: gone0.jpg not found",
        "... and 4 more",
        "pass missing='skip'",
    ):
        assert part in message
    assert "gone7.jpg" not in message  # first ten only


def test_missing_files_can_be_skipped_explicitly(touch: Touch) -> None:
    root = touch("a.jpg")
    path = _csv(root, "path,label\na.jpg,0\ngone.jpg,1\n")
    ds = load_dataset("csv", path, missing="skip")
    assert len(ds) == 1 and ds.skipped == ("line 3: gone.jpg not found",)
    bad = _csv(root, "path,label\na.jpg,0\ngone.jpg,2\n", "bad.csv")
    with pytest.raises(BadInputError, match="label '2'"):  # skip covers absence only
        load_dataset("csv", bad, missing="skip")


def test_layout_errors(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match=r"labels\.csv not found: a csv dataset is a CSV file"):
        load_dataset("csv", tmp_path)
    path = _csv(tmp_path, "file,class\na.jpg,REAL\n")
    with pytest.raises(BadInputError, match=r"no path or label column \(columns: file, class\)"):
        load_dataset("csv", path)
    path = _csv(tmp_path, "path,label\n", "empty.csv")
    assert len(load_dataset("csv", path)) == 0
    with pytest.raises(BadInputError, match="method_column='kind' is not a column"):
        load_dataset("csv", path, method_column="kind")


@pytest.mark.shared_data
def test_the_shared_labels_csv(shared_data: Path) -> None:
    path = shared_data / "real_fake" / "labels.csv"
    ds = load_dataset("csv", path, method_column="generator_or_source")
    assert len(ds) == 91 and ds.skipped == ()
    assert Counter((s.media, str(s.label)) for s in ds) == {
        ("image", "REAL"): 42,
        ("image", "FAKE"): 42,
        ("video", "REAL"): 3,
        ("video", "FAKE"): 4,
    }
    fakes = Counter(s.method for s in ds if s.label is Label.FAKE)
    assert fakes == {
        "FaceForensics++ Deepfakes face swap": 20,
        "StarGAN (CelebA attribute editing)": 20,
        "deepfake face swap (MesoNet dataset)": 2,
        "FF++ Deepfakes": 1,
        "FF++ Face2Face": 1,
        "FF++ FaceSwap": 1,
        "FF++ NeuralTextures": 1,
    }
    cnn = [s for s in ds if "cnndetection" in s.path.parts]
    assert len(cnn) == 80 and {s.crop for s in cnn} == {CNNDETECTION_CROP}
    assert {s.crop for s in ds if s not in cnn} == {None}
    videos = {s.path.stem: s for s in ds if s.media == "video"}
    assert videos["519_515"].group == videos["519"].group == "519"
    assert videos["519_515"].source_ids == ("519", "515")
    assert all(s.path.is_file() for s in ds)
