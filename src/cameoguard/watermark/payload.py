"""The watermark payload: a generation id that is either read right or reported as not found.

A payload is a 48-bit generation number (shown as ``g_`` + 12 hex digits). On its way into a
medium it becomes 172 channel bits:

1. ``id (48 bits) || tag (32 bits)``, where ``tag`` is HMAC-SHA256 of the id under the
   deployment key. Only the key holder can make a tag that checks, so a payload cannot be
   forged, and a decoder that meets random noise accepts it with probability 2^-32.
2. A rate-1/2 convolutional code (constraint length 7, generators 171/133 octal, the code of
   802.11 and DVB) with 6 tail bits: (80 + 6) x 2 = 172 bits. Decoding is soft-decision
   Viterbi, which corrects bursts of a few wrong bits and gains about 5 dB over hard bits.
3. A keyed interleaver (so that a local loss spreads across the code) and a keyed whitening
   mask (so that the channel bits look random and cannot be read without the key).

:meth:`PayloadCodec.decode` takes soft values (positive means 1) from any scheme and returns a
:class:`DecodedPayload` only when the tag checks; otherwise None. Each decode attempt on
unmarked media is a false alarm with probability at most 2^-32 (the tag is a PRF output), so a
detector that tries ``H`` hypotheses per file has a false-alarm rate of at most ``H * 2^-32``.
"""

from __future__ import annotations

import hmac
import math
import re
import secrets
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from cameoguard.errors import BadInputError
from cameoguard.watermark.keys import WatermarkKey

__all__ = [
    "CODED_BITS",
    "ID_BITS",
    "TAG_BITS",
    "DecodedPayload",
    "PayloadCodec",
    "format_payload",
    "new_payload",
    "parse_payload",
]

ID_BITS = 48
TAG_BITS = 32
_K = 7  # constraint length
_TAIL = _K - 1
_GENERATORS = (0o171, 0o133)
MESSAGE_BITS = ID_BITS + TAG_BITS
CODED_BITS = 2 * (MESSAGE_BITS + _TAIL)
MAX_PAYLOAD = (1 << ID_BITS) - 1
_N_STATES = 1 << (_K - 1)
_TEXT = re.compile(r"^g_([0-9a-f]{12})$")


def format_payload(value: int) -> str:
    """``g_`` + 12 lowercase hex digits: the text form of a generation id / payload."""
    _check_value(value)
    return f"g_{value:012x}"


def parse_payload(text: str) -> int:
    """The inverse of :func:`format_payload`, with a clear error for anything else."""
    match = _TEXT.match(text.strip().lower())
    if match is None:
        raise BadInputError(
            f"{text!r} is not a generation id; expected 'g_' followed by 12 hex digits, "
            "for example g_0123456789ab"
        )
    value = int(match.group(1), 16)
    _check_value(value)
    return value


def new_payload() -> int:
    """A fresh random, non-zero 48-bit payload (the ledger enforces uniqueness)."""
    while True:
        value = secrets.randbits(ID_BITS)
        if value:
            return value


def _check_value(value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_PAYLOAD:
        raise BadInputError(f"a payload is an integer in 1..2^{ID_BITS}-1, got {value!r}")


def _parity(x: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    x = x.copy()
    for shift in (4, 2, 1):
        x ^= x >> shift
    return x & 1


def _trellis() -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Next-state table and +/-1 branch outputs for the (171, 133) code.

    State = the last 6 input bits, newest in the top bit; the register fed to the generators is
    ``(input << 6) | state``.
    """
    states = np.arange(_N_STATES, dtype=np.int64)
    nxt = np.empty((_N_STATES, 2), dtype=np.int64)
    out = np.empty((_N_STATES, 2, 2), dtype=np.float64)
    for u in (0, 1):
        reg = (u << (_K - 1)) | states
        nxt[:, u] = (states >> 1) | (u << (_K - 2))
        for j, gen in enumerate(_GENERATORS):
            folded = reg & gen
            folded = folded ^ (folded >> 8)
            out[:, u, j] = _parity(folded) * 2.0 - 1.0
    return nxt, out


_NEXT, _OUT = _trellis()


def conv_encode(message: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Encode bits with the rate-1/2 code, appending the 6 tail bits that end in state 0."""
    state = 0
    coded = np.empty(2 * (len(message) + _TAIL), dtype=np.uint8)
    for t, u in enumerate(np.concatenate([message, np.zeros(_TAIL, np.uint8)])):
        coded[2 * t : 2 * t + 2] = _OUT[state, int(u)] > 0
        state = int(_NEXT[state, int(u)])
    return coded


def viterbi_decode(soft: npt.NDArray[np.float64]) -> npt.NDArray[np.uint8]:
    """Soft-decision maximum-likelihood decode (positive soft value = bit 1)."""
    steps = len(soft) // 2
    pairs = soft[: 2 * steps].reshape(steps, 2)
    ns = np.arange(_N_STATES)
    u_of = ns >> (_K - 2)
    prev0 = (ns << 1) & (_N_STATES - 1)
    prev1 = prev0 | 1
    out0 = _OUT[prev0, u_of]  # (64, 2)
    out1 = _OUT[prev1, u_of]
    metric = np.full(_N_STATES, -np.inf)
    metric[0] = 0.0
    decisions = np.empty((steps, _N_STATES), dtype=bool)
    for t in range(steps):
        m0 = metric[prev0] + out0 @ pairs[t]
        m1 = metric[prev1] + out1 @ pairs[t]
        take1 = m1 > m0
        decisions[t] = take1
        metric = np.where(take1, m1, m0)
    state = 0  # the tail forces the encoder back to state 0
    bits = np.empty(steps, dtype=np.uint8)
    for t in range(steps - 1, -1, -1):
        bits[t] = state >> (_K - 2)
        prev = (state << 1) & (_N_STATES - 1)
        state = prev | int(decisions[t, state])
    return bits[: steps - _TAIL]


@dataclass(frozen=True, slots=True)
class DecodedPayload:
    """A payload whose tag checked.

    ``bit_agreement`` is the share of channel bits whose sign agrees with the re-encoded
    codeword (1.0 = no error); ``z_score`` is the normalised correlation of the soft values with
    that codeword (about sqrt(172) = 13 for a clean mark, near 0 for noise).
    """

    value: int
    bit_agreement: float
    z_score: float

    @property
    def text(self) -> str:
        return format_payload(self.value)


class PayloadCodec:
    """Keyed encode/decode between a 48-bit payload and :data:`CODED_BITS` channel bits."""

    coded_bits = CODED_BITS

    def __init__(self, key: WatermarkKey) -> None:
        self._tag_key = key.derive("payload/tag")
        self._perm = key.permutation("payload/interleave", CODED_BITS)
        self._mask = key.bits("payload/whiten", CODED_BITS)

    def tag(self, value: int) -> int:
        digest = hmac.new(self._tag_key, value.to_bytes(6, "big"), "sha256").digest()
        return int.from_bytes(digest[: TAG_BITS // 8], "big")

    def encode(self, value: int) -> npt.NDArray[np.uint8]:
        """The channel bits (uint8 0/1, length :data:`CODED_BITS`) that carry ``value``."""
        _check_value(value)
        word = (value << TAG_BITS) | self.tag(value)
        message = np.array([(word >> (MESSAGE_BITS - 1 - i)) & 1 for i in range(MESSAGE_BITS)])
        coded = conv_encode(message.astype(np.uint8))
        channel = np.empty_like(coded)
        channel[self._perm] = coded ^ self._mask
        return channel

    def decode(self, soft: npt.ArrayLike) -> DecodedPayload | None:
        """Decode soft channel values; None unless the result's tag checks."""
        values = np.asarray(soft, dtype=np.float64).reshape(-1)
        if values.shape != (CODED_BITS,):
            raise ValueError(f"expected {CODED_BITS} soft values, got {values.shape}")
        if not np.all(np.isfinite(values)) or not np.any(values):
            return None
        coded_soft = values[self._perm] * (1.0 - 2.0 * self._mask)
        message = viterbi_decode(coded_soft)
        word = 0
        for bit in message:
            word = (word << 1) | int(bit)
        value, tag = word >> TAG_BITS, word & ((1 << TAG_BITS) - 1)
        if value == 0 or not hmac.compare_digest(
            tag.to_bytes(4, "big"), self.tag(value).to_bytes(4, "big")
        ):
            return None
        expected = self.encode(value).astype(np.float64) * 2.0 - 1.0
        agreement = float(np.mean(np.sign(values) == expected))
        z = float(values @ expected / (np.linalg.norm(values) + 1e-12))
        return DecodedPayload(value=value, bit_agreement=agreement, z_score=z)


def false_alarm_bound(hypotheses: int) -> float:
    """Upper bound on P(some decode of unmarked media passes): ``hypotheses * 2^-TAG_BITS``."""
    return min(1.0, hypotheses * math.ldexp(1.0, -TAG_BITS))
