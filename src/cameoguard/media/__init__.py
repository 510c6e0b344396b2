"""Media I/O: recognise, probe, load and write images, video and audio, within limits.

What flows through: a path (or bytes, for :func:`sniff`) comes in; :func:`probe` checks it
against :class:`Limits` (bytes, pixels, seconds) from its headers before anything is decoded,
then the loaders return RGB arrays, :class:`Frame` objects and :class:`AudioClip` objects.
Writers take those back and publish files atomically (complete or not at all).

Errors come from :mod:`cameoguard.errors`: FileNotFoundInputError, UnsupportedMediaError,
CorruptMediaError and MediaLimitError for input; BadInputError for unusable arrays;
OperationError when an encoder fails.

Importing this package loads Pillow, NumPy and PyAV but opens no file.
"""

from cameoguard.media.audio import AUDIO_WRITE_FORMATS, load_audio, write_audio
from cameoguard.media.image import IMAGE_WRITE_FORMATS, encode_image, load_image, save_image
from cameoguard.media.probe import probe
from cameoguard.media.sniff import MEDIA_TYPES, SUPPORTED_MIME_TYPES, sniff
from cameoguard.media.types import AudioClip, Frame, Limits, MediaInfo, MediaKind, MediaType
from cameoguard.media.video import iter_frames, read_audio, sample_frames, write_video

__all__ = [
    "AUDIO_WRITE_FORMATS",
    "IMAGE_WRITE_FORMATS",
    "MEDIA_TYPES",
    "SUPPORTED_MIME_TYPES",
    "AudioClip",
    "Frame",
    "Limits",
    "MediaInfo",
    "MediaKind",
    "MediaType",
    "encode_image",
    "iter_frames",
    "load_audio",
    "load_image",
    "probe",
    "read_audio",
    "sample_frames",
    "save_image",
    "sniff",
    "write_audio",
    "write_video",
]
