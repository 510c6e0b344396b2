"""Verification: any supported file -> a :class:`ProvenanceReport`.

file -> byte limit and type from content -> c2pa Reader under the trust policy ->
active manifest: signer, time-stamp, actions (AI or not), ingredients as a tree, custom
assertions -> status codes split into integrity, trust and informational -> one summary line.

No manifest is a normal outcome (state ``absent``). A manifest the SDK cannot parse at all is
reported as ``invalid`` with the code ``cameoguard.manifest.unreadable``; only unusable input
(missing, empty, corrupt or over-limit files) raises.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from pathlib import Path
from typing import Any

import c2pa

from cameoguard.errors import VerificationError
from cameoguard.media import Limits, MediaInfo, sniff
from cameoguard.media.probe import check_file_size
from cameoguard.provenance.certchain import chain_for_file
from cameoguard.provenance.report import (
    ActionInfo,
    AssertionInfo,
    IngredientNode,
    ProvenanceReport,
    ProvenanceState,
    SignerInfo,
    StatusEntry,
)
from cameoguard.provenance.status_codes import Category, categorize, explain
from cameoguard.provenance.trust import TrustPolicy

__all__ = ["AI_SOURCE_TYPES", "verify_file"]

log = logging.getLogger(__name__)

#: IPTC digital source types that declare generative-AI involvement.
AI_SOURCE_TYPES = frozenset(
    {"trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia", "compositeSynthetic"}
)
_STRUCTURAL_LABELS = ("c2pa.actions", "c2pa.hash", "c2pa.thumbnail", "c2pa.ingredient")
_MAX_INGREDIENT_DEPTH = 16
_URL_RE = re.compile(r"https?://\S+")
_STATES = {"trusted": ProvenanceState.TRUSTED, "valid": ProvenanceState.VALID,
           "invalid": ProvenanceState.INVALID}  # fmt: skip


def _entries(results: dict[str, Any] | None) -> list[StatusEntry]:
    out: list[StatusEntry] = []
    for reported_as in ("success", "informational", "failure"):
        for item in (results or {}).get(reported_as, []) or []:
            code = str(item.get("code", "unknown"))
            out.append(
                StatusEntry(
                    code=code,
                    category=categorize(code, reported_as),
                    meaning=explain(code, item.get("explanation")),
                    url=item.get("url"),
                    sdk_explanation=item.get("explanation"),
                )
            )
    return out


def _legacy_entries(status: list[dict[str, Any]] | None) -> list[StatusEntry]:
    """Old-style ``validation_status`` lists hold failures only."""
    return _entries({"failure": status or []})


def _source_term(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    return value.rstrip("/").rsplit("/", 1)[-1]


def _declared_source(action: dict[str, Any]) -> str | None:
    """The action's digitalSourceType, or a vendor-namespaced one in its parameters."""
    term = _source_term(action.get("digitalSourceType"))
    if term:
        return term
    params = action.get("parameters")
    if isinstance(params, dict):
        for key, value in params.items():
            if str(key).endswith("digitalSourceType"):
                return _source_term(value)
    return None


def _actions(manifest: dict[str, Any]) -> list[ActionInfo]:
    actions: list[ActionInfo] = []
    for assertion in manifest.get("assertions", []) or []:
        if not str(assertion.get("label", "")).startswith("c2pa.actions"):
            continue
        for action in (assertion.get("data") or {}).get("actions", []) or []:
            agent = action.get("softwareAgent")
            if isinstance(agent, dict):
                agent = " ".join(str(v) for v in (agent.get("name"), agent.get("version")) if v)
            params = action.get("parameters")
            actions.append(
                ActionInfo(
                    action=str(action.get("action", "")),
                    digital_source_type=_declared_source(action),
                    software_agent=agent if isinstance(agent, str) else None,
                    when=action.get("when"),
                    parameters=params if isinstance(params, dict) else {},
                )
            )
    return actions


def _claim_generator(manifest: dict[str, Any]) -> str | None:
    infos = manifest.get("claim_generator_info")
    if isinstance(infos, list) and infos:
        first = infos[0]
        return " ".join(str(first[k]) for k in ("name", "version") if first.get(k)) or None
    value = manifest.get("claim_generator")
    return str(value) if value else None


def _state_from(entries: list[StatusEntry], sdk_state: str | None) -> ProvenanceState:
    if sdk_state and sdk_state.lower() in _STATES:
        return _STATES[sdk_state.lower()]
    if any(e.category is Category.INTEGRITY for e in entries):
        return ProvenanceState.INVALID
    return ProvenanceState.VALID


def _delta_failures(results: Any) -> list[StatusEntry]:
    """Failures that ingredient manifests show now (``ingredientDeltas``)."""
    out: list[StatusEntry] = []
    if not isinstance(results, dict):
        return out
    for delta in results.get("ingredientDeltas", []) or []:
        deltas = (delta or {}).get("validationDeltas") or {}
        out += _entries({"failure": deltas.get("failure")})
    return out


def _ingredient_nodes(
    manifest: dict[str, Any],
    manifests: dict[str, Any],
    depth: int,
    seen: frozenset[str],
    deltas: list[StatusEntry],
) -> list[IngredientNode]:
    nodes: list[IngredientNode] = []
    for ing in manifest.get("ingredients", []) or []:
        label = ing.get("active_manifest")
        if "validation_results" in ing:
            entries = _entries((ing.get("validation_results") or {}).get("activeManifest"))
        else:
            entries = _legacy_entries(ing.get("validation_status"))
        failures = [e for e in entries if e.category in (Category.INTEGRITY, Category.TRUST)]
        if isinstance(label, str):
            failures += [e for e in deltas if f"/{label}/" in (e.url or "") and e not in failures]
        child = manifests.get(label) if isinstance(label, str) else None
        # with a manifest: invalid on integrity failures, else valid; without one: absent
        state = _state_from(failures, None) if isinstance(label, str) else ProvenanceState.ABSENT
        children: list[IngredientNode] = []
        ai = False
        generator = None
        if child is not None and label not in seen and depth < _MAX_INGREDIENT_DEPTH:
            children = _ingredient_nodes(child, manifests, depth + 1, seen | {label}, deltas)
            ai = any(a.digital_source_type in AI_SOURCE_TYPES for a in _actions(child))
            generator = _claim_generator(child)
        nodes.append(
            IngredientNode(
                title=ing.get("title"), format=ing.get("format"),
                relationship=ing.get("relationship"), manifest_label=label, state=state,
                failures=failures, ai_generated=ai, claim_generator=generator, children=children,
            )
        )  # fmt: skip
    return nodes


def _parse_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _timestamp_status(entries: list[StatusEntry], signing_time: dt.datetime | None) -> str:
    codes = {e.code for e in entries}
    if "timeStamp.trusted" in codes:
        return "trusted"
    if codes & {"timeStamp.mismatch", "timeStamp.malformed", "timeStamp.outsideValidity"}:
        return "invalid"
    if "timeStamp.untrusted" in codes:
        return "untrusted"
    if "timeStamp.validated" in codes:
        return "valid"
    return "present" if signing_time else "none"


def _summary(report: dict[str, Any], kind: str) -> str:
    state: ProvenanceState = report["state"]
    if state is ProvenanceState.ABSENT:
        return f"{kind}: no C2PA manifest (provenance unknown; not evidence of anything)"
    what = f"AI-generated {kind} ({report['ai_source_type']})" if report["ai_generated"] else kind
    signer: SignerInfo | None = report.get("signer")
    who = "unknown signer"
    if signer is not None and (signer.common_name or signer.organization):
        who = f"{signer.common_name or '?'} ({signer.organization or 'no organisation'})"
    if state is ProvenanceState.INVALID:
        first = (report["integrity_failures"] or report.get("ingredient_failures")
                 or report["trust_failures"])  # fmt: skip
        why = first[0].meaning if first else "validation failed"
        return f"{what}, claims to be signed by {who}; INVALID: {why}"
    trust = ("trusted signer" if state is ProvenanceState.TRUSTED
             else "signer NOT trusted here")  # fmt: skip
    return f"{what}, signed by {who}; intact; {trust}"


def _read_error_code(message: str) -> tuple[str, str | None]:
    """Map an SDK read error to a C2PA status code (and the remote URL, if any)."""
    lowered = message.lower()
    if "remote" in lowered:
        match = _URL_RE.search(message)
        return "manifest.inaccessible", match.group(0).rstrip(").,") if match else None
    if "prerelease" in lowered:
        return "status.prerelease", None
    if "unknown algorithm" in lowered or "unsupported algorithm" in lowered:
        return "algorithm.unsupported", None
    return "cameoguard.manifest.unreadable", None


def verify_file(
    path: Path,
    *,
    limits: Limits,
    trust: TrustPolicy | None = None,
    info: MediaInfo | None = None,
) -> ProvenanceReport:
    """Verify the C2PA provenance of one file.

    c2pa reads the manifest and hashes bytes; it decodes no pixels or samples. So the checks
    that matter here are the byte limit and the type, read from the content. Pixel and
    duration limits protect decoders: the verification pipeline probes once up front (and may
    pass that ``info`` in); a truncated signed file is a provenance finding (its hash no longer
    matches), reported as ``invalid`` rather than refused.
    """
    if info is None:
        check_file_size(path, limits)
        media_type = sniff(path)
    else:
        media_type = info.type
    mime = media_type.mime
    kind = media_type.kind.value
    base: dict[str, Any] = {"path": str(path), "media_type": mime}
    policy = trust or TrustPolicy()
    context = policy.context()
    try:
        with open(path, "rb") as fh:
            reader = c2pa.Reader.try_create(mime, fh, context=context)
            if reader is None:
                base["state"] = ProvenanceState.ABSENT
                return ProvenanceReport(**base, summary=_summary(base, kind))
            with reader:
                data = json.loads(reader.json())
                sdk_state = reader.get_validation_state()
                remote = reader.get_remote_url() if not reader.is_embedded() else None
    except c2pa.C2paError as exc:
        log.debug("c2pa could not read %s: %s", path, exc)
        code, remote = _read_error_code(str(exc))
        entry = StatusEntry(code=code, category=Category.INTEGRITY, meaning=explain(code),
                            sdk_explanation=str(exc))  # fmt: skip
        base.update(state=ProvenanceState.INVALID, integrity_failures=[entry],
                    ai_generated=False, ai_source_type=None,
                    remote_manifest_url=remote)  # fmt: skip
        return ProvenanceReport(**base, summary=_summary(base, kind))
    finally:
        context.close()

    manifests: dict[str, Any] = data.get("manifests") or {}
    label = data.get("active_manifest")
    manifest: dict[str, Any] = manifests.get(label) or {} if isinstance(label, str) else {}
    results = data.get("validation_results")
    if isinstance(results, dict):
        entries = _entries(results.get("activeManifest"))
    else:
        entries = _legacy_entries(data.get("validation_status"))
    deltas = _delta_failures(results)
    state = _state_from(entries + deltas, sdk_state)
    if not manifest and state is not ProvenanceState.INVALID:
        state = ProvenanceState.INVALID  # a store without a readable active manifest

    sig = manifest.get("signature_info") or {}
    signing_time = _parse_time(sig.get("time"))
    signer = None
    if sig:
        signer = SignerInfo(
            common_name=sig.get("common_name"), organization=sig.get("issuer"),
            algorithm=sig.get("alg"), serial=sig.get("cert_serial_number"),
            chain=chain_for_file(path, mime, label) if label else [],
        )  # fmt: skip
    actions = _actions(manifest)
    ai_terms = [a.digital_source_type for a in actions if a.digital_source_type in AI_SOURCE_TYPES]
    custom = [
        AssertionInfo(label=str(a.get("label")), data=a.get("data"))
        for a in manifest.get("assertions", []) or []
        if not str(a.get("label", "")).startswith(_STRUCTURAL_LABELS)
    ]
    base.update(
        state=state, manifest_label=label, title=manifest.get("title"),
        claim_generator=_claim_generator(manifest), signer=signer, signing_time=signing_time,
        timestamp_status=_timestamp_status(entries, signing_time), actions=actions,
        ai_generated=bool(ai_terms), ai_source_type=ai_terms[0] if ai_terms else None,
        ingredients=_ingredient_nodes(manifest, manifests, 0, frozenset({label or ""}), deltas),
        ingredient_failures=deltas,
        custom_assertions=custom,
        integrity_failures=[e for e in entries if e.category is Category.INTEGRITY],
        trust_failures=[e for e in entries if e.category is Category.TRUST],
        informational=[e for e in entries if e.category is Category.INFORMATIONAL],
        successes=[e for e in entries if e.category is Category.SUCCESS],
        remote_manifest_url=remote, manifest_count=len(manifests),
    )  # fmt: skip
    return ProvenanceReport(**base, summary=_summary(base, kind))


def read_manifest_json(path: Path, mime: str, trust: TrustPolicy | None = None) -> str | None:
    """The manifest store of ``path`` as c2pa's Reader prints it (JSON), or None without one."""
    context = (trust or TrustPolicy()).context()
    try:
        with open(path, "rb") as fh:
            reader = c2pa.Reader.try_create(mime, fh, context=context)
            if reader is None:
                return None
            with reader:
                return str(reader.json())
    except c2pa.C2paError as exc:
        raise VerificationError(f"{path}: the C2PA manifest cannot be read ({exc})") from None
    finally:
        context.close()
