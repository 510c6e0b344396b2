"""FaceForensics++ (release layout, DeepFakeDetection names) and its flat copy."""

from __future__ import annotations

from pathlib import Path

import pytest

from cameoguard.datasets import Label, load_dataset
from cameoguard.datasets.faceforensics import parse_ffpp_name
from cameoguard.errors import BadInputError
from tests.datasets.conftest import Touch

RELEASE = [
    "original_sequences/youtube/c23/videos/000.mp4",
    "original_sequences/youtube/c23/videos/003.mp4",
    "original_sequences/youtube/c40/videos/000.mp4",
    "original_sequences/actors/c23/videos/01__kitchen_pan.mp4",
    "manipulated_sequences/Deepfakes/c23/videos/000_003.mp4",
    "manipulated_sequences/Deepfakes/c40/videos/000_003.mp4",
    "manipulated_sequences/Face2Face/c23/videos/003_000.mp4",
    "manipulated_sequences/FaceShifter/c23/videos/000_003.mp4",
    "manipulated_sequences/DeepFakeDetection/c23/videos/01_02__meeting_serious__YVGY8LOK.mp4",
    "manipulated_sequences/Deepfakes/c23/masks/videos/000_003.mp4",  # not a video folder
    "manipulated_sequences/Deepfakes/c23/videos/.DS_Store",
]


def test_release_layout_defaults_to_c23(touch: Touch) -> None:
    root = touch(*RELEASE)
    ds = load_dataset("faceforensics", root)
    assert len(ds) == 7 and {s.compression for s in ds} == {"c23"}
    assert ds.by_label() == {"FAKE": 4, "REAL": 3}
    assert ds.by_method() == {
        "DeepFakeDetection": 1,
        "Deepfakes": 1,
        "Face2Face": 1,
        "FaceShifter": 1,
        "none": 3,
    }
    by_name = {(s.method, s.path.stem): s for s in ds}
    fake = by_name["Deepfakes", "000_003"]
    assert fake.label is Label.FAKE and fake.group == "000" and fake.source_ids == ("000", "003")
    assert fake.extra["target"] == "000" and fake.extra["source"] == "003"
    assert fake.media == "video" and fake.dataset == "faceforensics"
    original = by_name[None, "003"]
    assert original.group == "003" and original.extra["subset"] == "youtube"
    actor = by_name[None, "01__kitchen_pan"]
    assert actor.group == "actor:01" and actor.extra["scene"] == "kitchen_pan"
    dfd = by_name["DeepFakeDetection", "01_02__meeting_serious__YVGY8LOK"]
    assert dfd.source_ids == ("actor:01", "actor:02") and dfd.extra["take"] == "YVGY8LOK"


def test_explicit_compression_and_methods(touch: Touch) -> None:
    root = touch(*RELEASE)
    ds = load_dataset("faceforensics", root, compression="c40", methods=["Deepfakes"])
    assert sorted(s.path.stem for s in ds) == ["000", "000_003"]
    assert any("actors has no c40" in n for n in ds.notes)
    only_youtube = load_dataset("faceforensics", root, originals="youtube", methods=[])
    assert {s.extra["subset"] for s in only_youtube} == {"youtube"}


def test_compression_falls_back_when_c23_is_absent(touch: Touch) -> None:
    root = touch(
        "original_sequences/youtube/c40/videos/000.mp4",
        "manipulated_sequences/Deepfakes/c40/videos/000_003.mp4",
    )
    assert {s.compression for s in load_dataset("faceforensics", root)} == {"c40"}


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"compression": "c0"}, "compression 'c0' not found; this root has c23, c40"),
        ({"methods": ["DeepFakes", "Nope"]}, "method DeepFakes, Nope not found"),
    ],
)
def test_bad_options_say_what_exists(touch: Touch, options: dict[str, object], says: str) -> None:
    root = touch(*RELEASE)
    with pytest.raises(BadInputError, match=says):
        load_dataset("faceforensics", root, **options)


def test_wrong_layout_names_the_expected_one(tmp_path: Path, touch: Touch) -> None:
    with pytest.raises(BadInputError) as info:
        load_dataset("faceforensics", tmp_path / "absent")
    assert "not found: a FaceForensics++ root holds original_sequences/" in str(info.value)
    touch("manipulated_sequences/Deepfakes/c23/videos/000_003.mp4")
    with pytest.raises(BadInputError) as info:
        load_dataset("faceforensics", tmp_path)
    assert str(info.value).startswith(f"{tmp_path / 'original_sequences'} not found")
    assert "manipulated_sequences/" in str(info.value)
    touch("original_sequences/youtube/videos/000.mp4")
    ds = load_dataset("faceforensics", tmp_path)
    assert len(ds) == 1 and "original_sequences/youtube has no c23/videos/" in ds.notes[0]
    flat = touch(
        "original_sequences/youtube/000.mp4",
        "manipulated_sequences/Deepfakes/000_003.mp4",
        root=tmp_path / "flat",
    )
    with pytest.raises(BadInputError, match="no <compression>/videos/ folder"):
        load_dataset("faceforensics", flat)


def test_bad_names_are_all_reported(touch: Touch) -> None:
    root = touch(
        "original_sequences/youtube/c23/videos/000.mp4",
        "original_sequences/youtube/c23/videos/000_003.mp4",
        "manipulated_sequences/Deepfakes/c23/videos/clip.mp4",
        "manipulated_sequences/Deepfakes/c23/videos/12.mp4",
    )
    with pytest.raises(BadInputError) as info:
        load_dataset("faceforensics", root)
    message = str(info.value)
    assert "3 problem(s)" in message and "nothing was loaded" in message
    assert "000_003.mp4: the name is that of a manipulated video, but it is in a REAL" in message
    assert "clip.mp4: name does not look like" in message and "12.mp4" in message


@pytest.mark.parametrize(
    ("stem", "label", "ids"),
    [
        ("123", Label.REAL, ("123",)),
        ("123_456", Label.FAKE, ("123", "456")),
        ("07__walking_outside", Label.REAL, ("actor:07",)),
        ("07_11__walking_outside__ABC123", Label.FAKE, ("actor:07", "actor:11")),
    ],
)
def test_parse_ffpp_name(stem: str, label: Label, ids: tuple[str, ...]) -> None:
    parsed = parse_ffpp_name(stem)
    assert parsed is not None and parsed.label is label and parsed.source_ids == ids
    assert parsed.group == ids[0]


@pytest.mark.parametrize("stem", ["12", "1234", "000_003_x", "a_b", "1__", ""])
def test_parse_ffpp_name_refuses_other_names(stem: str) -> None:
    assert parse_ffpp_name(stem) is None


def test_flat_layout(touch: Touch, tmp_path: Path) -> None:
    root = (
        touch(
            "ffpp/original/004.mp4",
            "ffpp/original/519.mp4",
            "ffpp/Deepfakes/519_515.mp4",
            "ffpp/NeuralTextures/004_982.mp4",
            "ffpp/README.txt",
        )
        / "ffpp"
    )
    ds = load_dataset("ffpp_flat", root, compression="c23")
    assert ds.by_label() == {"FAKE": 2, "REAL": 2} and {s.compression for s in ds} == {"c23"}
    assert {s.group for s in ds} == {"004", "519"}
    assert load_dataset("ffpp_flat", root, methods=["Deepfakes"]).by_method() == {
        "Deepfakes": 1,
        "none": 2,
    }
    with pytest.raises(BadInputError, match=r"did you mean .*videos/ffpp"):
        load_dataset("ffpp_flat", touch("videos/ffpp/original/004.mp4", root=tmp_path / "rf"))


@pytest.mark.shared_data
def test_flat_layout_on_the_shared_clips(shared_data: Path) -> None:
    ds = load_dataset("ffpp_flat", shared_data / "real_fake" / "videos" / "ffpp")
    assert ds.by_label() == {"FAKE": 4, "REAL": 3}
    assert ds.by_method() == {
        "Deepfakes": 1,
        "Face2Face": 1,
        "FaceSwap": 1,
        "NeuralTextures": 1,
        "none": 3,
    }
    fake = next(s for s in ds if s.path.stem == "519_515")
    assert fake.group == "519" and fake.source_ids == ("519", "515")
