"""Inspection routes (route_plans, routes, route_stops) and the pgRouting road network.

Revision ID: 0003
Revises: 0001
"""

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def _geometry(kind: str) -> geoalchemy2.types.Geometry:
    return geoalchemy2.types.Geometry(geometry_type=kind, srid=4326, spatial_index=False,
                                      from_text="ST_GeomFromEWKT", name="geometry")


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pgrouting")
    op.create_table(
        "road_network",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("clip_to", sa.Text(), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("edges", sa.Integer(), nullable=False),
        sa.Column("vertices", sa.Integer(), nullable=False),
        sa.Column("dropped_edges", sa.Integer(), nullable=False),
        sa.Column("speeds_kmh", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_road_network")),
    )
    op.create_table(
        "road_vertices",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("geom", _geometry("POINT"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_road_vertices")),
    )
    op.create_index("ix_road_vertices_geom", "road_vertices", ["geom"], unique=False, postgresql_using="gist")
    op.create_table(
        "road_edges",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("source", sa.BigInteger(), nullable=False),
        sa.Column("target", sa.BigInteger(), nullable=False),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.Column("reverse_cost", sa.Float(), nullable=False),
        sa.Column("length_m", sa.Float(), nullable=False),
        sa.Column("highway", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("osm_id", sa.BigInteger(), nullable=False),
        sa.Column("geom", _geometry("LINESTRING"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_road_edges")),
    )
    op.create_index("ix_road_edges_geom", "road_edges", ["geom"], unique=False, postgresql_using="gist")
    op.create_index(op.f("ix_road_edges_source"), "road_edges", ["source"], unique=False)
    op.create_index(op.f("ix_road_edges_target"), "road_edges", ["target"], unique=False)

    op.create_table(
        "route_plans",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("settings", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("travel_model", sa.String(length=12), nullable=False),
        sa.Column("travel_info", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("locations", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("matrix", sa.LargeBinary(), nullable=False),
        sa.Column("unassigned", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("edited", sa.Boolean(), server_default="false", nullable=False),
        sa.CheckConstraint("travel_model IN ('road', 'estimate')", name=op.f("ck_route_plans_travel_model")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_route_plans")),
    )
    op.create_table(
        "routes",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("plan_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("color", sa.String(length=9), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("stops", sa.Integer(), nullable=False),
        sa.Column("distance_km", sa.Float(), nullable=False),
        sa.Column("driving_min", sa.Float(), nullable=False),
        sa.Column("service_min", sa.Float(), nullable=False),
        sa.Column("travel_model", sa.String(length=12), nullable=False),
        sa.Column("day_summaries", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("geom", _geometry("MULTILINESTRING"), nullable=True),
        sa.ForeignKeyConstraint(["plan_id"], ["route_plans.id"], name=op.f("fk_routes_plan_id_route_plans"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routes")),
        sa.UniqueConstraint("plan_id", "seq", name="uq_routes_plan_seq"),
    )
    op.create_index("ix_routes_geom", "routes", ["geom"], unique=False, postgresql_using="gist")
    op.create_index(op.f("ix_routes_plan_id"), "routes", ["plan_id"], unique=False)
    op.create_table(
        "route_stops",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("route_id", sa.BigInteger(), nullable=False),
        sa.Column("plan_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.BigInteger(), nullable=True),
        sa.Column("project_code", sa.String(length=40), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=True),
        sa.Column("arrival_s", sa.Integer(), nullable=True),
        sa.Column("departure_s", sa.Integer(), nullable=True),
        sa.Column("service_min", sa.Float(), nullable=False),
        sa.Column("leg_m", sa.Float(), nullable=True),
        sa.Column("leg_s", sa.Integer(), nullable=True),
        sa.Column("route_name", sa.Text(), nullable=False),
        sa.Column("color", sa.String(length=9), nullable=False),
        sa.Column("geom", _geometry("POINT"), nullable=False),
        sa.Column("leg_geom", _geometry("LINESTRING"), nullable=True),
        sa.CheckConstraint("kind IN ('start', 'visit', 'overnight', 'end')", name=op.f("ck_route_stops_kind")),
        sa.ForeignKeyConstraint(["route_id"], ["routes.id"], name=op.f("fk_route_stops_route_id_routes"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_route_stops_project_id_projects"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_route_stops")),
        sa.UniqueConstraint("route_id", "seq", name="uq_route_stops_route_seq"),
    )
    op.create_index("ix_route_stops_geom", "route_stops", ["geom"], unique=False, postgresql_using="gist")
    op.create_index(op.f("ix_route_stops_route_id"), "route_stops", ["route_id"], unique=False)
    op.create_index(op.f("ix_route_stops_plan_id"), "route_stops", ["plan_id"], unique=False)
    op.create_index(op.f("ix_route_stops_project_id"), "route_stops", ["project_id"], unique=False)


def downgrade() -> None:
    op.drop_table("route_stops")
    op.drop_table("routes")
    op.drop_table("route_plans")
    op.drop_table("road_edges")
    op.drop_table("road_vertices")
    op.drop_table("road_network")
    # Only its owner may drop the extension: in the embedded cluster the administrator created it for the app role,
    # which migrates, so it stays (the upgrade's CREATE EXTENSION IF NOT EXISTS then finds it).
    op.execute("DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pgrouting' "
               "AND pg_has_role(extowner, 'USAGE')) THEN DROP EXTENSION pgrouting; END IF; END $$")
