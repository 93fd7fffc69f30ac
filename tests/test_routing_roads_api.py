"""End to end on a road network inside Tongliao: `geoapp roads import` → POST /routes/plan → PUT → CLI.

The network is SYNTHETIC TEST DATA written in the test with pyosmium (not real OpenStreetMap roads): a few
roads drawn around the city seat 通辽市人民政府 (43.654 N, 122.243 E) out to three of the named demo projects
(TL2025-002 in 科尔沁区, TL2022-001 in 开鲁县, TL2025-005 in 科左后旗), with several road classes, one one-way
street, a maxspeed tag, a footway (not drivable) and a fragment that is connected to nothing. The real Helsinki
extract is tested in tests/test_routing_roads.py; the API refuses a Helsinki depot (outside China), hence this file.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import osmium
import pytest
from shapely.geometry import shape
from sqlalchemy import text

from geoapp.routing.roads import SPEEDS_KMH, import_roads

CITY_HALL = (122.243, 43.654)
KAILU = (121.304, 43.6)          # TL2022-001 君业生物制药, 开鲁县
HOUQI = (122.35, 42.95)          # TL2025-005 盈通能源 LNG, 科左后旗
WIND_BASE = (122.30, 43.70)      # TL2025-002 蒙东(通辽)风电装备制造产业基地, 科尔沁区 (off the city hall on purpose)
PROJECTS = ["TL2025-002", "TL2025-005", "TL2022-001"]

NODES = {
    1: CITY_HALL, 2: (122.26, 43.654), 3: (122.26, 43.67), 4: (122.243, 43.67),          # city-centre block
    11: (122.0, 43.62), 12: (121.7, 43.66), 13: (121.5, 43.58), 10: KAILU,               # bent trunk west
    14: (121.31, 43.61), 15: (121.32, 43.605),                                           # 开鲁 town streets
    21: (122.30, 43.45), 22: (122.25, 43.2), 23: (122.33, 43.05), 20: HOUQI,             # bent primary south
    24: (122.36, 42.955),
    30: (122.40, 43.80), 31: (122.41, 43.80), 32: (122.41, 43.81),                       # disconnected fragment
    40: (122.25, 43.66),                                                                 # footway end
    50: WIND_BASE,                                                                       # the base's access road
}
# way id: (nodes, tags)
WAYS = {
    101: ([1, 2], {"highway": "tertiary", "name": "霍林河大街（测试）"}),
    102: ([1, 4], {"highway": "residential"}),
    103: ([4, 3], {"highway": "secondary"}),
    104: ([3, 2], {"highway": "residential", "oneway": "yes"}),
    105: ([1, 11, 12, 13, 10], {"highway": "trunk", "name": "G304（测试）"}),
    106: ([10, 14], {"highway": "unclassified"}),
    107: ([14, 15], {"highway": "service"}),
    108: ([2, 21, 22], {"highway": "primary"}),
    109: ([22, 23, 20], {"highway": "primary", "maxspeed": "40"}),
    110: ([20, 24], {"highway": "living_street"}),
    111: ([30, 31, 32], {"highway": "residential"}),
    112: ([1, 40], {"highway": "footway"}),
    113: ([3, 50], {"highway": "tertiary", "name": "风电基地路（测试）"}),
}
MAXSPEED_WAY, ONEWAY_WAY, FRAGMENT_WAY = 109, 104, 111
GEOAPP = [sys.executable, "-m", "geoapp"]


def write_network(path: Path) -> Path:
    writer = osmium.SimpleWriter(str(path))
    try:
        for nid, (lon, lat) in sorted(NODES.items()):
            writer.add_node(osmium.osm.mutable.Node(id=nid, location=(lon, lat), version=1))
        for wid, (nodes, tags) in sorted(WAYS.items()):
            writer.add_way(osmium.osm.mutable.Way(id=wid, nodes=nodes, tags=tags, version=1))
    finally:
        writer.close()
    return path


def run(*args: str, database_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GEOAPP_DATABASE_URL": database_url}
    return subprocess.run([*GEOAPP, *args], capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture
def network(tmp_path) -> Path:
    return write_network(tmp_path / "tongliao-test.osm.pbf")


@pytest.fixture
def roads_db(demo_db, network, database_url):
    """The named demo projects and the synthetic network, imported by the real CLI command."""
    result = run("roads", "import", str(network), database_url=database_url)
    assert result.returncode == 0, result.stderr
    assert "tongliao-test.osm.pbf" not in result.stderr and "imported" in result.stdout
    yield demo_db
    with demo_db.begin() as conn:
        conn.execute(text("TRUNCATE road_edges, road_vertices, road_network"))


def road_seconds(conn, a: tuple[float, float], b: tuple[float, float]) -> float:
    """Driving seconds along the imported graph between the vertices nearest to a and b."""
    vid = "(SELECT id FROM road_vertices ORDER BY geom <-> ST_SetSRID(ST_MakePoint(:x{k}, :y{k}), 4326) LIMIT 1)"
    return conn.execute(text(
        f"SELECT COALESCE((SELECT agg_cost FROM pgr_dijkstraCost('SELECT id, source, target, cost, reverse_cost "
        f"FROM road_edges', {vid.format(k=1)}, {vid.format(k=2)}, directed => true)), 0)"),
        {"x1": a[0], "y1": a[1], "x2": b[0], "y2": b[1]}).scalar_one()


def assert_legs_follow_the_roads(engine, route: dict) -> None:
    """Every leg takes the road time between its two ends (the stops stand on road vertices: no walk-in)."""
    with engine.connect() as conn:
        for prev, stop in zip(route["stops"], route["stops"][1:], strict=False):
            expected = road_seconds(conn, (prev["lon"], prev["lat"]), (stop["lon"], stop["lat"]))
            assert stop["leg"]["minutes"] == pytest.approx(expected / 60, abs=0.1), (prev["name"], stop["name"])
            if stop["kind"] == "visit" or stop["kind"] == "end":
                assert stop["arrival_s"] >= prev["departure_s"] + expected - 1


def test_the_import_keeps_drivable_classes_one_way_streets_and_only_the_connected_graph(roads_db):
    with roads_db.connect() as conn:
        ways = set(conn.execute(text("SELECT DISTINCT osm_id FROM road_edges")).scalars())
        oneway = conn.execute(text("SELECT cost > 0, reverse_cost FROM road_edges WHERE osm_id = :w"),
                              {"w": ONEWAY_WAY}).one()
        network = conn.execute(text("SELECT source, dropped_edges FROM road_network")).one()
    assert ways == set(WAYS) - {FRAGMENT_WAY, 112}          # the fragment is dropped, the footway never loaded
    assert oneway == (True, -1.0)
    assert network.source == "tongliao-test.osm.pbf" and network.dropped_edges == 1


def test_each_road_class_drives_at_its_table_speed_and_a_maxspeed_tag_lowers_it(roads_db):
    with roads_db.connect() as conn:
        rows = conn.execute(text("SELECT osm_id, highway, length_m / greatest(cost, reverse_cost) * 3.6 "
                                 "FROM road_edges ORDER BY osm_id")).all()
    classes = set()
    for osm_id, highway, kmh in rows:
        expected = 40 if osm_id == MAXSPEED_WAY else SPEEDS_KMH[highway]
        assert kmh == pytest.approx(expected, rel=1e-6), (osm_id, highway)
        classes.add(highway)
    assert SPEEDS_KMH["primary"] > 40                        # so the maxspeed tag really lowered it
    assert {"trunk", "primary", "secondary", "tertiary", "residential", "unclassified", "service",
            "living_street"} <= classes


def test_a_plan_on_the_road_network_says_so_follows_the_roads_and_keeps_the_working_day(client, roads_db, accounts):
    answer = client.post("/routes/plan", json={"projects": PROJECTS, "routes": 2, "days": 1},
                         headers=accounts["editor"])
    assert answer.status_code == 201, answer.text
    plan = answer.json()
    model = plan["travel_model"]
    assert model["kind"] == "road", model
    assert "道路网" in model["label"]["zh"] and "估算" not in model["label"]["zh"]
    assert "road travel times" in model["label"]["en"] and "estimated" not in model["label"]["en"]
    assert plan["totals"]["visits"] == len(PROJECTS) and plan["unassigned"] == []

    stop_points = {(round(s["lon"], 6), round(s["lat"], 6)) for r in plan["routes"] for s in r["stops"]}
    for route in plan["routes"]:
        assert_legs_follow_the_roads(roads_db, route)
        for stop in route["stops"]:
            if stop["kind"] == "visit":
                assert stop["arrival_s"] >= 8 * 3600 and stop["departure_s"] <= 18 * 3600
                assert stop["departure_s"] - stop["arrival_s"] == 30 * 60
        assert route["stops"][-1]["arrival_s"] <= 18 * 3600

    # the stored routes layer: every vertex of each line is a stop or lies on an imported road edge
    lines = client.get("/collections/routes/items", params={"plan_id": plan["id"]}).json()["features"]
    assert {f["properties"]["travel_model"] for f in lines} == {"road"}
    on_road = []
    with roads_db.connect() as conn:
        for feature in lines:
            if feature["geometry"] is None:
                continue
            for part in shape(feature["geometry"]).geoms:
                for x, y in part.coords:
                    if (round(x, 6), round(y, 6)) in stop_points:
                        continue
                    near = conn.execute(text(
                        "SELECT min(ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint(:x, :y), 4326)::geography)) "
                        "FROM road_edges"), {"x": x, "y": y}).scalar_one()
                    assert near < 1.0, (x, y, near)
                    on_road.append((round(x, 3), round(y, 3)))
    # the bends of the trunk and the primary are on the lines: not straight legs
    assert {(121.7, 43.66), (121.5, 43.58), (122.25, 43.2)} <= set(on_road)

    # a hand edit: move the 开鲁 project to the other route; the times are recomputed along the roads
    source = next(r for r in plan["routes"] if any(s["project_code"] == "TL2022-001" for s in r["stops"]))
    target = next(r for r in plan["routes"] if r is not source)
    edited = client.put(f"/routes/{plan['id']}", json={"move": {"project": "TL2022-001", "route": target["name"]}},
                        headers=accounts["editor"])
    assert edited.status_code == 200, edited.text
    edited = edited.json()
    assert edited["travel_model"]["kind"] == "road" and edited["edited"]
    moved_to = next(r for r in edited["routes"] if r["name"] == target["name"])
    assert "TL2022-001" in [s["project_code"] for s in moved_to["stops"]]
    for route in edited["routes"]:
        assert_legs_follow_the_roads(roads_db, route)


def test_the_cli_plans_on_the_roads_prints_the_itinerary_and_saves_the_plan(client, roads_db, database_url):
    result = run("routes", "plan", "--projects", "TL2025-005,TL2022-001", "--routes", "1", "--days", "1",
                 "--lang", "zh", database_url=database_url)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1].startswith("行驶时间: 道路网行驶时间") and "估算" not in result.stdout
    plan_id = int(lines[0].split()[1].rstrip(":"))
    for heading in ("天", "编号", "到达", "离开", "车程min"):
        assert heading in result.stdout
    assert "TL2025-005" in result.stdout and "TL2022-001" in result.stdout
    saved = client.get(f"/routes/{plan_id}")
    assert saved.status_code == 200
    plan = saved.json()
    assert plan["travel_model"]["kind"] == "road" and plan["totals"]["visits"] == 2
    assert_legs_follow_the_roads(roads_db, plan["routes"][0])
    arrivals = {s["project_code"]: s["arrival"] for s in plan["routes"][0]["stops"] if s["kind"] == "visit"}
    for code, arrival in arrivals.items():
        assert next(line for line in lines if code in line).count(arrival) == 1


def test_the_cli_gives_each_route_its_own_end_and_hotel(client, roads_db, database_url):
    # project codes are places too: the north route sleeps and ends at the 开鲁 project, the south one at 后旗
    result = run("routes", "plan", "--projects", "TL2025-002,TL2025-005,TL2022-001", "--routes", "2", "--days", "2",
                 "--end", "北线=TL2022-001,南线=TL2025-005", "--overnight", "北线=TL2022-001,南线=TL2025-005",
                 database_url=database_url)
    assert result.returncode == 0, result.stderr
    plan = client.get(f"/routes/{int(result.stdout.splitlines()[0].split()[1].rstrip(':'))}").json()
    assert plan["settings"]["end_by_route"] == {"北线": "TL2022-001", "南线": "TL2025-005"}
    ends = {r["name"]: [(round(s["lon"], 3), round(s["lat"], 3)) for s in r["stops"]
                        if s["kind"] in ("overnight", "end")] for r in plan["routes"]}
    assert ends == {"北线": [KAILU, KAILU], "南线": [HOUQI, HOUQI]}
    assert plan["travel_model"]["kind"] == "road"

    bad = run("routes", "plan", "--projects", "TL2025-005", "--end", "北线", "--overnight", "北线=", "--days", "2",
              database_url=database_url)
    assert bad.returncode == 1 and "route=place" in bad.stderr


def test_clipping_to_a_division_keeps_only_the_roads_inside_it(demo_db, network):
    with demo_db.begin() as conn:
        whole = conn.execute(text("SELECT count(*) FROM divisions WHERE code = '150502' AND ST_Covers(boundary, "
                                  "ST_SetSRID(ST_MakePoint(:x, :y), 4326))"), {"x": KAILU[0], "y": KAILU[1]})
        assert whole.scalar_one() == 0                       # 开鲁 lies outside 科尔沁区: the clip must cut
        summary = import_roads(conn, network, clip_to="科尔沁区")
        outside = conn.execute(text(
            "SELECT count(*) FROM road_edges e, divisions d WHERE d.code = '150502' "
            "AND NOT ST_CoveredBy(e.geom, ST_Buffer(d.boundary::geography, 1)::geometry)")).scalar_one()
        crossing = conn.execute(text(
            "SELECT count(*) FROM road_edges e, divisions d WHERE d.code = '150502' "
            "AND ST_DWithin(ST_Boundary(d.boundary)::geography, ST_EndPoint(e.geom)::geography, 1) "
            "AND e.osm_id = 105")).scalar_one()
        bad_cost = conn.execute(text(
            "SELECT count(*) FROM road_edges WHERE abs(length_m / greatest(cost, reverse_cost) * 3.6 - "
            "CASE highway WHEN 'trunk' THEN 80 WHEN 'primary' THEN 60 ELSE 0 END) > 0.01 "
            "AND highway IN ('trunk', 'primary') AND osm_id <> :m"), {"m": MAXSPEED_WAY}).scalar_one()
        vertices_ok = conn.execute(text(
            "SELECT bool_and(EXISTS (SELECT 1 FROM road_vertices v WHERE v.id = e.source) AND "
            "EXISTS (SELECT 1 FROM road_vertices v WHERE v.id = e.target)) FROM road_edges e")).scalar_one()
        conn.execute(text("TRUNCATE road_edges, road_vertices, road_network"))
    assert summary.edges > 0 and summary.clip_to == "科尔沁区"
    assert outside == 0
    assert crossing == 1                                     # the trunk is cut at the boundary, not dropped whole
    assert bad_cost == 0 and vertices_ok
