"""The route planner on Tongliao's divisions with labelled synthetic projects (estimated travel times)."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import text

from geoapp.demo import load_synthetic
from geoapp.routing import planner, store
from geoapp.routing.estimate import estimate_matrices, great_circle_m
from geoapp.routing.request import PlanError, parse_settings
from geoapp.routing.solver import DAY_S
from tests.conftest import LAYERS

CITY_HALL = (122.243, 43.654)


@pytest.fixture
def synthetic_db(empty_db):
    with empty_db.begin() as conn:
        conn.execute(text("TRUNCATE road_edges, road_vertices, road_network"))
        load_synthetic(conn, 60, LAYERS)
    return empty_db


def codes(engine, n: int, where: str = "TRUE") -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text(f"SELECT code FROM projects WHERE {where} ORDER BY code LIMIT :n"), {"n": n})
                    .scalars())


def make_plan(engine, **settings) -> dict:
    with engine.begin() as conn:
        planned = planner.plan(conn, parse_settings({"travel_model": "estimate", **settings}), LAYERS)
        return store.get_plan(conn, store.save_plan(conn, planned))


def visits(plan: dict) -> list[dict]:
    return [s for r in plan["routes"] for s in r["stops"] if s["kind"] == "visit"]


def test_estimated_times_are_symmetric_zero_on_the_diagonal_and_follow_speed_and_circuity():
    pts = np.array([CITY_HALL, (119.653, 45.533), (121.304, 43.600)])
    seconds, metres = estimate_matrices(pts, speed_kmh=60, circuity=1.25)
    assert (seconds == seconds.T).all() and (np.diag(seconds) == 0).all()
    straight = great_circle_m(pts[:1], pts[1:2])[0, 0]
    assert 280_000 < straight < 310_000                       # city hall → 霍林郭勒 ≈293 km great-circle
    assert metres[0, 1] == pytest.approx(straight * 1.25, rel=1e-6)
    assert seconds[0, 1] == pytest.approx(straight * 1.25 / (60 / 3.6), abs=1)
    slower, _ = estimate_matrices(pts, speed_kmh=30, circuity=1.25)
    assert slower[0, 1] == pytest.approx(2 * seconds[0, 1], abs=1)


def test_every_stop_lies_inside_the_working_day_outside_lunch_and_after_the_drive_there(synthetic_db):
    plan = make_plan(synthetic_db, projects=codes(synthetic_db, 40), routes=2, days=2)
    assert plan["totals"]["visits"] > 10
    for route in plan["routes"]:
        lunches = {d["day"]: (d["lunch_s"], d["lunch_s"] + 60 * d["lunch_minutes"]) for d in route["days"]}
        stops = route["stops"]
        for prev, stop in zip(stops, stops[1:], strict=False):
            day = stop["day"]
            day_start, day_end = (day - 1) * DAY_S + 8 * 3600, (day - 1) * DAY_S + 18 * 3600
            if stop["kind"] == "visit":
                assert day_start <= stop["arrival_s"] and stop["departure_s"] <= day_end
                assert stop["departure_s"] - stop["arrival_s"] == 30 * 60
                lunch_from, lunch_to = lunches[day]
                assert stop["departure_s"] <= lunch_from or stop["arrival_s"] >= lunch_to, stop
                assert 11.5 * 3600 <= lunch_from % DAY_S <= 12.5 * 3600
            assert stop["arrival_s"] >= prev["departure_s"] + stop["leg"]["minutes"] * 60 - 60
        assert stops[0]["kind"] == "start" and stops[-1]["kind"] == "end"
        assert [s["number"] for s in stops if s["kind"] == "visit"] == list(range(1, route["totals"]["visits"] + 1))


def test_the_same_settings_give_the_same_plan(synthetic_db):
    chosen = codes(synthetic_db, 30)
    first = make_plan(synthetic_db, projects=chosen, routes=2, days=1)
    second = make_plan(synthetic_db, projects=chosen, routes=2, days=1)

    def itinerary(plan):
        return [[(s["project_code"], s["arrival_s"]) for s in r["stops"]] for r in plan["routes"]]

    assert first["id"] != second["id"]
    assert itinerary(first) == itinerary(second)
    assert first["unassigned"] == second["unassigned"]


def test_left_out_projects_are_reported_with_reasons_lowest_priority_first(synthetic_db):
    with synthetic_db.begin() as conn:
        load_synthetic(conn, 300, LAYERS, seed=7)
    chosen = codes(synthetic_db, 40, "division_code IN ('150502', '150571', '150523')")
    assert len(chosen) >= 30
    high, low = chosen[:6], chosen[6:16]
    plan = make_plan(synthetic_db, projects=chosen, routes=1, days=1, service_minutes=45,
                     priorities={c: 5 for c in high} | {c: 1 for c in low})
    left = plan["unassigned"]
    assert left, "this many projects cannot fit one day"
    assert plan["totals"]["visits"] + len(left) == len(chosen)
    assert [u["priority"] for u in left] == sorted(u["priority"] for u in left)
    assert all(u["reason"]["code"] == "time" and "时间不足" in u["reason"]["zh"] and u["reason"]["en"] for u in left)
    planned = {s["project_code"] for s in visits(plan)}
    assert set(high) <= planned
    # a 10-hour day minus lunch holds at most 12 stops of 45 minutes: of the 6 high and the 24 or more default
    # (3) projects, some default ones are always left out, so no low (1) project may be planned
    assert len(planned) <= 12 and len(chosen) - len(high) - len(low) >= 14
    assert any(u["priority"] == 3 for u in left)
    assert not planned & set(low)
    assert {u["project_code"] for u in left} >= set(low)


def test_must_visit_projects_are_always_planned_and_banners_stay_on_their_route(synthetic_db):
    with synthetic_db.connect() as conn:
        far = conn.execute(text("SELECT code FROM projects WHERE division_code = '150526' ORDER BY code")).scalars()
        far = list(far)
    assert far
    chosen = codes(synthetic_db, 30, "division_code <> '150526'") + far[:1]
    with pytest.raises(PlanError, match="必到项目无法全部安排.*超过一个工作日"):
        make_plan(synthetic_db, projects=chosen, routes=2, days=2, must_visit=far[:1])
    # with a night in 扎鲁特旗 (鲁北镇) the far project fits
    plan = make_plan(synthetic_db, projects=chosen, routes=2, days=2, must_visit=far[:1], overnight=["扎鲁特旗"],
                     fixed_routes={"科左中旗": "南线"})
    assert far[0] in {s["project_code"] for s in visits(plan)}
    south = next(r for r in plan["routes"] if r["name"] == "南线")
    for route in plan["routes"]:
        for stop in route["stops"]:
            if stop["kind"] == "visit" and stop["division_code"] == "150521":
                assert route is south


def test_routes_are_named_north_and_south_by_geography(synthetic_db):
    plan = make_plan(synthetic_db, projects=codes(synthetic_db, 30), routes=2, days=1)
    north, south = plan["routes"]
    assert (north["name"], south["name"]) == ("北线", "南线")
    assert (north["name_en"], south["name_en"]) == ("North route", "South route")
    lat = [np.mean([s["lat"] for s in r["stops"] if s["kind"] == "visit"]) for r in plan["routes"]]
    assert lat[0] > lat[1]
    assert north["color"] != south["color"]


def test_routes_are_balanced_when_everything_fits(synthetic_db):
    chosen = codes(synthetic_db, 12, "division_code IN ('150502', '150571', '150523', '150522')")
    plan = make_plan(synthetic_db, projects=chosen, routes=2, days=1, service_minutes=20)
    assert plan["totals"]["unassigned"] == 0
    work = [r["totals"]["driving_min"] + r["totals"]["service_min"] for r in plan["routes"]]
    assert min(work) > 0 and max(work) <= 2 * min(work)


def test_routes_stay_balanced_when_not_everything_fits(synthetic_db):
    with synthetic_db.begin() as conn:
        load_synthetic(conn, 300, LAYERS, seed=7)
    chosen = codes(synthetic_db, 80, "division_code IN ('150502', '150571', '150523', '150522', '150521')")
    plan = make_plan(synthetic_db, projects=chosen, routes=2, days=2)
    assert plan["totals"]["unassigned"] > 0, "80 projects cannot fit 2 routes × 2 days"
    work = [r["totals"]["driving_min"] + r["totals"]["service_min"] for r in plan["routes"]]
    assert min(work) > 0 and max(work) <= 2 * min(work), work


def test_a_project_can_have_its_own_service_minutes(synthetic_db):
    chosen = codes(synthetic_db, 5, "division_code IN ('150502', '150571')")
    long_stop = chosen[2]
    plan = make_plan(synthetic_db, projects=chosen, routes=1, days=1, service_minutes=30,
                     service_minutes_by_project={long_stop: 75})
    assert plan["totals"]["unassigned"] == 0
    on_site = {s["project_code"]: s["departure_s"] - s["arrival_s"] for s in visits(plan)}
    assert on_site[long_stop] == 75 * 60
    assert all(seconds == 30 * 60 for code, seconds in on_site.items() if code != long_stop)
    assert plan["routes"][0]["totals"]["service_min"] == 75 + 4 * 30


def test_estimated_plans_say_so_everywhere(synthetic_db):
    plan = make_plan(synthetic_db, projects=codes(synthetic_db, 5), routes=1)
    assert plan["travel_model"]["kind"] == "estimate"
    assert "估算行驶时间" in plan["travel_model"]["label"]["zh"]
    assert "estimated travel times" in plan["travel_model"]["label"]["en"]
    assert plan["travel_model"]["speed_kmh"] == 60 and plan["travel_model"]["circuity"] == 1.25
    with synthetic_db.connect() as conn:
        kinds = conn.execute(text("SELECT DISTINCT travel_model FROM routes WHERE plan_id = :id"),
                             {"id": plan["id"]}).scalars().all()
    assert kinds == ["estimate"]


def test_a_multi_day_route_sleeps_where_told_and_may_end_elsewhere(synthetic_db):
    plan = make_plan(synthetic_db, projects=codes(synthetic_db, 20), routes=1, days=2, overnight=["开鲁"],
                     end="奈曼旗", start_date="2025-05-20")
    stops = plan["routes"][0]["stops"]
    kinds = [s["kind"] for s in stops]
    assert kinds[0] == "start" and kinds[-1] == "end" and kinds.count("overnight") == 1
    night = stops[kinds.index("overnight")]
    assert night["name"].startswith("开鲁县") and night["arrival_day"] == 1 and night["departure_day"] == 2
    assert (round(stops[-1]["lon"], 3), round(stops[-1]["lat"], 3)) == (120.667, 42.85)
    assert stops[0]["name"] == "通辽市人民政府"
    assert plan["settings"]["start_date"] == "2025-05-20"


def test_each_route_may_have_its_own_hotels_and_end(synthetic_db):
    plan = make_plan(synthetic_db, projects=codes(synthetic_db, 10), routes=2, days=2,
                     end_by_route={"北线": "扎鲁特旗"},
                     overnight_by_route={"北线": ["扎鲁特旗"], "South route": ["奈曼旗"]})
    assert plan["totals"]["unassigned"] == 0
    north, south = plan["routes"]
    assert (north["name"], south["name"]) == ("北线", "南线")

    def places(route, kind):
        return [(s["name"], round(s["lon"], 3), round(s["lat"], 3)) for s in route["stops"] if s["kind"] == kind]

    assert places(north, "overnight")[0][0].startswith("扎鲁特旗")
    assert places(south, "overnight")[0][0].startswith("奈曼旗")
    assert places(north, "end") == places(north, "overnight")            # the north route ends at its hotel
    assert places(south, "end")[0][0] == "通辽市人民政府"                  # the south one comes home
    for route in plan["routes"]:
        night = next(i for i, s in enumerate(route["stops"]) if s["kind"] == "overnight")
        nxt = route["stops"][night + 1]
        if nxt["kind"] == "visit":       # day 2 starts from the hotel: the first leg leaves from there
            assert nxt["leg"]["distance_km"] > 0 and nxt["arrival_s"] >= DAY_S + 8 * 3600

    # re-timing the same orders by hand keeps each route's own hotels and end, and so every time
    orders = [{"name": r["name"], "days": [[s["project_code"] for s in r["stops"] if s["kind"] == "visit"
                                            and s["day"] == d] for d in (1, 2)]} for r in plan["routes"]]
    with synthetic_db.begin() as conn:
        edited = store.edit_plan(conn, plan["id"], {"routes": orders})
    for before, after in zip(plan["routes"], edited["routes"], strict=True):
        assert [(s["name"], s["arrival_s"], s["departure_s"]) for s in after["stops"]] == [
            (s["name"], s["arrival_s"], s["departure_s"]) for s in before["stops"]]

    for bad, message in (({"overnight_by_route": {"东线": ["开鲁"]}}, "未知路线 '东线'"),
                         ({"overnight_by_route": {"北线": ["开鲁", "奈曼"]}}, "needs one place per night"),
                         ({"end_by_route": {"南线": "不存在的地方"}}, "end_by_route")):
        with synthetic_db.begin() as conn, pytest.raises(PlanError, match=message):
            planner.plan(conn, parse_settings({"projects": codes(synthetic_db, 3), "routes": 2, "days": 2,
                                               "travel_model": "estimate", **bad}), LAYERS)


def test_moving_a_stop_by_hand_recomputes_the_times(synthetic_db):
    plan = make_plan(synthetic_db, projects=codes(synthetic_db, 6, "division_code IN ('150502', '150571')"),
                     routes=2, days=1)
    north, south = plan["routes"]
    moved = next(s for s in north["stops"] + south["stops"] if s["kind"] == "visit")
    target = "南线" if moved in north["stops"] else "北线"
    with synthetic_db.begin() as conn:
        edited = store.edit_plan(conn, plan["id"], {"move": {"project": moved["project_code"], "route": target,
                                                             "position": 1}})
    route = next(r for r in edited["routes"] if r["name"] == target)
    first = next(s for s in route["stops"] if s["kind"] == "visit")
    assert first["project_code"] == moved["project_code"] and first["number"] == 1
    assert edited["edited"] is True
    start = route["stops"][0]
    assert first["arrival_s"] >= start["departure_s"] + first["leg"]["minutes"] * 60 - 60
    assert sum(r["totals"]["visits"] for r in edited["routes"]) == plan["totals"]["visits"]

    # reorder: the reverse order of one route, times follow
    visits_north = [s["project_code"] for s in edited["routes"][0]["stops"] if s["kind"] == "visit"]
    visits_south = [s["project_code"] for s in edited["routes"][1]["stops"] if s["kind"] == "visit"]
    with synthetic_db.begin() as conn:
        again = store.edit_plan(conn, plan["id"], {"routes": [
            {"name": "北线", "days": [visits_north[::-1]]}, {"name": "南线", "days": [visits_south]}]})
    assert [s["project_code"] for s in again["routes"][0]["stops"] if s["kind"] == "visit"] == visits_north[::-1]
    arrivals = [s["arrival_s"] for s in again["routes"][0]["stops"] if s["kind"] == "visit"]
    assert arrivals == sorted(arrivals)


def test_a_hand_edit_that_overfills_a_day_is_refused_and_changes_nothing(synthetic_db):
    plan = make_plan(synthetic_db, projects=codes(synthetic_db, 40), routes=2, days=1)
    everything = [s["project_code"] for s in visits(plan)] + [u["project_code"] for u in plan["unassigned"]]
    with synthetic_db.begin() as conn, pytest.raises(PlanError, match="走不完"):
        store.edit_plan(conn, plan["id"], {"routes": [{"name": "北线", "days": [everything]}]})
    with synthetic_db.connect() as conn:
        assert store.get_plan(conn, plan["id"])["routes"] == plan["routes"]


@pytest.mark.parametrize(("settings", "message"), [
    ({}, "请选择项目"),
    ({"projects": ["NO-SUCH-CODE"]}, "未知项目编号"),
    ({"projects": ["X"], "day_start": "18:00", "day_end": "08:00"}, "早于或等于开始时间"),
    ({"projects": ["X"], "start": {"lon": 2.35, "lat": 48.85}}, "不在中国境内"),
    ({"projects": ["X"], "start": "不存在的地方"}, "未知地点"),
    ({"projects": ["X"], "routes": 0}, "routes"),
    ({"projects": ["X"], "day_end": "25:00"}, "HH:MM"),
    ({"projects": ["X"], "lunch_start": "12:00", "lunch_end": "12:30"}, "短于午餐时长"),
    ({"projects": ["X"], "days": 2, "overnight": ["开鲁", "奈曼"]}, "每晚一个"),
    ({"projects": ["X"], "fixed_routes": {"不存在旗": "北线"}}, "未知旗县市区"),
    ({"projects": ["X"], "colour": "red"}, "未知参数"),
    ({"projects": ["X"], "priorities": {"X": 9}}, "优先级"),
])
def test_bad_settings_are_refused_with_a_chinese_and_english_message(synthetic_db, settings, message):
    if settings.get("projects") == ["X"]:
        settings = {**settings, "projects": codes(synthetic_db, 1)}
        settings.get("priorities") and settings.update(priorities={settings["projects"][0]: 9})
    with synthetic_db.begin() as conn, pytest.raises(PlanError) as err:
        planner.plan(conn, parse_settings(settings), LAYERS)
    assert message in str(err.value) and " / " in str(err.value)
