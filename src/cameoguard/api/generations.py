"""``/v1/generations``: create through the safe pipeline, list, get, download, publish, delete.

Thin over :class:`~cameoguard.generator_adapter.pipeline.GenerationPipeline` and its library:
a generation is made only by the fail-closed pipeline (consent, face scan, watermark, C2PA,
self-verification, ledger), so the only media there is to download is signed and marked. Each
account sees what it requested and every generation that contains one of its cameos (the
owner's view); another id answers 404. Owners may delete anything with their cameo.

A deployment without signing keys still serves verification: these endpoints then answer 503
with what to configure. Generation runs in the request for now (a job queue comes with the
long-video verify jobs).
"""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from cameoguard.accounts import Account, Role
from cameoguard.api.deps import actor_of, receive, require
from cameoguard.errors import BadInputError, ConfigurationError

__all__ = ["router"]

router = APIRouter(prefix="/v1/generations", tags=["generations"])


USER = require(Role.USER)


class Deletion(BaseModel):
    reason: str | None = Field(default=None, max_length=500)


def _pipeline(request: Request) -> Any:
    pipeline = request.app.state.pipeline
    if pipeline is None:
        raise ConfigurationError(
            f"generation is not available on this deployment: {request.app.state.pipeline_problem}",
            code="service.generation_unavailable",
        )
    return pipeline


@router.post("", status_code=201)
def create(
    request: Request,
    account: Annotated[Account, Depends(USER)],
    prompt: Annotated[str, Form(max_length=20_000)],
    cameo: Annotated[list[str], Form(description="cameo ids to render (repeatable)")],
    backend: Annotated[str, Form()] = "cameo_composite",
    target: Annotated[
        UploadFile | None, File(description="picture or video to render into")
    ] = None,
    parent: Annotated[UploadFile | None, File(description="a cameoguard output to remix")] = None,
) -> dict[str, Any]:
    """Generate through every stage of the pipeline; the result is a draft."""
    from cameoguard.generator_adapter.pipeline import GenerationRequest

    pipeline = _pipeline(request)
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
    out: dict[str, Any] = result.generation.to_dict()
    out["timings"] = result.timings
    out["watermark_tracks"] = list(result.watermark_tracks)
    out["watermark_skipped"] = list(result.watermark_skipped)
    return out


@router.get("")
def visible(request: Request, account: Annotated[Account, Depends(USER)]) -> dict[str, Any]:
    """What the caller requested and every generation containing one of the caller's cameos."""

    library = _pipeline(request).library
    return {"generations": [g.to_dict() for g in library.visible(actor_of(account))]}


@router.get("/{generation_id}")
def one(
    request: Request, generation_id: str, account: Annotated[Account, Depends(USER)]
) -> dict[str, Any]:

    generation = _pipeline(request).library.get(generation_id, actor_of(account))
    out: dict[str, Any] = generation.to_dict()
    return out


@router.get("/{generation_id}/download", response_class=FileResponse)
def download(
    request: Request, generation_id: str, account: Annotated[Account, Depends(USER)]
) -> FileResponse:
    """The signed, watermarked file (there is no other)."""

    generation = _pipeline(request).library.get(generation_id, actor_of(account))
    if generation.path is None or not generation.path.is_file():
        raise BadInputError(
            f"generation {generation.id} was deleted; nothing to download",
            code="generations.deleted",
        )
    return FileResponse(
        generation.path,
        media_type=generation.mime,
        filename=f"{generation.id}{generation.path.suffix}",
    )


@router.post("/{generation_id}/publish")
def publish(
    request: Request, generation_id: str, account: Annotated[Account, Depends(USER)]
) -> dict[str, Any]:
    """Publish a draft (its requester only), if every cameo's consent still stands."""

    pipeline = _pipeline(request)
    actor = actor_of(account)
    draft = pipeline.library.get(generation_id, actor)
    standing = [
        g for g in draft.consent_grant_ids if pipeline.registry.grant_status(g).state == "active"
    ]
    out: dict[str, Any] = pipeline.library.publish(generation_id, actor, standing).to_dict()
    return out


@router.delete("/{generation_id}")
def delete(
    request: Request,
    generation_id: str,
    account: Annotated[Account, Depends(USER)],
    reason: str | None = None,
) -> dict[str, Any]:
    """Delete a draft or output: its requester, or the owner of any cameo in it."""

    library = _pipeline(request).library
    out: dict[str, Any] = library.delete(generation_id, actor_of(account), reason).to_dict()
    return out


class Flag(BaseModel):
    reason: str = Field(max_length=2000, examples=["this uses my face in a way I did not allow"])


@router.post("/{generation_id}/flag", status_code=201)
def flag(
    request: Request, generation_id: str, body: Flag, account: Annotated[Account, Depends(USER)]
) -> dict[str, Any]:
    """Send a generation the caller may see (one with the caller's cameo) to moderation."""

    generation = _pipeline(request).library.get(generation_id, actor_of(account))
    item = request.app.state.moderation.add(
        "owner_flag",
        body.reason,
        source="owner_flag",
        key=f"{generation.id}:flag:{account.name}",
        actor=account.name,
        sha256=generation.sha256,
        generation_id=generation.id,
    )
    return {"item_id": item.id, "status": item.status}
