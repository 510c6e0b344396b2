"""Demo step 8: a consented face-swap video, followed from generation to revocation.

Called by :mod:`cameoguard.demo`. With ``../shared/data`` it enrolls Obama from three real
photos and renders him into a target video made from a photo of Biden; without it, it enrolls
NASA's public-domain portrait of Eileen Collins (in scikit-image) and renders her into a target
video made from a mirrored, colour-shifted copy of the same portrait. The target video (4 s,
25 fps, slow zoom and pan, a synthetic voice track) is made here. Then:

1. alice enrolls her cameo and approves bob; bob generates a composite video with her cameo;
2. the output verifies as trusted, AI-generated, with her cameo and grant in the likeness
   assertion, and its watermark decodes to the generation id; alice sees bob's draft;
3. a stripped, re-encoded, trimmed copy has no manifest but resolves to the generation;
4. alice revokes: bob's new generation and his remix of the output are both refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from rich.console import Console

from cameoguard.consent.values import Actor
from cameoguard.errors import ConsentDeniedError
from cameoguard.media import Limits, load_image, write_video
from cameoguard.media.video import iter_frames
from cameoguard.provenance.likeness import read_likeness
from cameoguard.provenance.report import ProvenanceState
from cameoguard.provenance.verify import read_manifest_json, verify_file
from cameoguard.settings import Settings

__all__ = ["generation_step", "make_target_video"]

Row = tuple[str, str, str, str, bool]
#: ``../shared/data`` beside the checkout (project machines only).
SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
Image = npt.NDArray[np.uint8]


def _people(out: Path) -> tuple[list[Path], Image, str]:
    """Enrollment photos, a target picture of someone (else), and where they came from."""
    from cameoguard.demo import _portraits

    photos, where = _portraits(out)
    biden = Path(__file__).resolve().parents[3] / "shared/data/faces/face_recognition/biden"
    limits = Limits(64 << 20, 50_000_000, 60.0, 60.0)
    if len(photos) >= 3 and (biden / "biden.jpg").is_file():
        return photos, load_image(biden / "biden.jpg", limits), where + "; target: Biden"
    portrait = load_image(photos[0], limits)
    tint = np.array([12, -6, -10], dtype=np.int16)
    shifted = np.clip(portrait[:, ::-1].astype(np.int16) + tint, 0, 255)
    return photos, shifted.astype(np.uint8), where + "; target: the same portrait, mirrored"


def make_target_video(
    picture: Image,
    path: Path,
    seconds: float = 4.0,
    fps: int = 25,
    size: tuple[int, int] = (640, 480),
    face: tuple[float, float, float, float] | None = None,
) -> Path:
    """A slow zoom and pan over ``picture`` (around ``face``, a box) with a synthetic voice."""
    from cameoguard.demo import make_voice

    width, height = size
    if face is not None:  # frame the face: a 4:3 window about 3 face heights tall
        x0, y0, x1, y1 = face
        win_h = min(picture.shape[0], 3.0 * (y1 - y0))
        win_w = min(picture.shape[1], win_h * width / height)
        cx = min(max((x0 + x1) / 2, win_w / 2), picture.shape[1] - win_w / 2)
        cy = min(max((y0 + y1) / 2, win_h / 2), picture.shape[0] - win_h / 2)
        left, top = round(cx - win_w / 2), round(cy - win_h / 2)
        picture = np.ascontiguousarray(
            picture[top : top + round(win_h), left : left + round(win_w)]
        )
    h, w = picture.shape[:2]
    scale = max(width / w, height / h) * 1.15
    frames: list[Image] = []
    n = int(seconds * fps)
    for i in range(n):
        t = i / max(n - 1, 1)
        zoom = scale * (1.0 + 0.08 * t)
        dx = (w * zoom - width) * (0.35 + 0.3 * t)
        dy = (h * zoom - height) * 0.4
        matrix = np.array([[zoom, 0.0, -dx], [0.0, zoom, -dy]], dtype=np.float64)
        frame = cv2.warpAffine(
            picture, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )
        frames.append(np.ascontiguousarray(frame, dtype=np.uint8))
    return write_video(path, frames, fps=fps, audio=make_voice(seconds), crf=18)


def generation_step(console: Console, out: Path, settings: Settings, engine: Any) -> list[Row]:
    from cameoguard.generator_adapter.pipeline import GenerationPipeline, GenerationRequest
    from cameoguard.provenance.trust import TrustPolicy

    rows: list[Row] = []
    photos, target_picture, where = _people(out)
    limits = Limits.from_settings(settings)
    trust = TrustPolicy.from_settings(settings)
    alice, bob = Actor("alice"), Actor("bob")
    with GenerationPipeline.from_settings(settings, engine) as pipeline:
        registry = pipeline.registry
        faces = registry.detector.detect(target_picture)
        target = make_target_video(
            target_picture, out / "target.mp4", face=faces[0].box if faces else None
        )
        cameo = _enroll(registry, photos, limits)
        registry.set_permissions(cameo, tier="approved", approve=["bob"], actor=alice)
        console.print(f"alice enrolled {cameo} ({where}) and approved bob")
        prompt = "a short greeting video, friendly, outdoors"
        result = pipeline.generate(
            GenerationRequest("bob", "cameo_composite", prompt, (cameo,), target=target)
        )
        gen = result.generation
        output = pipeline.library.export(gen.id, bob, out / "composite.mp4")
        timings = ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items())
        console.print(f"bob generated {gen.id}: {output.name} ({timings})")
        for skipped in result.watermark_skipped:
            console.print(f"[yellow]not marked:[/yellow] {skipped}")
        report = verify_file(output, limits=limits, trust=trust)
        manifest = read_manifest_json(output, "video/mp4", trust) or "{}"
        likeness = read_likeness(manifest) or {}
        listed = [c["cameo_id"] for c in likeness.get("cameos", [])]
        mark = pipeline.emitter.watermarker.detect_file(output, limits)
        ai = "trainedAlgorithmicMedia" in manifest
        console.print(
            f"verify: {report.state.value}; AI-generated {ai}; cameos {listed}; "
            f"watermark {mark.payload_text}"
        )
        good = report.state is ProvenanceState.TRUSTED and ai and listed == [cameo]
        good &= mark.payload_text == gen.id and set(result.watermark_tracks) == {"video", "audio"}
        rows.append(
            (
                output.name,
                "trusted, AI, consent, mark",
                report.state.value,
                f"{gen.id}, tracks {'+'.join(result.watermark_tracks)}",
                good,
            )
        )
        seen = [g.id for g in pipeline.library.visible(alice)]
        rows.append(
            (
                "alice's drafts view",
                f"shows {gen.id}",
                ", ".join(seen) or "nothing",
                "-",
                seen == [gen.id],
            )
        )

        stripped = out / "composite.reposted.mp4"
        frames = [f.rgb for f in iter_frames(output, limits)][25:]
        write_video(stripped, frames, fps=25, crf=28)
        state = verify_file(stripped, limits=limits, trust=trust).state
        found = pipeline.resolver.resolve(stripped)
        console.print(
            f"{stripped.name}: manifest {state.value}; {found.status.value} "
            f"{found.generation_id} by {found.method}"
        )
        resolved = state is ProvenanceState.ABSENT and found.generation_id == gen.id
        rows.append(
            (
                stripped.name,
                f"resolves to {gen.id}",
                f"{found.status.value} {found.generation_id}",
                found.method or "-",
                resolved,
            )
        )

        revoked = registry.revoke(cameo, actor=alice, reason="changed my mind")
        console.print(
            f"alice revoked {cameo}; generations listed for her: {', '.join(revoked.generations)}"
        )
        for label, request in (
            (
                "new generation after revoke",
                GenerationRequest("bob", "cameo_composite", prompt, (cameo,), target=target),
            ),
            (
                "remix after revoke",
                GenerationRequest(
                    "bob", "cameo_composite", "the same, at night", (cameo,), parent=output
                ),
            ),
        ):
            try:
                pipeline.generate(request)
                got = "generated"
            except ConsentDeniedError as refusal:
                got = refusal.code
                console.print(f"{label}: [yellow]{refusal.message}[/yellow]")
            rows.append((label, "consent.revoked", got, "-", got == "consent.revoked"))
    return rows


def _enroll(registry: Any, photos: list[Path], limits: Limits) -> str:
    from cameoguard.consent.enrollment import photo_samples

    if len(photos) >= 3:
        return str(registry.enroll_photos("alice", "Alice", photos).cameo.id)
    rgb = load_image(photos[0], limits)
    samples = photo_samples(
        [(photos[0].name, rgb)], registry.detector, registry.embedder, registry.rules, min_photos=1
    )
    return str(registry.enroll_samples("alice", "Alice", samples).cameo.id)


def detection_step(console: Console, out: Path, settings: Settings) -> list[Row]:
    """The verify flow with the shipped detector: the fused verdict of the stripped composite
    (hard evidence from the ledger, the detector's calibrated score beside it) and of a face
    swap nobody here made (FaceForensics++ FaceSwap from ``../shared/data`` when present)."""
    from cameoguard.detection.fusion import AuthenticityLabel, EvidenceKind
    from cameoguard.detection.scorer import BUILTIN
    from cameoguard.verification import Verifier

    rows: list[Row] = []
    configured = settings.model_copy(update={"detector_model": Path(BUILTIN)})
    files = [out / "composite.reposted.mp4"]
    stranger = SHARED_DATA / "real_fake/videos/ffpp/FaceSwap/634_660.mp4"
    if stranger.is_file():
        files.append(stranger)
    with Verifier.from_settings(configured) as verifier:
        if verifier.scorer is None:
            return [
                (
                    "passive detector",
                    "the built-in model",
                    "unavailable",
                    verifier.scorer_problem,
                    False,
                )
            ]
        for path in files:
            if not path.is_file():
                continue
            report = verifier.verify(path).authenticity
            console.print(f"{path.name}: [bold]{report.headline}[/bold]")
            for item in report.evidence:
                console.print(f"  [{item.kind.value}] {item.source}: {item.sentence}")
            scored = [e for e in report.evidence if e.source == "detector"]
            statistical = bool(scored) and scored[0].kind is EvidenceKind.STATISTICAL
            if path == files[0]:
                good = report.label is AuthenticityLabel.MADE_HERE and statistical
                expected = "made here (ledger) + detector score"
            else:
                good = statistical and report.label in {
                    AuthenticityLabel.LIKELY_MANIPULATED,
                    AuthenticityLabel.UNCERTAIN,
                    AuthenticityLabel.NO_EVIDENCE,
                }
                expected = "no provenance; calibrated detector score"
            rows.append(
                (
                    path.name,
                    expected,
                    report.label.value,
                    scored[0].sentence if scored else "-",
                    good,
                )
            )
    return rows


def service_step(console: Console, out: Path, settings: Settings) -> list[Row]:
    """The same deployment behind its HTTP API (a real uvicorn server on loopback): a platform
    verifies and resolves the reposted composite, checks the consent grant in its manifest, and
    a moderator works the queue that the report fed."""
    import socket
    import threading
    import time

    import httpx
    import uvicorn

    from cameoguard import db
    from cameoguard.accounts import AccountStore
    from cameoguard.api.app import create_app

    engine = db.engine_from_settings(settings)
    store = AccountStore(engine)
    platform = store.create("demo-platform", "platform")[1]
    moderator = store.create("demo-moderator", "moderator")[1]
    engine.dispose()
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        port = int(probe_socket.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    rows: list[Row] = []
    base = f"http://127.0.0.1:{port}"
    reposted = out / "composite.reposted.mp4"
    try:
        with httpx.Client(base_url=base, timeout=300) as client:
            as_platform = {"Authorization": f"Bearer {platform}"}
            as_moderator = {"Authorization": f"Bearer {moderator}"}
            console.print(f"service on {base}; GET /healthz -> {client.get('/healthz').json()}")
            anonymous = client.post("/v1/verify").status_code
            rows.append(
                ("POST /v1/verify without a key", "401", str(anonymous), "-", anonymous == 401)
            )
            report = client.post(
                "/v1/verify",
                headers=as_platform,
                files={"file": (reposted.name, reposted.read_bytes(), "video/mp4")},
            ).json()
            label = report["authenticity"]["label"]
            console.print(
                f"POST /v1/verify {reposted.name} -> {label}; moderation "
                f"{[m['rule'] for m in report.get('moderation', [])]}"
            )
            rows.append(
                (
                    "POST /v1/verify (reposted)",
                    "made_by_this_deployment",
                    label,
                    report["authenticity"].get("generation_id") or "-",
                    label == "made_by_this_deployment",
                )
            )
            found = client.post(
                "/v1/matches/byContent",
                headers=as_platform,
                files={"file": (reposted.name, reposted.read_bytes(), "video/mp4")},
            ).json()
            ids = [m["manifestId"] for m in found["matches"]]
            console.print(f"POST /v1/matches/byContent -> {ids}")
            generation = report["authenticity"].get("generation_id")
            rows.append(
                (
                    "POST /v1/matches/byContent",
                    str(generation),
                    ", ".join(ids) or "none",
                    "-",
                    ids == [generation],
                )
            )
            grants = (
                (report.get("resolution") or {}).get("generation", {}).get("consent_grant_ids", [])
            )
            status = (
                client.get(f"/v1/consent/grants/{grants[0]}", headers=as_platform).json()
                if grants
                else {"state": "none"}
            )
            console.print(
                f"GET /v1/consent/grants/{grants[0] if grants else '-'} -> {status['state']}"
            )
            rows.append(
                (
                    "GET /v1/consent/grants/…",
                    "revoked",
                    status["state"],
                    "-",
                    status["state"] == "revoked",
                )
            )
            queue = client.get("/v1/moderation/queue", headers=as_moderator).json()["items"]
            rules = sorted({i["rule"] for i in queue})
            console.print(f"GET /v1/moderation/queue -> {len(queue)} item(s): {rules}")
            ok = "revoked_cameo" in rules
            if queue:
                decided = client.post(
                    f"/v1/moderation/items/{queue[0]['id']}/decision",
                    headers=as_moderator,
                    json={"decision": "label_ai", "reason": "AI-generated; consent since revoked"},
                ).json()
                console.print(f"POST decision -> {decided['status']} ({decided['decision']})")
                ok &= decided["status"] == "decided"
            rows.append(
                (
                    "moderation queue",
                    "revoked_cameo item, decided",
                    ", ".join(rules) or "empty",
                    "-",
                    ok,
                )
            )
    finally:
        server.should_exit = True
        thread.join(timeout=60)
    return rows
