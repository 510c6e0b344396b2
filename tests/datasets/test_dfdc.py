"""DFDC parts: metadata labels, fakes grouped with their originals, bad and absent entries."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest

from cameoguard.datasets import Label, load_dataset
from cameoguard.errors import BadInputError
from tests.datasets.conftest import Touch


def _part(
    touch: Touch, root: Path, name: str, meta: Mapping[str, object], files: list[str]
) -> Path:
    part = touch(*files, root=root / name)
    (part / "metadata.json").write_text(json.dumps(meta))
    return part


META_0 = {
    "orig1.mp4": {"label": "REAL", "split": "train", "original": None},
    "fakea.mp4": {"label": "FAKE", "split": "train", "original": "orig1.mp4"},
    "fakeb.mp4": {"label": "FAKE", "split": "train", "original": "orig2.mp4"},
}
META_1 = {"orig2.mp4": {"label": "REAL", "split": "train"}}


def test_one_part_and_a_folder_of_parts(tmp_path: Path, touch: Touch) -> None:
    part0 = _part(
        touch,
        tmp_path,
        "dfdc_train_part_0",
        META_0,
        ["orig1.mp4", "fakea.mp4", "fakeb.mp4", "extra.mp4"],
    )
    _part(touch, tmp_path, "dfdc_train_part_1", META_1, ["orig2.mp4"])
    one = load_dataset("dfdc", part0)
    assert len(one) == 3 and one.by_label() == {"FAKE": 2, "REAL": 1}
    assert one.notes and "1 video(s) not in metadata.json" in one.notes[0]
    both = load_dataset("dfdc", tmp_path)
    assert len(both) == 4 and both.by_split() == {"train": 4}
    groups = {s.path.stem: s.group for s in both}
    assert groups == {"orig1": "orig1", "fakea": "orig1", "fakeb": "orig2", "orig2": "orig2"}
    fakeb = next(s for s in both if s.path.stem == "fakeb")
    assert fakeb.label is Label.FAKE and fakeb.extra["original"] == "orig2.mp4"
    assert fakeb.extra["part"] == "dfdc_train_part_0"


def test_no_metadata_names_the_layout(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match=r"no metadata\.json in .*: a DFDC root is one"):
        load_dataset("dfdc", tmp_path)


def test_bad_entries_are_reported_together(tmp_path: Path, touch: Touch) -> None:
    meta = {
        "a.mp4": {"label": "fake?"},
        "b.mp4": {"label": "FAKE"},
        "c.mp4": "REAL",
        "../d.mp4": {"label": "REAL"},
        "gone.mp4": {"label": "REAL"},
        "ok.mp4": {"label": "REAL"},
    }
    _part(touch, tmp_path, "p0", meta, ["a.mp4", "b.mp4", "c.mp4", "ok.mp4"])
    (touch(root=tmp_path / "p1") / "metadata.json").write_text("{not json")
    with pytest.raises(BadInputError) as info:
        load_dataset("dfdc", tmp_path)
    message = str(info.value)
    assert "6 problem(s)" in message
    for part in (
        "'a.mp4': label 'fake?' is neither 'REAL' nor 'FAKE'",
        "'b.mp4': a FAKE entry needs 'original'",
        "'c.mp4': entry is str",
        "'../d.mp4': not a plain file name",
        "p0/gone.mp4: in metadata.json but not found",
        "p1/metadata.json: not readable JSON",
    ):
        assert part in message


def test_absent_videos_can_be_skipped_explicitly(tmp_path: Path, touch: Touch) -> None:
    part = _part(touch, tmp_path, "p0", META_0, ["orig1.mp4", "fakea.mp4"])
    with pytest.raises(BadInputError, match=r"fakeb\.mp4: in metadata\.json but not found"):
        load_dataset("dfdc", part)
    ds = load_dataset("dfdc", part, missing="skip")
    assert len(ds) == 2 and ds.skipped == ("p0/fakeb.mp4: in metadata.json but not found",)


def test_a_video_in_two_parts_is_an_error(tmp_path: Path, touch: Touch) -> None:
    _part(touch, tmp_path, "p0", META_1, ["orig2.mp4"])
    _part(touch, tmp_path, "p1", META_1, ["orig2.mp4"])
    with pytest.raises(BadInputError, match=r"p1/orig2\.mp4: also in p0"):
        load_dataset("dfdc", tmp_path)
