"""The verify flow as the service runs it, for the API, its jobs and the web pages alike.

:func:`verify_upload` turns an upload into the fused report (verdict counted in the metrics,
the moderation queue fed by the report's rules, a thumbnail kept for each new item);
:func:`submit_job` keeps a long video in a private job folder and verifies it on the worker's
job thread (:func:`run_job`), which always ends the job, removes the upload and, when the job
asked for one, posts the signed webhook.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from cameoguard.errors import CameoguardError
from cameoguard.fsutil import sha256_file
from cameoguard.jobs import Job, JobStore, send_webhook
from cameoguard.media import probe
from cameoguard.media.types import MediaKind
from cameoguard.moderation import ModerationQueue
from cameoguard.settings import Settings

__all__ = ["needs_job", "run_job", "submit_job", "verify_upload"]

log = logging.getLogger(__name__)


def needs_job(state: Any, path: Path) -> bool:
    """Whether the upload is a video too long to verify within the request
    (CAMEOGUARD_API_SYNC_VIDEO_SECONDS): it is then verified as a job."""
    info = probe(path, state.verifier.limits)
    limit: float = state.settings.api_sync_video_seconds
    return info.kind is MediaKind.VIDEO and (info.duration_s or 0) > limit


def verify_upload(state: Any, path: Path, actor: str, name: str | None) -> dict[str, Any]:
    """The fused report of the file at ``path``, with the upload's ``name`` and size under
    ``file``; the server's temporary path in it is replaced by ``name``."""
    result = state.verifier.verify(path)
    state.verdicts.labels(result.authenticity.label.value).inc()
    body: dict[str, Any] = result.to_dict()
    body["provenance"]["path"] = name or "upload"
    body["file"] = {"name": name, "bytes": path.stat().st_size}
    queue: ModerationQueue = state.moderation
    flagged = queue.from_report(body["authenticity"], sha256=sha256_file(path), actor=actor)
    for item in flagged:
        state.thumbnails.keep(item.id, path)
    body["moderation"] = [{"item_id": i.id, "rule": i.rule} for i in flagged]
    return body


def submit_job(state: Any, account: str, path: Path, name: str | None, webhook: str | None) -> Job:
    """Move the upload into a private job folder and queue its verification."""
    settings: Settings = state.settings
    job: Job = state.jobs.create(account, name, webhook)
    folder = settings.data_dir / "jobs" / job.id
    folder.mkdir(parents=True, mode=0o700)
    kept = folder / path.name
    shutil.move(path, kept)
    state.executor.submit(run_job, state, job.id, kept, name)
    return job


def run_job(state: Any, job_id: str, path: Path, name: str | None) -> None:
    """Verify a job's upload in a worker thread; always ends the job and removes the upload."""
    jobs: JobStore = state.jobs
    settings: Settings = state.settings
    try:
        jobs.start(job_id)
        done = jobs.finish(job_id, verify_upload(state, path, "job", name))
    except CameoguardError as error:
        done = jobs.fail(job_id, error.code, error.message)
    except Exception as error:  # never leave a job running forever
        log.error("job %s failed unexpectedly: %s", job_id, type(error).__name__)
        done = jobs.fail(job_id, "internal", "the verification failed; the error was logged")
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
    if done.webhook_url and settings.webhook_secret:
        outcome = send_webhook(
            done.webhook_url,
            done.to_dict(),
            settings.webhook_secret,
            allow_hosts=settings.webhook_allowed_hosts,
        )
        jobs.webhook_done(job_id, outcome)
