"""Share links keep their own frozen copy of the runs they show, under a random public id.

Existing links are frozen from their runs as they are now, so each keeps showing what it
showed; share_run no longer references run, so deleting an experiment leaves its links'
copies.

Revision ID: b3c1d2e4f5a6
Revises: 6f9bcf7e49d0
Create Date: 2026-12-02 10:30:00
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision: str = "b3c1d2e4f5a6"
down_revision: str | None = "6f9bcf7e49d0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The tables as this migration reads and writes them (not the models, which move on).
_share = sa.table(
    "share",
    sa.column("id", ID),
    sa.column("public_id", sa.String),
    sa.column("experiments", JSON_DOCUMENT),
)
_share_run = sa.table(
    "share_run",
    sa.column("share_id", ID),
    sa.column("position", sa.Integer),
    sa.column("run_id", ID),
    sa.column("run", JSON_DOCUMENT),
    sa.column("result_meta", JSON_DOCUMENT),
    sa.column("result_arrays", sa.LargeBinary),
)
_run_columns = [
    "id",
    "experiment_id",
    "point_index",
    "params",
    "status",
    "attempts",
    "accesses_done",
    "spec_hash",
    "engine_version",
    "spec",
    "created_at",
    "started_at",
    "finished_at",
]
_run = sa.table(
    "run",
    *[sa.column(name) for name in _run_columns if name not in ("params", "spec")],
    sa.column("params", JSON_DOCUMENT),
    sa.column("spec", JSON_DOCUMENT),
)
_result = sa.table(
    "result",
    sa.column("run_id", ID),
    sa.column("meta", JSON_DOCUMENT),
    sa.column("summary", JSON_DOCUMENT),
    sa.column("arrays", sa.LargeBinary),
)
_experiment = sa.table(
    "experiment", sa.column("id", ID), sa.column("name"), sa.column("description")
)
_tag = sa.table("experiment_tag", sa.column("experiment_id", ID), sa.column("tag"))


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite without the column's type
        value = datetime.fromisoformat(value)
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def _freeze_existing(connection: sa.Connection) -> None:
    links = connection.execute(
        sa.select(_share_run.c.share_id, _share_run.c.position, _share_run.c.run_id)
    ).all()
    experiments: dict[int, dict[str, Any]] = {}
    for share_id, position, run_id in links:
        run = connection.execute(sa.select(_run).where(_run.c.id == run_id)).mappings().first()
        if run is None:
            continue
        result = (
            connection.execute(sa.select(_result).where(_result.c.run_id == run_id))
            .mappings()
            .first()
        )
        frozen = {name: run[name] for name in _run_columns if name != "accesses_done"}
        frozen.update(
            accesses=run["accesses_done"],
            summary=result["summary"] if result else None,
            created_at=_iso(run["created_at"]),
            started_at=_iso(run["started_at"]),
            finished_at=_iso(run["finished_at"]),
        )
        connection.execute(
            _share_run.update()
            .where(_share_run.c.share_id == share_id, _share_run.c.position == position)
            .values(
                run=frozen,
                result_meta=result["meta"] if result else None,
                result_arrays=result["arrays"] if result else None,
            )
        )
        experiment = (
            connection.execute(
                sa.select(_experiment).where(_experiment.c.id == run["experiment_id"])
            )
            .mappings()
            .one()
        )
        tags = connection.scalars(
            sa.select(_tag.c.tag)
            .where(_tag.c.experiment_id == experiment["id"])
            .order_by(_tag.c.tag)
        ).all()
        experiments.setdefault(share_id, {})[str(experiment["id"])] = {
            "id": experiment["id"],
            "name": experiment["name"],
            "description": experiment["description"],
            "tags": list(tags),
        }
    # A link whose runs are all gone (deleted before links were frozen) shows nothing.
    connection.execute(_share_run.delete().where(_share_run.c.run.is_(None)))
    for (share_id,) in connection.execute(sa.select(_share.c.id)).all():
        connection.execute(
            _share.update()
            .where(_share.c.id == share_id)
            .values(public_id=secrets.token_urlsafe(16), experiments=experiments.get(share_id, {}))
        )


# SQLite copies a table to alter it, and dropping the old ``share`` would delete every
# share_run row with it (ON DELETE CASCADE): ``share`` is only ever added to in place, its
# new columns with server defaults (PostgreSQL drops them after) and its id's uniqueness an
# index. share_run is a child table, safe to copy.


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.add_column(
        "share", sa.Column("public_id", sa.String(length=32), nullable=False, server_default="")
    )
    op.add_column(
        "share",
        sa.Column("experiments", JSON_DOCUMENT, nullable=False, server_default=sa.text("'{}'")),
    )
    op.add_column("share_run", sa.Column("run", JSON_DOCUMENT, nullable=True))
    op.add_column("share_run", sa.Column("result_meta", JSON_DOCUMENT, nullable=True))
    op.add_column("share_run", sa.Column("result_arrays", sa.LargeBinary(), nullable=True))
    _freeze_existing(op.get_bind())
    if not sqlite:
        op.alter_column("share", "public_id", server_default=None)
        op.alter_column("share", "experiments", server_default=None)
    op.create_index(op.f("ix_share_public_id"), "share", ["public_id"], unique=True)
    with op.batch_alter_table("share_run") as batch:
        batch.alter_column("run", existing_type=JSON_DOCUMENT, nullable=False)
        batch.drop_constraint(op.f("fk_share_run_run_id_run"), type_="foreignkey")


def downgrade() -> None:
    # Links to runs that are gone cannot reference them again: they are dropped.
    op.execute(_share_run.delete().where(_share_run.c.run_id.not_in(sa.select(_run.c.id))))
    with op.batch_alter_table("share_run") as batch:
        batch.create_foreign_key(
            op.f("fk_share_run_run_id_run"), "run", ["run_id"], ["id"], ondelete="CASCADE"
        )
        batch.drop_column("result_arrays")
        batch.drop_column("result_meta")
        batch.drop_column("run")
    op.drop_index(op.f("ix_share_public_id"), table_name="share")
    op.drop_column("share", "experiments")
    op.drop_column("share", "public_id")
