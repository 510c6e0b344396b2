"""``/v1/cameos``: owners enroll, permit, restrict, revoke and delete their own likeness.

Thin over :class:`~cameoguard.consent.registry.CameoRegistry`: the account of the key is the
owner (an ``admin`` acts for anyone, recorded as such in the audit log). A cameo that is not
the caller's answers 404, the same as one that does not exist, so ids cannot be probed.
Enrollment photos, or an enrollment video (liveness checked: the head turns, the face is
alone, the clip is not a still or a loop), are written to a private temporary folder,
embedded, and deleted with it; nothing biometric is logged or returned.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from pydantic import BaseModel, Field

from cameoguard.accounts import Account, Role
from cameoguard.api import actions
from cameoguard.api.deps import actor_of, errors, ok, require
from cameoguard.consent.registry import CameoRegistry

__all__ = ["router"]

router = APIRouter(prefix="/v1/cameos", tags=["cameos"])


OWNER = require(Role.USER)

# Examples for the OpenAPI document: real answers of this service (ids and times from a run).
CAMEO_EXAMPLE: dict[str, Any] = {
    "id": "c_ca9a1c194c5c",
    "name": "Barack",
    "owner": "acct-user",
    "status": "active",
    "tier": "only_me",
    "is_minor": False,
    "approved": [],
    "guardians": [],
    "restrictions": [],
    "embedder": "dlib_resnet",
    "sample_count": 3,
    "source": "photos",
    "quality": {
        "yaw_span_deg": 34.5,
        "min_face_px": 281.0,
        "min_sharpness": 360.8,
        "liveness": None,
    },
    "created_at": "2026-12-02T14:30:08.685593+00:00",
    "updated_at": "2026-12-02T14:30:08.685593+00:00",
    "revoked_at": None,
    "revocation_reason": None,
    "deleted_at": None,
}
LIVENESS_EXAMPLE: dict[str, Any] = {
    "passed": True,
    "frames_sampled": 24,
    "frames_with_one_face": 24,
    "yaw_span_deg": 58.8,
    "median_change": 11.24,
    "loop_s": None,
}
VIDEO_CAMEO_EXAMPLE: dict[str, Any] = {
    **CAMEO_EXAMPLE,
    "id": "c_022285603414",
    "name": "News anchor",
    "sample_count": 6,
    "source": "video",
    "quality": {
        "yaw_span_deg": 47.0,
        "min_face_px": 125.7,
        "min_sharpness": 132.3,
        "liveness": LIVENESS_EXAMPLE,
    },
    "created_at": "2026-12-02T14:49:35.140364+00:00",
    "updated_at": "2026-12-02T14:49:35.140364+00:00",
    "liveness": LIVENESS_EXAMPLE,
}
NOT_YOURS = ("cameos.not_found", "no cameo 'c_000000000000' of yours")
NOT_USER = ("auth.forbidden", "role platform may not do this; it needs user")


class Permissions(BaseModel):
    tier: str | None = Field(default=None, examples=["approved"])
    approve: list[str] = Field(default_factory=list, examples=[["bob"]])
    unapprove: list[str] = Field(default_factory=list, examples=[["carol"]])


class Restrictions(BaseModel):
    forbid: list[str] = Field(default_factory=list, examples=[["topic:politics", "beer"]])
    allow: list[str] = Field(default_factory=list, examples=[["beer"]])


class Revocation(BaseModel):
    reason: str | None = Field(default=None, max_length=500, examples=["changed my mind"])


def _registry(request: Request) -> CameoRegistry:
    registry: CameoRegistry = request.app.state.verifier.registry
    return registry


def _owned(request: Request, cameo_id: str, account: Account) -> CameoRegistry:
    """The registry, once ``cameo_id`` is shown to be the caller's (else 404, as for none)."""
    return actions.owned(request.app.state, cameo_id, account)


@router.post(
    "",
    status_code=201,
    summary="Enroll from photos or a video",
    responses={
        201: {
            "description": "The new cameo (with the liveness report when it came from a video).",
            "content": {
                "application/json": {
                    "examples": {
                        "photos": {
                            "summary": "from three photos",
                            "value": {**CAMEO_EXAMPLE, "liveness": None},
                        },
                        "video": {
                            "summary": "from a head-turn video, liveness passed",
                            "value": VIDEO_CAMEO_EXAMPLE,
                        },
                    }
                }
            },
        },
        **errors(
            400,
            403,
            413,
            415,
            422,
            e400=(
                "enroll.not_video",
                "face.jpg is image/jpeg, not a video; record a short video of your face",
            ),
            e403=NOT_USER,
        ),
    },
)
def enroll(
    request: Request,
    account: Annotated[Account, Depends(OWNER)],
    name: Annotated[
        str, Form(max_length=128, description="the name shown for this cameo", examples=["Barack"])
    ],
    photos: Annotated[
        list[UploadFile] | None, File(description="3 to 20 photos of one face (or a video)")
    ] = None,
    video: Annotated[
        UploadFile | None,
        File(
            description="instead of photos: a 2 to 30 s video of one face turning slowly "
            "left and right"
        ),
    ] = None,
) -> dict[str, Any]:
    """Enroll the caller's likeness from 3 to 20 photos of one face (from slightly different
    angles), or from a short `video` with a liveness check, as `cameoguard cameo enroll
    --video` does: one face in at least 80 % of the sampled frames, the head turning through
    40 degrees or more, no still picture and no replayed loop; the answer then carries the
    liveness report, and a refusal says which check failed. A face that is already enrolled
    (by anyone) or protected is refused."""

    result = actions.enroll(request.app.state, account, name, photos or [], video)
    out: dict[str, Any] = result.to_dict()
    return out


@router.get(
    "",
    summary="My cameos",
    responses={**ok({"cameos": [CAMEO_EXAMPLE]}), **errors(403, e403=NOT_USER)},
)
def mine(request: Request, account: Annotated[Account, Depends(OWNER)]) -> dict[str, Any]:
    """The caller's cameos, oldest first (deleted ones left out)."""
    cameos = _registry(request).list_cameos(owner=account.name)
    return {"cameos": [c.to_dict() for c in cameos]}


@router.get(
    "/{cameo_id}",
    summary="One of my cameos",
    responses={
        **ok({**CAMEO_EXAMPLE, "generations": ["g_84bf6f0e0662"]}),
        **errors(403, 404, e403=NOT_USER, e404=NOT_YOURS),
    },
)
def one(
    request: Request, cameo_id: str, account: Annotated[Account, Depends(OWNER)]
) -> dict[str, Any]:
    """One of the caller's cameos, with the ids of the generations that contain it."""
    registry = _owned(request, cameo_id, account)
    out = registry.get(cameo_id).to_dict()
    out["generations"] = list(registry.generations(cameo_id))
    return out


@router.put(
    "/{cameo_id}/permissions",
    summary="Who may use my cameo",
    responses={
        **ok({**CAMEO_EXAMPLE, "tier": "approved", "approved": ["bob"]}),
        **errors(
            400,
            403,
            404,
            422,
            e400=(
                "consent.unknown_tier",
                "unknown tier 'nobody'; use one of only_me, approved, everyone",
            ),
            e403=NOT_USER,
            e404=NOT_YOURS,
        ),
    },
)
def permit(
    request: Request, cameo_id: str, body: Permissions, account: Annotated[Account, Depends(OWNER)]
) -> dict[str, Any]:
    """The permission tier (`only_me`, `approved`: the listed accounts, `everyone`) and the
    accounts to approve or unapprove. A minor's cameo can never be `everyone`."""

    registry = _owned(request, cameo_id, account)
    cameo = registry.set_permissions(
        cameo_id,
        tier=body.tier,
        approve=body.approve,
        unapprove=body.unapprove,
        actor=actor_of(account),
    )
    return cameo.to_dict()


@router.put(
    "/{cameo_id}/restrictions",
    summary="What my cameo may not be used for",
    responses={
        **ok({**CAMEO_EXAMPLE, "restrictions": ["topic:politics"]}),
        **errors(400, 403, 404, 422, e403=NOT_USER, e404=NOT_YOURS),
    },
)
def restrict(
    request: Request,
    cameo_id: str,
    body: Restrictions,
    account: Annotated[Account, Depends(OWNER)],
) -> dict[str, Any]:
    """Forbidden terms, or `topic:NAME` restrictions, for prompts that use this cameo (added
    with `forbid`, removed with `allow`); a prompt that hits one is refused."""

    registry = _owned(request, cameo_id, account)
    cameo = registry.restrict(
        cameo_id, forbid=body.forbid, allow=body.allow, actor=actor_of(account)
    )
    return cameo.to_dict()


@router.post(
    "/{cameo_id}/revoke",
    summary="Revoke consent",
    responses={
        **ok(
            {
                **CAMEO_EXAMPLE,
                "status": "revoked",
                "updated_at": "2026-12-02T14:30:10.631013+00:00",
                "revoked_at": "2026-12-02T14:30:10.631013+00:00",
                "revocation_reason": "changed my mind",
                "generations": ["g_84bf6f0e0662"],
                "already_revoked": False,
                "moderation": [{"item_id": "m_2984f26218aa", "generation_id": "g_84bf6f0e0662"}],
            }
        ),
        **errors(400, 403, 404, 422, e403=NOT_USER, e404=NOT_YOURS),
    },
)
def revoke(
    request: Request, cameo_id: str, body: Revocation, account: Annotated[Account, Depends(OWNER)]
) -> dict[str, Any]:
    """Revoke consent now: every later authorization (generation, remix, publication) is
    refused; lists the generations that used the cameo and sends each to moderation."""

    return actions.revoke_cameo(request.app.state, cameo_id, account, body.reason)


@router.delete(
    "/{cameo_id}",
    summary="Delete my cameo",
    responses={
        **ok(
            {
                **CAMEO_EXAMPLE,
                "name": "",
                "status": "deleted",
                "quality": {},
                "updated_at": "2026-12-02T14:30:10.668124+00:00",
                "revoked_at": "2026-12-02T14:30:10.668124+00:00",
                "deleted_at": "2026-12-02T14:30:10.668124+00:00",
                "removed_samples": 3,
                "removed_templates": 1,
                "generations": [],
            }
        ),
        **errors(403, 404, e403=NOT_USER, e404=NOT_YOURS),
    },
)
def delete(
    request: Request, cameo_id: str, account: Annotated[Account, Depends(OWNER)]
) -> dict[str, Any]:
    """Delete the cameo: its embeddings and face crops are erased (revoked first, so every
    later authorization is refused); the audit log keeps that it happened."""

    registry = _owned(request, cameo_id, account)
    result = registry.delete(cameo_id, actor=actor_of(account))
    return result.to_dict()
