"""``/v1/moderation``: the queue, one item with its evidence and history, decisions, the bank.

Moderators (and admins) only. Items come from verify reports (rules in
:func:`cameoguard.moderation.rules_for`), from owners' flags and from revocations.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from cameoguard.accounts import Account, Role
from cameoguard.api import actions
from cameoguard.api.deps import errors, ok, require
from cameoguard.moderation import ModerationQueue

__all__ = ["router"]

router = APIRouter(prefix="/v1/moderation", tags=["moderation"])


MODERATOR = require(Role.MODERATOR)

# Examples for the OpenAPI document: real answers of this service (ids and times from a run).
ITEM_EXAMPLE: dict[str, Any] = {
    "id": "m_2984f26218aa",
    "rule": "cameo_revoked",
    "source": "revocation",
    "summary": "cameo c_fb0df0662bf6 was revoked; g_84bf6f0e0662 contains it",
    "sha256": "35f5fa87a0711d7fb41b40844df237e5ef01cae1b32662c2023b524bc2d702c2",
    "generation_id": "g_84bf6f0e0662",
    "pdq": "383a4fa6f903127c32c9f687073afd43815c39d493a8518b7f73ad04a9cce671",
    "evidence": [],
    "status": "open",
    "decision": None,
    "created_at": "2026-12-02T14:30:10.635279+00:00",
    "history": [
        {
            "actor": "acct-user",
            "action": "opened:revocation",
            "reason": "cameo c_fb0df0662bf6 was revoked; g_84bf6f0e0662 contains it",
            "at": "2026-12-02T14:30:10.635279+00:00",
        }
    ],
}
NOT_MODERATOR = ("auth.forbidden", "role user may not do this; it needs moderator")
NO_ITEM = ("moderation.not_found", "no moderation item 'm_000000000000'")


class Decision(BaseModel):
    decision: str = Field(examples=["label_ai"], description="keep, label_ai, remove, escalate")
    reason: str = Field(max_length=2000, examples=["AI-generated, consent on record"])


def _queue(request: Request) -> ModerationQueue:
    queue: ModerationQueue = request.app.state.moderation
    return queue


@router.get(
    "/queue",
    summary="The moderation queue",
    responses={**ok({"items": [ITEM_EXAMPLE]}), **errors(403, 422, e403=NOT_MODERATOR)},
)
def queue(
    request: Request,
    account: Annotated[Account, Depends(MODERATOR)],
    status: Annotated[
        Literal["open", "escalated", "decided", "all"],
        Query(description="open, escalated, decided or all", examples=["open"]),
    ] = "open",
) -> dict[str, Any]:
    """Items by status (`open`, `escalated`, `decided`, or `all`), oldest first; each with
    its evidence sentences and history."""
    return {"items": [i.to_dict() for i in _queue(request).queue(status)]}


@router.get(
    "/items/{item_id}",
    summary="One moderation item",
    responses={**ok(ITEM_EXAMPLE), **errors(403, 404, e403=NOT_MODERATOR, e404=NO_ITEM)},
)
def item(
    request: Request, item_id: str, account: Annotated[Account, Depends(MODERATOR)]
) -> dict[str, Any]:
    """One item with every evidence sentence and its history (who opened it, decisions)."""
    out: dict[str, Any] = _queue(request).get(item_id).to_dict()
    return out


@router.post(
    "/items/{item_id}/decision",
    summary="Decide a moderation item",
    responses={
        **ok(
            {
                **ITEM_EXAMPLE,
                "status": "decided",
                "decision": "remove",
                "history": [
                    *ITEM_EXAMPLE["history"],
                    {
                        "actor": "acct-moderator",
                        "action": "decided:remove",
                        "reason": "consent revoked",
                        "at": "2026-12-02T14:30:10.650514+00:00",
                    },
                ],
            }
        ),
        **errors(
            400,
            403,
            404,
            422,
            e400=("moderation.no_reason", "a decision needs a reason"),
            e403=NOT_MODERATOR,
            e404=NO_ITEM,
        ),
    },
)
def decide(
    request: Request,
    item_id: str,
    body: Decision,
    account: Annotated[Account, Depends(MODERATOR)],
) -> dict[str, Any]:
    """Keep, label as AI, remove (also takes the generation down in the ledger, so verify and
    resolution report it as taken down) or escalate; every decision needs a reason."""
    decided = actions.decide(request.app.state, item_id, body.decision, body.reason, account)
    out: dict[str, Any] = decided.to_dict()
    return out


@router.get(
    "/hashbank.csv",
    response_class=Response,
    summary="The hash bank",
    responses={
        200: {
            "description": "CSV: `hash,signal_type,tags`, one PDQ hash a line.",
            "content": {
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "hash,signal_type,tags\n"
                    "383a4fa6f903127c32c9f687073afd43815c39d493a8518b7f73ad04a9cce671,pdq,"
                    "cameoguard;cameo_revoked;g_84bf6f0e0662\n",
                }
            },
        },
        **errors(403, e403=NOT_MODERATOR),
    },
)
def hash_bank(request: Request, account: Annotated[Account, Depends(MODERATOR)]) -> Response:
    """PDQ hashes of removed and revoked items, for other platforms' hash matching (in the
    spirit of HMA / ThreatExchange CSV banks)."""
    return Response(_queue(request).hash_bank(), media_type="text/csv")
