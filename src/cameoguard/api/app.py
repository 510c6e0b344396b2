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
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any

from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from cameoguard import __version__, db
from cameoguard.accounts import Account, AccountStore, Role
from cameoguard.api import web
from cameoguard.api.deps import ANY_ROLE, ERRORS, ApiError, RateLimiter, errors, ok, receive
from cameoguard.api.flows import needs_job, submit_job, verify_upload
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
from cameoguard.jobs import JobStore, check_webhook_url
from cameoguard.media import Limits
from cameoguard.moderation import ModerationQueue, Thumbnails
from cameoguard.provenance.softbinding import SOFT_BINDING_ALG, Resolution, Resolver
from cameoguard.settings import Settings, get_settings
from cameoguard.watermark.payload import parse_payload

__all__ = ["create_app"]

log = logging.getLogger(__name__)
access = logging.getLogger("cameoguard.access")

REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class Binding(BaseModel):
    """A soft binding to look up (C2PA Soft Binding Resolution API, ``byBinding``)."""

    alg: str = Field(examples=[SOFT_BINDING_ALG])
    value: str = Field(examples=["g_0123456789ab"], max_length=64)


# Examples for the OpenAPI document: real answers of this service (ids and times from a run).
REPORT_EXAMPLE: dict[str, Any] = {
    "authenticity": {
        "label": "no_evidence_either_way",
        "confidence": 0.0,
        "generation_id": None,
        "headline": "passive detection is unavailable (no calibrated detector is configured: "
        "set CAMEOGUARD_DETECTOR_MODEL); no statistical judgement was made",
        "evidence": [
            {
                "source": "detector",
                "kind": "note",
                "sentence": "passive detection is unavailable (no calibrated detector is "
                "configured: set CAMEOGUARD_DETECTOR_MODEL); no statistical judgement was made",
                "details": {},
            }
        ],
    },
    "provenance": {
        "path": "photo.jpg",
        "media_type": "image/jpeg",
        "state": "absent",
        "summary": "image: no C2PA manifest (provenance unknown; not evidence of anything)",
        "manifest_label": None,
        "title": None,
        "claim_generator": None,
        "signer": None,
        "signing_time": None,
        "timestamp_status": "none",
        "actions": [],
        "ai_generated": False,
        "ai_source_type": None,
        "ingredients": [],
        "custom_assertions": [],
        "integrity_failures": [],
        "trust_failures": [],
        "informational": [],
        "ingredient_failures": [],
        "successes": [],
        "remote_manifest_url": None,
        "manifest_count": 0,
    },
    "resolution": {
        "status": "not_found",
        "matched": False,
        "method": None,
        "generation_id": None,
        "strength": 0.0,
        "explanation": "no watermark, and no ledger entry with a matching fingerprint",
        "evidence": {},
        "watermark": {
            "found": False,
            "payload": None,
            "confidence": 0.0,
            "false_alarm_bound": 1.3969838619232178e-09,
            "conflict": False,
            "key_id": "f124f2472957259d",
            "tracks": [
                {
                    "track": "image",
                    "scheme": "tiled",
                    "found": False,
                    "payload": None,
                    "bit_agreement": None,
                    "z_score": None,
                    "hypotheses": 6,
                    "where": None,
                    "note": None,
                }
            ],
        },
    },
    "faces": {
        "media_kind": "image",
        "frames_sampled": 1,
        "embedder": "dlib_resnet",
        "match_threshold": 0.52,
        "possible_threshold": 0.58,
        "faces": [
            {
                "frame_index": None,
                "t_s": None,
                "box": [190.2, 213.3, 472.5, 638.7],
                "score": 1.0,
                "yaw_deg": -15.2,
                "decision": "no_match",
                "match": None,
                "nearest_distance": 0.8614,
            }
        ],
        "subjects": [],
        "notes": [],
    },
    "detector": None,
    "notes": [],
    "moderation": [],
    "file": {"name": "photo.jpg", "bytes": 184455},
}
JOB_EXAMPLE: dict[str, Any] = {
    "job_id": "j_55828afa678c",
    "status": "done",
    "file": "clip.mp4",
    "created_at": "2026-12-02T14:29:57.597877+00:00",
    "finished_at": "2026-12-02T14:29:58.513481+00:00",
    "result": {**REPORT_EXAMPLE, "file": {"name": "clip.mp4", "bytes": 82670}},
    "error": None,
    "webhook": {"status": "delivered (HTTP 204)"},
}
GENERATION_ENTRY_EXAMPLE: dict[str, Any] = {
    "generation_id": "g_84bf6f0e0662",
    "created_at": "2026-12-02T14:30:10.032887+00:00",
    "requester": "acct-user",
    "backend": "cameo_composite",
    "media_kind": "image",
    "mime": "image/png",
    "sha256": "35f5fa87a0711d7fb41b40844df237e5ef01cae1b32662c2023b524bc2d702c2",
    "cameo_ids": ["c_fb0df0662bf6"],
    "consent_grant_ids": ["gr_132b7bfa82aab62892983d07"],
    "manifest_label": "urn:c2pa:ceb7511c-789e-42fa-8d3e-8ecc4b126dd0",
    "status": "active",
    "taken_down_at": None,
}
GRANT_EXAMPLE: dict[str, Any] = {
    "grant_id": "gr_132b7bfa82aab62892983d07",
    "cameo_id": "c_fb0df0662bf6",
    "state": "revoked",
    "usable_for_new_generation": False,
    "expires_at": "2026-12-02T15:30:08.755333+00:00",
    "checked_at": "2026-12-02T14:30:10.639484+00:00",
    "revoked_at": "2026-12-02T14:30:10.631013+00:00",
}
NO_WATERMARK_KEY = (
    "service.no_watermark_key",
    "this deployment has no watermark key yet, so nothing can be resolved; run "
    "`cameoguard keys init`",
)


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
        app.state.thumbnails = Thumbnails(
            settings.data_dir / "moderation", Limits.from_settings(settings)
        )
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

    def answer(
        request: Request, status: int, error: CameoguardError, headers: dict[str, str] | None = None
    ) -> Response:
        """The JSON envelope for the API, an HTML page for the web pages."""
        if web.is_page(request.url.path):
            response = web.error_page(request, status, error)
        else:
            response = envelope(status, error.code, error.message)
        response.headers.update(headers or {})
        if isinstance(error, ApiError) and error.retry_after is not None:
            response.headers["Retry-After"] = str(max(1, round(error.retry_after)))
        if response.status_code == 401:  # RFC 9110: a 401 names the scheme to use
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.exception_handler(CameoguardError)
    async def _domain(request: Request, error: CameoguardError) -> Response:
        return answer(request, status_for(error), error)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> Response:
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        message = f"{where}: {first.get('msg', 'invalid request')}"
        return answer(request, 422, BadInputError(message, code="request.invalid"))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> Response:
        headers = dict(error.headers or {})
        message = str(error.detail)
        if error.status_code == 404:
            message = f"there is no {request.url.path} here; /docs lists the endpoints"
        elif error.status_code == 405:
            # RFC 9110: Allow lists every method of the path; Starlette names only the first
            # route that matched it (GET /v1/cameos and POST /v1/cameos are two routes).
            headers["Allow"] = ", ".join(
                method
                for method in ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")
                if any(
                    route.matches({**request.scope, "method": method})[0] is Match.FULL
                    for route in app.router.routes
                )
            )
            message = (
                f"{request.method} is not allowed on {request.url.path}; it takes "
                f"{headers['Allow']}"
            )
        problem = BadInputError(message, code=f"http.{error.status_code}")
        return answer(request, error.status_code, problem, headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> Response:
        log.error("unexpected %s while serving a request", type(error).__name__)
        problem = CameoguardError("the server failed; the error was logged", code="internal")
        return answer(request, 500, problem)

    from cameoguard.api.cameos import router as cameos
    from cameoguard.api.generations import router as generations
    from cameoguard.api.moderation import router as moderation

    app.include_router(cameos)
    app.include_router(generations)
    app.include_router(moderation)
    app.include_router(web.router)

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
        wanted = request.headers.get("x-request-id", "")
        request_id = wanted if REQUEST_ID.fullmatch(wanted) else secrets.token_hex(8)
        response = await call_next(request)
        elapsed = time.perf_counter() - started
        route = getattr(request.scope.get("route"), "path", "unmatched")
        requests_total.labels(request.method, route, str(response.status_code)).inc()
        seconds.labels(route).observe(elapsed)
        response.headers["X-Request-ID"] = request_id
        account = getattr(request.state, "account", None) or getattr(
            request.state, "page_account", None
        )
        access.info(
            "%s %s %d",
            request.method,
            route,
            response.status_code,
            extra={
                "fields": {
                    "request_id": request_id,
                    "method": request.method,
                    "route": route,
                    "status": response.status_code,
                    "ms": round(1000 * elapsed, 1),
                    "account": None if account is None else account.name,
                }
            },
        )
        return response

    @app.get("/metrics", tags=["service"], include_in_schema=False)
    async def prometheus() -> Response:
        """Prometheus text format: request counts and latencies by route, verdict counts (per
        worker process; no account names, no media data)."""
        return Response(generate_latest(metrics), media_type=CONTENT_TYPE_LATEST)

    @app.get(
        "/healthz",
        tags=["service"],
        summary="Liveness",
        responses=ok({"status": "ok", "version": __version__}),
    )
    async def healthz() -> dict[str, Any]:
        """Liveness: no key needed, no data returned."""
        return {"status": "ok", "version": __version__}

    @app.get(
        "/v1/me",
        tags=["accounts"],
        summary="The key's account",
        responses={
            **ok({"name": "acme", "role": "platform", "key_prefix": "cg_Jge6d"}),
            **errors(),
        },
    )
    async def me(account: Annotated[Account, Depends(ANY_ROLE)]) -> dict[str, Any]:
        """The account the key belongs to: its name, role (user, platform, moderator, admin)
        and the first 8 characters of the key (the key itself is never stored)."""
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

    @app.post(
        "/v1/verify",
        tags=["verify"],
        summary="Verify a file",
        responses={
            **ok(REPORT_EXAMPLE, description="The fused authenticity report."),
            202: {
                "description": "A job: the video is long, or a webhook was given. Poll "
                "`status_url` or wait for the webhook.",
                "content": {
                    "application/json": {
                        "example": {
                            "job_id": "j_55828afa678c",
                            "status": "queued",
                            "status_url": "/v1/jobs/j_55828afa678c",
                        }
                    }
                },
            },
            **errors(
                400,
                413,
                415,
                422,
                503,
                e503=(
                    "jobs.no_webhook_secret",
                    "webhooks need CAMEOGUARD_WEBHOOK_SECRET on this deployment",
                ),
            ),
        },
    )
    def verify(
        account: Annotated[Account, Depends(ANY_ROLE)],
        file: Annotated[UploadFile, File(description="an image, video or audio file")],
        webhook: Annotated[
            str | None,
            Form(
                max_length=2000,
                description="URL for the job's signed result (its host must be allowed by "
                "CAMEOGUARD_WEBHOOK_ALLOW_HOSTS)",
                examples=["https://hooks.example.com/cameoguard"],
            ),
        ] = None,
    ) -> Any:
        """The fused authenticity report of one uploaded file (C2PA, watermark and ledger,
        faces and consent, passive detector). A video longer than
        CAMEOGUARD_API_SYNC_VIDEO_SECONDS, or a request with a `webhook`, becomes a job: 202
        with its id. The webhook's host must be allowed by CAMEOGUARD_WEBHOOK_ALLOW_HOSTS."""

        if webhook is not None:
            if not webhook.startswith(("https://", "http://")):
                raise BadInputError("webhook must be an http(s) URL", code="jobs.bad_webhook")
            if not settings.webhook_secret:
                raise ConfigurationError(
                    "webhooks need CAMEOGUARD_WEBHOOK_SECRET on this deployment",
                    code="jobs.no_webhook_secret",
                )
            check_webhook_url(webhook, settings.webhook_allowed_hosts)
        with receive(file, settings.max_upload_bytes) as (path, _):
            if needs_job(app.state, path) or webhook is not None:  # probe (limits) always
                job = submit_job(app.state, account.name, path, file.filename, webhook)
                return JSONResponse(
                    {"job_id": job.id, "status": job.status, "status_url": f"/v1/jobs/{job.id}"},
                    status_code=202,
                )
            return verify_upload(app.state, path, account.name, file.filename)

    @app.get(
        "/v1/jobs/{job_id}",
        tags=["verify"],
        summary="A verification job",
        responses={
            **ok(JOB_EXAMPLE),
            **errors(404, e404=("jobs.not_found", "no job 'j_000000000000' of yours")),
        },
    )
    def job(job_id: str, account: Annotated[Account, Depends(ANY_ROLE)]) -> dict[str, Any]:
        """A verification job: queued, running, done (with the report) or failed (with the
        error's code and message). Only the job's account (and admins) can see it."""
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

    @app.post(
        "/v1/matches/byContent",
        tags=["soft binding resolution"],
        summary="Find a manifest by content",
        responses={
            **ok(
                {
                    "matches": [{"manifestId": "g_84bf6f0e0662", "similarityScore": 100}],
                    "resolution": {
                        "status": "matched",
                        "matched": True,
                        "method": "sha256",
                        "generation_id": "g_84bf6f0e0662",
                        "strength": 1.0,
                        "explanation": "the file is byte-identical to the published output",
                        "evidence": {
                            "sha256": "35f5fa87a0711d7fb41b40844df237e5"
                            "ef01cae1b32662c2023b524bc2d702c2"
                        },
                        "watermark": None,
                        "generation": GENERATION_ENTRY_EXAMPLE,
                    },
                }
            ),
            **errors(400, 413, 415, 422, 503, e503=NO_WATERMARK_KEY),
        },
    )
    def by_content(
        request: Request,
        account: Annotated[Account, Depends(ANY_ROLE)],
        file: Annotated[UploadFile, File(description="media that may have lost its manifest")],
    ) -> dict[str, Any]:
        """Find the manifest of stripped or re-encoded media by watermark and fingerprint (the
        C2PA Soft Binding Resolution API's `byContent`); `resolution` says how it matched."""
        found = resolver(request)
        with receive(file, settings.max_upload_bytes) as (path, _):
            return _matches(found.resolve(path))

    @app.post(
        "/v1/matches/byBinding",
        tags=["soft binding resolution"],
        summary="Find a manifest by soft binding",
        responses={
            **ok({"matches": [{"manifestId": "g_84bf6f0e0662", "similarityScore": 100}]}),
            **errors(
                400,
                422,
                503,
                e400=(
                    "matches.unknown_alg",
                    "alg 'com.other.v1' is not resolved here; this deployment resolves "
                    f"{SOFT_BINDING_ALG!r}",
                ),
                e503=NO_WATERMARK_KEY,
            ),
        },
    )
    def by_binding(
        request: Request,
        account: Annotated[Account, Depends(ANY_ROLE)],
        binding: Binding,
    ) -> dict[str, Any]:
        """The manifest a soft-binding value (this deployment's watermark payload, as written
        in the manifest's `c2pa.soft-binding` assertion) names; no match: an empty list."""
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

    @app.get(
        "/v1/manifests/{manifest_id}",
        tags=["soft binding resolution"],
        summary="A manifest store",
        response_class=Response,
        responses={
            200: {
                "description": "The C2PA manifest store (JUMBF bytes) as it was signed.",
                "content": {"application/c2pa": {"schema": {"type": "string", "format": "binary"}}},
            },
            **errors(
                400,
                404,
                503,
                e400=(
                    "input.bad",
                    "'0' is not a generation id; expected 'g_' followed by 12 hex digits, for "
                    "example g_0123456789ab",
                ),
                e404=("manifests.not_found", "no manifest with id 'g_000000000001'"),
                e503=NO_WATERMARK_KEY,
            ),
        },
    )
    def manifest(
        request: Request, manifest_id: str, account: Annotated[Account, Depends(ANY_ROLE)]
    ) -> Response:
        """The C2PA manifest store recorded for a generation (``application/c2pa``)."""
        entry = resolver(request).ledger.get(manifest_id)
        if entry is None:
            raise NotFoundError(f"no manifest with id {manifest_id!r}", code="manifests.not_found")
        return Response(bytes(entry.manifest_store), media_type="application/c2pa")

    @app.get(
        "/v1/consent/grants/{grant_id}",
        tags=["consent"],
        summary="A consent grant's status",
        responses={
            **ok(GRANT_EXAMPLE),
            **errors(404, e404=("consent.unknown_grant", "no consent grant with id 'gr_unknown'")),
        },
    )
    def grant_status(
        request: Request, grant_id: str, account: Annotated[Account, Depends(ANY_ROLE)]
    ) -> dict[str, Any]:
        """Whether a consent grant written into a manifest still stands (like OCSP for a
        certificate): ``active``, ``revoked`` (with when) or ``deleted``."""
        registry = request.app.state.verifier.registry
        status: dict[str, Any] = registry.grant_status(grant_id).to_dict()
        return status

    def openapi() -> dict[str, Any]:
        """FastAPI's document, with its default 422 (a shape this app never answers: the
        handler above answers the error envelope) replaced by the envelope."""
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            (invalid,) = errors(422)[422]["content"].values()
            for operations in spec.get("paths", {}).values():
                for operation in operations.values():
                    answer = operation.get("responses", {}).get("422", {})
                    if "HTTPValidationError" in str(answer):
                        answer["description"] = ERRORS[422][0]
                        answer["content"] = {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/ErrorEnvelope"},
                                **invalid,
                            }
                        }
            schemas = spec.get("components", {}).get("schemas", {})
            for unused in ("HTTPValidationError", "ValidationError"):
                schemas.pop(unused, None)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def app_factory() -> FastAPI:
    """For ``uvicorn --factory``: the app with settings from the environment."""
    return create_app()
