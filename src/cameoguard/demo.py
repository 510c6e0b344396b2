"""The end-to-end demo: make media, sign it, verify it, tamper with it, verify again.

    python -m cameoguard.demo [--out DIR]

1. create a development CA (root -> intermediate -> ES256 signer) in an isolated data dir;
2. make a sample image and a sample 4 s video with an audio track (rendered here, no downloads);
3. sign both as AI-generated media with a C2PA manifest;
4. verify both against the development root (expected: trusted);
5. change pixels in the signed image and verify it again (expected: invalid, data hash mismatch);
6. print the three reports and check that each outcome is the expected one (exit 1 otherwise).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
from rich.console import Console
from rich.table import Table

from cameoguard.cli.render import render_report
from cameoguard.media import AudioClip, Limits, save_image, write_video
from cameoguard.provenance.keys import init_dev_ca
from cameoguard.provenance.manifest import ManifestSpec
from cameoguard.provenance.report import ProvenanceReport, ProvenanceState
from cameoguard.provenance.sign import sign_file
from cameoguard.provenance.signers import signer_from_settings
from cameoguard.provenance.trust import TrustPolicy
from cameoguard.provenance.verify import verify_file
from cameoguard.settings import Settings

__all__ = ["main", "make_sample_image", "make_sample_video_frames", "make_tone"]

Image = npt.NDArray[np.uint8]


def make_sample_image(width: int = 1280, height: int = 720, seed: int = 7) -> Image:
    """A synthetic 'sunset over hills' picture: smooth gradients, shapes and mild texture."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    sky = np.stack([255 - 90 * y / height, 120 + 60 * y / height, 200 - 120 * y / height], -1)
    sun = ((x - 0.7 * width) ** 2 + (y - 0.35 * height) ** 2) < (0.09 * height) ** 2
    sky[sun] = (255, 220, 120)
    hills = y > (0.65 * height + 0.08 * height * np.sin(x / width * 9.0))
    sky[hills] = np.stack([40 + 30 * np.sin(x / 37.0), 110 + 20 * np.cos(y / 23.0),
                           50 + 0 * x], -1)[hills]  # fmt: skip
    sky += rng.normal(0.0, 3.0, sky.shape)
    out: Image = np.clip(sky, 0, 255).astype(np.uint8)
    return out


def make_sample_video_frames(n: int, width: int = 640, height: int = 360) -> list[Image]:
    """A ball bouncing over a moving gradient."""
    frames = []
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    for i in range(n):
        t = i / max(n - 1, 1)
        frame = np.stack([(x / width * 255 + 200 * t) % 256, y / height * 180 + 40,
                          np.full_like(x, 120 + 80 * t)], -1)  # fmt: skip
        cx = width * (0.15 + 0.7 * t)
        cy = height * (0.5 - 0.3 * abs(np.sin(t * 3 * np.pi)))
        ball = (x - cx) ** 2 + (y - cy) ** 2 < (0.08 * height) ** 2
        frame[ball] = (250, 250, 250)
        frames.append(frame.astype(np.uint8))
    return frames


def make_tone(seconds: float, sample_rate: int = 48_000) -> AudioClip:
    """A stereo A-major chord with a slow tremolo."""
    t = np.arange(int(seconds * sample_rate), dtype=np.float32) / sample_rate
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.18, 329.63)) / 3
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t)
    left = (0.4 * chord * envelope).astype(np.float32)
    right = (0.4 * chord * envelope[::-1]).astype(np.float32)
    return AudioClip(np.stack([left, right]), sample_rate)


def _tamper_pixels(signed: Path, tampered: Path) -> None:
    """Flip bytes inside the JPEG entropy-coded data, leaving the manifest untouched."""
    data = bytearray(signed.read_bytes())
    sos = data.rfind(b"\xff\xda")  # start of scan: the compressed pixels follow
    for offset in range(sos + 600, sos + 1600, 97):
        data[offset] ^= 0x5A
    tampered.write_bytes(bytes(data))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("demo-output"))
    args = parser.parse_args(argv)
    console = Console(highlight=False)
    out: Path = args.out
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)

    console.rule("1. development certificate authority")
    keys = init_dev_ca(out / "data" / "keys")
    settings = Settings(data_dir=out / "data", trust_anchors=keys.trust_anchors)
    console.print(f"root -> intermediate -> ES256 signer in {keys.signer_chain.parent}")

    console.rule("2. sample media (made here)")
    image = out / "sunset.jpg"
    save_image(make_sample_image(), image, quality=90)
    fps, seconds = 25, 4
    video = out / "bouncing-ball.mp4"
    write_video(video, make_sample_video_frames(fps * seconds), fps=fps, audio=make_tone(seconds))
    console.print(f"{image} ({image.stat().st_size} bytes), {video} ({video.stat().st_size} bytes)")

    console.rule("3. sign as AI-generated")
    limits = Limits.from_settings(settings)
    trust = TrustPolicy.from_settings(settings)
    signed_image, signed_video = out / "sunset.signed.jpg", out / "bouncing-ball.signed.mp4"
    with signer_from_settings(settings) as signer:
        for src, dst in ((image, signed_image), (video, signed_video)):
            spec = ManifestSpec.ai_generated(
                dst.name, generator="cameoguard demo renderer", generator_version="1"
            )
            result = sign_file(src, dst, spec, signer, limits=limits, trust=trust)
            console.print(f"signed {dst} (manifest {result.manifest_bytes} bytes)")

    console.rule("4-5. verify, tamper, verify again")
    tampered = out / "sunset.tampered.jpg"
    _tamper_pixels(signed_image, tampered)
    expected = {
        signed_image: ProvenanceState.TRUSTED,
        signed_video: ProvenanceState.TRUSTED,
        tampered: ProvenanceState.INVALID,
    }
    reports: list[ProvenanceReport] = []
    for path in expected:
        report = verify_file(path, limits=limits, trust=trust)
        render_report(console, report)
        reports.append(report)

    console.rule("6. outcome")
    table = Table("file", "expected", "got", "failure codes", "ok")
    ok = True
    for report, (path, want) in zip(reports, expected.items(), strict=True):
        good = report.state is want
        ok &= good
        table.add_row(path.name, want.value, report.state.value,
                      ", ".join(report.failure_codes) or "-",
                      "[green]yes[/green]" if good else "[red]NO[/red]")  # fmt: skip
    console.print(table)
    console.print(
        "[green]Demo passed.[/green]" if ok else "[red]Demo failed: unexpected outcome.[/red]"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
