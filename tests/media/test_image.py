"""Images: round trips through JPEG/PNG/WebP, EXIF orientation, modes, atomic writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cameoguard.errors import BadInputError, UnsupportedMediaError
from cameoguard.media import Limits, encode_image, load_image, save_image, sniff

from .conftest import ImageFactory


@pytest.mark.parametrize(
    ("suffix", "max_error"),
    [(".png", 0.0), (".jpg", 4.0), (".jpeg", 4.0), (".webp", 4.0)],
)
def test_round_trip(
    tmp_path: Path, make_image: ImageFactory, limits: Limits, suffix: str, max_error: float
) -> None:
    original = make_image(60, 80)
    path = save_image(original, tmp_path / f"out{suffix}")
    loaded = load_image(path, limits)
    assert loaded.shape == (60, 80, 3)
    assert loaded.dtype == np.uint8
    assert loaded.flags.writeable and loaded.flags.c_contiguous
    assert np.abs(loaded.astype(int) - original.astype(int)).mean() <= max_error


@pytest.mark.parametrize(
    ("name", "mime"), [("JPEG", "image/jpeg"), ("jpg", "image/jpeg"), ("png", "image/png"),
                       (".webp", "image/webp")]
)  # fmt: skip
def test_encode_image(make_image: ImageFactory, name: str, mime: str) -> None:
    data = encode_image(make_image(), name, quality=80)
    assert sniff(data).mime == mime


def test_format_argument_beats_suffix(tmp_path: Path, make_image: ImageFactory) -> None:
    path = save_image(make_image(), tmp_path / "picture.bin", format="png")
    assert sniff(path).mime == "image/png"


def test_quality_changes_size(make_image: ImageFactory) -> None:
    rng = np.random.default_rng(0)
    noisy = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    assert len(encode_image(noisy, "JPEG", quality=30)) < len(encode_image(noisy, "JPEG", 95))
    with pytest.raises(ValueError, match="quality"):
        encode_image(make_image(), "JPEG", quality=0)


def test_exif_orientation_is_applied(tmp_path: Path, limits: Limits) -> None:
    stored = np.zeros((20, 40, 3), np.uint8)  # stored landscape: 40 wide, 20 high
    stored[:5, :5] = (255, 0, 0)  # red block at the stored top-left
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    path = tmp_path / "rotated.jpg"
    Image.fromarray(stored).save(path, format="JPEG", quality=95, exif=exif)
    upright = load_image(path, limits)
    assert upright.shape == (40, 20, 3)
    top_right = upright[:5, -5:].reshape(-1, 3).mean(axis=0)
    assert top_right[0] > 200 and top_right[1] < 60  # stored top-left ends up top-right


def test_transparency_is_composited_on_white(tmp_path: Path, limits: Limits) -> None:
    path = tmp_path / "clear.png"
    rgba = Image.new("RGBA", (8, 6), (255, 0, 0, 0))
    rgba.putpixel((0, 0), (0, 0, 255, 255))
    rgba.save(path)
    rgb = load_image(path, limits)
    assert rgb.shape == (6, 8, 3)
    assert tuple(rgb[0, 0]) == (0, 0, 255)
    assert tuple(rgb[5, 7]) == (255, 255, 255)


def test_grey_and_16_bit_become_rgb(tmp_path: Path, limits: Limits) -> None:
    grey = tmp_path / "grey.png"
    Image.fromarray(np.full((4, 4), 77, np.uint8)).save(grey)
    assert np.all(load_image(grey, limits) == 77)
    deep = tmp_path / "deep.png"
    Image.fromarray(np.full((4, 4), 65535, np.uint16)).save(deep)
    assert np.all(load_image(deep, limits) == 255)


def test_animated_gif_gives_first_frame(tmp_path: Path, limits: Limits) -> None:
    frames = [Image.new("RGB", (10, 10), colour) for colour in ((255, 0, 0), (0, 255, 0))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)
    rgb = load_image(path, limits)
    assert rgb.shape == (10, 10, 3)
    assert rgb[..., 0].mean() > 200


def test_grayscale_array_is_accepted(tmp_path: Path, limits: Limits) -> None:
    path = save_image(np.full((4, 6), 9, np.uint8), tmp_path / "g.png")
    assert load_image(path, limits).shape == (4, 6, 3)


@pytest.mark.parametrize(
    ("array", "match"),
    [
        (np.zeros((4, 4, 3), np.float32), "dtype float32"),
        (np.zeros((4, 4, 4), np.uint8), r"shape \(4, 4, 4\)"),
        (np.zeros((0, 4, 3), np.uint8), "shape"),
    ],
)
def test_bad_arrays_write_nothing(tmp_path: Path, array: np.ndarray, match: str) -> None:
    with pytest.raises(BadInputError, match=match):
        save_image(array, tmp_path / "x.png")
    assert list(tmp_path.iterdir()) == []


def test_unknown_suffix_writes_nothing(tmp_path: Path, make_image: ImageFactory) -> None:
    with pytest.raises(BadInputError, match=r"suffix '\.bmp'"):
        save_image(make_image(), tmp_path / "x.bmp")
    with pytest.raises(BadInputError, match="use JPEG, PNG or WEBP"):
        save_image(make_image(), tmp_path / "x.png", format="tiff")
    assert list(tmp_path.iterdir()) == []


def test_failed_save_keeps_the_old_file(tmp_path: Path, make_image: ImageFactory) -> None:
    path = save_image(make_image(), tmp_path / "keep.png")
    before = path.read_bytes()
    with pytest.raises(BadInputError):
        save_image(np.zeros((2, 2, 2), np.uint8), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.png"]


def test_video_is_not_an_image(sample_video: Path, limits: Limits) -> None:
    with pytest.raises(UnsupportedMediaError, match="not an image"):
        load_image(sample_video, limits)
