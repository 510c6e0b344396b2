"""The last stage of generation: watermark -> fingerprint -> sign -> self-verify -> ledger -> out.

:func:`emit_marked_media` is the only function that turns raw generated media into a file the
caller may have. It fails closed: every step happens in a private temporary directory beside
the destination, and the destination appears (atomically) only after

1. a fresh generation id was allocated in the ledger and embedded as the watermark payload,
2. the fingerprints of the marked media were computed,
3. the C2PA manifest (with the ``c2pa.soft-binding`` assertion and ``c2pa.watermarked``
   action) was signed into it,
4. the signed file verified as ``valid`` or ``trusted`` and its watermark decoded back to the
   same payload,
5. the ledger recorded the generation (hash, payload, fingerprints, manifest); the file is
   moved into place inside that transaction, so there is no record without the file and no
   file without the record.

Any failure raises and leaves nothing at the destination; nothing unmarked, unsigned or
unrecorded is ever returned. The pipeline of issue 5 (consent, backends, face scan) calls this.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cameoguard.db import Base
from cameoguard.errors import CameoguardError, OperationError
from cameoguard.fsutil import sha256_file
from cameoguard.media.probe import probe
from cameoguard.media.types import Limits
from cameoguard.provenance import jumbf
from cameoguard.provenance.ledger import Ledger, LedgerEntry
from cameoguard.provenance.manifest import ManifestSpec
from cameoguard.provenance.report import ProvenanceState
from cameoguard.provenance.sign import sign_file
from cameoguard.provenance.signers import ClaimSigner
from cameoguard.provenance.softbinding import (
    fingerprint_media,
    soft_binding_assertion,
    watermarked_action,
)
from cameoguard.provenance.trust import TrustPolicy
from cameoguard.provenance.verify import read_manifest_json, verify_file
from cameoguard.watermark.marker import Watermarker
from cameoguard.watermark.visible import VisibleBadge

__all__ = ["EmitError", "EmitResult", "Emitter"]

log = logging.getLogger(__name__)


def _no_stage(_name: str) -> None:
    return None


class EmitError(OperationError):
    """A marked output could not be produced; nothing was written."""

    code = "generation.emit_failed"


@dataclass(frozen=True, slots=True)
class EmitResult:
    path: Path
    generation_id: str
    payload: int
    sha256: str
    entry: LedgerEntry
    watermark_tracks: tuple[str, ...]
    #: tracks left unmarked, with why (a silent or too-short sound track)
    watermark_skipped: tuple[str, ...] = ()


@dataclass
class Emitter:
    """Everything the emit stage needs, built once and reused for many outputs."""

    watermarker: Watermarker
    signer: ClaimSigner
    ledger: Ledger
    limits: Limits
    trust: TrustPolicy | None = None
    #: Also draw a visible "AI-generated" badge on pictures, in the same pass as the watermark.
    badge: VisibleBadge | None = None

    def emit(
        self,
        source: Path,
        dest: Path,
        spec: ManifestSpec,
        *,
        requester: str,
        backend: str,
        cameo_ids: tuple[str, ...] = (),
        consent_grant_ids: tuple[str, ...] = (),
        also: Callable[[str], Sequence[Base]] | None = None,
        on_stage: Callable[[str], None] | None = None,
        generation: tuple[str, int] | None = None,
    ) -> EmitResult:
        """Mark, sign, verify and record ``source`` (raw generated media) into ``dest``.

        ``also(generation_id)`` gives rows to insert in the ledger's transaction (the draft
        row of the generation library). ``on_stage(name)`` is called as each stage starts
        (``watermark``, ``fingerprint``, ``sign``, ``self_verify``, ``ledger``, ``publish``):
        the pipeline times stages with it, and tests inject faults through it. ``generation``
        is an id and payload already drawn from :meth:`Ledger.new_generation_id` (the pipeline
        names its output file after it); by default a fresh one is drawn here.
        """
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
        stage = on_stage or _no_stage
        try:
            return self._emit(Path(source), dest, work, spec, requester, backend,
                              cameo_ids, consent_grant_ids, also, stage,
                              generation)  # fmt: skip
        except CameoguardError:
            raise
        except Exception as exc:  # fail closed on anything unexpected, with a clear message
            raise EmitError(
                f"generation output could not be marked and signed ({type(exc).__name__}: "
                f"{exc}); nothing was written to {dest}"
            ) from exc
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _emit(
        self,
        source: Path,
        dest: Path,
        work: Path,
        spec: ManifestSpec,
        requester: str,
        backend: str,
        cameo_ids: tuple[str, ...],
        consent_grant_ids: tuple[str, ...],
        also: Callable[[str], Sequence[Base]] | None,
        stage: Callable[[str], None],
        generation: tuple[str, int] | None,
    ) -> EmitResult:
        stage("watermark")
        info = probe(source, self.limits)
        generation_id, payload = generation or self.ledger.new_generation_id()
        suffix = dest.suffix or "." + info.type.extension
        marked = work / f"marked{suffix}"
        embedded = self.watermarker.embed_file(source, marked, payload, self.limits,
                                               badge=self.badge)  # fmt: skip
        stage("fingerprint")
        prints = fingerprint_media(marked, self.limits)
        schemes = tuple(
            self.watermarker.audio_scheme.name
            if t == "audio"
            else self.watermarker.image_scheme.name
            for t in embedded.tracks
        )
        signed_spec = spec.with_assertion(
            "c2pa.soft-binding", soft_binding_assertion(payload, self.watermarker.key_id, schemes)
        ).with_action(watermarked_action(schemes))
        signed = work / f"signed{suffix}"
        stage("sign")
        sign_file(marked, signed, signed_spec, self.signer, limits=self.limits, trust=self.trust)
        signed_info = probe(signed, self.limits)

        stage("self_verify")
        report = verify_file(signed, limits=self.limits, trust=self.trust, info=signed_info)
        if report.state not in (ProvenanceState.VALID, ProvenanceState.TRUSTED):
            raise EmitError(
                f"self-verification failed: the signed output is {report.state.value} "
                f"({', '.join(report.failure_codes) or 'no details'}); nothing was written"
            )
        detection = self.watermarker.detect_file(signed, self.limits)
        if not detection.found or detection.payload != payload:
            raise EmitError(
                "self-verification failed: the watermark did not decode back to "
                f"{generation_id} ({detection.payload_text or 'nothing found'}); nothing was "
                "written. The media may be too small, too flat or too short to carry a mark"
            )
        store = jumbf.extract_manifest_store(signed, signed_info.type.mime) or b""
        manifest_json = read_manifest_json(signed, signed_info.type.mime, self.trust) or "{}"
        digest = sha256_file(signed)
        entry = LedgerEntry(
            payload=payload,
            created_at=datetime.now(UTC),
            requester=requester,
            backend=backend,
            media_kind=signed_info.kind,
            mime=signed_info.type.mime,
            sha256=digest,
            size_bytes=signed.stat().st_size,
            manifest_store=store,
            manifest_json=manifest_json,
            manifest_label=report.manifest_label,
            width=signed_info.width,
            height=signed_info.height,
            duration_s=signed_info.duration_s,
            watermark_scheme="+".join(schemes),
            watermark_key_id=self.watermarker.key_id,
            cameo_ids=cameo_ids,
            consent_grant_ids=consent_grant_ids,
            **prints.ledger_fields(),
        )
        stage("ledger")
        placed = False

        def publish() -> None:  # inside the ledger transaction: no record without the file
            nonlocal placed
            stage("publish")
            os.chmod(signed, 0o644)
            os.replace(signed, dest)
            placed = True

        try:
            recorded = self.ledger.record(
                entry, also=also(generation_id) if also else (), before_commit=publish
            )
        except BaseException as exc:
            if placed:  # the commit itself failed after the file was moved: take it back
                with contextlib.suppress(OSError):
                    dest.unlink()
            if isinstance(exc, OSError):
                raise EmitError(f"could not write {dest}: {exc}; nothing was recorded") from None
            raise
        log.info("emitted %s (%s, %s)", generation_id, signed_info.kind.value, backend)
        return EmitResult(dest, generation_id, payload, digest, recorded, embedded.tracks,
                          embedded.skipped)  # fmt: skip
