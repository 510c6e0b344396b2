"""Key material for C2PA signing: a development CA, and checks for production chains.

``init_dev_ca`` writes a root CA -> intermediate CA -> ES256 signing certificate with the profile
C2PA validators require (signer: BasicConstraints ca=False, KeyUsage digitalSignature, EKU
emailProtection + documentSigning, SKI and AKI). Private keys are written 0600 and never logged.

``load_credentials`` reads a PEM chain (signing certificate first, then intermediates, no root)
and a PEM private key, and rejects what c2pa would reject later with an opaque message: an
expired or not-yet-valid certificate, a CA or self-signed certificate as signer, a missing
digitalSignature key usage or C2PA extended key usage, or a key that does not match.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from cameoguard.errors import CertificateProfileError, KeyMaterialError
from cameoguard.fsutil import atomic_output, write_private_file

__all__ = [
    "C2PA_SIGNING_EKUS",
    "DevCAPaths",
    "SigningCredentials",
    "check_signing_certificate",
    "init_dev_ca",
    "load_credentials",
    "parse_pem_chain",
    "signing_algorithm_for",
]

DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")
C2PA_CLAIM_SIGNING = ObjectIdentifier("1.3.6.1.4.1.62558.2.1")
#: Extended key usages that c2pa-rs accepts for a claim-signing certificate.
C2PA_SIGNING_EKUS = frozenset(
    {ExtendedKeyUsageOID.EMAIL_PROTECTION, DOCUMENT_SIGNING, C2PA_CLAIM_SIGNING}
)

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


@dataclass(frozen=True)
class DevCAPaths:
    """Where :func:`init_dev_ca` put things."""

    root_cert: Path
    root_key: Path
    intermediate_cert: Path
    intermediate_key: Path
    signer_cert: Path
    signer_chain: Path
    signer_key: Path
    trust_anchors: Path

    @classmethod
    def in_dir(cls, keys_dir: Path) -> DevCAPaths:
        return cls(
            root_cert=keys_dir / "dev-root-ca.pem",
            root_key=keys_dir / "dev-root-ca.key",
            intermediate_cert=keys_dir / "dev-intermediate-ca.pem",
            intermediate_key=keys_dir / "dev-intermediate-ca.key",
            signer_cert=keys_dir / "signer.pem",
            signer_chain=keys_dir / "signer-chain.pem",
            signer_key=keys_dir / "signer.key",
            trust_anchors=keys_dir / "dev-trust-anchors.pem",
        )

    def all(self) -> list[Path]:
        return [
            self.root_cert,
            self.root_key,
            self.intermediate_cert,
            self.intermediate_key,
            self.signer_cert,
            self.signer_chain,
            self.signer_key,
            self.trust_anchors,
        ]


@dataclass(frozen=True, repr=False)
class SigningCredentials:
    """A checked certificate chain and its private key (PEM). ``repr`` never shows the key."""

    chain_pem: bytes
    key_pem: bytes
    alg: str
    leaf: x509.Certificate

    def __repr__(self) -> str:
        subject = self.leaf.subject.rfc4514_string()
        return f"SigningCredentials(alg={self.alg!r}, subject={subject!r})"


def _name(common_name: str, organization: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _pem_cert(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _issue(
    *,
    subject: x509.Name,
    subject_key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    is_ca: bool,
    path_length: int | None,
    days: int,
    now: dt.datetime,
    hash_alg: hashes.SHA256 | hashes.SHA384,
) -> x509.Certificate:
    public = subject_key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=path_length), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    if is_ca:
        usage = x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False,
        )  # fmt: skip
        builder = builder.add_extension(usage, critical=True)
    else:
        usage = x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False,
        )  # fmt: skip
        builder = builder.add_extension(usage, critical=True).add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, DOCUMENT_SIGNING]),
            critical=False,
        )
    return builder.sign(issuer_key, hash_alg)


def init_dev_ca(
    keys_dir: Path,
    *,
    organization: str = "cameoguard development",
    signer_name: str = "cameoguard dev signer",
    signer_days: int = 365,
    force: bool = False,
    now: dt.datetime | None = None,
) -> DevCAPaths:
    """Create a development root -> intermediate -> ES256 signer chain in ``keys_dir``.

    Refuses to overwrite existing key files unless ``force`` is set, so that an accidental
    re-run never replaces keys that already signed media.
    """
    paths = DevCAPaths.in_dir(keys_dir)
    existing = [p for p in paths.all() if p.exists()]
    if existing and not force:
        raise KeyMaterialError(
            f"key files already exist in {keys_dir} ({', '.join(p.name for p in existing)}); "
            "keep them, or pass --force to replace them (media signed with the old keys will "
            "no longer verify as trusted against the new development root)"
        )
    now = now or dt.datetime.now(dt.UTC)
    root_key = ec.generate_private_key(ec.SECP256R1())
    inter_key = ec.generate_private_key(ec.SECP256R1())
    signer_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name("cameoguard development root CA", organization)
    inter_name = _name("cameoguard development intermediate CA", organization)
    root = _issue(
        subject=root_name, subject_key=root_key, issuer=root_name, issuer_key=root_key,
        is_ca=True, path_length=1, days=3650, now=now, hash_alg=hashes.SHA256(),
    )  # fmt: skip
    inter = _issue(
        subject=inter_name, subject_key=inter_key, issuer=root_name, issuer_key=root_key,
        is_ca=True, path_length=0, days=1825, now=now, hash_alg=hashes.SHA256(),
    )  # fmt: skip
    signer = _issue(
        subject=_name(signer_name, organization), subject_key=signer_key, issuer=inter_name,
        issuer_key=inter_key, is_ca=False, path_length=None, days=signer_days, now=now,
        hash_alg=hashes.SHA256(),
    )  # fmt: skip

    keys_dir.mkdir(parents=True, exist_ok=True)
    keys_dir.chmod(0o700)
    write_private_file(paths.root_key, _pem_key(root_key))
    write_private_file(paths.intermediate_key, _pem_key(inter_key))
    write_private_file(paths.signer_key, _pem_key(signer_key))
    for path, data in (
        (paths.root_cert, _pem_cert(root)),
        (paths.trust_anchors, _pem_cert(root)),
        (paths.intermediate_cert, _pem_cert(inter)),
        (paths.signer_cert, _pem_cert(signer)),
        (paths.signer_chain, _pem_cert(signer) + _pem_cert(inter)),
    ):
        with atomic_output(path) as tmp:
            tmp.write_bytes(data)
    return paths


def parse_pem_chain(data: bytes, *, source: str) -> list[x509.Certificate]:
    try:
        chain = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise KeyMaterialError(
            f"{source} does not contain PEM certificates ({exc}); it must hold the signing "
            "certificate first, then its intermediates, each as -----BEGIN CERTIFICATE-----"
        ) from None
    if not chain:
        raise KeyMaterialError(f"{source} holds no certificate; put the signing chain there")
    return chain


def signing_algorithm_for(key: object) -> str:
    """The C2PA algorithm name (es256, es384, es512, ps256, ed25519) for a private/public key."""
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        by_curve = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}
        if key.curve.name in by_curve:
            return by_curve[key.curve.name]
        raise CertificateProfileError(
            f"elliptic curve {key.curve.name} is not allowed by C2PA; use P-256, P-384 or P-521"
        )
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise CertificateProfileError(
                f"RSA key is {key.key_size} bits; C2PA requires at least 2048"
            )
        return "ps256"
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return "ed25519"
    raise CertificateProfileError(
        f"key type {type(key).__name__} cannot sign C2PA claims; use an EC P-256 key (ES256)"
    )


def check_signing_certificate(cert: x509.Certificate, *, now: dt.datetime | None = None) -> None:
    """Raise :class:`CertificateProfileError` unless ``cert`` can sign C2PA claims now."""
    now = now or dt.datetime.now(dt.UTC)
    subject = cert.subject.rfc4514_string()
    if cert.not_valid_after_utc <= now:
        raise CertificateProfileError(
            f"signing certificate {subject!r} expired on {cert.not_valid_after_utc:%Y-%m-%d}; "
            "issue a new one (development: `cameoguard keys init --force`)"
        )
    if cert.not_valid_before_utc > now:
        raise CertificateProfileError(
            f"signing certificate {subject!r} is not valid before "
            f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC; check the clock or the certificate"
        )
    if cert.issuer == cert.subject:
        raise CertificateProfileError(
            f"signing certificate {subject!r} is self-signed; C2PA requires a certificate "
            "issued by a CA (root -> intermediate -> signer; see `cameoguard keys init`)"
        )
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False  # no BasicConstraints: an end-entity certificate
    if is_ca:
        raise CertificateProfileError(
            f"{subject!r} is a CA certificate; sign with an end-entity certificate "
            "(BasicConstraints ca=False) issued by that CA"
        )
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise CertificateProfileError(
            f"signing certificate {subject!r} has no KeyUsage extension; C2PA requires "
            "digitalSignature"
        ) from None
    if not usage.digital_signature:
        raise CertificateProfileError(
            f"signing certificate {subject!r} lacks the digitalSignature key usage C2PA requires"
        )
    try:
        ekus = set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        ekus = set()
    if not ekus & C2PA_SIGNING_EKUS:
        raise CertificateProfileError(
            f"signing certificate {subject!r} has no C2PA extended key usage (it needs "
            "emailProtection 1.3.6.1.5.5.7.3.4 or documentSigning 1.3.6.1.5.5.7.3.36); "
            "reissue it with one of those"
        )


def load_credentials(chain_path: Path, key_path: Path) -> SigningCredentials:
    """Load and check a PEM chain and private key for file-based signing."""
    for label, path in (("certificate chain", chain_path), ("private key", key_path)):
        if not path.is_file():
            raise KeyMaterialError(
                f"signing {label} not found at {path}; run `cameoguard keys init` for development "
                "keys, or set CAMEOGUARD_SIGNING_CERT and CAMEOGUARD_SIGNING_KEY"
            )
    chain_pem = chain_path.read_bytes()
    key_pem = key_path.read_bytes()
    chain = parse_pem_chain(chain_pem, source=str(chain_path))
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as exc:
        reason = "it is encrypted" if "encrypted" in str(exc).lower() else "it is not a PEM key"
        raise KeyMaterialError(
            f"cannot read the private key at {key_path}: {reason}; provide an unencrypted PKCS#8 "
            "PEM key, or sign through a KMS callback"
        ) from None
    leaf = chain[0]
    check_signing_certificate(leaf)
    if len(chain) == 1:
        raise CertificateProfileError(
            f"{chain_path} holds only the signing certificate; append its intermediate CA "
            "certificate(s) (not the root) so validators can build the chain"
        )
    alg = signing_algorithm_for(key)
    pub = key.public_key()
    raw = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if pub.public_bytes(*raw) != leaf.public_key().public_bytes(*raw):
        raise KeyMaterialError(
            f"the private key at {key_path} does not belong to the first certificate in "
            f"{chain_path}; pair each certificate with its own key"
        )
    return SigningCredentials(chain_pem=chain_pem, key_pem=key_pem, alg=alg, leaf=leaf)
