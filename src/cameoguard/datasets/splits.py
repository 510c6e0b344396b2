"""Deterministic train/val/test splits in which no video or identity appears twice.

What flows through here: samples go into :func:`split_by_group` and come out as three tuples,
``train``, ``val`` and ``test``. Samples are first joined into connected components: two
samples belong together when they share any id (their ``group`` or one of their
``source_ids``), so an FF++ fake ``000_003`` pulls originals ``000`` and ``003`` and every
other fake of either into its component. Each component then goes to a split by a keyed hash
(BLAKE2b, keyed by ``seed``) of its smallest id: the result does not depend on input order,
process, machine or Python's hash seed, and a component keeps its split when unrelated
samples are added. Fractions are per component, so with few, large components the sizes only
approximate ``test`` and ``val``: :func:`label_balance` says what came out.

:func:`check_no_leakage` verifies any split (ours or someone else's) and raises naming the ids
found in more than one part.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence

from cameoguard.datasets.base import Label, MediaSample
from cameoguard.errors import BadInputError

__all__ = [
    "SPLITS",
    "check_no_leakage",
    "components",
    "describe_splits",
    "label_balance",
    "split_by_group",
]

#: The parts :func:`split_by_group` returns, always all three (a part may be empty).
SPLITS = ("train", "val", "test")

_SHOWN = 10


def _order(sample: MediaSample) -> tuple[str, str, str, str]:
    return (str(sample.path), sample.dataset, sample.group, str(sample.label))


def components(samples: Iterable[MediaSample]) -> dict[str, tuple[MediaSample, ...]]:
    """Samples joined by shared ids: smallest id -> the component's samples, sorted."""
    parent: dict[str, str] = {}

    def find(node: str) -> str:
        root = node
        while parent[root] != root:
            root = parent[root]
        while parent[node] != root:  # path compression
            parent[node], node = root, parent[node]
        return root

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            lo, hi = sorted((ra, rb))
            parent[hi] = lo  # the smallest id is always the root

    items = list(samples)
    for sample in items:
        ids = sorted(sample.ids)
        for node in ids:
            parent.setdefault(node, node)
        for node in ids[1:]:
            union(ids[0], node)
    grouped: dict[str, list[MediaSample]] = defaultdict(list)
    for sample in items:
        grouped[find(sample.group)].append(sample)
    return {key: tuple(sorted(grouped[key], key=_order)) for key in sorted(grouped)}


def _unit(key: str, seed: str) -> float:
    """A uniform number in [0, 1) from ``key``, keyed by ``seed``."""
    secret = hashlib.blake2b(seed.encode(), digest_size=32).digest()
    digest = hashlib.blake2b(key.encode(), key=secret, digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def split_by_group(
    samples: Iterable[MediaSample],
    *,
    test: float = 0.2,
    val: float = 0.1,
    seed: str | int = "cameoguard",
    weight: Callable[[MediaSample], float] | None = None,
) -> dict[str, tuple[MediaSample, ...]]:
    """``train``/``val``/``test`` with every connected set of ids inside one of them.

    Without ``weight``, ``test`` and ``val`` are the expected fractions of components (each
    goes where its keyed hash falls). With ``weight`` (say, the pictures a sample yields: a
    video's sampled frames, an image's one), they are fractions of the total weight: the
    components, in keyed-hash order, each go to the part furthest below its share, so a few
    large components cannot leave one part nearly empty. Either way each part is sorted by
    path, so equal inputs in any order give equal outputs.
    """
    if not (0 <= test <= 1 and 0 <= val <= 1 and test + val < 1):
        raise BadInputError(
            f"test={test} and val={val} are not fractions that leave a training part; use "
            "values in [0, 1] with test + val < 1",
            code="datasets.bad_split",
        )
    parts: dict[str, list[MediaSample]] = {name: [] for name in SPLITS}
    found = components(samples)
    if weight is None:
        for key, component in found.items():
            u = _unit(key, str(seed))
            name = "test" if u < test else "val" if u < test + val else "train"
            parts[name].extend(component)
    else:
        share = {"train": 1.0 - test - val, "val": val, "test": test}
        filled = dict.fromkeys(SPLITS, 0.0)
        for key in sorted(found, key=lambda k: _unit(k, str(seed))):
            component = found[key]
            total = sum(filled.values()) + sum(weight(s) for s in component)
            name = max(
                (n for n in SPLITS if share[n] > 0), key=lambda n: share[n] * total - filled[n]
            )
            parts[name].extend(component)
            filled[name] += sum(weight(s) for s in component)
    return {name: tuple(sorted(parts[name], key=_order)) for name in SPLITS}


def check_no_leakage(splits: Mapping[str, Iterable[MediaSample]]) -> None:
    """Raise :class:`BadInputError` if an id or a file appears in more than one split."""
    where: dict[str, set[str]] = defaultdict(set)
    for name, samples in splits.items():
        for sample in samples:
            for node in sample.ids:
                where[node].add(name)
            where[f"file {sample.path}"].add(name)
    leaks = sorted((node, sorted(names)) for node, names in where.items() if len(names) > 1)
    if not leaks:
        return
    shown = "; ".join(f"{node} ({', '.join(names)})" for node, names in leaks[:_SHOWN])
    more = f"; ... and {len(leaks) - _SHOWN} more" if len(leaks) > _SHOWN else ""
    raise BadInputError(
        f"{len(leaks)} id(s) appear in more than one split: {shown}{more}; split with "
        "split_by_group, which keeps samples that share a group or source id together",
        code="datasets.leakage",
    )


def label_balance(splits: Mapping[str, Sequence[MediaSample]]) -> dict[str, dict[str, int]]:
    """Per split: samples, REAL, FAKE and distinct groups."""
    out: dict[str, dict[str, int]] = {}
    for name, samples in splits.items():
        labels = Counter(s.label for s in samples)
        out[name] = {
            "samples": len(samples),
            "REAL": labels[Label.REAL],
            "FAKE": labels[Label.FAKE],
            "groups": len({s.group for s in samples}),
        }
    return out


def describe_splits(splits: Mapping[str, Sequence[MediaSample]]) -> str:
    """One line per split for people: ``test: 20 samples (10 REAL, 10 FAKE, 50% fake) ...``."""
    lines = []
    for name, row in label_balance(splits).items():
        share = f"{100 * row['FAKE'] / row['samples']:.0f}% fake" if row["samples"] else "empty"
        lines.append(
            f"{name}: {row['samples']} samples ({row['REAL']} REAL, {row['FAKE']} FAKE, "
            f"{share}) in {row['groups']} groups"
        )
    return "\n".join(lines)
