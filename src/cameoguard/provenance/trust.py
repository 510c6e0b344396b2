"""Trust and reading policy for the c2pa SDK: which roots we trust, what we never fetch.

A :class:`TrustPolicy` becomes a ``c2pa.Context``. Trust anchors come from a PEM file
(``CAMEOGUARD_TRUST_ANCHORS``); without one, a correctly signed file verifies as ``valid`` but
never as ``trusted``. Remote manifests and OCSP responses are never fetched by default: a
verifier that follows URLs found in uploaded files could be steered to internal addresses, and
it would leak which files it verifies.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import c2pa

from cameoguard.errors import ConfigurationError
from cameoguard.provenance.keys import parse_pem_chain
from cameoguard.settings import Settings

__all__ = ["TrustPolicy"]


@dataclass(frozen=True)
class TrustPolicy:
    anchors_pem: str | None = None
    fetch_remote_manifests: bool = False

    @classmethod
    def from_file(cls, path: Path | None) -> TrustPolicy:
        if path is None:
            return cls()
        if not path.is_file():
            raise ConfigurationError(
                f"trust anchor file {path} does not exist; point CAMEOGUARD_TRUST_ANCHORS at a "
                "PEM file of root certificates, or unset it"
            )
        data = path.read_bytes()
        parse_pem_chain(data, source=str(path))  # fail here, with a clear message
        return cls(anchors_pem=data.decode("ascii"))

    @classmethod
    def from_settings(cls, settings: Settings) -> TrustPolicy:
        return cls.from_file(settings.trust_anchors)

    @property
    def has_anchors(self) -> bool:
        return bool(self.anchors_pem)

    def settings_dict(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "verify": {
                "verify_trust": True,
                "remote_manifest_fetch": self.fetch_remote_manifests,
                "ocsp_fetch": False,
            }
        }
        if self.anchors_pem:
            config["trust"] = {"user_anchors": self.anchors_pem}
        return config

    def context(self) -> c2pa.Context:
        return c2pa.Context.from_dict(self.settings_dict())
