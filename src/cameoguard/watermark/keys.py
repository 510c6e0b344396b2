"""The per-deployment watermark key and the sub-keys derived from it.

One 32-byte secret per deployment keys everything a watermark carries: the payload's
authentication tag, the bit whitening and interleaving, and the spreading patterns of every
scheme. Without it a payload can be neither read nor forged, and two deployments never read
each other's marks. The key lives in ``data_dir/keys/watermark.key`` (hex, mode 0600) unless
``CAMEOGUARD_WATERMARK_KEY_FILE`` points elsewhere; :attr:`WatermarkKey.key_id` (a hash prefix,
safe to log and store) tells which key marked a file.

Derivation is our own and frozen (HMAC-SHA256 with a label, and SHAKE-256 streams), never a
NumPy random generator: NumPy does not promise that ``Generator`` streams stay the same across
versions, and a watermark must stay readable for as long as the media lives.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from cameoguard.errors import KeyMaterialError
from cameoguard.fsutil import write_private_file

__all__ = ["WatermarkKey", "load_or_create_watermark_key", "load_watermark_key"]

KEY_BYTES = 32


@dataclass(frozen=True, slots=True)
class WatermarkKey:
    """A deployment's watermark secret. ``repr`` never shows the secret."""

    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.secret) != KEY_BYTES:
            raise KeyMaterialError(
                f"a watermark key must be {KEY_BYTES} bytes, got {len(self.secret)}; "
                "create one with `cameoguard keys init`"
            )

    @classmethod
    def generate(cls) -> WatermarkKey:
        return cls(secrets.token_bytes(KEY_BYTES))

    @property
    def key_id(self) -> str:
        """A public 16-hex-digit identifier of this key (not usable to recover it)."""
        return hashlib.sha256(b"cameoguard/watermark/key-id\0" + self.secret).hexdigest()[:16]

    def derive(self, label: str) -> bytes:
        """A 32-byte sub-key for ``label`` (HMAC-SHA256 of the label under the secret)."""
        return hmac.new(
            self.secret, b"cameoguard/watermark/v1/" + label.encode(), "sha256"
        ).digest()

    def stream(self, label: str, n_bytes: int) -> bytes:
        """``n_bytes`` of keyed pseudo-random bytes for ``label`` (SHAKE-256 of the sub-key)."""
        return hashlib.shake_256(self.derive(label)).digest(n_bytes)

    def signs(self, label: str, n: int) -> npt.NDArray[np.float32]:
        """``n`` keyed values in {-1, +1} (float32) for ``label``."""
        bits = np.unpackbits(np.frombuffer(self.stream(label, (n + 7) // 8), np.uint8))[:n]
        return (bits.astype(np.float32) * 2.0 - 1.0).astype(np.float32)

    def bits(self, label: str, n: int) -> npt.NDArray[np.uint8]:
        """``n`` keyed bits (uint8 0/1) for ``label``."""
        return np.unpackbits(np.frombuffer(self.stream(label, (n + 7) // 8), np.uint8))[:n]

    def permutation(self, label: str, n: int) -> npt.NDArray[np.intp]:
        """A keyed permutation of ``range(n)``: the argsort of ``n`` keyed 64-bit values."""
        values = np.frombuffer(self.stream(label, 8 * n), dtype=">u8")
        return np.argsort(values, kind="stable").astype(np.intp)

    def gaussian(self, label: str, n: int) -> npt.NDArray[np.float64]:
        """``n`` keyed standard-normal values (Box-Muller over keyed uniforms)."""
        raw = np.frombuffer(self.stream(label, 8 * 2 * ((n + 1) // 2)), dtype=">u8")
        u = (raw.astype(np.float64) + 0.5) / 2.0**64
        u1, u2 = u[0::2], u[1::2]
        r = np.sqrt(-2.0 * np.log(u1))
        out = np.concatenate([r * np.cos(2 * np.pi * u2), r * np.sin(2 * np.pi * u2)])
        return out[:n]


def load_watermark_key(path: Path) -> WatermarkKey:
    """Read a key file (64 hex digits); a clear error when it is missing or malformed."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise KeyMaterialError(
            f"no watermark key at {path}; create one with `cameoguard keys init` (or set "
            "CAMEOGUARD_WATERMARK_KEY_FILE to the deployment's key file)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyMaterialError(f"cannot read the watermark key {path}: {exc}") from None
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        raise KeyMaterialError(
            f"the watermark key {path} is not {2 * KEY_BYTES} hex digits; restore it from "
            "the deployment's backup (a new key cannot read marks made with the old one)"
        ) from None
    return WatermarkKey(secret)


def load_or_create_watermark_key(path: Path) -> WatermarkKey:
    """Load the key at ``path``; create it (0600) when no file is there yet."""
    if path.exists():
        return load_watermark_key(path)
    key = WatermarkKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private_file(path, key.secret.hex().encode("ascii") + b"\n")
    return key
