"""A local stand-in for OpenAI's Videos API, served over real HTTP for the http backend's tests.

Requests flow in on ``127.0.0.1`` (a free port, a background thread); the server records each
one (method, path, query, headers, form fields, uploaded files), moves its fake jobs forward
one step per poll, and answers like the real service: JSON job objects from
``POST /v1/videos`` and ``GET /v1/videos/{id}``, a deletion receipt from ``DELETE``, and real
H.264/AAC MP4 files (moving gradient frames and a tone, made by
:func:`cameoguard.media.video.write_video`) from ``GET /v1/videos/{id}/content``.

:class:`Behaviour` (read at every request, so a test may change it mid-run) makes it
misbehave: jobs that fail or stall, transient 429/500/503 answers with ``Retry-After``, a
required bearer token (its 401 message echoes the token it got, to prove clients scrub it),
and downloads that are garbage, truncated, mislabelled, empty or oversized.

    with VideosApiServer(Behaviour(polls_before_complete=1)) as server:
        ...  # point the client at server.url; then inspect server.requests
"""

from __future__ import annotations

import json
import re
import secrets
import tempfile
import threading
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import numpy as np

from cameoguard.media.types import AudioClip
from cameoguard.media.video import write_video

__all__ = [
    "Behaviour",
    "Fault",
    "Job",
    "RecordedRequest",
    "Upload",
    "VideosApiServer",
    "render_mp4",
]

Route = Literal["create", "retrieve", "content", "delete", "unknown"]
ContentMode = Literal["video", "garbage", "truncated", "wrong_type", "oversize", "empty"]

_DEFAULT_SIZE = (256, 256)
_JOB_PATH = re.compile(r"^/v1/videos/([^/]+)(/content)?$")


@dataclass
class Fault:
    """Answer the next ``times`` requests to ``route`` with ``status`` (``"*"``: any route)."""

    route: Route | Literal["*"] = "*"
    status: int = 503
    retry_after: str | None = None
    times: int = 1


@dataclass
class Behaviour:
    """What the server does; every field is read again at each request."""

    #: Polls (retrieves) a job answers ``in_progress`` before it finishes.
    polls_before_complete: int = 2
    #: ``(code, message)``: jobs finish as ``failed`` with this error.
    fail: tuple[str, str] | None = None
    #: Jobs stay ``in_progress`` forever.
    stall: bool = False
    faults: list[Fault] = field(default_factory=list)
    content: ContentMode = "video"
    #: Body size for ``content="oversize"``.
    oversize_bytes: int = 3 << 20
    #: Send the content without ``Content-Length`` (the body ends when the connection closes).
    omit_length: bool = False
    #: Require ``Authorization: Bearer <token>``; anything else gets a 401.
    token: str | None = None
    video_seconds: float = 1.5
    fps: float = 12.0


@dataclass(frozen=True)
class Upload:
    filename: str | None
    content_type: str | None
    content: bytes = field(repr=False)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it; ``headers`` keys are lower case."""

    method: str
    path: str
    route: Route
    query: dict[str, list[str]]
    headers: dict[str, str]
    fields: dict[str, str]
    files: dict[str, Upload]


@dataclass
class Job:
    id: str
    model: str
    prompt: str
    seconds: str
    size: str
    polls: int = 0
    status: str = "queued"
    progress: int = 0
    deleted: bool = False

    def as_json(self, behaviour: Behaviour) -> dict[str, Any]:
        error = None
        if self.status == "failed" and behaviour.fail is not None:
            error = {"code": behaviour.fail[0], "message": behaviour.fail[1]}
        return {
            "id": self.id,
            "object": "video",
            "created_at": 1_700_000_000,
            "status": self.status,
            "progress": self.progress,
            "model": self.model,
            "seconds": self.seconds,
            "size": self.size,
            "error": error,
        }

    def advance(self, behaviour: Behaviour) -> None:
        """One poll's worth of progress."""
        if self.status in ("completed", "failed"):
            return
        self.polls += 1
        if behaviour.stall:
            self.status, self.progress = "in_progress", 50
        elif self.polls > behaviour.polls_before_complete:
            self.status = "failed" if behaviour.fail is not None else "completed"
            self.progress = 100
        else:
            self.status = "in_progress"
            self.progress = int(100 * self.polls / (behaviour.polls_before_complete + 1))


@lru_cache(maxsize=8)
def render_mp4(width: int, height: int, seconds: float = 1.5, fps: float = 12.0) -> bytes:
    """A real H.264/AAC MP4: a moving gradient with a bright square, and a two-tone chord."""
    n = max(1, round(seconds * fps))
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    frames = []
    for i in range(n):
        t = i / max(n - 1, 1)
        rgb = np.stack(
            [
                (x / width * 255 + 160 * t) % 256,
                y / height * 200 + 30,
                np.full_like(x, 90 + 100 * t),
            ],
            -1,
        ).astype(np.uint8)
        side = max(8, min(width, height) // 5)
        left, top = int((width - side) * t), (height - side) // 2
        rgb[top : top + side, left : left + side] = 250
        frames.append(rgb)
    rate = 48_000
    ts = np.arange(round(n / fps * rate), dtype=np.float32) / rate
    tone = 0.3 * (np.sin(2 * np.pi * 440.0 * ts) + np.sin(2 * np.pi * 660.0 * ts)) / 2
    audio = AudioClip(np.stack([tone, tone]).astype(np.float32), rate)
    with tempfile.TemporaryDirectory(prefix="videos-api-") as tmp:
        path = write_video(Path(tmp) / "video.mp4", frames, fps, audio, preset="ultrafast")
        return path.read_bytes()


def _render_size(size: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)x(\d+)", size)
    if match is None:
        return _DEFAULT_SIZE
    width, height = int(match[1]), int(match[2])
    if not (16 <= width <= 1280 and 16 <= height <= 1280) or width % 2 or height % 2:
        return _DEFAULT_SIZE
    return width, height


def _parse_body(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, Upload]]:
    fields: dict[str, str] = {}
    files: dict[str, Upload] = {}
    mime = content_type.split(";")[0].strip().lower()
    if mime == "multipart/form-data":
        head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
        message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if not isinstance(name, str) or not isinstance(payload, bytes):
                continue
            filename = part.get_filename()
            if filename is None:
                fields[name] = payload.decode("utf-8")
            else:
                files[name] = Upload(filename, part.get_content_type(), payload)
    elif mime == "application/x-www-form-urlencoded":
        fields = {k: v[-1] for k, v in parse_qs(body.decode("utf-8")).items()}
    elif mime == "application/json" and body:
        data = json.loads(body)
        if isinstance(data, dict):
            fields = {str(k): str(v) for k, v in data.items()}
    return fields, files


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests read server.requests instead

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    # -- plumbing

    def _handle(self) -> None:
        owner = self.server.owner
        split = urlsplit(self.path)
        route, job_id = _route(self.command, split.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fields, files = _parse_body(self.headers.get("Content-Type", ""), body)
        owner._record(
            RecordedRequest(
                method=self.command,
                path=split.path,
                route=route,
                query=parse_qs(split.query),
                headers={k.lower(): v for k, v in self.headers.items()},
                fields=fields,
                files=files,
            )
        )
        behaviour = owner.behaviour
        try:
            if behaviour.token is not None:
                got = self.headers.get("Authorization", "")
                if got != f"Bearer {behaviour.token}":
                    shown = got.removeprefix("Bearer ") or "(none)"
                    self._error(401, f"Incorrect API key provided: {shown}.", "invalid_api_key")
                    return
            fault = owner._take_fault(route)
            if fault is not None:
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                self._error(fault.status, f"injected HTTP {fault.status}", "injected", headers)
                return
            if route == "create":
                self._create(fields, files)
            elif route == "unknown" or job_id is None:
                self._error(404, f"no route for {self.command} {split.path}", "not_found")
            else:
                self._job_route(route, job_id)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client hung up (it refused an oversize download)

    def _create(self, fields: dict[str, str], files: dict[str, Upload]) -> None:
        owner = self.server.owner
        prompt = fields.get("prompt", "")
        if not prompt:
            self._error(400, "Missing required parameter: 'prompt'.", "missing_parameter")
            return
        job = Job(
            id=f"video_{secrets.token_hex(12)}",
            model=fields.get("model", "sora-2"),
            prompt=prompt,
            seconds=fields.get("seconds", "4"),
            size=fields.get("size", "720x1280"),
        )
        with owner._lock:
            owner.jobs[job.id] = job
        self._json(200, job.as_json(owner.behaviour))

    def _job_route(self, route: Route, job_id: str) -> None:
        owner = self.server.owner
        with owner._lock:
            job = owner.jobs.get(job_id)
            if job is not None and route == "retrieve" and not job.deleted:
                job.advance(owner.behaviour)
            if job is not None and route == "delete":
                job.deleted = True
        if job is None or (job.deleted and route != "delete"):
            self._error(404, f"Video with id '{job_id}' not found.", "not_found")
        elif route == "retrieve":
            self._json(200, job.as_json(owner.behaviour))
        elif route == "delete":
            self._json(200, {"id": job.id, "object": "video.deleted", "deleted": True})
        elif job.status != "completed":
            self._error(404, f"Video '{job_id}' is not ready (status {job.status}).", "not_ready")
        else:
            self._content(job)

    def _content(self, job: Job) -> None:
        behaviour = self.server.owner.behaviour
        mime = "video/mp4"
        mode = behaviour.content
        if mode == "garbage":
            data = np.random.default_rng(7).integers(0, 256, 40_000, dtype=np.uint8).tobytes()
        elif mode == "oversize":
            self._send_oversize(behaviour)
            return
        elif mode == "empty":
            data = b""
        else:
            width, height = _render_size(job.size)
            data = render_mp4(width, height, behaviour.video_seconds, behaviour.fps)
            if mode == "truncated":
                data = data[: len(data) // 2]
            elif mode == "wrong_type":
                mime = "text/html; charset=utf-8"
        self._send(200, mime, data, omit_length=behaviour.omit_length)

    def _send_oversize(self, behaviour: Behaviour) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        if not behaviour.omit_length:
            self.send_header("Content-Length", str(behaviour.oversize_bytes))
        self.end_headers()
        block = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * (64 * 1024 - 12)
        sent = 0
        while sent < behaviour.oversize_bytes:
            piece = block[: behaviour.oversize_bytes - sent]
            self.wfile.write(piece)
            sent += len(piece)

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, "application/json", json.dumps(payload).encode(), headers=headers)

    def _error(
        self, status: int, message: str, code: str, headers: dict[str, str] | None = None
    ) -> None:
        error = {"message": message, "type": "invalid_request_error", "param": None, "code": code}
        self._json(status, {"error": error}, headers)

    def _send(
        self,
        status: int,
        content_type: str,
        data: bytes,
        *,
        headers: dict[str, str] | None = None,
        omit_length: bool = False,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if not omit_length:
            self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def _route(method: str, path: str) -> tuple[Route, str | None]:
    if path == "/v1/videos":
        return ("create", None) if method == "POST" else ("unknown", None)
    match = _JOB_PATH.match(path)
    if match is None:
        return "unknown", None
    job_id, content = match[1], match[2]
    if content and method == "GET":
        return "content", job_id
    if not content and method == "GET":
        return "retrieve", job_id
    if not content and method == "DELETE":
        return "delete", job_id
    return "unknown", job_id


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: VideosApiServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a client that hung up mid-body is part of the tests
        super().handle_error(request, client_address)


class VideosApiServer:
    """The fake service; a context manager that serves in a background thread."""

    def __init__(self, behaviour: Behaviour | None = None) -> None:
        self.behaviour = behaviour or Behaviour()
        self.requests: list[RecordedRequest] = []
        self.jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the server is not running; use it as a context manager")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> VideosApiServer:
        httpd = _Server(("127.0.0.1", 0), _Handler)
        httpd.owner = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> VideosApiServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- for tests

    def seen(self, route: Route | None = None) -> list[RecordedRequest]:
        """Requests recorded so far (for one route, when given), oldest first."""
        with self._lock:
            return [r for r in self.requests if route is None or r.route == route]

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _take_fault(self, route: Route) -> Fault | None:
        with self._lock:
            for fault in self.behaviour.faults:
                if fault.times > 0 and fault.route in (route, "*"):
                    fault.times -= 1
                    return fault
        return None
