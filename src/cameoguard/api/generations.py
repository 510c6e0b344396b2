"""``/v1/generations``: create through the safe pipeline, list, get, download, publish, delete.

Thin over :class:`~cameoguard.generator_adapter.pipeline.GenerationPipeline` and its library:
a generation is made only by the fail-closed pipeline (consent, face scan, watermark, C2PA,
self-verification, ledger), so the only media there is to download is signed and marked. Each
account sees what it requested and every generation that contains one of its cameos (the
owner's view); another id answers 404. Owners may delete anything with their cameo. A
remix takes the stored signed file of a generation the caller may see as its parent: the
pipeline checks it resolves to a live generation of this deployment and that every cameo in
it (and every cameo asked for) still consents, so a revoked cameo's output cannot be remixed.

A deployment without signing keys still serves verification: these endpoints then answer 503
with what to configure. Generation runs in the request for now (a job queue comes with the
long-video verify jobs).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from cameoguard.accounts import Account, Role
from cameoguard.api import actions
from cameoguard.api.deps import actor_of, errors, named, ok, receive, require
from cameoguard.errors import BadInputError, ConfigurationError

__all__ = ["router"]

router = APIRouter(prefix="/v1/generations", tags=["generations"])


USER = require(Role.USER)

# Examples for the OpenAPI document: real answers of this service (ids and times from a run).
GENERATION_EXAMPLE: dict[str, Any] = {
    "id": "g_84bf6f0e0662",
    "requester": "acct-user",
    "status": "draft",
    "backend": "cameo_composite",
    "media_kind": "image",
    "mime": "image/png",
    "prompt": "a portrait",
    "parent_id": None,
    "cameo_ids": ["c_fb0df0662bf6"],
    "consent_grant_ids": ["gr_132b7bfa82aab62892983d07"],
    "sha256": "35f5fa87a0711d7fb41b40844df237e5ef01cae1b32662c2023b524bc2d702c2",
    "details": {
        "backend": {
            "frames": 1,
            "frames_swapped": 1,
            "frames_without_face": 0,
            "faces_per_frame_max": 1,
            "detections": 1,
            "ms_per_frame": {"detect": 95.2, "landmarks": 5.8, "swap": 5.1},
            "audio": False,
            "blend": "alpha",
            "smoothing": 0.5,
            "keep_shape": 0.8,
            "cameos": 1,
        },
        "model": "cameo_composite",
        "face_scan": {
            "frames_sampled": 1,
            "faces": 1,
            "authorized": 1,
            "unmatched": 0,
            "violations": 0,
            "cameos_seen": {"c_fb0df0662bf6": 1},
        },
        "remix_of": None,
    },
    "created_at": "2026-12-02T14:30:10.033099+00:00",
    "published_at": None,
    "deleted_at": None,
    "deleted_by": None,
    "delete_reason": None,
}
MADE_EXAMPLE: dict[str, Any] = {
    **GENERATION_EXAMPLE,
    "timings": {
        "validate": 0.0256,
        "authorize": 0.0082,
        "generate": 0.7528,
        "scan": 0.2623,
        "watermark": 0.0949,
        "fingerprint": 0.0603,
        "sign": 0.0592,
        "self_verify": 0.0401,
        "ledger": 0.0052,
        "publish": 0.0013,
    },
    "watermark_tracks": ["image"],
    "watermark_skipped": [],
}
REMIX_EXAMPLE: dict[str, Any] = {
    **MADE_EXAMPLE,
    "id": "g_952b68254c23",
    "prompt": "the same portrait, warmer light",
    "parent_id": "g_84bf6f0e0662",
    "consent_grant_ids": ["gr_c75870498dced31001fe2e5f"],
    "sha256": "b0fbfc411f1236ed2903749dfe42a72e4e876d720b90345ec909a39ca9a16ac9",
    "details": {**GENERATION_EXAMPLE["details"], "remix_of": "g_84bf6f0e0662"},
    "created_at": "2026-12-02T14:49:20.178318+00:00",
}
NOT_USER = ("auth.forbidden", "role platform may not do this; it needs user")
NOT_SEEN = ("generation.not_found", "no generation g_000000000001 that acct-user may see")
REVOKED = (
    "consent.revoked",
    "consent refused, nothing was generated: the owner of cameo c_fb0df0662bf6 revoked consent "
    "on 2026-12-02",
)
UNAVAILABLE = (
    "service.generation_unavailable",
    "generation is not available on this deployment: signing certificate chain not found at "
    "/var/lib/cameoguard/keys/signer-chain.pem; run `cameoguard keys init` for development "
    "keys, or set CAMEOGUARD_SIGNING_CERT and CAMEOGUARD_SIGNING_KEY",
)


class Deletion(BaseModel):
    reason: str | None = Field(default=None, max_length=500, examples=["not for sharing"])


def _public(generation: Any) -> dict[str, Any]:
    """A generation as the API shows it: without the server's file path (download it)."""
    out: dict[str, Any] = generation.to_dict()
    out.pop("path", None)
    return out


def _stored_file(generation: Any) -> Path:
    """The generation's signed file (400 ``generations.deleted`` when it was deleted)."""
    path: Path | None = generation.path
    if path is None or not path.is_file():
        raise BadInputError(
            f"generation {generation.id} was deleted; its file is gone",
            code="generations.deleted",
        )
    return path


def _pipeline(request: Request) -> Any:
    return actions.pipeline_of(request.app.state)


def _backend(pipeline: Any, name: str) -> Any:
    """The backend called ``name``; a name this deployment does not know is the caller's
    mistake (400), while a known backend that is not set up stays a 503 (configuration)."""
    try:
        return pipeline.backend(name)
    except ConfigurationError as error:
        if error.code != "generation.backend_unknown":
            raise
        raise BadInputError(error.message, code=error.code) from None


def _made(result: Any) -> dict[str, Any]:
    out = _public(result.generation)
    out["timings"] = result.timings
    out["watermark_tracks"] = list(result.watermark_tracks)
    out["watermark_skipped"] = list(result.watermark_skipped)
    return out


@router.post(
    "",
    status_code=201,
    summary="Generate",
    responses={
        **ok(MADE_EXAMPLE, status=201, description="The signed, watermarked draft."),
        **errors(
            400,
            403,
            413,
            415,
            422,
            503,
            e400=(
                "generation.target_missing",
                "cameo_composite renders into a target: upload one as 'target'",
            ),
            e403=REVOKED,
            e503=UNAVAILABLE,
        ),
    },
)
def create(
    request: Request,
    account: Annotated[Account, Depends(USER)],
    prompt: Annotated[str, Form(max_length=20_000, examples=["a portrait"])],
    cameo: Annotated[
        list[str],
        Form(description="cameo ids to render (repeatable)", examples=[["c_fb0df0662bf6"]]),
    ],
    backend: Annotated[
        str, Form(description="the generator backend", examples=["cameo_composite"])
    ] = "cameo_composite",
    target: Annotated[
        UploadFile | None, File(description="picture or video to render into")
    ] = None,
    parent: Annotated[UploadFile | None, File(description="a cameoguard output to remix")] = None,
) -> dict[str, Any]:
    """Generate through every stage of the fail-closed pipeline (consent for every cameo,
    the generator backend, a face scan of the output, watermark, C2PA signature, a check of
    the signed file, the ledger); the result is a draft that only the requester and the
    cameos' owners see until it is published. Any refusal leaves nothing behind."""
    from cameoguard.generator_adapter.pipeline import GenerationRequest

    pipeline = _pipeline(request)
    _backend(pipeline, backend)
    limit = request.app.state.settings.max_upload_bytes
    with contextlib.ExitStack() as stack:
        target_path = None if target is None else stack.enter_context(receive(target, limit))[0]
        parent_path = None if parent is None else stack.enter_context(receive(parent, limit))[0]
        if target_path is None and parent_path is None and backend == "cameo_composite":
            raise BadInputError(
                "cameo_composite renders into a target: upload one as 'target'",
                code="generation.target_missing",
            )
        result = pipeline.generate(
            GenerationRequest(
                account.name, backend, prompt, tuple(cameo), target=target_path, parent=parent_path
            )
        )
    return _made(result)


@router.post(
    "/{generation_id}/remix",
    status_code=201,
    summary="Remix a generation",
    responses={
        **ok(REMIX_EXAMPLE, status=201, description="The remix: a new signed draft."),
        **errors(400, 403, 404, 413, 415, 422, 503, e403=REVOKED, e404=NOT_SEEN, e503=UNAVAILABLE),
    },
)
def remix(
    request: Request,
    generation_id: str,
    account: Annotated[Account, Depends(USER)],
    prompt: Annotated[str, Form(max_length=20_000, examples=["the same portrait, warmer light"])],
    cameo: Annotated[
        list[str] | None,
        Form(
            description="cameo ids to render (repeatable); default: the parent's cameos",
            examples=[["c_fb0df0662bf6"]],
        ),
    ] = None,
    backend: Annotated[
        str, Form(description="the generator backend", examples=["cameo_composite"])
    ] = "cameo_composite",
    target: Annotated[
        UploadFile | None,
        File(description="picture or video to render into; default: the parent itself"),
    ] = None,
) -> dict[str, Any]:
    """A new generation made from a generation the caller may see (their own, one with their
    cameo, or a published one): its stored signed file is the parent, recorded as the
    remix's C2PA ingredient and `parent_id`. Every cameo in the parent, and every cameo asked
    for, must still consent: a parent whose cameo was revoked, or that was taken down, is
    refused (403). A backend that renders cameos renders the parent's when none are given."""
    from cameoguard.generator_adapter.pipeline import GenerationRequest

    pipeline = _pipeline(request)
    renders_cameos = _backend(pipeline, backend).needs_cameo
    actor = actor_of(account)
    parent = pipeline.library.get(generation_id, actor)
    cameos = tuple(cameo or ())
    if not cameos and renders_cameos:
        cameos = parent.cameo_ids
    limit = request.app.state.settings.max_upload_bytes
    with contextlib.ExitStack() as stack:
        parent_path = _stored_file(parent)  # read in place
        stack.enter_context(named(parent_path, parent.id))  # errors name the id, not the path
        target_path = None if target is None else stack.enter_context(receive(target, limit))[0]
        result = pipeline.generate(
            GenerationRequest(
                account.name, backend, prompt, cameos, target=target_path, parent=parent_path
            )
        )
    return _made(result)


@router.get(
    "",
    summary="My generations",
    responses={
        **ok({"generations": [GENERATION_EXAMPLE]}),
        **errors(403, 503, e403=NOT_USER, e503=UNAVAILABLE),
    },
)
def visible(request: Request, account: Annotated[Account, Depends(USER)]) -> dict[str, Any]:
    """What the caller requested and every generation containing one of the caller's cameos,
    newest first (up to 200)."""

    library = _pipeline(request).library
    return {"generations": [_public(g) for g in library.visible(actor_of(account))]}


@router.get(
    "/{generation_id}",
    summary="One generation",
    responses={
        **ok(GENERATION_EXAMPLE),
        **errors(400, 403, 404, 503, e403=NOT_USER, e404=NOT_SEEN, e503=UNAVAILABLE),
    },
)
def one(
    request: Request, generation_id: str, account: Annotated[Account, Depends(USER)]
) -> dict[str, Any]:
    """A generation the caller requested, that contains one of the caller's cameos, or that
    was published; any other id answers 404."""

    generation = _pipeline(request).library.get(generation_id, actor_of(account))
    out = _public(generation)
    return out


@router.get(
    "/{generation_id}/download",
    response_class=FileResponse,
    summary="Download the signed file",
    responses={
        200: {
            "description": "The signed, watermarked file, with its C2PA manifest embedded.",
            "content": {
                media: {"schema": {"type": "string", "format": "binary"}}
                for media in ("image/png", "image/jpeg", "image/webp", "video/mp4")
            },
        },
        **errors(
            400,
            403,
            404,
            503,
            e400=(
                "generations.deleted",
                "generation g_84bf6f0e0662 was deleted; its file is gone",
            ),
            e403=NOT_USER,
            e404=NOT_SEEN,
            e503=UNAVAILABLE,
        ),
    },
)
def download(
    request: Request, generation_id: str, account: Annotated[Account, Depends(USER)]
) -> FileResponse:
    """The signed, watermarked file (there is no other: no unmarked copy is ever kept)."""

    generation = _pipeline(request).library.get(generation_id, actor_of(account))
    path = _stored_file(generation)
    return FileResponse(path, media_type=generation.mime, filename=f"{generation.id}{path.suffix}")


@router.post(
    "/{generation_id}/publish",
    summary="Publish a draft",
    responses={
        **ok(
            {
                **GENERATION_EXAMPLE,
                "status": "published",
                "published_at": "2026-12-02T14:30:10.617626+00:00",
            }
        ),
        **errors(400, 403, 404, 503, e403=REVOKED, e404=NOT_SEEN, e503=UNAVAILABLE),
    },
)
def publish(
    request: Request, generation_id: str, account: Annotated[Account, Depends(USER)]
) -> dict[str, Any]:
    """Publish a draft (its requester only), if every cameo's consent still stands; a
    published generation is visible to every account."""

    pipeline = _pipeline(request)
    actor = actor_of(account)
    draft = pipeline.library.get(generation_id, actor)
    standing = [
        g for g in draft.consent_grant_ids if pipeline.registry.grant_status(g).state == "active"
    ]
    out = _public(pipeline.library.publish(generation_id, actor, standing))
    return out


@router.delete(
    "/{generation_id}",
    summary="Delete a generation",
    responses={
        **ok(
            {
                **GENERATION_EXAMPLE,
                "status": "deleted",
                "prompt": None,
                "published_at": "2026-12-02T14:30:10.617626+00:00",
                "deleted_at": "2026-12-02T14:30:10.659108+00:00",
                "deleted_by": "acct-user",
                "delete_reason": "deleted by requester acct-user",
            }
        ),
        **errors(400, 403, 404, 422, 503, e403=NOT_USER, e404=NOT_SEEN, e503=UNAVAILABLE),
    },
)
def delete(
    request: Request,
    generation_id: str,
    account: Annotated[Account, Depends(USER)],
    reason: Annotated[
        str | None,
        Query(max_length=500, description="why (kept with the deletion)", examples=["mistake"]),
    ] = None,
) -> dict[str, Any]:
    """Delete a draft or output (its requester, or the owner of any cameo in it): the file
    is erased and the prompt forgotten; the ledger keeps that it existed."""

    library = _pipeline(request).library
    out = _public(library.delete(generation_id, actor_of(account), reason))
    return out


class Flag(BaseModel):
    reason: str = Field(max_length=2000, examples=["this uses my face in a way I did not allow"])


@router.post(
    "/{generation_id}/flag",
    status_code=201,
    summary="Flag a generation for moderation",
    responses={
        **ok({"item_id": "m_933b295c4b1e", "status": "open"}, status=201),
        **errors(400, 403, 404, 422, 503, e403=NOT_USER, e404=NOT_SEEN, e503=UNAVAILABLE),
    },
)
def flag(
    request: Request, generation_id: str, body: Flag, account: Annotated[Account, Depends(USER)]
) -> dict[str, Any]:
    """Send a generation the caller may see (one with the caller's cameo) to moderation with
    a reason; while that item is open, flagging again answers the same item."""

    item = actions.flag_generation(request.app.state, generation_id, account, body.reason)
    return {"item_id": item.id, "status": item.status}
