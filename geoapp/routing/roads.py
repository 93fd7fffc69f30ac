"""``geoapp roads import FILE.osm.pbf``: OpenStreetMap roads → PostGIS → a routable pgRouting graph.

Why pyosmium (``osmium`` on PyPI): it reads .osm.pbf directly, streams any size of extract with a node-location
cache, ships wheels for Python 3.11, and is maintained by the OSM core developers. Debian's osm2pgrouting reads
only uncompressed OSM XML, needs a separate conversion step and writes its own schema; here we want our own
tables inside one transaction (a failed import writes nothing).

The graph: drivable ``highway`` ways split at every node shared by two ways (junctions) and at their ends;
travel time = length ÷ speed by road class (``SPEEDS_KMH``; a numeric ``maxspeed`` tag lowers it, never raises
it); one-way streets get ``reverse_cost = -1`` (pgRouting's "no edge this way"); only the largest strongly
connected component is kept, so every kept vertex reaches every other and matrices have no holes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import osmium
from sqlalchemy import Connection, text

from geoapp.divisions import find_city, resolve_division
from geoapp.errors import GeoappError
from geoapp.routing.estimate import great_circle_m

# Average speeds (km/h) by OSM road class, for Chinese rural and urban traffic; the defaults are documented
# in README (routing section). Classes not listed (footway, cycleway, track, path, steps …) are not drivable.
SPEEDS_KMH: dict[str, float] = {
    "motorway": 100, "motorway_link": 50, "trunk": 80, "trunk_link": 40, "primary": 60, "primary_link": 35,
    "secondary": 50, "secondary_link": 30, "tertiary": 40, "tertiary_link": 25, "unclassified": 30,
    "residential": 25, "living_street": 10, "service": 15, "road": 25,
}
ONEWAY_BY_DEFAULT = {"motorway", "motorway_link", "trunk_link"}
NO_ACCESS = {"no", "private"}


@dataclass
class ImportSummary:
    source: str
    clip_to: str | None
    edges: int
    vertices: int
    dropped_edges: int

    def __str__(self) -> str:
        clip = f", clipped to {self.clip_to}" if self.clip_to else ""
        return (f"{self.edges} 条路段, {self.vertices} 个节点（已去除不连通路段 {self.dropped_edges} 条） / "
                f"{self.edges} edges, {self.vertices} vertices, {self.dropped_edges} disconnected edges dropped{clip}")


# "50", "30 mph": matched whole against the stripped tag, the blanks before "mph" inside its optional group (two
# optional runs of blanks in a row backtracked quadratically on a crafted tag).
MAXSPEED = re.compile(r"(\d+(?:\.\d+)?)(?:\s*(mph))?")
MAX_MAXSPEED_CHARS = 16
"""A maxspeed tag longer than this ("120", "65 mph", "RU:urban", "none" are the real ones) is not a number: the
highway's default speed applies, as for any tag that is not one."""


def _speed(tags) -> float | None:
    highway = tags.get("highway")
    if highway not in SPEEDS_KMH or tags.get("access") in NO_ACCESS or tags.get("motor_vehicle") in NO_ACCESS:
        return None
    speed = SPEEDS_KMH[highway]
    maxspeed = tags.get("maxspeed", "").strip()
    match = MAXSPEED.fullmatch(maxspeed) if len(maxspeed) <= MAX_MAXSPEED_CHARS else None
    if match:
        limit = float(match.group(1)) * (1.609 if match.group(2) else 1.0)
        speed = min(speed, limit) if limit > 0 else speed
    return speed


def _direction(tags) -> int:
    """1 forward only, -1 backward only, 0 both ways."""
    oneway = tags.get("oneway", "")
    if oneway in ("yes", "true", "1"):
        return 1
    if oneway == "-1":
        return -1
    if oneway == "no":
        return 0
    if tags.get("highway") in ONEWAY_BY_DEFAULT or tags.get("junction") in ("roundabout", "circular"):
        return 1
    return 0


def read_ways(path: Path) -> list[tuple[int, dict, list[tuple[int, float, float]]]]:
    """(osm id, tags, [(node id, lon, lat)]) of every drivable way of a .osm.pbf file."""
    ways = []
    processor = (
        osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
        .with_locations()
        .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
        .with_filter(osmium.filter.KeyFilter("highway"))
    )
    for way in processor:
        tags = {k: way.tags.get(k) for k in ("highway", "oneway", "junction", "maxspeed", "access",
                                             "motor_vehicle", "name") if k in way.tags}
        if _speed(tags) is None:
            continue
        nodes = [(n.ref, n.lon, n.lat) for n in way.nodes if n.location.valid()]
        if len(nodes) >= 2:
            ways.append((way.id, tags, nodes))
    return ways


def split_edges(ways) -> tuple[list[tuple], dict[int, tuple[float, float]]]:
    """Edges between junctions: (source, target, cost s, reverse cost s, length m, highway, name, osm id, wkt)."""
    use: dict[int, int] = {}
    for _, _, nodes in ways:
        for i, (ref, _, _) in enumerate(nodes):
            use[ref] = use.get(ref, 0) + (2 if i in (0, len(nodes) - 1) else 1)
    edges, vertices = [], {}
    for osm_id, tags, nodes in ways:
        speed_ms = _speed(tags) * 1000 / 3600
        direction = _direction(tags)
        start = 0
        for i in range(1, len(nodes)):
            if i < len(nodes) - 1 and use[nodes[i][0]] < 2:
                continue
            part = nodes[start:i + 1]
            start = i
            xy = np.array([(lon, lat) for _, lon, lat in part])
            length = float(sum(great_circle_m(xy[k:k + 1], xy[k + 1:k + 2])[0, 0] for k in range(len(xy) - 1)))
            if part[0][0] == part[-1][0] and length == 0:
                continue
            seconds = max(length / speed_ms, 0.1)
            cost, reverse = (seconds, -1.0) if direction == 1 else (-1.0, seconds) if direction == -1 else (
                seconds, seconds)
            wkt = "LINESTRING(" + ",".join(f"{lon!r} {lat!r}" for _, lon, lat in part) + ")"
            edges.append((part[0][0], part[-1][0], cost, reverse, length, tags["highway"], tags.get("name"),
                          osm_id, wkt))
            vertices[part[0][0]] = (part[0][1], part[0][2])
            vertices[part[-1][0]] = (part[-1][1], part[-1][2])
    return edges, vertices


def clip_area_wkt(conn: Connection, name: str) -> str:
    """The boundary to clip to: a division (科左中旗, 150521) or a whole city (通辽市) from the loaded divisions."""
    code = resolve_division(conn, name)
    if code is None:
        try:
            city_code, _ = find_city(name)
        except GeoappError:
            city_code = None
        where, params = "parent_code = :code", {"code": city_code}
    else:
        where, params = "code = :code", {"code": code}
    wkt = conn.execute(text(f"SELECT ST_AsText(ST_Union(boundary)) FROM divisions WHERE {where}"), params).scalar()
    if wkt is None:
        raise GeoappError(
            f"--clip-to '{name}': 找不到该区划或城市的边界（请先 geoapp divisions load 通辽市） / no boundary for "
            f"'{name}' (load the divisions first: geoapp divisions load 通辽市)"
        )
    return wkt


def clip_edges(conn: Connection, area_wkt: str) -> None:
    """Keep only the roads inside the area: edges outside go, edges crossing the boundary are cut at it.

    A cut piece keeps its class and speed (cost scaled by the length kept); its end on the boundary becomes a
    new vertex with a negative id (OSM node ids are positive), so the graph stays consistent.
    """
    params = {"w": area_wkt}
    conn.execute(text("""
        CREATE TEMP TABLE _clip ON COMMIT DROP AS SELECT ST_GeomFromText(:w, 4326) AS g
    """), params)
    conn.execute(text("DELETE FROM road_edges e USING _clip c WHERE NOT ST_Intersects(e.geom, c.g)"))
    conn.execute(text("""
        CREATE TEMP TABLE _pieces ON COMMIT DROP AS
        SELECT e.id, e.source, e.target, e.cost, e.reverse_cost, e.length_m, e.highway, e.name, e.osm_id,
               ST_StartPoint(e.geom) AS first, ST_EndPoint(e.geom) AS last, d.geom AS geom
        FROM road_edges e CROSS JOIN _clip c
        CROSS JOIN LATERAL ST_Dump(ST_CollectionExtract(ST_Intersection(e.geom, c.g), 2)) d
        WHERE NOT ST_CoveredBy(e.geom, c.g)
    """))
    conn.execute(text("DELETE FROM road_edges e USING _clip c WHERE NOT ST_CoveredBy(e.geom, c.g)"))
    conn.execute(text("""
        CREATE TEMP TABLE _cut ON COMMIT DROP AS
        SELECT p.*, ST_Length(p.geom::geography) AS kept_m,
               CASE WHEN ST_DWithin(ST_StartPoint(p.geom), p.first, 1e-9) THEN p.source END AS new_source,
               CASE WHEN ST_DWithin(ST_EndPoint(p.geom), p.last, 1e-9) THEN p.target END AS new_target,
               -row_number() OVER (ORDER BY p.id, ST_AsBinary(p.geom)) AS piece
        FROM _pieces p WHERE ST_Length(p.geom::geography) > 0
    """))
    conn.execute(text("""
        INSERT INTO road_vertices (id, geom)
        SELECT 2 * piece, ST_StartPoint(geom) FROM _cut WHERE new_source IS NULL
        UNION ALL SELECT 2 * piece - 1, ST_EndPoint(geom) FROM _cut WHERE new_target IS NULL
    """))
    conn.execute(text("""
        INSERT INTO road_edges (source, target, cost, reverse_cost, length_m, highway, name, osm_id, geom)
        SELECT COALESCE(new_source, 2 * piece), COALESCE(new_target, 2 * piece - 1),
               CASE WHEN cost < 0 THEN cost ELSE greatest(cost * kept_m / length_m, 0.1) END,
               CASE WHEN reverse_cost < 0 THEN reverse_cost ELSE greatest(reverse_cost * kept_m / length_m, 0.1) END,
               kept_m, highway, name, osm_id, geom
        FROM _cut
    """))


def import_roads(conn: Connection, path: Path, clip_to: str | None = None) -> ImportSummary:
    """Replace the road network with the drivable roads of ``path``; all-or-nothing (run inside a transaction)."""
    path = Path(path)
    if not path.is_file():
        raise GeoappError(f"找不到文件 / no such file: {path}")
    try:
        ways = read_ways(path)
    except RuntimeError as exc:
        raise GeoappError(f"无法读取 OSM 文件 / cannot read the OSM file {path.name}: {exc}") from None
    edges, vertices = split_edges(ways)
    if not edges:
        raise GeoappError(f"{path.name} 中没有可通行的道路 / no drivable roads in {path.name}")
    clip_wkt = clip_area_wkt(conn, clip_to) if clip_to else None

    conn.execute(text("TRUNCATE road_edges, road_vertices, road_network RESTART IDENTITY"))
    raw = conn.connection.driver_connection
    with raw.cursor() as cur:
        with cur.copy("COPY road_edges (source, target, cost, reverse_cost, length_m, highway, name, osm_id, geom) "
                      "FROM STDIN") as copy:
            for e in edges:
                copy.write_row([*e[:8], f"SRID=4326;{e[8]}"])
        with cur.copy("COPY road_vertices (id, geom) FROM STDIN") as copy:
            for vid, (lon, lat) in vertices.items():
                copy.write_row([vid, f"SRID=4326;POINT({lon!r} {lat!r})"])
    loaded = len(edges)
    if clip_wkt:
        clip_edges(conn, clip_wkt)
    # keep the largest strongly connected component (one-way streets respected)
    conn.execute(text("""
        CREATE TEMP TABLE _components ON COMMIT DROP AS
        SELECT component, node FROM pgr_strongComponents(
            'SELECT id, source, target, cost, reverse_cost FROM road_edges')
    """))
    conn.execute(text("""
        WITH biggest AS (SELECT component FROM _components GROUP BY component ORDER BY count(*) DESC, component
                         LIMIT 1)
        DELETE FROM road_edges e WHERE NOT EXISTS (
            SELECT 1 FROM _components c JOIN biggest USING (component) WHERE c.node = e.source)
          OR NOT EXISTS (SELECT 1 FROM _components c JOIN biggest USING (component) WHERE c.node = e.target)
    """))
    conn.execute(text("DELETE FROM road_vertices v WHERE NOT EXISTS (SELECT 1 FROM road_edges e "
                      "WHERE e.source = v.id OR e.target = v.id)"))
    n_edges = conn.execute(text("SELECT count(*) FROM road_edges")).scalar_one()
    n_vertices = conn.execute(text("SELECT count(*) FROM road_vertices")).scalar_one()
    if n_edges == 0:
        raise GeoappError(f"裁剪后没有道路 / no roads left inside '{clip_to}'")
    summary = ImportSummary(path.name, clip_to, n_edges, n_vertices, loaded - n_edges)
    conn.execute(
        text("INSERT INTO road_network (id, source, clip_to, edges, vertices, dropped_edges, speeds_kmh) "
             "VALUES (1, :source, :clip, :edges, :vertices, :dropped, CAST(:speeds AS jsonb))"),
        {"source": path.name, "clip": clip_to, "edges": n_edges, "vertices": n_vertices,
         "dropped": summary.dropped_edges, "speeds": json.dumps(SPEEDS_KMH)},
    )
    conn.execute(text("ANALYZE road_edges"))
    conn.execute(text("ANALYZE road_vertices"))
    return summary


def network_info(conn: Connection) -> dict | None:
    """The imported network's description, or None when no road network is loaded."""
    row = conn.execute(text("SELECT source, clip_to, imported_at, edges, vertices FROM road_network WHERE id = 1"))
    row = row.mappings().first()
    return None if row is None else {**row, "imported_at": row["imported_at"].isoformat()}
