"""Consent policy: every decide_use outcome, and restriction matching against evasions."""

from __future__ import annotations

import pytest

from cameoguard.consent.models import CameoStatus, PermissionTier
from cameoguard.consent.policy import (
    TOPICS,
    DenialReason,
    UseRequest,
    check_prompt,
    decide_use,
    normalise_restriction,
)
from cameoguard.errors import ConsentPolicyError


def cameo(**changes: object) -> UseRequest:
    base: dict[str, object] = dict(
        cameo_id="c_000000000001", owner="alice", status=CameoStatus.ACTIVE,
        tier=PermissionTier.ONLY_ME, is_minor=False, approved=frozenset({"bob"}),
        guardians=frozenset(), restrictions=(),
    )  # fmt: skip
    base.update(changes)
    return UseRequest(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("requester", "state", "prompt", "expected"),
    [
        ("alice", None, "a walk", DenialReason.UNKNOWN_CAMEO),
        ("alice", cameo(status=CameoStatus.DELETED), "a walk", DenialReason.DELETED),
        ("alice", cameo(status=CameoStatus.REVOKED, revoked_at="2026-11-20"), "a walk",
         DenialReason.REVOKED),
        ("carol", cameo(), "a walk", DenialReason.NOT_APPROVED),
        ("alice", cameo(), "a walk", None),
        ("bob", cameo(tier=PermissionTier.APPROVED), "a walk", None),
        ("carol", cameo(tier=PermissionTier.APPROVED), "a walk", DenialReason.NOT_APPROVED),
        ("carol", cameo(tier=PermissionTier.EVERYONE), "a walk", None),
        ("carol", cameo(tier=PermissionTier.EVERYONE, restrictions=("topic:politics",)),
         "giving an election speech", DenialReason.RESTRICTED_TERM),
        ("alice", cameo(tier=PermissionTier.EVERYONE, restrictions=("topic:politics",)),
         "giving an election speech", None),  # the owner's own restrictions bind others
        ("bob", cameo(tier=PermissionTier.APPROVED, is_minor=True), "a walk",
         DenialReason.MINOR_PROTECTION),  # approved but not a guardian
        ("dad", cameo(tier=PermissionTier.APPROVED, is_minor=True, approved=frozenset(),
                      guardians=frozenset({"dad"})), "a walk", None),
        ("dad", cameo(tier=PermissionTier.APPROVED, is_minor=True,
                      guardians=frozenset({"dad"})), "holding a beer",
         DenialReason.MINOR_PROTECTION),
        ("alice", cameo(is_minor=True), "in lingerie", DenialReason.MINOR_PROTECTION),
    ],
)  # fmt: skip
def test_every_outcome(
    requester: str, state: UseRequest | None, prompt: str, expected: DenialReason | None
) -> None:
    denial = decide_use(requester, state, "c_000000000001", prompt)
    if expected is None:
        assert denial is None
    else:
        assert denial is not None
        assert denial.reason is expected
        assert "c_000000000001" in denial.message


def test_revocation_message_names_the_date() -> None:
    denial = decide_use("alice", cameo(status=CameoStatus.REVOKED, revoked_at="2026-11-20"),
                        "c_000000000001", "x")  # fmt: skip
    assert denial is not None and "2026-11-20" in denial.message


@pytest.mark.parametrize(
    "prompt",
    [
        "Drinking BEER at the beach",
        "drinking beers",
        "drinking b33r",
        "drinking bëer",
        "ｂｅｅｒ time",  # full-width letters
        "beer-pong",
    ],
)
def test_terms_match_through_simple_evasions(prompt: str) -> None:
    assert check_prompt(prompt, ["beer"]) is not None


@pytest.mark.parametrize("prompt", ["p o l i t i c s today", "p-o-l-i-t-i-c-s", "P0L1T1C5"])
def test_long_terms_match_with_separators(prompt: str) -> None:
    hit = check_prompt(prompt, ["politics"])
    assert hit is not None and hit.term == "politics"


@pytest.mark.parametrize("prompt", ["a beeline to the sea", "dancing in the rain", "begun"])
def test_unrelated_words_do_not_match(prompt: str) -> None:
    assert check_prompt(prompt, ["beer", "gun", "dance party"]) is None


def test_phrases_and_topics() -> None:
    assert check_prompt("a big dance party", ["dance party"]) is not None
    assert check_prompt("a dance, then a party", ["dance party"]) is None
    hit = check_prompt("posing with a rifle", ["topic:weapons"])
    assert hit is not None and hit.term == "rifle" and "weapons" in hit.why
    assert set(TOPICS) >= {"politics", "violence", "sexual"}


def test_restrictions_are_normalised_and_checked() -> None:
    assert normalise_restriction("  Beer Pong! ") == "beer pong"
    assert normalise_restriction("TOPIC:Politics") == "topic:politics"
    with pytest.raises(ConsentPolicyError, match="unknown topic 'cooking'; known topics"):
        normalise_restriction("topic:cooking")
    with pytest.raises(ConsentPolicyError, match="no letters or digits"):
        normalise_restriction("!!!")
    with pytest.raises(ConsentPolicyError, match="at most 80"):
        normalise_restriction("x" * 81)
