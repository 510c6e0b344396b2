"""The FastAPI app: ``/healthz`` (no key), ``/v1/*`` (a Bearer key), one JSON error envelope.

What flows through: :func:`create_app` opens the domain objects once per worker (the
:class:`~cameoguard.verification.Verifier` with its ledger, registry and optional detector,
and the :class:`~cameoguard.accounts.AccountStore`) and closes them at shutdown. Every
``/v1`` request needs ``Authorization: Bearer KEY`` of an enabled account (401 otherwise) and
a role the endpoint allows (403). ``POST /v1/verify`` streams the upload to a private
temporary file, stopping at the size limit (413) before anything is decoded, then runs the
verify flow and answers the fused report; the file is deleted afterwards.

Errors are always ``{"error": {"code": ..., "message": ...}}``: domain errors map to 4xx by
kind (bad input 400, unsupported media 415, limits 413, not found 404, permission 403,
configuration 503); an unexpected exception is logged (never with upload bytes) and answered
as a 500 envelope with no internals.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from cameoguard import __version__, db
from cameoguard.accounts import Account, AccountStore, Role
from cameoguard.api.deps import ANY_ROLE, ApiError, RateLimiter, receive
from cameoguard.errors import (
    BadInputError,
    CameoguardError,
    ConfigurationError,
    FileNotFoundInputError,
    MediaLimitError,
    NotFoundError,
    PermissionDeniedError,
    UnsupportedMediaError,
)
from cameoguard.fsutil import sha256_file
from cameoguard.jobs import JobStore, send_webhook
from cameoguard.moderation import ModerationQueue
from cameoguard.provenance.softbinding import SOFT_BINDING_ALG, Resolution, Resolver
from cameoguard.settings import Settings, get_settings
from cameoguard.watermark.payload import parse_payload

__all__ = ["create_app"]

log = logging.getLogger(__name__)


class Binding(BaseModel):
    """A soft binding to look up (C2PA Soft Binding Resolution API, ``byBinding``)."""

    alg: str = Field(examples=[SOFT_BINDING_ALG])
    value: str = Field(examples=["g_0123456789ab"], max_length=64)


def status_for(error: CameoguardError) -> int:
    if isinstance(error, ApiError):
        return error.status
    for kind, status in (
        (MediaLimitError, 413),
        (UnsupportedMediaError, 415),
        (NotFoundError, 404),
        (FileNotFoundInputError, 400),
        (BadInputError, 400),
        (PermissionDeniedError, 403),
        (ConfigurationError, 503),
    ):
        if isinstance(error, kind):
            return status
    return 500


def envelope(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _verify(app: FastAPI, path: Path, actor: str) -> dict[str, Any]:
    """The verify flow for the API: the report, its verdict counted, the queue fed."""
    result = app.state.verifier.verify(path)
    app.state.verdicts.labels(result.authenticity.label.value).inc()
    body: dict[str, Any] = result.to_dict()
    queue: ModerationQueue = app.state.moderation
    flagged = queue.from_report(body["authenticity"], sha256=sha256_file(path), actor=actor)
    body["moderation"] = [{"item_id": i.id, "rule": i.rule} for i in flagged]
    return body


def _run_job(app: FastAPI, job_id: str, path: Path) -> None:
    """Verify a job's upload in a worker thread; always ends the job and removes the upload."""
    jobs: JobStore = app.state.jobs
    settings: Settings = app.state.settings
    try:
        jobs.start(job_id)
        done = jobs.finish(job_id, _verify(app, path, actor="job"))
    except CameoguardError as error:
        done = jobs.fail(job_id, error.code, error.message)
    except Exception as error:  # never leave a job running forever
        log.error("job %s failed unexpectedly: %s", job_id, type(error).__name__)
        done = jobs.fail(job_id, "internal", "the verification failed; the error was logged")
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
    if done.webhook_url and settings.webhook_secret:
        outcome = send_webhook(done.webhook_url, done.to_dict(), settings.webhook_secret)
        jobs.webhook_done(job_id, outcome)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from cameoguard.verification import Verifier

        engine = db.engine_from_settings(settings)
        db.upgrade(engine)
        app.state.accounts = AccountStore(engine)
        app.state.settings = settings
        app.state.limiter = RateLimiter(settings.api_rate_per_minute)
        app.state.jobs = JobStore(engine)
        app.state.moderation = ModerationQueue(engine)
        app.state.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cg-job")
        with contextlib.ExitStack() as stack:
            app.state.pipeline, app.state.pipeline_problem = None, ""
            try:
                from cameoguard.generator_adapter.pipeline import GenerationPipeline

                app.state.pipeline = stack.enter_context(
                    GenerationPipeline.from_settings(settings, engine)
                )
            except CameoguardError as problem:  # verification still works without signing keys
                app.state.pipeline_problem = problem.message
                log.warning("generation is unavailable: %s", problem.code)
            pipeline = app.state.pipeline
            app.state.verifier = (  # one set of face models per worker
                stack.enter_context(Verifier.from_settings(settings))
                if pipeline is None
                else Verifier.of_parts(settings, pipeline.resolver, pipeline.registry)
            )
            try:
                yield
            finally:
                app.state.executor.shutdown(wait=True)
                stack.close()
                engine.dispose()

    app = FastAPI(
        title="cameoguard",
        version=__version__,
        description="Consent-first AI media: verification, cameos, generation, moderation.",
        lifespan=lifespan,
    )

    @app.exception_handler(CameoguardError)
    async def _domain(_: Request, error: CameoguardError) -> JSONResponse:
        response = envelope(status_for(error), error.code, error.message)
        if isinstance(error, ApiError) and error.retry_after is not None:
            response.headers["Retry-After"] = str(max(1, round(error.retry_after)))
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return envelope(422, "request.invalid", f"{where}: {first.get('msg', 'invalid request')}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, error: StarletteHTTPException) -> JSONResponse:
        return envelope(error.status_code, f"http.{error.status_code}", str(error.detail))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, error: Exception) -> JSONResponse:
        log.error("unexpected %s while serving a request", type(error).__name__)
        return envelope(500, "internal", "the server failed; the error was logged")

    from cameoguard.api.cameos import router as cameos
    from cameoguard.api.generations import router as generations
    from cameoguard.api.moderation import router as moderation

    app.include_router(cameos)
    app.include_router(generations)
    app.include_router(moderation)

    from prometheus_client import (
        CONTENT_TYPE_LATEST,
        CollectorRegistry,
        Counter,
        Histogram,
        generate_latest,
    )

    metrics = CollectorRegistry()
    requests_total = Counter(
        "cameoguard_http_requests_total",
        "HTTP requests answered",
        ["method", "route", "status"],
        registry=metrics,
    )
    seconds = Histogram(
        "cameoguard_http_request_seconds",
        "Time to answer a request",
        ["route"],
        registry=metrics,
        buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
    )
    verdicts = Counter(
        "cameoguard_verify_verdicts_total",
        "Fused verdicts given by /v1/verify",
        ["label"],
        registry=metrics,
    )
    app.state.verdicts = verdicts

    @app.middleware("http")
    async def _measure(request: Request, call_next: Callable[[Request], Awaitable[Any]]) -> Any:
        started = time.perf_counter()
        response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", "unmatched")
        requests_total.labels(request.method, route, str(response.status_code)).inc()
        seconds.labels(route).observe(time.perf_counter() - started)
        return response

    @app.get("/metrics", tags=["service"], include_in_schema=False)
    async def prometheus() -> Response:
        """Prometheus text format: request counts and latencies by route, verdict counts (per
        worker process; no account names, no media data)."""
        return Response(generate_latest(metrics), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz", tags=["service"])
    async def healthz() -> dict[str, Any]:
        """Liveness: no key needed, no data returned."""
        return {"status": "ok", "version": __version__}

    @app.get("/v1/me", tags=["accounts"])
    async def me(account: Annotated[Account, Depends(ANY_ROLE)]) -> dict[str, Any]:
        """The account the key belongs to."""
        return {"name": account.name, "role": account.role.value, "key_prefix": account.key_prefix}

    def resolver(request: Request) -> Resolver:
        found: Resolver | None = request.app.state.verifier.resolver
        if found is None:
            raise ConfigurationError(
                "this deployment has no watermark key yet, so nothing can be resolved; "
                "run `cameoguard keys init`",
                code="service.no_watermark_key",
            )
        return found

    @app.post("/v1/verify", tags=["verify"], responses={202: {"description": "a job"}})
    def verify(
        account: Annotated[Account, Depends(ANY_ROLE)],
        file: Annotated[UploadFile, File(description="an image, video or audio file")],
        webhook: Annotated[
            str | None, Form(max_length=2000, description="URL for the job's signed result")
        ] = None,
    ) -> Any:
        """The fused authenticity report of one uploaded file (C2PA, watermark and ledger,
        faces and consent, passive detector). A video longer than
        CAMEOGUARD_API_SYNC_VIDEO_SECONDS becomes a job: 202 with its id."""
        from cameoguard.media import probe
        from cameoguard.media.types import MediaKind

        if webhook is not None:
            if not webhook.startswith(("https://", "http://")):
                raise BadInputError("webhook must be an http(s) URL", code="jobs.bad_webhook")
            if not settings.webhook_secret:
                raise ConfigurationError(
                    "webhooks need CAMEOGUARD_WEBHOOK_SECRET on this deployment",
                    code="jobs.no_webhook_secret",
                )
        verifier = app.state.verifier
        with receive(file, settings.max_upload_bytes) as (path, size):
            info = probe(path, verifier.limits)
            long = info.kind is MediaKind.VIDEO and (info.duration_s or 0) > (
                settings.api_sync_video_seconds
            )
            if long or webhook is not None:
                job = app.state.jobs.create(account.name, file.filename, webhook)
                folder = settings.data_dir / "jobs" / job.id
                folder.mkdir(parents=True, mode=0o700)
                kept = folder / path.name
                shutil.move(path, kept)
                app.state.executor.submit(_run_job, app, job.id, kept)
                return JSONResponse(
                    {"job_id": job.id, "status": job.status, "status_url": f"/v1/jobs/{job.id}"},
                    status_code=202,
                )
            body = _verify(app, path, account.name)
            body["file"] = {"name": file.filename, "bytes": size}
            return body

    @app.get("/v1/jobs/{job_id}", tags=["verify"])
    def job(job_id: str, account: Annotated[Account, Depends(ANY_ROLE)]) -> dict[str, Any]:
        """A verification job: queued, running, done (with the report) or failed (why)."""
        found: dict[str, Any] = app.state.jobs.get(
            job_id, account.name, admin=account.role is Role.ADMIN
        ).to_dict()
        return found

    def _matches(resolution: Resolution) -> dict[str, Any]:
        """The C2PA Soft Binding Resolution API's answer shape, plus our explanation."""
        matches = []
        if resolution.matched and resolution.generation_id is not None:
            matches.append(
                {
                    "manifestId": resolution.generation_id,
                    "similarityScore": round(100 * resolution.strength),
                }
            )
        return {"matches": matches, "resolution": resolution.to_dict(include_manifest=False)}

    @app.post("/v1/matches/byContent", tags=["soft binding resolution"])
    def by_content(
        request: Request,
        account: Annotated[Account, Depends(ANY_ROLE)],
        file: Annotated[UploadFile, File(description="media that may have lost its manifest")],
    ) -> dict[str, Any]:
        """Find the manifest of stripped or re-encoded media by watermark and fingerprint."""
        found = resolver(request)
        with receive(file, settings.max_upload_bytes) as (path, _):
            return _matches(found.resolve(path))

    @app.post("/v1/matches/byBinding", tags=["soft binding resolution"])
    def by_binding(
        request: Request,
        account: Annotated[Account, Depends(ANY_ROLE)],
        binding: Binding,
    ) -> dict[str, Any]:
        """The manifest a soft-binding value (this deployment's watermark payload) names."""
        if binding.alg != SOFT_BINDING_ALG:
            raise BadInputError(
                f"alg {binding.alg!r} is not resolved here; this deployment resolves "
                f"{SOFT_BINDING_ALG!r}",
                code="matches.unknown_alg",
            )
        entry = resolver(request).ledger.by_payload(parse_payload(binding.value))
        if entry is None:
            return {"matches": []}
        return {"matches": [{"manifestId": entry.generation_id, "similarityScore": 100}]}

    @app.get("/v1/manifests/{manifest_id}", tags=["soft binding resolution"])
    def manifest(
        request: Request, manifest_id: str, account: Annotated[Account, Depends(ANY_ROLE)]
    ) -> Response:
        """The C2PA manifest store recorded for a generation (``application/c2pa``)."""
        entry = resolver(request).ledger.get(manifest_id)
        if entry is None:
            raise NotFoundError(f"no manifest with id {manifest_id!r}", code="manifests.not_found")
        return Response(bytes(entry.manifest_store), media_type="application/c2pa")

    @app.get("/v1/consent/grants/{grant_id}", tags=["consent"])
    def grant_status(
        request: Request, grant_id: str, account: Annotated[Account, Depends(ANY_ROLE)]
    ) -> dict[str, Any]:
        """Whether a consent grant written into a manifest still stands (like OCSP for a
        certificate): ``active``, ``revoked`` (with when) or ``deleted``."""
        registry = request.app.state.verifier.registry
        status: dict[str, Any] = registry.grant_status(grant_id).to_dict()
        return status

    return app


def app_factory() -> FastAPI:
    """For ``uvicorn --factory``: the app with settings from the environment."""
    return create_app()
