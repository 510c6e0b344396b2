"""The signer's certificate chain of a C2PA manifest, read from the embedded manifest store.

Flows through here: a media file (or the raw manifest store that
:mod:`cameoguard.provenance.jumbf` extracted from it) and a manifest label in; out comes the
X.509 chain that signed that manifest, leaf first, and a :class:`CertificateSummary` per
certificate for the verification report (c2pa-python's report names only the signer's
organisation and common name).

Path through the store: the ``c2pa`` superbox -> the manifest superbox labelled with the
manifest's label -> the ``c2pa.signature`` superbox -> its ``cbor`` box, a COSE_Sign1 (CBOR tag
18: ``[protected bstr, unprotected map, payload, signature]``) -> header 33 (``x5chain``, one
DER certificate or an array of them), taken from the protected header, else the unprotected
one (else the legacy text key ``"x5chain"``).

This only reads the chain; it does not validate it. Trust and signature validity are c2pa's
verdicts, reported elsewhere.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import cbor2
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pydantic import BaseModel, ConfigDict, computed_field

from cameoguard.errors import CameoguardError, CorruptMediaError
from cameoguard.provenance.jumbf import MANIFEST_STORE_LABEL, extract_manifest_store, find_superbox

__all__ = [
    "COSE_SIGN1_TAG",
    "X5CHAIN_HEADER",
    "CertificateSummary",
    "chain_for_file",
    "signature_chain",
    "summarize",
]

logger = logging.getLogger(__name__)

#: CBOR tag of a COSE_Sign1 structure (RFC 9052).
COSE_SIGN1_TAG = 18
#: COSE header label of ``x5chain`` (RFC 9360).
X5CHAIN_HEADER = 33
SIGNATURE_LABEL = "c2pa.signature"

_EKU_NAMES = {
    ExtendedKeyUsageOID.SERVER_AUTH.dotted_string: "serverAuth",
    ExtendedKeyUsageOID.CLIENT_AUTH.dotted_string: "clientAuth",
    ExtendedKeyUsageOID.CODE_SIGNING.dotted_string: "codeSigning",
    ExtendedKeyUsageOID.EMAIL_PROTECTION.dotted_string: "emailProtection",
    ExtendedKeyUsageOID.TIME_STAMPING.dotted_string: "timeStamping",
    ExtendedKeyUsageOID.OCSP_SIGNING.dotted_string: "OCSPSigning",
    ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE.dotted_string: "anyExtendedKeyUsage",
    "1.3.6.1.5.5.7.3.36": "documentSigning",
    "1.3.6.1.4.1.62558.2.1": "c2paClaimSigning",
}
_CURVE_NAMES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}


class CertificateSummary(BaseModel):
    """What a person needs to judge one certificate of a signing chain.

    ``ekus`` holds dotted OIDs (``eku_names`` gives readable names where known); ``serial`` and
    ``sha256`` are lowercase hex; the validity bounds are timezone-aware UTC datetimes. This is
    also the chain entry of :class:`~cameoguard.provenance.report.SignerInfo`.
    """

    model_config = ConfigDict(frozen=True)

    subject: str
    common_name: str | None
    organization: str | None
    issuer: str
    serial: str
    not_before: dt.datetime
    not_after: dt.datetime
    key_algorithm: str
    is_ca: bool
    ekus: tuple[str, ...]
    sha256: str

    @computed_field  # type: ignore[prop-decorator]
    @property
    def eku_names(self) -> tuple[str, ...]:
        return tuple(_EKU_NAMES.get(oid, oid) for oid in self.ekus)

    def is_valid_at(self, when: dt.datetime) -> bool:
        return self.not_before <= when <= self.not_after

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: datetimes as ISO 8601, EKUs as readable names beside the OIDs."""
        return self.model_dump(mode="json")


# --------------------------------------------------------------------------- store -> chain


def signature_chain(store: bytes, manifest_label: str) -> list[x509.Certificate]:
    """The certificates that signed manifest ``manifest_label`` in ``store``, leaf first.

    ``store`` is the raw ``c2pa`` JUMBF superbox. Returns ``[]`` when the store has no such
    manifest, the manifest no signature, or the signature no ``x5chain``. Raises
    :class:`CorruptMediaError` when the store, the COSE structure or a certificate is malformed.
    """
    root = find_superbox(store, MANIFEST_STORE_LABEL)
    manifest = root.child(manifest_label) if root is not None else None
    signature = manifest.child(SIGNATURE_LABEL) if manifest is not None else None
    cose_box = signature.first("cbor") if signature is not None else None
    if cose_box is None:
        return []
    where = f"the signature of manifest {manifest_label!r}"
    ders = _x5chain(_cose_sign1(cose_box.payload, where), where)
    chain = []
    for index, der in enumerate(ders):
        try:
            with _lenient():
                cert = x509.load_der_x509_certificate(der)
            _ = cert.subject, cert.issuer, cert.extensions  # parsed lazily: fail here, not later
        except (ValueError, x509.InvalidVersion) as exc:
            raise CorruptMediaError(
                f"certificate {index} in {where} is not valid DER X.509 ({exc}); the manifest "
                "store is corrupt"
            ) from None
        chain.append(cert)
    return chain


@contextlib.contextmanager
def _lenient() -> Iterator[None]:
    """Silence cryptography's deprecation warnings for RFC 5280 slips (e.g. a serial <= 0).

    Deployed certificates carry such slips; we report them as they are rather than fail.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        yield


def _decode_cbor(data: bytes, what: str) -> object:
    try:
        return cbor2.loads(data, immutable=True)  # arrays as tuples, maps as Mappings
    except (cbor2.CBORError, ValueError, TypeError, LookupError, OverflowError, RecursionError):
        raise CorruptMediaError(
            f"{what} is not valid CBOR; the manifest store is corrupt"
        ) from None


def _cose_sign1(data: bytes, where: str) -> tuple[object, ...]:
    decoded = _decode_cbor(data, where)
    if isinstance(decoded, cbor2.CBORTag):
        if decoded.tag != COSE_SIGN1_TAG:
            raise CorruptMediaError(
                f"{where} carries CBOR tag {decoded.tag}, not COSE_Sign1 ({COSE_SIGN1_TAG}); "
                "the manifest store is corrupt"
            )
        decoded = decoded.value
    if not isinstance(decoded, tuple) or len(decoded) != 4:
        raise CorruptMediaError(
            f"{where} is not a COSE_Sign1 array of 4 items; the manifest store is corrupt"
        )
    return decoded


def _x5chain(cose: tuple[object, ...], where: str) -> list[bytes]:
    protected_raw, unprotected = cose[0], cose[1]
    if not isinstance(protected_raw, bytes) or not isinstance(unprotected, Mapping):
        raise CorruptMediaError(
            f"{where} has malformed COSE headers (protected must be a byte string, unprotected "
            "a map); the manifest store is corrupt"
        )
    # an empty protected bstr stands for an empty map (RFC 9052, 3)
    protected = (
        _decode_cbor(protected_raw, f"the protected header of {where}") if protected_raw else {}
    )
    if not isinstance(protected, Mapping):
        raise CorruptMediaError(
            f"the protected header of {where} is not a CBOR map; the manifest store is corrupt"
        )
    for headers, key in (
        (protected, X5CHAIN_HEADER),
        (unprotected, X5CHAIN_HEADER),
        (unprotected, "x5chain"),
    ):
        if isinstance(headers, Mapping) and key in headers:
            value = headers[key]
            items = (value,) if isinstance(value, bytes) else value
            if not isinstance(items, tuple) or not all(isinstance(i, bytes) for i in items):
                raise CorruptMediaError(
                    f"x5chain in {where} is neither a byte string nor an array of byte strings; "
                    "the manifest store is corrupt"
                )
            return list(items)
    return []


# --------------------------------------------------------------------------- summaries


def _name_value(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    attrs = name.get_attributes_for_oid(oid)
    if not attrs:
        return None
    value = attrs[0].value
    return value if isinstance(value, str) else value.hex()


def _key_algorithm(cert: x509.Certificate) -> str:
    try:
        key = cert.public_key()
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = None
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {_CURVE_NAMES.get(key.curve.name, key.curve.name)}"
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size}"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448"
    if isinstance(key, dsa.DSAPublicKey):
        return f"DSA {key.key_size}"
    try:
        return f"unknown ({cert.public_key_algorithm_oid.dotted_string})"
    except ValueError:
        return "unknown"


def _extensions(cert: x509.Certificate) -> tuple[bool, tuple[str, ...]]:
    """(is CA, EKU OIDs)."""
    extensions = cert.extensions
    try:
        is_ca = extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    try:
        usage = extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        ekus = tuple(oid.dotted_string for oid in usage)
    except x509.ExtensionNotFound:
        ekus = ()
    return is_ca, ekus


def _hex_serial(serial: int) -> str:
    digits = f"{abs(serial):x}"
    digits = digits.zfill(len(digits) + len(digits) % 2)  # whole octets, as DER stores them
    return f"-{digits}" if serial < 0 else digits


def summarize(cert: x509.Certificate) -> CertificateSummary:
    """A :class:`CertificateSummary` of ``cert``.

    Raises :class:`CorruptMediaError` when its names or extensions cannot be decoded (the
    certificates :func:`signature_chain` returns have been checked for that already).
    """
    try:
        with _lenient():
            return _summarize(cert)
    except ValueError as exc:
        raise CorruptMediaError(
            f"a certificate in the signing chain cannot be decoded ({exc}); the manifest store "
            "is corrupt"
        ) from None


def _summarize(cert: x509.Certificate) -> CertificateSummary:
    is_ca, ekus = _extensions(cert)
    return CertificateSummary(
        subject=cert.subject.rfc4514_string(),
        common_name=_name_value(cert.subject, NameOID.COMMON_NAME),
        organization=_name_value(cert.subject, NameOID.ORGANIZATION_NAME),
        issuer=cert.issuer.rfc4514_string(),
        serial=_hex_serial(cert.serial_number),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        key_algorithm=_key_algorithm(cert),
        is_ca=is_ca,
        ekus=ekus,
        sha256=cert.fingerprint(hashes.SHA256()).hex(),
    )


def chain_for_file(path: Path, mime: str, manifest_label: str) -> list[CertificateSummary]:
    """Summaries of the chain that signed ``manifest_label`` in the file at ``path``, leaf first.

    Never raises on bad input: a missing file, an unsupported type, a file without a store or a
    corrupt one all give ``[]``, with the reason logged at debug level.
    """
    try:
        store = extract_manifest_store(path, mime)
        if store is None:
            logger.debug("no C2PA manifest store in %s (%s)", path, mime)
            return []
        chain = signature_chain(store, manifest_label)
        if not chain:
            logger.debug("no x5chain for manifest %r in %s", manifest_label, path)
        return [summarize(cert) for cert in chain]
    except (CameoguardError, OSError, ValueError) as exc:
        logger.debug("cannot read the signing chain of %s: %s", path, exc)
        return []
