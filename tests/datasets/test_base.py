"""The sample value, the dataset counts and the loader registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from cameoguard.datasets import Dataset, Label, MediaSample, available_loaders, load_dataset
from cameoguard.datasets.base import LOADERS, media_from_suffix, register_loader
from cameoguard.errors import BadInputError, ConfigurationError


def _sample(**kw: object) -> MediaSample:
    fields: dict[str, object] = {
        "path": Path("a.mp4"),
        "label": Label.FAKE,
        "media": "video",
        "dataset": "t",
        "group": "000",
    }
    fields.update(kw)
    return MediaSample(**fields)  # type: ignore[arg-type]


def test_sample_is_frozen_hashable_and_normalised() -> None:
    extra = {"split": "test"}
    s = _sample(path="x/a.mp4", label="REAL", extra=extra, crop=[1, 2, 3, 4])
    assert s.path == Path("x/a.mp4") and s.label is Label.REAL and s.label.target == 0
    assert s.source_ids == ("000",) and s.ids == {"000"}
    assert s.crop == (1, 2, 3, 4)
    extra["split"] = "train"  # the sample keeps its own copy
    assert s.extra["split"] == "test"
    with pytest.raises(AttributeError):
        s.group = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        s.extra["split"] = "x"  # type: ignore[index]
    assert hash(s) == hash(
        _sample(path="x/a.mp4", label="REAL", extra={"other": "1"}, crop=[1, 2, 3, 4])
    )
    assert Label.FAKE.target == 1


@pytest.mark.parametrize(
    ("kw", "says"),
    [
        ({"media": "audio"}, "expected image or video"),
        ({"group": ""}, "non-empty group"),
        ({"crop": (10, 0, 5, 5)}, "left < right"),
        ({"label": "maybe"}, None),
    ],
)
def test_sample_refuses_bad_values(kw: dict[str, object], says: str | None) -> None:
    with pytest.raises((BadInputError, ValueError)) as info:
        _sample(**kw)
    if says:
        assert says in str(info.value)


def test_media_from_suffix() -> None:
    assert media_from_suffix(Path("a.JPG")) == "image"
    assert media_from_suffix(Path("a.mp4")) == "video"
    assert media_from_suffix(Path("a.txt")) is None


def test_dataset_counts() -> None:
    ds = Dataset(
        "t",
        Path("/r"),
        (
            _sample(path="a.mp4", method="Deepfakes", extra={"split": "test"}),
            _sample(path="b.mp4", method="Deepfakes"),
            _sample(path="c.mp4", label=Label.REAL, media="video"),
        ),
        skipped=("gone.mp4: not found",),
    )
    assert len(ds) == 3 and [s.path.name for s in ds] == ["a.mp4", "b.mp4", "c.mp4"]
    summary = ds.summary()
    assert summary["label"] == {"FAKE": 2, "REAL": 1}
    assert summary["method"] == {"Deepfakes": 2, "none": 1}
    assert summary["split"] == {"none": 2, "test": 1}
    assert summary["skipped"] == 1


def test_builtin_loaders_are_registered() -> None:
    assert {"faceforensics", "ffpp_flat", "celebdf", "dfdc", "folder", "csv"} <= set(
        available_loaders()
    )


def test_unknown_loader_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_dataset("nope", tmp_path)
    assert "unknown dataset loader 'nope'" in str(info.value)
    assert "celebdf" in str(info.value) and "faceforensics" in str(info.value)


def test_unknown_option_lists_the_loaders_options(tmp_path: Path) -> None:
    with pytest.raises(BadInputError) as info:
        load_dataset("celebdf", tmp_path, splitt="test")
    assert "no option 'splitt'" in str(info.value) and "split, missing" in str(info.value)


def test_duplicate_loader_name_raises() -> None:
    available_loaders()
    with pytest.raises(ValueError, match="already registered"):
        register_loader("folder")(lambda root: Dataset("x", root, ()))
    assert LOADERS["folder"].__name__ == "load_folder"


def test_registered_loader_is_called_with_root_and_options(tmp_path: Path) -> None:
    @register_loader("_test_only")
    def _load(root: Path, *, flavour: str = "plain") -> Dataset:
        return Dataset(flavour, root, ())

    try:
        ds = load_dataset("_test_only", str(tmp_path), flavour="spicy")
        assert ds.name == "spicy" and ds.root == tmp_path
    finally:
        del LOADERS["_test_only"]


def test_importing_the_package_loads_no_loader() -> None:
    import subprocess
    import sys

    code = (
        "import sys, cameoguard.datasets; "
        "print([m for m in sys.modules if m.startswith('cameoguard.datasets.')])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "faceforensics" not in out.stdout and "csv_labels" not in out.stdout


def test_combined_datasets_keep_order_and_refuse_shared_files(tmp_path: Path) -> None:
    from cameoguard.datasets import combine_datasets, loader_options

    def one(name: str, *paths: str) -> Dataset:
        samples = tuple(MediaSample(tmp_path / p, Label.REAL, "image", name, p) for p in paths)
        return Dataset(name, tmp_path, samples, skipped=(f"{name}-skip",))

    a, b = one("a", "1.jpg", "2.jpg"), one("b", "3.jpg")
    both = combine_datasets([a, b])
    assert both.name == "a+b" and [s.path.name for s in both] == ["1.jpg", "2.jpg", "3.jpg"]
    assert both.skipped == ("a-skip", "b-skip")
    assert combine_datasets([a]) is a
    with pytest.raises(BadInputError, match="is in both a and c"):
        combine_datasets([a, one("c", "2.jpg")])
    with pytest.raises(BadInputError, match="no dataset"):
        combine_datasets([])
    assert "missing" in loader_options("csv") and loader_options("nope") == []
