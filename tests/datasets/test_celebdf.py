"""Celeb-DF v2: identities, the official test list, bad names and absent listed files."""

from __future__ import annotations

from pathlib import Path

import pytest

from cameoguard.datasets import Label, load_dataset
from cameoguard.errors import BadInputError
from tests.datasets.conftest import Touch

FILES = [
    "Celeb-real/id0_0000.mp4",
    "Celeb-real/id0_0001.mp4",
    "Celeb-real/id16_0003.mp4",
    "Celeb-synthesis/id0_id16_0000.mp4",
    "Celeb-synthesis/id16_id0_0003.mp4",
    "YouTube-real/00170.mp4",
    "YouTube-real/00171.mp4",
]
TEST_LIST = (
    "1 YouTube-real/00170.mp4\n0 Celeb-synthesis/id0_id16_0000.mp4\n1 Celeb-real/id0_0001.mp4\n\n"
)


def _root(touch: Touch, files: list[str] = FILES, listing: str = TEST_LIST) -> Path:
    root = touch(*files)
    (root / "List_of_testing_videos.txt").write_text(listing)
    return root


def test_all_test_and_train(touch: Touch) -> None:
    root = _root(touch)
    ds = load_dataset("celebdf", root)
    assert len(ds) == 7 and ds.by_split() == {"test": 3, "train": 4}
    assert ds.by_label() == {"FAKE": 2, "REAL": 5}
    assert ds.by_method() == {"celeb-synthesis": 2, "none": 5}
    test = load_dataset("celebdf", root, split="test")
    assert sorted(s.path.name for s in test) == ["00170.mp4", "id0_0001.mp4", "id0_id16_0000.mp4"]
    train = load_dataset("celebdf", root, split="train")
    assert len(train) == 4 and {s.extra["split"] for s in train} == {"train"}
    by_name = {s.path.stem: s for s in ds}
    fake = by_name["id0_id16_0000"]
    assert fake.label is Label.FAKE and fake.group == "id0" and fake.source_ids == ("id0", "id16")
    assert fake.extra["target_video"] == "id0_0000"
    assert by_name["id16_0003"].group == "id16"
    assert by_name["00170"].group == "youtube:00170"


def test_bad_split_option(touch: Touch) -> None:
    with pytest.raises(BadInputError, match="use 'test', 'train' or 'all'"):
        load_dataset("celebdf", _root(touch), split="val")


def test_missing_folders_and_list(tmp_path: Path, touch: Touch) -> None:
    with pytest.raises(BadInputError, match="Celeb-real not found: a Celeb-DF root holds"):
        load_dataset("celebdf", tmp_path)
    touch("Celeb-real/id0_0000.mp4", "Celeb-synthesis/id0_id1_0000.mp4")
    with pytest.raises(BadInputError, match=r"List_of_testing_videos\.txt not found"):
        load_dataset("celebdf", tmp_path)


def test_list_and_name_problems_are_reported_together(touch: Touch) -> None:
    listing = (
        "1 Celeb-synthesis/id0_id16_0000.mp4\n"  # labelled real, but a fake folder
        "2 Celeb-real/id0_0000.mp4\n"  # not 0/1
        "1 Elsewhere/x.mp4\n"
        "1 Celeb-real/id9_0009.mp4\n"  # absent
        "1 YouTube-real/00170.mp4\n"
        "1 YouTube-real/00170.mp4\n"
    )
    root = _root(touch, [*FILES, "Celeb-real/bad-name.mp4"], listing)
    with pytest.raises(BadInputError) as info:
        load_dataset("celebdf", root)
    message = str(info.value)
    assert "6 problem(s)" in message
    for part in (
        "line 1: Celeb-synthesis/id0_id16_0000.mp4 is labelled REAL but Celeb-synthesis holds FAKE",
        "line 2: '2 Celeb-real/id0_0000.mp4' is not",
        "line 3: Elsewhere/x.mp4 is not in",
        "Celeb-real/id9_0009.mp4: in List_of_testing_videos.txt but not found",
        "line 6: YouTube-real/00170.mp4 is listed twice",
        "bad-name.mp4: a Celeb-real name looks like idX_NNNN.mp4",
    ):
        assert part in message


def test_absent_listed_videos_can_be_skipped_explicitly(touch: Touch) -> None:
    root = _root(touch, listing=TEST_LIST + "0 Celeb-synthesis/id5_id6_0001.mp4\n")
    with pytest.raises(BadInputError, match=r"id5_id6_0001\.mp4: in List_of_testing_videos\.txt"):
        load_dataset("celebdf", root)
    ds = load_dataset("celebdf", root, missing="skip")
    assert len(ds) == 7 and ds.summary()["skipped"] == 1
    assert ds.skipped[0].startswith("Celeb-synthesis/id5_id6_0001.mp4")
    with pytest.raises(BadInputError, match="missing='ignore' is not a policy"):
        load_dataset("celebdf", root, missing="ignore")
