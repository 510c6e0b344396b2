"""Real/fake folder trees: class folders at any depth, methods, groups, CNNDetection crops."""

from __future__ import annotations

from pathlib import Path

import pytest

from cameoguard.datasets import Label, load_dataset
from cameoguard.datasets.base import CNNDETECTION_CROP
from cameoguard.errors import BadInputError
from tests.datasets.conftest import Touch


def test_real_and_fake_folders(touch: Touch) -> None:
    root = touch(
        "Real/a.jpg",
        "real/sub/b.PNG",
        "FAKE/c.mp4",
        "fake/d.txt",  # not media
        "fake/.hidden.jpg",
        "loose.jpg",  # outside any class folder
    )
    ds = load_dataset("folder", root)
    assert {(s.path.name, s.label, s.media) for s in ds} == {
        ("a.jpg", Label.REAL, "image"),
        ("b.PNG", Label.REAL, "image"),
        ("c.mp4", Label.FAKE, "video"),
    }
    assert {s.group for s in ds} == {"a", "b", "c"}
    assert {s.method for s in ds} == {None} and {s.crop for s in ds} == {None}
    assert ds.notes == ("1 media file(s) outside any real/ or fake/ folder have no label",)


def test_cnndetection_layout(touch: Touch) -> None:
    root = touch(
        "progan/airplane/0_real/00001.png",
        "progan/airplane/1_fake/00001.png",
        "stargan/1_fake/x.png",
        root=Path(touch()) / "CNNDetection" / "testset",
    )
    ds = load_dataset("folder", root)
    assert ds.by_label() == {"FAKE": 2, "REAL": 1}
    assert ds.by_method() == {"none": 1, "progan": 1, "stargan": 1}
    assert {s.crop for s in ds} == {CNNDETECTION_CROP}
    assert next(s for s in ds if s.method == "progan").extra["category"] == "progan/airplane"
    plain = load_dataset("folder", root, crop_border=False, method="gan")
    assert {s.crop for s in plain} == {None} and plain.by_method() == {"gan": 2, "none": 1}


def test_group_by_parent(touch: Touch) -> None:
    root = touch("real/person1/a.jpg", "fake/person1/b.jpg", "fake/c.jpg")
    ds = load_dataset("folder", root, group_by="parent")
    assert {s.path.name: s.group for s in ds} == {
        "a.jpg": "person1",
        "b.jpg": "person1",
        "c.jpg": "c",
    }
    with pytest.raises(BadInputError, match="use 'stem' or 'parent'"):
        load_dataset("folder", root, group_by="folder")


def test_a_file_below_real_and_fake_is_an_error(touch: Touch) -> None:
    root = touch("real/fake/a.jpg", "fake/real/b.jpg", "real/ok.jpg")
    with pytest.raises(BadInputError) as info:
        load_dataset("folder", root)
    assert "2 problem(s)" in str(info.value)
    assert "real/fake/a.jpg: it lies below both a real and a fake folder" in str(info.value)


def test_layout_errors_and_empty_class_folders(tmp_path: Path, touch: Touch) -> None:
    with pytest.raises(BadInputError, match="not found: a folder dataset holds real/"):
        load_dataset("folder", tmp_path / "absent")
    touch("images/a.jpg")
    with pytest.raises(BadInputError, match="has no real/ or fake/ folder"):
        load_dataset("folder", tmp_path)
    (tmp_path / "images" / "real").mkdir()
    assert len(load_dataset("folder", tmp_path)) == 0  # absence is a result


@pytest.mark.shared_data
def test_shared_images(shared_data: Path) -> None:
    ds = load_dataset("folder", shared_data / "real_fake" / "images" / "cnndetection")
    assert ds.by_label() == {"FAKE": 40, "REAL": 40}
    assert ds.by_method() == {"deepfake": 20, "none": 40, "stargan": 20}
    assert {s.crop for s in ds} == {CNNDETECTION_CROP}
