"""Major roads for the printed base map, read from the imported road network (``road_edges``) when there is one.

Only the classes a 1:500 000 – 1:3 000 000 sheet can show (motorways, trunk and primary roads), merged and
simplified in PostGIS, and only near the city's divisions, so a network imported for somewhere else
(the Helsinki test extract) draws nothing on a Tongliao map.
"""

from __future__ import annotations

from pathlib import PurePath

from shapely import wkb
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text

MAJOR = ("motorway", "trunk", "primary", "motorway_link", "trunk_link")

ROADS = text("""
    WITH area AS (SELECT ST_Expand(ST_Extent(boundary)::geometry, 0.3) AS box FROM divisions
                  WHERE boundary IS NOT NULL)
    SELECT regexp_replace(e.highway, '_link$', '') AS road_class,
           ST_AsBinary(ST_Simplify(ST_LineMerge(ST_Collect(e.geom)), :tol)) AS geom
    FROM road_edges e, area
    WHERE e.highway = ANY(:classes) AND e.geom && area.box
    GROUP BY 1
""")


def major_roads(conn: Connection, tolerance: float) -> tuple[list[tuple[str, BaseGeometry]], str | None]:
    """(road class, lines) of the major roads near the divisions, and the network's source; ([], None) if none."""
    if conn.execute(text("SELECT to_regclass('road_edges') IS NULL OR to_regclass('road_network') IS NULL")).scalar():
        return [], None
    rows = conn.execute(ROADS, {"tol": tolerance, "classes": list(MAJOR)}).all()
    roads = [(r.road_class, wkb.loads(bytes(r.geom))) for r in rows if r.geom is not None]
    if not roads:
        return [], None
    source = conn.execute(text("SELECT source FROM road_network ORDER BY imported_at DESC LIMIT 1")).scalar()
    name = PurePath(source).name if source else ""
    return roads, f"© OpenStreetMap contributors (ODbL){f', {name}' if name else ''}"
