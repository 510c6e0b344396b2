"""``cameoguard`` entry point: ``keys init``, ``db upgrade|status``, ``sign``, ``verify``.

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
    from cameoguard.settings import Settings

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
    sign.add_argument("--json", action="store_true")

    verify = sub.add_parser("verify", help="verify the C2PA provenance of media files")
    verify.add_argument("files", type=Path, nargs="+", metavar="FILE")
    verify.add_argument("--json", action="store_true", help="print a JSON array of reports")
    verify.add_argument("--trust-anchors", type=Path,
                        help="PEM roots to trust (default: CAMEOGUARD_TRUST_ANCHORS)")  # fmt: skip
    verify.add_argument("--require-trusted", action="store_true",
                        help="exit 1 unless every file is signed by a trusted signer")  # fmt: skip
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
    paths = init_dev_ca(settings.keys_dir, organization=args.organization, force=args.force)
    if args.json:
        print(json.dumps({k: str(v) for k, v in vars(paths).items()}, indent=2))
        return ExitCode.OK
    where = escape(str(settings.keys_dir))
    console.print(f"[green]Created a development CA and signing key in[/green] {where}")
    for name, path in vars(paths).items():
        private = " [dim](private, 0600)[/dim]" if path.suffix == ".key" else ""
        console.print(f"  {name:18} {escape(str(path))}{private}")
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


def _cmd_verify(args: argparse.Namespace, console: Console) -> ExitCode:
    from cameoguard.cli.render import render_report, reports_json
    from cameoguard.media import Limits
    from cameoguard.provenance.report import ProvenanceState
    from cameoguard.provenance.trust import TrustPolicy
    from cameoguard.provenance.verify import verify_file

    settings = _settings(args)
    limits = Limits.from_settings(settings)
    trust = TrustPolicy.from_settings(settings)
    outputs: list[dict[str, object]] = []
    code = ExitCode.OK
    for path in args.files:
        try:
            report = verify_file(path, limits=limits, trust=trust)
        except CameoguardError as exc:
            code = max(code, _exit_for(exc))
            outputs.append({"path": str(path), "error": {"code": exc.code, "message": exc.message}})
            if not args.json:
                console.print(f"[red]error:[/red] {escape(str(path))}: {escape(exc.message)}")
            continue
        outputs.append(report.model_dump(mode="json"))
        bad = report.state is ProvenanceState.INVALID or (
            args.require_trusted and report.state is not ProvenanceState.TRUSTED
        )
        if bad:
            code = max(code, ExitCode.PROBLEMS)
        if not args.json:
            render_report(console, report)
    if args.json:
        print(reports_json(outputs))
    return code


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    console = Console(highlight=False)
    err = Console(stderr=True, highlight=False)
    handlers = {"keys": _cmd_keys_init, "db": _cmd_db, "sign": _cmd_sign, "verify": _cmd_verify}
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
