"""The service's first slice: keys and roles, the error envelope, POST /v1/verify, serve."""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from cameoguard import db
from cameoguard.accounts import AccountStore, Role
from cameoguard.api.app import create_app
from cameoguard.errors import BadInputError
from cameoguard.media import load_image as _load
from cameoguard.media import save_image
from cameoguard.settings import Settings
from tests.consent.conftest import astronaut
from tests.generator_adapter.conftest import LIMITS


@pytest.fixture
def service(settings: Settings) -> Iterator[tuple[httpx.Client, dict[str, str]]]:
    with running(settings) as started:
        yield started


@contextlib.contextmanager
def running(settings: Settings) -> Iterator[tuple[httpx.Client, dict[str, str]]]:
    """The app on a loopback port in this process, with one account per role."""
    from cameoguard.watermark.keys import load_or_create_watermark_key

    small = settings.model_copy(update={"max_upload_bytes": 2_000_000})
    load_or_create_watermark_key(small.watermark_key_path)  # as `cameoguard keys init` does
    engine = db.engine_from_settings(small)
    db.upgrade(engine)
    store = AccountStore(engine)
    keys = {role.value: store.create(f"acct-{role.value}", role)[1] for role in Role}
    engine.dispose()
    import threading

    import uvicorn

    config = uvicorn.Config(
        create_app(small), host="127.0.0.1", port=_free_port(), log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    with httpx.Client(base_url=f"http://127.0.0.1:{config.port}", timeout=60) as client:
        yield client, keys
    server.should_exit = True
    thread.join(timeout=30)


def generate(client: httpx.Client, key: str, cameo: str, folder: Path, prompt: str) -> Any:
    """``POST /v1/generations``: ``cameo`` rendered into a mirrored astronaut (201 asserted)."""
    target = save_image(np.ascontiguousarray(astronaut()[:, ::-1]), folder / "target.png")
    made = client.post(
        "/v1/generations",
        headers=_auth(key),
        data={"prompt": prompt, "cameo": [cameo]},
        files={"target": ("target.png", target.read_bytes(), "image/png")},
    )
    assert made.status_code == 201, made.text
    return made.json()


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_keys_are_stored_hashed_and_checked(settings: Settings) -> None:
    engine = db.engine_from_settings(settings)
    db.upgrade(engine)
    store = AccountStore(engine)
    account, key = store.create("platform-1", "platform")
    assert key.startswith("cg_") and len(key) == 46 and account.key_prefix == key[:8]
    with engine.connect() as connection:
        stored = " ".join(
            str(v) for row in connection.exec_driver_sql("SELECT * FROM accounts") for v in row
        )
    assert key not in stored  # only the hash is kept
    assert store.authenticate(key) == account
    assert store.authenticate(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert store.authenticate("not a key") is None
    store.disable("platform-1")
    assert store.authenticate(key) is None
    for name, role, code in (
        ("Bad Name", "user", "accounts.bad_name"),
        ("x", "root", "accounts.bad_role"),
        ("platform-1", "user", "accounts.exists"),
    ):
        with pytest.raises(BadInputError) as caught:
            store.create(name, role)
        assert caught.value.code == code
    engine.dispose()


def test_healthz_needs_no_key_and_v1_needs_one(
    service: tuple[httpx.Client, dict[str, str]],
) -> None:
    client, keys = service
    assert client.get("/healthz").json()["status"] == "ok"
    for headers, code in (
        ({}, "auth.missing"),
        (_auth("cg_" + "x" * 43), "auth.invalid"),
        ({"Authorization": "Basic abc"}, "auth.missing"),
    ):
        response = client.get("/v1/me", headers=headers)
        assert response.status_code == 401 and response.json()["error"]["code"] == code
    for role, key in keys.items():
        assert client.get("/v1/me", headers=_auth(key)).json()["role"] == role
    # an unknown API path gets the envelope (other paths are web pages: an HTML 404 page)
    assert client.get("/v1/nowhere").json()["error"]["code"] == "http.404"


def test_verify_answers_the_fused_report(
    service: tuple[httpx.Client, dict[str, str]], tmp_path: Path
) -> None:
    client, keys = service
    photo = save_image(astronaut(), tmp_path / "photo.jpg")
    for role in ("platform", "user", "moderator", "admin"):
        response = client.post(
            "/v1/verify",
            headers=_auth(keys[role]),
            files={"file": ("photo.jpg", photo.read_bytes(), "image/jpeg")},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["authenticity"]["label"] == "no_evidence_either_way"
        assert body["provenance"]["state"] == "absent"
        assert body["file"] == {"name": "photo.jpg", "bytes": photo.stat().st_size}
    sources = [e["source"] for e in body["authenticity"]["evidence"]]
    assert "detector" in sources  # says passive detection is unavailable (none configured)
    metrics = client.get("/metrics").text  # no key: counters only
    assert 'cameoguard_verify_verdicts_total{label="no_evidence_either_way"} 4.0' in metrics
    assert 'route="/v1/verify",status="200"' in metrics
    assert "acct-" not in metrics and keys["user"] not in metrics


def _bomb() -> bytes:
    """A PNG whose header claims 50000 x 50000 pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = (50_000).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    pixels = zlib.compress(b"\0" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("files", "status", "code"),
    [
        (None, 422, "request.invalid"),
        ({"file": ("empty.jpg", b"", "image/jpeg")}, 400, "upload.empty"),
        ({"file": ("notes.txt", b"hello, not media", "text/plain")}, 415, None),
        ({"file": ("big.bin", b"\0" * 2_000_001, "image/jpeg")}, 413, "upload.too_large"),
        ({"file": ("bomb.png", _bomb(), "image/png")}, 413, None),
    ],
)
def test_bad_uploads_get_4xx_envelopes(
    service: tuple[httpx.Client, dict[str, str]],
    files: dict[str, tuple[str, bytes, str]] | None,
    status: int,
    code: str | None,
) -> None:
    client, keys = service
    response = client.post("/v1/verify", headers=_auth(keys["platform"]), files=files)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["message"] and (code is None or error["code"] == code)


def _two_hours(data: bytes) -> bytes:
    """An MP4 whose movie, media and track headers claim 7200 s (the frames stay 2 s)."""
    import struct

    out = bytearray(data)
    for box, start in ((b"mvhd", 20), (b"mdhd", 20), (b"tkhd", 24)):
        i = out.find(box)
        while i >= 0:
            scale = 1000 if box == b"tkhd" else struct.unpack(">I", out[i + 16 : i + 20])[0]
            out[i + start : i + start + 4] = struct.pack(">I", scale * 7200)
            i = out.find(box, i + 4)
    return bytes(out)


def test_a_two_hour_video_header_is_refused_before_decoding(
    service: tuple[httpx.Client, dict[str, str]], sample_media: dict[str, Path]
) -> None:
    client, keys = service
    claim = _two_hours(sample_media["mp4"].read_bytes())
    response = client.post(
        "/v1/verify",
        headers=_auth(keys["platform"]),
        files={"file": ("long.mp4", claim, "video/mp4")},
    )
    assert response.status_code == 413, response.text
    message = response.json()["error"]["message"]
    assert "7200" in message and message.startswith("long.mp4: ") and "cg-upload" not in message


def test_the_openapi_document_lists_every_endpoint(
    service: tuple[httpx.Client, dict[str, str]],
) -> None:
    client, _ = service
    spec = client.get("/openapi.json").json()
    assert {
        "/healthz",
        "/v1/verify",
        "/v1/jobs/{job_id}",
        "/v1/cameos",
        "/v1/generations/{generation_id}/download",
    } <= set(spec["paths"])
    assert spec["components"]["schemas"]["Binding"]["properties"]["alg"]["examples"]


def test_corrupt_jpeg_is_a_4xx(
    service: tuple[httpx.Client, dict[str, str]], tmp_path: Path
) -> None:
    client, keys = service
    data = save_image(np.full((300, 300, 3), 90, np.uint8), tmp_path / "x.jpg").read_bytes()
    response = client.post(
        "/v1/verify",
        headers=_auth(keys["platform"]),
        files={"file": ("x.jpg", io.BytesIO(data[:400]), "image/jpeg")},
    )
    assert 400 <= response.status_code < 500 and "error" in response.json()


def _wait_healthy(base: str, server: subprocess.Popen[bytes], seconds: float) -> None:
    """Until ``base``/healthz answers 200; fails if the server process exits or time is up."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            answered = httpx.get(f"{base}/healthz").status_code == 200
        except httpx.TransportError:  # not listening yet
            answered = False
        if answered:
            return
        assert server.poll() is None, "the server exited"
        assert time.monotonic() < deadline, "the server did not answer /healthz"
        time.sleep(0.3)


CLI = [sys.executable, "-m", "cameoguard.cli.main"]


def cli_env(settings: Settings) -> dict[str, str]:
    """The environment for ``cameoguard`` subprocesses over the test's data (and database)."""
    env = {**os.environ, "CAMEOGUARD_DATA_DIR": str(settings.data_dir)}
    if settings.database_url:  # the same tests on PostgreSQL (tests/api/test_postgres.py)
        env["CAMEOGUARD_DATABASE_URL"] = settings.database_url
    return env


def create_account(env: dict[str, str], name: str, role: str) -> str:
    """``cameoguard accounts create NAME --role ROLE --json`` as a real process: the key."""
    made = subprocess.run(
        [*CLI, "accounts", "create", name, "--role", role, "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    key: str = json.loads(made.stdout)["key"]
    return key


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_serve_runs_a_real_server(settings: Settings, tmp_path: Path) -> None:
    env = cli_env(settings)
    key = create_account(env, "plat", "platform")
    cli = CLI
    port = _free_port()
    server = subprocess.Popen(
        [*cli, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", server, 60)
        me = httpx.get(f"http://127.0.0.1:{port}/v1/me", headers=_auth(key))
        assert me.json() == {"name": "plat", "role": "platform", "key_prefix": key[:8]}
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_resolution_and_consent_status_for_our_output(
    settings: Settings, embedder: object, detector: object, tmp_path: Path
) -> None:
    from cameoguard.consent.values import Actor
    from cameoguard.provenance.softbinding import SOFT_BINDING_ALG
    from tests.generator_adapter.conftest import enroll_astronaut, make_pipeline
    from tests.generator_adapter.test_pipeline import request

    pipeline = make_pipeline(settings, embedder, detector)  # type: ignore[arg-type]
    target = save_image(astronaut(), tmp_path / "target.png")
    cameo = enroll_astronaut(pipeline.registry)
    gen = pipeline.generate(request(target, cameo.id)).generation
    assert gen.path is not None
    entry = pipeline.emitter.ledger.get(gen.id)
    assert entry is not None and entry.consent_grant_ids
    grant = entry.consent_grant_ids[0]
    stripped = save_image(
        np.ascontiguousarray(_load(gen.path, LIMITS)[6:-6, 6:-6]),
        tmp_path / "stripped.jpg",
        quality=85,
    )
    with running(settings) as (client, keys):
        auth = _auth(keys["platform"])
        found = client.post(
            "/v1/matches/byContent",
            headers=auth,
            files={"file": ("s.jpg", stripped.read_bytes(), "image/jpeg")},
        ).json()
        assert found["matches"][0]["manifestId"] == gen.id
        assert found["resolution"]["method"]
        by = client.post(
            "/v1/matches/byBinding", headers=auth, json={"alg": SOFT_BINDING_ALG, "value": gen.id}
        ).json()
        assert by == {"matches": [{"manifestId": gen.id, "similarityScore": 100}]}
        unknown = client.post(
            "/v1/matches/byBinding", headers=auth, json={"alg": "com.other.v1", "value": gen.id}
        )
        assert unknown.status_code == 400
        assert unknown.json()["error"]["code"] == "matches.unknown_alg"
        bad = client.post(
            "/v1/matches/byBinding", headers=auth, json={"alg": SOFT_BINDING_ALG, "value": "nope"}
        )
        assert bad.status_code == 400
        store = client.get(f"/v1/manifests/{gen.id}", headers=auth)
        assert store.status_code == 200 and store.headers["content-type"] == "application/c2pa"
        assert store.content == bytes(entry.manifest_store)
        assert client.get("/v1/manifests/g_000000000001", headers=auth).status_code == 404
        status = client.get(f"/v1/consent/grants/{grant}", headers=auth).json()
        assert status["state"] == "active"
        pipeline.registry.revoke(cameo.id, actor=Actor("alice"))
        after = client.get(f"/v1/consent/grants/{grant}", headers=auth).json()
        assert after["state"] == "revoked" and after["revoked_at"]
        missing = client.get("/v1/consent/grants/nope", headers=auth)
        assert missing.status_code == 404 and missing.json()["error"]["code"]


def test_owners_manage_their_own_cameos_only(shared_data: Path, settings: Settings) -> None:
    obama = shared_data / "faces/face_recognition/obama"
    files = [
        ("photos", (n, (obama / n).read_bytes(), "image/jpeg"))
        for n in ("obama2.jpg", "obama3.jpg", "obama1_knn_test.jpg")
    ]
    with running(settings) as (client, keys):
        user, platform = _auth(keys["user"]), _auth(keys["platform"])
        refused = client.post("/v1/cameos", headers=platform, data={"name": "Barack"}, files=files)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "auth.forbidden"
        made = client.post("/v1/cameos", headers=user, data={"name": "Barack"}, files=files)
        assert made.status_code == 201, made.text
        cameo = made.json()
        assert cameo["owner"] == "acct-user" and cameo["status"] == "active"
        cid = cameo["id"]
        assert [c["id"] for c in client.get("/v1/cameos", headers=user).json()["cameos"]] == [cid]
        permitted = client.put(
            f"/v1/cameos/{cid}/permissions",
            headers=user,
            json={"tier": "approved", "approve": ["bob"]},
        ).json()
        assert permitted["tier"] == "approved" and permitted["approved"] == ["bob"]
        bad_tier = client.put(
            f"/v1/cameos/{cid}/permissions", headers=user, json={"tier": "nobody"}
        )
        assert bad_tier.status_code == 400
        assert bad_tier.json()["error"]["code"] == "consent.unknown_tier"
        restricted = client.put(
            f"/v1/cameos/{cid}/restrictions", headers=user, json={"forbid": ["topic:politics"]}
        ).json()
        assert "topic:politics" in restricted["restrictions"]
        # the moderator is another account: the cameo is not theirs, so it does not exist
        other = client.get(f"/v1/cameos/{cid}", headers=_auth(keys["moderator"]))
        assert other.status_code in (403, 404)
        assert client.get(f"/v1/cameos/{cid}", headers=_auth(keys["admin"])).status_code == 200
        revoked = client.post(
            f"/v1/cameos/{cid}/revoke", headers=user, json={"reason": "changed my mind"}
        ).json()
        assert revoked["status"] == "revoked" or revoked.get("cameo", {}).get("status") == "revoked"
        deleted = client.delete(f"/v1/cameos/{cid}", headers=user)
        assert deleted.status_code == 200
        assert client.get(f"/v1/cameos/{cid}", headers=user).status_code == 404
        assert client.get("/v1/cameos", headers=user).json()["cameos"] == []
        too_few = client.post("/v1/cameos", headers=user, data={"name": "x"}, files=files[:1])
        assert too_few.status_code == 400 and too_few.json()["error"]["code"]


@pytest.mark.slow
def test_enroll_from_a_video_over_http(
    shared_data: Path, settings: Settings, tmp_path: Path
) -> None:
    """The registry's video enrollment with its liveness check, over HTTP: a real interview
    (FF++ 004's first 9 s: a second face comes in after that) enrolls; a photo sent as the
    video is refused with a 400 that names the upload."""
    import itertools

    from cameoguard.media import iter_frames, write_video

    source = shared_data / "real_fake/videos/ffpp/original/004.mp4"
    live = write_video(
        tmp_path / "live.mp4",
        (f.rgb for f in itertools.islice(iter_frames(source, LIMITS), 225)),
        fps=25,
    )
    photo = save_image(astronaut(), tmp_path / "face.jpg")
    with running(settings) as (client, keys):
        user = _auth(keys["user"])
        clip = {"video": ("live.mp4", live.read_bytes(), "video/mp4")}
        refused = client.post(
            "/v1/cameos", headers=_auth(keys["platform"]), data={"name": "x"}, files=clip
        )
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "auth.forbidden"
        made = client.post("/v1/cameos", headers=user, data={"name": "Anchor"}, files=clip)
        assert made.status_code == 201, made.text
        cameo = made.json()
        assert cameo["owner"] == "acct-user" and cameo["status"] == "active"
        assert cameo["source"] == "video" and 3 <= cameo["sample_count"] <= 6
        liveness = cameo["liveness"]
        assert liveness["passed"] is True and liveness["yaw_span_deg"] >= 30
        assert liveness["loop_s"] is None and cameo["quality"]["liveness"] == liveness
        listed = client.get("/v1/cameos", headers=user).json()["cameos"]
        assert [c["id"] for c in listed] == [cameo["id"]]
        as_video = client.post(
            "/v1/cameos",
            headers=user,
            data={"name": "Eileen"},
            files={"video": ("face.jpg", photo.read_bytes(), "image/jpeg")},
        )
        assert as_video.status_code == 400, as_video.text
        error = as_video.json()["error"]
        assert error["code"] == "enroll.not_video"
        assert error["message"].startswith("face.jpg is image/jpeg, not a video")
        assert "cg-upload" not in error["message"]
        photos = [("photos", ("face.jpg", photo.read_bytes(), "image/jpeg"))] * 3
        for files in ({}, [*photos, ("video", ("live.mp4", live.read_bytes(), "video/mp4"))]):
            neither_or_both = client.post(
                "/v1/cameos", headers=user, data={"name": "x"}, files=files
            )
            assert neither_or_both.status_code == 400, neither_or_both.text
            assert neither_or_both.json()["error"]["code"] == "enroll.photos_or_video"
        assert len(client.get("/v1/cameos", headers=user).json()["cameos"]) == 1


#: every /v1 endpoint, and the roles that may call it (admin may call everything)
ENDPOINTS = [
    ("GET", "/v1/me", {"user", "platform", "moderator", "admin"}),
    ("POST", "/v1/verify", {"user", "platform", "moderator", "admin"}),
    ("GET", "/v1/jobs/j_000000000000", {"user", "platform", "moderator", "admin"}),
    ("POST", "/v1/matches/byContent", {"user", "platform", "moderator", "admin"}),
    ("POST", "/v1/matches/byBinding", {"user", "platform", "moderator", "admin"}),
    ("GET", "/v1/manifests/g_000000000001", {"user", "platform", "moderator", "admin"}),
    ("GET", "/v1/consent/grants/gr_unknown", {"user", "platform", "moderator", "admin"}),
    ("POST", "/v1/cameos", {"user", "admin"}),
    ("GET", "/v1/cameos", {"user", "admin"}),
    ("GET", "/v1/cameos/c_000000000000", {"user", "admin"}),
    ("PUT", "/v1/cameos/c_000000000000/permissions", {"user", "admin"}),
    ("PUT", "/v1/cameos/c_000000000000/restrictions", {"user", "admin"}),
    ("POST", "/v1/cameos/c_000000000000/revoke", {"user", "admin"}),
    ("DELETE", "/v1/cameos/c_000000000000", {"user", "admin"}),
    ("POST", "/v1/generations", {"user", "admin"}),
    ("GET", "/v1/generations", {"user", "admin"}),
    ("GET", "/v1/generations/g_000000000001", {"user", "admin"}),
    ("GET", "/v1/generations/g_000000000001/download", {"user", "admin"}),
    ("POST", "/v1/generations/g_000000000001/publish", {"user", "admin"}),
    ("DELETE", "/v1/generations/g_000000000001", {"user", "admin"}),
    ("POST", "/v1/generations/g_000000000001/flag", {"user", "admin"}),
    ("POST", "/v1/generations/g_000000000001/remix", {"user", "admin"}),
    ("GET", "/v1/moderation/queue", {"moderator", "admin"}),
    ("GET", "/v1/moderation/items/m_000000000000", {"moderator", "admin"}),
    ("POST", "/v1/moderation/items/m_000000000000/decision", {"moderator", "admin"}),
    ("GET", "/v1/moderation/hashbank.csv", {"moderator", "admin"}),
]


def test_the_authorization_matrix(service: tuple[httpx.Client, dict[str, str]]) -> None:
    client, keys = service
    for route in create_app(Settings()).routes:  # a new endpoint must join the matrix
        path = getattr(route, "path", "")
        for method in getattr(route, "methods", None) or ():
            if path.startswith("/v1"):
                assert any(
                    m == method and route.path_regex.match(p)  # type: ignore[attr-defined]
                    for m, p, _ in ENDPOINTS
                ), (method, path)
    for method, path, allowed in ENDPOINTS:
        anonymous = client.request(method, path)
        assert anonymous.status_code == 401, (method, path)
        for role, key in keys.items():
            response = client.request(method, path, headers=_auth(key), json={})
            if role in allowed:
                assert response.status_code not in (401, 403), (method, path, role)
            else:
                assert response.status_code == 403, (method, path, role, response.text)
                assert response.json()["error"]["code"] == "auth.forbidden"
            assert response.status_code < 500, (method, path, role, response.text)


def test_rate_limits_per_key(settings: Settings) -> None:
    from cameoguard.api.deps import RateLimiter

    now = [0.0]
    limiter = RateLimiter(60, clock=lambda: now[0])
    assert all(limiter.take("a") == 0 for _ in range(60))
    assert limiter.take("a") == pytest.approx(1.0)
    assert limiter.take("b") == 0  # another key has its own bucket
    now[0] += 2.0
    assert limiter.take("a") == 0 and limiter.take("a") == 0 and limiter.take("a") > 0
    with running(settings.model_copy(update={"api_rate_per_minute": 3})) as (client, keys):
        codes = [client.get("/v1/me", headers=_auth(keys["user"])).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = client.get("/v1/me", headers=_auth(keys["user"]))
        assert limited.json()["error"]["code"] == "rate.limited"
        assert int(limited.headers["Retry-After"]) >= 1
        assert client.get("/v1/me", headers=_auth(keys["platform"])).status_code == 200


@pytest.mark.slow
def test_generate_download_verify_and_delete(
    settings: Settings, embedder: object, detector: object, tmp_path: Path
) -> None:
    from tests.generator_adapter.conftest import enroll_astronaut_in

    cameo = enroll_astronaut_in(settings, embedder, detector, owner="acct-user")  # type: ignore[arg-type]
    with running(settings) as (client, keys):
        user = _auth(keys["user"])
        gen = generate(client, keys["user"], cameo.id, tmp_path, "a portrait")
        assert gen["status"] == "draft" and gen["cameo_ids"] == [cameo.id]
        assert [
            g["id"] for g in client.get("/v1/generations", headers=user).json()["generations"]
        ] == [gen["id"]]
        moderator = _auth(keys["moderator"])
        assert client.get(f"/v1/generations/{gen['id']}", headers=moderator).status_code == 403
        other = client.get(f"/v1/generations/{gen['id']}", headers=_auth(keys["admin"]))
        assert other.status_code == 200
        file = client.get(f"/v1/generations/{gen['id']}/download", headers=user)
        assert file.status_code == 200 and file.headers["content-type"].startswith("image/")
        report = client.post(
            "/v1/verify",
            headers=_auth(keys["platform"]),
            files={"file": ("out.png", file.content, "image/png")},
        ).json()
        assert report["authenticity"]["label"] == "made_by_this_deployment"
        assert report["authenticity"]["generation_id"] == gen["id"]
        published = client.post(f"/v1/generations/{gen['id']}/publish", headers=user).json()
        assert published["status"] == "published"
        gone = client.delete(f"/v1/generations/{gen['id']}", headers=user).json()
        assert gone["status"] == "deleted"
        again = client.get(f"/v1/generations/{gen['id']}/download", headers=user)
        assert again.status_code == 400 and again.json()["error"]["code"] == "generations.deleted"
        refused = client.post(
            "/v1/generations",
            headers=_auth(keys["user"]),
            data={"prompt": "x", "cameo": [cameo.id]},
        )
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "generation.target_missing"


@pytest.mark.slow
def test_remix_of_a_generation_until_its_cameo_is_revoked(
    settings: Settings, embedder: object, detector: object, tmp_path: Path
) -> None:
    """A remix uses the stored signed file as its parent (an ingredient in the new manifest);
    once the parent's cameo is revoked, a remix is refused and nothing is made."""
    from tests.generator_adapter.conftest import enroll_astronaut_in

    cameo = enroll_astronaut_in(settings, embedder, detector, owner="acct-user")  # type: ignore[arg-type]
    with running(settings) as (client, keys):
        user, platform = _auth(keys["user"]), _auth(keys["platform"])
        parent = generate(client, keys["user"], cameo.id, tmp_path, "a portrait")
        made = client.post(
            f"/v1/generations/{parent['id']}/remix",
            headers=user,
            data={"prompt": "the same portrait, warmer light"},
        )
        assert made.status_code == 201, made.text
        remix = made.json()
        assert remix["id"] != parent["id"] and remix["status"] == "draft"
        assert remix["parent_id"] == parent["id"] and remix["details"]["remix_of"] == parent["id"]
        assert remix["cameo_ids"] == [cameo.id]  # the parent's cameo, rendered again
        file = client.get(f"/v1/generations/{remix['id']}/download", headers=user).content
        report = client.post(
            "/v1/verify", headers=platform, files={"file": ("remix.png", file, "image/png")}
        ).json()
        assert report["authenticity"]["generation_id"] == remix["id"]
        ingredients = report["provenance"]["ingredients"]
        assert [i["relationship"] for i in ingredients] == ["parentOf"], ingredients
        unknown = client.post(
            "/v1/generations/g_000000000001/remix", headers=user, data={"prompt": "x"}
        )
        assert unknown.status_code == 404
        assert unknown.json()["error"]["code"] == "generation.not_found"
        for where in (f"/v1/generations/{parent['id']}/remix", "/v1/generations"):
            no_such = client.post(
                where, headers=user, data={"prompt": "x", "cameo": [cameo.id], "backend": "nope"}
            )  # found by schemathesis: this was a 503, as if the deployment were at fault
            assert no_such.status_code == 400, (where, no_such.text)
            assert no_such.json()["error"]["code"] == "generation.backend_unknown"
        revoked = client.post(f"/v1/cameos/{cameo.id}/revoke", headers=user, json={})
        assert revoked.status_code == 200
        for cameos in ([], [cameo.id]):
            refused = client.post(
                f"/v1/generations/{parent['id']}/remix",
                headers=user,
                data={"prompt": "again", "cameo": cameos},
            )
            assert refused.status_code == 403, refused.text
            error = refused.json()["error"]
            assert error["code"].startswith("consent."), error
            assert cameo.id in error["message"] and "cg-remix" not in error["message"]
        visible = client.get("/v1/generations", headers=user).json()["generations"]
        assert sorted(g["id"] for g in visible) == sorted([parent["id"], remix["id"]])


def test_long_videos_become_jobs_with_a_signed_webhook(
    settings: Settings, sample_media: dict[str, Path]
) -> None:
    import hashlib
    import hmac
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    received: list[tuple[bytes, str]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((body, self.headers["X-Cameoguard-Signature"]))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            """Quiet: http.server would print every request to stderr."""

    hook = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    configured = settings.model_copy(
        update={
            "api_sync_video_seconds": 1.0,
            "webhook_secret": "s3cret",
            "webhook_allow_hosts": "127.0.0.1",  # the hook below listens on loopback
        }
    )
    video = sample_media["mp4"].read_bytes()  # 2 s
    try:
        with running(configured) as (client, keys):
            auth = _auth(keys["platform"])
            url = f"http://127.0.0.1:{hook.server_port}/hook"
            started = client.post(
                "/v1/verify",
                headers=auth,
                data={"webhook": url},
                files={"file": ("clip.mp4", video, "video/mp4")},
            )
            assert started.status_code == 202, started.text
            job_id = started.json()["job_id"]
            deadline = time.monotonic() + 120
            while (job := client.get(f"/v1/jobs/{job_id}", headers=auth).json())["status"] in (
                "queued",
                "running",
            ):
                assert time.monotonic() < deadline
                time.sleep(0.2)
            assert job["status"] == "done", job
            assert job["result"]["authenticity"]["label"] == "no_evidence_either_way"
            assert client.get(f"/v1/jobs/{job_id}", headers=_auth(keys["user"])).status_code == 404
            while not received and time.monotonic() < deadline:
                time.sleep(0.1)
            body, signature = received[0]
            expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
            assert hmac.compare_digest(signature, expected)
            assert json.loads(body)["job_id"] == job_id
            assert not list((configured.data_dir / "jobs").rglob("upload*"))  # upload removed
            bad = client.post(
                "/v1/verify",
                headers=auth,
                data={"webhook": "ftp://x"},
                files={"file": ("clip.mp4", video, "video/mp4")},
            )
            assert bad.status_code == 400 and bad.json()["error"]["code"] == "jobs.bad_webhook"
    finally:
        hook.shutdown()
        hook.server_close()


def test_webhooks_go_only_to_allowed_public_hosts(
    settings: Settings, sample_media: dict[str, Path]
) -> None:
    """The SSRF guard on POST /v1/verify: a host not on CAMEOGUARD_WEBHOOK_ALLOW_HOSTS is
    refused, and so is a listed suffix whose name resolves to loopback; no job is made."""
    configured = settings.model_copy(
        update={"webhook_secret": "s3cret", "webhook_allow_hosts": ".example.org, .localhost"}
    )
    video = sample_media["mp4"].read_bytes()
    with running(configured) as (client, keys):
        auth = _auth(keys["platform"])
        for url, says in (
            ("http://127.0.0.1:9/hook", "webhooks to '127.0.0.1' are not allowed"),
            ("https://hooks.example.net/cameoguard", "webhooks to 'hooks.example.net' are not"),
            ("http://localhost:9/hook", "resolves to a loopback, private or link-local address"),
        ):
            refused = client.post(
                "/v1/verify",
                headers=auth,
                data={"webhook": url},
                files={"file": ("clip.mp4", video, "video/mp4")},
            )
            assert refused.status_code == 400, (url, refused.text)
            error = refused.json()["error"]
            assert error["code"] == "jobs.webhook_not_allowed", url
            assert says in error["message"] and "CAMEOGUARD_WEBHOOK_ALLOW_HOSTS" in error["message"]
    assert not (configured.data_dir / "jobs").exists()  # refused before any job was queued


@pytest.mark.parametrize(
    ("url", "allowed", "code"),
    [
        ("http://127.0.0.1:8080/hook", "127.0.0.1", None),  # listed by its exact address
        ("http://localhost/hook", "localhost", None),  # listed by its exact name
        ("http://localhost/hook", "*", "jobs.webhook_not_allowed"),  # resolves to loopback
        ("http://169.254.169.254/latest/meta-data", "*", "jobs.webhook_not_allowed"),
        ("http://10.1.2.3/hook", "*", "jobs.webhook_not_allowed"),
        ("http://100.64.0.1/hook", "*", "jobs.webhook_not_allowed"),  # shared address space
        ("http://[::1]:8080/hook", "*", "jobs.webhook_not_allowed"),
        ("http://[::ffff:127.0.0.1]/hook", "*", "jobs.webhook_not_allowed"),
        ("http://[fe80::1%25eth0]/hook", "*", "jobs.webhook_not_allowed"),
        ("http://0.0.0.0/hook", "*", "jobs.webhook_not_allowed"),
        ("http://badexample.org/hook", ".example.org", "jobs.webhook_not_allowed"),
        ("http://10.1.2.3/hook", "", "jobs.webhook_not_allowed"),  # empty: nothing allowed
        ("ftp://example.org/hook", "*", "jobs.bad_webhook"),
        ("http://example.org:99999/hook", "*", "jobs.bad_webhook"),
        ("http:///hook", "*", "jobs.bad_webhook"),
    ],
)
def test_the_webhook_guard(url: str, allowed: str, code: str | None) -> None:
    from cameoguard.jobs import check_webhook_url

    hosts = Settings(webhook_allow_hosts=allowed).webhook_allowed_hosts
    if code is None:
        check_webhook_url(url, hosts)
        return
    with pytest.raises(BadInputError) as refused:
        check_webhook_url(url, hosts)
    assert refused.value.code == code


def test_webhooks_do_not_follow_redirects_and_are_checked_again_when_sent() -> None:
    """A 302 from an allowed hook is a failed delivery: the document never reaches where it
    points; a URL no longer allowed when the job ends is not called at all."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from cameoguard.jobs import send_webhook

    hits: dict[str, int] = {"hook": 0, "elsewhere": 0}

    def server(name: str, location: str | None) -> HTTPServer:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                hits[name] += 1
                self.rfile.read(int(self.headers["Content-Length"]))
                self.send_response(302 if location else 204)
                if location:
                    self.send_header("Location", location)
                self.end_headers()

            def log_message(self, *_: object) -> None:
                """Quiet: http.server would print every request to stderr."""

        started = HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=started.serve_forever, daemon=True).start()
        return started

    elsewhere = server("elsewhere", None)
    hook = server("hook", f"http://127.0.0.1:{elsewhere.server_port}/stolen")
    try:
        url = f"http://127.0.0.1:{hook.server_port}/hook"
        outcome = send_webhook(url, {"job_id": "j_1"}, "s3cret", allow_hosts=("127.0.0.1",))
        assert outcome == "failed (HTTP 302: redirects are not followed)"
        assert hits == {"hook": 1, "elsewhere": 0}  # one try: a redirect is not retried
        refused = send_webhook(url, {"job_id": "j_1"}, "s3cret", allow_hosts=(".example.org",))
        assert refused == "refused (jobs.webhook_not_allowed)" and hits["hook"] == 1
    finally:
        for started in (hook, elsewhere):
            started.shutdown()
            started.server_close()


@pytest.mark.slow
def test_revocation_and_reports_feed_the_moderation_queue(
    settings: Settings, embedder: object, detector: object, tmp_path: Path
) -> None:
    from tests.generator_adapter.conftest import enroll_astronaut_in

    cameo = enroll_astronaut_in(settings, embedder, detector, owner="acct-user")  # type: ignore[arg-type]
    with running(settings) as (client, keys):
        user, mod = _auth(keys["user"]), _auth(keys["moderator"])
        gen = generate(client, keys["user"], cameo.id, tmp_path, "a portrait")
        out = client.get(f"/v1/generations/{gen['id']}/download", headers=user).content
        flagged = client.post(
            f"/v1/generations/{gen['id']}/flag",
            headers=user,
            json={"reason": "not what I agreed to"},
        )
        assert flagged.status_code == 201
        revoked = client.post(
            f"/v1/cameos/{cameo.id}/revoke", headers=user, json={"reason": "changed my mind"}
        ).json()
        assert [m["generation_id"] for m in revoked["moderation"]] == [gen["id"]]
        stripped = save_image(
            np.ascontiguousarray(_load_bytes(out, tmp_path)[8:-8, 8:-8]),
            tmp_path / "repost.jpg",
            quality=80,
        )
        report = client.post(
            "/v1/verify",
            headers=_auth(keys["platform"]),
            files={"file": ("r.jpg", stripped.read_bytes(), "image/jpeg")},
        ).json()
        assert report["moderation"][0]["rule"] == "revoked_cameo"
        items = client.get("/v1/moderation/queue", headers=mod).json()["items"]
        assert sorted(i["rule"] for i in items) == ["cameo_revoked", "owner_flag", "revoked_cameo"]
        revoked_item = next(i for i in items if i["rule"] == "cameo_revoked")
        assert revoked_item["pdq"] and revoked_item["history"][0]["action"] == "opened:revocation"
        assert (
            client.get("/v1/moderation/queue", headers=_auth(keys["platform"])).status_code == 403
        )
        no_reason = client.post(
            f"/v1/moderation/items/{revoked_item['id']}/decision",
            headers=mod,
            json={"decision": "remove", "reason": " "},
        )
        assert no_reason.status_code == 400
        decided = client.post(
            f"/v1/moderation/items/{revoked_item['id']}/decision",
            headers=mod,
            json={"decision": "remove", "reason": "consent revoked"},
        ).json()
        assert (
            decided["status"] == "decided" and decided["history"][-1]["actor"] == "acct-moderator"
        )
        bank = client.get("/v1/moderation/hashbank.csv", headers=mod).text.splitlines()
        assert bank[0] == "hash,signal_type,tags"
        assert any(line.startswith(revoked_item["pdq"] + ",pdq,") for line in bank[1:])
        after = client.post(
            "/v1/matches/byBinding",
            headers=user,
            json={"alg": "io.cameoguard.watermark.tiled-stft.v1", "value": gen["id"]},
        ).json()
        assert after["matches"][0]["manifestId"] == gen["id"]
        entry = client.post(
            "/v1/verify",
            headers=_auth(keys["platform"]),
            files={"file": ("o.png", out, "image/png")},
        ).json()
        assert entry["resolution"] is None or entry["resolution"]["generation"]["status"] in (
            "taken_down",
            "active",
        )


def _load_bytes(data: bytes, tmp_path: Path) -> np.ndarray:
    path = tmp_path / "downloaded.png"
    path.write_bytes(data)
    return _load(path, LIMITS)


@pytest.mark.slow
def test_a_revocation_is_seen_by_every_worker(
    settings: Settings, embedder: object, detector: object
) -> None:
    """Two uvicorn worker processes over one database: after a revoke answered by one, every
    following request, whichever worker takes it, sees the cameo revoked (nothing cached)."""

    from cameoguard.consent.registry import CameoRegistry
    from tests.generator_adapter.conftest import enroll_astronaut

    env = cli_env(settings)
    key = create_account(env, "owner", "user")
    cli = CLI
    engine = db.engine_from_settings(settings)
    registry = CameoRegistry(engine, embedder, detector=detector, limits=LIMITS)  # type: ignore[arg-type]
    cameo = enroll_astronaut(registry, owner="owner")
    engine.dispose()
    port = _free_port()
    server = subprocess.Popen(
        [*cli, "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, server, 120)
        fresh = {**_auth(key), "Connection": "close"}  # a new connection: either worker
        with httpx.Client(base_url=base, headers=fresh, timeout=60) as client:
            assert client.get(f"/v1/cameos/{cameo.id}").json()["status"] == "active"
            assert client.post(f"/v1/cameos/{cameo.id}/revoke", json={}).status_code == 200
            seen = {client.get(f"/v1/cameos/{cameo.id}").json()["status"] for _ in range(12)}
        assert seen == {"revoked"}
    finally:
        server.terminate()
        server.wait(timeout=60)


def _bad_files(sample_media: dict[str, Path], tmp_path: Path) -> dict[str, tuple[bytes, str]]:
    jpeg = save_image(np.full((300, 300, 3), 90, np.uint8), tmp_path / "x.jpg").read_bytes()
    return {
        "empty.jpg": (b"", "image/jpeg"),
        "notes.txt": (b"hello, not media", "text/plain"),
        "big.jpg": (b"\0" * 2_000_001, "image/jpeg"),
        "bomb.png": (_bomb(), "image/png"),
        "cut.jpg": (jpeg[:400], "image/jpeg"),
        "long.mp4": (_two_hours(sample_media["mp4"].read_bytes()), "video/mp4"),
    }


#: what every upload endpoint answers for each bad file: (status, error code or None for any)
BAD_ANSWERS = {
    "empty.jpg": (400, "upload.empty"),
    "notes.txt": (415, None),
    "big.jpg": (413, "upload.too_large"),
    "bomb.png": (413, None),
    "cut.jpg": (400, None),
    "long.mp4": (413, None),
}


def test_every_upload_endpoint_refuses_bad_files_with_the_same_answers(
    settings: Settings,
    embedder: object,
    detector: object,
    sample_media: dict[str, Path],
    tmp_path: Path,
) -> None:
    """verify, byContent, enrollment (photos, video), generation and remix targets: the same
    status and code for an empty file, text, an oversize file, a decompression bomb, a cut
    JPEG and a 2-hour video header, and never the server's temporary path."""
    from tests.generator_adapter.conftest import enroll_astronaut_in

    cameo = enroll_astronaut_in(settings, embedder, detector, owner="acct-user")  # type: ignore[arg-type]
    bad = _bad_files(sample_media, tmp_path)
    with running(settings) as (client, keys):
        user, platform = _auth(keys["user"]), _auth(keys["platform"])
        gen = generate(client, keys["user"], cameo.id, tmp_path, "a portrait")["id"]
        endpoints: list[tuple[str, dict[str, str], dict[str, Any], str, int]] = [
            ("/v1/verify", platform, {}, "file", 1),
            ("/v1/matches/byContent", platform, {}, "file", 1),
            ("/v1/cameos", user, {"name": "x"}, "photos", 3),
            ("/v1/cameos", user, {"name": "x"}, "video", 1),
            ("/v1/generations", user, {"prompt": "p", "cameo": [cameo.id]}, "target", 1),
            (f"/v1/generations/{gen}/remix", user, {"prompt": "p"}, "target", 1),
        ]
        for path, auth, data, field, copies in endpoints:
            for name, (content, mime) in bad.items():
                files = [(field, (name, content, mime))] * copies
                answer = client.post(path, headers=auth, data=data, files=files)
                status, code = BAD_ANSWERS[name]
                where = (path, field, name, answer.text[:300])
                assert answer.status_code == status, where
                error = answer.json()["error"]
                assert code is None or error["code"] == code, where
                assert "cg-upload" not in error["message"] and "/tmp/" not in error["message"]
