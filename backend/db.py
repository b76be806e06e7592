"""Database plumbing: the declarative base, portable column types, engine and sessions."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic_core import from_json, to_json
from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Engine,
    Integer,
    MetaData,
    create_engine,
    event,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

# Constraint names that are stable across databases, so migrations can name what they alter.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSONB on PostgreSQL (indexable, compact), plain JSON text elsewhere.
JsonDocument = JSON().with_variant(JSONB(), "postgresql")

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database (SQLite keeps no zone, so store UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use utc_now()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


ModelT = TypeVar("ModelT", bound=Base)


def _json_text(value: Any) -> str:
    """JSON for a JSON column, by pydantic's serialiser: several times faster than json.dumps
    (a submission writes a few spec documents), and like it writes NaN and Infinity, which
    only SQLite stores (PostgreSQL refuses them; input never holds them)."""
    return to_json(value, inf_nan_mode="constants").decode()


def _json_value(text: str | bytes) -> Any:
    """A JSON column's value, by pydantic's parser: several times faster than json.loads on
    the small documents a list page reads a hundred of (its tags and run counts)."""
    return from_json(text)


def make_engine(database_url: str, *, pool_size: int = 10) -> Engine:
    """An engine for ``database_url`` that keeps ``pool_size`` connections open (more are
    opened and closed as needed); SQLite gets WAL and a busy timeout.

    In the embedded setup the API and the worker are separate processes writing one SQLite
    file: WAL lets readers go on during a write, and the busy timeout makes a writer wait for
    the lock instead of failing at once.
    """
    if not database_url.startswith("sqlite"):
        # A database that does not answer fails a request in seconds instead of hanging it.
        connect_args = {"connect_timeout": 5} if database_url.startswith("postgresql") else {}
        engine = create_engine(
            database_url,
            json_serializer=_json_text,
            json_deserializer=_json_value,
            pool_size=pool_size,
            max_overflow=20,
            connect_args=connect_args,
        )
        _ping_idle_connections(engine)
        return engine
    engine = create_engine(
        database_url,
        json_serializer=_json_text,
        json_deserializer=_json_value,
        pool_size=pool_size,
        connect_args={"timeout": 30, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


# A pooled connection that has been idle this long is pinged before use, and replaced if the
# server closed it meanwhile (restarted, or an idle timeout on the way). One handed back more
# recently is used as it is: a ping on every checkout (``pool_pre_ping``) is a round trip
# each time, and a submission checks out twice.
PING_AFTER_IDLE_S = 5.0
_RETURNED_AT = "pagelab_returned_at"


def _ping_idle_connections(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _remember_return(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        # A new connection carries no return time: it was just opened, so it needs no ping.
        returned_at = record.info.get(_RETURNED_AT)
        if returned_at is None or time.monotonic() - returned_at <= PING_AFTER_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            # The pool discards the connection and checks out a fresh one.
            raise DisconnectionError("the pooled connection is closed") from exc


def newest_first(session: Session, model: type[ModelT], *, limit: int, offset: int) -> list[ModelT]:
    """A page of ``model``'s rows, newest first (by ``created_at``, then ``id``)."""
    table = model.__table__
    order = (table.c.created_at.desc(), table.c.id.desc())
    return list(session.scalars(select(model).order_by(*order).limit(limit).offset(offset)))


def use_autocommit(session: Session) -> None:
    """Run the session's next statements without a transaction, until it commits or rolls
    back. For a single statement, atomic on its own: autocommit saves the BEGIN and the
    COMMIT (or ROLLBACK) round trips."""
    session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: handlers commit, then still read what they built for the response.
    return sessionmaker(engine, expire_on_commit=False)
