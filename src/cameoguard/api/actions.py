"""What the API routers and the web pages both do, over the app's state.

Each function is the service-level glue around domain calls that must happen together
whichever shell asks: revoking a cameo also queues every generation with it for moderation;
an owner's flag opens an item with a thumbnail; removing an item takes its generation down in
the ledger. ``state`` is the app's ``request.app.state`` (domain objects opened once per worker
by :func:`cameoguard.api.app.create_app`).
"""

from __future__ import annotations

import contextlib
from typing import Any

from fastapi import UploadFile

from cameoguard.accounts import Account, Role
from cameoguard.api.deps import actor_of, receive
from cameoguard.consent.models import CameoStatus
from cameoguard.consent.registry import CameoRegistry
from cameoguard.consent.values import Actor, EnrollResult
from cameoguard.errors import BadInputError, ConfigurationError, NotFoundError
from cameoguard.moderation import ModerationItem

__all__ = ["decide", "enroll", "flag_generation", "owned", "pipeline_of", "revoke_cameo"]


def owned(state: Any, cameo_id: str, account: Account) -> CameoRegistry:
    """The registry, once ``cameo_id`` is shown to be the caller's (else 404, as for none)."""
    registry: CameoRegistry = state.verifier.registry
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


def enroll(
    state: Any, account: Account, name: str, photos: list[UploadFile], video: UploadFile | None
) -> EnrollResult:
    """Enroll the account's likeness from 3+ photos or one video (liveness checked); the
    uploads live in private temporary files until the embeddings are made."""
    if bool(photos) == (video is not None):
        raise BadInputError(
            "send either photos (3 to 20, field 'photos') or one video (field 'video'), not "
            "both and not neither",
            code="enroll.photos_or_video",
        )
    limit = state.settings.max_upload_bytes
    registry: CameoRegistry = state.verifier.registry
    actor = actor_of(account)
    with contextlib.ExitStack() as stack:
        if video is not None:
            path = stack.enter_context(receive(video, limit))[0]
            return registry.enroll_video(account.name, name, path, actor=actor)
        paths = [stack.enter_context(receive(photo, limit))[0] for photo in photos]
        return registry.enroll_photos(account.name, name, paths, actor=actor)


def pipeline_of(state: Any) -> Any:
    """The generation pipeline, or 503 with what this deployment lacks (no signing keys)."""
    if state.pipeline is None:
        raise ConfigurationError(
            f"generation is not available on this deployment: {state.pipeline_problem}",
            code="service.generation_unavailable",
        )
    return state.pipeline


def revoke_cameo(state: Any, cameo_id: str, account: Account, reason: str | None) -> dict[str, Any]:
    """Revoke consent now and queue every generation that contains the cameo for moderation."""
    registry = owned(state, cameo_id, account)
    result = registry.revoke(cameo_id, actor=actor_of(account), reason=reason)
    resolver = state.verifier.resolver
    entries = [] if resolver is None else [resolver.ledger.get(g) for g in result.generations]
    queued = state.moderation.enqueue_generations(
        cameo_id, [e for e in entries if e is not None], actor=account.name
    )
    library = None if state.pipeline is None else state.pipeline.library
    for item in queued:
        _thumbnail_of_generation(state, library, item)
    out = result.to_dict()
    out["moderation"] = [{"item_id": i.id, "generation_id": i.generation_id} for i in queued]
    return out


def flag_generation(
    state: Any, generation_id: str, account: Account, reason: str
) -> ModerationItem:
    """An owner's flag on a generation the caller may see: one open item per owner and file."""
    if not reason.strip():
        raise BadInputError("a flag needs a reason: say what is wrong", code="flag.no_reason")
    library = pipeline_of(state).library
    generation = library.get(generation_id, actor_of(account))
    item: ModerationItem = state.moderation.add(
        "owner_flag",
        reason,
        source="owner_flag",
        key=f"{generation.id}:flag:{account.name}",
        actor=account.name,
        sha256=generation.sha256,
        generation_id=generation.id,
    )
    _thumbnail_of_generation(state, library, item)
    return item


def decide(
    state: Any, item_id: str, decision: str, reason: str, account: Account
) -> ModerationItem:
    """A moderator's decision; ``remove`` also takes the generation down in the ledger."""
    decided: ModerationItem = state.moderation.decide(item_id, decision, reason, actor=account.name)
    resolver = state.verifier.resolver
    if decision == "remove" and decided.generation_id and resolver is not None:
        resolver.ledger.take_down(decided.generation_id, f"moderation {item_id}: {reason}")
    return decided


def _thumbnail_of_generation(state: Any, library: Any, item: ModerationItem) -> None:
    if library is None or item.generation_id is None:
        return
    generation = library.get(item.generation_id, Actor("moderation", admin=True))
    if generation.path is not None and generation.path.is_file():
        state.thumbnails.keep(item.id, generation.path)
