"""The end-to-end demo: generate marked media, verify it, strip it, resolve it, forge it.

    python -m cameoguard.demo [--out DIR]

1. create a development CA, a watermark key and a ledger database in an isolated data dir;
2. make a sample image and a sample 6 s video with an audio track (rendered here, no downloads);
3. emit both as generated media: watermark (payload = a new generation id), fingerprints,
   C2PA manifest with the soft-binding assertion, self-verification, ledger record;
4. verify both against the development root (expected: trusted); change pixels in the signed
   image and verify again (expected: invalid, data hash mismatch);
5. re-post stripped copies (image resized and re-compressed, video trimmed and re-encoded): no
   manifest any more, yet ``resolve`` finds the generation through watermark + fingerprint;
6. copy the image's watermark onto other content: ``resolve`` reports a transplant;
7. consent registry: enroll a likeness (NASA's public-domain portrait of Eileen Collins that
   ships inside scikit-image, or three real photos from ``../shared/data`` when present),
   refuse the same photo sent three times and the same face for another account, identify a
   re-compressed copy, authorize, permit, revoke (refused at once, grant status revoked),
   verify the audit chain, delete (the face is no longer recognised);
8. the service starts on loopback (:mod:`cameoguard.demo_service`) and the consent story runs
   over real HTTP calls: alice enrolls her face and approves bob; bob generates a composite
   video with her cameo and downloads the signed file; a platform verifies it (trusted,
   AI-generated, her consent); a stripped repost resolves to it; alice revokes: the consent
   status URL answers "revoked", bob's new generation and remix are refused (403), and the
   platform's verify of the repost is queued for moderation;
9. the fused verdict with the shipped ``face_cnn`` detector on the repost and on a face swap
   nobody here made;
10. over HTTP, a moderator works the queue, removes the generation (the ledger takes it down)
    and exports the hash bank;
11. print a table and exit 1 unless every outcome is the expected one.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import numpy.typing as npt
from rich.console import Console
from rich.table import Table

from cameoguard import db
from cameoguard.cli.render import render_report
from cameoguard.errors import CameoguardError
from cameoguard.generator_adapter.emit import Emitter
from cameoguard.media import AudioClip, Limits, load_image, save_image, write_video
from cameoguard.media.video import iter_frames
from cameoguard.provenance.keys import init_dev_ca
from cameoguard.provenance.ledger import Ledger
from cameoguard.provenance.manifest import ManifestSpec
from cameoguard.provenance.report import ProvenanceState
from cameoguard.provenance.signers import signer_from_settings
from cameoguard.provenance.softbinding import ResolutionStatus, Resolver
from cameoguard.provenance.trust import TrustPolicy
from cameoguard.provenance.verify import verify_file
from cameoguard.settings import Settings
from cameoguard.watermark.keys import load_or_create_watermark_key
from cameoguard.watermark.marker import Watermarker

__all__ = ["main", "make_sample_image", "make_sample_video_frames", "make_tone", "make_voice"]

Image = npt.NDArray[np.uint8]


def make_sample_image(width: int = 1280, height: int = 720, seed: int = 7) -> Image:
    """A synthetic 'sunset over hills' picture: smooth gradients, shapes and mild texture."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    sky = np.stack([255 - 90 * y / height, 120 + 60 * y / height, 200 - 120 * y / height], -1)
    sun = ((x - 0.7 * width) ** 2 + (y - 0.35 * height) ** 2) < (0.09 * height) ** 2
    sky[sun] = (255, 220, 120)
    hills = y > (0.65 * height + 0.08 * height * np.sin(x / width * 9.0))
    sky[hills] = np.stack(
        [40 + 30 * np.sin(x / 37.0), 110 + 20 * np.cos(y / 23.0), 50 + 0 * x], -1
    )[hills]
    sky += rng.normal(0.0, 3.0, sky.shape)
    out: Image = np.clip(sky, 0, 255).astype(np.uint8)
    return out


def make_sample_video_frames(n: int, width: int = 640, height: int = 360) -> list[Image]:
    """A ball bouncing over a moving gradient."""
    frames = []
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    for i in range(n):
        t = i / max(n - 1, 1)
        frame = np.stack(
            [
                (x / width * 255 + 200 * t) % 256,
                y / height * 180 + 40,
                np.full_like(x, 120 + 80 * t),
            ],
            -1,
        )
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


def make_voice(seconds: float, sample_rate: int = 48_000, seed: int = 3) -> AudioClip:
    """Speech-like sound made here: a buzzing voice with vowel formants, in syllables.

    Broadband like real speech, never silent for long (a pure tone, or sound that is silent half
    the time, is too sparse to carry the audio watermark under every key).
    """
    from scipy.signal import butter, sosfilt

    rng = np.random.default_rng(seed)
    n = int(seconds * sample_rate)
    t = np.arange(n, dtype=np.float64) / sample_rate
    pitch = 135.0 + 25.0 * np.sin(2 * np.pi * 0.7 * t) + 10.0 * np.sin(2 * np.pi * 2.3 * t)
    phase = np.cumsum(2 * np.pi * pitch / sample_rate)
    source = 0.7 * (2.0 * ((phase / (2 * np.pi)) % 1.0) - 1.0) + 0.3 * rng.normal(0, 1, n)
    voice = np.zeros(n)
    for low, high, gain in ((300.0, 900.0, 1.0), (1000.0, 2400.0, 0.6), (2500.0, 4000.0, 0.3)):
        voice += gain * sosfilt(butter(2, (low, high), "bandpass", fs=sample_rate, output="sos"),
                                source)  # fmt: skip
    syllables = np.clip(np.sin(2 * np.pi * 3.1 * t + 0.6 * np.sin(2 * np.pi * 0.4 * t)), 0, 1)
    pauses = (np.sin(2 * np.pi * 0.35 * t) > -0.9).astype(np.float64)
    voice *= (0.3 + 0.7 * syllables**0.7) * (0.4 + 0.6 * pauses)
    voice = 0.3 * voice / max(float(np.abs(voice).max()), 1e-9)
    mono = voice.astype(np.float32)
    return AudioClip(np.stack([mono, mono]), sample_rate)


def _tamper_pixels(signed: Path, tampered: Path) -> None:
    """Flip bytes inside the JPEG entropy-coded data, leaving the manifest untouched."""
    data = bytearray(signed.read_bytes())
    sos = data.rfind(b"\xff\xda")  # start of scan: the compressed pixels follow
    for offset in range(sos + 600, sos + 1600, 97):
        data[offset] ^= 0x5A
    tampered.write_bytes(bytes(data))


def _portraits(out: Path) -> tuple[list[Path], str]:
    """Three photos of one person: real ones from ../shared/data, else one public-domain one."""
    shared = Path(__file__).resolve().parents[3] / "shared" / "data" / "faces"
    obama = shared / "face_recognition" / "obama"
    names = ("obama2.jpg", "obama3.jpg", "obama1_knn_test.jpg")
    if all((obama / n).is_file() for n in names):
        return [obama / n for n in names], "three real photos from ../shared/data"
    import skimage.data

    portrait = out / "eileen-collins.png"
    rgb = np.asarray(skimage.data.astronaut(), dtype=np.uint8)  # type: ignore[no-untyped-call]
    save_image(np.ascontiguousarray(rgb), portrait)
    return [portrait], "NASA's portrait of Eileen Collins (public domain, in scikit-image)"


def _consent(
    console: Console, out: Path, settings: Settings, engine: Any, ledger: Ledger
) -> list[tuple[str, str, str, str, bool]]:
    from cameoguard.consent.enrollment import photo_samples
    from cameoguard.consent.registry import CameoRegistry
    from cameoguard.consent.values import Actor
    from cameoguard.errors import EnrollmentError

    rows: list[tuple[str, str, str, str, bool]] = []
    photos, where = _portraits(out)
    owner = Actor("alice")
    limits = Limits.from_settings(settings)
    with CameoRegistry.from_settings(settings, engine, ledger=ledger) as registry:

        def refused(label: str, code: str, attempt: Any) -> None:
            try:
                attempt()
                got = "enrolled"
            except EnrollmentError as error:
                got = error.code
                console.print(f"{label}: [yellow]{error.message}[/yellow]")
            rows.append((label, code, got, "-", got == code))

        same = [photos[0]] * 3
        refused(
            "same photo x3",
            "enroll.rejected",
            lambda: registry.enroll_photos("alice", "Alice", same),
        )
        samples: list[Any] = []
        if len(photos) >= 3:
            cameo = registry.enroll_photos("alice", "Alice", photos).cameo
        else:  # one portrait only: enroll its one checked sample (real enrollments need 3)
            rgb = load_image(photos[0], limits)
            samples = photo_samples(
                [(photos[0].name, rgb)],
                registry.detector,
                registry.embedder,
                registry.rules,
                min_photos=1,
            )
            cameo = registry.enroll_samples("alice", "Alice", samples).cameo
        console.print(f"enrolled {cameo.id} from {where}; tier {cameo.tier.value}")
        rows.append(
            ("enroll", "active cameo", cameo.status.value, cameo.id, cameo.status.value == "active")
        )
        refused(
            "same face, other account",
            "enroll.already_enrolled",
            lambda: (
                registry.enroll_photos("mallory", "Me", photos)
                if len(photos) >= 3
                else registry.enroll_samples("mallory", "Me", samples)
            ),
        )
        copy = out / "portrait.reposted.jpg"
        rgb = load_image(photos[0], limits)
        smaller = cv2.resize(
            rgb, (rgb.shape[1] * 3 // 4, rgb.shape[0] * 3 // 4), interpolation=cv2.INTER_AREA
        )
        save_image(
            np.asarray(smaller, dtype=np.uint8),
            copy,
            quality=70,
        )
        found = registry.identify(copy).subjects()
        got = found[0]["id"] if found else "no match"
        rows.append(
            (
                copy.name,
                f"identified as {cameo.id}",
                got,
                f"distance {found[0]['distance']:.3f}" if found else "-",
                got == cameo.id,
            )
        )
        prompt = "walking a dog on the beach"
        before = registry.authorize("bob", [cameo.id], prompt)
        registry.set_permissions(cameo.id, tier="approved", approve=["bob"], actor=owner)
        granted = registry.authorize("bob", [cameo.id], prompt)
        registry.revoke(cameo.id, actor=owner, reason="demo")
        after = registry.authorize("bob", [cameo.id], prompt)
        status = registry.grant_status(granted.grants[0].grant_id).state if granted.grants else "-"
        for label, result, want in (
            ("bob, only_me", before, "not_approved"),
            ("bob, approved", granted, "granted"),
            ("bob, after revoke", after, "revoked"),
        ):
            got = "granted" if result.allowed else result.denials[0].reason.value
            console.print(f"authorize {label}: {got}")
            rows.append((f"authorize {label}", want, got, "-", got == want))
        rows.append(("grant status after revoke", "revoked", status, "-", status == "revoked"))
        check = registry.audit_verify()
        console.print(f"audit log: {check.entries} entries, head {check.head[:16]}...")
        rows.append(
            (
                "audit verify",
                "intact",
                "intact" if check.ok else "broken",
                f"{check.entries} entries",
                check.ok,
            )
        )
        deleted = registry.delete(cameo.id, actor=owner)
        gone = not registry.identify(copy).subjects()
        rows.append(
            (
                "delete, identify again",
                "no match",
                "no match" if gone else "match",
                f"{deleted.removed_samples} samples erased",
                gone,
            )
        )
    return rows


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
    fps, seconds = 25, 6
    video = out / "bouncing-ball.mp4"
    write_video(video, make_sample_video_frames(fps * seconds), fps=fps, audio=make_tone(seconds))
    console.print(f"{image} ({image.stat().st_size} bytes), {video} ({video.stat().st_size} bytes)")

    console.rule("3. generate: watermark -> fingerprint -> sign -> self-verify -> ledger")
    limits = Limits.from_settings(settings)
    trust = TrustPolicy.from_settings(settings)
    engine = db.create_engine_for(settings.effective_database_url)
    db.upgrade(engine)
    ledger = Ledger(db.session_factory(engine))
    marker = Watermarker(load_or_create_watermark_key(settings.watermark_key_path))
    signed_image, signed_video = out / "sunset.signed.jpg", out / "bouncing-ball.signed.mp4"
    ids: dict[Path, str] = {}
    with signer_from_settings(settings) as signer:
        emitter = Emitter(marker, signer, ledger, limits, trust)
        for src, dst in ((image, signed_image), (video, signed_video)):
            spec = ManifestSpec.ai_generated(
                dst.name, generator="cameoguard demo renderer", generator_version="1"
            )
            result = emitter.emit(src, dst, spec, requester="demo", backend="demo-renderer")
            ids[dst] = result.generation_id
            console.print(
                f"{dst.name}: {result.generation_id}, watermark in "
                f"{', '.join(result.watermark_tracks)}, recorded in the ledger"
            )

    console.rule("4. verify, tamper, verify again")
    tampered = out / "sunset.tampered.jpg"
    _tamper_pixels(signed_image, tampered)
    expected = {
        signed_image: ProvenanceState.TRUSTED,
        signed_video: ProvenanceState.TRUSTED,
        tampered: ProvenanceState.INVALID,
    }
    rows: list[tuple[str, str, str, str, bool]] = []
    for path, want in expected.items():
        report = verify_file(path, limits=limits, trust=trust)
        render_report(console, report)
        rows.append(
            (
                path.name,
                want.value,
                report.state.value,
                ", ".join(report.failure_codes) or "-",
                report.state is want,
            )
        )

    console.rule("5. strip the manifest (re-encode, resize, trim), then resolve")
    stripped_image = out / "sunset.reposted.jpg"
    rgb = load_image(signed_image, limits)
    small = cv2.resize(
        rgb, (rgb.shape[1] * 3 // 4, rgb.shape[0] * 3 // 4), interpolation=cv2.INTER_AREA
    )
    save_image(np.asarray(small, np.uint8), stripped_image, quality=70)
    stripped_video = out / "bouncing-ball.reposted.mp4"
    frames = [f.rgb for f in iter_frames(signed_video, limits)][fps:]  # drop the first second
    write_video(stripped_video, frames, fps=fps, crf=28)
    resolver = Resolver(ledger, marker, limits)
    for path, original in ((stripped_image, signed_image), (stripped_video, signed_video)):
        state = verify_file(path, limits=limits, trust=trust).state
        found = resolver.resolve(path)
        console.print(
            f"{path.name}: manifest {state.value}; {found.status.value} "
            f"{found.generation_id} by {found.method}: {found.explanation}"
        )
        good = state is ProvenanceState.ABSENT and found.matched
        good &= found.generation_id == ids[original]
        got = f"{found.status.value} {found.generation_id}"
        rows.append((path.name, f"resolves to {ids[original]}", got, found.method or "-", good))

    console.rule("6. forge: copy the image's watermark onto other content")
    entry = ledger.get(ids[signed_image])
    assert entry is not None
    forged = out / "forged.png"
    other = make_sample_video_frames(2, 1280, 720)[1]
    save_image(marker.embed_image(other, entry.payload), forged)
    found = resolver.resolve(forged)
    console.print(f"{forged.name}: {found.status.value}: {found.explanation}")
    rows.append(
        (
            forged.name,
            "transplant_suspected",
            found.status.value,
            "-",
            found.status is ResolutionStatus.TRANSPLANT_SUSPECTED,
        )
    )
    console.rule("7. consent: enroll, identify, authorize, revoke, audit, delete")
    rows.extend(_consent(console, out, settings, engine, ledger))

    engine.dispose()
    from cameoguard.demo_generation import detection_step
    from cameoguard.demo_service import generation_over_http, moderation_over_http, service

    with service(settings, console) as walk:
        console.rule("8. over HTTP: enroll, generate, verify, strip and resolve, revoke")
        try:
            rows.extend(generation_over_http(console, out, settings, walk))
        except (CameoguardError, httpx.HTTPError, KeyError) as error:  # a row, not a traceback
            console.print(f"[red]the HTTP walk failed:[/red] {error}")
            rows.append(("HTTP walk", "answers over HTTP", type(error).__name__, str(error), False))

        console.rule("9. the fused verdict with the shipped passive detector")
        try:
            rows.extend(detection_step(console, out, settings))
        except CameoguardError as error:
            console.print(f"[red]verification failed:[/red] {error.message}")
            rows.append(("fused verdict", "a report", error.code, error.message, False))

        console.rule("10. over HTTP: the moderation queue, a removal, the hash bank")
        try:
            rows.extend(moderation_over_http(console, walk))
        except (CameoguardError, httpx.HTTPError, KeyError) as error:
            console.print(f"[red]moderation failed:[/red] {error}")
            rows.append(
                ("moderation", "answers over HTTP", type(error).__name__, str(error), False)
            )

    console.rule("11. outcome")
    table = Table("file", "expected", "got", "details", "ok")
    ok = True
    for name, expected_text, got_text, details, good in rows:
        ok &= good
        table.add_row(
            name,
            expected_text,
            got_text,
            details,
            "[green]yes[/green]" if good else "[red]NO[/red]",
        )
    console.print(table)
    console.print(
        "[green]Demo passed.[/green]" if ok else "[red]Demo failed: unexpected outcome.[/red]"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
