"""Provenance fixtures: a session signer, signed samples, and byte-level tampering."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cameoguard.media import Limits
from cameoguard.provenance.keys import DevCAPaths, load_credentials
from cameoguard.provenance.manifest import ManifestSpec
from cameoguard.provenance.sign import sign_file
from cameoguard.provenance.signers import ClaimSigner
from cameoguard.provenance.trust import TrustPolicy
from cameoguard.settings import Settings
from tests.provenance.helpers import SIGNABLE


@pytest.fixture(scope="session")
def session_settings(dev_ca: DevCAPaths, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        data_dir=tmp_path_factory.mktemp("prov-data"),
        signing_cert=dev_ca.signer_chain,
        signing_key=dev_ca.signer_key,
        trust_anchors=dev_ca.trust_anchors,
    )


@pytest.fixture(scope="session")
def limits(session_settings: Settings) -> Limits:
    return Limits.from_settings(session_settings)


@pytest.fixture(scope="session")
def trust(dev_ca: DevCAPaths) -> TrustPolicy:
    return TrustPolicy.from_file(dev_ca.trust_anchors)


@pytest.fixture(scope="session")
def claim_signer(dev_ca: DevCAPaths) -> Iterator[ClaimSigner]:
    credentials = load_credentials(dev_ca.signer_chain, dev_ca.signer_key)
    with ClaimSigner.from_credentials(credentials) as signer:
        yield signer


@pytest.fixture(scope="session")
def signed_media(
    sample_media: dict[str, Path],
    claim_signer: ClaimSigner,
    limits: Limits,
    trust: TrustPolicy,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("signed")
    out = {}
    for fmt in SIGNABLE:
        src = sample_media[fmt]
        dst = root / f"signed{src.suffix}"
        spec = ManifestSpec.ai_generated(
            f"signed {fmt}", generator="test-generator", generator_version="2.1"
        ).with_assertion("org.cameoguard.test", {"format": fmt})
        sign_file(src, dst, spec, claim_signer, limits=limits, trust=trust)
        out[fmt] = dst
    return out
