"""Stored plans: route_plans → routes → route_stops, written in one transaction, read back as one dict.

:func:`get_plan` is the one reader: the API, the CLI and the printed route maps all use its dict.
:func:`plan_and_save` is the one writer of new plans (the API's worker process and the CLI).

The solver's report (time limit, time taken, whether the limit cut the search short) is kept with the travel
model's parameters in ``route_plans.travel_info`` under ``solver`` (no column of its own, so no migration) and read
back as the plan's own ``solver`` member.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np
from shapely.geometry import LineString, MultiLineString, mapping
from sqlalchemy import Connection, text

from geoapp.routing import estimate
from geoapp.routing.matrix import TravelModel
from geoapp.routing.planner import Prepared, plan, retime
from geoapp.routing.request import PlanError, PlanSettings
from geoapp.routing.solver import DAY_S, TimeRule

if TYPE_CHECKING:
    from geoapp.settings import Settings


def clock(seconds: int | None) -> str | None:
    """HH:MM of an absolute time (seconds since 00:00 of day 1)."""
    if seconds is None:
        return None
    s = int(seconds) % DAY_S
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}"


def day_of(seconds: int | None) -> int | None:
    return None if seconds is None else int(seconds) // DAY_S + 1


def _line_wkt(coords) -> str | None:
    pts = [tuple(c) for c in coords or []]
    dedup = [p for i, p in enumerate(pts) if i == 0 or p != pts[i - 1]]
    return LineString(dedup).wkt if len(dedup) >= 2 else None


def _title(prepared: Prepared, routes: list[dict]) -> str:
    s = prepared.settings
    if s.title:
        return s.title
    visits = sum(1 for r in routes for st in r["stops"] if st["kind"] == "visit")
    return f"考察路线：{s.routes}条线路·{s.days}天·{visits}个项目"


def _write_routes(conn: Connection, plan_id: int, model_kind: str, routes: list[dict]) -> None:
    for route in routes:
        legs = [_line_wkt(st["leg_line"]) for st in route["stops"]]
        lines = [w for w in legs if w is not None]
        geom = "MULTILINESTRING(" + ",".join(w.removeprefix("LINESTRING ") for w in lines) + ")" if lines else None
        visits = [st for st in route["stops"] if st["kind"] == "visit"]
        route_id = conn.execute(text("""
            INSERT INTO routes (plan_id, seq, name, name_en, color, days, stops, distance_km, driving_min,
                                service_min, travel_model, day_summaries, geom)
            VALUES (:plan, :seq, :name, :name_en, :color, :days, :stops, :km, :drive, :service, :model,
                    CAST(:summaries AS jsonb), ST_GeomFromText(CAST(:geom AS text), 4326))
            RETURNING id
        """), {
            "plan": plan_id, "seq": route["seq"], "name": route["name"], "name_en": route["name_en"],
            "color": route["color"], "days": len(route["days"]), "stops": len(visits),
            "km": round(sum(st["leg_m"] or 0 for st in route["stops"]) / 1000, 2),
            "drive": round(sum(st["leg_s"] or 0 for st in route["stops"]) / 60, 1),
            "service": round(sum(st["service_s"] for st in visits) / 60, 1), "model": model_kind,
            "summaries": json.dumps(route["days"]), "geom": geom,
        }).scalar_one()
        conn.execute(text("""
            INSERT INTO route_stops (route_id, plan_id, seq, number, kind, day, project_id, project_code, name,
                                     division_code, arrival_s, departure_s, service_min, leg_m, leg_s, route_name,
                                     color, geom, leg_geom)
            VALUES (:route, :plan, :seq, :number, :kind, :day, :project_id, :project_code, :name, :division_code,
                    :arrival_s, :departure_s, :service_min, :leg_m, :leg_s, :route_name, :color,
                    ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), ST_GeomFromText(CAST(:leg AS text), 4326))
        """), [{
            "route": route_id, "plan": plan_id, "seq": st["seq"], "number": st["number"], "kind": st["kind"],
            "day": st["day"], "project_id": st["project_id"], "project_code": st["project_code"], "name": st["name"],
            "division_code": st["division_code"], "arrival_s": st["arrival_s"], "departure_s": st["departure_s"],
            "service_min": st["service_s"] / 60, "leg_m": st["leg_m"], "leg_s": st["leg_s"],
            "route_name": route["name"], "color": route["color"], "lon": st["lon"], "lat": st["lat"], "leg": leg,
        } for st, leg in zip(route["stops"], legs, strict=True)])


def save_plan(conn: Connection, planned: dict) -> int:
    """Store a plan from :func:`geoapp.routing.planner.plan`; returns its id."""
    prepared: Prepared = planned["prepared"]
    model = prepared.model
    locations = [dict(loc) for loc in prepared.locations]
    for loc, snap in zip(locations, model.snaps or [None] * len(locations), strict=True):
        if snap is not None:
            loc["snap"] = list(snap)
    plan_id = conn.execute(text("""
        INSERT INTO route_plans (title, settings, travel_model, travel_info, locations, matrix, unassigned)
        VALUES (:title, CAST(:settings AS jsonb), :kind, CAST(:info AS jsonb), CAST(:locations AS jsonb), :matrix,
                CAST(:unassigned AS jsonb))
        RETURNING id
    """), {
        "title": _title(prepared, planned["routes"]), "settings": prepared.settings.model_dump_json(),
        "kind": model.kind, "info": json.dumps({**model.info, "solver": planned.get("solver")}, default=str),
        "locations": json.dumps(locations),
        "matrix": np.ascontiguousarray(model.seconds, dtype="<i4").tobytes(),
        "unassigned": json.dumps(planned["unassigned"]),
    }).scalar_one()
    _write_routes(conn, plan_id, model.kind, planned["routes"])
    return plan_id


def time_rule(settings: Settings) -> TimeRule:
    """The solver's time limit rule from the ``plan_time_*`` settings."""
    return TimeRule(settings.plan_time_base_s, settings.plan_time_per_project_s, settings.plan_time_max_s)


def plan_and_save(conn: Connection, plan_settings: PlanSettings, settings: Settings) -> dict:
    """Plan (capped at ``plan_max_projects``, timed by the ``plan_time_*`` rule), store, and read back the plan."""
    planned = plan(conn, plan_settings, settings.layers_dir, max_projects=settings.plan_max_projects,
                   time_rule=time_rule(settings))
    return get_plan(conn, save_plan(conn, planned))


def delete_plan(conn: Connection, plan_id: int) -> bool:
    return conn.execute(text("DELETE FROM route_plans WHERE id = :id"), {"id": plan_id}).rowcount > 0


def list_plans(conn: Connection, limit: int = 100) -> list[dict]:
    """The stored plans, newest first, each with its routes in brief (for choosing one; details: get_plan)."""
    rows = conn.execute(text("""
        SELECT p.id, p.title, p.created_at, p.updated_at, p.edited, p.travel_model, p.travel_info,
               COALESCE(json_agg(json_build_object(
                   'id', r.id, 'seq', r.seq, 'name', r.name, 'name_en', r.name_en, 'color', r.color,
                   'days', r.days, 'visits', r.stops, 'distance_km', r.distance_km, 'driving_min', r.driving_min)
                   ORDER BY r.seq) FILTER (WHERE r.id IS NOT NULL), '[]'::json) AS routes
        FROM route_plans p LEFT JOIN routes r ON r.plan_id = p.id
        GROUP BY p.id ORDER BY p.created_at DESC, p.id DESC LIMIT :limit
    """), {"limit": limit}).mappings().all()
    return [{
        "id": r["id"], "title": r["title"], "created_at": r["created_at"].isoformat(),
        "updated_at": r["updated_at"].isoformat(), "edited": r["edited"],
        "travel_model": {"kind": r["travel_model"], "label": (r["travel_info"] or {}).get("label")},
        "routes": r["routes"], "visits": sum(x["visits"] or 0 for x in r["routes"]),
    } for r in rows]


def get_plan(conn: Connection, plan_id: int, legs: bool = False) -> dict | None:
    """A stored plan: routes with ordered stops, times, legs, totals, the route lines, the travel model.

    With ``legs`` every stop also carries ``leg_line`` (GeoJSON LineString of the way there) for printing.
    """
    plan = conn.execute(text("SELECT id, title, created_at, updated_at, settings, travel_model, travel_info, "
                             "unassigned, edited FROM route_plans WHERE id = :id"), {"id": plan_id}).mappings().first()
    if plan is None:
        return None
    routes = conn.execute(text("""
        SELECT id, seq, name, name_en, color, days, stops, distance_km, driving_min, service_min, day_summaries,
               ST_AsGeoJSON(geom, 6) AS line
        FROM routes WHERE plan_id = :id ORDER BY seq
    """), {"id": plan_id}).mappings().all()
    stops = conn.execute(text(f"""
        SELECT s.route_id, s.seq, s.number, s.kind, s.day, s.project_code, s.name, s.division_code,
               d.name AS division, ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat, s.arrival_s, s.departure_s,
               s.service_min, s.leg_m, s.leg_s{", ST_AsGeoJSON(s.leg_geom, 6) AS leg_line" if legs else ""}
        FROM route_stops s LEFT JOIN divisions d ON d.code = s.division_code
        WHERE s.plan_id = :id ORDER BY s.route_id, s.seq
    """), {"id": plan_id}).mappings().all()
    by_route: dict[int, list[dict]] = {}
    for st in stops:
        item = {
            "seq": st["seq"], "number": st["number"], "kind": st["kind"], "day": st["day"],
            "project_code": st["project_code"], "name": st["name"], "division_code": st["division_code"],
            "division": st["division"], "lon": st["lon"], "lat": st["lat"],
            "arrival": clock(st["arrival_s"]), "arrival_day": day_of(st["arrival_s"]),
            "departure": clock(st["departure_s"]), "departure_day": day_of(st["departure_s"]),
            "arrival_s": st["arrival_s"], "departure_s": st["departure_s"], "service_min": st["service_min"],
            "leg": None if st["leg_s"] is None else {"distance_km": round(st["leg_m"] / 1000, 2),
                                                     "minutes": round(st["leg_s"] / 60, 1)},
        }
        if legs:
            item["leg_line"] = json.loads(st["leg_line"]) if st["leg_line"] else None
        by_route.setdefault(st["route_id"], []).append(item)
    info = dict(plan["travel_info"] or {})
    solver = info.pop("solver", None)
    out_routes = []
    for r in routes:
        summaries = [{**d, "start": clock(d["start_s"]), "end": clock(d["end_s"]), "lunch": clock(d["lunch_s"])}
                     for d in r["day_summaries"]]
        out_routes.append({
            "id": r["id"], "seq": r["seq"], "name": r["name"], "name_en": r["name_en"], "color": r["color"],
            "days": summaries, "stops": by_route.get(r["id"], []),
            "totals": {"visits": r["stops"], "distance_km": r["distance_km"], "driving_min": r["driving_min"],
                       "service_min": r["service_min"]},
            "line": json.loads(r["line"]) if r["line"] else None,
        })
    return {
        "id": plan["id"], "title": plan["title"], "created_at": plan["created_at"].isoformat(),
        "updated_at": plan["updated_at"].isoformat(), "edited": plan["edited"],
        "travel_model": {"kind": plan["travel_model"], **info}, "solver": solver,
        "settings": plan["settings"], "routes": out_routes, "unassigned": plan["unassigned"],
        "totals": {
            "visits": sum(r["totals"]["visits"] for r in out_routes),
            "unassigned": len(plan["unassigned"]),
            "distance_km": round(sum(r["totals"]["distance_km"] for r in out_routes), 2),
            "driving_min": round(sum(r["totals"]["driving_min"] for r in out_routes), 1),
            "service_min": round(sum(r["totals"]["service_min"] for r in out_routes), 1),
        },
    }


def load_prepared(conn: Connection, plan_id: int) -> Prepared | None:
    """Rebuild what planning used (settings, places, the same matrix) so hand edits are timed alike."""
    row = conn.execute(text("SELECT settings, travel_model, travel_info, locations, matrix FROM route_plans "
                            "WHERE id = :id"), {"id": plan_id}).mappings().first()
    if row is None:
        return None
    settings = PlanSettings.model_validate(row["settings"])
    locations = row["locations"]
    n = len(locations)
    seconds = np.frombuffer(bytes(row["matrix"]), dtype="<i4").astype(np.int64).reshape(n, n)
    info = {k: v for k, v in (row["travel_info"] or {}).items() if k != "solver"}
    lonlat = np.array([[loc["lon"], loc["lat"]] for loc in locations])
    metres = None
    snaps = []
    if row["travel_model"] == "estimate":
        _, metres = estimate.estimate_matrices(lonlat, info["speed_kmh"], info["circuity"])
    else:
        snaps = [tuple(loc["snap"]) for loc in locations]
    names = [tuple(r) for r in conn.execute(text("SELECT name, name_en FROM routes WHERE plan_id = :id ORDER BY seq"),
                                            {"id": plan_id}).all()]
    model = TravelModel(row["travel_model"], seconds, info, metres, snaps)
    return Prepared(settings, locations, model, names)


def _orders_of(plan: dict) -> dict[tuple[int, int], list[str]]:
    orders: dict[tuple[int, int], list[str]] = {}
    for route in plan["routes"]:
        for day in route["days"]:
            orders[(route["seq"], day["day"] - 1)] = []
        for st in route["stops"]:
            if st["kind"] == "visit":
                orders[(route["seq"], st["day"] - 1)].append(st["project_code"])
    return orders


def edit_plan(conn: Connection, plan_id: int, body: dict) -> dict | None:
    """Apply a hand edit and recompute the times: a full order ``{"routes": [{"name", "days": [[codes]]}]}`` or
    one move ``{"move": {"project": code, "route": name, "day": 1, "position": 1}}`` (position 1-based, default
    last; a left-out project may be moved in; ``"route": null`` leaves a project out)."""
    plan = get_plan(conn, plan_id)
    if plan is None:
        return None
    prepared = load_prepared(conn, plan_id)
    names = {r["name"]: r["seq"] for r in plan["routes"]} | {r["name_en"]: r["seq"] for r in plan["routes"]}
    days = prepared.settings.days
    known = {loc["project_code"] for loc in prepared.locations if loc["kind"] == "visit"}
    if not isinstance(body, dict) or not ({"routes", "move"} & set(body)):
        raise PlanError("请求体需要 routes 或 move / the body needs 'routes' or 'move'", "routes")
    orders = _orders_of(plan)
    if "move" in body:
        move = body["move"] or {}
        code = move.get("project")
        if code not in known:
            raise PlanError(f"move.project：项目 '{code}' 不在本方案中 / move.project: '{code}' is not part of this "
                            "plan", "move.project")
        for order in orders.values():
            if code in order:
                order.remove(code)
        if move.get("route") is not None:
            seq = names.get(move["route"])
            if seq is None:
                allowed = "、".join(r["name"] for r in plan["routes"])
                raise PlanError(f"move.route：未知路线 '{move['route']}'（可用：{allowed}） / move.route: unknown "
                                f"route '{move['route']}'", "move.route")
            day = int(move.get("day") or 1)
            if not 1 <= day <= days:
                raise PlanError(f"move.day 应为 1–{days} / move.day must be 1–{days}", "move.day")
            order = orders[(seq, day - 1)]
            position = move.get("position")
            position = len(order) + 1 if position is None else int(position)
            if not 1 <= position <= len(order) + 1:
                raise PlanError(f"move.position 应为 1–{len(order) + 1} / move.position must be 1–{len(order) + 1}",
                                "move.position")
            order.insert(position - 1, code)
    else:
        orders = {key: [] for key in orders}
        seen: set[str] = set()
        for i, route in enumerate(body["routes"] or []):
            seq = names.get(route.get("name"))
            if seq is None:
                raise PlanError(f"routes[{i}].name：未知路线 '{route.get('name')}' / unknown route",
                                f"routes[{i}].name")
            route_days = route.get("days") or []
            if len(route_days) > days:
                raise PlanError(f"routes[{i}].days：最多 {days} 天 / at most {days} days", f"routes[{i}].days")
            for d, codes in enumerate(route_days):
                for code in codes:
                    if code not in known:
                        raise PlanError(f"routes[{i}].days[{d}]：项目 '{code}' 不在本方案中 / project '{code}' is "
                                        "not part of this plan", f"routes[{i}].days[{d}]")
                    if code in seen:
                        raise PlanError(f"项目 '{code}' 出现了两次 / project '{code}' appears twice", "routes")
                    seen.add(code)
                orders[(seq, d)] = list(codes)
    assembled = retime(conn, prepared, orders)
    before = {u["project_code"]: u for u in plan["unassigned"]}
    manual = {"code": "removed", "zh": "人工调整时移出", "en": "left out by hand"}
    unassigned = [{**u, "reason": before.get(u["project_code"], {}).get("reason", manual)}
                  for u in assembled["unassigned"]]
    conn.execute(text("DELETE FROM routes WHERE plan_id = :id"), {"id": plan_id})
    _write_routes(conn, plan_id, prepared.model.kind, assembled["routes"])
    conn.execute(text("UPDATE route_plans SET unassigned = CAST(:u AS jsonb), edited = true, updated_at = now() "
                      "WHERE id = :id"), {"u": json.dumps(unassigned), "id": plan_id})
    return get_plan(conn, plan_id)


def geojson_line(route: dict) -> dict | None:
    """The route line as a GeoJSON geometry (for callers holding an assembled, unsaved plan)."""
    lines = [LineString(st["leg_line"]) for st in route["stops"] if st.get("leg_line") and len(st["leg_line"]) > 1]
    return mapping(MultiLineString(lines)) if lines else None
