"""Travel times between the stops: along the imported roads (pgRouting) or estimated (great circle).

Road model: every point snaps to its nearest vertex of the road graph (KNN on the GiST index); the matrix is
one ``pgr_dijkstraCostMatrix`` call over the directed graph (one-way streets respected), plus the walk-in
from the point to its vertex at ``ACCESS_SPEED_KMH``. Legs of a finished plan follow ``pgr_dijkstra`` paths,
so the route line runs along the roads.

``auto`` uses the roads when a network is loaded and every stop lies within ``max_snap_m`` of it, otherwise
the estimate (see :mod:`geoapp.routing.estimate`), and says which in ``TravelModel.info``.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import Connection, text

from geoapp.errors import GeoappError
from geoapp.routing import estimate
from geoapp.routing.roads import network_info

ACCESS_SPEED_KMH = 20.0          # from a project's point to the nearest road vertex (site roads, gates)
DEFAULT_MAX_SNAP_M = 2000.0      # farther than this from the network → the road model does not cover the point
PARALLEL_MIN_SOURCES = 30       # below this many stops one matrix query is quicker than several
MAX_WORKERS = 4
EDGES_SQL = "SELECT id, source, target, cost, reverse_cost FROM road_edges"
ROAD_LABEL = {"zh": "道路网行驶时间（OpenStreetMap 道路，pgRouting）",
              "en": "road travel times (OpenStreetMap roads, pgRouting)"}


@dataclass
class TravelModel:
    kind: str                                 # "road" or "estimate"
    seconds: np.ndarray                       # travel time, points × points
    info: dict = field(default_factory=dict)  # label (zh/en) and parameters, shown with every plan
    metres: np.ndarray | None = None          # estimate: the distances; road: per leg from the paths
    snaps: list[tuple[int, float, float, float]] = field(default_factory=list)  # road: vertex, metres, lon, lat


def snap(conn: Connection, lonlat: np.ndarray) -> list[tuple[int, float, float, float]]:
    """(vertex id, distance m, vertex lon, vertex lat) of the nearest road vertex of each point."""
    rows = conn.execute(text("""
        SELECT p.i, v.id, ST_Distance(v.geom::geography, p.g::geography), ST_X(v.geom), ST_Y(v.geom)
        FROM (SELECT i, ST_SetSRID(ST_MakePoint(x, y), 4326) AS g
              FROM unnest(CAST(:xs AS float8[]), CAST(:ys AS float8[])) WITH ORDINALITY AS t(x, y, i)) p
        CROSS JOIN LATERAL (SELECT id, geom FROM road_vertices ORDER BY geom <-> p.g LIMIT 1) v
        ORDER BY p.i
    """), {"xs": [float(x) for x in lonlat[:, 0]], "ys": [float(y) for y in lonlat[:, 1]]}).all()
    return [(int(vid), float(d), float(x), float(y)) for _, vid, d, x, y in rows]


def _costs(conn: Connection, vids: list[int]) -> list[tuple[int, int, float]]:
    """All-pairs driving seconds between road vertices: ``pgr_dijkstraCostMatrix``, or for many sources the same
    Dijkstra searches (``pgr_dijkstraCost`` many-to-many) split over one connection per core, run side by side."""
    workers = min(MAX_WORKERS, os.cpu_count() or 1, max(1, len(vids) // PARALLEL_MIN_SOURCES))
    if workers == 1:
        matrix = text("SELECT start_vid, end_vid, agg_cost FROM pgr_dijkstraCostMatrix(:edges, "
                      "CAST(:vids AS bigint[]), directed => true)")
        return conn.execute(matrix, {"edges": EDGES_SQL, "vids": vids}).all()
    many = text("SELECT start_vid, end_vid, agg_cost FROM pgr_dijkstraCost(:edges, CAST(:starts AS bigint[]), "
                "CAST(:ends AS bigint[]), directed => true)")
    chunks = [vids[k::workers] for k in range(workers)]

    def other(chunk: list[int]) -> list:
        with conn.engine.connect() as own:
            return own.execute(many, {"edges": EDGES_SQL, "starts": chunk, "ends": vids}).all()

    with ThreadPoolExecutor(workers - 1) as pool:
        futures = [pool.submit(other, chunk) for chunk in chunks[1:]]
        rows = list(conn.execute(many, {"edges": EDGES_SQL, "starts": chunks[0], "ends": vids}).all())
        for future in futures:
            rows += future.result()
    return rows


def road_matrix(conn: Connection, lonlat: np.ndarray, snaps=None) -> TravelModel:
    """Seconds between every pair of points along the roads (asymmetric where one-way streets say so)."""
    snaps = snaps or snap(conn, lonlat)
    vids = sorted({s[0] for s in snaps})
    position = {v: k for k, v in enumerate(vids)}
    core = np.zeros((len(vids), len(vids)))
    if len(vids) > 1:
        rows = _costs(conn, vids)
        core[:] = np.inf
        np.fill_diagonal(core, 0)
        for a, b, cost in rows:
            core[position[a], position[b]] = cost
    idx = np.array([position[s[0]] for s in snaps])
    access = np.array([s[1] for s in snaps]) / (ACCESS_SPEED_KMH * 1000 / 3600)
    seconds = core[np.ix_(idx, idx)] + access[:, None] + access[None, :]
    np.fill_diagonal(seconds, 0)
    if not np.isfinite(seconds).all():
        raise GeoappError("道路网不连通：有的地点之间无路可达 / the road graph leaves some stops unreachable")
    info = {"label": ROAD_LABEL, "access_speed_kmh": ACCESS_SPEED_KMH, "network": network_info(conn)}
    return TravelModel("road", np.rint(seconds).astype(np.int64), info, None, snaps)


def estimated(lonlat: np.ndarray, speed_kmh: float, circuity: float) -> TravelModel:
    seconds, metres = estimate.estimate_matrices(lonlat, speed_kmh, circuity)
    info = {"label": estimate.LABEL, "speed_kmh": speed_kmh, "circuity": circuity}
    return TravelModel("estimate", seconds, info, metres)


def travel_model(conn: Connection, lonlat: np.ndarray, mode: str = "auto", *,
                 speed_kmh: float = estimate.DEFAULT_SPEED_KMH, circuity: float = estimate.DEFAULT_CIRCUITY,
                 max_snap_m: float = DEFAULT_MAX_SNAP_M, names: list[str] | None = None) -> TravelModel:
    """The travel model for these points: ``road``, ``estimate`` or ``auto`` (roads when they cover every point)."""
    lonlat = np.asarray(lonlat, dtype=float)
    if mode == "estimate":
        return estimated(lonlat, speed_kmh, circuity)
    has_network = conn.execute(text("SELECT EXISTS (SELECT 1 FROM road_edges)")).scalar()
    if not has_network:
        if mode == "road":
            raise GeoappError("尚未导入道路网（geoapp roads import FILE.osm.pbf） / no road network imported "
                              "(run geoapp roads import FILE.osm.pbf) — or use travel_model=estimate")
        return estimated(lonlat, speed_kmh, circuity)
    snaps = snap(conn, lonlat)
    far = [i for i, s in enumerate(snaps) if s[1] > max_snap_m]
    if far:
        if mode == "road":
            which = "、".join((names or [str(i) for i in range(len(snaps))])[i] for i in far[:5])
            raise GeoappError(f"这些地点离道路网超过 {max_snap_m:.0f} 米 / these stops are more than "
                              f"{max_snap_m:.0f} m from the road network: {which}")
        model = estimated(lonlat, speed_kmh, circuity)
        model.info["why"] = {"zh": f"{len(far)} 个地点不在已导入的道路网范围内",
                             "en": f"{len(far)} stops lie outside the imported road network"}
        return model
    return road_matrix(conn, lonlat, snaps)


def legs(conn: Connection, model: TravelModel, lonlat: np.ndarray,
         pairs: list[tuple[int, int]]) -> dict[tuple[int, int], tuple[float, int, list[tuple[float, float]]]]:
    """(metres, seconds, line coordinates) of each leg (i → j): along the roads, or straight when estimated."""
    out: dict[tuple[int, int], tuple[float, int, list[tuple[float, float]]]] = {}
    pts = [(float(x), float(y)) for x, y in lonlat]
    if model.kind == "estimate":
        for i, j in pairs:
            out[(i, j)] = (float(model.metres[i, j]), int(model.seconds[i, j]), [pts[i], pts[j]])
        return out
    vertex = [s[0] for s in model.snaps]
    combos = sorted({(vertex[i], vertex[j]) for i, j in pairs if vertex[i] != vertex[j]})
    paths: dict[tuple[int, int], tuple[float, list[tuple[float, float]]]] = {}
    if combos:
        rows = conn.execute(text("""
            WITH p AS (
                SELECT start_vid, end_vid, path_seq, node, edge FROM pgr_dijkstra(:edges,
                    'SELECT s AS source, t AS target FROM unnest(' || quote_literal(CAST(:s AS text)) ||
                    '::bigint[], ' || quote_literal(CAST(:t AS text)) || '::bigint[]) AS u(s, t)', directed => true)
                WHERE edge <> -1)
            SELECT p.start_vid, p.end_vid, sum(e.length_m),
                   ST_AsGeoJSON(ST_RemoveRepeatedPoints(ST_MakeLine(
                       CASE WHEN p.node = e.source THEN e.geom ELSE ST_Reverse(e.geom) END ORDER BY p.path_seq)), 6)
            FROM p JOIN road_edges e ON e.id = p.edge
            GROUP BY p.start_vid, p.end_vid
        """), {"edges": EDGES_SQL, "s": "{" + ",".join(str(a) for a, _ in combos) + "}",
               "t": "{" + ",".join(str(b) for _, b in combos) + "}"}).all()
        for a, b, metres, geojson in rows:
            paths[(int(a), int(b))] = (float(metres), [tuple(c) for c in json.loads(geojson)["coordinates"]])
    for i, j in pairs:
        if i == j:
            out[(i, j)] = (0.0, 0, [pts[i], pts[j]])
            continue
        va, vb = model.snaps[i][0], model.snaps[j][0]
        metres, coords = paths.get((va, vb), (0.0, [model.snaps[i][2:4]]))
        access_m = model.snaps[i][1] + model.snaps[j][1]
        line = [pts[i], *coords, pts[j]]
        out[(i, j)] = (metres + access_m, int(model.seconds[i, j]), line)
    return out
