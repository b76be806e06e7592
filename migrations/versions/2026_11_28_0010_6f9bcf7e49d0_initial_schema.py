"""Initial schema: experiments, runs, results, traces, share links and API tokens.

Revision ID: 6f9bcf7e49d0
Revises:
Create Date: 2026-11-28 00:10:47.073567
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# As backend/db.py declares them: BIGINT ids (INTEGER on SQLite, which only auto-increments
# that), JSONB on PostgreSQL.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision: str = "6f9bcf7e49d0"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_token",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_token_token_hash")),
    )
    op.create_table(
        "experiment",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("spec", JSON_DOCUMENT, nullable=False),
        sa.Column("sweep", JSON_DOCUMENT, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiment")),
    )
    op.create_index("ix_experiment_created_at_id", "experiment", ["created_at", "id"])
    op.create_index("ix_experiment_kind_created_at_id", "experiment", ["kind", "created_at", "id"])
    op.create_index("ix_experiment_name_id", "experiment", ["name", "id"])
    op.create_index(
        "ix_experiment_status_created_at_id", "experiment", ["status", "created_at", "id"]
    )

    op.create_table(
        "share",
        sa.Column("id", ID, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("view", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_share_token_hash")),
    )
    op.create_table(
        "trace",
        sa.Column("id", ID, nullable=False),
        sa.Column("file_name", sa.String(length=128), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("original_name", sa.String(length=255), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("accesses", sa.BigInteger(), nullable=False),
        sa.Column("instructions", sa.BigInteger(), nullable=False),
        sa.Column("processes", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trace")),
        sa.UniqueConstraint("file_name", name=op.f("uq_trace_file_name")),
        sa.UniqueConstraint("sha256", name=op.f("uq_trace_sha256")),
    )
    op.create_table(
        "experiment_tag",
        sa.Column("experiment_id", ID, nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiment.id"],
            name=op.f("fk_experiment_tag_experiment_id_experiment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("experiment_id", "tag", name=op.f("pk_experiment_tag")),
    )
    op.create_index(
        "ix_experiment_tag_tag_experiment_id", "experiment_tag", ["tag", "experiment_id"]
    )

    op.create_table(
        "run",
        sa.Column("id", ID, nullable=False),
        sa.Column("experiment_id", ID, nullable=False),
        sa.Column("point_index", sa.Integer(), nullable=False),
        sa.Column("params", JSON_DOCUMENT, nullable=False),
        sa.Column("spec", JSON_DOCUMENT, nullable=False),
        sa.Column("spec_hash", sa.String(length=64), nullable=False),
        sa.Column("engine_version", sa.String(length=32), nullable=False),
        sa.Column("trace_file", sa.String(length=128), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("reused_result", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("worker_hostname", sa.String(length=255), nullable=True),
        sa.Column("accesses_done", sa.BigInteger(), nullable=False),
        sa.Column("accesses_total", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiment.id"],
            name=op.f("fk_run_experiment_id_experiment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run")),
        sa.UniqueConstraint(
            "experiment_id", "point_index", name=op.f("uq_run_experiment_id_point_index")
        ),
    )
    op.create_index("ix_run_status_dispatched_at", "run", ["status", "dispatched_at"])
    op.create_index("ix_run_status_heartbeat_at", "run", ["status", "heartbeat_at"])
    op.create_index("ix_run_trace_file", "run", ["trace_file"])

    op.create_table(
        "result",
        sa.Column("id", ID, nullable=False),
        sa.Column("run_id", ID, nullable=False),
        sa.Column("spec_hash", sa.String(length=64), nullable=False),
        sa.Column("engine_version", sa.String(length=32), nullable=False),
        sa.Column("meta", JSON_DOCUMENT, nullable=False),
        sa.Column("summary", JSON_DOCUMENT, nullable=False),
        sa.Column("arrays", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["run.id"], name=op.f("fk_result_run_id_run"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_result")),
        sa.UniqueConstraint("run_id", name=op.f("uq_result_run_id")),
    )
    op.create_index("ix_result_spec_hash_engine_version", "result", ["spec_hash", "engine_version"])

    op.create_table(
        "share_run",
        sa.Column("share_id", ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("run_id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["run.id"], name=op.f("fk_share_run_run_id_run"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["share_id"], ["share.id"], name=op.f("fk_share_run_share_id_share"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("share_id", "position", name=op.f("pk_share_run")),
    )
    op.create_index(op.f("ix_share_run_run_id"), "share_run", ["run_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_share_run_run_id"), table_name="share_run")

    op.drop_table("share_run")
    op.drop_index("ix_result_spec_hash_engine_version", table_name="result")

    op.drop_table("result")
    op.drop_index("ix_run_trace_file", table_name="run")
    op.drop_index("ix_run_status_heartbeat_at", table_name="run")
    op.drop_index("ix_run_status_dispatched_at", table_name="run")

    op.drop_table("run")
    op.drop_index("ix_experiment_tag_tag_experiment_id", table_name="experiment_tag")

    op.drop_table("experiment_tag")
    op.drop_table("trace")
    op.drop_table("share")
    op.drop_index("ix_experiment_status_created_at_id", table_name="experiment")
    op.drop_index("ix_experiment_name_id", table_name="experiment")
    op.drop_index("ix_experiment_kind_created_at_id", table_name="experiment")
    op.drop_index("ix_experiment_created_at_id", table_name="experiment")

    op.drop_table("experiment")
    op.drop_table("api_token")
