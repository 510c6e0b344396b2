"""Consent policy: who may use a cameo, and which prompts its owner forbids.

Pure functions over plain values (no database): :func:`decide_use` takes a cameo's state, the
requester and the prompt and returns either ``None`` (allowed) or a :class:`Denial`. The
registry calls it inside the transaction that records the decision.

Rules, in the order they are checked (the first that applies decides):

1. unknown cameo id -> ``unknown_cameo``; deleted -> ``deleted``; revoked -> ``revoked``
   (revoked means nobody, the owner included, until the owner enrolls again);
2. a minor's cameo: only its owner and accounts approved as guardians may use it
   (``minor_protection``), and prompts touching the topics in :data:`MINOR_TOPICS` are
   refused for everyone (``minor_protection``);
3. tier: ``only_me`` -> the owner; ``approved`` -> the owner and approved accounts;
   ``everyone`` -> anyone; otherwise ``not_approved``;
4. restrictions (for everyone but the owner): a prompt containing a forbidden term, or a term of
   a forbidden ``topic:NAME``, is refused (``restricted_term``; the message names the term).

Restricted terms are matched on a normalised prompt, so that simple evasions do not pass:
Unicode compatibility forms folded (NFKC), case folded, accents stripped, common digit and
symbol substitutions read as letters (``p0l1t1c5`` -> ``politics``), punctuation treated as
spaces, whole words and phrases matched with plural endings, and terms of five letters or more
also found inside the prompt with spaces and separators removed (``p o l i t i c s``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from cameoguard.consent.models import CameoStatus, PermissionTier
from cameoguard.errors import ConsentPolicyError

__all__ = [
    "MAX_RESTRICTIONS",
    "MINOR_TOPICS",
    "TOPICS",
    "Denial",
    "DenialReason",
    "PromptCheck",
    "UseRequest",
    "check_prompt",
    "decide_use",
    "normalise_restriction",
]

MAX_RESTRICTIONS = 200
MAX_TERM_CHARS = 80

#: Built-in topics an owner can forbid as ``topic:NAME``: each expands to these terms.
TOPICS: dict[str, tuple[str, ...]] = {
    "politics": (
        "politics",
        "political",
        "politician",
        "election",
        "campaign",
        "vote",
        "president",
        "senator",
        "parliament",
        "congress",
        "protest",
        "propaganda",
    ),
    "violence": (
        "violence",
        "violent",
        "kill",
        "murder",
        "blood",
        "gore",
        "fight",
        "assault",
        "stab",
        "shoot",
        "torture",
        "beat up",
    ),
    "weapons": ("gun", "rifle", "pistol", "weapon", "knife", "bomb", "explosive", "grenade"),
    "sexual": (
        "sex",
        "sexual",
        "nude",
        "naked",
        "nsfw",
        "porn",
        "erotic",
        "lingerie",
        "undress",
        "topless",
        "explicit",
    ),
    "drugs": ("drug", "cocaine", "heroin", "meth", "weed", "marijuana", "overdose", "high"),
    "alcohol": ("alcohol", "beer", "wine", "vodka", "whiskey", "drunk", "liquor", "cocktail"),
    "advertising": (
        "advert",
        "advertisement",
        "sponsored",
        "endorse",
        "endorsement",
        "promo",
        "commercial",
        "brand deal",
    ),
}

#: Topics refused in every prompt that uses a minor's cameo, whoever asks.
MINOR_TOPICS: tuple[str, ...] = ("sexual", "violence", "weapons", "drugs", "alcohol")

_SUBSTITUTIONS = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "@": "a",
        "$": "s",
        "!": "i",
        "|": "i",
        "+": "t",
    }
)
_NON_ALNUM = re.compile(r"[^0-9a-z]+")


class DenialReason(StrEnum):
    UNKNOWN_CAMEO = "unknown_cameo"
    DELETED = "deleted"
    REVOKED = "revoked"
    MINOR_PROTECTION = "minor_protection"
    NOT_APPROVED = "not_approved"
    RESTRICTED_TERM = "restricted_term"


@dataclass(frozen=True, slots=True)
class Denial:
    cameo_id: str
    reason: DenialReason
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"cameo_id": self.cameo_id, "reason": self.reason.value, "message": self.message}


@dataclass(frozen=True, slots=True)
class UseRequest:
    """What :func:`decide_use` needs to know about one cameo (read in the same transaction)."""

    cameo_id: str
    owner: str
    status: CameoStatus
    tier: PermissionTier
    is_minor: bool
    approved: frozenset[str]
    guardians: frozenset[str]
    restrictions: tuple[str, ...]
    revoked_at: str | None = None


# --------------------------------------------------------------------------- text


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _words(text: str, *, substitute: bool) -> list[str]:
    folded = _fold(text)
    if substitute:
        folded = folded.translate(_SUBSTITUTIONS)
    return [w for w in _NON_ALNUM.split(folded) if w]


def normalise_restriction(value: str) -> str:
    """A restriction as stored: ``topic:NAME`` or a term in normalised words.

    Raises :class:`~cameoguard.errors.ConsentPolicyError` for an empty or unknown topic, or a
    term that normalises to nothing.
    """
    raw = value.strip()
    if raw.lower().startswith("topic:"):
        name = raw.split(":", 1)[1].strip().lower()
        if name not in TOPICS:
            raise ConsentPolicyError(
                f"unknown topic {name!r}; known topics: {', '.join(sorted(TOPICS))} "
                "(or forbid a plain term)",
                code="consent.unknown_topic",
            )
        return f"topic:{name}"
    if len(raw) > MAX_TERM_CHARS:
        raise ConsentPolicyError(
            f"restricted term is {len(raw)} characters long; at most {MAX_TERM_CHARS}",
            code="consent.term_too_long",
        )
    words = _words(raw, substitute=False)
    if not words:
        raise ConsentPolicyError(
            f"restricted term {value!r} has no letters or digits; give a word or phrase",
            code="consent.term_empty",
        )
    return " ".join(words)


def _expand(restrictions: Iterable[str]) -> list[tuple[str, str]]:
    """(term, why) pairs: plain terms, and each term of each forbidden topic."""
    out: list[tuple[str, str]] = []
    for item in restrictions:
        if item.startswith("topic:"):
            topic = item.split(":", 1)[1]
            out.extend((term, f"topic {topic!r}") for term in TOPICS.get(topic, ()))
        else:
            out.append((item, "term"))
    return out


def _phrase_in(words: Sequence[str], phrase: Sequence[str]) -> bool:
    n = len(phrase)
    for start in range(len(words) - n + 1):
        window = words[start : start + n]
        if all(_word_matches(w, p) for w, p in zip(window, phrase, strict=True)):
            return True
    return False


def _word_matches(word: str, term: str) -> bool:
    return word in (term, f"{term}s", f"{term}es") or (
        term.endswith("y") and word == f"{term[:-1]}ies"
    )


@dataclass(frozen=True, slots=True)
class PromptCheck:
    term: str
    why: str


def check_prompt(prompt: str, restrictions: Iterable[str]) -> PromptCheck | None:
    """The first restriction ``prompt`` violates, or ``None``."""
    plain = _words(prompt, substitute=False)
    substituted = _words(prompt, substitute=True)
    joined = "".join(substituted)
    for term, why in _expand(restrictions):
        phrase = term.split()
        if _phrase_in(plain, phrase) or _phrase_in(substituted, phrase):
            return PromptCheck(term, why)
        compact = "".join(phrase).translate(_SUBSTITUTIONS)
        if len(compact) >= 5 and compact in joined:
            return PromptCheck(term, why)
    return None


# --------------------------------------------------------------------------- decisions


def decide_use(
    requester: str, cameo: UseRequest | None, cameo_id: str, prompt: str
) -> Denial | None:
    """``None`` when ``requester`` may use the cameo for ``prompt``; else why not."""
    if cameo is None:
        return Denial(
            cameo_id, DenialReason.UNKNOWN_CAMEO, f"cameo {cameo_id} does not exist; check the id"
        )
    if cameo.status is CameoStatus.DELETED:
        return Denial(cameo_id, DenialReason.DELETED, f"cameo {cameo_id} was deleted by its owner")
    if cameo.status is CameoStatus.REVOKED:
        when = f" on {cameo.revoked_at}" if cameo.revoked_at else ""
        return Denial(
            cameo_id, DenialReason.REVOKED, f"the owner of cameo {cameo_id} revoked consent{when}"
        )
    is_owner = requester == cameo.owner
    if cameo.is_minor:
        if not is_owner and requester not in cameo.guardians:
            return Denial(
                cameo_id,
                DenialReason.MINOR_PROTECTION,
                f"cameo {cameo_id} belongs to a minor: only its owner and approved "
                "guardians may use it",
            )
        hit = check_prompt(prompt, [f"topic:{t}" for t in MINOR_TOPICS])
        if hit is not None:
            return Denial(
                cameo_id,
                DenialReason.MINOR_PROTECTION,
                f"cameo {cameo_id} belongs to a minor and the prompt touches "
                f"{hit.why} ({hit.term!r}), which is never allowed with a minor",
            )
    if not is_owner:
        allowed = cameo.tier is PermissionTier.EVERYONE or (
            cameo.tier is PermissionTier.APPROVED
            and (requester in cameo.approved or requester in cameo.guardians)
        )
        if not allowed:
            detail = (
                "only its owner may use it"
                if cameo.tier is PermissionTier.ONLY_ME
                else f"{requester!r} is not on its approved list"
            )
            return Denial(
                cameo_id,
                DenialReason.NOT_APPROVED,
                f"cameo {cameo_id}: {detail}; ask its owner for approval",
            )
        hit = check_prompt(prompt, cameo.restrictions)
        if hit is not None:
            source = "a forbidden term" if hit.why == "term" else f"forbidden {hit.why}"
            return Denial(
                cameo_id,
                DenialReason.RESTRICTED_TERM,
                f"the owner of cameo {cameo_id} forbids {hit.term!r} ({source}) in "
                "prompts that use it; rephrase without it",
            )
    return None
