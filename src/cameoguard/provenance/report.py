"""The typed result of verifying a file's C2PA provenance.

:class:`ProvenanceReport` is what :func:`cameoguard.provenance.verify.verify_file` returns, what
``cameoguard verify --json`` prints and what the API will serve. Its ``state`` is one of:

* ``absent``  no manifest (normal for most media; soft binding may still identify it)
* ``invalid`` a manifest is present but the file or manifest was changed, or cannot be read
* ``valid``   intact and correctly signed, but the signer is not trusted here
* ``trusted`` intact, and the signer chains to a configured trust anchor
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cameoguard.provenance.certchain import CertificateSummary
from cameoguard.provenance.status_codes import Category

__all__ = [
    "ActionInfo",
    "AssertionInfo",
    "IngredientNode",
    "ProvenanceReport",
    "ProvenanceState",
    "SignerInfo",
    "StatusEntry",
]


class ProvenanceState(StrEnum):
    ABSENT = "absent"
    INVALID = "invalid"
    VALID = "valid"
    TRUSTED = "trusted"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class StatusEntry(_Model):
    code: str
    category: Category
    meaning: str = Field(description="one-line explanation for people")
    url: str | None = Field(default=None, description="the part of the manifest it concerns")
    sdk_explanation: str | None = None


class SignerInfo(_Model):
    common_name: str | None
    organization: str | None = Field(description="issuer organisation as the SDK reports it")
    algorithm: str | None
    serial: str | None
    chain: list[CertificateSummary] = Field(default_factory=list, description="leaf first")


class ActionInfo(_Model):
    action: str
    digital_source_type: str | None = Field(default=None, description="IPTC term, e.g. "
                                            "trainedAlgorithmicMedia")  # fmt: skip
    software_agent: str | None = None
    when: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)


class AssertionInfo(_Model):
    label: str
    data: Any = None


class IngredientNode(_Model):
    title: str | None
    format: str | None
    relationship: str | None
    manifest_label: str | None = Field(default=None, description="its own manifest, if any")
    state: ProvenanceState = Field(description="absent when the ingredient had no manifest")
    failures: list[StatusEntry] = Field(default_factory=list)
    ai_generated: bool = False
    claim_generator: str | None = None
    children: list[IngredientNode] = Field(default_factory=list)


class ProvenanceReport(_Model):
    path: str
    media_type: str
    state: ProvenanceState
    summary: str = Field(description="one line: what it is, who signed it, intact, trusted, AI")
    manifest_label: str | None = None
    title: str | None = None
    claim_generator: str | None = None
    signer: SignerInfo | None = None
    signing_time: dt.datetime | None = None
    timestamp_status: str = Field(
        default="none", description="none, valid, trusted, untrusted or invalid"
    )
    actions: list[ActionInfo] = Field(default_factory=list)
    ai_generated: bool = Field(default=False, description="the manifest declares AI generation")
    ai_source_type: str | None = None
    ingredients: list[IngredientNode] = Field(default_factory=list)
    custom_assertions: list[AssertionInfo] = Field(default_factory=list)
    integrity_failures: list[StatusEntry] = Field(default_factory=list)
    trust_failures: list[StatusEntry] = Field(default_factory=list)
    informational: list[StatusEntry] = Field(default_factory=list)
    ingredient_failures: list[StatusEntry] = Field(
        default_factory=list, description="failures found in ingredient manifests"
    )
    successes: list[StatusEntry] = Field(default_factory=list)
    remote_manifest_url: str | None = None
    manifest_count: int = 0

    @property
    def failure_codes(self) -> list[str]:
        return [
            e.code
            for e in (*self.integrity_failures, *self.trust_failures, *self.ingredient_failures)
        ]

    def has_code(self, code: str) -> bool:
        return any(
            e.code == code
            for e in (
                *self.integrity_failures,
                *self.trust_failures,
                *self.ingredient_failures,
                *self.informational,
            )
        )
