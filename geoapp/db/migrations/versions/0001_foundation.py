"""Foundation: divisions, projects and their monthly progress.

Revision ID: 0001
Revises:
"""

import geoalchemy2
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "divisions",
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("code_system", sa.String(length=12), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("short_forms", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=True),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("parent_code", sa.String(length=12), nullable=True),
        sa.Column(
            "boundary",
            geoalchemy2.types.Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column("seat_name", sa.Text(), nullable=True),
        sa.Column(
            "seat",
            geoalchemy2.types.Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column("source", sa.Text(), nullable=False),
        sa.CheckConstraint("code_system IN ('GB/T 2260', 'NBS')", name=op.f("ck_divisions_code_system")),
        sa.CheckConstraint(
            "kind IN ('district', 'county', 'banner', 'county_city', 'development_zone', 'other')",
            name=op.f("ck_divisions_kind"),
        ),
        sa.CheckConstraint(
            "boundary IS NULL OR ST_IsValid(boundary)", name=op.f("ck_divisions_boundary_valid")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_divisions")),
        sa.UniqueConstraint("name", name=op.f("uq_divisions_name")),
    )
    op.create_index("ix_divisions_boundary", "divisions", ["boundary"], unique=False, postgresql_using="gist")
    op.create_index(op.f("ix_divisions_parent_code"), "divisions", ["parent_code"], unique=False)
    op.create_index(
        "ix_divisions_short_forms", "divisions", ["short_forms"], unique=False, postgresql_using="gin"
    )
    op.create_table(
        "projects",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("sector", sa.String(length=40), nullable=False),
        sa.Column("tier", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("total_investment", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("planned_investment", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("plan_year", sa.Integer(), nullable=True),
        sa.Column("start_year", sa.Integer(), nullable=True),
        sa.Column("end_year", sa.Integer(), nullable=True),
        sa.Column("company", sa.Text(), nullable=True),
        sa.Column("responsible_unit", sa.Text(), nullable=True),
        sa.Column("leader", sa.Text(), nullable=True),
        sa.Column("scope", sa.Text(), nullable=True),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("coord_source", sa.String(length=20), nullable=False),
        sa.Column("location_precision", sa.String(length=12), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "coord_source IN ('wgs84', 'cgcs2000', 'gcj02', 'bd09', 'seat', 'park')",
            name=op.f("ck_projects_coord_source"),
        ),
        sa.CheckConstraint(
            "location_precision IN ('exact', 'approximate')", name=op.f("ck_projects_location_precision")
        ),
        sa.CheckConstraint("ST_IsValid(geom)", name=op.f("ck_projects_geom_valid")),
        sa.CheckConstraint(
            "ST_X(geom) BETWEEN -180 AND 180 AND ST_Y(geom) BETWEEN -90 AND 90",
            name=op.f("ck_projects_lonlat_range"),
        ),
        sa.CheckConstraint(
            "end_year IS NULL OR start_year IS NULL OR end_year >= start_year",
            name=op.f("ck_projects_years_order"),
        ),
        sa.CheckConstraint(
            "planned_investment IS NULL OR planned_investment >= 0",
            name=op.f("ck_projects_planned_investment_nonneg"),
        ),
        sa.CheckConstraint("total_investment IS NULL OR total_investment >= 0", name=op.f("ck_projects_total_investment_nonneg")),
        sa.ForeignKeyConstraint(
            ["division_code"], ["divisions.code"], name=op.f("fk_projects_division_code_divisions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sa.UniqueConstraint("code", name=op.f("uq_projects_code")),
    )
    op.create_index(op.f("ix_projects_division_code"), "projects", ["division_code"], unique=False)
    op.create_index("ix_projects_geom", "projects", ["geom"], unique=False, postgresql_using="gist")
    op.create_index("ix_projects_name", "projects", ["name"], unique=False)
    op.create_index(op.f("ix_projects_sector"), "projects", ["sector"], unique=False)
    op.create_index(op.f("ix_projects_start_year"), "projects", ["start_year"], unique=False)
    op.create_index(op.f("ix_projects_status"), "projects", ["status"], unique=False)
    op.create_index(op.f("ix_projects_tier"), "projects", ["tier"], unique=False)
    op.create_index(op.f("ix_projects_total_investment"), "projects", ["total_investment"], unique=False)
    op.create_table(
        "project_progress",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("progress_pct", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("investment_completed", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("issues", sa.Text(), nullable=True),
        sa.Column("reported_by", sa.Text(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("extract(day from month) = 1", name=op.f("ck_project_progress_month_first_day")),
        sa.CheckConstraint(
            "investment_completed >= 0", name=op.f("ck_project_progress_investment_completed_nonneg")
        ),
        sa.CheckConstraint(
            "progress_pct BETWEEN 0 AND 100", name=op.f("ck_project_progress_progress_pct_range")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_project_progress_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_progress")),
        sa.UniqueConstraint("project_id", "month", name="uq_project_progress_project_month"),
    )
    op.create_index(op.f("ix_project_progress_month"), "project_progress", ["month"], unique=False)
    op.create_index(op.f("ix_project_progress_project_id"), "project_progress", ["project_id"], unique=False)
    # substring search (q=) over names and companies
    op.execute("CREATE INDEX ix_projects_name_trgm ON projects USING gin (name gin_trgm_ops)")
    op.execute("CREATE INDEX ix_projects_company_trgm ON projects USING gin (company gin_trgm_ops)")


def downgrade() -> None:
    op.drop_index("ix_projects_company_trgm", table_name="projects")
    op.drop_index("ix_projects_name_trgm", table_name="projects")
    op.drop_index(op.f("ix_project_progress_project_id"), table_name="project_progress")
    op.drop_index(op.f("ix_project_progress_month"), table_name="project_progress")
    op.drop_table("project_progress")
    op.drop_index(op.f("ix_projects_total_investment"), table_name="projects")
    op.drop_index(op.f("ix_projects_tier"), table_name="projects")
    op.drop_index(op.f("ix_projects_status"), table_name="projects")
    op.drop_index(op.f("ix_projects_start_year"), table_name="projects")
    op.drop_index(op.f("ix_projects_sector"), table_name="projects")
    op.drop_index("ix_projects_name", table_name="projects")
    op.drop_index("ix_projects_geom", table_name="projects", postgresql_using="gist")
    op.drop_index(op.f("ix_projects_division_code"), table_name="projects")
    op.drop_table("projects")
    op.drop_index("ix_divisions_short_forms", table_name="divisions", postgresql_using="gin")
    op.drop_index(op.f("ix_divisions_parent_code"), table_name="divisions")
    op.drop_index("ix_divisions_boundary", table_name="divisions", postgresql_using="gist")
    op.drop_table("divisions")
