"""``/v1/moderation``: the queue, one item with its evidence and history, decisions, the bank.

Moderators (and admins) only. Items come from verify reports (rules in
:func:`cameoguard.moderation.rules_for`), from owners' flags and from revocations.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from cameoguard.accounts import Account, Role
from cameoguard.api.deps import require
from cameoguard.moderation import ModerationQueue

__all__ = ["router"]

router = APIRouter(prefix="/v1/moderation", tags=["moderation"])


MODERATOR = require(Role.MODERATOR)


class Decision(BaseModel):
    decision: str = Field(examples=["label_ai"], description="keep, label_ai, remove, escalate")
    reason: str = Field(max_length=2000, examples=["AI-generated, consent on record"])


def _queue(request: Request) -> ModerationQueue:
    queue: ModerationQueue = request.app.state.moderation
    return queue


@router.get("/queue")
def queue(
    request: Request, account: Annotated[Account, Depends(MODERATOR)], status: str = "open"
) -> dict[str, Any]:
    """Items by status (open, escalated, decided, all), oldest first."""
    return {"items": [i.to_dict() for i in _queue(request).queue(status)]}


@router.get("/items/{item_id}")
def item(
    request: Request, item_id: str, account: Annotated[Account, Depends(MODERATOR)]
) -> dict[str, Any]:
    """One item with every evidence sentence and its history."""
    out: dict[str, Any] = _queue(request).get(item_id).to_dict()
    return out


@router.post("/items/{item_id}/decision")
def decide(
    request: Request,
    item_id: str,
    body: Decision,
    account: Annotated[Account, Depends(MODERATOR)],
) -> dict[str, Any]:
    """Keep, label as AI, remove (also takes the generation down in the ledger) or escalate."""
    moderation = _queue(request)
    decided = moderation.decide(item_id, body.decision, body.reason, actor=account.name)
    resolver = request.app.state.verifier.resolver
    if body.decision == "remove" and decided.generation_id and resolver is not None:
        resolver.ledger.take_down(decided.generation_id, f"moderation {item_id}: {body.reason}")
    out: dict[str, Any] = decided.to_dict()
    return out


@router.get("/hashbank.csv", response_class=Response)
def hash_bank(request: Request, account: Annotated[Account, Depends(MODERATOR)]) -> Response:
    """PDQ hashes of removed and revoked items, for other platforms' hash matching."""
    return Response(_queue(request).hash_bank(), media_type="text/csv")
