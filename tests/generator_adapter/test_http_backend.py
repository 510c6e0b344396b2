"""The http backend against a local OpenAI-Videos-shaped server (never the internet).

Each test starts :class:`VideosApiServer` on 127.0.0.1, points an :class:`HttpBackend` with fast
backoff at it, and checks what came back (a real MP4 in the work directory, or the right
error and no file) and what the server saw (fields, headers, retries, the DELETE on cancel).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from pydantic import SecretStr

from cameoguard.errors import (
    BackendError,
    BackendTimeoutError,
    BadInputError,
    ConfigurationError,
    GenerationCancelledError,
    UnsupportedMediaError,
)
from cameoguard.generator_adapter.backends.base import (
    BackendRequest,
    CancelToken,
    available_backends,
    create_backend,
)
from cameoguard.generator_adapter.backends.http import (
    Backoff,
    HttpBackend,
    RetryPolicy,
    _retry_after,
)
from cameoguard.generator_adapter.backends.providers import (
    OpenAIVideosProvider,
    Provider,
    available_providers,
    create_provider,
    register_provider,
)
from cameoguard.media import Limits, MediaKind, probe, save_image
from cameoguard.settings import Settings
from tests.generator_adapter.videos_api_server import Behaviour, Fault, VideosApiServer

LIMITS = Limits(64 << 20, 80_000_000, 300.0, 600.0)
FAST = Backoff(initial_s=0.01, factor=1.5, max_s=0.05, jitter=0.1)
KEY = "sk-test-7f3a9c2e-do-not-log"
PROMPT = "a lighthouse at dusk, waves, slow pan"
SMALL = {"size": "256x256", "seconds": 2}


@pytest.fixture
def server() -> Iterator[VideosApiServer]:
    with VideosApiServer(Behaviour(polls_before_complete=2)) as running:
        yield running


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


def make_backend(url: str | None, **kwargs: Any) -> HttpBackend:
    kwargs.setdefault("api_key", KEY)
    kwargs.setdefault("poll", FAST)
    kwargs.setdefault("retry", RetryPolicy(max_retries=3, backoff=FAST))
    return HttpBackend(url, **kwargs)


def make_request(workdir: Path, **kwargs: Any) -> BackendRequest:
    kwargs.setdefault("options", SMALL)
    kwargs.setdefault("limits", LIMITS)
    return BackendRequest(prompt=PROMPT, kind=MediaKind.VIDEO, workdir=workdir, **kwargs)


def generate(server: VideosApiServer, workdir: Path, **kwargs: Any) -> Any:
    with make_backend(server.url) as backend:
        return backend.generate(make_request(workdir, **kwargs))


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- the happy path ---------------------------------------------------------------------------


def test_generates_a_valid_mp4_in_the_workdir(server: VideosApiServer, workdir: Path) -> None:
    progress: list[tuple[float, str]] = []
    raw = generate(server, workdir, progress=lambda f, m: progress.append((f, m)))

    assert raw.path == workdir / "raw.mp4"
    assert files_in(workdir) == ["raw.mp4"]
    info = probe(raw.path, LIMITS)
    assert (info.kind, info.width, info.height, info.has_audio) == (MediaKind.VIDEO, 256, 256, True)
    assert raw.kind is MediaKind.VIDEO
    assert (raw.model, raw.model_version) == ("sora-2", None)
    job_id = raw.details["remote_id"]
    assert raw.details == {
        "provider": "openai_videos",
        "remote_id": job_id,
        "seconds": "2",
        "size": "256x256",
    }
    fractions = [f for f, _ in progress]
    assert fractions == sorted(fractions)
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert any("in_progress" in m for _, m in progress)

    (create,) = server.seen("create")
    assert create.headers["authorization"] == f"Bearer {KEY}"
    assert create.headers["content-type"].startswith("multipart/form-data")
    assert create.fields == {"model": "sora-2", "prompt": PROMPT, "seconds": "2", "size": "256x256"}
    assert create.files == {}
    assert len(server.seen("retrieve")) == 3  # 2 in progress, then completed
    (content,) = server.seen("content")
    assert content.path == f"/v1/videos/{job_id}/content"
    assert content.query == {"variant": ["video"]}
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in server.seen())
    assert server.seen("delete") == []


def test_defaults_and_model_option_are_sent(server: VideosApiServer, workdir: Path) -> None:
    server.behaviour.fail = ("x", "stop here")  # no download needed to see the fields
    with make_backend(server.url, model="sora-2-pro") as backend, pytest.raises(BackendError):
        backend.generate(make_request(workdir, options={}))
    with make_backend(server.url) as backend, pytest.raises(BackendError):
        backend.generate(make_request(workdir, options={"model": "sora-2-pro", "seconds": 8.0}))
    first, second = server.seen("create")
    assert first.fields["model"] == "sora-2-pro"
    assert (first.fields["seconds"], first.fields["size"]) == ("4", "1280x720")
    assert (second.fields["model"], second.fields["seconds"]) == ("sora-2-pro", "8")


def test_no_authorization_header_without_a_key(server: VideosApiServer, workdir: Path) -> None:
    with make_backend(server.url, api_key=None) as backend:
        backend.generate(make_request(workdir))
    assert all("authorization" not in r.headers for r in server.seen())


def test_target_is_uploaded_as_input_reference(
    server: VideosApiServer, workdir: Path, tmp_path: Path
) -> None:
    target = tmp_path / "private-name-of-requester.png"
    save_image(np.full((64, 96, 3), 120, np.uint8), target)
    generate(server, workdir, target=target)
    (create,) = server.seen("create")
    upload = create.files["input_reference"]
    assert upload.content == target.read_bytes()
    assert upload.content_type == "image/png"
    assert upload.filename == "input_reference.png"  # the local file name is not sent
    assert create.fields["prompt"] == PROMPT


def test_a_target_that_is_not_a_picture_is_refused(
    server: VideosApiServer, workdir: Path, tmp_path: Path
) -> None:
    first = generate(server, workdir)
    target = tmp_path / "clip.mp4"
    target.write_bytes(first.path.read_bytes())
    with pytest.raises(UnsupportedMediaError, match="JPEG, PNG or WebP"):
        generate(server, tmp_path / "second", target=target)
    assert len(server.seen("create")) == 1


# --- retries ----------------------------------------------------------------------------------


def test_polls_and_downloads_are_retried_on_5xx(server: VideosApiServer, workdir: Path) -> None:
    server.behaviour.faults = [
        Fault("retrieve", 500, times=2),
        Fault("retrieve", 502),
        Fault("content", 503, retry_after="0"),
        Fault("content", 500),
    ]
    raw = generate(server, workdir)
    assert probe(raw.path, LIMITS).kind is MediaKind.VIDEO
    assert len(server.seen("create")) == 1
    assert len(server.seen("retrieve")) == 3 + 3
    assert len(server.seen("content")) == 3


def test_submit_429_is_retried_after_retry_after(server: VideosApiServer, workdir: Path) -> None:
    server.behaviour.faults = [Fault("create", 429, retry_after="1")]
    start = time.monotonic()
    raw = generate(server, workdir)
    assert time.monotonic() - start >= 0.9  # the backoff alone would wait 0.01 s
    assert len(server.seen("create")) == 2
    assert len(server.jobs) == 1
    assert raw.details["remote_id"] in server.jobs


def test_submit_503_is_retried(server: VideosApiServer, workdir: Path) -> None:
    server.behaviour.faults = [Fault("create", 503, retry_after="0", times=2)]
    generate(server, workdir)
    assert len(server.seen("create")) == 3
    assert len(server.jobs) == 1


@pytest.mark.parametrize("status", [500, 502, 504])
def test_submit_is_not_retried_when_it_may_have_been_accepted(
    server: VideosApiServer, workdir: Path, status: int
) -> None:
    server.behaviour.faults = [Fault("create", status)]
    with pytest.raises(BackendError, match=f"HTTP {status}") as caught:
        generate(server, workdir)
    assert caught.value.code == "generation.backend_unavailable"
    assert len(server.seen("create")) == 1
    assert files_in(workdir) == []


def test_retries_are_bounded(server: VideosApiServer, workdir: Path) -> None:
    server.behaviour.faults = [Fault("retrieve", 503, times=100)]
    with (
        make_backend(server.url, retry=RetryPolicy(max_retries=2, backoff=FAST)) as backend,
        pytest.raises(BackendError, match=r"HTTP 503.*after 3 tries"),
    ):
        backend.generate(make_request(workdir))
    assert len(server.seen("retrieve")) == 3
    assert files_in(workdir) == []


def test_unreachable_service_is_retried_then_reported(workdir: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with (
        make_backend(f"http://127.0.0.1:{port}") as backend,
        pytest.raises(BackendError, match=r"could not talk to .*after 4 tries") as caught,
    ):
        backend.generate(make_request(workdir))
    assert caught.value.code == "generation.backend_unreachable"
    assert "CAMEOGUARD_HTTP_BACKEND_URL" in str(caught.value)


def test_retry_after_forms() -> None:
    def retry_after(value: str) -> float | None:
        return _retry_after(httpx.Response(429, headers={"Retry-After": value}))

    assert retry_after("3") == 3.0
    assert retry_after("0") == 0.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert retry_after("soon") is None
    assert _retry_after(httpx.Response(429)) is None


def test_backoff_grows_caps_and_jitters() -> None:
    import random

    backoff = Backoff(initial_s=0.5, factor=2.0, max_s=10.0, jitter=0.2)
    rng = random.Random(3)
    for attempt, base in enumerate([0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]):
        assert base * 0.8 <= backoff.delay(attempt, rng) <= base * 1.2
    assert Backoff(1.0, 1.5, 10.0, 0.0).delay(2, rng) == pytest.approx(2.25)
    with pytest.raises(ValueError, match="factor"):
        Backoff(factor=0.5)


# --- remote failures --------------------------------------------------------------------------


def test_failed_job_reports_the_remote_error(server: VideosApiServer, workdir: Path) -> None:
    server.behaviour.fail = ("moderation_blocked", "Your request was blocked by moderation.")
    with pytest.raises(BackendError, match="blocked by moderation") as caught:
        generate(server, workdir)
    assert caught.value.code == "generation.remote_failed"
    assert "moderation_blocked" in str(caught.value)
    assert server.seen("content") == []
    assert files_in(workdir) == []


def test_401_never_reveals_the_key(
    server: VideosApiServer, workdir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server.behaviour.token = "the-right-token"  # the server echoes the key it got
    with pytest.raises(BackendError, match="Incorrect API key") as caught:
        generate(server, workdir)
    message = str(caught.value)
    assert caught.value.code == "generation.backend_auth"
    assert "HTTP 401" in message and "CAMEOGUARD_HTTP_BACKEND_API_KEY" in message
    assert KEY not in message and "***" in message
    assert KEY not in caplog.text
    assert len(server.seen("create")) == 1  # 401 is not retried


def test_the_right_token_is_accepted(server: VideosApiServer, workdir: Path) -> None:
    server.behaviour.token = KEY
    assert generate(server, workdir).path.is_file()


def test_prompt_and_key_are_not_logged_at_info(
    server: VideosApiServer, workdir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    raw = generate(server, workdir)
    info = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.INFO)
    assert raw.details["remote_id"] in info
    assert PROMPT not in info and KEY not in info


def test_400_reports_the_server_message(server: VideosApiServer, workdir: Path) -> None:
    with pytest.raises(BackendError, match=r"HTTP 400: Missing required parameter") as caught:
        with make_backend(server.url) as backend:
            backend.generate(BackendRequest("", MediaKind.VIDEO, workdir, LIMITS, options=SMALL))
    assert caught.value.code == "generation.backend_rejected"


# --- deadline and cancellation ----------------------------------------------------------------


def test_timeout_abandons_the_job(server: VideosApiServer, workdir: Path) -> None:
    server.behaviour.stall = True
    start = time.monotonic()
    with pytest.raises(BackendTimeoutError, match=r"within 0\.5 s") as caught:
        generate(server, workdir, options={**SMALL, "timeout_s": 0.5})
    assert time.monotonic() - start < 3.0
    assert len(server.seen("create")) == 1
    (delete,) = server.seen("delete")
    job_id = next(iter(server.jobs))
    assert delete.path == f"/v1/videos/{job_id}"
    assert job_id in str(caught.value)
    assert delete.headers["authorization"] == f"Bearer {KEY}"
    assert files_in(workdir) == []


def test_configured_timeout_applies(server: VideosApiServer, workdir: Path) -> None:
    server.behaviour.stall = True
    with make_backend(server.url, timeout_s=0.3) as backend, pytest.raises(BackendTimeoutError):
        backend.generate(make_request(workdir, options={**SMALL, "timeout_s": 60}))
    assert len(server.seen("delete")) == 1


def test_cancel_from_another_thread_is_prompt(server: VideosApiServer, workdir: Path) -> None:
    server.behaviour.stall = True
    token = CancelToken()
    timer = threading.Timer(0.3, token.cancel)
    start = time.monotonic()
    timer.start()
    try:
        with pytest.raises(GenerationCancelledError, match="asked to stop"):
            # a 5 s poll interval: only a cancel that wakes the wait ends this quickly
            generate(server, workdir, cancel=token, options={**SMALL, "poll_interval_s": 5.0})
    finally:
        timer.cancel()
    assert time.monotonic() - start < 2.0
    assert len(server.seen("delete")) == 1
    assert server.jobs[next(iter(server.jobs))].deleted
    assert files_in(workdir) == []


def test_cancelled_before_start_sends_nothing(server: VideosApiServer, workdir: Path) -> None:
    token = CancelToken()
    token.cancel()
    with pytest.raises(GenerationCancelledError):
        generate(server, workdir, cancel=token)
    assert server.seen() == []


# --- refused downloads ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "omit_length", "message"),
    [
        ("garbage", False, "not a playable video"),
        ("truncated", False, "not a playable video"),
        ("empty", False, "empty video"),
        ("wrong_type", False, "text/html instead of a video"),
        ("oversize", False, "declares 3,145,728 bytes"),
        ("oversize", True, "sent more than 1,048,576 bytes"),
    ],
)
def test_bad_downloads_leave_no_file(
    server: VideosApiServer, workdir: Path, content: Any, omit_length: bool, message: str
) -> None:
    server.behaviour.content = content
    server.behaviour.omit_length = omit_length
    limits = Limits(1 << 20, 80_000_000, 300.0, 600.0)
    with pytest.raises(BackendError, match=message) as caught:
        generate(server, workdir, limits=limits)
    assert caught.value.code == "generation.backend_bad_output"
    assert files_in(workdir) == []  # nor a hidden partial file
    assert len(server.seen("content")) == 1  # a bad body is refused, not fetched again


# --- configuration, options, registries -------------------------------------------------------


def test_missing_url_is_a_configuration_error(workdir: Path) -> None:
    with make_backend(None) as backend, pytest.raises(ConfigurationError) as caught:
        backend.generate(make_request(workdir))
    assert "CAMEOGUARD_HTTP_BACKEND_URL" in str(caught.value)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"size": "big"}, "size option must look like"),
        ({"size": "20000x20000"}, "CAMEOGUARD_MAX_PIXELS"),
        ({"seconds": -1}, "must be positive"),
        ({"seconds": "four"}, "number of seconds"),
        ({"seconds": 400}, "CAMEOGUARD_MAX_VIDEO_SECONDS"),
        ({"model": ""}, "model option"),
        ({"poll_interval_s": 0}, "poll_interval_s option must be positive"),
        ({"timeout_s": "soon"}, "timeout_s option must be a number"),
    ],
)
def test_bad_options_are_refused_before_sending(
    server: VideosApiServer, workdir: Path, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(BadInputError, match=message):
        generate(server, workdir, options=options)
    assert server.seen() == []


def test_only_video_is_made(server: VideosApiServer, workdir: Path) -> None:
    with make_backend(server.url) as backend, pytest.raises(BadInputError, match="makes videos"):
        backend.generate(BackendRequest(PROMPT, MediaKind.IMAGE, workdir, LIMITS))


def test_unknown_provider_lists_the_known_ones() -> None:
    with pytest.raises(ConfigurationError, match="openai_videos") as caught:
        create_backend("http", Settings(http_backend_provider="acme_video"))
    assert "acme_video" in str(caught.value)
    assert "CAMEOGUARD_HTTP_BACKEND_PROVIDER" in str(caught.value)
    assert caught.value.code == "generation.provider_unknown"


def test_provider_registry() -> None:
    assert "openai_videos" in available_providers()
    assert isinstance(create_provider("openai_videos"), OpenAIVideosProvider)

    with pytest.raises(ValueError, match="already registered"):

        @register_provider("openai_videos")
        class Again(OpenAIVideosProvider):
            pass


def test_openai_job_parsing() -> None:
    provider: Provider = OpenAIVideosProvider()
    job = provider.parse_job(
        {"id": "video_1", "status": "in_progress", "progress": 40, "seconds": "4", "size": "1x1"}
    )
    assert (job.id, job.status.value, job.progress, job.seconds) == (
        "video_1",
        "in_progress",
        0.4,
        "4",
    )
    bad: object
    for bad in ([], {"status": "queued"}, {"id": "video_1", "status": "paused"}):
        with pytest.raises(ValueError):  # noqa: PT011 - the message differs per case
            provider.parse_job(bad)
    assert provider.error_message({"error": {"message": "nope", "code": "bad"}}) == "nope [bad]"


def test_created_from_settings(server: VideosApiServer, workdir: Path) -> None:
    assert "http" in available_backends()
    settings = Settings(
        http_backend_url=server.url + "/",
        http_backend_model="sora-2-pro",
        http_backend_api_key=SecretStr(KEY),
        http_backend_timeout_s=30,
    )
    with create_backend("http", settings) as backend:
        assert isinstance(backend, HttpBackend)
        assert (backend.base_url, backend.model, backend.timeout_s) == (
            server.url,
            "sora-2-pro",
            30,
        )
        described = backend.describe()
        assert described["name"] == "http" and described["kinds"] == ["video"]
        assert described["provider"] == "openai_videos"
        assert KEY not in repr(described) and KEY not in repr(backend)
        backend.poll = FAST
        raw = backend.generate(make_request(workdir))
    assert raw.model == "sora-2-pro"
    assert server.seen("create")[0].headers["authorization"] == f"Bearer {KEY}"


def test_close_is_idempotent(server: VideosApiServer, workdir: Path) -> None:
    backend = make_backend(server.url)
    backend.generate(make_request(workdir))
    backend.close()
    backend.close()
