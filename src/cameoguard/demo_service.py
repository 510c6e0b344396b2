"""Demo steps 8 and 10: the consent story over the service's HTTP API, as its users live it.

Called by :mod:`cameoguard.demo`, which starts the service (:func:`service`: the FastAPI app
on a loopback port with the embedded defaults, one account per person) and keeps it up from
step 8 to step 10. Every action below is a real HTTP call, and the demo prints what it answers:

8. alice enrolls her face (``POST /v1/cameos``) and approves bob; bob generates a composite
   video with her cameo (``POST /v1/generations``) and downloads the signed file; a platform
   verifies it (trusted, AI-generated, alice's cameo with consent); alice sees bob's draft;
   a stripped, trimmed, re-encoded repost resolves to the generation (``byContent``);
   alice revokes: the consent status URL in the manifest answers "revoked", bob's new
   generation and his remix are refused, and a platform's verify of the repost is queued;
10. a moderator works the queue (the revocation, the repost), removes the generation (the
    ledger takes it down) and exports the hash bank for other platforms.

With ``../shared/data`` alice enrolls from three real photos of Obama over HTTP; on a fresh
machine there is one public-domain portrait, and the API asks for three photos, so that one
cameo is enrolled through the library and the demo says so.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from rich.console import Console
from rich.markup import escape

from cameoguard import db
from cameoguard.accounts import AccountStore, Role
from cameoguard.media import Limits
from cameoguard.media.video import iter_frames, write_video
from cameoguard.settings import Settings

__all__ = ["Service", "generation_over_http", "moderation_over_http", "service"]

Row = tuple[str, str, str, str, bool]


@dataclass
class Service:
    """The running service, an HTTP client for it, one key per person, what the walk made."""

    base: str
    client: httpx.Client
    keys: dict[str, str]
    made: dict[str, Any] = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}

    def upload(self, who: str, route: str, path: Path) -> httpx.Response:
        """POST the video at ``path`` as the multipart ``file`` of ``route``, as ``who``."""
        return self.client.post(
            route,
            headers=self.auth(who),
            files={"file": (path.name, path.read_bytes(), "video/mp4")},
        )


@contextlib.contextmanager
def service(settings: Settings, console: Console) -> Iterator[Service]:
    """The app on a free loopback port (uvicorn, embedded defaults), with four accounts."""
    import uvicorn

    from cameoguard.api.app import create_app

    engine = db.engine_from_settings(settings)
    db.upgrade(engine)
    store = AccountStore(engine)
    keys = {
        who: store.create(who, role)[1]
        for who, role in (
            ("alice", Role.USER),
            ("bob", Role.USER),
            ("platform", Role.PLATFORM),
            ("moderator", Role.MODERATOR),
        )
    }
    engine.dispose()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=600) as client:
            health = client.get("/healthz").json()
            console.print(f"service on {base} (GET /healthz -> {health}); accounts: {list(keys)}")
            yield Service(base, client, keys)
    finally:
        server.should_exit = True
        thread.join(timeout=60)


def _said(console: Console, call: str, response: httpx.Response, what: str = "") -> Any:
    """Print one call and its answer; the JSON body (or None)."""
    body: Any = None
    if response.headers.get("content-type", "").startswith("application/json"):
        body = response.json()
    if what == "" and isinstance(body, dict) and "error" in body:
        what = f"{body['error']['code']}: {body['error']['message']}"
    console.print(f"[bold]{escape(call)}[/bold] -> {response.status_code} {escape(what)}")
    return body


def generation_over_http(
    console: Console, out: Path, settings: Settings, walk: Service
) -> list[Row]:
    from cameoguard.demo_generation import _enroll, _people, make_target_video

    rows: list[Row] = []
    client = walk.client
    photos, target_picture, where = _people(out)
    limits = Limits.from_settings(settings)

    # alice enrolls (over HTTP when there are three photos) and approves bob
    if len(photos) >= 3:
        files = [("photos", (p.name, p.read_bytes(), "image/jpeg")) for p in photos]
        answer = client.post(
            "/v1/cameos", headers=walk.auth("alice"), data={"name": "Alice"}, files=files
        )
        enrolled = _said(console, "POST /v1/cameos (3 photos)", answer, "")
        cameo = enrolled["id"] if answer.status_code == 201 else None
    else:
        from cameoguard.consent.registry import CameoRegistry

        engine = db.engine_from_settings(settings)
        with CameoRegistry.from_settings(settings, engine) as registry:
            cameo = _enroll(registry, photos, limits)
        engine.dispose()
        console.print(
            f"alice's one photo ({where}) was enrolled through the library as {cameo}: "
            "POST /v1/cameos asks for 3 or more photos"
        )
    rows.append(("alice enrolls", "a cameo", str(cameo), where, cameo is not None))
    if cameo is None:
        return rows
    walk.made["cameo"] = cameo
    permitted = client.put(
        f"/v1/cameos/{cameo}/permissions",
        headers=walk.auth("alice"),
        json={"tier": "approved", "approve": ["bob"]},
    )
    body = _said(console, f"PUT /v1/cameos/{cameo}/permissions", permitted, "")
    rows.append(
        (
            "alice approves bob",
            "approved: bob",
            f"{body.get('tier')}: {', '.join(body.get('approved', []))}",
            "-",
            permitted.status_code == 200 and body.get("approved") == ["bob"],
        )
    )

    # bob generates with her cameo and downloads the only file there is: signed and marked
    faces = _face_box(target_picture)
    target = make_target_video(target_picture, out / "target.mp4", face=faces)
    prompt = "a short greeting video, friendly, outdoors"
    made = client.post(
        "/v1/generations",
        headers=walk.auth("bob"),
        data={"prompt": prompt, "cameo": [cameo]},
        files={"target": (target.name, target.read_bytes(), "video/mp4")},
    )
    gen = _said(console, "POST /v1/generations (bob, alice's cameo)", made, "")
    if made.status_code != 201:
        rows.append(("bob generates", "201 draft", str(made.status_code), "-", False))
        return rows
    generation = gen["id"]
    walk.made["generation"] = generation
    timings = ", ".join(f"{k} {v:.1f}s" for k, v in gen["timings"].items())
    console.print(
        f"  {generation}: {gen['status']}, watermark in {'+'.join(gen['watermark_tracks'])}; "
        f"{timings}"
    )
    output = out / "composite.mp4"
    output.write_bytes(
        client.get(f"/v1/generations/{generation}/download", headers=walk.auth("bob")).content
    )
    walk.made["output"] = output

    # a platform verifies the download
    verified = walk.upload("platform", "/v1/verify", output)
    report = _said(console, f"POST /v1/verify {output.name}", verified, "")
    verdict = report["authenticity"]
    console.print(f"  [bold]{escape(verdict['headline'])}[/bold]")
    for item in verdict["evidence"]:
        console.print(f"  [{item['kind']}] {item['source']}: {escape(item['sentence'])}")
    likeness: dict[str, Any] = next(
        (
            a["data"]
            for a in report["provenance"]["custom_assertions"]
            if a["label"] == "org.cameoguard.likeness-consent"
        ),
        {},
    )
    listed = [c["cameo_id"] for c in likeness.get("cameos", [])]
    walk.made["grant"] = next((c["grant_id"] for c in likeness.get("cameos", [])), None)
    good = verdict["label"] == "made_by_this_deployment" and verdict["generation_id"] == generation
    good &= report["provenance"]["state"] == "trusted" and report["provenance"]["ai_generated"]
    good &= listed == [cameo] and set(gen["watermark_tracks"]) == {"video", "audio"}
    rows.append(
        (
            output.name,
            "trusted, AI, consent, mark",
            verdict["label"],
            f"{generation}, cameos {listed}, tracks {'+'.join(gen['watermark_tracks'])}",
            good,
        )
    )
    mine = client.get(f"/v1/cameos/{cameo}", headers=walk.auth("alice")).json()
    seen = [str(g) for g in mine.get("generations", [])]
    console.print(f"GET /v1/cameos/{cameo} (alice) -> generations with her likeness: {seen}")
    rows.append(
        (
            "alice's view of her cameo",
            f"lists {generation}",
            ", ".join(seen) or "nothing",
            "-",
            seen == [generation],
        )
    )

    # a stripped, trimmed, re-encoded repost still resolves to the generation
    reposted = out / "composite.reposted.mp4"
    frames = [f.rgb for f in iter_frames(output, limits)][25:]
    write_video(reposted, frames, fps=25, crf=28)
    found = walk.upload("platform", "/v1/matches/byContent", reposted)
    matches = _said(console, f"POST /v1/matches/byContent {reposted.name}", found, "")
    ids = [m["manifestId"] for m in matches.get("matches", [])]
    console.print(f"  matches {ids} by {matches.get('resolution', {}).get('method')}")
    store = client.get(f"/v1/manifests/{generation}", headers=walk.auth("platform"))
    _said(console, f"GET /v1/manifests/{generation}", store, f"{len(store.content)} bytes")
    rows.append(
        (
            reposted.name,
            f"resolves to {generation}",
            ", ".join(ids) or "none",
            f"manifest store {len(store.content)} bytes",
            ids == [generation],
        )
    )

    # alice revokes; what was made goes to review, nothing new can be made
    revoked = client.post(
        f"/v1/cameos/{cameo}/revoke",
        headers=walk.auth("alice"),
        json={"reason": "changed my mind"},
    )
    body = _said(console, f"POST /v1/cameos/{cameo}/revoke", revoked, "")
    queued = [m["generation_id"] for m in body.get("moderation", [])]
    console.print(f"  generations sent to moderation: {queued}")
    grant = walk.made["grant"]
    status = client.get(f"/v1/consent/grants/{grant}", headers=walk.auth("platform")).json()
    console.print(f"GET /v1/consent/grants/{grant} -> {status.get('state')}")
    rows.append(
        (
            "consent status URL",
            "revoked",
            str(status.get("state")),
            f"queued {queued}",
            status.get("state") == "revoked" and queued == [generation],
        )
    )
    again = client.post(
        "/v1/generations",
        headers=walk.auth("bob"),
        data={"prompt": prompt, "cameo": [cameo]},
        files={"target": (target.name, target.read_bytes(), "video/mp4")},
    )
    remix = client.post(
        f"/v1/generations/{generation}/remix",
        headers=walk.auth("bob"),
        data={"prompt": "the same, at night"},
    )
    for label, answer in (("new generation after revoke", again), ("remix after revoke", remix)):
        body = _said(console, label, answer, "")
        code = (body or {}).get("error", {}).get("code", str(answer.status_code))
        rows.append(
            (
                label,
                "403 consent.revoked",
                f"{answer.status_code} {code}",
                "-",
                answer.status_code == 403 and code == "consent.revoked",
            )
        )
    repost = walk.upload("platform", "/v1/verify", reposted)
    body = _said(console, f"POST /v1/verify {reposted.name} (after revoke)", repost, "")
    rules = [m["rule"] for m in body.get("moderation", [])]
    console.print(f"  {escape(body['authenticity']['headline'])}; queued for moderation: {rules}")
    rows.append(
        (
            "verify of the repost",
            "queued: revoked_cameo",
            ", ".join(rules) or "nothing",
            body["authenticity"]["label"],
            "revoked_cameo" in rules,
        )
    )
    return rows


def moderation_over_http(console: Console, walk: Service) -> list[Row]:
    client = walk.client
    generation = walk.made.get("generation")
    queue = client.get("/v1/moderation/queue", headers=walk.auth("moderator"))
    items = (_said(console, "GET /v1/moderation/queue", queue, "") or {}).get("items", [])
    for item in items:
        console.print(f"  {item['id']} {item['rule']}: {escape(item['summary'])}")
    revoked = next((i for i in items if i["rule"] == "cameo_revoked"), None)
    rows: list[Row] = [
        (
            "moderation queue",
            "cameo_revoked + revoked_cameo",
            ", ".join(sorted(i["rule"] for i in items)) or "empty",
            f"{len(items)} item(s)",
            revoked is not None and any(i["rule"] == "revoked_cameo" for i in items),
        )
    ]
    if revoked is None:
        return rows
    refused = client.post(
        f"/v1/moderation/items/{revoked['id']}/decision",
        headers=walk.auth("platform"),
        json={"decision": "remove", "reason": "x"},
    )
    _said(console, "a platform tries to decide", refused, "")
    decided = client.post(
        f"/v1/moderation/items/{revoked['id']}/decision",
        headers=walk.auth("moderator"),
        json={"decision": "remove", "reason": "the owner revoked consent"},
    )
    body = _said(console, f"POST /v1/moderation/items/{revoked['id']}/decision remove", decided)
    history = [f"{h['actor']} {h['action']}" for h in body.get("history", [])]
    console.print(f"  history: {history}")
    after = walk.upload("platform", "/v1/verify", walk.made["output"]).json()
    ledger = (after.get("resolution") or {}).get("generation", {}).get("status")
    console.print(f"POST /v1/verify composite.mp4 -> ledger status {ledger}")
    rows.append(
        (
            "remove decision",
            "taken_down in the ledger",
            str(ledger),
            f"platform 403, then {body.get('status')}",
            refused.status_code == 403 and ledger == "taken_down",
        )
    )
    bank = client.get("/v1/moderation/hashbank.csv", headers=walk.auth("moderator"))
    lines = bank.text.splitlines()
    _said(console, "GET /v1/moderation/hashbank.csv", bank, f"{len(lines) - 1} PDQ row(s)")
    for line in lines[:3]:
        console.print(f"  {escape(line)}")
    rows.append(
        (
            "hash bank",
            f"PDQ of {generation}",
            f"{len(lines) - 1} row(s)",
            lines[0] if lines else "-",
            len(lines) > 1 and all(str(generation) in line for line in lines[1:]),
        )
    )
    return rows


def _face_box(picture: Any) -> tuple[float, float, float, float] | None:
    from cameoguard.consent.faces import FaceDetector

    with FaceDetector() as detector:
        faces = detector.detect(np.ascontiguousarray(picture))
    return faces[0].box if faces else None
