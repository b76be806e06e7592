"""``pagelab token create|list|revoke``: API tokens for the REST API and the dashboard's
sign-in. Each reads the database from ``PAGELAB_*`` environment variables."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pagelab_cli.service_commands import add_parser, display_url

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

LIFETIME_UNITS_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}
MAX_LIFETIME = timedelta(days=3660)


def parse_lifetime(text: str) -> timedelta:
    """``90m``, ``12h``, ``30d``, ``2w`` → a timedelta (argparse type)."""
    match = re.fullmatch(r"\s*(\d+)\s*([smhdw])\s*", text)
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a lifetime like 90m, 12h, 30d or 2w")
    lifetime = timedelta(seconds=int(match[1]) * LIFETIME_UNITS_S[match[2]])
    if not timedelta(minutes=1) <= lifetime <= MAX_LIFETIME:
        raise argparse.ArgumentTypeError(f"{text!r}: a lifetime is 1 minute to 10 years")
    return lifetime


def register(commands: Any) -> None:
    """Add ``token`` and its actions to ``commands`` (an argparse subparsers object)."""
    token = add_parser(
        commands,
        "token",
        "Manage API tokens: create (read or write scope), list, revoke.",
        "Example:\n  pagelab token create --scope write --name ci --expires 90d\n"
        "  pagelab token list\n  pagelab token revoke 3",
    )
    actions = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    create = add_parser(
        actions,
        "create",
        "Create an API token and print it (once: only its hash is stored). Clients send it "
        "as 'Authorization: Bearer <token>'; people paste it into the dashboard's sign-in "
        "page. A read token reads everything; a write token also changes things.",
        "Example:\n  pagelab token create --scope read --name alice --expires 30d",
    )
    create.add_argument("--scope", choices=("read", "write"), required=True,
                        help="read: every GET; write: everything")  # fmt: skip
    create.add_argument("--name", default="default", help="what or whom the token is for")
    create.add_argument(
        "--expires", type=parse_lifetime, metavar="LIFETIME",
        help="stop working after this long: 90m, 12h, 30d, 2w (default: until revoked)",
    )  # fmt: skip
    create.add_argument(
        "--first", action="store_true",
        help="only if the database holds no token yet (a setup step that may run again)",
    )  # fmt: skip
    create.set_defaults(handler=_create)

    listing = add_parser(
        actions,
        "list",
        "List API tokens: id, name, scope, state and dates (the tokens themselves are not kept).",
        "Example:\n  pagelab token list",
    )
    listing.set_defaults(handler=_list)

    revoke = add_parser(
        actions,
        "revoke",
        "Revoke an API token: from the next request on it, and every dashboard session "
        "signed in with it, is refused.",
        "Example:\n  pagelab token revoke 3",
    )
    revoke.add_argument("id", type=int, help="the token's id (pagelab token list)")
    revoke.set_defaults(handler=_revoke)


class _Unreachable(Exception):
    pass


@contextmanager
def _database(action: str) -> Iterator[Session]:
    """A session on the configured database; a clear message, not a traceback, if the
    database cannot be used."""
    from sqlalchemy.exc import SQLAlchemyError

    from backend.db import make_engine, make_session_factory
    from backend.settings import get_settings

    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            yield session
    except SQLAlchemyError as exc:
        print(f"pagelab token {action}: cannot use the database "
              f"{display_url(settings.database_url)} (run 'pagelab migrate' first?): "
              f"{type(exc).__name__}", file=sys.stderr)  # fmt: skip
        raise _Unreachable from exc
    finally:
        engine.dispose()


def _create(args: argparse.Namespace) -> int:
    from backend.auth.service import create_token, list_tokens
    from backend.db import utc_now

    expires_at = utc_now() + args.expires if args.expires else None
    try:
        with _database("create") as session:
            if args.first and list_tokens(session):
                print("pagelab token create --first: tokens exist already; none created "
                      "('pagelab token list' shows them)", file=sys.stderr)  # fmt: skip
                return 0
            token, secret = create_token(
                session, name=args.name, scope=args.scope, expires_at=expires_at
            )
            session.commit()
    except _Unreachable:
        return 1
    print(secret)
    until = f"until {_when(expires_at)}" if expires_at else "until revoked"
    print(f"{args.scope} token {token.id} ({args.name!r}) created, valid {until}; it is shown "
          "only this once. Send it as 'Authorization: Bearer <token>', or paste it into the "
          "dashboard's sign-in page.", file=sys.stderr)  # fmt: skip
    return 0


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


def _list(args: argparse.Namespace) -> int:
    from backend.auth.service import list_tokens, token_state
    from backend.db import utc_now

    try:
        with _database("list") as session:
            tokens = list_tokens(session)
    except _Unreachable:
        return 1
    now = utc_now()
    rows = [("ID", "NAME", "SCOPE", "STATE", "CREATED", "EXPIRES", "REVOKED")]
    rows += [
        (str(token.id), token.name, token.scope, token_state(token, now=now),
         _when(token.created_at), _when(token.expires_at), _when(token.revoked_at))
        for token in tokens
    ]  # fmt: skip
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from backend.auth.service import revoke_token
    from backend.problems import ProblemError

    try:
        with _database("revoke") as session:
            try:
                token = revoke_token(session, token_id=args.id)
            except ProblemError as missing:
                print(f"pagelab token revoke: {missing.detail}", file=sys.stderr)
                return 1
            session.commit()
    except _Unreachable:
        return 1
    print(f"token {token.id} ({token.name!r}) revoked at {_when(token.revoked_at)}")
    return 0
