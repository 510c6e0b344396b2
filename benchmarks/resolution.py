"""Resolution of stripped copies from the ledger: the soft binding's end-to-end target.

    .venv/bin/python benchmarks/resolution.py [--quick]

Every test image (the same set as ``benchmarks/watermark.py``) and every 10 s 720p clip goes
through the real emit stage (watermark -> fingerprints -> C2PA sign -> self-verify -> SQLite
ledger). Each output is then attacked with the image or video attack suite and saved as a new
file, which removes the manifest (checked), and resolved with :class:`Resolver`. A copy counts
as resolved when the result is ``matched`` to the right generation id. Prints one table: per
attack, resolved share, and how (``watermark+fingerprint``, ``watermark``, ``fingerprint``).
Target (issue 3): 100 % for every image and video attack.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _attacks import IMAGE_ATTACKS
from cameoguard import db
from cameoguard.generator_adapter.emit import Emitter
from cameoguard.media import Limits, save_image, write_video
from cameoguard.media.image import load_image
from cameoguard.media.probe import probe
from cameoguard.media.video import iter_frames
from cameoguard.provenance.keys import init_dev_ca
from cameoguard.provenance.ledger import Ledger
from cameoguard.provenance.manifest import ManifestSpec
from cameoguard.provenance.report import ProvenanceState
from cameoguard.provenance.signers import signer_from_settings
from cameoguard.provenance.softbinding import Resolver
from cameoguard.provenance.verify import verify_file
from cameoguard.settings import Settings
from cameoguard.watermark.keys import WatermarkKey
from cameoguard.watermark.marker import Watermarker
from watermark import (
    ATTACK_PRESET,
    RESULTS,
    VIDEO_ATTACKS,
    VIDEO_CLIPS,
    cut_clip,
    ffpp_videos,
    load_images,
)

SPEC = ManifestSpec.ai_generated("benchmark output", generator="benchmark")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few images and one clip")
    parser.add_argument("--max-side", type=int, default=1024)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="cg-resolve-"))
    keys = init_dev_ca(work / "keys")
    settings = Settings(data_dir=work, signing_cert=keys.signer_chain,
                        signing_key=keys.signer_key, trust_anchors=keys.trust_anchors)  # fmt: skip
    limits = Limits(max_bytes=1 << 31, max_pixels=1 << 27, max_video_seconds=600.0,
                    max_audio_seconds=600.0)  # fmt: skip
    engine = db.create_engine_for(settings.effective_database_url)
    db.upgrade(engine)
    ledger = Ledger(db.session_factory(engine))
    marker = Watermarker(WatermarkKey(bytes(range(32))))
    resolver = Resolver(ledger, marker, limits)
    tally: dict[str, Counter[str]] = {}
    misses: dict[str, list[str]] = {}
    rng = np.random.default_rng(0)

    def record(kind: str, attack: str, path: Path, expected: str) -> None:
        state = verify_file(path, limits=limits).state
        assert state is ProvenanceState.ABSENT, f"{path}: manifest survived ({state})"
        found = resolver.resolve(path)
        key = f"{kind} | {attack}"
        counts = tally.setdefault(key, Counter())
        counts["n"] += 1
        if found.matched and found.generation_id == expected:
            counts["ok"] += 1
            counts[found.method or "?"] += 1
        else:
            misses.setdefault(key, []).append(f"{path.stem}: {found.status.value}")

    with signer_from_settings(settings) as signer:
        emitter = Emitter(marker, signer, ledger, limits)
        images = load_images(args.max_side, args.quick)
        for i, image in enumerate(images):
            raw = save_image(image.rgb, work / f"raw{i}.png")
            out = emitter.emit(raw, work / f"gen{i}.png", SPEC, requester="bench", backend="b")
            marked = load_image(out.path, limits)
            for k, (name, attack) in enumerate(IMAGE_ATTACKS.items()):
                copy = save_image(attack(marked, rng), work / f"copy{i}-{k}.png")
                record("image", name, copy, out.generation_id)
        print(f"images: {len(images)} emitted and resolved", file=sys.stderr)
        clips = [cut_clip(p, RESULTS / "media" / f"wm-v1-{p.parent.name}-{p.stem}.mp4")
                 for p in ffpp_videos() if f"{p.parent.name}/{p.stem}" in VIDEO_CLIPS]  # fmt: skip
        for j, clip in enumerate(clips[:1] if args.quick else clips):
            out = emitter.emit(clip, work / f"vid{j}.mp4", SPEC, requester="bench", backend="b")
            fps = probe(out.path, limits).fps or 25.0
            frames = [f.rgb for f in iter_frames(out.path, limits)]
            for k, (name, (attack, crf)) in enumerate(VIDEO_ATTACKS.items()):
                if attack is None:
                    continue  # the published file itself resolves by sha256
                new_frames, new_fps = attack(frames, fps)
                copy = write_video(work / f"vcopy{j}-{k}.mp4", new_frames, new_fps,
                                   crf=crf, preset=ATTACK_PRESET)  # fmt: skip
                record("video", name, copy, out.generation_id)
            print(f"video {clip.name}: emitted and resolved", file=sys.stderr)
    engine.dispose()

    print(
        "| media | attack | resolved | n | by watermark+fingerprint | by watermark "
        "| by fingerprint |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for key, c in tally.items():
        kind, attack = key.split(" | ")
        share = 100 * c["ok"] / c["n"]
        methods = f"{c['watermark+fingerprint']} | {c['watermark']} | {c['fingerprint']}"
        print(f"| {kind} | {attack} | {share:.1f} % | {c['n']} | {methods} |")
    for key, items in misses.items():
        print(f"misses, {key}: {', '.join(items[:8])}")
    total = sum(c["n"] for c in tally.values())
    ok = sum(c["ok"] for c in tally.values())
    print(f"resolved {ok}/{total} stripped copies in {time.perf_counter() - started:.0f} s")
    return 0 if ok == total else 1


if __name__ == "__main__":
    sys.exit(main())
