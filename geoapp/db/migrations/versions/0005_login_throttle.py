"""Failed logins, counted per account and per client address over a window, to throttle password guessing.

Why in PostgreSQL rather than in memory: several uvicorn workers (or a restart) must see the same count, or a
guesser gets N tries per worker and per restart. Only failures are stored (never the password); a successful
login deletes its account's rows, and rows older than the window are pruned as new failures arrive.

Revision ID: 0005
Revises: 0004 (0002's users come before it)
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("username", sa.Text, nullable=False),  # as typed (unknown names count too)
        sa.Column("address", sa.Text, nullable=False),  # the client address the server saw
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_login_failures_username_at", "login_failures", ["username", "at"])
    op.create_index("ix_login_failures_address_at", "login_failures", ["address", "at"])
    op.create_index("ix_login_failures_at", "login_failures", ["at"])


def downgrade() -> None:
    op.drop_table("login_failures")
