"""``cameoguard accounts create|list|disable`` and ``cameoguard serve``: the service's shell.

``accounts create NAME --role ROLE`` prints the new API key once (it is stored hashed and can
never be shown again); ``serve`` runs the FastAPI app with uvicorn (``--workers N`` processes,
each with its own database connections; use PostgreSQL by ``CAMEOGUARD_DATABASE_URL`` when
more than one process writes).
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from cameoguard.settings import Settings

__all__ = ["add_parsers", "run_accounts", "run_serve"]


def add_parsers(sub: Any) -> None:
    from cameoguard.accounts import Role

    accounts = sub.add_parser("accounts", help="API accounts and their keys")
    actions = accounts.add_subparsers(dest="accounts_command", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="a new account; prints its API key once")
    create.add_argument("name")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--json", action="store_true")
    listing = actions.add_parser("list", help="every account (never their keys)")
    listing.add_argument("--json", action="store_true")
    disable = actions.add_parser("disable", help="refuse this account's key from now on")
    disable.add_argument("name")

    serve = sub.add_parser("serve", help="run the HTTP service (verify API, web pages)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)


def _store(settings: Settings) -> Any:
    from cameoguard import db
    from cameoguard.accounts import AccountStore

    engine = db.engine_from_settings(settings)
    db.upgrade(engine)
    return AccountStore(engine)


def run_accounts(args: argparse.Namespace, console: Console, settings: Settings) -> int:
    store = _store(settings)
    if args.accounts_command == "create":
        account, key = store.create(args.name, args.role)
        if args.json:
            print(json.dumps({"name": account.name, "role": account.role.value, "key": key}))
        else:
            console.print(
                f"created {escape(account.name)} ({account.role.value}); API key "
                "(shown once, send as 'Authorization: Bearer KEY'):"
            )
            print(key)
        return 0
    if args.accounts_command == "disable":
        account = store.disable(args.name)
        console.print(f"disabled {escape(account.name)}: its key is refused from now on")
        return 0
    accounts = store.list()
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "name": a.name,
                        "role": a.role.value,
                        "key_prefix": a.key_prefix,
                        "disabled": a.disabled,
                        "created_at": a.created_at.isoformat(),
                    }
                    for a in accounts
                ]
            )
        )
        return 0
    table = Table("name", "role", "key", "state", "created")
    for a in accounts:
        table.add_row(
            escape(a.name),
            a.role.value,
            a.key_prefix + "…",
            "disabled" if a.disabled else "active",
            a.created_at.isoformat(),
        )
    console.print(table)
    return 0


def run_serve(args: argparse.Namespace, console: Console, settings: Settings) -> int:
    import uvicorn

    from cameoguard.errors import BadInputError
    from cameoguard.logs import UVICORN_LOG_CONFIG

    if args.workers < 1 or not 0 < args.port < 65536:
        raise BadInputError("--workers must be at least 1 and --port in 1..65535")
    console.print(f"serving on http://{args.host}:{args.port} with {args.workers} worker(s)")
    uvicorn.run(
        "cameoguard.api.app:app_factory",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="info",
        log_config=UVICORN_LOG_CONFIG,
    )
    return 0
