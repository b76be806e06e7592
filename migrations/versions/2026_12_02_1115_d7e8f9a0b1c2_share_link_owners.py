"""Share links remember the API token that made them, so each token lists and revokes its own.

Links made before have no owner, as links made where no token is needed: every caller
manages them. A plain column with an index, no foreign key: SQLite would copy ``share`` to
add one, and dropping the old table would delete every share_run row (ON DELETE CASCADE).

Revision ID: d7e8f9a0b1c2
Revises: c4d5e6f7a8b9
Create Date: 2026-12-02 11:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = "d7e8f9a0b1c2"
down_revision: str | None = "c4d5e6f7a8b9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("share", sa.Column("created_by_token_id", ID, nullable=True))
    op.create_index(op.f("ix_share_created_by_token_id"), "share", ["created_by_token_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_share_created_by_token_id"), table_name="share")
    op.drop_column("share", "created_by_token_id")
