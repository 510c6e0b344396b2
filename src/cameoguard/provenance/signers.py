"""Signing backends: who holds the private key.

Two ways to sign a C2PA claim, both behind :class:`ClaimSigner`, a context manager that owns the
native c2pa signer:

* **key file** (:meth:`ClaimSigner.from_credentials`): the PEM key is handed to c2pa's native
  signer. Fast; the key lives in this process.
* **callback** (:meth:`ClaimSigner.from_key`): c2pa passes the bytes to sign to a
  :class:`SigningKey`, for example a KMS or HSM client; the key never enters this process.
  :class:`PemFileKey` is the file-based implementation of that interface (and the reference for
  writing a KMS one).

No time-stamp authority is contacted unless ``tsa_url`` is given.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

import c2pa
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from cameoguard.errors import KeyMaterialError, SigningError
from cameoguard.provenance.keys import (
    SigningCredentials,
    check_signing_certificate,
    load_credentials,
    parse_pem_chain,
    signing_algorithm_for,
)
from cameoguard.settings import Settings

__all__ = ["ClaimSigner", "PemFileKey", "SigningKey", "signer_from_settings"]

_ALGS = {
    "es256": c2pa.C2paSigningAlg.ES256,
    "es384": c2pa.C2paSigningAlg.ES384,
    "es512": c2pa.C2paSigningAlg.ES512,
    "ps256": c2pa.C2paSigningAlg.PS256,
    "ed25519": c2pa.C2paSigningAlg.ED25519,
}
_EC_SIZES = {"es256": 32, "es384": 48, "es512": 66}
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "es256": hashes.SHA256,
    "es384": hashes.SHA384,
    "es512": hashes.SHA512,
    "ps256": hashes.SHA256,
}


@runtime_checkable
class SigningKey(Protocol):
    """A key held elsewhere (KMS, HSM, signing service) that can sign claim bytes.

    ``sign`` receives the COSE Sig_structure bytes and returns the signature: raw ``r || s``
    for ECDSA (DER is accepted too), PSS for RSA, raw for Ed25519.
    """

    @property
    def alg(self) -> str:
        """One of es256, es384, es512, ps256, ed25519."""
        ...

    @property
    def certificate_chain_pem(self) -> bytes:
        """Signing certificate first, then intermediates; no root."""
        ...

    def sign(self, data: bytes) -> bytes: ...


class PemFileKey:
    """A :class:`SigningKey` backed by a PEM key file (the file-based reference implementation)."""

    def __init__(self, credentials: SigningCredentials) -> None:
        self._credentials = credentials
        key = serialization.load_pem_private_key(credentials.key_pem, password=None)
        if not isinstance(
            key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
        ):
            raise KeyMaterialError(f"unsupported key type {type(key).__name__}; use EC P-256")
        self._key = key

    @classmethod
    def from_files(cls, chain_path: Path, key_path: Path) -> PemFileKey:
        return cls(load_credentials(chain_path, key_path))

    @property
    def alg(self) -> str:
        return self._credentials.alg

    @property
    def certificate_chain_pem(self) -> bytes:
        return self._credentials.chain_pem

    def sign(self, data: bytes) -> bytes:
        key = self._key
        if isinstance(key, ec.EllipticCurvePrivateKey):
            der = key.sign(data, ec.ECDSA(_HASHES[self.alg]()))
            r, s = decode_dss_signature(der)
            size = _EC_SIZES[self.alg]
            return r.to_bytes(size, "big") + s.to_bytes(size, "big")
        if isinstance(key, rsa.RSAPrivateKey):
            digest = _HASHES[self.alg]()
            pss = padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
            return key.sign(data, pss, digest)
        return key.sign(data)

    def __repr__(self) -> str:
        return f"PemFileKey(alg={self.alg!r})"


class ClaimSigner:
    """Owns a native c2pa signer; reusable for many files; close it (or use ``with``)."""

    def __init__(self, native: c2pa.Signer, *, alg: str, subject: str, tsa_url: str | None):
        self._native: c2pa.Signer | None = native
        self.alg = alg
        self.subject = subject
        self.tsa_url = tsa_url

    @classmethod
    def from_credentials(
        cls, credentials: SigningCredentials, *, tsa_url: str | None = None
    ) -> ClaimSigner:
        info = c2pa.C2paSignerInfo(
            credentials.alg.encode(), credentials.chain_pem, credentials.key_pem,
            tsa_url.encode() if tsa_url else None,
        )  # fmt: skip
        try:
            native = c2pa.Signer.from_info(info)
        except c2pa.C2paError as exc:
            raise KeyMaterialError(
                f"c2pa rejected the signing credentials ({exc}); check that the chain file "
                "starts with the signing certificate and that the key matches it"
            ) from None
        subject = credentials.leaf.subject.rfc4514_string()
        return cls(native, alg=credentials.alg, subject=subject, tsa_url=tsa_url)

    @classmethod
    def from_key(cls, key: SigningKey, *, tsa_url: str | None = None) -> ClaimSigner:
        alg = key.alg.lower()
        if alg not in _ALGS:
            raise KeyMaterialError(
                f"signing algorithm {key.alg!r} is not supported; use one of {sorted(_ALGS)}"
            )
        chain = parse_pem_chain(key.certificate_chain_pem, source="the signing key's chain")
        check_signing_certificate(chain[0])
        if signing_algorithm_for(chain[0].public_key()) != alg:
            raise KeyMaterialError(
                f"the key says it signs with {alg} but its certificate's key needs "
                f"{signing_algorithm_for(chain[0].public_key())}; fix the key's alg"
            )
        try:
            native = c2pa.Signer.from_callback(
                key.sign, _ALGS[alg], key.certificate_chain_pem.decode("ascii"), tsa_url
            )
        except c2pa.C2paError as exc:
            raise KeyMaterialError(f"c2pa rejected the callback signer: {exc}") from None
        return cls(native, alg=alg, subject=chain[0].subject.rfc4514_string(), tsa_url=tsa_url)

    @property
    def native(self) -> c2pa.Signer:
        if self._native is None:
            raise SigningError("this signer is closed; create a new one with signer_from_settings")
        return self._native

    def close(self) -> None:
        if self._native is not None:
            self._native.close()
            self._native = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ClaimSigner(alg={self.alg!r}, subject={self.subject!r}, tsa={self.tsa_url!r})"


def signer_from_settings(settings: Settings) -> ClaimSigner:
    """The file-based signer configured by ``CAMEOGUARD_SIGNING_CERT`` / ``_KEY`` / ``_TSA_URL``."""
    credentials = load_credentials(settings.signing_cert_path, settings.signing_key_path)
    return ClaimSigner.from_credentials(credentials, tsa_url=settings.tsa_url)
