"""Measure the stft-ss audio watermark: SNR, payload recovery per attack, false alarms, speed.

    .venv/bin/python benchmarks/audio_watermark_probe.py [--trials N] [--false-alarms N]
        [--wrong-key N] [--attacks a,b] [--kinds speech,music] [--seconds S] [--param k=v]

Test audio: synthetic speech-like clips (voiced syllables with gliding pitch, vibrato, moving
formants, fricative bursts and pauses) and music-like clips (melody, chord pad, bass, drums),
``--seconds`` long (10), stereo, alternately 48 and 44.1 kHz, ``--trials`` of each kind; plus
10 s windows of the real WAV(s) under ../shared/data when present, at their own rate
("real") and resampled to 48 kHz ("real48k"). One fresh key and payload per clip.

Attacks: none; AAC and MP3 at 128 and 64 kbit/s (``write_audio`` then ``load_audio``);
resampling to 16 kHz and back; cutting the first 2 s; keeping only the middle 5 s; -6 dB gain.
A trial succeeds when some candidate decodes (``PayloadCodec.decode``) to exactly the embedded
payload; the table also shows the channel bit error rate of the best candidate. With
``--precode m4a`` every source is AAC-coded first (a soundtrack decoded from AAC, marked and
coded again: the tandem case).

False alarms: unmarked clips of every kind (noise, tones, speech-like, music-like, noisy
chord; 3-12 s) read with one key, and marked clips read with another key; every candidate is
decoded and any tag that checks counts. ``--param`` overrides :class:`StftParams` fields (for
tuning; marks made with other parameters are not readable with the defaults). Prints tables;
writes only scratch files in a temporary folder.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy.signal import resample_poly

from cameoguard.errors import WatermarkCapacityError
from cameoguard.media.audio import load_audio, write_audio
from cameoguard.media.types import AudioClip, Limits
from cameoguard.watermark.audio import StftParams, StftSpreadSpectrum
from cameoguard.watermark.keys import WatermarkKey
from cameoguard.watermark.payload import PayloadCodec, new_payload

F32 = npt.NDArray[np.float32]
LIMITS = Limits(
    max_bytes=1 << 32, max_pixels=1 << 30, max_video_seconds=3600, max_audio_seconds=3600
)
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


# --- synthetic audio ---------------------------------------------------------------------------


def _harmonic(
    f0: npt.NDArray[np.float64],
    sr: int,
    amps: Callable[[npt.NDArray[np.float64], int], npt.NDArray[np.float64]],
) -> npt.NDArray[np.float64]:
    phase = 2 * np.pi * np.cumsum(f0) / sr
    out = np.zeros_like(f0)
    for h in range(1, 40):
        fh = f0 * h
        if float(np.max(fh)) > min(sr / 2 - 500, 7500):
            break
        out += amps(fh, h) * np.sin(h * phase)
    return out


def speech_like(seconds: float, sr: int, rng: np.random.Generator) -> F32:
    n = int(seconds * sr)
    out = np.zeros(n)
    pos = int(rng.uniform(0, 0.2) * sr)
    base_f0 = rng.uniform(95, 230)
    while pos < n:
        length = int(rng.uniform(0.12, 0.35) * sr)
        seg = min(length, n - pos)
        t = np.arange(seg) / sr
        f0 = base_f0 * (1 + 0.15 * rng.uniform(-1, 1) * t / max(t[-1], 1e-3))
        f0 = (
            f0
            * (1 + 0.01 * np.sin(2 * np.pi * rng.uniform(4, 7) * t))
            * (1 + 0.003 * rng.standard_normal(seg))
        )
        formants = [rng.uniform(300, 900), rng.uniform(900, 2500), rng.uniform(2500, 3600)]

        def amps(
            fh: npt.NDArray[np.float64], h: int, formants: list[float] = formants
        ) -> npt.NDArray[np.float64]:
            a = np.zeros_like(fh)
            for f, w, g in zip(formants, (80, 120, 200), (1.0, 0.6, 0.3), strict=True):
                a += g / (1 + ((fh - f) / w) ** 2)
            return np.asarray(a / h**0.5, dtype=np.float64)

        voiced = _harmonic(f0, sr, amps)
        env = np.minimum(1, t / 0.03) * np.minimum(1, (t[-1] - t) / 0.05 + 1e-9) ** 1.5
        seg_sig = voiced * env
        if rng.random() < 0.35:  # fricative
            noise = rng.standard_normal(seg)
            noise = np.diff(np.concatenate([[0], noise]))  # tilt to high frequencies
            seg_sig += 0.15 * noise * env
        out[pos : pos + seg] += seg_sig
        pos += seg + int(rng.uniform(0.03, 0.3) * sr)
    out += 1e-3 * rng.standard_normal(n)
    out *= 0.35 / np.max(np.abs(out))
    right = 0.9 * np.roll(out, int(0.0004 * sr))
    return np.stack([out, right]).astype(np.float32)


def music_like(seconds: float, sr: int, rng: np.random.Generator) -> F32:
    n = int(seconds * sr)
    t = np.arange(n) / sr
    left = np.zeros(n)
    right = np.zeros(n)
    beat = 60 / rng.uniform(90, 140)
    root = rng.uniform(110, 220)
    scale = np.array([0, 2, 4, 5, 7, 9, 11, 12])
    # pad: sustained chord with slow swell
    for semis in (0, 4, 7):
        f = root * 2 ** (semis / 12) * (1 + 0.002 * np.sin(2 * np.pi * 0.3 * t))
        pad = _harmonic(f, sr, lambda fh, h: np.full_like(fh, 0.5 / h))
        left += 0.12 * pad * (0.7 + 0.3 * np.sin(2 * np.pi * 0.2 * t))
        right += 0.12 * pad * (0.7 + 0.3 * np.cos(2 * np.pi * 0.2 * t))
    # melody
    pos = 0
    while pos < n:
        dur = int(beat * rng.choice([0.5, 1, 1, 2]) * sr)
        seg = min(dur, n - pos)
        tt = np.arange(seg) / sr
        f = 2 * root * 2 ** (rng.choice(scale) / 12) * (1 + 0.006 * np.sin(2 * np.pi * 5.5 * tt))
        note = _harmonic(f, sr, lambda fh, h: np.full_like(fh, 1.0 / h**1.2)) * np.exp(-tt * 2.5)
        note *= np.minimum(1, tt / 0.01)
        left[pos : pos + seg] += 0.3 * note
        right[pos : pos + seg] += 0.2 * note
        pos += dur
    # bass and drums
    for k in range(int(seconds / beat)):
        start = int(k * beat * sr)
        seg = min(int(beat * sr), n - start)
        tt = np.arange(seg) / sr
        bass = np.sin(2 * np.pi * root / 2 * tt) * np.exp(-tt * 3)
        kick = np.sin(2 * np.pi * (50 + 80 * np.exp(-tt * 30)) * tt) * np.exp(-tt * 12)
        hat = rng.standard_normal(seg) * np.exp(-tt * 40)
        hat = np.diff(np.concatenate([[0], hat]))
        left[start : start + seg] += 0.25 * bass + 0.4 * kick + 0.05 * hat
        right[start : start + seg] += 0.25 * bass + 0.4 * kick + 0.07 * hat
    stereo = np.stack([left, right]) + 3e-4 * rng.standard_normal((2, n))
    return np.asarray(0.8 * stereo / np.max(np.abs(stereo)), dtype=np.float32)


def noise_clip(seconds: float, sr: int, rng: np.random.Generator) -> F32:
    n = int(seconds * sr)
    x = rng.standard_normal((2, n))
    if rng.random() < 0.5:  # pink-ish
        x = np.cumsum(x, axis=1)
        x -= np.linspace(x[:, :1], x[:, -1:], n, axis=1)[..., 0]
    return np.asarray(0.3 * x / np.max(np.abs(x)), dtype=np.float32)


def noisy_chord(seconds: float, sr: int, rng: np.random.Generator) -> F32:
    """cameoguard.demo.make_tone's A-major chord with tremolo, plus white noise at -34 dBFS
    (the sound the project's marker tests use)."""
    t = np.arange(int(seconds * sr)) / sr
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.18, 329.63)) / 3
    env = 0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t)
    x = np.stack([0.4 * chord * env, 0.4 * chord * env[::-1]])
    return np.asarray(x + rng.normal(0, 0.02, x.shape), dtype=np.float32)


def tone_clip(seconds: float, sr: int, rng: np.random.Generator) -> F32:
    t = np.arange(int(seconds * sr)) / sr
    x = sum(np.sin(2 * np.pi * rng.uniform(80, 3000) * t) for _ in range(int(rng.integers(1, 5))))
    x = np.asarray(x) * (0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.1, 2) * t))
    return np.asarray(0.4 * np.stack([x, x]) / np.max(np.abs(x)), dtype=np.float32)


def real_clips(seconds: float) -> list[tuple[str, F32, int]]:
    """Windows of ``seconds`` from the real WAVs under ../shared/data, native and at 48 kHz."""
    out = []
    if SHARED.is_dir():
        for path in sorted(SHARED.rglob("*.wav")):
            clip = load_audio(path, LIMITS)
            sr = clip.sample_rate
            n = int(seconds * sr)
            for start in range(0, clip.n_samples - n + 1, n):
                piece = clip.samples[:, start : start + n]
                out.append((f"real:{path.name}@{start / sr:.0f}s", piece, sr))
                out.append(
                    (f"real48k:{path.name}@{start / sr:.0f}s", _resample(piece, sr, 48_000), 48_000)
                )
    return out


# --- attacks -----------------------------------------------------------------------------------


def _codec(x: F32, sr: int, suffix: str, tmp: Path, bitrate: int = 128_000) -> tuple[F32, int]:
    path = tmp / f"a{suffix}"
    write_audio(AudioClip(np.ascontiguousarray(x), sr), path, bitrate=bitrate)
    clip = load_audio(path, LIMITS)
    return clip.samples, clip.sample_rate


def _resample(x: F32, sr: int, to: int) -> F32:
    from math import gcd

    g = gcd(sr, to)
    y = resample_poly(x.astype(np.float64), to // g, sr // g, axis=1)
    return np.asarray(y, dtype=np.float32)


ATTACKS: dict[str, Callable[[F32, int, Path], tuple[F32, int]]] = {
    "none": lambda x, sr, tmp: (x, sr),
    "aac128": lambda x, sr, tmp: _codec(x, sr, ".m4a", tmp),
    "mp3_128": lambda x, sr, tmp: _codec(x, sr, ".mp3", tmp),
    "resample16k": lambda x, sr, tmp: (_resample(_resample(x, sr, 16_000), 16_000, sr), sr),
    "trim2s": lambda x, sr, tmp: (x[:, 2 * sr :], sr),
    "middle5s": lambda x, sr, tmp: (x[:, int(2.5 * sr) : int(7.5 * sr)], sr),
    "gain-6dB": lambda x, sr, tmp: (x * np.float32(0.5), sr),
    "aac64": lambda x, sr, tmp: _codec(x, sr, ".m4a", tmp, 64_000),
    "mp3_64": lambda x, sr, tmp: _codec(x, sr, ".mp3", tmp, 64_000),
}


def snr_db(orig: F32, marked: F32) -> float:
    o = orig.astype(np.float64)
    d = marked.astype(np.float64) - o
    return float(10 * np.log10(np.sum(o**2) / max(np.sum(d**2), 1e-30)))


def recovered(
    scheme: StftSpreadSpectrum, codec: PayloadCodec, x: F32, sr: int, payload: int
) -> tuple[bool, float]:
    """(exact payload recovered, channel bit error rate of the best candidate)."""
    cands = scheme.detect_audio(x, sr)
    truth = codec.encode(payload)
    ber = float(np.mean((cands[0].values > 0) != truth)) if cands else 0.5
    for cand in cands:
        got = codec.decode(cand.values)
        if got is not None:
            return got.value == payload, ber
    return False, ber


def _timing(params: StftParams, repeats: int = 5) -> tuple[float, float]:
    """Median embed and detect seconds for 10 s of 48 kHz stereo music-like audio."""
    x = music_like(10.0, 48_000, np.random.default_rng(7))
    key = WatermarkKey.generate()
    scheme = StftSpreadSpectrum(key, params)
    bits = PayloadCodec(key).encode(new_payload())
    embed, detect = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        marked = scheme.embed_audio(x, 48_000, bits)
        t1 = time.perf_counter()
        scheme.detect_audio(marked, 48_000)
        embed.append(t1 - t0)
        detect.append(time.perf_counter() - t1)
    return float(np.median(embed)), float(np.median(detect))


GENERATORS: dict[str, Callable[[float, int, np.random.Generator], F32]] = {
    "speech": speech_like,
    "music": music_like,
    "noise": noise_clip,
    "tone": tone_clip,
    "noisychord": noisy_chord,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=20, help="marked clips per kind")
    parser.add_argument("--false-alarms", type=int, default=50, help="unmarked clips per kind")
    parser.add_argument("--wrong-key", type=int, default=50, help="marked clips, other key")
    parser.add_argument("--attacks", default=",".join(ATTACKS))
    parser.add_argument(
        "--kinds", default="speech,music", help="of speech,music,noise,tone,noisychord"
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--precode",
        choices=["none", "m4a", "mp3"],
        default="none",
        help="code each source at 128k first (as a decoded soundtrack), then mark it",
    )
    parser.add_argument("--param", action="append", default=[], help="StftParams field=value")
    args = parser.parse_args(argv)
    overrides: dict[str, float | int] = {}
    for item in args.param:
        k, v = item.split("=")
        overrides[k] = float(v) if "." in v or "e" in v else int(v)
    params = StftParams(**overrides)  # type: ignore[arg-type]
    attacks = args.attacks.split(",")
    rng = np.random.default_rng(2024)
    embed_s, detect_s = _timing(params)
    print(f"params: {params}")
    print(f"10 s 48 kHz stereo: embed {embed_s * 1000:.0f} ms, detect {detect_s * 1000:.0f} ms")

    signals: list[tuple[str, F32, int]] = []
    for kind in args.kinds.split(","):
        for i in range(args.trials):
            sr = 48_000 if i % 2 == 0 else 44_100
            signals.append((kind, GENERATORS[kind](args.seconds, sr, rng), sr))
    signals.extend(real_clips(args.seconds))

    ok: dict[tuple[str, str], list[bool]] = {}
    bers: dict[tuple[str, str], list[float]] = {}
    snrs: dict[str, list[float]] = {}
    refused: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for name, x, sr in signals:
            group = name.split(":")[0]
            key = WatermarkKey.generate()
            scheme = StftSpreadSpectrum(key, params)
            codec = PayloadCodec(key)
            payload = new_payload()
            if args.precode != "none":
                x, sr = _codec(x, sr, f".{args.precode}", tmp)
            try:
                marked = scheme.embed_audio(x, sr, codec.encode(payload))
            except WatermarkCapacityError:
                refused[group] = refused.get(group, 0) + 1
                continue
            snrs.setdefault(group, []).append(snr_db(x, marked))
            for attack in attacks:
                y, ysr = ATTACKS[attack](marked, sr, tmp)
                good, ber = recovered(scheme, codec, y, ysr, payload)
                ok.setdefault((group, attack), []).append(good)
                bers.setdefault((group, attack), []).append(ber)
    groups = sorted(snrs)
    for g in groups:
        v = snrs[g]
        print(
            f"SNR {g:<8} n={len(v):<4} min {min(v):.1f} dB  median {np.median(v):.1f} dB"
            + (f"  (refused {refused[g]})" if g in refused else "")
        )
    for g, n in refused.items():
        if g not in snrs:
            print(f"SNR {g:<8} refused all {n} clips (WatermarkCapacityError)")
    print(f"{'attack':<12}" + "".join(f"{g + ' ok/n (BER)':>22}" for g in groups))
    for attack in attacks:
        row = f"{attack:<12}"
        for g in groups:
            v, b = ok.get((g, attack), []), bers.get((g, attack), [])
            row += f"{sum(v):>10}/{len(v):<4} ({np.mean(b):.3f})"
        print(row)

    key = WatermarkKey.generate()
    scheme = StftSpreadSpectrum(key, params)
    codec = PayloadCodec(key)
    for kind, gen in GENERATORS.items():
        clips = passed = candidates = 0
        for i in range(args.false_alarms):
            sr = 48_000 if i % 2 == 0 else 44_100
            x = gen(float(rng.uniform(3, 12)), sr, rng)
            cands = scheme.detect_audio(x, sr)
            candidates += len(cands)
            passed += sum(codec.decode(c.values) is not None for c in cands)
            clips += 1
        print(f"unmarked {kind:<7} {clips} clips, {candidates} candidates, {passed} decoded")
    clips = passed = candidates = 0
    for i in range(args.wrong_key):
        other = WatermarkKey.generate()
        x = speech_like(10.0, 48_000, rng) if i % 2 else music_like(10.0, 48_000, rng)
        bits = PayloadCodec(other).encode(new_payload())
        marked = StftSpreadSpectrum(other, params).embed_audio(x, 48_000, bits)
        cands = scheme.detect_audio(marked, 48_000)
        candidates += len(cands)
        passed += sum(codec.decode(c.values) is not None for c in cands)
        clips += 1
    print(f"wrong key        {clips} clips, {candidates} candidates, {passed} decoded")
    return 0


if __name__ == "__main__":
    sys.exit(main())
