"""The web pages in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

Each test signs in with a real API key on the sign-in page, uses the pages as a person would
(upload, drop, forms, buttons, hover) against the app served by uvicorn on loopback, and saves
screenshots under ``test-artifacts/browser/`` (``CAMEOGUARD_TEST_ARTIFACTS`` moves them).
``scripts/test.sh`` installs chromium when it can; without it these tests skip with the reason.
"""

from __future__ import annotations

import base64
import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from cameoguard.media import iter_frames, write_video
from cameoguard.provenance.keys import DevCAPaths
from cameoguard.settings import Settings
from tests.api.test_app import _auth, generate, running
from tests.consent.conftest import astronaut
from tests.generator_adapter.conftest import LIMITS

CHROMIUM = os.environ.get("CAMEOGUARD_TEST_CHROMIUM") or shutil.which("chromium") or ""
ARTIFACTS = Path(
    os.environ.get("CAMEOGUARD_TEST_ARTIFACTS")
    or Path(__file__).resolve().parents[2] / "test-artifacts"
)
FLAGS = [  # this machine's network is closed: no background fetches, no QUIC
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM or not Path(CHROMIUM).exists(),
    reason="browser tests need Debian's chromium (apt-get install chromium; scripts/test.sh "
    "installs it as root) or CAMEOGUARD_TEST_CHROMIUM=/path/to/chromium",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(60_000)
    yield opened
    context.close()


def shoot(page: Any, name: str) -> Path:
    """A full-page screenshot kept as a test artifact."""
    folder = ARTIFACTS / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 5_000
    return path


def sign_in(page: Any, base: str, key: str, then: str = "/") -> None:
    page.goto(f"{base}/login?next={then}")
    page.fill("input[name=key]", key)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{then}*")
    assert page.locator("[data-testid=signed-in]").is_visible()


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, dev_ca: DevCAPaths, embedder: Any, detector: Any
) -> Iterator[dict[str, Any]]:
    """The service with an owner's cameo and one generation of it, made through the API."""
    from tests.generator_adapter.conftest import enroll_astronaut_in

    root = tmp_path_factory.mktemp("web")
    settings = Settings(
        data_dir=root / "data",
        signing_cert=dev_ca.signer_chain,
        signing_key=dev_ca.signer_key,
        trust_anchors=dev_ca.trust_anchors,
    )
    cameo = enroll_astronaut_in(settings, embedder, detector, owner="acct-user")
    with running(settings) as (client, keys):
        generation = generate(client, keys["user"], cameo.id, root, "a portrait in a garden")
        signed = root / "signed.png"
        signed.write_bytes(
            client.get(
                f"/v1/generations/{generation['id']}/download", headers=_auth(keys["user"])
            ).content
        )
        yield {
            "base": str(client.base_url).rstrip("/"),
            "client": client,
            "keys": keys,
            "cameo": cameo,
            "generation": generation,
            "signed": signed,
            "root": root,
        }


def test_verify_page_shows_the_verdict_first_then_the_evidence(
    site: dict[str, Any], page: Any
) -> None:
    base, generation = site["base"], site["generation"]
    page.goto(f"{base}/")
    assert page.get_by_text("Sign in with an API key").is_visible()
    shoot(page, "verify-signed-out")
    sign_in(page, base, site["keys"]["platform"])
    page.set_input_files("input[name=file]", str(site["signed"]))
    page.click("#verify-button")
    verdict = page.locator("[data-testid=verdict]")
    verdict.wait_for()
    assert verdict.get_attribute("data-label") == "made_by_this_deployment"
    assert "Made by this deployment" in verdict.inner_text()
    sections = page.locator("main > section").evaluate_all(
        "nodes => nodes.map(n => n.dataset.testid || '')"
    )
    assert sections[0] == "verdict"
    assert sections.index("manifest") < sections.index("watermark") < sections.index("faces")
    manifest = page.locator("[data-testid=manifest]").inner_text()
    assert "AI-generated" in manifest and "Likeness consent" in manifest
    assert site["cameo"].id in manifest
    watermark = page.locator("[data-testid=watermark]").inner_text()
    assert generation["id"] in watermark and "active" in watermark
    faces = page.locator("[data-testid=faces]").inner_text()
    assert site["cameo"].id in faces and "consent recorded" in faces
    assert "/tmp/" not in page.content()  # no server path in what a platform sees
    shoot(page, "verify-signed-output")


def test_a_dropped_file_is_verified_and_bad_files_get_a_clear_page(
    site: dict[str, Any], page: Any, sample_media: dict[str, Path]
) -> None:
    base = site["base"]
    sign_in(page, base, site["keys"]["platform"])
    data = base64.b64encode(sample_media["jpeg"].read_bytes()).decode()
    page.evaluate(
        """data => {
            const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], "dropped.jpg", {type: "image/jpeg"}));
            const zone = document.getElementById("drop");
            zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: transfer, bubbles: true}));
            zone.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true}));
        }""",
        data,
    )
    verdict = page.locator("[data-testid=verdict]")
    verdict.wait_for()
    assert verdict.get_attribute("data-label") == "no_evidence_either_way"
    assert "dropped.jpg" in verdict.inner_text()
    assert "no c2pa manifest" in page.locator("[data-testid=manifest]").inner_text().lower()
    shoot(page, "verify-dropped-unsigned")
    text = site["root"] / "notes.txt"
    text.write_text("not media at all\n")
    page.goto(f"{base}/")
    page.set_input_files("input[name=file]", str(text))
    with page.expect_response(lambda r: r.url.endswith("/verify")) as answered:
        page.click("#verify-button")
    assert answered.value.status == 415
    assert "image, video or audio" in page.locator("[data-testid=error]").inner_text()
    shoot(page, "verify-wrong-type")


def test_pages_need_a_key_and_the_right_role(site: dict[str, Any], page: Any) -> None:
    base, keys = site["base"], site["keys"]
    page.goto(f"{base}/moderation")
    assert page.url.startswith(f"{base}/login?next=/moderation")
    page.fill("input[name=key]", "cg_not_a_real_key")
    page.click("button[type=submit]")
    assert "unknown or disabled" in page.locator("[role=alert]").inner_text()
    sign_in(page, base, keys["platform"], then="/")
    response = page.goto(f"{base}/moderation")
    assert response.status == 403
    assert "moderator" in page.locator("[data-testid=error]").inner_text()
    assert page.goto(f"{base}/cameos").status == 403
    assert page.goto(f"{base}/cameos/{site['cameo'].id}").status == 403
    shoot(page, "platform-forbidden")
    # a form posted from another site: the cookie is SameSite=Strict, and Origin is checked
    cookie = {c["name"]: c["value"] for c in page.context.cookies()}["cg_key"]
    crossed = httpx.post(
        f"{base}/cameos/{site['cameo'].id}/revoke",
        cookies={"cg_key": cookie},
        headers={"Origin": "https://evil.example"},
        data={"reason": "x"},
    )
    assert crossed.status_code == 403
    assert page.goto(f"{base}/no/such/page").status == 404


def test_owner_revokes_and_a_moderator_removes(site: dict[str, Any], browser: Any) -> None:
    """The owner's pages (permissions, restrictions, flag, revoke), then the moderator's."""
    base, keys, cameo, generation = site["base"], site["keys"], site["cameo"], site["generation"]
    owner = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
    sign_in(owner, base, keys["user"], then="/cameos")
    assert cameo.id in owner.locator("[data-testid=cameos]").inner_text()
    owner.click(f"a[href='/cameos/{cameo.id}']")
    owner.check("#permissions input[value=approved]")
    owner.fill("#permissions textarea[name=approved]", "bob\ncarol")
    owner.click("#permissions button")
    assert "permissions saved" in owner.locator(".flash").inner_text()
    assert owner.locator("#permissions textarea").input_value() == "bob\ncarol"
    owner.fill("#restrictions textarea[name=forbid]", "beer\ntopic:politics")
    owner.click("#restrictions button")
    assert owner.locator("#restrictions textarea").input_value() == "beer\ntopic:politics"
    row = owner.locator(f"tr[data-generation='{generation['id']}']")
    row.locator("input[name=reason]").fill("this is not how I look")
    row.get_by_role("button", name="Flag").click()
    assert "sent to moderation" in owner.locator(".flash").inner_text()
    shoot(owner, "owner-cameo")
    owner.fill("#revoke input[name=reason]", "changed my mind")
    owner.click("#revoke button")
    assert "consent revoked; 1 generation(s)" in owner.locator(".flash").inner_text()
    assert owner.locator("[data-testid=cameo-status]").inner_text().startswith("revoked")
    shoot(owner, "owner-revoked")
    owner.context.close()
    grant = generation["consent_grant_ids"][0]
    status = site["client"].get(f"/v1/consent/grants/{grant}", headers=_auth(keys["platform"]))
    assert status.json()["state"] == "revoked"

    moderator = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
    sign_in(moderator, base, keys["moderator"], then="/moderation")
    queue = moderator.locator("[data-testid=queue]").inner_text()
    assert "owner_flag" in queue and "cameo_revoked" in queue
    thumb = moderator.locator("a.thumb img").first
    thumb.wait_for()
    assert thumb.evaluate("img => img.naturalWidth") > 0  # a real picture was kept
    assert "blur" in thumb.evaluate("img => getComputedStyle(img).filter")
    shoot(moderator, "moderation-queue-blurred")
    thumb.hover()
    moderator.wait_for_function(
        "img => getComputedStyle(img).filter === 'none'", arg=thumb.element_handle()
    )
    moderator.get_by_role("link", name="cameo_revoked").click()
    assert generation["id"] in moderator.locator(".card").nth(1).inner_text()
    moderator.click("#decision button[value=remove]")  # no reason yet: the form refuses
    assert moderator.locator("[data-testid=item-status]").inner_text().startswith("open")
    moderator.fill("#decision textarea[name=reason]", "consent revoked by the owner")
    moderator.click("#decision button[value=remove]")
    assert "decision recorded: remove" in moderator.locator(".flash").inner_text()
    history = moderator.locator("[data-testid=history]").inner_text()
    assert "decided:remove" in history and "consent revoked by the owner" in history
    assert "acct-moderator" in history
    shoot(moderator, "moderation-item-decided")
    moderator.context.close()
    entry = site["client"].post(
        "/v1/verify",
        headers=_auth(keys["platform"]),
        files={"file": ("again.png", site["signed"].read_bytes(), "image/png")},
    )
    assert entry.json()["resolution"]["generation"]["status"] == "taken_down"


def test_the_detector_timeline_is_drawn_for_a_video(
    settings: Settings, page: Any, tmp_path: Path
) -> None:
    """With the built-in detector, a clip's per-frame scores become an SVG chart."""
    frames = [np.ascontiguousarray(np.roll(astronaut(), 4 * i, axis=1)) for i in range(20)]
    clip = tmp_path / "clip.mp4"
    write_video(clip, frames, fps=10)
    with running(settings.model_copy(update={"detector_model": "builtin"})) as (_, keys):
        base = f"http://127.0.0.1:{_.base_url.port}"
        sign_in(page, base, keys["platform"])
        page.set_input_files("input[name=file]", str(clip))
        page.click("#verify-button")
        page.locator("[data-testid=verdict]").wait_for()
        chart = page.locator("[data-testid=timeline]")
        chart.wait_for()
        assert chart.locator("circle").count() >= 8
        assert "face_cnn" in page.locator("[data-testid=detector]").inner_text()
        shoot(page, "verify-video-timeline")


@pytest.mark.shared_data
def test_an_owner_enrolls_from_photos_or_a_video_on_the_page(
    shared_data: Path, settings: Settings, page: Any, tmp_path: Path
) -> None:
    interview = shared_data / "real_fake/videos/ffpp/original/004.mp4"
    obama = shared_data / "faces/face_recognition/obama"
    photos = [str(obama / n) for n in ("obama2.jpg", "obama3.jpg", "obama1_knn_test.jpg")]
    with running(settings) as (client, keys):
        base = f"http://127.0.0.1:{client.base_url.port}"
        sign_in(page, base, keys["user"], then="/cameos")
        page.fill("#enroll-form input[name=name]", "Barack")
        page.set_input_files("#enroll-form input[name=photos]", photos[:1])
        page.click("#enroll-form button")
        assert page.locator("[data-testid=error]").is_visible()  # one photo is not enough
        shoot(page, "enroll-too-few")
        page.goto(f"{base}/cameos")
        page.fill("#enroll-form input[name=name]", "Barack")
        page.set_input_files("#enroll-form input[name=photos]", photos)
        page.click("#enroll-form button")
        assert "enrolled Barack" in page.locator(".flash").inner_text()
        assert page.locator("[data-testid=cameo-status]").inner_text().startswith("active")
        shoot(page, "enroll-done")
        mine = client.get("/v1/cameos", headers=_auth(keys["user"])).json()["cameos"]
        assert [c["name"] for c in mine] == ["Barack"]
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#delete button")
        assert "face data is erased" in page.locator(".flash").inner_text()
        assert client.get("/v1/cameos", headers=_auth(keys["user"])).json()["cameos"] == []
        # from a video instead: a real interview's first 9 s (one face turning), liveness checked
        live = write_video(
            tmp_path / "live.mp4",
            (f.rgb for f in itertools.islice(iter_frames(interview, LIMITS), 225)),
            fps=25,
        )
        page.fill("#enroll-form input[name=name]", "Anchor")
        page.set_input_files("#enroll-form input[name=video]", str(live))
        page.click("#enroll-form button")
        assert "enrolled Anchor" in page.locator(".flash").inner_text()
        assert "from video" in page.locator("[data-testid=cameo-status]").inner_text()
        shoot(page, "enroll-video-done")


def test_a_long_video_becomes_a_job_page_that_refreshes_into_the_report(
    settings: Settings, page: Any, sample_media: dict[str, Path]
) -> None:
    quick = settings.model_copy(update={"api_sync_video_seconds": 1.0})
    with running(quick) as (client, keys):
        base = f"http://127.0.0.1:{client.base_url.port}"
        sign_in(page, base, keys["platform"])
        page.set_input_files("input[name=file]", str(sample_media["mp4"]))
        page.click("#verify-button")
        page.wait_for_url(f"{base}/jobs/*")
        job_id = page.url.rsplit("/", 1)[-1]
        verdict = page.locator("[data-testid=verdict]")
        if not verdict.count():  # still queued or running: the page says so and refreshes
            status = page.locator("[data-testid=job-status]").inner_text()
            assert job_id in status and ("queued" in status or "running" in status)
            shoot(page, "job-waiting")
        verdict.wait_for(timeout=120_000)
        assert "sample.mp4" in page.content()
        assert page.url.endswith(f"/jobs/{job_id}")
        shoot(page, "job-done")
        other = httpx.get(f"{base}/jobs/{job_id}", cookies={"cg_key": keys["user"]})
        assert other.status_code == 404  # another account's job does not exist for it
