"""The attacks of ``benchmarks/watermark.py``, and its synthetic test sound.

Image attacks take an RGB uint8 array and a seeded generator (only the noise uses it) and
return the attacked RGB array. Video attacks map a list of decoded frames (and their fps) to
the frames and fps to re-encode. Audio attacks map float32 (channels, n) samples at a rate to
new samples and a rate (codecs round-trip through ``write_audio`` / ``load_audio``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from scipy.signal import resample_poly

from cameoguard.media.audio import load_audio, write_audio
from cameoguard.media.types import AudioClip, Limits

RGB = npt.NDArray[np.uint8]
F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
ImageAttack = Callable[[RGB, np.random.Generator], RGB]
VideoAttack = Callable[[list[RGB], float], tuple[list[RGB], float]]
AudioAttack = Callable[[F32, int, Path, Limits], tuple[F32, int]]

_LUMA = np.array([0.299, 0.587, 0.114])

# --- images ---------------------------------------------------------------------------------


def _u8(x: npt.NDArray[np.floating]) -> RGB:
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def jpeg(quality: int) -> ImageAttack:
    """Encode as JPEG (libjpeg through OpenCV, 4:2:0) at ``quality`` and decode."""

    def attack(rgb: RGB, rng: np.random.Generator) -> RGB:
        ok, buf = cv2.imencode(".jpg", rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
        assert ok
        return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1])

    return attack


def resize_back(factor: float) -> ImageAttack:
    """Downscale by ``factor`` (area), then back to the original size (bilinear)."""

    def attack(rgb: RGB, rng: np.random.Generator) -> RGB:
        h, w = rgb.shape[:2]
        small = cv2.resize(
            rgb, (round(w * factor), round(h * factor)), interpolation=cv2.INTER_AREA
        )
        return np.asarray(cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR), np.uint8)

    return attack


def center_crop(share: float) -> ImageAttack:
    """Keep the central ``1 - share`` of each side, resized back to the original size."""

    def attack(rgb: RGB, rng: np.random.Generator) -> RGB:
        h, w = rgb.shape[:2]
        dy, dx = round(h * share / 2), round(w * share / 2)
        crop = rgb[dy : h - dy, dx : w - dx]
        return np.asarray(cv2.resize(crop, (w, h), interpolation=cv2.INTER_LINEAR), np.uint8)

    return attack


def brightness(factor: float) -> ImageAttack:
    """Scale every channel by ``factor`` (PIL ``ImageEnhance.Brightness``), clipped."""
    return lambda rgb, rng: _u8(rgb.astype(np.float32) * factor)


def contrast(factor: float) -> ImageAttack:
    """Scale the distance from the mean luma by ``factor`` (PIL ``ImageEnhance.Contrast``)."""

    def attack(rgb: RGB, rng: np.random.Generator) -> RGB:
        mean = float(np.mean(rgb.astype(np.float64) @ _LUMA))
        return _u8((rgb.astype(np.float32) - mean) * factor + mean)

    return attack


def gaussian_noise(sigma: float) -> ImageAttack:
    """Add white Gaussian noise of standard deviation ``sigma`` (grey levels) per channel."""
    return lambda rgb, rng: _u8(rgb + rng.normal(0.0, sigma, rgb.shape))


def screenshot(factor: float = 0.8) -> ImageAttack:
    """A re-render: resize to ``factor`` (bilinear, as a browser at 80 % zoom) and save as PNG."""

    def attack(rgb: RGB, rng: np.random.Generator) -> RGB:
        h, w = rgb.shape[:2]
        small = cv2.resize(
            rgb, (round(w * factor), round(h * factor)), interpolation=cv2.INTER_LINEAR
        )
        ok, buf = cv2.imencode(".png", small[:, :, ::-1])
        assert ok
        return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1])

    return attack


IMAGE_ATTACKS: dict[str, ImageAttack] = {
    "none": lambda rgb, rng: rgb,
    "jpeg-q90": jpeg(90),
    "jpeg-q75": jpeg(75),
    "jpeg-q50": jpeg(50),
    "resize-0.5": resize_back(0.5),
    "crop-10%": center_crop(0.10),
    "brightness+20%": brightness(1.2),
    "brightness-20%": brightness(0.8),
    "contrast+20%": contrast(1.2),
    "contrast-20%": contrast(0.8),
    "noise-sigma5": gaussian_noise(5.0),
    "screenshot-0.8-png": screenshot(0.8),
}

# --- video ----------------------------------------------------------------------------------


def same(frames: list[RGB], fps: float) -> tuple[list[RGB], float]:
    return frames, fps


def downscale(height: int) -> VideoAttack:
    """Every frame resized (area) to ``height`` rows, the width kept in proportion and even."""

    def attack(frames: list[RGB], fps: float) -> tuple[list[RGB], float]:
        h, w = frames[0].shape[:2]
        width = 2 * round(w * height / h / 2)
        size = (width, height)
        return [np.asarray(cv2.resize(f, size, interpolation=cv2.INTER_AREA)) for f in frames], fps

    return attack


def frame_rate(factor: float) -> VideoAttack:
    """Resample to ``fps * factor`` by keeping, for each new tick, the frame shown at that time."""

    def attack(frames: list[RGB], fps: float) -> tuple[list[RGB], float]:
        new_fps = fps * factor
        count = math.floor(len(frames) / fps * new_fps)
        picks = [min(len(frames) - 1, math.floor(k * fps / new_fps + 1e-9)) for k in range(count)]
        return [frames[i] for i in picks], new_fps

    return attack


def trim_start(seconds: float) -> VideoAttack:
    def attack(frames: list[RGB], fps: float) -> tuple[list[RGB], float]:
        return frames[round(seconds * fps) :], fps

    return attack


# --- audio ----------------------------------------------------------------------------------


def audio_codec(suffix: str, bitrate: int) -> AudioAttack:
    """Write with ``write_audio`` (``.m4a`` = AAC, ``.mp3``) at ``bitrate`` and load back."""

    def attack(x: F32, sr: int, tmp: Path, limits: Limits) -> tuple[F32, int]:
        path = tmp / f"attack{suffix}"
        write_audio(AudioClip(np.ascontiguousarray(x, np.float32), sr), path, bitrate=bitrate)
        clip = load_audio(path, limits)
        return clip.samples, clip.sample_rate

    return attack


def resample_to(rate: int) -> AudioAttack:
    """Polyphase resampling to ``rate`` (the detector gets the clip at that rate)."""

    def attack(x: F32, sr: int, tmp: Path, limits: Limits) -> tuple[F32, int]:
        g = math.gcd(sr, rate)
        y = resample_poly(x.astype(np.float64), rate // g, sr // g, axis=1)
        return np.clip(y, -1.0, 1.0).astype(np.float32), rate

    return attack


def audio_trim(seconds: float) -> AudioAttack:
    return lambda x, sr, tmp, limits: (np.ascontiguousarray(x[:, round(seconds * sr) :]), sr)


AUDIO_ATTACKS: dict[str, AudioAttack] = {
    "none": lambda x, sr, tmp, limits: (x, sr),
    "aac-128k": audio_codec(".m4a", 128_000),
    "mp3-128k": audio_codec(".mp3", 128_000),
    "resample-16k": resample_to(16_000),
    "trim-first-2s": audio_trim(2.0),
}


# --- synthetic sound ------------------------------------------------------------------------


def _harmonics(f0: F64, sr: int, tilt: float, formants: tuple[float, ...] = ()) -> F64:
    """A harmonic tone following the pitch track ``f0``, harmonics up to ~7.5 kHz."""
    phase = 2.0 * np.pi * np.cumsum(f0) / sr
    out = np.zeros_like(f0)
    for h in range(1, 48):
        fh = f0 * h
        if float(np.max(fh)) > min(sr / 2 - 500, 7500):
            break
        if formants:
            amp = np.zeros_like(fh)
            for f, bw, g in zip(formants, (80.0, 120.0, 200.0), (1.0, 0.6, 0.3), strict=True):
                amp += g / (1.0 + ((fh - f) / bw) ** 2)
            amp /= h**0.5
        else:
            amp = np.full_like(fh, 1.0 / h**tilt)
        out += amp * np.sin(h * phase)
    return out


def speech_like(seconds: float, sr: int, rng: np.random.Generator) -> F32:
    """Voiced syllables (gliding pitch, vibrato, formants), fricative noise and pauses; stereo."""
    n = int(seconds * sr)
    out = np.zeros(n)
    pos = int(rng.uniform(0.0, 0.2) * sr)
    base = rng.uniform(95, 230)
    while pos < n:
        seg = min(int(rng.uniform(0.12, 0.35) * sr), n - pos)
        t = np.arange(seg) / sr
        glide = 1.0 + 0.15 * rng.uniform(-1, 1) * t / max(float(t[-1]), 1e-3)
        f0 = base * glide * (1.0 + 0.01 * np.sin(2 * np.pi * rng.uniform(4, 7) * t))
        formants = (rng.uniform(300, 900), rng.uniform(900, 2500), rng.uniform(2500, 3600))
        env = np.minimum(1.0, t / 0.03) * np.minimum(1.0, (t[-1] - t) / 0.05 + 1e-9) ** 1.5
        syllable = _harmonics(f0, sr, 0.5, formants) * env
        if rng.random() < 0.35:
            syllable += 0.15 * np.diff(rng.standard_normal(seg + 1)) * env
        out[pos : pos + seg] += syllable
        pos += seg + int(rng.uniform(0.03, 0.3) * sr)
    out += 1e-3 * rng.standard_normal(n)
    out *= 0.35 / np.max(np.abs(out))
    return np.stack([out, 0.9 * np.roll(out, int(0.0004 * sr))]).astype(np.float32)


def music_like(seconds: float, sr: int, rng: np.random.Generator) -> F32:
    """A chord pad, a plucked melody, bass, kick and hi-hat; stereo."""
    n = int(seconds * sr)
    t = np.arange(n) / sr
    left, right = np.zeros(n), np.zeros(n)
    beat = 60.0 / rng.uniform(90, 140)
    root = rng.uniform(110, 220)
    for semis in (0, 4, 7):
        pad = _harmonics(root * 2 ** (semis / 12) * np.ones(n), sr, 1.0)
        left += 0.06 * pad * (0.7 + 0.3 * np.sin(2 * np.pi * 0.2 * t))
        right += 0.06 * pad * (0.7 + 0.3 * np.cos(2 * np.pi * 0.2 * t))
    pos = 0
    scale = np.array([0, 2, 4, 5, 7, 9, 11, 12])
    while pos < n:
        dur = int(beat * rng.choice([0.5, 1.0, 1.0, 2.0]) * sr)
        seg = min(dur, n - pos)
        tt = np.arange(seg) / sr
        f = 2 * root * 2 ** (rng.choice(scale) / 12) * (1 + 0.006 * np.sin(2 * np.pi * 5.5 * tt))
        note = _harmonics(f, sr, 1.2) * np.exp(-tt * 2.5) * np.minimum(1.0, tt / 0.01)
        left[pos : pos + seg] += 0.3 * note
        right[pos : pos + seg] += 0.2 * note
        pos += dur
    for k in range(int(seconds / beat)):
        start = int(k * beat * sr)
        seg = min(int(beat * sr), n - start)
        tt = np.arange(seg) / sr
        bass = np.sin(2 * np.pi * root / 2 * tt) * np.exp(-tt * 3)
        kick = np.sin(2 * np.pi * (50 + 80 * np.exp(-tt * 30)) * tt) * np.exp(-tt * 12)
        hat = np.diff(rng.standard_normal(seg + 1)) * np.exp(-tt * 40)
        left[start : start + seg] += 0.25 * bass + 0.4 * kick + 0.05 * hat
        right[start : start + seg] += 0.25 * bass + 0.4 * kick + 0.07 * hat
    stereo = np.stack([left, right]) + 3e-4 * rng.standard_normal((2, n))
    return (0.8 * stereo / np.max(np.abs(stereo))).astype(np.float32)
