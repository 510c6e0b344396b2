"""Self-blended pseudo-fakes: the face changes inside a soft mask, the border stays, seeded."""

from __future__ import annotations

import numpy as np
import pytest

from cameoguard.detection.face_cnn import FaceCNN
from cameoguard.detection.selfblend import blend_mask, self_blend
from cameoguard.errors import BadInputError
from tests.consent.conftest import astronaut


def _crop() -> np.ndarray:
    return np.ascontiguousarray(astronaut()[0:300, 110:410])


def test_mask_is_soft_central_and_varies() -> None:
    rng = np.random.default_rng(1)
    masks = [blend_mask(128, rng) for _ in range(20)]
    for mask in masks:
        assert mask.shape == (128, 128) and mask.dtype == np.float32
        assert mask.min() >= 0.0 and mask.max() <= 1.0
        assert mask[64, 64] > 0.3  # over the face
        assert mask[:8].max() < 0.05 and mask[:, :8].max() < 0.05  # not at the border
        assert ((mask > 0.05) & (mask < 0.45)).mean() > 0.02  # a soft seam, not a hard edge
    assert np.abs(masks[0] - masks[1]).max() > 0.1


def test_self_blend_changes_the_face_only_and_is_seeded() -> None:
    crop = _crop()
    out = self_blend(crop, np.random.default_rng(7))
    assert out.shape == crop.shape and out.dtype == np.uint8
    diff = np.abs(out.astype(np.int16) - crop.astype(np.int16)).mean(axis=2)
    assert diff[100:200, 100:200].mean() > 3 * max(diff[:20].mean(), 0.1)
    assert np.array_equal(out, self_blend(crop, np.random.default_rng(7)))
    assert not np.array_equal(out, self_blend(crop, np.random.default_rng(8)))


def test_self_blend_needs_a_square_rgb_crop() -> None:
    with pytest.raises(ValueError, match="square RGB"):
        self_blend(np.zeros((100, 120, 3), np.uint8), np.random.default_rng(0))


def test_face_cnn_checks_self_blend() -> None:
    assert FaceCNN(self_blend=1.0).get_params()["self_blend"] == 1.0
    with pytest.raises(BadInputError, match="self_blend"):
        FaceCNN(self_blend=-1)


def test_face_cnn_learns_seams_from_reals_alone() -> None:
    """Trained on real crops and their self-blends only, it ranks fresh self-blends above
    fresh reals (the recipe works end to end on one face)."""
    rng = np.random.default_rng(3)
    base = _crop()
    reals = []
    for _ in range(48):
        dy, dx = rng.integers(0, 60, 2)
        piece = np.ascontiguousarray(base[dy : dy + 240, dx : dx + 240])
        reals.append(
            np.clip(piece.astype(np.int16) + rng.integers(-15, 15), 0, 255).astype(np.uint8)
        )
    blended = [self_blend(r, rng) for r in reals[:24]]
    model = FaceCNN(epochs=12, self_blend=1.0, seed=0)
    model.fit(reals[:24] + blended[:12], [0] * 24 + [1] * 12)
    held_real = model.fake_scores(reals[24:])
    held_fake = model.fake_scores([self_blend(r, rng) for r in reals[24:]])
    pairs = (held_fake[:, None] > held_real[None, :]).mean()
    assert pairs > 0.7
