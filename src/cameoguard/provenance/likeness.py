"""The likeness-consent assertion: whose face a generation shows, under which consent.

Written by the generation pipeline into every manifest (label
``org.cameoguard.likeness-consent``) and read back by verification. It names each cameo by id
with the grant that allowed this generation, the grant's scope and expiry, and a status URL
where anyone holding the file can later ask whether that consent still stands (revocation is
checked there, not frozen into the file). It also summarises the output face scan.

No names, account ids or biometric data go into the assertion: manifests travel publicly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "LIKENESS_LABEL",
    "CameoConsent",
    "likeness_assertion",
    "read_likeness",
    "status_url",
]

LIKENESS_LABEL = "org.cameoguard.likeness-consent"
VERSION = 1
#: Grant scope fields that may travel in a public manifest (the requester's account may not).
PUBLIC_SCOPE_KEYS = ("use", "tier", "owner_is_requester", "prompt_sha256", "restrictions_checked")


def status_url(public_url: str, grant_id: str) -> str:
    """Where the consent behind ``grant_id`` can be checked (served by the API)."""
    return f"{public_url.rstrip('/')}/v1/consent/grants/{grant_id}"


@dataclass(frozen=True, slots=True)
class CameoConsent:
    cameo_id: str
    grant_id: str
    scope: Mapping[str, Any]
    expires_at: str
    status_url: str
    role: str = "requested"  # requested | from_parent

    def to_json(self) -> dict[str, Any]:
        return {
            "cameo_id": self.cameo_id,
            "grant_id": self.grant_id,
            "role": self.role,
            "scope": {k: self.scope[k] for k in PUBLIC_SCOPE_KEYS if k in self.scope},
            "expires_at": self.expires_at,
            "status_url": self.status_url,
        }


def likeness_assertion(
    cameos: Sequence[CameoConsent],
    *,
    face_scan: Mapping[str, Any],
    unmatched_faces: str,
    parent_generation: str | None = None,
) -> dict[str, Any]:
    """The assertion's data (an empty ``cameos`` list says: no enrolled likeness requested)."""
    data: dict[str, Any] = {
        "version": VERSION,
        "cameos": [c.to_json() for c in cameos],
        "policy": {"unmatched_faces": unmatched_faces, "possible_match": "refused"},
        "face_scan": dict(face_scan),
    }
    if parent_generation is not None:
        data["parent_generation"] = parent_generation
    return data


def read_likeness(manifest_json: str | Mapping[str, Any]) -> dict[str, Any] | None:
    """The likeness-consent data of the active manifest in a c2pa report, or None."""
    report = json.loads(manifest_json) if isinstance(manifest_json, str) else manifest_json
    manifests = report.get("manifests") or {}
    active = manifests.get(report.get("active_manifest") or "", {})
    for assertion in active.get("assertions") or []:
        if assertion.get("label") == LIKENESS_LABEL:
            data = assertion.get("data")
            return data if isinstance(data, dict) else None
    return None
