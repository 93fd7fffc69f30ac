"""A partial index over the live (not soft-deleted) projects' codes.

Why: every items page is ordered by code among live rows and its ``numberMatched`` counts the live rows; with this
index both are index(-only) scans instead of a sequential scan of the whole table on every unfiltered page.

Revision ID: 0004
Revises: 0002 (which adds deleted_at)
"""

from alembic import op

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_projects_live_code", "projects", ["code"], postgresql_where="deleted_at IS NULL")


def downgrade() -> None:
    op.drop_index("ix_projects_live_code", table_name="projects")
