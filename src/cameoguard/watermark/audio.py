"""stft-ss: a keyed audio watermark that survives AAC/MP3, resampling and trimming.

Design
------
Everything happens on a mono mix resampled to 16 kHz (``scipy.signal.resample_poly``), so a
16 kHz resampling attack changes nothing the detector looks at. The watermark is computed
there, upsampled to the clip's rate and added identically to every channel, so a downmix keeps
it. Every pseudo-random choice (band order, chips, dithers, bit order) comes from the
:class:`WatermarkKey`; another key reads noise.

*Domain.* A short-time Fourier transform (512-point sqrt-Hann frames, hop 256 = 16 ms) is cut
into tiles of 4 frames (64 ms) by 4 bins (125 Hz) over 34 bands from 312 Hz to 4.56 kHz, where
AAC and MP3 at 128 kbit/s keep the sound almost intact. A tile's value is its log amplitude
``L = ln(E + eps) / 2`` (``E`` its energy). The floor ``eps`` is 0.4 % of the mean tile energy
of the tile's column (at least 0.1 % of the clip's mean), so near-silent tiles, which a codec
rewrites at will, are flattened out of the statistic instead of adding noise to it.

*Blocks.* A block is 32 tile columns (2.048 s) x 34 bands = 1088 tiles; 172 groups of 6 tiles
carry the 172 channel bits, and the block repeats over the whole clip, so any ~2 s window
holds the full payload. A group's tiles lie in one or two adjacent columns (bands in keyed
order), so a block cut by trimming still yields every group it holds complete.

*Modulation: spread-transform dither modulation (STDM, a quantisation index modulation).*
Each group has balanced keyed chips ``c`` (three +1, three -1, unit norm) and a keyed dither
``d``; its projection ``p = sum(c * L) / step`` (``step`` in natural-log amplitude) is
moved to the nearest point of the lattice ``d + 1/4 + Z`` for bit 1, ``d - 1/4 + Z`` for bit
0. Unlike additive spread spectrum the host does not interfere (the detector reads where ``p``
sits, not a correlation buried under the music), which is what fits 172 bits in 2 s at over
30 dB SNR; the balanced chips make ``p`` blind to gain changes. The change is split over the
group's tiles at least added energy (tile ``k`` moves by ``~ c_k / (E_k + eps_k)``: quiet but
present tiles carry most of it, loud tiles little), applied as a gain on the tile's STFT cells
and synthesised by overlap-add. Five closed-loop passes re-analyse the marked signal and
correct what overlap-add smeared (and, for files below 10 kHz, what their own rate cuts off);
a tile's change is capped at +-1.0 (+-8.7 dB). Groups lying in silence are left alone. A
final guard scales the watermark down when the SNR would fall below 30.5 dB, and refuses
(WatermarkCapacityError) when that would take more than a 25 % cut (sparse, tonal sound).

*Strength levels.* ``step`` is 1.0, or 2.0 when the SNR budget allows (about 6 dB more
watermark energy; each level has its own keyed dither and the detector searches both). Speech
and music use 1.0 (about 33 dB SNR). Sound whose in-band part is noise-like and quiet next to
the rest (a tonal bed under a noise floor: 40 dB at level 1.0) gets 2.0: small changes to
noise-like bands are undone when audio that was already AAC-coded is decoded, marked and
AAC-coded again on the same frame grid (a video's soundtrack), which cut the sync z-score from
23 to ~5 at 1.0 and leaves ~21 at 2.0.

*Detection.* A group's soft value is ``sin(2 pi (p - d))`` (positive = 1). The sync statistic
``-cos(4 pi (p - d))`` is near 1 on every marked group whatever its bit and averages 0
elsewhere, so all data tiles double as the keyed sync pattern. The detector tries 8 sub-hop
shifts (2 ms), 4 frame phases, 32 block rotations (1024 offsets per 2.048 s) and 2 levels,
scores each by the weighted sum of the statistic over all complete groups as a z-score
(weight: how far a group's tiles rise above the floor; on audio over 16 blocks the search uses
the 16 consecutive blocks with the most sound, then sums soft values over all blocks), and
returns up to 8 (offset, level) hypotheses with z >= 5, best first, others within 2 hops
suppressed. Marked audio scores about 15-35 (7-14 after AAC 128k on speech); unmarked speech,
music and noise stay below ~4.5, steady tones sometimes pass 5. The payload codec's 32-bit tag
is the real guard: at most 8 x 2^-32 false payloads per clip.

Limits: the mark rides on the sound between 312 Hz and 4.56 kHz; clips shorter than 3 s,
quieter than RMS 1e-4, or too sparse (pure tones) are refused with WatermarkCapacityError.
Reading a single channel of a stereo mix whose channels differ is not guaranteed (the mark is
shaped on the downmix). Pitch shifts and time stretches are not searched.

Measured
--------
``benchmarks/audio_watermark_probe.py --trials 100 --false-alarms 100 --wrong-key 200`` on a
2-core machine: 100 speech-like and 100 music-like synthetic 10 s stereo clips (alternately
44.1 and 48 kHz) plus 3 x 10 s of the real 8 kHz stereo WAV under ../shared/data, at 8 kHz
and resampled to 48 kHz; a fresh key and payload per clip; success = a candidate decodes to
exactly the payload.

* SNR (marked vs original, all channels): speech min 31.4 / median 33.1 dB, music min 32.8 /
  median 33.4 dB, real 32.5-33.1 dB (level 2.0).
* Recovery (speech, music, real 8 kHz + 48 kHz): no attack, AAC 128k (.m4a), MP3 128k, 16 kHz
  resampling and back, cutting the first 2 s, keeping the middle 5 s, -6 dB gain: 100/100,
  100/100 and 6/6 each. Beyond the brief: AAC 64k 82/100 speech, 100/100 music; MP3 64k
  100/100 both. Channel bit error rate of the best candidate, speech at 128k: <= 1 %.
* Tandem coding (``--precode m4a``: source AAC-coded, then marked, then coded again; 30 clips
  each of speech, music and the noisy chord of cameoguard.demo.make_tone, plus the real WAV):
  100 % after AAC 128k, MP3 128k and trimming 2 s; SNR >= 30.5 dB.
* 3 s clips (the minimum), 20 each + 22 real: music and real 100 % after AAC/MP3 128k and
  resampling; speech 20/20 unattacked, after MP3 128k and resampling, 16/20 after AAC 128k.
  5 s clips (20 each): 20/20 after AAC/MP3 128k and trimming 2 s.
* False alarms: 500 unmarked clips (speech, music, noise, tones, noisy chord; 3-12 s; 32
  candidates above threshold, 31 of them on steady tones) and 200 marked clips read with
  another key (1 candidate): no payload decoded.
* Speed: 10 s of 48 kHz stereo, embed ~65 ms (~120 ms when level 2.0 is tried), detect
  ~270 ms; 10 min, embed ~7 s, detect ~3 s, ~1.3 GB peak.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import numpy.typing as npt
from scipy.signal import get_window, resample_poly
from scipy.special import ndtr

from cameoguard.errors import BadInputError, WatermarkCapacityError
from cameoguard.media.types import MediaKind
from cameoguard.watermark.base import SoftBits, register_scheme
from cameoguard.watermark.keys import WatermarkKey
from cameoguard.watermark.payload import CODED_BITS

__all__ = ["SILENT_RMS", "StftParams", "StftSpreadSpectrum"]

F64 = npt.NDArray[np.float64]
C128 = npt.NDArray[np.complex128]
Samples = npt.NDArray[np.float32]
Bits = npt.NDArray[np.uint8]

SILENT_RMS = 1e-4
"""Below this RMS (full scale = 1) audio counts as silent: no embedding, no detection."""


@dataclass(frozen=True, slots=True)
class StftParams:
    """The scheme's constants. They are part of the mark's format: changing any of the
    layout or analysis fields makes old marks unreadable (the probe script varies them)."""

    rate: int = 16_000
    n_fft: int = 512
    hop: int = 256
    lo_bin: int = 10  # 312.5 Hz
    band_bins: int = 4
    n_bands: int = 34  # up to bin 146 = 4.56 kHz
    tile_frames: int = 4
    columns: int = 32  # tile columns per block: 128 frames = 2.048 s
    group: int = 6  # tiles per channel bit per block
    steps: tuple[float, ...] = (1.0, 2.0)  # lattice steps (strength levels), log amplitude
    floor: float = 1e-3  # global floor, relative to the clip's mean tile energy
    col_floor: float = 4e-3  # floor relative to the mean tile energy of the column
    # embedding only
    iterations: int = 5
    max_delta: float = 1.0  # cap on a tile's log-amplitude change
    headroom_db: float = 0.5  # a stronger level is tried when its SNR would clear this margin
    min_sensitivity: float = 0.1  # groups less responsive than this are left unmarked
    min_usable: float = 0.15  # share of groups that must be markable
    min_snr_db: float = 30.5
    min_scale: float = 0.75  # below this SNR-guard scaling, refuse rather than mark weakly
    min_seconds: float = 3.0
    # detection only
    shifts: int = 8  # sub-hop synchronisation shifts
    sync_threshold: float = 5.0
    max_candidates: int = 8
    search_blocks: int = 16  # long audio: sync is searched in the 16 busiest blocks (33 s)

    @property
    def block_frames(self) -> int:
        return self.columns * self.tile_frames

    @property
    def block_samples(self) -> int:
        return self.block_frames * self.hop


@dataclass(frozen=True, slots=True)
class _Layout:
    """The keyed layout of one block."""

    col: npt.NDArray[np.intp]  # (G, N) tile column of each group member, within the block
    band: npt.NDArray[np.intp]  # (G, N) band of each member
    chips: F64  # (G, N) balanced +-1, unit norm per group
    dither: F64  # (S, G) lattice dither in [0, 1), one row per strength level
    bit: npt.NDArray[np.intp]  # (G,) channel bit carried by each group


def _make_layout(key: WatermarkKey, p: StftParams, n_bits: int) -> _Layout:
    n = p.group
    tiles = p.columns * p.n_bands
    if n % 2 or tiles < n_bits * n:
        raise ValueError(f"a block of {tiles} tiles cannot hold {n_bits} groups of {n}")
    # tiles in time order, bands in keyed order within each column; groups are consecutive
    # runs of that order, so each group spans at most two adjacent columns
    order = np.concatenate(
        [
            c * p.n_bands + key.permutation(f"audio/stft-ss/bands/{c}", p.n_bands)
            for c in range(p.columns)
        ]
    )
    used = order[np.round(np.linspace(0, tiles - 1, n_bits * n)).astype(np.intp)]
    used = used.reshape(n_bits, n)
    keyed = key.gaussian("audio/stft-ss/chips", n_bits * n).reshape(n_bits, n)
    ranks = np.argsort(np.argsort(keyed, axis=1), axis=1)
    chips = np.where(ranks < n // 2, 1.0, -1.0) / np.sqrt(n)
    dither = np.stack(
        [
            np.asarray(ndtr(key.gaussian(f"audio/stft-ss/dither/{i}", n_bits)), np.float64)
            for i in range(len(p.steps))
        ]
    )
    return _Layout(
        col=(used // p.n_bands).astype(np.intp),
        band=(used % p.n_bands).astype(np.intp),
        chips=chips,
        dither=dither,
        bit=key.permutation("audio/stft-ss/bits", n_bits),
    )


def _resample(x: F64, src: int, dst: int) -> F64:
    if src == dst:
        return x
    ratio = Fraction(dst, src)
    return np.asarray(resample_poly(x, ratio.numerator, ratio.denominator), dtype=np.float64)


def _fit(x: F64, n: int) -> F64:
    if len(x) >= n:
        return x[:n]
    return np.concatenate([x, np.zeros(n - len(x))])


def _energy(x: Samples) -> float:
    """Sum of squares in float64, one channel at a time (bounded memory on long audio)."""
    total = 0.0
    for row in x:
        r = row.astype(np.float64)
        total += float(np.dot(r, r))
    return total


def _check_samples(samples: Samples, sample_rate: int) -> Samples:
    x = np.asarray(samples)
    if x.ndim != 2 or x.shape[0] < 1:
        raise BadInputError(
            f"audio samples must have shape (channels, n), got {x.shape}; reshape mono audio "
            "with samples[None, :]"
        )
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int | np.integer):
        raise BadInputError(f"sample_rate must be an integer number of Hz, got {sample_rate!r}")
    if sample_rate <= 0:
        raise BadInputError(f"sample_rate must be positive, got {sample_rate}")
    if not np.all(np.isfinite(x)):
        raise BadInputError(
            "audio holds NaN or infinite samples; clean them (np.nan_to_num) before "
            "watermarking or detection"
        )
    return np.asarray(x, dtype=np.float32)


@register_scheme(
    "stft-ss",
    kind=MediaKind.AUDIO,
    description=(
        "keyed spread-transform QIM on STFT tile log-magnitudes, 300 Hz-4.5 kHz at 16 kHz, "
        "172 bits per 2 s block; survives AAC/MP3 128k, 16 kHz resampling, trimming, gain"
    ),
)
class StftSpreadSpectrum:
    """The ``stft-ss`` audio scheme (see the module docstring for the design)."""

    name = "stft-ss"
    capacity_bits = CODED_BITS

    def __init__(self, key: WatermarkKey, params: StftParams | None = None) -> None:
        self.params = params or StftParams()
        self.max_candidates = self.params.max_candidates
        self.min_seconds = self.params.min_seconds
        self._layout = _make_layout(key, self.params, self.capacity_bits)
        self._window = np.sqrt(np.asarray(get_window("hann", self.params.n_fft), np.float64))

    # --- analysis -------------------------------------------------------------------------

    def _stft(self, x: F64) -> C128:
        p = self.params
        if len(x) < p.n_fft:
            return np.zeros((0, p.n_fft // 2 + 1), dtype=np.complex128)
        frames = np.lib.stride_tricks.sliding_window_view(x, p.n_fft)[:: p.hop]
        return np.fft.rfft(frames * self._window, axis=1)

    def _istft(self, spec: C128, length: int) -> F64:
        """Overlap-add inverse of :meth:`_stft` (sqrt-Hann at 50 % overlap: exact)."""
        p = self.params
        frames = np.fft.irfft(spec, n=p.n_fft, axis=1) * self._window
        k = frames.shape[0]
        out = np.zeros(max((k + 1) * p.hop, length))
        out[: k * p.hop] += frames[:, : p.hop].ravel()
        out[p.hop : (k + 1) * p.hop] += frames[:, p.hop :].ravel()
        return out[:length]

    def _frame_energy(self, x: F64) -> F64:
        """Band energies (frames x bands) of ``x``, a few thousand frames at a time."""
        p = self.params
        chunk = 4096 * p.hop
        parts = [
            self._band_energy(self._stft(x[start : start + chunk + p.n_fft - p.hop]))
            for start in range(0, max(len(x) - p.n_fft + p.hop, 1), chunk)
        ]
        return np.concatenate(parts) if parts else np.zeros((0, p.n_bands))

    def _band_energy(self, spec: C128) -> F64:
        p = self.params
        cells = spec[:, p.lo_bin : p.lo_bin + p.n_bands * p.band_bins]
        power = cells.real**2 + cells.imag**2
        energy: F64 = power.reshape(power.shape[0], p.n_bands, p.band_bins).sum(axis=2)
        return energy

    def _tiles(self, band_energy: F64, first: int = 0) -> F64:
        """Tile energies (columns x bands) of the tile columns starting at frame ``first``."""
        t = self.params.tile_frames
        e = band_energy[first:]
        m = e.shape[0] // t
        tiles: F64 = e[: m * t].reshape(m, t, -1).sum(axis=1)
        return tiles

    def _floor(self, tiles: F64) -> F64:
        p = self.params
        floor = p.floor * float(np.mean(tiles)) + 1e-20
        column = p.col_floor * tiles.mean(axis=1, keepdims=True)
        return np.broadcast_to(np.maximum(column, floor), tiles.shape)

    # --- embedding ------------------------------------------------------------------------

    def embed_audio(self, samples: Samples, sample_rate: int, bits: Bits) -> Samples:
        """A marked copy of ``samples`` (float32, channels x n, clipped to [-1, 1])."""
        p = self.params
        x = _check_samples(samples, sample_rate)
        b = np.asarray(bits).reshape(-1)
        if b.shape != (self.capacity_bits,) or not np.all((b == 0) | (b == 1)):
            raise ValueError(
                f"expected {self.capacity_bits} channel bits (0/1), got an array of shape "
                f"{np.shape(bits)}; encode the payload with PayloadCodec.encode"
            )
        seconds = x.shape[1] / sample_rate
        if seconds < self.min_seconds:
            raise WatermarkCapacityError(
                f"audio is {seconds:.2f} s long, too short for the {self.name} watermark, which "
                f"needs at least {self.min_seconds:.1f} s; mark a longer clip"
            )
        energy = _energy(x)
        rms = float(np.sqrt(energy / x.size))
        if rms < SILENT_RMS:
            raise WatermarkCapacityError(
                f"audio is silent or nearly so (RMS {rms:.1e}, below {SILENT_RMS:.0e}); the "
                "watermark rides on the sound itself and cannot be embedded in silence. Mark "
                "audio with audible content"
            )
        mono = _resample(x.mean(axis=0, dtype=np.float64), sample_rate, p.rate)
        limit = energy * 10.0 ** (-p.min_snr_db / 10.0)  # most watermark energy allowed
        bits8 = b.astype(np.uint8)
        w = _fit(
            _resample(self._watermark(mono, bits8, sample_rate, 0), p.rate, sample_rate), x.shape[1]
        )
        noise = x.shape[0] * float(np.sum(w**2))  # marked - original = w on every channel
        # Use the SNR budget: the strongest level that still keeps min_snr_db (energy grows
        # about with the square of the step). Stronger marks survive re-encoding of audio that
        # was already coded (an AAC soundtrack decoded, marked and encoded again).
        for level in range(1, len(p.steps)):
            ratio = (p.steps[level] / p.steps[0]) ** 2
            if noise * ratio * 10.0 ** (p.headroom_db / 10.0) > limit:
                break
            water = self._watermark(mono, bits8, sample_rate, level)
            strong = _fit(_resample(water, p.rate, sample_rate), x.shape[1])
            strong_noise = x.shape[0] * float(np.sum(strong**2))
            if strong_noise > limit:
                break
            w, noise = strong, strong_noise
        if noise > limit:
            scale = np.sqrt(limit / noise)
            if scale < p.min_scale:
                raise WatermarkCapacityError(
                    f"the audio's sound between 300 Hz and 4.5 kHz is too sparse (a few pure "
                    f"tones?) to carry the {self.name} watermark at {p.min_snr_db:.0f} dB SNR "
                    f"(it would need {p.min_snr_db + 20 * np.log10(scale):.1f} dB); mark audio "
                    "with broadband content (speech, music)"
                )
            w *= scale
        out = x + w.astype(np.float32)[None, :]
        return np.clip(out, -1.0, 1.0, out=out)

    def _watermark(self, mono: F64, bits: Bits, sample_rate: int, level: int) -> F64:
        """The watermark signal at the internal rate, aligned with ``mono``."""
        p = self.params
        lay = self._layout
        step, dither = p.steps[level], lay.dither[level]
        pad = p.n_fft - p.hop  # every sample then lies under two frames
        n_frames = (len(mono) + pad) // p.hop + 1
        host = np.zeros((n_frames + 1) * p.hop)
        host[pad : pad + len(mono)] = mono
        spec = self._stft(host)
        tiles = self._tiles(self._band_energy(spec))
        n_cols = tiles.shape[0]
        eps = self._floor(tiles)
        n_blocks = -(-n_cols // p.columns)
        cols = np.arange(n_blocks)[:, None, None] * p.columns + lay.col[None]  # (Q, G, N)
        complete = np.all(cols < n_cols, axis=2)  # (Q, G)
        cols = np.minimum(cols, n_cols - 1)
        bands = np.broadcast_to(lay.band[None], cols.shape)
        sens = (tiles / (tiles + eps))[cols, bands]
        usable = complete & (np.sum((sens * lay.chips) ** 2, axis=2) >= p.min_sensitivity)
        share = float(usable.sum()) / max(int(complete.sum()), 1)
        if share < p.min_usable:
            raise WatermarkCapacityError(
                f"only {share:.0%} of the audio's 2 s blocks have enough sound between 300 Hz "
                f"and 4.5 kHz to carry the {self.name} watermark (at least "
                f"{p.min_usable:.0%} needed); pure tones, near-silence or band-limited sound "
                "cannot be marked. Mark audio with broadband content (speech, music)"
            )
        offset = np.where(bits[lay.bit] == 1, 0.25, -0.25)  # lattice offset of each group
        target: F64 | None = None
        total = np.zeros_like(tiles)  # cumulative log-amplitude change per tile
        water = np.zeros_like(host)
        low_rate = sample_rate < 2 * (p.lo_bin + p.n_bands * p.band_bins) * p.rate / p.n_fft
        for _ in range(p.iterations):
            log_amp = 0.5 * np.log(tiles + eps)
            proj = np.sum(log_amp[cols, bands] * lay.chips, axis=2) / step  # (Q, G)
            if target is None:
                frac = proj - dither - offset
                target = proj - (frac - np.round(frac))
            change = np.where(usable, target - proj, 0.0) * step
            # least-energy split of the change over the group: delta_k ~ c_k / (E_k + eps_k)
            inv = (1.0 / (tiles + eps))[cols, bands] * lay.chips
            # members already at the cap in the direction of the change take no more of it
            room = np.sign(change)[:, :, None] * lay.chips * total[cols, bands]
            inv = np.where(room < p.max_delta - 1e-3, inv, 0.0)
            gain = np.sum(inv * (tiles / (tiles + eps))[cols, bands] * lay.chips, axis=2)
            member = (change / np.maximum(gain, 1e-30))[:, :, None] * inv
            move = np.zeros_like(tiles)
            np.add.at(move, (cols, bands), np.where(usable[:, :, None], member, 0.0))
            new_total = np.clip(total + move, -p.max_delta, p.max_delta)
            cell_gain = np.expm1(new_total - total)
            total = new_total
            cells = np.zeros(spec.shape)
            cells[: n_cols * p.tile_frames, p.lo_bin : p.lo_bin + p.n_bands * p.band_bins] = (
                np.repeat(np.repeat(cell_gain, p.tile_frames, 0), p.band_bins, 1)
            )
            water += self._istft(spec * cells, len(host))
            heard = water
            if low_rate:  # what survives the trip to the file's own (low) rate and back
                heard = _fit(
                    _resample(_resample(water, p.rate, sample_rate), sample_rate, p.rate), len(host)
                )
            spec = self._stft(host + heard)
            tiles = self._tiles(self._band_energy(spec))
        return water[pad : pad + len(mono)]

    # --- detection ------------------------------------------------------------------------

    def detect_audio(self, samples: Samples, sample_rate: int) -> list[SoftBits]:
        """Candidates (one per block offset), best first; [] when no mark stands out."""
        p = self.params
        x = _check_samples(samples, sample_rate)
        if x.shape[1] / sample_rate < 0.5 * p.block_samples / p.rate:
            return []
        mono = _resample(x.mean(axis=0, dtype=np.float64), sample_rate, p.rate)
        if float(np.sqrt(np.mean(mono**2))) < SILENT_RMS:
            return []
        analyses: dict[tuple[int, int], tuple[F64, F64]] = {}
        scores: list[tuple[float, int, int, int, int]] = []  # z, shift, phase, rotation, level
        window: tuple[int, int] | None = None
        for s in range(p.shifts):
            shift = s * p.hop // p.shifts
            energy = self._frame_energy(mono[shift:])
            for r in range(p.tile_frames):
                tiles = self._tiles(energy, r)
                if tiles.shape[0] == 0:
                    continue
                eps = self._floor(tiles)
                log_amp = 0.5 * np.log(tiles + eps)
                sens = tiles / (tiles + eps)
                analyses[shift, r] = (log_amp, sens)
                if window is None:
                    window = self._search_window(sens)
                zs = self._sync_scores(log_amp, sens, *window)  # (levels, rotations)
                scores.extend(
                    (float(zs[level, rot]), shift, r, rot, level)
                    for level in range(len(p.steps))
                    for rot in range(p.columns)
                )
        scores.sort(key=lambda h: -h[0])
        period = p.block_samples
        found: list[SoftBits] = []
        taken: list[int] = []
        for z, shift, r, rot, level in scores:
            if z < p.sync_threshold or len(found) >= p.max_candidates:
                break
            start = shift + p.hop * (r + p.tile_frames * ((p.columns - rot) % p.columns))
            if any(min((start - o) % period, (o - start) % period) <= 2 * p.hop for o in taken):
                continue
            taken.append(start)
            soft = self._soft_values(*analyses[shift, r], rot, level)
            hypothesis = f"offset={start / p.rate:.3f}s step={p.steps[level]:g}"
            found.append(SoftBits(soft, z, hypothesis))
        return found

    def _groups(
        self, log_amp: F64, sens: F64, rotations: npt.NDArray[np.intp], q0: int, q1: int
    ) -> tuple[F64, F64]:
        """Projection ``sum(c * L)`` and weight of every group of blocks ``q0:q1``.

        Column ``m`` of the analysis sits at position ``(m + rot) % C`` of block
        ``(m + rot) // C``; incomplete groups get weight 0. Shapes: (R, Q, G).
        """
        p = self.params
        lay = self._layout
        c = p.columns
        m = log_amp.shape[0]
        col = (
            np.arange(q0, q1)[None, :, None, None] * c
            + lay.col[None, None]
            - rotations[:, None, None, None]
        )
        inside = (col >= 0) & (col < m)
        col = np.clip(col, 0, m - 1)
        band = lay.band[None, None]
        proj = np.sum(log_amp[col, band] * lay.chips, axis=3)
        weight = np.sqrt(np.sum((sens[col, band] * lay.chips) ** 2, axis=3))
        weight = np.where(np.all(inside, axis=3), weight, 0.0)
        return proj, weight

    def _search_window(self, sens: F64) -> tuple[int, int]:
        """Blocks ``q0:q1`` to search for synchronisation: all of them on clips up to
        ``search_blocks`` blocks, else the run of that many with the most markable sound."""
        p = self.params
        n_blocks = -(-(sens.shape[0] + p.columns) // p.columns)
        if n_blocks <= p.search_blocks:
            return 0, n_blocks
        activity = np.zeros(n_blocks * p.columns)
        activity[: sens.shape[0]] = sens.sum(axis=1)
        per_block = np.concatenate([[0.0], np.cumsum(activity.reshape(n_blocks, -1).sum(1))])
        runs = per_block[p.search_blocks :] - per_block[: -p.search_blocks]
        q0 = int(np.argmax(runs))
        return q0, q0 + p.search_blocks

    def _sync_scores(self, log_amp: F64, sens: F64, q0: int, q1: int) -> F64:
        """z-scores of the synchronisation statistic, (strength levels x block rotations)."""
        p = self.params
        proj, weight = self._groups(log_amp, sens, np.arange(p.columns), q0, q1)
        norm = np.sqrt(np.maximum(np.sum(weight**2, axis=(1, 2)), 1e-12) / 2.0)
        z = np.empty((len(p.steps), p.columns))
        for level, step in enumerate(p.steps):
            phase = proj / step - self._layout.dither[level]
            z[level] = np.sum(weight * -np.cos(4 * np.pi * phase), axis=(1, 2)) / norm
        return z

    def _soft_values(self, log_amp: F64, sens: F64, rotation: int, level: int) -> F64:
        p = self.params
        n_blocks = -(-(log_amp.shape[0] + p.columns) // p.columns)
        proj, weight = self._groups(log_amp, sens, np.array([rotation]), 0, n_blocks)
        phase = proj[0] / p.steps[level] - self._layout.dither[level]
        soft = np.zeros(self.capacity_bits)
        contrib = np.sum(weight[0] * np.sin(2 * np.pi * phase), axis=0)  # (G,)
        np.add.at(soft, self._layout.bit, contrib)
        return soft
