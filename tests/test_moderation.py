"""Moderation rules over fused reports (table-driven) and the queue's bookkeeping."""

from __future__ import annotations

from typing import Any

import pytest

from cameoguard import db
from cameoguard.errors import BadInputError
from cameoguard.moderation import ModerationQueue, rules_for
from cameoguard.settings import Settings


def _face(sentence: str, **details: Any) -> dict[str, Any]:
    return {"source": "faces", "kind": "consent", "sentence": sentence, "details": details}


@pytest.mark.parametrize(
    ("report", "rules"),
    [
        ({"label": "no_evidence_either_way", "evidence": []}, []),
        (
            {
                "label": "made_by_this_deployment",
                "evidence": [_face("a face matches cameo c_1, with consent recorded")],
            },
            [],
        ),
        (
            {
                "label": "uncertain",
                "evidence": [_face("a face matches protected person p_1, who has not consented")],
            },
            ["protected_person"],
        ),
        (
            {
                "label": "made_by_this_deployment",
                "evidence": [
                    _face("a face matches cameo c_1 whose consent was revoked", status="revoked")
                ],
            },
            ["revoked_cameo"],
        ),
        (
            {
                "label": "uncertain",
                "evidence": [
                    _face("a face matches enrolled cameo c_2, but no consent is recorded")
                ],
            },
            ["no_consent"],
        ),
        ({"label": "altered_after_signing", "evidence": []}, ["altered_after_signing"]),
        (
            {"label": "likely_manipulated", "evidence": [{"source": "ledger", "kind": "hard"}]},
            ["transplanted_watermark"],
        ),
        (
            {
                "label": "likely_manipulated",
                "evidence": [{"source": "detector", "kind": "statistical"}],
            },
            ["manipulated_without_provenance"],
        ),
    ],
)
def test_rules(report: dict[str, Any], rules: list[str]) -> None:
    assert [r for r, _ in rules_for(report)] == rules


def test_items_are_deduplicated_decided_with_reasons_and_banked(settings: Settings) -> None:
    engine = db.engine_from_settings(settings)
    db.upgrade(engine)
    queue = ModerationQueue(engine)
    report = {"label": "altered_after_signing", "evidence": [], "headline": "altered"}
    first = queue.from_report(report, sha256="a" * 64, actor="platform")
    again = queue.from_report(report, sha256="a" * 64, actor="platform")
    assert [i.id for i in first] == [i.id for i in again] and len(queue.queue()) == 1
    item = queue.add(
        "owner_flag",
        "mine",
        source="owner_flag",
        key="g:flag",
        actor="alice",
        pdq="f" * 64,
        generation_id="g_000000000001",
    )
    with pytest.raises(BadInputError, match="decision"):
        queue.decide(item.id, "delete", "why", actor="mod")
    with pytest.raises(BadInputError, match="reason"):
        queue.decide(item.id, "remove", "", actor="mod")
    assert queue.hash_bank().splitlines() == ["hash,signal_type,tags"]
    decided = queue.decide(item.id, "remove", "no consent", actor="mod")
    assert decided.status == "decided" and [h["action"] for h in decided.history] == [
        "opened:owner_flag",
        "decided:remove",
    ]
    assert (
        queue.hash_bank().splitlines()[1] == f"{'f' * 64},pdq,cameoguard;owner_flag;g_000000000001"
    )
    escalated = queue.decide(first[0].id, "escalate", "legal", actor="mod")
    assert escalated.status == "escalated" and len(queue.queue("escalated")) == 1
    engine.dispose()
