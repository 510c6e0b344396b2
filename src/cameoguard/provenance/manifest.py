"""The C2PA manifest cameoguard writes, described as data before it is signed.

A :class:`ManifestSpec` says what the media is (AI-generated, captured, edited), which software
made it, what extra assertions it carries (later: likeness consent, soft binding) and which
ingredients it came from (remixes: ``parentOf``; inputs: ``inputTo``; placed parts:
``componentOf``). :meth:`ManifestSpec.to_definition` turns it into the manifest definition that
c2pa's Builder takes; the actions list is derived from it so that it is always consistent
(``c2pa.created`` first for new media, ``c2pa.opened`` + ``c2pa.edited`` for edits of a parent).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from cameoguard import __version__
from cameoguard.errors import BadInputError

__all__ = [
    "IPTC_SOURCE_TYPE_BASE",
    "Assertion",
    "Ingredient",
    "ManifestSpec",
    "SoftwareAgent",
    "SourceType",
]

IPTC_SOURCE_TYPE_BASE = "http://cv.iptc.org/newscodes/digitalsourcetype/"
Relationship = Literal["parentOf", "inputTo", "componentOf"]
_LABEL_RE = re.compile(r"^[a-z0-9]+(\.[a-zA-Z0-9_-]+)+$")
_MANAGED_LABELS = ("c2pa.actions", "c2pa.hash", "c2pa.thumbnail", "c2pa.ingredient")


class SourceType(StrEnum):
    """IPTC digital source types cameoguard writes (the term after the IPTC base URL)."""

    TRAINED_ALGORITHMIC_MEDIA = "trainedAlgorithmicMedia"
    COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA = "compositeWithTrainedAlgorithmicMedia"
    ALGORITHMIC_MEDIA = "algorithmicMedia"
    DIGITAL_CAPTURE = "digitalCapture"
    HUMAN_EDITS = "humanEdits"

    @property
    def uri(self) -> str:
        return IPTC_SOURCE_TYPE_BASE + self.value

    @property
    def is_ai(self) -> bool:
        return self in (
            SourceType.TRAINED_ALGORITHMIC_MEDIA,
            SourceType.COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA,
        )


@dataclass(frozen=True)
class SoftwareAgent:
    name: str
    version: str | None = None

    def to_json(self) -> dict[str, str]:
        out = {"name": self.name}
        if self.version:
            out["version"] = self.version
        return out


@dataclass(frozen=True)
class Assertion:
    """A custom assertion: a reverse-domain label (e.g. ``org.cameoguard.likeness-consent``)."""

    label: str
    data: dict[str, Any]

    def __post_init__(self) -> None:
        if not _LABEL_RE.match(self.label):
            raise BadInputError(
                f"assertion label {self.label!r} is not a dotted label; use a reverse-domain "
                "name such as 'org.example.my-assertion'"
            )
        if self.label.startswith(_MANAGED_LABELS):
            raise BadInputError(
                f"assertion label {self.label!r} is managed by cameoguard and c2pa; describe "
                "actions through ManifestSpec and ingredients through Ingredient instead"
            )


@dataclass(frozen=True)
class Ingredient:
    """A file this media was made from. ``label`` lets actions refer to it."""

    path: Path
    relationship: Relationship = "parentOf"
    title: str | None = None
    label: str | None = None

    def definition(self, index: int) -> dict[str, Any]:
        return {
            "title": self.title or self.path.name,
            "relationship": self.relationship,
            "label": self.label or f"ingredient-{index}",
        }


@dataclass(frozen=True)
class ManifestSpec:
    """Everything that goes into one manifest, before signing."""

    title: str
    source_type: SourceType
    software_agent: SoftwareAgent | None = None
    assertions: tuple[Assertion, ...] = ()
    ingredients: tuple[Ingredient, ...] = ()
    extra_actions: tuple[dict[str, Any], ...] = ()
    claim_generator: SoftwareAgent = field(
        default_factory=lambda: SoftwareAgent("cameoguard", __version__)
    )

    @classmethod
    def ai_generated(
        cls, title: str, *, generator: str, generator_version: str | None = None
    ) -> ManifestSpec:
        """Media made by a generative model (``trainedAlgorithmicMedia``)."""
        return cls(title, SourceType.TRAINED_ALGORITHMIC_MEDIA,
                   SoftwareAgent(generator, generator_version))  # fmt: skip

    @classmethod
    def capture(
        cls, title: str, *, device: str | None = None, human_edits: bool = False
    ) -> ManifestSpec:
        """Media captured by a camera or microphone, optionally edited by a person."""
        source = SourceType.HUMAN_EDITS if human_edits else SourceType.DIGITAL_CAPTURE
        return cls(title, source, SoftwareAgent(device) if device else None)

    def with_assertion(self, label: str, data: dict[str, Any]) -> ManifestSpec:
        if any(a.label == label for a in self.assertions):
            raise BadInputError(f"assertion {label!r} is already in this manifest")
        return dataclasses.replace(self, assertions=(*self.assertions, Assertion(label, data)))

    def with_ingredient(self, ingredient: Ingredient) -> ManifestSpec:
        if ingredient.relationship == "parentOf" and self.parent is not None:
            raise BadInputError("a manifest can have only one parentOf ingredient")
        return dataclasses.replace(self, ingredients=(*self.ingredients, ingredient))

    def with_action(self, action: dict[str, Any]) -> ManifestSpec:
        """Append an action after the ones derived from the spec (e.g. ``c2pa.watermarked``)."""
        if not str(action.get("action", "")).startswith(("c2pa.", "org.", "com.")):
            raise BadInputError(f"action {action!r} needs an 'action' name such as c2pa.edited")
        return dataclasses.replace(self, extra_actions=(*self.extra_actions, action))

    @property
    def parent(self) -> Ingredient | None:
        return next((i for i in self.ingredients if i.relationship == "parentOf"), None)

    def ingredient_labels(self) -> list[str]:
        return [i.definition(n)["label"] for n, i in enumerate(self.ingredients)]

    def _actions(self) -> list[dict[str, Any]]:
        labels = self.ingredient_labels()
        by_rel: dict[str, list[str]] = {"parentOf": [], "inputTo": [], "componentOf": []}
        for ingredient, label in zip(self.ingredients, labels, strict=True):
            by_rel[ingredient.relationship].append(label)
        main: dict[str, Any] = {"digitalSourceType": self.source_type.uri}
        if self.software_agent is not None:
            main["softwareAgent"] = self.software_agent.to_json()
        actions: list[dict[str, Any]] = []
        if by_rel["parentOf"]:
            actions.append(
                {"action": "c2pa.opened", "parameters": {"ingredientIds": by_rel["parentOf"]}}
            )
            main = {"action": "c2pa.edited", **main}
        else:
            main = {"action": "c2pa.created", **main}
        if by_rel["inputTo"]:
            main["parameters"] = {"ingredientIds": by_rel["inputTo"]}
        actions.append(main)
        if by_rel["componentOf"]:
            actions.append(
                {"action": "c2pa.placed", "parameters": {"ingredientIds": by_rel["componentOf"]}}
            )
        actions.extend(dict(a) for a in self.extra_actions)
        return actions

    def to_definition(self, mime: str) -> dict[str, Any]:
        """The manifest definition JSON for ``c2pa.Builder`` (ingredients are added separately)."""
        assertions: list[dict[str, Any]] = [
            {"label": "c2pa.actions.v2", "data": {"actions": self._actions()}}
        ]
        assertions += [{"label": a.label, "data": a.data} for a in self.assertions]
        return {
            "claim_generator_info": [self.claim_generator.to_json()],
            "title": self.title,
            "format": mime,
            "assertions": assertions,
        }
