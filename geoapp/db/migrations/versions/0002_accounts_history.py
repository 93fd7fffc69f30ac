"""Accounts, API tokens, project change history (written by triggers) and soft deletes.

Revision ID: 0002
Revises: 0001

The history is written by statement-level triggers with transition tables, so every write path (the
importer's COPY upsert, the API, psql) is recorded once per row at set speed, with the actor taken from
the transaction setting ``geoapp.actor`` (``SELECT set_config('geoapp.actor', 'name', true)``).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

FUNCTIONS = """
CREATE FUNCTION geoapp_actor() RETURNS text LANGUAGE sql STABLE AS
$$ SELECT coalesce(nullif(current_setting('geoapp.actor', true), ''), 'db:' || session_user) $$;

-- The recorded fields of a project: every column but bookkeeping, the point as lon/lat.
CREATE FUNCTION geoapp_project_doc(p projects) RETURNS jsonb LANGUAGE sql STABLE AS
$$ SELECT (to_jsonb(p) - 'id' - 'geom' - 'created_at' - 'updated_at' - 'version' - 'deleted_by')
          || jsonb_build_object('lon', ST_X(p.geom), 'lat', ST_Y(p.geom)) $$;

-- A creation records who and when only: the values it created are the current row rolled back through the later
-- entries (each keeps old and new), which geoapp.editing.projects.history does. Writing a document per row here
-- would make a million-row import several times slower.
CREATE FUNCTION geoapp_projects_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO project_history (project_id, project_code, action, actor, changes)
    SELECT n.id, n.code, 'create', geoapp_actor(), '{}'::jsonb FROM new_rows n;
    RETURN NULL;
END $$;

CREATE FUNCTION geoapp_projects_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO project_history (project_id, project_code, action, actor, changes)
    SELECT n.id, n.code,
           CASE WHEN o.deleted_at IS NULL AND n.deleted_at IS NOT NULL THEN 'delete'
                WHEN o.deleted_at IS NOT NULL AND n.deleted_at IS NULL THEN 'restore'
                ELSE 'update' END,
           geoapp_actor(), d.changes
    FROM old_rows o JOIN new_rows n ON n.id = o.id
    CROSS JOIN LATERAL (
        SELECT jsonb_object_agg(k, jsonb_build_array(od -> k, nd -> k)) AS changes
        FROM (SELECT geoapp_project_doc(o) AS od, geoapp_project_doc(n) AS nd) docs,
             LATERAL (SELECT jsonb_object_keys(od || nd) AS k) keys
        WHERE (od -> k) IS DISTINCT FROM (nd -> k)
    ) d
    WHERE d.changes IS NOT NULL;
    RETURN NULL;
END $$;

CREATE TRIGGER projects_history_insert AFTER INSERT ON projects
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION geoapp_projects_inserted();
CREATE TRIGGER projects_history_update AFTER UPDATE ON projects
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION geoapp_projects_updated();
"""


def upgrade() -> None:
    op.add_column("projects", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("projects", sa.Column("deleted_by", sa.Text(), nullable=True))
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=True),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.String(length=12), nullable=False),
        sa.Column("divisions", postgresql.ARRAY(sa.String(length=12)), server_default="{}", nullable=False),
        sa.Column("disabled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("role IN ('admin', 'editor', 'viewer')", name=op.f("ck_users_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index(op.f("ix_api_tokens_user_id"), "api_tokens", ["user_id"], unique=False)
    op.create_table(
        "project_history",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("project_code", sa.String(length=40), nullable=False),
        sa.Column("action", sa.String(length=12), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("changes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.CheckConstraint(
            "action IN ('create', 'update', 'delete', 'restore', 'progress')", name=op.f("ck_project_history_action")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_project_history_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_history")),
    )
    op.create_index("ix_project_history_project_id_at", "project_history", ["project_id", "at"], unique=False)
    op.execute(FUNCTIONS)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS projects_history_update ON projects")
    op.execute("DROP TRIGGER IF EXISTS projects_history_insert ON projects")
    op.execute("DROP FUNCTION IF EXISTS geoapp_projects_updated()")
    op.execute("DROP FUNCTION IF EXISTS geoapp_projects_inserted()")
    op.execute("DROP FUNCTION IF EXISTS geoapp_project_doc(projects)")
    op.execute("DROP FUNCTION IF EXISTS geoapp_actor()")
    op.drop_index("ix_project_history_project_id_at", table_name="project_history")
    op.drop_table("project_history")
    op.drop_index(op.f("ix_api_tokens_user_id"), table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_table("users")
    op.drop_column("projects", "deleted_by")
    op.drop_column("projects", "deleted_at")
