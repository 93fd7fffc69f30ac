"""The tables: divisions, projects and their monthly progress (SQLAlchemy 2 + GeoAlchemy2).

Money is stored in 万元 (10,000 yuan) as numeric; geometries in WGS84 (EPSG:4326). Vocabulary
values (sector, tier, status) are stored as the stable codes defined in ``layers/vocabularies``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from geoalchemy2 import Geometry
from sqlalchemy import (
    ARRAY,
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MONEY = Numeric(14, 2)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Division(Base):
    """A county-level unit (旗县市区) or a development zone, with its boundary when one is official."""

    __tablename__ = "divisions"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    code_system: Mapped[str] = mapped_column(String(12), default="GB/T 2260")
    name: Mapped[str] = mapped_column(Text, unique=True)
    short_forms: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    name_en: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(24))
    parent_code: Mapped[str | None] = mapped_column(String(12), index=True)
    boundary = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=True)
    seat_name: Mapped[str | None] = mapped_column(Text)
    seat = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=True)
    source: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("code_system IN ('GB/T 2260', 'NBS')", name="code_system"),
        CheckConstraint(
            "kind IN ('district', 'county', 'banner', 'county_city', 'development_zone', 'other')", name="kind"
        ),
        CheckConstraint("boundary IS NULL OR ST_IsValid(boundary)", name="boundary_valid"),
        Index("ix_divisions_boundary", "boundary", postgresql_using="gist"),
        Index("ix_divisions_short_forms", "short_forms", postgresql_using="gin"),
    )


class Project(Base):
    """An investment project at one point."""

    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(Text)
    sector: Mapped[str] = mapped_column(String(40), index=True)
    tier: Mapped[str] = mapped_column(String(20), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    total_investment: Mapped[Decimal | None] = mapped_column(MONEY, index=True)
    planned_investment: Mapped[Decimal | None] = mapped_column(MONEY)
    plan_year: Mapped[int | None] = mapped_column(Integer)
    start_year: Mapped[int | None] = mapped_column(Integer, index=True)
    end_year: Mapped[int | None] = mapped_column(Integer)
    company: Mapped[str | None] = mapped_column(Text)
    responsible_unit: Mapped[str | None] = mapped_column(Text)
    leader: Mapped[str | None] = mapped_column(Text)
    scope: Mapped[str | None] = mapped_column(Text)
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=False)
    coord_source: Mapped[str] = mapped_column(String(20))
    location_precision: Mapped[str] = mapped_column(String(12))
    source: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        CheckConstraint("ST_IsValid(geom)", name="geom_valid"),
        CheckConstraint("ST_X(geom) BETWEEN -180 AND 180 AND ST_Y(geom) BETWEEN -90 AND 90", name="lonlat_range"),
        CheckConstraint("total_investment IS NULL OR total_investment >= 0", name="total_investment_nonneg"),
        CheckConstraint("planned_investment IS NULL OR planned_investment >= 0", name="planned_investment_nonneg"),
        CheckConstraint("end_year IS NULL OR start_year IS NULL OR end_year >= start_year", name="years_order"),
        CheckConstraint(
            "coord_source IN ('wgs84', 'cgcs2000', 'gcj02', 'bd09', 'seat', 'park')", name="coord_source"
        ),
        CheckConstraint("location_precision IN ('exact', 'approximate')", name="location_precision"),
        Index("ix_projects_geom", "geom", postgresql_using="gist"),
        Index("ix_projects_name", "name"),
        # live rows in code order: the items page and its numberMatched count (migration 0004)
        Index("ix_projects_live_code", "code", postgresql_where=text("deleted_at IS NULL")),
    )


class ProjectProgress(Base):
    """The monthly dispatch (按月调度): one report per project and month."""

    __tablename__ = "project_progress"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    month: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(20))
    progress_pct: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    investment_completed: Mapped[Decimal] = mapped_column(MONEY)
    issues: Mapped[str | None] = mapped_column(Text)
    reported_by: Mapped[str] = mapped_column(Text)
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        UniqueConstraint("project_id", "month", name="uq_project_progress_project_month"),
        CheckConstraint("progress_pct BETWEEN 0 AND 100", name="progress_pct_range"),
        CheckConstraint("investment_completed >= 0", name="investment_completed_nonneg"),
        CheckConstraint("extract(day from month) = 1", name="month_first_day"),
    )


# --- Accounts, change history and soft deletes (issue 4; migration 0002) ---------------------------------------
import sqlalchemy as sa  # noqa: E402
from sqlalchemy.dialects.postgresql import JSONB  # noqa: E402

# Soft delete: a deleted project keeps its row (and its progress and history) until an admin restores it.
# Every reader of projects must add ``Project.deleted_at.is_(None)``.
Project.deleted_at = mapped_column(sa.DateTime(timezone=True), nullable=True)
Project.deleted_by = mapped_column(Text, nullable=True)


class User(Base):
    """An account: admin (everything), editor (projects of the bound divisions only) or viewer (read only)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(Text)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(12))
    divisions: Mapped[list[str]] = mapped_column(ARRAY(String(12)), default=list, server_default="{}")
    disabled: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (CheckConstraint("role IN ('admin', 'editor', 'viewer')", name="role"),)


class ApiToken(Base):
    """A bearer token for scripts and the web map's login; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(Text)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ProjectHistory(Base):
    """One change of one project: who, when, and {field: [old, new]}; written by a trigger on every write."""

    __tablename__ = "project_history"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    project_code: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(12))
    actor: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    changes: Mapped[dict] = mapped_column(JSONB)

    __table_args__ = (
        CheckConstraint("action IN ('create', 'update', 'delete', 'restore', 'progress')", name="action"),
        Index("ix_project_history_project_id_at", "project_id", "at"),
    )


# --- Inspection routes and the road network (geoapp.routing; migration 0003) ---
from sqlalchemy import Float, LargeBinary  # noqa: E402
from sqlalchemy.dialects import postgresql as pg  # noqa: E402


class RoadNetwork(Base):
    """What was imported as the road network (one row): the file, the clip area, the counts, the speeds."""

    __tablename__ = "road_network"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    clip_to: Mapped[str | None] = mapped_column(Text)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    edges: Mapped[int] = mapped_column(Integer)
    vertices: Mapped[int] = mapped_column(Integer)
    dropped_edges: Mapped[int] = mapped_column(Integer)
    speeds_kmh: Mapped[dict] = mapped_column(pg.JSONB)


class RoadVertex(Base):
    """A junction or dead end of the routable graph (its id is the OSM node id)."""

    __tablename__ = "road_vertices"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=False)

    __table_args__ = (Index("ix_road_vertices_geom", "geom", postgresql_using="gist"),)


class RoadEdge(Base):
    """A road segment between two vertices; costs in seconds, -1 where one-way forbids that direction."""

    __tablename__ = "road_edges"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    source: Mapped[int] = mapped_column(BigInteger, index=True)
    target: Mapped[int] = mapped_column(BigInteger, index=True)
    cost: Mapped[float] = mapped_column(Float)
    reverse_cost: Mapped[float] = mapped_column(Float)
    length_m: Mapped[float] = mapped_column(Float)
    highway: Mapped[str] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    osm_id: Mapped[int] = mapped_column(BigInteger)
    geom = mapped_column(Geometry("LINESTRING", srid=4326, spatial_index=False), nullable=False)

    __table_args__ = (Index("ix_road_edges_geom", "geom", postgresql_using="gist"),)


class RoutePlan(Base):
    """One planning run: its settings, the travel model and matrix used, and the projects left out (and why)."""

    __tablename__ = "route_plans"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    settings: Mapped[dict] = mapped_column(pg.JSONB)
    travel_model: Mapped[str] = mapped_column(String(12))
    travel_info: Mapped[dict] = mapped_column(pg.JSONB)
    locations: Mapped[list] = mapped_column(pg.JSONB)
    matrix: Mapped[bytes] = mapped_column(LargeBinary)
    unassigned: Mapped[list] = mapped_column(pg.JSONB)
    edited: Mapped[bool] = mapped_column(default=False, server_default="false")

    __table_args__ = (CheckConstraint("travel_model IN ('road', 'estimate')", name="travel_model"),)


class Route(Base):
    """One route of a plan (北线, 南线 …) over its days, with its line along the roads (or straight legs)."""

    __tablename__ = "routes"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("route_plans.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    color: Mapped[str] = mapped_column(String(9))
    days: Mapped[int] = mapped_column(Integer)
    stops: Mapped[int] = mapped_column(Integer)
    distance_km: Mapped[float] = mapped_column(Float)
    driving_min: Mapped[float] = mapped_column(Float)
    service_min: Mapped[float] = mapped_column(Float)
    travel_model: Mapped[str] = mapped_column(String(12))
    day_summaries: Mapped[list] = mapped_column(pg.JSONB)
    geom = mapped_column(Geometry("MULTILINESTRING", srid=4326, spatial_index=False), nullable=True)

    __table_args__ = (
        UniqueConstraint("plan_id", "seq", name="uq_routes_plan_seq"),
        Index("ix_routes_geom", "geom", postgresql_using="gist"),
    )


class RouteStop(Base):
    """A stop of a route in order: the start, each project visit (numbered), the nights' lodging, the end."""

    __tablename__ = "route_stops"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    route_id: Mapped[int] = mapped_column(ForeignKey("routes.id", ondelete="CASCADE"), index=True)
    plan_id: Mapped[int] = mapped_column(BigInteger, index=True)
    seq: Mapped[int] = mapped_column(Integer)
    number: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))
    day: Mapped[int] = mapped_column(Integer)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="SET NULL"), index=True)
    project_code: Mapped[str | None] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(Text)
    division_code: Mapped[str | None] = mapped_column(String(12))
    arrival_s: Mapped[int | None] = mapped_column(Integer)
    departure_s: Mapped[int | None] = mapped_column(Integer)
    service_min: Mapped[float] = mapped_column(Float, default=0)
    leg_m: Mapped[float | None] = mapped_column(Float)
    leg_s: Mapped[int | None] = mapped_column(Integer)
    route_name: Mapped[str] = mapped_column(Text)
    color: Mapped[str] = mapped_column(String(9))
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=False)
    leg_geom = mapped_column(Geometry("LINESTRING", srid=4326, spatial_index=False), nullable=True)

    __table_args__ = (
        UniqueConstraint("route_id", "seq", name="uq_route_stops_route_seq"),
        CheckConstraint("kind IN ('start', 'visit', 'overnight', 'end')", name="kind"),
        Index("ix_route_stops_geom", "geom", postgresql_using="gist"),
    )
