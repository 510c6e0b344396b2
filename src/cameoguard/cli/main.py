"""``cameoguard`` entry point: ``keys init``, ``db upgrade|status``, ``sign``, ``verify``,
``watermark embed|detect``, ``resolve``, ``cameo ...``, ``audit verify|log``, ``generate``,
``generations list|show|publish|delete|export`` and ``detect train|eval|score``.

Exit codes (:class:`ExitCode`): 0 ok, 1 the operation found problems (an invalid manifest, a
failed signing), 2 bad input or configuration. Errors print one clear line, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from cameoguard import __version__
from cameoguard.errors import BadInputError, CameoguardError, ConfigurationError

if TYPE_CHECKING:
    from cameoguard.provenance.ledger import Ledger
    from cameoguard.provenance.manifest import ManifestSpec
    from cameoguard.settings import Settings
    from cameoguard.verification import VerificationResult
    from cameoguard.watermark.marker import Watermarker

__all__ = ["ExitCode", "main"]


class ExitCode(IntEnum):
    OK = 0
    PROBLEMS = 1
    BAD_INPUT = 2


def _exit_for(error: CameoguardError) -> ExitCode:
    if isinstance(error, BadInputError | ConfigurationError):
        return ExitCode.BAD_INPUT
    return ExitCode.PROBLEMS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cameoguard", description="Consent-first AI media: sign and verify provenance."
    )
    parser.add_argument("--version", action="version", version=f"cameoguard {__version__}")
    parser.add_argument(
        "--data-dir", type=Path, help="where keys and data live (default: CAMEOGUARD_DATA_DIR)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    keys = sub.add_parser("keys", help="manage signing keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    init = keys_sub.add_parser("init", help="create a development CA and an ES256 signing key")
    init.add_argument("--force", action="store_true", help="replace existing key files")
    init.add_argument("--organization", default="cameoguard development")
    init.add_argument("--json", action="store_true", help="print paths as JSON")

    db = sub.add_parser("db", help="manage the database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_sub.add_parser("upgrade", help="create or migrate the database to the newest schema")
    db_sub.add_parser("status", help="show the database URL (password hidden) and revision")

    sign = sub.add_parser("sign", help="embed a signed C2PA manifest into a media file")
    sign.add_argument("file", type=Path)
    sign.add_argument("-o", "--output", type=Path, required=True, help="where to write")
    kind = sign.add_mutually_exclusive_group()
    kind.add_argument("--ai-generated", dest="mode", action="store_const", const="ai",
                      help="declare trainedAlgorithmicMedia (default)")  # fmt: skip
    kind.add_argument("--capture", dest="mode", action="store_const", const="capture",
                      help="declare a camera/microphone capture (digitalCapture)")  # fmt: skip
    kind.add_argument("--human-edits", dest="mode", action="store_const", const="edits",
                      help="declare media made or edited by a person (humanEdits)")  # fmt: skip
    sign.add_argument("--title", help="manifest title (default: the output file name)")
    sign.add_argument("--generator", default="unspecified generator",
                      help="software agent: the generator or capture device name")  # fmt: skip
    sign.add_argument("--generator-version")
    sign.add_argument("--parent", type=Path, help="the file this one was made from (remix/edit)")
    sign.add_argument("--watermark", action="store_true",
                      help="generated media: embed a watermark, sign, self-verify and record "
                      "the output in the ledger (what the generation core does)")  # fmt: skip
    sign.add_argument("--requester", default="cli", help="with --watermark: who asked for it")
    sign.add_argument("--json", action="store_true")

    wm = sub.add_parser("watermark", help="embed or detect the invisible watermark")
    wm_sub = wm.add_subparsers(dest="watermark_command", required=True, metavar="ACTION")
    embed = wm_sub.add_parser(
        "embed", help="embed a payload (not recorded in the ledger; see sign --watermark)"
    )
    embed.add_argument("file", type=Path)
    embed.add_argument("-o", "--output", type=Path, required=True, help="where to write")
    embed.add_argument("--payload", help="generation id g_ + 12 hex digits (default: random)")
    embed.add_argument("--badge", nargs="?", const="AI-generated", metavar="TEXT",
                       help="also draw a visible badge (default text: AI-generated; it moves "
                       "between corners every 3 s in video)")  # fmt: skip
    embed.add_argument("--json", action="store_true")
    detect = wm_sub.add_parser("detect", help="look for a watermark of this deployment's key")
    detect.add_argument("file", type=Path)
    detect.add_argument("--json", action="store_true")

    resolve = sub.add_parser(
        "resolve", help="find the original generation and manifest of a (stripped) copy"
    )
    resolve.add_argument("file", type=Path)
    resolve.add_argument("--json", action="store_true")
    resolve.add_argument("--no-manifest", action="store_true",
                         help="leave the original manifest out of the JSON")  # fmt: skip

    verify = sub.add_parser("verify", help="verify the C2PA provenance of media files")
    verify.add_argument("files", type=Path, nargs="+", metavar="FILE")
    verify.add_argument("--json", action="store_true", help="print a JSON array of reports")
    verify.add_argument("--trust-anchors", type=Path,
                        help="PEM roots to trust (default: CAMEOGUARD_TRUST_ANCHORS)")  # fmt: skip
    verify.add_argument("--require-trusted", action="store_true",
                        help="exit 1 unless every file is signed by a trusted signer")  # fmt: skip

    from cameoguard.cli import cameo, generate, service
    from cameoguard.cli import detect as detect_cli

    cameo.add_parsers(sub)
    generate.add_parsers(sub)
    detect_cli.add_parsers(sub)
    service.add_parsers(sub)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    from cameoguard.settings import Settings, get_settings

    overrides: dict[str, Path] = {}
    if args.data_dir is not None:
        overrides["data_dir"] = args.data_dir
    if getattr(args, "trust_anchors", None) is not None:
        overrides["trust_anchors"] = args.trust_anchors
    return Settings(**overrides) if overrides else get_settings()  # type: ignore[arg-type]


def _cmd_keys_init(args: argparse.Namespace, console: Console) -> ExitCode:
    from cameoguard.provenance.keys import init_dev_ca

    settings = _settings(args)
    from cameoguard.watermark.keys import load_or_create_watermark_key

    paths = init_dev_ca(settings.keys_dir, organization=args.organization, force=args.force)
    # The watermark key is never replaced, not even with --force: marks made with it would
    # become unreadable. Delete the file by hand to start a new deployment.
    wm_key = load_or_create_watermark_key(settings.watermark_key_path)
    if args.json:
        out = {k: str(v) for k, v in vars(paths).items()}
        out.update(watermark_key=str(settings.watermark_key_path), watermark_key_id=wm_key.key_id)
        print(json.dumps(out, indent=2))
        return ExitCode.OK
    where = escape(str(settings.keys_dir))
    console.print(f"[green]Created a development CA and signing key in[/green] {where}")
    for name, path in vars(paths).items():
        private = " [dim](private, 0600)[/dim]" if path.suffix == ".key" else ""
        console.print(f"  {name:18} {escape(str(path))}{private}")
    console.print(
        f"  {'watermark_key':18} {escape(str(settings.watermark_key_path))} [dim](private, "
        f"0600; key id {wm_key.key_id}; kept across --force)[/dim]"
    )
    console.print(
        "For development only. To verify your own files as trusted:\n"
        f"  export CAMEOGUARD_TRUST_ANCHORS={escape(str(paths.trust_anchors))}"
    )
    return ExitCode.OK


def _cmd_db(args: argparse.Namespace, console: Console) -> ExitCode:
    from cameoguard import db

    settings = _settings(args)
    engine = db.engine_from_settings(settings)
    try:
        if args.db_command == "upgrade":
            db.upgrade(engine)
        current, head = db.current_revision(engine), db.head_revision()
    finally:
        engine.dispose()
    where = escape(db.safe_url(settings.effective_database_url))
    state = "up to date" if current == head else f"behind (newest is {head})"
    console.print(f"database {where}: revision {current or 'none'}, {state}")
    return ExitCode.OK if current == head else ExitCode.PROBLEMS


def _cmd_sign(args: argparse.Namespace, console: Console) -> ExitCode:
    from cameoguard.media import Limits
    from cameoguard.provenance.manifest import Ingredient, ManifestSpec
    from cameoguard.provenance.sign import sign_file
    from cameoguard.provenance.signers import signer_from_settings
    from cameoguard.provenance.trust import TrustPolicy

    settings = _settings(args)
    title = args.title or args.output.name
    mode = args.mode or "ai"
    if mode == "ai":
        spec = ManifestSpec.ai_generated(
            title, generator=args.generator, generator_version=args.generator_version
        )
    else:
        device = None if args.generator == "unspecified generator" else args.generator
        spec = ManifestSpec.capture(title, device=device, human_edits=mode == "edits")
    if args.parent is not None:
        if not args.parent.is_file():
            raise BadInputError(f"parent file {args.parent} does not exist; check the path")
        spec = spec.with_ingredient(Ingredient(args.parent, "parentOf"))
    if args.watermark:
        return _sign_watermarked(args, console, settings, spec)
    with signer_from_settings(settings) as signer:
        result = sign_file(
            args.file, args.output, spec, signer,
            limits=Limits.from_settings(settings), trust=TrustPolicy.from_settings(settings),
        )  # fmt: skip
    if args.json:
        print(json.dumps({"path": str(result.path), "media_type": result.media_type,
                          "manifest_bytes": result.manifest_bytes,
                          "kept_history": result.kept_history}))  # fmt: skip
    else:
        history = " (its earlier manifest is kept as the parent)" if result.kept_history else ""
        console.print(
            f"[green]Signed[/green] {escape(str(args.file))} -> {escape(str(result.path))} "
            f"({result.media_type}, manifest {result.manifest_bytes} bytes){history}"
        )
    return ExitCode.OK


def _ledger(settings: Settings) -> Ledger:
    from cameoguard import db
    from cameoguard.provenance.ledger import Ledger

    engine = db.engine_from_settings(settings)
    db.upgrade(engine)
    return Ledger(db.session_factory(engine))


def _watermarker(settings: Settings, *, create: bool) -> Watermarker:
    from cameoguard.watermark.keys import load_or_create_watermark_key, load_watermark_key
    from cameoguard.watermark.marker import Watermarker

    path = settings.watermark_key_path
    key = load_or_create_watermark_key(path) if create else load_watermark_key(path)
    return Watermarker(key)


def _sign_watermarked(
    args: argparse.Namespace, console: Console, settings: Settings, spec: ManifestSpec
) -> ExitCode:
    from cameoguard.generator_adapter.emit import Emitter
    from cameoguard.media import Limits
    from cameoguard.provenance.signers import signer_from_settings
    from cameoguard.provenance.trust import TrustPolicy

    with signer_from_settings(settings) as signer:
        emitter = Emitter(
            _watermarker(settings, create=True), signer, _ledger(settings),
            Limits.from_settings(settings), TrustPolicy.from_settings(settings),
        )  # fmt: skip
        result = emitter.emit(args.file, args.output, spec, requester=args.requester,
                              backend="cli")  # fmt: skip
    if args.json:
        print(json.dumps({"path": str(result.path), "generation_id": result.generation_id,
                          "sha256": result.sha256,
                          "watermarked_tracks": list(result.watermark_tracks)}))  # fmt: skip
    else:
        console.print(
            f"[green]Marked, signed and recorded[/green] {escape(str(result.path))} as "
            f"{result.generation_id} (watermark in {', '.join(result.watermark_tracks)})"
        )
    return ExitCode.OK


def _cmd_watermark(args: argparse.Namespace, console: Console) -> ExitCode:
    from cameoguard.media import Limits
    from cameoguard.watermark.payload import format_payload, new_payload, parse_payload

    settings = _settings(args)
    limits = Limits.from_settings(settings)
    if args.watermark_command == "embed":
        marker = _watermarker(settings, create=True)
        payload = parse_payload(args.payload) if args.payload else new_payload()
        from cameoguard.watermark.visible import VisibleBadge

        badge = None
        if args.badge is not None:
            try:
                badge = VisibleBadge(text=args.badge)
            except ValueError as exc:
                raise BadInputError(f"--badge: {exc}") from None
        result = marker.embed_file(args.file, args.output, payload, limits, badge=badge)
        if args.json:
            print(json.dumps({"path": str(result.path), "payload": format_payload(payload),
                              "tracks": list(result.tracks), "skipped": list(result.skipped),
                              "key_id": marker.key_id}))  # fmt: skip
        else:
            console.print(
                f"[green]Embedded[/green] {format_payload(payload)} in "
                f"{', '.join(result.tracks)} -> {escape(str(result.path))}"
            )
            for note in result.skipped:
                console.print(f"[yellow]not marked:[/yellow] {escape(note)}")
        return ExitCode.OK
    detection = _watermarker(settings, create=False).detect_file(args.file, limits)
    if args.json:
        print(json.dumps(detection.to_dict(), indent=2))
    elif detection.found:
        tracks = ", ".join(t.track for t in detection.tracks if t.found)
        console.print(
            f"[green]watermark found:[/green] {detection.payload_text} in {tracks} "
            f"(false-alarm probability <= {detection.false_alarm_bound:.1e})"
        )
        if detection.conflict:
            console.print("[red]tracks carry different payloads[/red]")
    else:
        console.print("no watermark of this deployment's key found")
    return ExitCode.OK


def _cmd_resolve(args: argparse.Namespace, console: Console) -> ExitCode:
    from cameoguard.media import Limits
    from cameoguard.provenance.softbinding import ResolutionStatus, Resolver

    settings = _settings(args)
    limits = Limits.from_settings(settings)
    resolver = Resolver(_ledger(settings), _watermarker(settings, create=False), limits)
    result = resolver.resolve(args.file)
    if args.json:
        print(json.dumps(result.to_dict(include_manifest=not args.no_manifest), indent=2))
    else:
        color = {"matched": "green", "transplant_suspected": "red"}.get(
            result.status.value, "yellow"
        )
        console.print(f"[{color}]{result.status.value}[/{color}] {escape(result.explanation)}")
        if result.entry is not None:
            e = result.entry
            console.print(
                f"  generation {e.generation_id}, made {e.created_at:%Y-%m-%d %H:%M} UTC by "
                f"{escape(e.requester)} with {escape(e.backend)}; method {result.method}; "
                f"cameos {', '.join(e.cameo_ids) or 'none'}; "
                f"manifest {escape(e.manifest_label or '-')}"
            )
    return (
        ExitCode.PROBLEMS if result.status is ResolutionStatus.TRANSPLANT_SUSPECTED else ExitCode.OK
    )


def _render_authenticity(console: Console, result: VerificationResult) -> None:
    report = result.authenticity
    label = report.label.value.replace("_", " ")
    console.print(f"[bold]verdict:[/bold] {label} (confidence {report.confidence:.2f})")
    for item in report.evidence:
        console.print(f"  - [{item.kind.value}] {escape(item.sentence)}")
    for note in result.notes:
        console.print(f"  [dim]note: {escape(note)}[/dim]")


def _cmd_verify(args: argparse.Namespace, console: Console) -> ExitCode:
    from cameoguard.cli.render import render_report, reports_json
    from cameoguard.provenance.report import ProvenanceState
    from cameoguard.verification import Verifier

    settings = _settings(args)
    outputs: list[dict[str, object]] = []
    code = ExitCode.OK
    with Verifier.from_settings(settings) as verifier:
        for path in args.files:
            try:
                result = verifier.verify(path)
            except CameoguardError as exc:
                code = max(code, _exit_for(exc))
                outputs.append({"path": str(path),
                                "error": {"code": exc.code, "message": exc.message}})  # fmt: skip
                if not args.json:
                    console.print(f"[red]error:[/red] {escape(str(path))}: {escape(exc.message)}")
                continue
            report = result.provenance
            outputs.append({**report.model_dump(mode="json"),
                            "authenticity": result.authenticity.to_dict(),
                            "notes": list(result.notes)})  # fmt: skip
            bad = report.state is ProvenanceState.INVALID or (
                args.require_trusted and report.state is not ProvenanceState.TRUSTED
            )
            if bad:
                code = max(code, ExitCode.PROBLEMS)
            if not args.json:
                render_report(console, report)
                _render_authenticity(console, result)
    if args.json:
        print(reports_json(outputs))
    return code


def _cmd_cameo(args: argparse.Namespace, console: Console) -> ExitCode:
    from cameoguard.cli.cameo import run_cameo

    return ExitCode(run_cameo(args, console, _settings(args)))


def _cmd_generate(args: argparse.Namespace, console: Console) -> ExitCode:
    from cameoguard.cli.generate import run_generate

    return ExitCode(run_generate(args, console, _settings(args)))


def _cmd_generations(args: argparse.Namespace, console: Console) -> ExitCode:
    from cameoguard.cli.generate import run_generations

    return ExitCode(run_generations(args, console, _settings(args)))


def _cmd_accounts(args: argparse.Namespace, console: Console) -> ExitCode:
    from cameoguard.cli.service import run_accounts

    return ExitCode(run_accounts(args, console, _settings(args)))


def _cmd_serve(args: argparse.Namespace, console: Console) -> ExitCode:
    from cameoguard.cli.service import run_serve

    return ExitCode(run_serve(args, console, _settings(args)))


def _cmd_detect(args: argparse.Namespace, console: Console) -> ExitCode:
    from cameoguard.cli.detect import run_detect

    return ExitCode(run_detect(args, console, _settings(args)))


def _cmd_audit(args: argparse.Namespace, console: Console) -> ExitCode:
    from cameoguard.cli.cameo import run_audit

    return ExitCode(run_audit(args, console, _settings(args)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    console = Console(highlight=False)
    err = Console(stderr=True, highlight=False)
    handlers = {
        "keys": _cmd_keys_init, "db": _cmd_db, "sign": _cmd_sign, "verify": _cmd_verify,
        "watermark": _cmd_watermark, "resolve": _cmd_resolve, "cameo": _cmd_cameo,
        "audit": _cmd_audit, "generate": _cmd_generate, "generations": _cmd_generations,
        "detect": _cmd_detect, "accounts": _cmd_accounts, "serve": _cmd_serve,
    }  # fmt: skip
    try:
        return int(handlers[args.command](args, console))
    except CameoguardError as exc:
        err.print(f"[red]error:[/red] {escape(exc.message)}")
        return int(_exit_for(exc))
    except ValidationError as exc:
        problems = "; ".join(
            f"CAMEOGUARD_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors()
        )
        err.print(f"[red]error:[/red] invalid settings: {escape(problems)}")
        return int(ExitCode.BAD_INPUT)
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
