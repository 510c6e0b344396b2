"""Development CA creation and checks on production chains."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from cameoguard.errors import CertificateProfileError, KeyMaterialError
from cameoguard.provenance.keys import (
    DOCUMENT_SIGNING,
    DevCAPaths,
    check_signing_certificate,
    init_dev_ca,
    load_credentials,
)


def test_dev_ca_profile_and_permissions(tmp_path: Path) -> None:
    paths = init_dev_ca(tmp_path / "keys")
    for key in (paths.root_key, paths.intermediate_key, paths.signer_key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    chain = x509.load_pem_x509_certificates(paths.signer_chain.read_bytes())
    root = x509.load_pem_x509_certificate(paths.root_cert.read_bytes())
    assert len(chain) == 2  # signer + intermediate, never the root
    leaf, inter = chain
    assert leaf.issuer == inter.subject and inter.issuer == root.subject
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert inter.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    ekus = set(leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    assert {ExtendedKeyUsageOID.EMAIL_PROTECTION, DOCUMENT_SIGNING} <= ekus
    assert leaf.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    leaf.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    inter.verify_directly_issued_by(root)
    leaf.verify_directly_issued_by(inter)
    assert isinstance(leaf.public_key(), ec.EllipticCurvePublicKey)
    cred = load_credentials(paths.signer_chain, paths.signer_key)
    assert cred.alg == "es256"
    assert "BEGIN" not in repr(cred)  # the key never shows up in logs


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    init_dev_ca(tmp_path)
    before = (tmp_path / "signer.key").read_bytes()
    with pytest.raises(KeyMaterialError, match=r"already exist.*--force"):
        init_dev_ca(tmp_path)
    assert (tmp_path / "signer.key").read_bytes() == before
    init_dev_ca(tmp_path, force=True)
    assert (tmp_path / "signer.key").read_bytes() != before


def test_missing_key_is_clear(tmp_path: Path) -> None:
    with pytest.raises(KeyMaterialError, match=r"not found at .*keys init"):
        load_credentials(tmp_path / "chain.pem", tmp_path / "key.pem")


def test_key_must_match_certificate(tmp_path: Path) -> None:
    a = init_dev_ca(tmp_path / "a")
    b = init_dev_ca(tmp_path / "b")
    with pytest.raises(KeyMaterialError, match="does not belong"):
        load_credentials(a.signer_chain, b.signer_key)


def test_chain_without_intermediate_rejected(tmp_path: Path) -> None:
    p = init_dev_ca(tmp_path)
    with pytest.raises(CertificateProfileError, match="intermediate"):
        load_credentials(p.signer_cert, p.signer_key)


def test_expired_certificate_rejected(tmp_path: Path) -> None:
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=800)
    p = init_dev_ca(tmp_path, signer_days=30, now=long_ago)
    with pytest.raises(CertificateProfileError, match="expired on"):
        load_credentials(p.signer_chain, p.signer_key)


def _self_signed(eku: list[x509.ObjectIdentifier] | None, *, ca: bool = False) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x")])
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "issuer")])
    now = dt.datetime.now(dt.UTC)
    b = (
        x509.CertificateBuilder().subject_name(name).issuer_name(issuer)
        .public_key(key.public_key()).serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=9))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, ca, False, False, False),
                       critical=True)
    )  # fmt: skip
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    return b.sign(key, hashes.SHA256())


def test_wrong_profile_rejected() -> None:
    with pytest.raises(CertificateProfileError, match="extended key usage"):
        check_signing_certificate(_self_signed(None))
    with pytest.raises(CertificateProfileError, match="extended key usage"):
        check_signing_certificate(_self_signed([ExtendedKeyUsageOID.SERVER_AUTH]))
    with pytest.raises(CertificateProfileError, match="CA certificate"):
        check_signing_certificate(_self_signed([ExtendedKeyUsageOID.EMAIL_PROTECTION], ca=True))
    check_signing_certificate(_self_signed([DOCUMENT_SIGNING]))


def test_garbage_pem_is_clear(tmp_path: Path) -> None:
    p = init_dev_ca(tmp_path)
    bad = tmp_path / "bad.pem"
    bad.write_text("hello")
    with pytest.raises(KeyMaterialError, match="PEM"):
        load_credentials(bad, p.signer_key)
    with pytest.raises(KeyMaterialError, match="not a PEM key"):
        load_credentials(p.signer_chain, bad)
    enc = tmp_path / "enc.key"
    key = serialization.load_pem_private_key(p.signer_key.read_bytes(), None)
    enc.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.BestAvailableEncryption(b"pw")))  # fmt: skip
    with pytest.raises(KeyMaterialError, match="encrypted"):
        load_credentials(p.signer_chain, enc)


def test_paths_layout(tmp_path: Path) -> None:
    paths = DevCAPaths.in_dir(tmp_path)
    assert paths.signer_chain.name == "signer-chain.pem"
    assert len(set(paths.all())) == 8
