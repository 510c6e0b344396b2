"""The generation pipeline: the only public way to generate, and it fails closed.

    request -> validate -> authorize -> generate -> scan faces -> watermark (+ badge)
            -> fingerprint -> sign -> self-verify -> ledger (+ draft) -> publish -> result

1. **validate**: the backend exists; the prompt is text of a sane length; the target or remix
   parent is a file within the media limits of a kind the backend makes; a remix parent must
   resolve (C2PA, watermark or fingerprint) to a live cameoguard generation.
2. **authorize**: every requested cameo, *and every cameo in the remix parent*, must grant
   consent to this requester for this prompt (:meth:`CameoRegistry.authorize`, which also checks
   the prompt against each cameo's restrictions); one denial stops the request with its reason.
   Backends that render a likeness get the cameo's enrolled face pictures only now.
3. **generate**: the backend writes raw media inside a private work directory.
4. **scan**: every face on sampled frames is matched (:mod:`.scan`); a face of a protected
   person, or of a cameo without a grant, discards the output.
5. **watermark** ... **publish**: :class:`~cameoguard.generator_adapter.emit.Emitter` marks,
   fingerprints, signs (AI-generated, the generator, the likeness-consent assertion, the
   soft-binding assertion, the parent as ingredient), verifies the final file and records it
   in the ledger together with the generation's draft row, then moves it into the library.

Any exception at any stage: the work directory is deleted, nothing reaches the library, the
ledger holds no half record, and the caller gets a :class:`~cameoguard.errors.CameoguardError`
that names the stage. ``on_stage`` lets callers time stages and lets tests inject a fault at
each one. Outputs start as drafts (:mod:`.library`).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from cameoguard import __version__, db
from cameoguard.consent.registry import CameoRegistry
from cameoguard.consent.values import Authorization
from cameoguard.errors import (
    BadInputError,
    CameoguardError,
    ConsentDeniedError,
    FaceScanViolationError,
    FileNotFoundInputError,
    GenerationCancelledError,
    GenerationError,
)
from cameoguard.generator_adapter.backends.base import (
    Backend,
    BackendRequest,
    CameoLikeness,
    CancelToken,
    RawMedia,
    create_backend,
)
from cameoguard.generator_adapter.emit import EmitResult, Emitter
from cameoguard.generator_adapter.library import Generation, GenerationLibrary
from cameoguard.generator_adapter.scan import FaceScan, ScanPolicy, scan_output
from cameoguard.media import Limits, probe
from cameoguard.media.types import MediaInfo, MediaKind
from cameoguard.provenance.ledger import Ledger, LedgerEntry, LedgerStatus
from cameoguard.provenance.likeness import (
    LIKENESS_LABEL,
    CameoConsent,
    likeness_assertion,
    status_url,
)
from cameoguard.provenance.manifest import Ingredient, ManifestSpec
from cameoguard.provenance.softbinding import Resolver
from cameoguard.settings import Settings
from cameoguard.watermark.marker import Watermarker
from cameoguard.watermark.visible import VisibleBadge

__all__ = [
    "STAGES",
    "GenerationPipeline",
    "GenerationRequest",
    "GenerationResult",
]

log = logging.getLogger(__name__)

#: Every stage, in order.
STAGES = (
    "validate",
    "authorize",
    "generate",
    "scan",
    "watermark",
    "fingerprint",
    "sign",
    "self_verify",
    "ledger",
    "publish",
)
#: Stages 4-8 of the issue: everything after the backend, the cost of marking output.
OVERHEAD_STAGES = STAGES[3:]

GENERATION_LABEL = "org.cameoguard.generation"


@dataclass(frozen=True)
class GenerationRequest:
    """What a requester asks for. ``parent`` makes it a remix of an earlier output."""

    requester: str
    backend: str
    prompt: str
    cameo_ids: tuple[str, ...] = ()
    target: Path | None = None
    parent: Path | None = None
    kind: MediaKind | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    title: str | None = None


@dataclass(frozen=True)
class GenerationResult:
    """A signed, recorded draft. ``generation.path`` is the library copy."""

    generation: Generation
    face_scan: FaceScan
    timings: dict[str, float]
    backend_details: Mapping[str, Any]
    grants: tuple[str, ...]
    watermark_tracks: tuple[str, ...]
    watermark_skipped: tuple[str, ...] = ()

    @property
    def generation_id(self) -> str:
        return self.generation.id

    @property
    def path(self) -> Path:
        assert self.generation.path is not None
        return self.generation.path

    def overhead_s(self) -> float:
        return sum(self.timings.get(name, 0.0) for name in OVERHEAD_STAGES)

    def to_dict(self) -> dict[str, Any]:
        return {
            "generation": self.generation.to_dict(),
            "face_scan": self.face_scan.to_dict(),
            "timings_s": {k: round(v, 4) for k, v in self.timings.items()},
            "backend": dict(self.backend_details),
            "grants": list(self.grants),
            "watermark_tracks": list(self.watermark_tracks),
            "watermark_skipped": list(self.watermark_skipped),
        }


class _StageClock:
    """Times stages and calls the caller's hook as each one starts."""

    def __init__(self, hook: Callable[[str], None] | None) -> None:
        self.hook = hook
        self.current = "validate"
        self.timings: dict[str, float] = {}
        self._started = time.perf_counter()

    def enter(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[self.current] = self.timings.get(self.current, 0.0) + now - self._started
        self.current, self._started = name, now
        if self.hook is not None:
            self.hook(name)

    def stop(self) -> dict[str, float]:
        self.enter("done")
        self.timings.pop("done", None)
        return self.timings


@dataclass(frozen=True)
class _Validated:
    backend: Backend
    kind: MediaKind
    target: Path | None
    target_info: MediaInfo | None
    parent: LedgerEntry | None
    prompt_sha256: str


class GenerationPipeline:
    """Consent registry + backends + emitter + library, wired once and reused."""

    def __init__(
        self,
        *,
        registry: CameoRegistry,
        emitter: Emitter,
        library: GenerationLibrary,
        resolver: Resolver,
        settings: Settings,
        backends: Mapping[str, Backend] | None = None,
    ) -> None:
        self.registry = registry
        self.emitter = emitter
        self.library = library
        self.resolver = resolver
        self.settings = settings
        self.limits = emitter.limits
        self.scan_policy = ScanPolicy(
            settings.generation_unmatched_faces, settings.generation_scan_frames
        )
        self._backends: dict[str, Backend] = dict(backends or {})

    @classmethod
    @contextlib.contextmanager
    def from_settings(
        cls, settings: Settings, engine: Engine | None = None
    ) -> Iterator[GenerationPipeline]:
        """A pipeline over the configured database, keys and models (closed on exit)."""
        from cameoguard.provenance.signers import signer_from_settings
        from cameoguard.provenance.trust import TrustPolicy
        from cameoguard.watermark.keys import load_or_create_watermark_key

        engine = engine or db.engine_from_settings(settings)
        db.upgrade(engine)
        sessions = db.session_factory(engine)
        ledger = Ledger(sessions)
        limits = Limits.from_settings(settings)
        watermarker = Watermarker(load_or_create_watermark_key(settings.watermark_key_path))
        with (
            signer_from_settings(settings) as signer,
            CameoRegistry.from_settings(settings, engine, ledger=ledger) as registry,
        ):
            pipeline = cls(
                registry=registry,
                emitter=Emitter(
                    watermarker,
                    signer,
                    ledger,
                    limits,
                    TrustPolicy.from_settings(settings),
                    VisibleBadge() if settings.generation_visible_badge else None,
                ),
                library=GenerationLibrary(sessions, settings.data_dir / "generations", ledger),
                resolver=Resolver(ledger, watermarker, limits),
                settings=settings,
            )
            try:
                yield pipeline
            finally:
                pipeline.close()

    def close(self) -> None:
        for backend in self._backends.values():
            backend.close()
        self._backends.clear()

    def backend(self, name: str) -> Backend:
        if name not in self._backends:
            self._backends[name] = create_backend(name, self.settings)
        return self._backends[name]

    # ------------------------------------------------------------------ the flow

    def generate(
        self,
        request: GenerationRequest,
        *,
        cancel: CancelToken | None = None,
        progress: Callable[[float, str], None] | None = None,
        on_stage: Callable[[str], None] | None = None,
    ) -> GenerationResult:
        """Run every stage; return the signed draft, or raise and leave nothing behind."""
        clock = _StageClock(on_stage)
        if on_stage is not None:
            on_stage("validate")
        self.library.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        work = Path(tempfile.mkdtemp(prefix=".generating-", dir=self.library.root))
        try:
            return self._run(request, work, clock, cancel or CancelToken(), progress)
        except CameoguardError:
            log.info("generation for %s failed at %s", request.requester, clock.current)
            raise
        except Exception as exc:  # fail closed on anything unexpected, naming the stage
            raise GenerationError(
                f"generation failed at stage {clock.current!r} ({type(exc).__name__}: {exc}); "
                "nothing was written and the ledger is unchanged",
                code=f"generation.{clock.current}_failed",
            ) from exc
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _run(
        self,
        request: GenerationRequest,
        work: Path,
        clock: _StageClock,
        cancel: CancelToken,
        progress: Callable[[float, str], None] | None,
    ) -> GenerationResult:
        checked = self._validate(request)

        clock.enter("authorize")
        cameo_ids = list(dict.fromkeys(request.cameo_ids))
        parent_cameos = [] if checked.parent is None else list(checked.parent.cameo_ids)
        everyone = list(dict.fromkeys(cameo_ids + parent_cameos))
        authorization = self._authorize(request, everyone)
        grants = {g.cameo_id: g for g in (authorization.grants if authorization else ())}
        likenesses: tuple[CameoLikeness, ...] = ()
        if checked.backend.needs_cameo:
            likenesses = tuple(
                CameoLikeness(cid, grants[cid].grant_id,
                              tuple(self.registry.likeness(grants[cid].grant_id,
                                                           request.requester)))
                for cid in cameo_ids
            )  # fmt: skip

        clock.enter("generate")
        raw = checked.backend.generate(
            BackendRequest(
                prompt=request.prompt,
                kind=checked.kind,
                workdir=work,
                limits=self.limits,
                cameos=likenesses,
                target=checked.target,
                options=dict(request.options),
                cancel=cancel,
                progress=progress,
            )
        )
        raw_info = self._check_raw(raw, work, checked)
        _check_cancelled(cancel)

        clock.enter("scan")
        scan = scan_output(self.registry, raw.path, self.limits, set(everyone), self.scan_policy)
        if not scan.ok:
            raise FaceScanViolationError(
                f"the generated output was discarded: {scan.explain()}. Nothing was written; "
                "ask the person for consent to use their cameo, or use a target without them"
            )
        source = raw.path
        _check_cancelled(cancel)

        spec = self._manifest(request, checked, raw, scan, grants, cameo_ids, parent_cameos)
        generation = self.emitter.ledger.new_generation_id()
        generation_id = generation[0]
        suffix = raw.path.suffix if raw.path.suffix else "." + raw_info.type.extension
        dest = self.library.path_for(generation_id, suffix)
        details = {
            "backend": dict(raw.details),
            "model": raw.model,
            "face_scan": scan.summary(),
            "remix_of": None if checked.parent is None else checked.parent.generation_id,
        }

        def draft_rows(gid: str) -> list[Any]:
            return [
                self.library.draft_row(
                    gid,
                    requester=request.requester,
                    backend=checked.backend.name,
                    media_kind=raw_info.kind.value,
                    mime=raw_info.type.mime,
                    prompt=request.prompt,
                    prompt_sha256=checked.prompt_sha256,
                    parent_id=None if checked.parent is None else checked.parent.generation_id,
                    file_name=dest.name,
                    details=details,
                )
            ]

        try:
            emitted = self.emitter.emit(
                source,
                dest,
                spec,
                requester=request.requester,
                backend=checked.backend.name,
                cameo_ids=tuple(everyone),
                consent_grant_ids=tuple(grants[c].grant_id for c in everyone if c in grants),
                also=draft_rows,
                on_stage=clock.enter,
                generation=generation,
            )
        except BaseException:
            self._withdraw(generation_id, dest)
            raise
        timings = clock.stop()
        log.info("generation %s by %s done (%s)", generation_id, request.requester,
                 checked.backend.name)  # fmt: skip
        return self._result(emitted, scan, timings, raw, grants)

    # ------------------------------------------------------------------ stages

    def _validate(self, request: GenerationRequest) -> _Validated:
        if not isinstance(request.prompt, str) or not request.prompt.strip():
            raise BadInputError("the prompt is empty; describe what to generate",
                                code="generation.bad_prompt")  # fmt: skip
        limit = self.settings.generation_max_prompt_chars
        if len(request.prompt) > limit:
            raise BadInputError(
                f"the prompt has {len(request.prompt)} characters, the limit is {limit}; "
                "shorten it (or raise CAMEOGUARD_GENERATION_MAX_PROMPT_CHARS)",
                code="generation.bad_prompt",
            )
        backend = self.backend(request.backend)
        parent: LedgerEntry | None = None
        target, target_info = request.target, None
        if request.parent is not None:
            parent_info = self._probe_input(request.parent, "remix parent")
            parent = self._resolve_parent(request.parent)
            if target is None:
                target, target_info = request.parent, parent_info
        if target is not None and target_info is None:
            target_info = self._probe_input(target, "target")
        if backend.needs_target and target is None:
            raise BadInputError(
                f"backend {backend.name} renders into a picture or video you supply: pass a "
                "target (--target FILE) or a remix parent",
                code="generation.target_missing",
            )
        if backend.needs_cameo and not request.cameo_ids:
            raise BadInputError(f"backend {backend.name} needs at least one cameo (--cameo ID)",
                                code="generation.cameo_missing")  # fmt: skip
        kind = request.kind or (target_info.kind if target_info else None)
        if kind is None:
            if len(backend.kinds) != 1:
                raise BadInputError(
                    f"say which kind of media to make: {backend.name} makes "
                    f"{', '.join(sorted(k.value for k in backend.kinds))}",
                    code="generation.kind_missing",
                )
            (kind,) = backend.kinds
        if kind not in backend.kinds:
            raise BadInputError(
                f"backend {backend.name} cannot make {kind.value}; it makes "
                f"{', '.join(sorted(k.value for k in backend.kinds))}",
                code="generation.kind_unsupported",
            )
        prompt_sha = hashlib.sha256(request.prompt.encode()).hexdigest()
        return _Validated(backend, kind, target, target_info, parent, prompt_sha)

    def _probe_input(self, path: Path, what: str) -> MediaInfo:
        if not Path(path).is_file():
            raise FileNotFoundInputError(f"the {what} {path} does not exist or is not a file")
        return probe(path, self.limits)

    def _resolve_parent(self, path: Path) -> LedgerEntry:
        resolution = self.resolver.resolve(path)
        entry = resolution.entry
        if not resolution.matched or entry is None:
            raise BadInputError(
                f"{path} is not a cameoguard output that this deployment recorded "
                f"({resolution.explanation or resolution.status.value}); only recorded outputs "
                "can be remixed",
                code="generation.parent_unknown",
            )
        if entry.status is LedgerStatus.TAKEN_DOWN:
            raise ConsentDeniedError(
                f"{entry.generation_id} was taken down ({entry.takedown_reason}); it cannot be "
                "remixed",
                code="generation.parent_taken_down",
            )
        return entry

    def _authorize(self, request: GenerationRequest, cameo_ids: list[str]) -> Authorization | None:
        if not cameo_ids:
            return None
        authorization = self.registry.authorize(request.requester, cameo_ids, request.prompt)
        if not authorization.allowed:
            reasons = "; ".join(d.message for d in authorization.denials)
            raise ConsentDeniedError(
                f"consent refused, nothing was generated: {reasons}",
                code=f"consent.{authorization.denials[0].reason.value}"
                if authorization.denials
                else "consent.denied",
            )
        return authorization

    def _check_raw(self, raw: RawMedia, work: Path, checked: _Validated) -> MediaInfo:
        path = Path(raw.path)
        if not path.resolve().is_relative_to(work.resolve()) or not path.is_file():
            raise GenerationError(
                f"backend {checked.backend.name} did not leave its output in its work directory; "
                "nothing was written",
                code="generation.backend_output",
            )
        try:
            info = probe(path, self.limits)
        except CameoguardError as exc:
            raise GenerationError(
                f"backend {checked.backend.name} produced unusable media ({exc}); nothing was "
                "written",
                code="generation.backend_output",
            ) from None
        if info.kind is not checked.kind:
            raise GenerationError(
                f"backend {checked.backend.name} made {info.kind.value}, not the "
                f"{checked.kind.value} asked for; nothing was written",
                code="generation.backend_output",
            )
        return info

    def _manifest(
        self,
        request: GenerationRequest,
        checked: _Validated,
        raw: RawMedia,
        scan: FaceScan,
        grants: Mapping[str, Any],
        cameo_ids: list[str],
        parent_cameos: list[str],
    ) -> ManifestSpec:
        title = request.title or f"{checked.backend.name} {checked.kind.value}"
        spec = ManifestSpec.ai_generated(
            title, generator=raw.model, generator_version=raw.model_version
        )
        public = self.settings.public_url
        consents = [
            CameoConsent(
                cid,
                grants[cid].grant_id,
                grants[cid].scope,
                grants[cid].expires_at.isoformat(),
                status_url(public, grants[cid].grant_id),
                "requested" if cid in cameo_ids else "from_parent",
            )
            for cid in dict.fromkeys(cameo_ids + parent_cameos)
        ]
        parent_id = None if checked.parent is None else checked.parent.generation_id
        spec = spec.with_assertion(
            LIKENESS_LABEL,
            likeness_assertion(consents, face_scan=scan.summary(),
                               unmatched_faces=self.scan_policy.unmatched_faces,
                               parent_generation=parent_id),
        )  # fmt: skip
        spec = spec.with_assertion(
            GENERATION_LABEL,
            {
                "backend": checked.backend.name,
                "backend_version": checked.backend.version,
                "cameoguard_version": __version__,
                "prompt_sha256": checked.prompt_sha256,
                "remix_of": parent_id,
            },
        )
        if request.parent is not None:
            spec = spec.with_ingredient(
                Ingredient(Path(request.parent), "parentOf", title=parent_id or "parent")
            )
        return spec

    def _withdraw(self, generation_id: str, dest: Path) -> None:
        """After a failure past the ledger stage: no live record, no draft, no file."""
        with contextlib.suppress(Exception):
            if self.emitter.ledger.get(generation_id) is not None:
                self.emitter.ledger.take_down(generation_id, "generation failed before publishing")
                self.library.discard(generation_id, "generation failed before publishing")
        with contextlib.suppress(FileNotFoundError):
            dest.unlink()

    def _result(
        self,
        emitted: EmitResult,
        scan: FaceScan,
        timings: dict[str, float],
        raw: RawMedia,
        grants: Mapping[str, Any],
    ) -> GenerationResult:
        from cameoguard.consent.values import OPERATOR

        generation = self.library.get(emitted.generation_id, OPERATOR)
        return GenerationResult(
            generation,
            scan,
            timings,
            dict(raw.details),
            tuple(g.grant_id for g in grants.values()),
            emitted.watermark_tracks,
            emitted.watermark_skipped,
        )

    # ------------------------------------------------------------------ drafts

    def publish(self, generation_id: str, actor: Any) -> Generation:
        """Publish a draft after re-checking that every cameo in it still consents."""
        draft = self.library.get(generation_id, actor)
        standing = [
            g for g in draft.consent_grant_ids if self.registry.grant_status(g).state == "active"
        ]
        return self.library.publish(generation_id, actor, standing)


def _check_cancelled(cancel: CancelToken) -> None:
    if cancel.cancelled:
        raise GenerationCancelledError("the generation was cancelled; nothing was written")
