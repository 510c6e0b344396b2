"""``cameoguard cameo ...`` and ``cameoguard audit ...``: the consent registry at the command line.

A thin shell over :class:`~cameoguard.consent.registry.CameoRegistry`: every subcommand parses
its arguments, calls one registry method and prints the result, as a table for people or with
``--json`` as the exact value for machines (every cameo with its ``id`` and ``name``). Changes
are made as the operator unless ``--as ACCOUNT`` says to act as that account (then only its own
cameos can be changed, as the API will enforce). Exit codes: 0 ok, 1 refused (authorize denied,
audit chain broken), 2 bad input.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from cameoguard.consent.registry import CameoRegistry
    from cameoguard.consent.values import Actor, Cameo, IdentifyResult
    from cameoguard.settings import Settings

__all__ = ["add_parsers", "run_audit", "run_cameo"]

TIERS = ("only_me", "approved", "everyone")


def add_parsers(sub: Any) -> None:
    cameo = sub.add_parser("cameo", help="enroll, permit, restrict, revoke and identify cameos")
    actions = cameo.add_subparsers(dest="cameo_command", required=True, metavar="ACTION")

    def action(name: str, help_text: str, *, acting: bool = False) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = actions.add_parser(name, help=help_text)
        parser.add_argument("--json", action="store_true", help="print the result as JSON")
        if acting:
            parser.add_argument(
                "--as",
                dest="acting_as",
                metavar="ACCOUNT",
                help="act as this account (only its own cameos); default: the operator",
            )
        return parser

    enroll = action("enroll", "enroll a likeness from 3+ photos or a short video")
    enroll.add_argument("--owner", required=True, help="the account whose face this is")
    enroll.add_argument("--name", required=True, help="display name of the cameo")
    enroll.add_argument("photos", type=Path, nargs="*", metavar="PHOTO")
    enroll.add_argument("--video", type=Path, help="a 2-30 s video turning the head left/right")
    enroll.add_argument("--minor", action="store_true", help="the person is under 18")

    listing = action("list", "list cameos")
    listing.add_argument("--owner", help="only this account's cameos")
    listing.add_argument("--all", action="store_true", help="include deleted cameos")

    show = action("show", "show one cameo and its audit trail")
    show.add_argument("cameo_id", metavar="ID")

    permit = action("permit", "set who may use a cameo", acting=True)
    permit.add_argument("cameo_id", metavar="ID")
    permit.add_argument("--tier", choices=TIERS)
    permit.add_argument("--approve", action="append", default=[], metavar="ACCOUNT")
    permit.add_argument(
        "--guardian",
        action="append",
        default=[],
        metavar="ACCOUNT",
        help="approve a guardian (the only approvals a minor's cameo takes)",
    )
    permit.add_argument("--unapprove", action="append", default=[], metavar="ACCOUNT")

    restrict = action("restrict", "forbid terms or topics in prompts that use a cameo", acting=True)
    restrict.add_argument("cameo_id", metavar="ID")
    restrict.add_argument(
        "--forbid",
        action="append",
        default=[],
        metavar="TERM",
        help="a word or phrase, or topic:NAME (e.g. topic:politics)",
    )
    restrict.add_argument(
        "--allow", action="append", default=[], metavar="TERM", help="lift an earlier restriction"
    )

    revoke = action("revoke", "withdraw consent now (every later request is refused)", acting=True)
    revoke.add_argument("cameo_id", metavar="ID")
    revoke.add_argument("--reason")

    remove = action(
        "delete", "delete a cameo's face data (samples, photos, templates)", acting=True
    )
    remove.add_argument("cameo_id", metavar="ID")

    identify = action("identify", "find faces in an image or video and name enrolled matches")
    identify.add_argument("file", type=Path)

    protect = action("protect", "add a person whose face may never be generated")
    protect.add_argument("--name", required=True)
    protect.add_argument("--reason", default="")
    protect.add_argument("photos", type=Path, nargs="+", metavar="PHOTO")

    action("protected", "list protected people")

    authorize = action("authorize", "check whether a requester may use cameos for a prompt")
    authorize.add_argument("--requester", required=True)
    authorize.add_argument("--prompt", required=True)
    authorize.add_argument("cameo_ids", nargs="+", metavar="CAMEO")

    grant = action("grant", "whether the consent behind a grant id still stands")
    grant.add_argument("grant_id", metavar="GRANT")

    audit_parser = sub.add_parser("audit", help="check the consent audit log")
    audit_sub = audit_parser.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    verify = audit_sub.add_parser("verify", help="recompute the hash chain of the audit log")
    verify.add_argument("--json", action="store_true")
    log = audit_sub.add_parser("log", help="print audit entries")
    log.add_argument("--subject", help="only entries about this cameo or protected person")
    log.add_argument("--limit", type=int, default=100)
    log.add_argument("--json", action="store_true")


def open_registry(settings: Settings) -> CameoRegistry:
    from cameoguard import db
    from cameoguard.consent.registry import CameoRegistry
    from cameoguard.provenance.ledger import Ledger

    engine = db.engine_from_settings(settings)
    db.upgrade(engine)
    return CameoRegistry.from_settings(settings, engine, ledger=Ledger(db.session_factory(engine)))


def _actor(args: argparse.Namespace) -> Actor:
    from cameoguard.consent.values import OPERATOR, Actor

    acting = getattr(args, "acting_as", None)
    return OPERATOR if acting is None else Actor(acting)


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


def _cameo_table(console: Console, cameos: list[Cameo]) -> None:
    if not cameos:
        console.print("no cameos")
        return
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("id", no_wrap=True)
    for column in ("name", "owner", "status", "tier", "minor", "restrictions"):
        table.add_column(column)
    table.add_column("created", no_wrap=True)
    colours = {"active": "green", "revoked": "red", "deleted": "dim"}
    for c in cameos:
        table.add_row(
            c.id,
            escape(c.name or "-"),
            escape(c.owner),
            f"[{colours[c.status.value]}]{c.status.value}[/]",
            c.tier.value,
            "yes" if c.is_minor else "",
            escape(", ".join(c.restrictions)) or "-",
            f"{c.created_at:%Y-%m-%d}",
        )
    console.print(table)


def _cameo_lines(console: Console, c: Cameo) -> None:
    console.print(
        f"[bold]{c.id}[/bold] {escape(c.name or '(deleted)')}  owner "
        f"{escape(c.owner)}  status {c.status.value}  tier {c.tier.value}"
        + ("  [yellow]minor[/yellow]" if c.is_minor else "")
    )
    if c.approved or c.guardians:
        console.print(
            f"  approved: {escape(', '.join(c.approved) or '-')}; guardians: "
            f"{escape(', '.join(c.guardians) or '-')}"
        )
    if c.restrictions:
        console.print(f"  forbidden in prompts: {escape(', '.join(c.restrictions))}")
    if c.revoked_at:
        console.print(
            f"  revoked {c.revoked_at:%Y-%m-%d %H:%M} UTC"
            + (f": {escape(c.revocation_reason)}" if c.revocation_reason else "")
        )


def _identify_table(console: Console, result: IdentifyResult) -> None:
    console.print(
        f"{result.media_kind}, {result.frames_sampled} frame(s) sampled, "
        f"{len(result.faces)} face(s); embedder {result.embedder}, match <= "
        f"{result.match_threshold:.2f}, possible <= {result.possible_threshold:.2f}"
    )
    if result.faces:
        table = Table(show_edge=False, pad_edge=False)
        for column in ("t", "box", "decision", "subject", "status", "distance"):
            table.add_column(column)
        for face in result.faces:
            m = face.match
            box = ",".join(f"{v:.0f}" for v in face.face.box)
            when = "-" if face.t_s is None else f"{face.t_s:.2f}s"
            subject = "-" if m is None else f"{m.kind.value} {m.subject_id} {escape(m.name)}"
            distance = "-" if face.nearest_distance is None else f"{face.nearest_distance:.3f}"
            table.add_row(
                when, box, face.decision.value, subject, "-" if m is None else m.status, distance
            )
        console.print(table)
    for note in result.notes:
        console.print(f"[dim]{escape(note)}[/dim]")


def run_cameo(args: argparse.Namespace, console: Console, settings: Settings) -> int:
    from cameoguard.errors import BadInputError

    command = args.cameo_command
    handlers: dict[str, Callable[[CameoRegistry], int]] = {}

    def enroll(registry: CameoRegistry) -> int:
        if bool(args.photos) == bool(args.video):
            raise BadInputError(
                "give either photos or --video, not both and not neither",
                code="consent.bad_request",
            )
        if args.video is not None:
            result = registry.enroll_video(args.owner, args.name, args.video, is_minor=args.minor)
        else:
            result = registry.enroll_photos(args.owner, args.name, args.photos, is_minor=args.minor)
        if args.json:
            _print_json(result.to_dict())
        else:
            c = result.cameo
            console.print(
                f"[green]Enrolled[/green] cameo {c.id} ({escape(c.name)}) for "
                f"{escape(c.owner)} from {c.sample_count} {c.source} samples; tier "
                f"{c.tier.value} (only the owner may use it until permitted)"
            )
        return 0

    def listing(registry: CameoRegistry) -> int:
        cameos = registry.list_cameos(owner=args.owner, include_deleted=args.all)
        if args.json:
            _print_json([c.to_dict() for c in cameos])
        else:
            _cameo_table(console, cameos)
        return 0

    def show(registry: CameoRegistry) -> int:
        cameo = registry.get(args.cameo_id)
        entries = registry.audit_entries(args.cameo_id)
        generations = list(registry.generations(args.cameo_id))
        if args.json:
            _print_json(
                {
                    **cameo.to_dict(),
                    "generations": generations,
                    "audit": [e.to_dict() for e in entries],
                }
            )
            return 0
        _cameo_lines(console, cameo)
        console.print(f"  generations with this cameo: {', '.join(generations) or 'none'}")
        for e in entries:
            console.print(f"  [dim]{e.at:%Y-%m-%d %H:%M:%S}[/dim] {e.action} by {escape(e.actor)}")
        return 0

    def permit(registry: CameoRegistry) -> int:
        cameo = registry.set_permissions(
            args.cameo_id,
            tier=args.tier,
            approve=args.approve,
            guardians=args.guardian,
            unapprove=args.unapprove,
            actor=_actor(args),
        )
        if args.json:
            _print_json(cameo.to_dict())
        else:
            _cameo_lines(console, cameo)
        return 0

    def restrict(registry: CameoRegistry) -> int:
        if not args.forbid and not args.allow:
            raise BadInputError("give --forbid TERM or --allow TERM", code="consent.bad_request")
        cameo = registry.restrict(
            args.cameo_id, forbid=args.forbid, allow=args.allow, actor=_actor(args)
        )
        if args.json:
            _print_json(cameo.to_dict())
        else:
            _cameo_lines(console, cameo)
        return 0

    def revoke(registry: CameoRegistry) -> int:
        result = registry.revoke(args.cameo_id, actor=_actor(args), reason=args.reason)
        if args.json:
            _print_json(result.to_dict())
        else:
            state = "was already revoked" if result.already_revoked else "[red]revoked[/red]"
            console.print(
                f"cameo {result.cameo.id} {state}; every new request that uses it is "
                f"refused. Generations made with it: "
                f"{', '.join(result.generations) or 'none'}"
            )
        return 0

    def remove(registry: CameoRegistry) -> int:
        result = registry.delete(args.cameo_id, actor=_actor(args))
        if args.json:
            _print_json(result.to_dict())
        else:
            console.print(
                f"cameo {result.cameo.id} deleted: {result.removed_samples} samples "
                f"and {result.removed_templates} template(s) erased; generations made "
                f"with it: {', '.join(result.generations) or 'none'}"
            )
        return 0

    def identify(registry: CameoRegistry) -> int:
        result = registry.identify(args.file)
        if args.json:
            _print_json(result.to_dict())
        else:
            _identify_table(console, result)
        return 0

    def protect(registry: CameoRegistry) -> int:
        result = registry.protect(args.name, args.photos, reason=args.reason)
        if args.json:
            _print_json(result.to_dict())
        else:
            p = result.person
            console.print(
                f"[green]Protected[/green] {p.id} ({escape(p.name)}) from {p.sample_count} photo(s)"
            )
            if result.conflicting_cameos:
                console.print(
                    f"[yellow]existing cameos with this face:[/yellow] "
                    f"{', '.join(result.conflicting_cameos)} (review them)"
                )
        return 0

    def protected(registry: CameoRegistry) -> int:
        people = registry.list_protected()
        if args.json:
            _print_json([p.to_dict() for p in people])
        else:
            for p in people:
                console.print(
                    f"{p.id}  {escape(p.name)}  {p.sample_count} photo(s)  "
                    f"added by {escape(p.added_by)} {p.created_at:%Y-%m-%d}"
                )
            if not people:
                console.print("no protected people")
        return 0

    def authorize(registry: CameoRegistry) -> int:
        result = registry.authorize(args.requester, args.cameo_ids, args.prompt)
        if args.json:
            _print_json(result.to_dict())
        elif result.allowed:
            for g in result.grants:
                console.print(
                    f"[green]granted[/green] {g.cameo_id}: grant {g.grant_id}, "
                    f"expires {g.expires_at:%Y-%m-%d %H:%M} UTC"
                )
        else:
            for d in result.denials:
                console.print(
                    f"[red]denied[/red] {d.cameo_id} ({d.reason.value}): {escape(d.message)}"
                )
        return 0 if result.allowed else 1

    def grant(registry: CameoRegistry) -> int:
        status = registry.grant_status(args.grant_id)
        if args.json:
            _print_json(status.to_dict())
        else:
            usable = "" if status.usable_for_new_generation else " (not usable for a new one)"
            console.print(
                f"grant {status.grant_id} for cameo {status.cameo_id}: {status.state}{usable}"
            )
        return 0 if status.state == "active" else 1

    handlers.update(
        enroll=enroll,
        list=listing,
        show=show,
        permit=permit,
        restrict=restrict,
        revoke=revoke,
        delete=remove,
        identify=identify,
        protect=protect,
        protected=protected,
        authorize=authorize,
        grant=grant,
    )
    with open_registry(settings) as registry:
        return handlers[command](registry)


def run_audit(args: argparse.Namespace, console: Console, settings: Settings) -> int:
    with open_registry(settings) as registry:
        if args.audit_command == "log":
            entries = registry.audit_entries(args.subject, limit=args.limit)
            if args.json:
                _print_json([e.to_dict() for e in entries])
            else:
                for e in entries:
                    console.print(
                        f"{e.seq:6d} {e.at:%Y-%m-%d %H:%M:%S} {e.action:22} "
                        f"{e.subject_id or '-':14} {escape(e.actor)}"
                    )
            return 0
        result = registry.audit_verify()
    if args.json:
        _print_json(result.to_dict())
    elif result.ok:
        console.print(
            f"[green]audit log intact[/green]: {result.entries} entries, head "
            f"{result.head} (store this hash elsewhere to detect a rewrite)"
        )
    else:
        console.print(f"[red]audit log broken[/red] ({result.entries} entries):")
        for problem in result.problems:
            console.print(f"  {escape(problem)}")
    return 0 if result.ok else 1
