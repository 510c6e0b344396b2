"""Atomic C2PA signing of a media file.

source file -> probe (type from content, limits) -> manifest definition + ingredients ->
c2pa Builder -> signed bytes into a temporary file -> rename onto the destination.

A failure at any step raises and leaves the destination exactly as it was: never a partial,
empty or unsigned file. If the source already carries a manifest and the spec names no parent,
the source becomes the ``parentOf`` ingredient, so re-signing keeps the file's history.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import c2pa

from cameoguard.errors import CorruptMediaError, SigningError, UnsupportedMediaError
from cameoguard.fsutil import atomic_output
from cameoguard.media import Limits, MediaInfo, probe, sniff
from cameoguard.provenance import jumbf
from cameoguard.provenance.manifest import Ingredient, ManifestSpec
from cameoguard.provenance.signers import ClaimSigner
from cameoguard.provenance.trust import TrustPolicy

__all__ = ["SignResult", "sign_file"]

_WRITE_BUFFER = 1 << 20


@dataclass(frozen=True)
class SignResult:
    path: Path
    media_type: str
    manifest_bytes: int
    kept_history: bool = False


def _has_manifest(path: Path, mime: str, context: c2pa.Context) -> bool:
    """Whether ``path`` already carries a manifest store (so its history must be kept)."""
    if mime in jumbf.SUPPORTED_MIME_TYPES:
        try:  # our own container scan: ~0.1 ms, against ~1.5 ms for a c2pa Reader
            return jumbf.extract_manifest_store(path, mime) is not None
        except CorruptMediaError:
            return True  # a damaged store is still history; c2pa decides what to keep
    try:
        with open(path, "rb") as fh:
            reader = c2pa.Reader.try_create(mime, fh, context=context)
    except c2pa.C2paError:
        return True  # a broken manifest is still history; keep it as the parent
    if reader is None:
        return False
    reader.close()
    return True


def sign_file(
    source: Path,
    destination: Path,
    spec: ManifestSpec,
    signer: ClaimSigner,
    *,
    limits: Limits,
    trust: TrustPolicy | None = None,
    info: MediaInfo | None = None,
) -> SignResult:
    """Sign ``source`` with ``spec`` into ``destination`` (may equal ``source``).

    ``info`` is the probe of ``source`` when the caller already has it (the generation
    pipeline probes the media it encoded); otherwise ``source`` is probed here.
    """
    if info is None or info.path != source:
        info = probe(source, limits)
    mime = info.type.mime
    if mime not in c2pa.Builder.get_supported_mime_types():
        raise UnsupportedMediaError(
            f"{source} is {mime}, which c2pa cannot sign; convert it to JPEG, PNG, WebP, MP4, "
            "WAV, MP3 or M4A first"
        )
    context = (trust or TrustPolicy()).context()
    kept_history = False
    if spec.parent is None and _has_manifest(source, mime, context):
        spec = spec.with_ingredient(Ingredient(source, "parentOf", title=source.name))
        kept_history = True
    try:
        builder = c2pa.Builder(spec.to_definition(mime), context=context)
        for n, ingredient in enumerate(spec.ingredients):
            ing_mime = sniff(ingredient.path).mime
            with open(ingredient.path, "rb") as fh:
                builder.add_ingredient(ingredient.definition(n), ing_mime, fh)
        with (
            atomic_output(destination) as tmp,
            open(source, "rb") as src,
            # c2pa writes in ~8 KiB pieces; a large buffer makes the write and fsync cheaper
            open(tmp, "w+b", buffering=_WRITE_BUFFER) as out,
        ):
            manifest = builder.sign(signer.native, mime, src, out)
    except c2pa.C2paError as exc:
        raise SigningError(
            f"c2pa could not sign {source} ({exc}); nothing was written to {destination}. "
            "Check the signing certificate profile (`cameoguard keys init` makes a valid one) "
            "and that the file is not corrupt"
        ) from None
    finally:
        context.close()
    return SignResult(destination, mime, len(manifest), kept_history)
