"""``cameoguard generate`` and ``cameoguard generations list|show|publish|delete|export``.

A thin shell over :class:`~cameoguard.generator_adapter.pipeline.GenerationPipeline` and the
generation library: parse arguments, run, print a table or ``--json``. Every output of
``generate`` is a signed, watermarked, recorded draft; ``-o`` receives a copy of it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

if TYPE_CHECKING:
    from cameoguard.consent.values import Actor
    from cameoguard.generator_adapter.library import Generation
    from cameoguard.generator_adapter.pipeline import GenerationResult
    from cameoguard.settings import Settings

__all__ = ["add_parsers", "run_generate", "run_generations"]


def add_parsers(sub: Any) -> None:
    gen = sub.add_parser("generate", help="generate consented, watermarked, signed media (a draft)")
    gen.add_argument("--backend", default="cameo_composite",
                     help="generator backend (cameo_composite, http, diffusers)")  # fmt: skip
    gen.add_argument("--requester", required=True, help="the account asking for it")
    gen.add_argument("--cameo", action="append", default=[], metavar="CAMEO",
                     help="a cameo id to put in it (repeat for several)")  # fmt: skip
    gen.add_argument("--target", type=Path,
                     help="picture or video to render into (cameo_composite)")  # fmt: skip
    gen.add_argument("--remix", type=Path, metavar="FILE",
                     help="an earlier cameoguard output to remix (the parent)")  # fmt: skip
    gen.add_argument("--prompt", required=True, help="what to make")
    gen.add_argument("--kind", choices=("image", "video", "audio"))
    gen.add_argument("--title", help="manifest title")
    gen.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                     help="backend option, e.g. seconds=4 (repeatable)")  # fmt: skip
    gen.add_argument("-o", "--output", type=Path, required=True, help="where to write a copy")
    gen.add_argument("--json", action="store_true")

    gens = sub.add_parser("generations", help="list, show, publish, delete or export outputs")
    actions = gens.add_subparsers(dest="generations_command", required=True, metavar="ACTION")

    def action(name: str, help_text: str, *, with_id: bool = True) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = actions.add_parser(name, help=help_text)
        if with_id:
            parser.add_argument("generation_id", metavar="ID")
        parser.add_argument("--as", dest="acting_as", metavar="ACCOUNT",
                            help="act as this account (default: the operator)")  # fmt: skip
        parser.add_argument("--json", action="store_true")
        return parser

    listing = action("list", "generations you requested or that contain your cameos",
                     with_id=False)  # fmt: skip
    listing.add_argument("--status", choices=("draft", "published", "deleted"))
    listing.add_argument("--cameo", help="only generations with this cameo")
    action("show", "one generation")
    action("publish", "publish a draft (consent is re-checked)")
    delete = action("delete", "delete a generation (its requester or any cameo owner)")
    delete.add_argument("--reason")
    export = action("export", "copy a generation's file")
    export.add_argument("-o", "--output", type=Path, required=True)


def _options(pairs: list[str]) -> dict[str, Any]:
    from cameoguard.errors import BadInputError

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise BadInputError(f"--option {pair!r} is not KEY=VALUE (e.g. --option seconds=4)")
        try:
            out[key.strip()] = json.loads(value)
        except ValueError:
            out[key.strip()] = value
    return out


def _actor(args: argparse.Namespace) -> Actor:
    from cameoguard.consent.values import OPERATOR, Actor

    acting = getattr(args, "acting_as", None)
    return OPERATOR if acting is None else Actor(acting)


def _print_generated(console: Console, result: GenerationResult, output: Path) -> None:
    gen = result.generation
    scan = result.face_scan.summary()
    console.print(f"[green]generated[/green] {gen.id} ({gen.media_kind}, {gen.backend}) -> "
                  f"{escape(str(output))}")  # fmt: skip
    console.print(
        f"  draft; cameos {', '.join(gen.cameo_ids) or 'none'}; grants "
        f"{', '.join(gen.consent_grant_ids) or 'none'}; watermark in "
        f"{', '.join(result.watermark_tracks)}"
    )
    console.print(
        f"  face scan: {scan['faces']} faces on {scan['frames_sampled']} frames, "
        f"{scan['authorized']} authorized, {scan['unmatched']} unmatched, 0 violations"
    )
    timings = ", ".join(f"{k} {v:.2f}s" for k, v in result.timings.items())
    console.print(f"  stages: {timings}")


def run_generate(args: argparse.Namespace, console: Console, settings: Settings) -> int:
    from cameoguard.generator_adapter.pipeline import GenerationPipeline, GenerationRequest
    from cameoguard.media.types import MediaKind

    request = GenerationRequest(
        requester=args.requester,
        backend=args.backend,
        prompt=args.prompt,
        cameo_ids=tuple(args.cameo),
        target=args.target,
        parent=args.remix,
        kind=None if args.kind is None else MediaKind(args.kind),
        options=_options(args.option),
        title=args.title,
    )
    with GenerationPipeline.from_settings(settings) as pipeline:
        if args.json:
            result = pipeline.generate(request)
        else:
            with Progress(
                TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                console=Console(stderr=True), transient=True,
            ) as bar:  # fmt: skip
                task = bar.add_task("validate", total=1.0)

                def progress(fraction: float, message: str) -> None:
                    bar.update(task, completed=fraction, description=f"generate: {message}")

                def stage(name: str) -> None:
                    bar.update(task, description=name)

                result = pipeline.generate(request, progress=progress, on_stage=stage)
        pipeline.library.export(result.generation_id, _actor_for(args), args.output)
    if args.json:
        print(json.dumps({**result.to_dict(), "output": str(args.output)}, indent=2, default=str))
    else:
        _print_generated(console, result, args.output)
    return 0


def _actor_for(args: argparse.Namespace) -> Actor:
    from cameoguard.consent.values import Actor

    return Actor(args.requester)


def _table(console: Console, generations: list[Generation]) -> None:
    table = Table("id", "status", "kind", "backend", "requester", "cameos", "parent", "created")
    for g in generations:
        table.add_row(
            g.id, g.status.value, g.media_kind, g.backend, escape(g.requester),
            ", ".join(g.cameo_ids) or "-", g.parent_id or "-", f"{g.created_at:%Y-%m-%d %H:%M}",
        )  # fmt: skip
    console.print(table)


def _lines(console: Console, g: Generation) -> None:
    console.print(f"[bold]{g.id}[/bold] {g.status.value} {g.media_kind} ({g.mime}) by "
                  f"{escape(g.requester)} with {g.backend}")  # fmt: skip
    console.print(f"  created {g.created_at:%Y-%m-%d %H:%M:%S} UTC; sha256 {g.sha256}")
    console.print(f"  cameos {', '.join(g.cameo_ids) or 'none'}; grants "
                  f"{', '.join(g.consent_grant_ids) or 'none'}")  # fmt: skip
    if g.parent_id:
        console.print(f"  remix of {g.parent_id}")
    if g.prompt is not None:
        console.print(f"  prompt: {escape(g.prompt)}")
    if g.path is not None:
        console.print(f"  file: {escape(str(g.path))}")
    if g.deleted_at is not None:
        console.print(
            f"  deleted {g.deleted_at:%Y-%m-%d %H:%M} UTC: {escape(g.delete_reason or '')}"
        )


def _open_library(settings: Settings) -> Any:
    from cameoguard import db
    from cameoguard.generator_adapter.library import GenerationLibrary

    engine = db.engine_from_settings(settings)
    db.upgrade(engine)
    return GenerationLibrary(db.session_factory(engine), settings.data_dir / "generations")


def run_generations(args: argparse.Namespace, console: Console, settings: Settings) -> int:
    from cameoguard.cli.cameo import open_registry
    from cameoguard.generator_adapter.library import GenerationLibrary, GenerationStatus

    actor = _actor(args)
    library: GenerationLibrary = _open_library(settings)
    command = args.generations_command
    if command == "list":
        status = None if args.status is None else GenerationStatus(args.status)
        found = library.visible(actor, status=status, cameo_id=args.cameo)
        if args.json:
            print(json.dumps([g.to_dict() for g in found], indent=2, default=str))
        else:
            _table(console, found)
        return 0
    if command == "export":
        path = library.export(args.generation_id, actor, args.output)
        value = library.get(args.generation_id, actor)
        if args.json:
            print(json.dumps({"path": str(path), "generation": value.to_dict()}, default=str))
        else:
            console.print(f"exported {value.id} to {escape(str(path))}")
        return 0
    if command == "publish":
        draft = library.get(args.generation_id, actor)
        with open_registry(settings) as registry:
            standing = [g for g in draft.consent_grant_ids
                        if registry.grant_status(g).state == "active"]  # fmt: skip
        value = library.publish(args.generation_id, actor, standing)
    elif command == "delete":
        value = library.delete(args.generation_id, actor, args.reason)
    else:
        value = library.get(args.generation_id, actor)
    if args.json:
        print(json.dumps(value.to_dict(), indent=2, default=str))
    else:
        _lines(console, value)
    return 0
