"""Payload codec: exact round trips, error correction, keyed tags, and no false payloads."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cameoguard.errors import BadInputError, KeyMaterialError
from cameoguard.watermark.keys import WatermarkKey, load_or_create_watermark_key
from cameoguard.watermark.payload import (
    CODED_BITS,
    MAX_PAYLOAD,
    PayloadCodec,
    false_alarm_bound,
    format_payload,
    parse_payload,
)

KEY = WatermarkKey(bytes(range(32)))
CODEC = PayloadCodec(KEY)
payloads = st.integers(min_value=1, max_value=MAX_PAYLOAD)


def _soft(bits: np.ndarray) -> np.ndarray:
    return bits.astype(np.float64) * 2.0 - 1.0


@given(payloads)
@settings(max_examples=60, deadline=None)
def test_round_trip_any_payload(value: int) -> None:
    bits = CODEC.encode(value)
    assert bits.shape == (CODED_BITS,) and set(np.unique(bits)) <= {0, 1}
    decoded = CODEC.decode(_soft(bits))
    assert decoded is not None and decoded.value == value
    assert decoded.bit_agreement == 1.0


@given(payloads, st.lists(st.integers(0, CODED_BITS - 1), min_size=1, max_size=4, unique=True))
@settings(max_examples=60, deadline=None)
def test_corrects_a_few_flipped_bits(value: int, flips: list[int]) -> None:
    soft = _soft(CODEC.encode(value))
    soft[flips] *= -1
    decoded = CODEC.decode(soft)
    assert decoded is not None and decoded.value == value
    assert decoded.bit_agreement == pytest.approx(1 - len(flips) / CODED_BITS)


@given(payloads, st.floats(0.05, 1.0))
@settings(max_examples=40, deadline=None)
def test_soft_values_scale_freely(value: int, scale: float) -> None:
    decoded = CODEC.decode(_soft(CODEC.encode(value)) * scale)
    assert decoded is not None and decoded.value == value


@given(payloads)
@settings(max_examples=30, deadline=None)
def test_other_key_reads_nothing(value: int) -> None:
    other = PayloadCodec(WatermarkKey(bytes(range(1, 33))))
    assert other.decode(_soft(CODEC.encode(value))) is None


def test_noise_never_decodes() -> None:
    rng = np.random.default_rng(7)
    found = sum(CODEC.decode(rng.normal(size=CODED_BITS)) is not None for _ in range(3000))
    assert found == 0  # expected 3000 * 2^-32 = 7e-7


def test_mostly_wrong_bits_are_not_found_rather_than_wrong() -> None:
    rng = np.random.default_rng(3)
    value = 0x123456789ABC
    soft = _soft(CODEC.encode(value))
    wrong = 0
    for _ in range(300):
        noisy = soft.copy()
        noisy[rng.random(CODED_BITS) < 0.3] *= -1
        decoded = CODEC.decode(noisy)
        wrong += decoded is not None and decoded.value != value
    assert wrong == 0


def test_degenerate_soft_values() -> None:
    assert CODEC.decode(np.zeros(CODED_BITS)) is None
    assert CODEC.decode(np.full(CODED_BITS, np.nan)) is None
    with pytest.raises(ValueError, match="172 soft values"):
        CODEC.decode(np.ones(10))


def test_payload_text_round_trip_and_errors() -> None:
    assert format_payload(1) == "g_000000000001"
    assert parse_payload(" G_0123456789AB ") == 0x0123456789AB
    for bad in ("g_123", "0123456789ab", "g_0123456789ax", "g_000000000000"):
        with pytest.raises(BadInputError):
            parse_payload(bad)
    for bad_value in (0, -1, MAX_PAYLOAD + 1, True):
        with pytest.raises(BadInputError):
            CODEC.encode(bad_value)


def test_false_alarm_bound() -> None:
    assert false_alarm_bound(1) == pytest.approx(2.0**-32)
    assert false_alarm_bound(12) < 1e-8


def test_key_file_is_private_and_stable(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "keys" / "watermark.key"
    key = load_or_create_watermark_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_or_create_watermark_key(path) == key
    assert key.secret.hex() not in repr(key)
    path.write_text("not hex")
    with pytest.raises(KeyMaterialError, match="hex"):
        load_or_create_watermark_key(path)


def test_key_derivations_are_frozen() -> None:
    # Golden values: marks must stay readable for as long as media lives, so the key id, the
    # keyed permutations and the channel bits of a payload must never change silently.
    assert KEY.key_id == "ee138d22efb9ba9b"
    assert KEY.permutation("x", 8).tolist() == [0, 7, 1, 5, 3, 6, 2, 4]
    channel = np.packbits(CODEC.encode(1)).tobytes().hex()
    assert channel == "32a70c2a319113c90204acaddbc1ddc4ae33d232db80"
