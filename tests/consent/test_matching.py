"""Template index: exact and FAISS search give the same answers; updates; calibration helpers."""

from __future__ import annotations

import numpy as np
import pytest

from cameoguard.consent.embedders.base import OperatingPoint
from cameoguard.consent.matching import (
    Decision,
    TemplateIndex,
    decide,
    make_template,
    threshold_at_far,
    verification_metrics,
)


def _population(n: int, dim: int = 128, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 0.125, (n, dim)).astype(np.float32)


def test_exact_and_faiss_give_the_same_answers() -> None:
    templates = _population(30_000)
    keys = [f"c_{i:012x}" for i in range(len(templates))]
    rng = np.random.default_rng(1)
    chosen = rng.choice(len(templates), 300, replace=False)
    genuine = templates[chosen] + rng.normal(0, 0.03, (300, 128)).astype(np.float32)
    impostors = _population(100, seed=7)

    exact = TemplateIndex(128, exact_below=10**9)
    exact.upsert_many(keys, templates)
    faiss_index = TemplateIndex(128, exact_below=1_000)
    faiss_index.upsert_many(keys, templates)
    assert exact.mode == "exact" and faiss_index.mode == "faiss-ivf"

    point = OperatingPoint(0.52, 0.58, "test")
    for probes in (genuine, impostors):
        a, b = exact.search(probes, 1), faiss_index.search(probes, 1)
        for x, y in zip(a, b, strict=True):
            assert decide(x[0].distance, point) is decide(y[0].distance, point)
            if decide(x[0].distance, point) is not Decision.NO_MATCH:
                assert x[0].key == y[0].key
                assert x[0].distance == pytest.approx(y[0].distance, abs=1e-4)
    for i, row in zip(chosen, faiss_index.search(genuine, 1), strict=True):
        assert row[0].key == keys[i]


@pytest.mark.parametrize("exact_below", [10**9, 50])
def test_upsert_replace_and_remove(exact_below: int) -> None:
    index = TemplateIndex(8, exact_below=exact_below)
    vectors = np.eye(8, dtype=np.float32).repeat(10, axis=0) + np.arange(80)[:, None] * 1e-3
    keys = [f"k{i}" for i in range(80)]
    index.upsert_many(keys, vectors.astype(np.float32))
    assert len(index) == 80
    assert index.search(vectors[5:6], 1)[0][0].key == "k5"
    assert index.remove("k5") and not index.remove("k5")
    assert "k5" not in index and len(index) == 79
    assert index.search(vectors[5:6], 1)[0][0].key != "k5"
    index.upsert("k6", np.full(8, 9.0, dtype=np.float32))  # replacing moves k6 away
    assert index.search(np.full((1, 8), 9.0, dtype=np.float32), 1)[0][0].key == "k6"
    assert len(index) == 79
    removed = index.remove_many(keys)
    assert removed == 79 and len(index) == 0
    assert index.search(vectors[:1], 1) == [[]]


def test_index_refuses_wrong_dimension_and_non_finite() -> None:
    index = TemplateIndex(4)
    with pytest.raises(ValueError, match="dimension 4"):
        index.upsert("a", np.zeros(5, dtype=np.float32))
    with pytest.raises(ValueError, match="finite"):
        index.upsert("a", np.array([0, np.nan, 0, 0], dtype=np.float32))
    assert "size=0" in repr(index) and "0." not in repr(index)


def test_decisions_and_templates() -> None:
    point = OperatingPoint(0.5, 0.6, "test")
    assert decide(0.5, point) is Decision.MATCH
    assert decide(0.55, point) is Decision.POSSIBLE_MATCH
    assert decide(0.61, point) is Decision.NO_MATCH
    assert point.with_match(0.4).possible == pytest.approx(0.5)
    assert make_template(np.array([[0, 2], [2, 0]], dtype=np.float32)).tolist() == [1, 1]
    with pytest.raises(ValueError, match="match <= possible"):
        OperatingPoint(0.6, 0.5, "bad")


def test_threshold_at_far_empirical_and_fitted() -> None:
    rng = np.random.default_rng(0)
    impostor = rng.normal(1.0, 0.1, 100_000)
    threshold, method = threshold_at_far(impostor, 1e-3)
    assert method == "empirical"
    assert np.mean(impostor <= threshold) <= 1e-3
    assert threshold == pytest.approx(1.0 - 3.09 * 0.1, abs=0.01)
    few = impostor[:500]
    threshold, method = threshold_at_far(few, 1e-3)
    assert method == "normal fit" and threshold < few.min()


def test_verification_metrics() -> None:
    m = verification_metrics(np.array([0.1, 0.2, 0.6]), np.array([0.5, 0.7, 0.9]))
    assert m["auc"] == pytest.approx(8 / 9)
    assert m["genuine_max"] == 0.6 and m["impostor_min"] == 0.5
