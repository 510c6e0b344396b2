"""``/v1/cameos``: owners enroll, permit, restrict, revoke and delete their own likeness.

Thin over :class:`~cameoguard.consent.registry.CameoRegistry`: the account of the key is the
owner (an ``admin`` acts for anyone, recorded as such in the audit log). A cameo that is not
the caller's answers 404, the same as one that does not exist, so ids cannot be probed.
Enrollment photos are written to a private temporary folder, embedded, and deleted with it;
nothing biometric is logged or returned.
"""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from pydantic import BaseModel, Field

from cameoguard.accounts import Account, Role
from cameoguard.api.deps import actor_of, receive, require
from cameoguard.consent.models import CameoStatus
from cameoguard.consent.registry import CameoRegistry
from cameoguard.errors import BadInputError, NotFoundError

__all__ = ["router"]

router = APIRouter(prefix="/v1/cameos", tags=["cameos"])


OWNER = require(Role.USER)


class Permissions(BaseModel):
    tier: str | None = Field(default=None, examples=["approved"])
    approve: list[str] = Field(default_factory=list, examples=[["bob"]])
    unapprove: list[str] = Field(default_factory=list)


class Restrictions(BaseModel):
    forbid: list[str] = Field(default_factory=list, examples=[["topic:politics", "beer"]])
    allow: list[str] = Field(default_factory=list)


class Revocation(BaseModel):
    reason: str | None = Field(default=None, max_length=500)


def _registry(request: Request) -> CameoRegistry:
    registry: CameoRegistry = request.app.state.verifier.registry
    return registry


def _owned(request: Request, cameo_id: str, account: Account) -> CameoRegistry:
    """The registry, once ``cameo_id`` is shown to be the caller's (else 404, as for none)."""
    registry = _registry(request)
    try:
        cameo = registry.get(cameo_id)
    except (NotFoundError, BadInputError):
        cameo = None
    if (
        cameo is None
        or cameo.status is CameoStatus.DELETED
        or (cameo.owner != account.name and account.role is not Role.ADMIN)
    ):
        raise NotFoundError(f"no cameo {cameo_id!r} of yours", code="cameos.not_found")
    return registry


@router.post("", status_code=201)
def enroll(
    request: Request,
    account: Annotated[Account, Depends(OWNER)],
    name: Annotated[str, Form(max_length=128, description="the name shown for this cameo")],
    photos: Annotated[list[UploadFile], File(description="3 or more photos of one face")],
) -> dict[str, Any]:
    """Enroll the caller's likeness from photos (liveness from video is the CLI's for now)."""

    limit = request.app.state.settings.max_upload_bytes
    with contextlib.ExitStack() as stack:
        paths = [stack.enter_context(receive(photo, limit))[0] for photo in photos]
        result = _registry(request).enroll_photos(
            account.name, name, paths, actor=actor_of(account)
        )
    return result.to_dict()


@router.get("")
def mine(request: Request, account: Annotated[Account, Depends(OWNER)]) -> dict[str, Any]:
    """The caller's cameos (deleted ones left out)."""
    cameos = _registry(request).list_cameos(owner=account.name)
    return {"cameos": [c.to_dict() for c in cameos]}


@router.get("/{cameo_id}")
def one(
    request: Request, cameo_id: str, account: Annotated[Account, Depends(OWNER)]
) -> dict[str, Any]:
    registry = _owned(request, cameo_id, account)
    out = registry.get(cameo_id).to_dict()
    out["generations"] = list(registry.generations(cameo_id))
    return out


@router.put("/{cameo_id}/permissions")
def permit(
    request: Request, cameo_id: str, body: Permissions, account: Annotated[Account, Depends(OWNER)]
) -> dict[str, Any]:
    """Tier (only_me / approved / everyone) and the approved accounts."""

    registry = _owned(request, cameo_id, account)
    cameo = registry.set_permissions(
        cameo_id,
        tier=body.tier,
        approve=body.approve,
        unapprove=body.unapprove,
        actor=actor_of(account),
    )
    return cameo.to_dict()


@router.put("/{cameo_id}/restrictions")
def restrict(
    request: Request,
    cameo_id: str,
    body: Restrictions,
    account: Annotated[Account, Depends(OWNER)],
) -> dict[str, Any]:
    """Forbidden terms or ``topic:NAME`` restrictions for prompts using this cameo."""

    registry = _owned(request, cameo_id, account)
    cameo = registry.restrict(
        cameo_id, forbid=body.forbid, allow=body.allow, actor=actor_of(account)
    )
    return cameo.to_dict()


@router.post("/{cameo_id}/revoke")
def revoke(
    request: Request, cameo_id: str, body: Revocation, account: Annotated[Account, Depends(OWNER)]
) -> dict[str, Any]:
    """Revoke consent now: every later authorization is refused; lists what used it."""

    registry = _owned(request, cameo_id, account)
    result = registry.revoke(cameo_id, actor=actor_of(account), reason=body.reason)
    resolver = request.app.state.verifier.resolver
    entries = [] if resolver is None else [resolver.ledger.get(g) for g in result.generations]
    queued = request.app.state.moderation.enqueue_generations(
        cameo_id, [e for e in entries if e is not None], actor=account.name
    )
    out = result.to_dict()
    out["moderation"] = [{"item_id": i.id, "generation_id": i.generation_id} for i in queued]
    return out


@router.delete("/{cameo_id}")
def delete(
    request: Request, cameo_id: str, account: Annotated[Account, Depends(OWNER)]
) -> dict[str, Any]:
    """Delete the cameo: its embeddings and face crops are erased."""

    registry = _owned(request, cameo_id, account)
    result = registry.delete(cameo_id, actor=actor_of(account))
    return result.to_dict()
