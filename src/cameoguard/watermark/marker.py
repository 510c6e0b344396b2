"""Embed and detect a payload in pixels, samples and whole files: what the rest of cameoguard calls.

:class:`Watermarker` joins the keyed :class:`~cameoguard.watermark.payload.PayloadCodec` to one
image scheme (default ``tiled``) and one audio scheme (default ``stft-ss``):

* images: the image scheme on the pixels;
* video: the image scheme on every frame (one residual, informed by a sample of frames), and
  the audio scheme on the sound track when there is one;
* audio: the audio scheme.

Detection on a file tries every track it has and reports each one. The file's verdict is found
when any track decodes; when two tracks decode to *different* payloads the result says so
(``conflict``), which no honest pipeline produces. Absence is a result: unmarked media give
``found=False``, never an exception. Exceptions are for bad input (unreadable, over limits, too
small or silent to mark).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from cameoguard.errors import BadInputError, UnsupportedMediaError, WatermarkCapacityError
from cameoguard.media.audio import load_audio, write_audio
from cameoguard.media.image import load_image, save_image
from cameoguard.media.probe import probe
from cameoguard.media.types import AudioClip, Limits, MediaInfo, MediaKind
from cameoguard.media.video import iter_frames, read_audio, sample_frames, write_video
from cameoguard.watermark.base import AudioScheme, ImageScheme, SoftBits, create_scheme
from cameoguard.watermark.keys import WatermarkKey
from cameoguard.watermark.payload import DecodedPayload, PayloadCodec, format_payload
from cameoguard.watermark.payload import false_alarm_bound as _bound
from cameoguard.watermark.visible import VisibleBadge

__all__ = ["EmbedResult", "TrackDetection", "WatermarkDetection", "Watermarker"]

DEFAULT_IMAGE_SCHEME = "tiled"
DEFAULT_AUDIO_SCHEME = "stft-ss"
DETECT_FRAMES = 24
REFERENCE_FRAMES = 8
MIN_VIDEO_FRAMES = 2
_IMAGE_FORMATS = {"JPEG": "jpeg", "PNG": "png", "WebP": "webp"}  # by MediaType.format


@dataclass(frozen=True, slots=True)
class TrackDetection:
    """What one track (the image, the video frames, or the sound) gave."""

    track: str
    scheme: str
    found: bool
    payload: int | None = None
    bit_agreement: float | None = None
    z_score: float | None = None
    hypotheses: int = 0
    where: str | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "track": self.track,
            "scheme": self.scheme,
            "found": self.found,
            "payload": None if self.payload is None else format_payload(self.payload),
            "bit_agreement": _round(self.bit_agreement),
            "z_score": _round(self.z_score),
            "hypotheses": self.hypotheses,
            "where": self.where,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class WatermarkDetection:
    """The verdict for one medium.

    ``confidence`` is 1 - ``false_alarm_bound`` when found (the probability that unmarked
    media would produce a payload whose 32-bit keyed tag checks, over all hypotheses tried) and
    0 otherwise.
    """

    found: bool
    payload: int | None
    confidence: float
    false_alarm_bound: float
    key_id: str
    tracks: tuple[TrackDetection, ...] = field(default=())
    conflict: bool = False

    @property
    def payload_text(self) -> str | None:
        return None if self.payload is None else format_payload(self.payload)

    def to_dict(self) -> dict[str, Any]:
        return {
            "found": self.found,
            "payload": self.payload_text,
            "confidence": self.confidence,
            "false_alarm_bound": self.false_alarm_bound,
            "conflict": self.conflict,
            "key_id": self.key_id,
            "tracks": [t.to_dict() for t in self.tracks],
        }


@dataclass(frozen=True, slots=True)
class EmbedResult:
    """What :meth:`Watermarker.embed_file` marked."""

    path: Path
    kind: MediaKind
    payload: int
    tracks: tuple[str, ...]
    skipped: tuple[str, ...] = ()
    """Tracks left unmarked, with the reason (for example a silent sound track)."""


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


class Watermarker:
    """A keyed codec plus one image and one audio scheme."""

    def __init__(
        self,
        key: WatermarkKey,
        *,
        image_scheme: str = DEFAULT_IMAGE_SCHEME,
        audio_scheme: str = DEFAULT_AUDIO_SCHEME,
    ) -> None:
        self.key = key
        self.codec = PayloadCodec(key)
        image = create_scheme(image_scheme, key)
        audio = create_scheme(audio_scheme, key)
        if not isinstance(image, ImageScheme) or image.capacity_bits != self.codec.coded_bits:
            raise BadInputError(
                f"{image_scheme!r} cannot carry a keyed payload; use an image scheme with "
                f"{self.codec.coded_bits} bits such as {DEFAULT_IMAGE_SCHEME!r}"
            )
        if not isinstance(audio, AudioScheme) or audio.capacity_bits != self.codec.coded_bits:
            raise BadInputError(
                f"{audio_scheme!r} cannot carry a keyed payload; use an audio scheme with "
                f"{self.codec.coded_bits} bits such as {DEFAULT_AUDIO_SCHEME!r}"
            )
        self.image_scheme: ImageScheme = image
        self.audio_scheme: AudioScheme = audio

    @property
    def key_id(self) -> str:
        return self.key.key_id

    # -- arrays ---------------------------------------------------------------------------------

    def embed_image(self, rgb: npt.NDArray[np.uint8], payload: int) -> npt.NDArray[np.uint8]:
        return self.image_scheme.embed_image(rgb, self.codec.encode(payload))

    def embed_audio(self, clip: AudioClip, payload: int) -> AudioClip:
        samples = self.audio_scheme.embed_audio(
            clip.samples, clip.sample_rate, self.codec.encode(payload)
        )
        return AudioClip(samples, clip.sample_rate)

    def detect_image(self, rgb: npt.NDArray[np.uint8]) -> WatermarkDetection:
        track = self._decode(
            "image", self.image_scheme.name, self.image_scheme.detect_image(rgb),
            self.image_scheme.max_candidates,
        )  # fmt: skip
        return self._verdict([track])

    def detect_frames(self, frames: Iterable[npt.NDArray[np.uint8]]) -> WatermarkDetection:
        track = self._decode(
            "video", self.image_scheme.name, self.image_scheme.detect_frames(frames),
            self.image_scheme.max_candidates,
        )  # fmt: skip
        return self._verdict([track])

    def detect_audio(self, clip: AudioClip) -> WatermarkDetection:
        return self._verdict([self._audio_track(clip)])

    def _audio_track(self, clip: AudioClip) -> TrackDetection:
        return self._decode(
            "audio", self.audio_scheme.name,
            self.audio_scheme.detect_audio(clip.samples, clip.sample_rate),
            self.audio_scheme.max_candidates,
        )  # fmt: skip

    def _decode(
        self, track: str, scheme: str, candidates: list[SoftBits], limit: int
    ) -> TrackDetection:
        tried = candidates[:limit]
        for cand in tried:
            decoded: DecodedPayload | None = self.codec.decode(cand.values)
            if decoded is not None:
                return TrackDetection(
                    track, scheme, True, decoded.value, decoded.bit_agreement,
                    decoded.z_score, len(tried), cand.hypothesis,
                )  # fmt: skip
        note = None if tried else "no candidate: nothing resembling a mark"
        return TrackDetection(track, scheme, False, hypotheses=len(tried), note=note)

    def _verdict(self, tracks: list[TrackDetection]) -> WatermarkDetection:
        hypotheses = sum(t.hypotheses for t in tracks)
        bound = _bound(max(1, hypotheses))
        payloads = {t.payload for t in tracks if t.found and t.payload is not None}
        if not payloads:
            return WatermarkDetection(False, None, 0.0, bound, self.key_id, tuple(tracks))
        # Prefer the track with the strongest decode when tracks disagree.
        best = max((t for t in tracks if t.found), key=lambda t: t.z_score or 0.0)
        return WatermarkDetection(
            True, best.payload, 1.0 - bound, bound, self.key_id, tuple(tracks),
            conflict=len(payloads) > 1,
        )  # fmt: skip

    # -- files ----------------------------------------------------------------------------------

    def embed_file(
        self,
        source: str | Path,
        dest: str | Path,
        payload: int,
        limits: Limits,
        *,
        jpeg_quality: int = 95,
        crf: int = 18,
        badge: VisibleBadge | None = None,
    ) -> EmbedResult:
        """Mark ``source`` into ``dest`` (same container kind), atomically.

        Images keep their format (JPEG at ``jpeg_quality``); video is re-encoded as H.264/AAC
        MP4 at ``crf``; audio keeps WAV/MP3/M4A/FLAC by the destination suffix. A video's sound
        track is marked too unless it is too short or silent, which is reported in ``skipped``.
        ``badge`` adds the visible layer (drawn before the invisible mark) to images and video.
        """
        info = probe(source, limits)
        src, out = Path(source), Path(dest)
        self.codec.encode(payload)  # validates the payload before any work
        if info.kind is MediaKind.IMAGE:
            fmt = _IMAGE_FORMATS.get(info.type.format)
            if fmt is None:
                raise UnsupportedMediaError(
                    f"{src}: cannot write a marked {info.type.format}; convert it to PNG, JPEG "
                    "or WebP first"
                )
            rgb = load_image(src, limits)
            marked = self.embed_image(rgb if badge is None else badge.draw(rgb), payload)
            save_image(marked, out, format=_suffix_format(out, fmt), quality=jpeg_quality)
            return EmbedResult(out, info.kind, payload, ("image",))
        if info.kind is MediaKind.AUDIO:
            clip = load_audio(src, limits)
            write_audio(self.embed_audio(clip, payload), out)
            return EmbedResult(out, info.kind, payload, ("audio",))
        return self._embed_video(info, out, payload, limits, crf, badge)

    def _embed_video(
        self,
        info: MediaInfo,
        out: Path,
        payload: int,
        limits: Limits,
        crf: int,
        badge: VisibleBadge | None,
    ) -> EmbedResult:
        if info.width is None or info.height is None:
            raise UnsupportedMediaError(f"{info.path}: no video stream with a known frame size")
        bits = self.codec.encode(payload)
        reference = [f.rgb for f in sample_frames(info.path, REFERENCE_FRAMES, limits)]
        embed = self.image_scheme.video_embedder(bits, info.height, info.width, reference)
        tracks, skipped = ["video"], []
        clip = read_audio(info.path, limits)
        if clip is not None:
            try:
                clip = self.embed_audio(clip, payload)
                tracks.append("audio")
            except WatermarkCapacityError as exc:
                skipped.append(f"audio: {exc.message}")
        fps = info.fps or 25.0

        def frames() -> Iterator[npt.NDArray[np.uint8]]:
            count = 0
            for frame in iter_frames(info.path, limits):
                count += 1
                rgb = frame.rgb if badge is None else badge.draw(frame.rgb, frame.pts_s)
                yield embed(rgb)
            if count < MIN_VIDEO_FRAMES:
                raise WatermarkCapacityError(
                    f"{info.path}: the video has {count} frame(s); a video watermark needs at "
                    f"least {MIN_VIDEO_FRAMES}. Save a single frame as PNG or JPEG and mark it "
                    "as an image"
                )

        write_video(out, frames(), fps, audio=clip, crf=crf)
        return EmbedResult(out, MediaKind.VIDEO, payload, tuple(tracks), tuple(skipped))

    def detect_file(
        self, path: str | Path, limits: Limits, *, frames: int = DETECT_FRAMES
    ) -> WatermarkDetection:
        """Detect in every track of the file at ``path`` (probed against ``limits`` first)."""
        info = probe(path, limits)
        if info.kind is MediaKind.IMAGE:
            return self.detect_image(load_image(path, limits))
        if info.kind is MediaKind.AUDIO:
            return self.detect_audio(load_audio(path, limits))
        sampled = [f.rgb for f in sample_frames(path, frames, limits)]
        tracks = [
            self._decode(
                "video", self.image_scheme.name, self.image_scheme.detect_frames(sampled),
                self.image_scheme.max_candidates,
            )
        ]  # fmt: skip
        clip = read_audio(path, limits) if info.has_audio else None
        if clip is not None:
            tracks.append(self._audio_track(clip))
        return self._verdict(tracks)


def _suffix_format(path: Path, default: str) -> str:
    suffix = path.suffix.lower().lstrip(".")
    known = {"jpg": "jpeg", "jpeg": "jpeg", "png": "png", "webp": "webp"}
    return known.get(suffix, default)
