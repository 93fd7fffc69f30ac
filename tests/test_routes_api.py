"""POST /routes/plan, GET / PUT / DELETE /routes/{id} through the real app and database."""

from __future__ import annotations

import pytest
from shapely.geometry import shape
from sqlalchemy import text

from geoapp.demo import load_synthetic
from tests.conftest import LAYERS


@pytest.fixture
def projects(empty_db) -> list[str]:
    with empty_db.begin() as conn:
        conn.execute(text("TRUNCATE road_edges, road_vertices, road_network"))
        load_synthetic(conn, 40, LAYERS)
        return list(conn.execute(text("SELECT code FROM projects WHERE division_code IN ('150502', '150571', "
                                      "'150523', '150522') ORDER BY code LIMIT 10")).scalars())


@pytest.fixture
def editor(accounts) -> dict[str, str]:
    """Bearer headers of an editor: writing plans needs one (tests/security/test_route_plans.py)."""
    return accounts["editor"]


def test_a_plan_is_stored_served_and_deleted(client, projects, editor):
    answer = client.post("/routes/plan", json={"projects": projects, "routes": 2, "days": 1}, headers=editor)
    assert answer.status_code == 201, answer.text
    plan = answer.json()
    assert answer.headers["location"] == f"/routes/{plan['id']}"
    assert [r["name"] for r in plan["routes"]] == ["北线", "南线"]
    assert plan["travel_model"]["kind"] == "estimate" and "估算行驶时间" in plan["travel_model"]["label"]["zh"]
    assert plan["totals"]["visits"] + plan["totals"]["unassigned"] == len(projects)
    for route in plan["routes"]:
        visits = [s for s in route["stops"] if s["kind"] == "visit"]
        assert route["totals"]["visits"] == len(visits)
        for stop in visits:
            assert stop["project_code"] in projects and stop["division"] and stop["arrival"] < stop["departure"]
            assert stop["leg"]["distance_km"] >= 0 and stop["leg"]["minutes"] >= 0
        if visits:
            line = shape(route["line"])
            assert line.geom_type == "MultiLineString" and line.length > 0
            assert route["totals"]["distance_km"] == pytest.approx(
                sum(s["leg"]["distance_km"] for s in route["stops"] if s["leg"]), abs=0.1)

    got = client.get(f"/routes/{plan['id']}")
    assert got.status_code == 200 and got.json() == plan
    assert client.delete(f"/routes/{plan['id']}", headers=editor).status_code == 204
    assert client.get(f"/routes/{plan['id']}").status_code == 404
    assert client.delete(f"/routes/{plan['id']}", headers=editor).status_code == 404


@pytest.mark.parametrize(("body", "parameter", "message"), [
    ({}, "projects", "请选择项目"),
    ({"projects": ["NO-SUCH"]}, "projects", "unknown project codes: NO-SUCH"),
    ({"projects": "@", "start": "2.35,48.85"}, "start", "outside China"),
    ({"projects": "@", "day_start": "17:00", "day_end": "09:00"}, "day_end", "ends (09:00) before it starts"),
    ({"projects": "@", "routes": "many"}, "routes", "路线数"),
    ({"projects": "@", "travel_model": "teleport"}, "travel_model", "行驶时间模型"),
    ({"projects": "@", "filter": {"sector": "no-such-sector"}}, "sector", "sector"),
    ([1, 2, 3], None, "JSON"),
    ({"projects": "@", "nonsense": 1}, "nonsense", "未知参数"),
])
def test_bad_settings_get_a_400_naming_the_setting(client, projects, body, parameter, message, editor):
    if isinstance(body, dict) and body.get("projects") == "@":
        body = {**body, "projects": projects[:2]}
    answer = client.post("/routes/plan", json=body, headers=editor)
    assert answer.status_code == 400, answer.text
    error = answer.json()
    assert message in error["description"] and " / " in error["description"]
    if parameter:
        assert error["parameter"] == parameter


def test_plans_can_be_selected_by_a_filter_as_well_as_by_codes(client, projects, editor):
    answer = client.post("/routes/plan", json={"filter": {"division": "开鲁"}, "projects": projects[:1],
                                               "routes": 1, "days": 1}, headers=editor)
    assert answer.status_code == 201, answer.text
    plan = answer.json()
    chosen = {s["project_code"] for r in plan["routes"] for s in r["stops"] if s["kind"] == "visit"}
    chosen |= {u["project_code"] for u in plan["unassigned"]}
    with client.app.state.engine.connect() as conn:
        kailu = set(conn.execute(text("SELECT code FROM projects WHERE division_code = '150523'")).scalars())
    assert chosen == kailu | {projects[0]}


def test_a_hand_edit_moves_a_stop_and_recomputes_the_times(client, projects, editor):
    plan = client.post("/routes/plan", json={"projects": projects[:6], "routes": 2, "days": 1},
                       headers=editor).json()
    source = next(r for r in plan["routes"] if r["totals"]["visits"] > 0)
    target = next(r for r in plan["routes"] if r is not source)
    code = next(s["project_code"] for s in source["stops"] if s["kind"] == "visit")
    answer = client.put(f"/routes/{plan['id']}", json={"move": {"project": code, "route": target["name"]}},
                        headers=editor)
    assert answer.status_code == 200, answer.text
    edited = answer.json()
    moved_to = next(r for r in edited["routes"] if r["name"] == target["name"])
    last_visit = [s for s in moved_to["stops"] if s["kind"] == "visit"][-1]
    assert last_visit["project_code"] == code and edited["edited"]
    assert moved_to["stops"][-1]["arrival_s"] >= last_visit["departure_s"]
    assert client.get(f"/routes/{plan['id']}").json() == edited

    for body, message in (({"move": {"project": "NOPE", "route": "北线"}}, "不在本方案中"),
                          ({"move": {"project": code, "route": "东线"}}, "未知路线"),
                          ({"shuffle": True}, "routes")):
        bad = client.put(f"/routes/{plan['id']}", json=body, headers=editor)
        assert bad.status_code == 400 and message in bad.json()["description"]
    missing = client.put("/routes/999999", json={"move": {"project": code, "route": "北线"}}, headers=editor)
    assert missing.status_code == 404


def test_unknown_plans_are_404_not_500(client):
    for path in ("/routes/123456789", "/routes/abc", "/routes/-1"):
        assert client.get(path).status_code == 404


def test_routes_and_numbered_stops_are_served_as_layers_with_the_route_colour(client, projects, editor):
    plan = client.post("/routes/plan", json={"projects": projects[:6], "routes": 2, "days": 1},
                       headers=editor).json()
    lines = client.get("/collections/routes/items", params={"plan_id": plan["id"]})
    assert lines.status_code == 200, lines.text
    features = lines.json()["features"]
    assert [f["properties"]["name"] for f in features] == ["北线", "南线"]
    for feature, route in zip(features, plan["routes"], strict=True):
        assert feature["properties"]["color"] == route["color"]
        assert feature["properties"]["travel_model"] == "estimate"
        if route["totals"]["visits"]:
            assert feature["geometry"]["type"] == "MultiLineString"
    stops = client.get("/collections/route_stops/items",
                       params={"plan_id": plan["id"], "kind": "visit", "limit": 100}).json()["features"]
    assert len(stops) == plan["totals"]["visits"]
    for route in plan["routes"]:
        numbers = sorted(f["properties"]["number"] for f in stops if f["properties"]["route_name"] == route["name"])
        assert numbers == list(range(1, route["totals"]["visits"] + 1))
    colours = {f["properties"]["route_name"]: f["properties"]["color"] for f in stops}
    assert all(colours[r["name"]] == r["color"] for r in plan["routes"] if r["totals"]["visits"])


def test_a_plan_may_give_each_route_its_own_hotel_and_end(client, projects, editor):
    body = {"projects": projects[:6], "routes": 2, "days": 2, "travel_model": "estimate",
            "overnight_by_route": {"北线": ["扎鲁特旗"], "南线": ["奈曼旗"]}, "end_by_route": {"南线": "奈曼旗"}}
    answer = client.post("/routes/plan", json=body, headers=editor)
    assert answer.status_code == 201, answer.text
    north, south = answer.json()["routes"]
    nights = {r["name"]: [s["name"] for s in r["stops"] if s["kind"] == "overnight"] for r in (north, south)}
    assert nights["北线"][0].startswith("扎鲁特旗") and nights["南线"][0].startswith("奈曼旗")
    assert south["stops"][-1]["name"].startswith("奈曼旗") and north["stops"][-1]["name"] == "通辽市人民政府"

    bad = client.post("/routes/plan", json={**body, "end_by_route": {"西线": "开鲁"}}, headers=editor)
    assert bad.status_code == 400 and bad.json()["parameter"] == "end_by_route"
    assert "未知路线 '西线'" in bad.json()["description"]
