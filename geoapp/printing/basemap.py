"""The base under a printed route: division boundaries and names from the database, roads when imported.

Everything comes from PostGIS (no tiles, no internet), simplified there to what paper can show.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shapely import wkb
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text

# ~110 m: finer than a 0.1 mm line at 1:1 000 000, small enough to keep 40 locator maps light.
SIMPLIFY_DEG = 0.001

DIVISIONS = text("""
    SELECT code, name, name_en, kind,
           ST_AsBinary(ST_SimplifyPreserveTopology(boundary, :tol)) AS boundary,
           ST_X(ST_PointOnSurface(boundary)) AS label_lon, ST_Y(ST_PointOnSurface(boundary)) AS label_lat
    FROM divisions
    WHERE boundary IS NOT NULL
    ORDER BY code
""")

OUTLINE = text("""
    SELECT ST_AsBinary(ST_SimplifyPreserveTopology(ST_Union(boundary), :tol))
    FROM divisions WHERE boundary IS NOT NULL
""")


@dataclass(frozen=True)
class DivisionShape:
    code: str
    name: str
    name_en: str | None
    kind: str
    boundary: BaseGeometry
    label_lon: float
    label_lat: float

    def label(self, lang: str) -> str:
        return (self.name_en or self.name) if lang == "en" else self.name


@dataclass
class BaseMap:
    """Division polygons (WGS84), the outer outline, and road lines (empty without a road network)."""

    divisions: list[DivisionShape]
    outline: BaseGeometry | None
    roads: list[tuple[str, BaseGeometry]] = field(default_factory=list)
    road_source: str | None = None

    def division_named(self, name: str) -> DivisionShape | None:
        return next((d for d in self.divisions if name in (d.name, d.name_en, d.code)), None)


def load_basemap(conn: Connection, tolerance: float = SIMPLIFY_DEG) -> BaseMap:
    """Division boundaries and names (simplified in SQL) and, when imported, the road network."""
    divisions = [
        DivisionShape(
            code=r.code, name=r.name, name_en=r.name_en, kind=r.kind, boundary=wkb.loads(bytes(r.boundary)),
            label_lon=r.label_lon, label_lat=r.label_lat,
        )
        for r in conn.execute(DIVISIONS, {"tol": tolerance})
    ]
    raw = conn.execute(OUTLINE, {"tol": tolerance}).scalar()
    outline = wkb.loads(bytes(raw)) if raw is not None else None
    roads, road_source = load_roads(conn)
    return BaseMap(divisions=divisions, outline=outline, roads=roads, road_source=road_source)


def load_roads(conn: Connection) -> tuple[list[tuple[str, BaseGeometry]], str | None]:
    """Major roads of an imported network as (class, line); ([], None) when no network is imported."""
    from geoapp.printing import roads

    return roads.major_roads(conn, SIMPLIFY_DEG / 2)
