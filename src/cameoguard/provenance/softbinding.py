"""Soft binding: the manifest's watermark assertion, fingerprints of media, and resolution.

A C2PA manifest is a *hard* binding: it dies with the first re-encode or screenshot. The soft
binding is what survives: the keyed watermark (payload = generation id) and perceptual
fingerprints, both recorded in the ledger next to the original manifest.

:func:`resolve` takes any copy and finds its generation, trying in order:

1. ``sha256``: the exact bytes that were published (the ledger stores their hash);
2. ``watermark``: the payload names a generation, *confirmed* by the fingerprint. When the
   fingerprint clearly disagrees (PDQ distance >= 64, where unrelated photos lie; vPDQ share
   <= 0.2; audio BER >= 0.4), the result is ``transplant_suspected``: someone copied a mark
   onto other content, and that is reported, never a match. When no fingerprint can decide
   (low PDQ quality, silent audio, or the grey zone between match and refutation), the match
   stands on the watermark alone and says so;
3. ``fingerprint``: PDQ distance <= 31 at quality >= 50 (PDQ's guidance) against every image
   in the ledger (with the centre-crop hashes), vPDQ frame matching for video (an index of
   frame hashes proposes candidates, :func:`match_video` decides), Haitsma-Kalker BER for audio.

The generated manifest carries a ``c2pa.soft-binding`` assertion naming our algorithm
(:data:`SOFT_BINDING_ALG`) and the payload, plus a ``c2pa.watermarked`` action. Our algorithm
name is not on the C2PA soft-binding algorithm list (github.com/c2pa-org/softbinding-algorithm-
list): a generic C2PA validator will show the assertion but cannot decode the mark; cameoguard's
``resolve`` (CLI and API) is the manifest repository lookup for it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from cameoguard.errors import BadInputError
from cameoguard.fsutil import sha256_file
from cameoguard.media.audio import load_audio
from cameoguard.media.image import load_image
from cameoguard.media.probe import probe
from cameoguard.media.types import AudioClip, Limits, MediaInfo, MediaKind
from cameoguard.media.video import iter_frames, read_audio
from cameoguard.provenance.fingerprint import (
    AUDIO_MIN_OVERLAP_S,
    PDQ_MATCH_DISTANCE,
    PDQ_MIN_QUALITY,
    AudioFingerprint,
    FrameHash,
    ImageFingerprint,
    PdqIndex,
    VideoFingerprint,
    audio_fingerprint,
    image_fingerprint,
    match_audio,
    match_video,
    pdq_from_hex,
    video_fingerprint,
)
from cameoguard.provenance.ledger import FrameHashRow, Ledger, LedgerEntry
from cameoguard.watermark.marker import WatermarkDetection, Watermarker
from cameoguard.watermark.payload import format_payload, parse_payload

__all__ = [
    "SOFT_BINDING_ALG",
    "MediaFingerprints",
    "Resolution",
    "ResolutionStatus",
    "Resolver",
    "fingerprint_media",
    "soft_binding_assertion",
    "watermarked_action",
]

log = logging.getLogger(__name__)

PDQ_REFUTE_DISTANCE = 64
"""A PDQ distance this large refutes a watermark's claim (different photos: >= 76 measured)."""
VIDEO_REFUTE_SHARE = 0.2
AUDIO_REFUTE_BER = 0.4

SOFT_BINDING_ALG = "io.cameoguard.watermark.tiled-stft.v1"
"""Our soft-binding algorithm id (reverse-domain, as the C2PA list asks of unlisted ones)."""


def soft_binding_assertion(payload: int, key_id: str, schemes: tuple[str, ...]) -> dict[str, Any]:
    """The ``c2pa.soft-binding`` assertion data for a watermark carrying ``payload``.

    The value is the generation id; the key id tells a resolver which deployment key reads it.
    """
    return {
        "alg": SOFT_BINDING_ALG,
        "name": "cameoguard keyed invisible watermark (" + ", ".join(schemes) + ")",
        "blocks": [{"scope": {}, "value": format_payload(payload)}],
        "url": f"urn:cameoguard:watermark-key:{key_id}",
    }


def watermarked_action(schemes: tuple[str, ...]) -> dict[str, Any]:
    """The ``c2pa.watermarked`` action that goes with :func:`soft_binding_assertion`."""
    from cameoguard import __version__

    return {
        "action": "c2pa.watermarked",
        "softwareAgent": {"name": "cameoguard", "version": __version__},
        "parameters": {"description": "invisible watermark: " + ", ".join(schemes)},
    }


# -- fingerprints ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MediaFingerprints:
    """Whatever fingerprints a medium has: PDQ for an image, frames for video, audio."""

    kind: MediaKind
    image: ImageFingerprint | None = None
    video: VideoFingerprint | None = None
    audio: AudioFingerprint | None = None

    def ledger_fields(self) -> dict[str, Any]:
        """The :class:`LedgerEntry` keyword arguments these fingerprints fill."""
        out: dict[str, Any] = {}
        if self.image is not None:
            out.update(pdq=self.image.hex, pdq_quality=self.image.quality,
                       pdq_crops=tuple(c.hex() for c in self.image.crops))  # fmt: skip
        if self.video is not None:
            out["frame_hashes"] = tuple(
                FrameHashRow(t_s=f.t_s, pdq=f.pdq.hex(), quality=f.quality)
                for f in self.video.frames
            )
        if self.audio is not None and not self.audio.is_silent:
            out["audio_fingerprint"] = self.audio.to_bytes()
        return out


def fingerprint_media(
    path: Path, limits: Limits, info: MediaInfo | None = None
) -> MediaFingerprints:
    """Compute the fingerprints of the file at ``path`` (probed against ``limits``)."""
    info = info or probe(path, limits)
    if info.kind is MediaKind.IMAGE:
        return MediaFingerprints(info.kind, image=image_fingerprint(load_image(path, limits)))
    if info.kind is MediaKind.AUDIO:
        clip = load_audio(path, limits)
        return MediaFingerprints(info.kind, audio=audio_fingerprint(clip.samples, clip.sample_rate))
    video = video_fingerprint(iter_frames(path, limits))
    clip_or_none: AudioClip | None = read_audio(path, limits) if info.has_audio else None
    audio = (
        None
        if clip_or_none is None
        else audio_fingerprint(clip_or_none.samples, clip_or_none.sample_rate)
    )
    return MediaFingerprints(info.kind, video=video, audio=audio)


def _entry_fingerprints(entry: LedgerEntry) -> MediaFingerprints:
    image = None
    if entry.pdq is not None and entry.pdq_quality is not None:
        image = ImageFingerprint(
            pdq_from_hex(entry.pdq),
            entry.pdq_quality,
            tuple(pdq_from_hex(c) for c in entry.pdq_crops),
        )
    video = None
    if entry.frame_hashes:
        video = VideoFingerprint(
            tuple(FrameHash(f.t_s, pdq_from_hex(f.pdq), f.quality) for f in entry.frame_hashes)
        )
    audio = None
    if entry.audio_fingerprint is not None:
        audio = AudioFingerprint.from_bytes(entry.audio_fingerprint)
    return MediaFingerprints(entry.media_kind, image, video, audio)


@dataclass(frozen=True, slots=True)
class FingerprintComparison:
    """How a query's fingerprints compare with one ledger entry's.

    ``decided`` is False when neither side had a usable fingerprint of the same kind (then
    ``matches`` means nothing). ``refutes`` is True only when the content is clearly different
    (far beyond the match threshold, where unrelated media lie): between the two lies a grey
    zone (heavily edited copies, flat synthetic pictures whose PDQ is fragile) that neither
    confirms nor refutes. ``detail`` says what was compared and how close it was.
    """

    decided: bool
    matches: bool
    score: float
    detail: dict[str, Any] = field(default_factory=dict)
    refutes: bool = False


def compare_fingerprints(query: MediaFingerprints, ref: MediaFingerprints) -> FingerprintComparison:
    """Compare like with like: image PDQ, video frames, audio; any decided match wins."""
    results: list[FingerprintComparison] = []
    if query.image is not None and ref.image is not None:
        d = query.image.distance(ref.image)
        ok_quality = min(query.image.quality, ref.image.quality) >= PDQ_MIN_QUALITY
        results.append(FingerprintComparison(
            ok_quality, ok_quality and d <= PDQ_MATCH_DISTANCE, 1.0 - d / 256.0,
            {"pdq_distance": d, "pdq_quality": [query.image.quality, ref.image.quality],
             "pdq_threshold": PDQ_MATCH_DISTANCE},
            refutes=ok_quality and d >= PDQ_REFUTE_DISTANCE,
        ))  # fmt: skip
    if query.video is not None and ref.video is not None:
        vm = match_video(query.video, ref.video)
        decided = vm.best_distance is not None
        share = max(vm.query_match, vm.candidate_match)
        results.append(FingerprintComparison(
            decided, decided and vm.is_match(), share,
            {"vpdq_query_match": round(vm.query_match, 4),
             "vpdq_candidate_match": round(vm.candidate_match, 4),
             "matched_frames": vm.matched_frames, "best_distance": vm.best_distance},
            refutes=decided and share <= VIDEO_REFUTE_SHARE,
        ))  # fmt: skip
    if query.audio is not None and ref.audio is not None:
        am = match_audio(query.audio, ref.audio)
        decided = not (query.audio.is_silent or ref.audio.is_silent)
        results.append(FingerprintComparison(
            decided, decided and am.is_match(), 1.0 - am.ber,
            {"audio_ber": round(am.ber, 4), "audio_offset_s": round(am.offset_s, 3),
             "audio_overlap_s": round(am.overlap_s, 2)},
            refutes=decided and am.overlap_s >= AUDIO_MIN_OVERLAP_S and am.ber >= AUDIO_REFUTE_BER,
        ))  # fmt: skip
    usable = [r for r in results if r.decided]
    if not usable:
        detail: dict[str, Any] = {}
        for r in results:
            detail.update(r.detail)
        return FingerprintComparison(False, False, 0.0, detail)
    best = max(usable, key=lambda r: (r.matches, r.score))
    detail = {}
    for r in results:
        detail.update(r.detail)
    refutes = not best.matches and all(r.refutes for r in usable)
    return FingerprintComparison(True, best.matches, best.score, detail, refutes)


# -- resolution --------------------------------------------------------------------------------


class ResolutionStatus(StrEnum):
    MATCHED = "matched"
    TRANSPLANT_SUSPECTED = "transplant_suspected"
    UNKNOWN_PAYLOAD = "unknown_payload"
    NOT_FOUND = "not_found"


@dataclass(frozen=True, slots=True)
class Resolution:
    """Where a copy came from.

    ``method``: ``sha256``, ``watermark+fingerprint``, ``watermark`` (fingerprint could not
    decide), or ``fingerprint``. ``strength``: 1.0 for sha256, else the fingerprint score or
    the watermark's bit agreement. ``entry`` is the ledger entry (its ``manifest_json`` is the
    original manifest) when matched.
    """

    status: ResolutionStatus
    method: str | None = None
    generation_id: str | None = None
    strength: float = 0.0
    entry: LedgerEntry | None = None
    watermark: WatermarkDetection | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    explanation: str = ""

    @property
    def matched(self) -> bool:
        return self.status is ResolutionStatus.MATCHED

    def to_dict(self, *, include_manifest: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "status": self.status.value,
            "matched": self.matched,
            "method": self.method,
            "generation_id": self.generation_id,
            "strength": round(self.strength, 4),
            "explanation": self.explanation,
            "evidence": self.evidence,
            "watermark": None if self.watermark is None else self.watermark.to_dict(),
        }
        if self.entry is not None:
            e = self.entry
            out["generation"] = {
                "generation_id": e.generation_id,
                "created_at": e.created_at.isoformat(),
                "requester": e.requester,
                "backend": e.backend,
                "media_kind": e.media_kind.value,
                "mime": e.mime,
                "sha256": e.sha256,
                "cameo_ids": list(e.cameo_ids),
                "consent_grant_ids": list(e.consent_grant_ids),
                "manifest_label": e.manifest_label,
                "status": e.status.value,
                "taken_down_at": None if e.taken_down_at is None else e.taken_down_at.isoformat(),
            }
            if include_manifest:
                import json

                try:
                    out["manifest"] = json.loads(e.manifest_json)
                except ValueError:
                    out["manifest"] = e.manifest_json
        return out


class Resolver:
    """Resolves media against one ledger with one deployment's watermark key.

    The PDQ indexes (image hashes with crops; video frame hashes) are built from the ledger on
    first use and rebuilt when the ledger's count changes. Each process keeps its own.
    """

    def __init__(self, ledger: Ledger, watermarker: Watermarker, limits: Limits) -> None:
        self.ledger = ledger
        self.watermarker = watermarker
        self.limits = limits
        self._lock = threading.Lock()
        self._indexed_count = -1
        self._images = PdqIndex()
        self._frames = PdqIndex()

    def _indexes(self) -> tuple[PdqIndex, PdqIndex]:
        with self._lock:
            count = self.ledger.count()
            if count != self._indexed_count:
                images, frames = PdqIndex(), PdqIndex()
                rows = list(self.ledger.image_hashes(min_quality=PDQ_MIN_QUALITY))
                if rows:
                    images.add([parse_payload(g) for g, _ in rows],
                               [pdq_from_hex(h) for _, h in rows])  # fmt: skip
                frame_rows = list(self.ledger.frame_hashes(min_quality=PDQ_MIN_QUALITY))
                if frame_rows:
                    frames.add([parse_payload(g) for g, _, _, _ in frame_rows],
                               [pdq_from_hex(h) for _, _, h, _ in frame_rows])  # fmt: skip
                self._images, self._frames, self._indexed_count = images, frames, count
            return self._images, self._frames

    def resolve(self, path: str | Path) -> Resolution:
        source = Path(path)
        info = probe(source, self.limits)
        digest = sha256_file(source)
        exact = self.ledger.by_sha256(digest)
        if exact:
            entry = exact[-1]
            return Resolution(
                ResolutionStatus.MATCHED, "sha256", entry.generation_id, 1.0, entry,
                evidence={"sha256": digest},
                explanation="the file is byte-identical to the published output",
            )  # fmt: skip
        if info.kind is MediaKind.IMAGE:  # decode once for both the mark and the fingerprint
            rgb = load_image(source, self.limits)
            watermark = self.watermarker.detect_image(rgb)
            query = MediaFingerprints(info.kind, image=image_fingerprint(rgb))
        else:
            watermark = self.watermarker.detect_file(source, self.limits)
            query = fingerprint_media(source, self.limits, info)
        if watermark.found and watermark.payload is not None:
            return self._by_watermark(watermark, query)
        return self._by_fingerprint(query, watermark)

    def _by_watermark(self, watermark: WatermarkDetection, query: MediaFingerprints) -> Resolution:
        assert watermark.payload is not None
        gid = format_payload(watermark.payload)
        entry = self.ledger.by_payload(watermark.payload)
        if entry is None:
            return Resolution(
                ResolutionStatus.UNKNOWN_PAYLOAD, "watermark", gid, 0.0, None, watermark,
                explanation=f"a valid watermark names {gid}, which this ledger does not hold "
                "(another ledger of the same deployment, or a deleted entry)",
            )  # fmt: skip
        cmp = compare_fingerprints(query, _entry_fingerprints(entry))
        agreement = max((t.bit_agreement or 0.0) for t in watermark.tracks)
        if cmp.refutes:
            return Resolution(
                ResolutionStatus.TRANSPLANT_SUSPECTED, "watermark", gid, 0.0, entry, watermark,
                evidence={"fingerprint": cmp.detail},
                explanation=f"the watermark names {gid} but the content does not match that "
                "generation's fingerprint: the mark was probably copied onto other media",
            )  # fmt: skip
        if cmp.matches:
            return Resolution(
                ResolutionStatus.MATCHED, "watermark+fingerprint", gid, cmp.score, entry,
                watermark, {"fingerprint": cmp.detail},
                explanation=f"the watermark names {gid} and the fingerprint confirms it",
            )  # fmt: skip
        return Resolution(
            ResolutionStatus.MATCHED, "watermark", gid, agreement, entry, watermark,
            {"fingerprint": cmp.detail},
            explanation=f"the watermark names {gid}; the fingerprint neither confirms nor "
            "refutes it (heavily edited, low-quality or silent content)",
        )  # fmt: skip

    def _by_fingerprint(
        self, query: MediaFingerprints, watermark: WatermarkDetection
    ) -> Resolution:
        images, frames = self._indexes()
        candidates: dict[int, int] = {}
        if query.image is not None and query.image.reliable:
            for h in (query.image.pdq, *query.image.crops):
                for pid, dist in images.search(h):
                    candidates[pid] = min(candidates.get(pid, 999), dist)
        if query.video is not None:
            for frame in query.video.frames:
                if frame.quality >= PDQ_MIN_QUALITY:
                    for pid, dist in frames.search(frame.pdq):
                        candidates[pid] = min(candidates.get(pid, 999), dist)
        best: tuple[FingerprintComparison, LedgerEntry] | None = None
        for pid in sorted(candidates, key=lambda p: candidates[p])[:20]:
            entry = self.ledger.by_payload(pid)
            if entry is None:
                continue
            cmp = compare_fingerprints(query, _entry_fingerprints(entry))
            if cmp.matches and (best is None or cmp.score > best[0].score):
                best = (cmp, entry)
        if best is None and query.audio is not None and not query.audio.is_silent:
            best = self._audio_scan(query)
        if best is None:
            return Resolution(
                ResolutionStatus.NOT_FOUND, None, None, 0.0, None, watermark,
                explanation="no watermark, and no ledger entry with a matching fingerprint",
            )  # fmt: skip
        cmp, entry = best
        return Resolution(
            ResolutionStatus.MATCHED, "fingerprint", entry.generation_id, cmp.score, entry,
            watermark, {"fingerprint": cmp.detail},
            explanation=f"no watermark was read, but the fingerprint matches {entry.generation_id}",
        )  # fmt: skip

    def _audio_scan(
        self, query: MediaFingerprints
    ) -> tuple[FingerprintComparison, LedgerEntry] | None:
        assert query.audio is not None
        best: tuple[float, str] | None = None
        for gid, blob in self.ledger.audio_fingerprints():
            try:
                ref = AudioFingerprint.from_bytes(blob)
            except BadInputError:
                log.warning("ledger entry %s has an unreadable audio fingerprint", gid)
                continue
            m = match_audio(query.audio, ref)
            if m.is_match() and (best is None or m.ber < best[0]):
                best = (m.ber, gid)
        if best is None:
            return None
        entry = self.ledger.get(best[1])
        if entry is None:
            return None
        cmp = compare_fingerprints(query, _entry_fingerprints(entry))
        return (cmp, entry) if cmp.matches else None
