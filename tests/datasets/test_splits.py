"""Group splits: connected ids stay together, the result is deterministic, leaks are named."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cameoguard.datasets import Label, MediaSample, check_no_leakage, split_by_group
from cameoguard.datasets.splits import SPLITS, components, describe_splits, label_balance
from cameoguard.errors import BadInputError


def _s(name: str, group: str, *ids: str, label: Label = Label.FAKE) -> MediaSample:
    return MediaSample(Path(f"{name}.mp4"), label, "video", "t", group, source_ids=ids)


def _ffpp(n: int) -> list[MediaSample]:
    """Originals 000..n-1 and fakes i_(i+1) that chain every second pair together."""
    samples = [_s(f"{i:03d}", f"{i:03d}", label=Label.REAL) for i in range(n)]
    for i in range(0, n - 1, 2):
        a, b = f"{i:03d}", f"{i + 1:03d}"
        samples.append(_s(f"{a}_{b}", a, a, b))
    return samples


def _where(splits: dict[str, tuple[MediaSample, ...]]) -> dict[str, str]:
    return {str(s.path): name for name, part in splits.items() for s in part}


def test_a_fake_ties_its_target_and_source_together() -> None:
    samples = [
        _s("000", "000", label=Label.REAL),
        _s("003", "003", label=Label.REAL),
        _s("000_003", "000", "000", "003"),
        _s("003_010", "003", "003", "010"),  # 010 now joins too, through 003
        _s("010", "010", label=Label.REAL),
        _s("999", "999", label=Label.REAL),
    ]
    parts = components(samples)
    assert list(parts) == ["000", "999"]
    assert len(parts["000"]) == 5
    for seed in range(20):
        splits = split_by_group(samples, test=0.4, val=0.3, seed=seed)
        where = _where(splits)
        assert (
            len({where[n] for n in ("000.mp4", "003.mp4", "000_003.mp4", "003_010.mp4", "010.mp4")})
            == 1
        )
        check_no_leakage(splits)


def test_splits_cover_everything_and_approach_the_fractions() -> None:
    samples = _ffpp(600)
    splits = split_by_group(samples)
    assert tuple(splits) == SPLITS
    assert Counter(s for part in splits.values() for s in part) == Counter(samples)
    check_no_leakage(splits)
    n = len(components(samples))
    counts = {name: len(components(part)) for name, part in splits.items()}
    assert abs(counts["test"] / n - 0.2) < 0.06 and abs(counts["val"] / n - 0.1) < 0.05
    balance = label_balance(splits)
    assert sum(row["samples"] for row in balance.values()) == len(samples)
    assert balance["test"]["REAL"] + balance["test"]["FAKE"] == balance["test"]["samples"]
    assert (
        describe_splits(splits)
        .splitlines()[2]
        .startswith(f"test: {balance['test']['samples']} samples ({balance['test']['REAL']} REAL")
    )


def test_same_split_in_any_order_and_for_the_same_seed_only() -> None:
    samples = _ffpp(200)
    reference = split_by_group(samples, seed="s1")
    shuffled = list(samples)
    for k in range(5):
        random.Random(k).shuffle(shuffled)
        assert split_by_group(shuffled, seed="s1") == reference
    assert split_by_group(samples, seed="s2") != reference


def test_known_assignment_is_stable_across_runs() -> None:
    """Keyed BLAKE2b, not Python's salted hash: these assignments hold on every machine."""
    splits = split_by_group([_s(f"{i:03d}", f"{i:03d}") for i in range(12)])
    assert {name: [s.group for s in part] for name, part in splits.items()} == EXPECTED


EXPECTED = {
    "train": ["000", "002", "005", "006", "008", "009", "010", "011"],
    "val": ["001", "003"],
    "test": ["004", "007"],
}


def test_adding_unrelated_samples_keeps_existing_assignments() -> None:
    base = _ffpp(100)
    more = [*base, *(_s(f"x{i}", f"x{i}") for i in range(50))]
    before, after = _where(split_by_group(base)), _where(split_by_group(more))
    assert all(after[path] == name for path, name in before.items())


@pytest.mark.parametrize(("test", "val"), [(0.5, 0.5), (-0.1, 0.1), (0.2, 1.2)])
def test_bad_fractions(test: float, val: float) -> None:
    with pytest.raises(BadInputError, match="test \\+ val < 1"):
        split_by_group(_ffpp(4), test=test, val=val)


def test_empty_input_gives_three_empty_parts() -> None:
    assert split_by_group([]) == {"train": (), "val": (), "test": ()}


def test_check_no_leakage_names_the_ids() -> None:
    splits = {
        "train": [_s("000", "000", label=Label.REAL), _s("a", "a")],
        "test": [_s("000_003", "000", "000", "003"), _s("a", "b")],
    }
    with pytest.raises(BadInputError) as info:
        check_no_leakage(splits)
    message = str(info.value)
    assert (
        "2 id(s) appear in more than one split: 000 (test, train); file a.mp4 (test, train)"
        in message
    )
    assert info.value.code == "datasets.leakage"


ids = st.sampled_from([f"v{i}" for i in range(25)])


@st.composite
def samples_strategy(draw: st.DrawFn) -> list[MediaSample]:
    n = draw(st.integers(0, 40))
    out = []
    for k in range(n):
        group = draw(ids)
        extra = draw(st.lists(ids, max_size=3))
        label = draw(st.sampled_from(list(Label)))
        out.append(_s(f"s{k}", group, group, *extra, label=label))
    return out


@settings(max_examples=150, deadline=None)
@given(
    samples=samples_strategy(),
    test=st.floats(0, 0.6),
    val=st.floats(0, 0.39),
    seed=st.text(max_size=8),
    order=st.randoms(use_true_random=False),
)
def test_property_no_id_in_two_splits(
    samples: list[MediaSample], test: float, val: float, seed: str, order: random.Random
) -> None:
    splits = split_by_group(samples, test=test, val=val, seed=seed)
    check_no_leakage(splits)
    seen: dict[str, str] = {}
    for name, part in splits.items():
        for sample in part:
            for node in sample.ids:
                assert seen.setdefault(node, name) == name
    assert Counter(s for part in splits.values() for s in part) == Counter(samples)
    shuffled = list(samples)
    order.shuffle(shuffled)
    assert split_by_group(shuffled, test=test, val=val, seed=seed) == splits


def test_weighted_split_fills_parts_by_weight_not_by_component_count() -> None:
    from cameoguard.datasets import Label, MediaSample

    big = [MediaSample(Path(f"v{i}.mp4"), Label.REAL, "video", "t", f"v{i}") for i in range(6)]
    small = [MediaSample(Path(f"i{i}.jpg"), Label.FAKE, "image", "t", f"i{i}") for i in range(60)]
    samples = big + small

    def weight(s: MediaSample) -> float:
        return 30.0 if s.media == "video" else 1.0

    total = sum(weight(s) for s in samples)
    for seed in ("a", "b", "c"):
        parts = split_by_group(samples, test=0.2, val=0.2, seed=seed, weight=weight)
        check_no_leakage(parts)
        shares = {n: sum(weight(s) for s in p) / total for n, p in parts.items()}
        assert abs(shares["train"] - 0.6) < 0.13, shares  # one video is 0.125 of the whole
        assert parts == split_by_group(
            list(reversed(samples)), test=0.2, val=0.2, seed=seed, weight=weight
        )
