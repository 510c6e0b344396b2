"""Server-rendered pages: verify, my cameos, the moderation queue. No front-end framework.

The pages are a third shell over the same functions as the API (:mod:`cameoguard.api.deps`,
:mod:`cameoguard.api.actions`) and the CLI. Signing in stores the account's API key in an
``HttpOnly``, ``SameSite=Strict`` cookie (``Secure`` over HTTPS); a form posted from another
site carries no cookie, and a POST whose ``Origin`` names another host is refused (403). A page
needs the same role as its API endpoint; errors are HTML pages with the status the API would
answer (the app's error handler picks HTML for these paths).

- ``/`` verify: upload or drop a file; the verdict first, then the evidence (manifest and
  ingredient tree, watermark and ledger match, faces with consent status, the detector's
  timeline as an inline SVG chart); long videos become a job page that refreshes itself.
- ``/cameos``: enroll from photos or a video; permissions, restrictions, revoke, delete; every
  generation with my likeness, each with delete and flag.
- ``/moderation``: the queue with thumbnails blurred until hovered or focused, an item page
  with every piece of evidence, the decision buttons and the history.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from cameoguard.accounts import Account, AccountStore, Role
from cameoguard.api import actions
from cameoguard.api.deps import ApiError, actor_of, admit, receive
from cameoguard.api.flows import needs_job, submit_job, verify_upload
from cameoguard.consent.models import PermissionTier
from cameoguard.consent.policy import normalise_restriction
from cameoguard.errors import CameoguardError, NotFoundError
from cameoguard.moderation import DECISIONS

__all__ = ["COOKIE", "error_page", "is_page", "router"]

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=HERE / "templates")
STATIC = HERE / "static"
COOKIE = "cg_key"
SESSION_SECONDS = 8 * 3600

router = APIRouter(include_in_schema=False)

LABELS = {  # verdict label -> (words for people, tone)
    "made_by_this_deployment": ("Made by this deployment", "ai"),
    "signed_ai_generated_other_issuer": ("AI-generated (signed by another issuer)", "ai"),
    "signed_capture": ("Signed capture", "ok"),
    "altered_after_signing": ("Altered after signing", "bad"),
    "likely_manipulated": ("Likely manipulated", "bad"),
    "uncertain": ("Uncertain", "warn"),
    "no_evidence_either_way": ("No evidence either way", "none"),
}


def is_page(path: str) -> bool:
    """Paths answered with HTML (the app's error handler renders errors for them as pages)."""
    return not path.startswith(("/v1", "/healthz", "/metrics", "/openapi", "/docs", "/redoc"))


def _render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    account = getattr(request.state, "page_account", None)
    return TEMPLATES.TemplateResponse(
        request,
        name,
        {"account": account, "Role": Role, **context},
        status_code=status,
        headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"},
    )


def error_page(request: Request, status: int, error: CameoguardError) -> Response:
    if status == 401:
        return _to_login(request)
    return _render(request, "error.html", {"status": status, "error": error}, status)


def _to_login(request: Request) -> Response:
    target = request.url.path if request.method == "GET" else "/"
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


def _account(request: Request, *roles: Role) -> Account:
    """The signed-in account (else 401 → the sign-in page), with a role the page allows."""
    key = request.cookies.get(COOKIE, "")
    store: AccountStore = request.app.state.accounts
    account = store.authenticate(key) if key else None
    if account is None:
        raise ApiError(401, "sign in with an API key", code="auth.missing")
    if request.method == "POST":
        origin = request.headers.get("origin")
        if origin and urlsplit(origin).netloc != request.url.netloc:
            raise ApiError(403, "a form from another site was refused", code="auth.cross_site")
    admit(request, account, roles)
    request.state.page_account = account
    return account


def _back(url: str, message: str) -> RedirectResponse:
    """Back to a page of this site (never elsewhere) with a message for the person."""
    return RedirectResponse(f"{_local(url)}?done={quote(message)}", status_code=303)


# ---------------------------------------------------------------- sign in


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    return _render(request, "login.html", {"next": _local(next), "problem": None})


@router.post("/login")
def login(
    request: Request, key: Annotated[str, Form(max_length=200)], next: Annotated[str, Form()] = "/"
) -> Response:
    store: AccountStore = request.app.state.accounts
    account = store.authenticate(key.strip())
    if account is None:
        problem = "this API key is unknown or disabled; ask an admin for one"
        return _render(request, "login.html", {"next": _local(next), "problem": problem}, 401)
    response = RedirectResponse(_local(next), status_code=303)
    response.set_cookie(
        COOKIE,
        key.strip(),
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
def logout() -> Response:
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE)
    return response


def _local(url: str) -> str:
    """Only a path on this site (no open redirects)."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not url.startswith("/") or url.startswith("//"):
        return "/"
    return url


@router.get("/static/{name}")
def static(name: str) -> Response:
    path = STATIC / name
    if "/" in name or name.startswith(".") or not path.is_file():
        raise NotFoundError(f"no static file {name!r}", code="web.not_found")
    return FileResponse(path, headers={"Cache-Control": "max-age=3600"})


# ---------------------------------------------------------------- verify


@router.get("/")
def verify_page(request: Request) -> Response:
    with contextlib.suppress(CameoguardError):
        _account(request)
    return _render(request, "verify.html", {})


@router.post("/verify")
def verify(
    request: Request, file: Annotated[UploadFile, File(description="the media to verify")]
) -> Response:
    account = _account(request)
    state = request.app.state
    with receive(file, state.settings.max_upload_bytes) as (path, _):
        if needs_job(state, path):
            job = submit_job(state, account.name, path, file.filename, None)
            return RedirectResponse(f"/jobs/{job.id}", status_code=303)
        body = verify_upload(state, path, account.name, file.filename)
    return _render(request, "report.html", _report_context(body))


@router.get("/jobs/{job_id}")
def job_page(request: Request, job_id: str) -> Response:
    account = _account(request)
    job = request.app.state.jobs.get(job_id, account.name, admin=account.role is Role.ADMIN)
    if job.status == "done" and job.result is not None:
        return _render(request, "report.html", _report_context(job.result))
    return _render(request, "job.html", {"job": job.to_dict()})


def _report_context(body: dict[str, Any]) -> dict[str, Any]:
    verdict = body["authenticity"]
    words, tone = LABELS.get(verdict["label"], (verdict["label"], "none"))
    consent = {
        (e.get("details") or {}).get("subject_id"): e["sentence"]
        for e in verdict["evidence"]
        if e["source"] == "faces"
    }
    return {
        "report": body,
        "verdict": verdict,
        "words": words,
        "tone": tone,
        "consent": consent,
        "timeline": timeline(body.get("detector")),
        "raw": json.dumps(body, indent=1, default=str),
    }


def timeline(detector: dict[str, Any] | None, width: int = 640, height: int = 160) -> Any:
    """The detector's calibrated scores over time as SVG coordinates (None without scores).

    One point per scored face (x: time in the clip, or the sample's order; y: fake
    probability, 0 at the bottom), the per-time maximum as the line.
    """
    if not detector or not detector.get("faces"):
        return None
    faces = detector["faces"]
    xs = [f["t_s"] if f.get("t_s") is not None else i for i, f in enumerate(faces)]
    start, end = min(xs), max(xs)
    span = (end - start) or 1.0
    pad = 24

    def x_of(value: float) -> float:
        return round(pad + (value - start) / span * (width - 2 * pad), 1)

    def y_of(score: float) -> float:
        return round(height - pad - score * (height - 2 * pad), 1)

    peak: dict[float, float] = {}
    for x, face in zip(xs, faces, strict=True):
        peak[x] = max(peak.get(x, 0.0), float(face["score"]))
    line = " ".join(f"{x_of(x)},{y_of(s)}" for x, s in sorted(peak.items()))
    dots = [
        {"x": x_of(x), "y": y_of(float(f["score"])), "t": x, "score": f["score"]}
        for x, f in zip(xs, faces, strict=True)
    ]
    return {
        "width": width,
        "height": height,
        "line": line,
        "dots": dots,
        "half": y_of(0.5),
        "top": y_of(1.0),
        "bottom": y_of(0.0),
        "left": pad,
        "right": width - pad,
        "start": start,
        "end": end,
        "timed": any(f.get("t_s") is not None for f in faces),
    }


# ---------------------------------------------------------------- my cameos


@router.get("/cameos")
def cameos_page(request: Request, done: str | None = None) -> Response:
    account = _account(request, Role.USER)
    cameos = request.app.state.verifier.registry.list_cameos(owner=account.name)
    return _render(request, "cameos.html", {"cameos": [c.to_dict() for c in cameos], "done": done})


@router.post("/cameos")
def enroll(
    request: Request,
    name: Annotated[str, Form(max_length=128)],
    photos: Annotated[list[UploadFile] | None, File()] = None,
    video: Annotated[UploadFile | None, File()] = None,
) -> Response:
    account = _account(request, Role.USER)
    chosen = [p for p in photos or [] if p.filename]  # a form sends empty parts for no file
    movie = video if video is not None and video.filename else None
    result = actions.enroll(request.app.state, account, name, chosen, movie)
    return _back(f"/cameos/{result.cameo.id}", f"enrolled {result.cameo.name}")


@router.get("/cameos/{cameo_id}")
def cameo_page(request: Request, cameo_id: str, done: str | None = None) -> Response:
    account = _account(request, Role.USER)
    registry = actions.owned(request.app.state, cameo_id, account)
    cameo = registry.get(cameo_id).to_dict()
    library = None if request.app.state.pipeline is None else request.app.state.pipeline.library
    generations = []
    if library is not None:
        actor = actor_of(account)
        generations = [
            g.to_dict()
            for g in library.visible(actor)
            if cameo_id in g.cameo_ids and g.deleted_at is None
        ]
    return _render(
        request,
        "cameo.html",
        {"cameo": cameo, "generations": generations, "done": done, "tiers": TIERS},
    )


TIERS = tuple(t.value for t in PermissionTier)


def _changes(before: Sequence[str], wanted: Sequence[str]) -> tuple[list[str], list[str]]:
    """What a form's whole new list adds to ``before`` and what it drops from it."""
    return sorted(set(wanted) - set(before)), sorted(set(before) - set(wanted))


def _lines(text: str) -> list[str]:
    return [p.strip() for p in text.replace(",", "\n").splitlines() if p.strip()]


@router.post("/cameos/{cameo_id}/permissions")
def permit(
    request: Request,
    cameo_id: str,
    tier: Annotated[str, Form()],
    approved: Annotated[str, Form(max_length=10_000)] = "",
) -> Response:
    account = _account(request, Role.USER)
    registry = actions.owned(request.app.state, cameo_id, account)
    added, removed = _changes(registry.get(cameo_id).approved, _lines(approved))
    registry.set_permissions(
        cameo_id, tier=tier, approve=added, unapprove=removed, actor=actor_of(account)
    )
    return _back(f"/cameos/{cameo_id}", "permissions saved")


@router.post("/cameos/{cameo_id}/restrictions")
def restrict(
    request: Request, cameo_id: str, forbid: Annotated[str, Form(max_length=10_000)] = ""
) -> Response:
    account = _account(request, Role.USER)
    registry = actions.owned(request.app.state, cameo_id, account)
    wanted = [normalise_restriction(t) for t in _lines(forbid)]
    added, removed = _changes(registry.get(cameo_id).restrictions, wanted)
    registry.restrict(cameo_id, forbid=added, allow=removed, actor=actor_of(account))
    return _back(f"/cameos/{cameo_id}", "restrictions saved")


@router.post("/cameos/{cameo_id}/revoke")
def revoke(
    request: Request, cameo_id: str, reason: Annotated[str, Form(max_length=500)] = ""
) -> Response:
    account = _account(request, Role.USER)
    out = actions.revoke_cameo(request.app.state, cameo_id, account, reason.strip() or None)
    queued = len(out["moderation"])
    return _back(f"/cameos/{cameo_id}", f"consent revoked; {queued} generation(s) sent to review")


@router.post("/cameos/{cameo_id}/delete")
def delete_cameo(request: Request, cameo_id: str) -> Response:
    account = _account(request, Role.USER)
    registry = actions.owned(request.app.state, cameo_id, account)
    registry.delete(cameo_id, actor=actor_of(account))
    return _back("/cameos", "cameo deleted: its face data is erased")


@router.post("/generations/{generation_id}/delete")
def delete_generation(
    request: Request, generation_id: str, back: Annotated[str, Form()] = "/cameos"
) -> Response:
    account = _account(request, Role.USER)
    library = actions.pipeline_of(request.app.state).library
    library.delete(generation_id, actor_of(account), "deleted by the owner on the web page")
    return _back(back, f"generation {generation_id} deleted")


@router.post("/generations/{generation_id}/flag")
def flag_generation(
    request: Request,
    generation_id: str,
    reason: Annotated[str, Form(max_length=2000)] = "",
    back: Annotated[str, Form()] = "/cameos",
) -> Response:
    account = _account(request, Role.USER)
    item = actions.flag_generation(request.app.state, generation_id, account, reason)
    return _back(back, f"sent to moderation as {item.id}")


# ---------------------------------------------------------------- moderation


@router.get("/moderation")
def queue_page(request: Request, status: str = "open", done: str | None = None) -> Response:
    _account(request, Role.MODERATOR)
    items = [i.to_dict() for i in request.app.state.moderation.queue(status)]
    return _render(request, "queue.html", {"items": items, "status": status, "done": done})


@router.get("/moderation/{item_id}")
def item_page(request: Request, item_id: str, done: str | None = None) -> Response:
    _account(request, Role.MODERATOR)
    item = request.app.state.moderation.get(item_id).to_dict()
    return _render(request, "item.html", {"item": item, "decisions": DECISIONS, "done": done})


@router.get("/moderation/{item_id}/thumb.jpg")
def thumbnail(request: Request, item_id: str) -> Response:
    _account(request, Role.MODERATOR)
    path = request.app.state.thumbnails.path(item_id)
    if path is None:
        raise NotFoundError(f"no thumbnail for {item_id!r}", code="moderation.no_thumbnail")
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.post("/moderation/{item_id}/decision")
def decide(
    request: Request,
    item_id: str,
    decision: Annotated[str, Form()],
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    account = _account(request, Role.MODERATOR)
    decided = actions.decide(request.app.state, item_id, decision, reason, account)
    return _back(f"/moderation/{item_id}", f"decision recorded: {decided.decision}")
