"""The synthetic face-swap builder: pairs, clusters as split units, marks, refusals."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from cameoguard.consent.faces import FaceDetector
from cameoguard.datasets import load_dataset, split_by_group
from cameoguard.datasets.splits import check_no_leakage
from cameoguard.datasets.synthetic import (
    CSV_COLUMNS,
    Person,
    SynthSettings,
    build_composites,
    clusters_of,
    people_from_folders,
)
from cameoguard.errors import BadInputError
from cameoguard.media import Limits, load_image, probe, sample_frames
from cameoguard.settings import get_settings
from cameoguard.watermark.keys import WatermarkKey
from cameoguard.watermark.marker import Watermarker
from cameoguard.watermark.payload import format_payload


def _people(n: int) -> list[Person]:
    return [Person(f"p{i}", (Path(f"p{i}.jpg"),)) for i in range(n)]


@pytest.mark.parametrize("n", [2, 3, 5, 8])
def test_clusters_are_disjoint_and_cover_everyone(n: int) -> None:
    clusters = clusters_of(_people(n), 2, "seed")
    members = [p.identity for c in clusters.values() for p in c]
    assert sorted(members) == sorted(f"p{i}" for i in range(n))
    assert all(len(c) >= 2 for c in clusters.values())
    assert clusters == clusters_of(list(reversed(_people(n))), 2, "seed")  # order-free


def test_clusters_need_two_people() -> None:
    with pytest.raises(BadInputError, match="at least 2 people"):
        clusters_of(_people(1), 2, "seed")


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"cluster_size": 1}, "cluster_size"),
        ({"blends": ("poisson",)}, "blends"),
        ({"keep_shape": (0.9, 0.1)}, "keep_shape"),
        ({"jpeg_quality": (0, 90)}, "jpeg_quality"),
        ({"video_seconds": 0}, "video_seconds"),
    ],
)
def test_bad_settings_are_refused(options: dict[str, object], match: str) -> None:
    with pytest.raises(BadInputError, match=match):
        SynthSettings(**options)  # type: ignore[arg-type]


def test_people_from_folders(tmp_path: Path) -> None:
    for rel in ("a/1.jpg", "a/2.png", "b/x/3.jpg", "group/4.jpg", "clip.mp4", "notes.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    people = people_from_folders([tmp_path], exclude=["group"])
    assert [(p.identity, [f.name for f in p.files]) for p in people] == [
        ("a", ["1.jpg", "2.png"]),
        ("b", ["3.jpg"]),
        ("clip", ["clip.mp4"]),
    ]
    with pytest.raises(BadInputError, match="not a folder"):
        people_from_folders([tmp_path / "missing"])


def test_non_empty_destination_is_refused(tmp_path: Path) -> None:
    (tmp_path / "old.txt").write_text("keep me")
    with pytest.raises(BadInputError, match="not empty"):
        build_composites(
            _people(2),
            tmp_path,
            marker=Watermarker(WatermarkKey.generate()),
            faces=FaceDetector(),
            limits=Limits.from_settings(get_settings()),
        )
    assert (tmp_path / "old.txt").read_text() == "keep me"


def test_build_from_real_photos_and_a_video(
    shared_data: Path, detector: FaceDetector, tmp_path: Path
) -> None:
    people = people_from_folders([shared_data / "faces/face_recognition"], exclude=["multi_face"])
    chosen = [Person(p.identity, p.files[:1]) for p in people if p.identity in {"obama", "biden"}]
    video = shared_data / "real_fake/videos/ffpp/original/519.mp4"
    chosen.append(Person("519", (video,)))
    limits = Limits.from_settings(get_settings())
    marker = Watermarker(WatermarkKey.generate())
    settings = SynthSettings(video_seconds=1.0)
    report = build_composites(
        chosen, tmp_path / "synth", marker=marker, faces=detector, limits=limits, settings=settings
    )
    assert report.skipped == []
    assert report.fake == report.real == 3  # one pair per target file
    with report.csv_path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len({r["watermark"] for r in rows}) == len(rows) == 6

    dataset = load_dataset("csv", report.csv_path)
    assert dataset.by_label() == {"FAKE": 3, "REAL": 3}
    assert set(dataset.by_method()) == {"cameo_composite", "none"}
    # the split unit is the cluster: every identity stays on one side
    clusters = {s.group for s in dataset}
    assert clusters == set(report.clusters)
    check_no_leakage(split_by_group(list(dataset), test=0.3, val=0.0, seed="x"))
    identities = {i for ids in report.clusters.values() for i in ids}
    for sample in dataset:
        people = set(sample.source_ids) - {sample.group}
        assert people <= set(report.clusters[sample.group]) <= identities

    by_path = {r["path"]: r for r in rows}
    for row in rows:
        path = report.out_dir / row["path"]
        assert probe(path, limits).kind.value == row["media"]
        pictures = (
            [load_image(path, limits)]
            if row["media"] == "image"
            else [f.rgb for f in sample_frames(path, 8, limits)]
        )
        found = (
            marker.detect_image(pictures[0])
            if row["media"] == "image"
            else marker.detect_frames(pictures)
        )
        assert found.found and format_payload(found.payload or 0) == row["watermark"], row["path"]
        if row["label"] == "fake":
            real = by_path[
                row["path"].replace("fake/", "real/", 1).rsplit("__from_", 1)[0]
                + Path(row["path"]).suffix
            ]
            assert real["quality"] == row["quality"]  # same codec settings on both sides
            assert row["source_identity"] != row["identity"]
            if row["media"] == "image":
                fake = pictures[0].astype(np.int16)
                original = load_image(report.out_dir / real["path"], limits).astype(np.int16)
                changed = np.abs(fake - original).max(axis=2) > 40
                assert 0.002 < changed.mean() < 0.3  # the face changed, not the whole frame
    assert not list(report.out_dir.rglob(".unmarked-*")) and not list(
        report.out_dir.rglob("*.part*")
    )


def test_small_pictures_grow_and_each_target_gets_several_fakes(
    shared_data: Path, detector: FaceDetector, tmp_path: Path
) -> None:
    root = shared_data / "faces/faceapi_js"
    people = [Person(name, (root / name / f"{name}1.png",)) for name in ("bernadette", "penny")]
    limits = Limits.from_settings(get_settings())
    settings = SynthSettings(fakes_per_target=2)
    marker = Watermarker(WatermarkKey.generate())
    report = build_composites(
        people,
        tmp_path / "s",
        marker=marker,
        faces=detector,
        limits=limits,
        settings=settings,
    )
    assert (report.fake, report.real, report.skipped) == (4, 2, [])
    dataset = load_dataset("csv", report.csv_path)
    names = sorted(s.path.name for s in dataset if s.label.value == "FAKE")
    assert names == [
        "bernadette__bernadette1__from_penny.jpg",
        "bernadette__bernadette1__from_penny_1.jpg",
        "penny__penny1__from_bernadette.jpg",
        "penny__penny1__from_bernadette_1.jpg",
    ]
    for sample in dataset:  # 150 px stills are scaled up alike on both sides of a pair
        assert min(load_image(sample.path, limits).shape[:2]) >= 256
    again = build_composites(
        people, tmp_path / "again", marker=marker, faces=detector, limits=limits, settings=settings
    )
    for sample in dataset:  # payloads come from seed, key and place: a rebuild is identical
        rel = sample.path.relative_to(report.out_dir)
        assert (again.out_dir / rel).read_bytes() == sample.path.read_bytes()
