"""Planning: settings → projects → places → travel model → solver → a plan with times, legs and route lines.

Selection: ``projects`` (codes) and ``filter`` (the layers filter parameters, through the one filter model in
:mod:`geoapp.layers.filters`) are united; soft-deleted projects never take part. A selection of more than
``max_projects`` (the ``plan_max_projects`` setting) is refused (413) before any matrix or solver work.

Routes over days: every route works each day from ``day_start`` to ``day_end`` with a lunch break inside the
lunch window; it leaves from ``start`` on day 1, spends the nights at ``overnight`` (one place per night,
default: back at the start) and finishes at ``end`` (default: the start) on the last day; ``end_by_route`` and
``overnight_by_route`` give one route its own end or hotels (a 北线 hotel in 扎鲁特旗, a 南线 one in 奈曼旗).
Routes are named by geography: the northernmost is 北线, the southernmost 南线 (with three, 中线 in between);
routes with their own ends or hotels keep their names (they are no longer interchangeable).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import ARRAY, ColumnElement, Connection, Text, and_, any_, func, literal, or_, select

from geoapp.db.models import Division, Project
from geoapp.divisions import resolve_division
from geoapp.errors import Unprocessable
from geoapp.routing import matrix as travel
from geoapp.routing.places import Place, resolve_place
from geoapp.routing.request import PlanError, PlanSettings, too_many_projects
from geoapp.routing.solver import (
    DAY_S,
    PRIORITY_DEFAULT,
    Infeasible,
    Problem,
    SearchLimits,
    SearchTimeout,
    Shift,
    Solution,
    TimeRule,
    Visit,
    evaluate,
    solve,
)

COLORS = ["#d7301f", "#2171b5", "#238b45", "#6a51a3", "#d94801", "#525252", "#ce1256", "#0570b0", "#88419d",
          "#8c6d31", "#1b9e77", "#e7298a"]


def route_names(n: int) -> list[tuple[str, str]]:
    """(Chinese, English) names, north to south."""
    if n == 1:
        return [("线路", "Route")]
    if n == 2:
        return [("北线", "North route"), ("南线", "South route")]
    if n == 3:
        return [("北线", "North route"), ("中线", "Central route"), ("南线", "South route")]
    return [(f"第{i + 1}线", f"Route {i + 1}") for i in range(n)]


@dataclass
class Prepared:
    """Everything needed to solve or re-time a plan, in a form that can be stored and rebuilt."""

    settings: PlanSettings
    locations: list[dict]          # depots first (start, end, nights), then one per project
    model: travel.TravelModel
    names: list[tuple[str, str]]   # route names north → south

    @property
    def lonlat(self) -> np.ndarray:
        return np.array([[loc["lon"], loc["lat"]] for loc in self.locations])


def _selection(conn: Connection, settings: PlanSettings, layers_dir: Path) -> ColumnElement[bool]:
    """The live projects chosen by codes ∪ filter (the codes list is already capped by parse_settings)."""
    from geoapp.layers.filters import project_filter

    live = project_filter(conn, {}, layers_dir)
    clauses = []
    if settings.projects:
        # one array parameter, however many codes (an IN list takes one bind parameter per code)
        clauses.append(Project.code == any_(literal(list(settings.projects), ARRAY(Text))))
    if settings.filter:
        clauses.append(project_filter(conn, settings.filter, layers_dir))
    return and_(live, or_(*clauses))


def count_selected(conn: Connection, settings: PlanSettings, layers_dir: Path) -> int:
    return conn.execute(select(func.count()).select_from(Project)
                        .where(_selection(conn, settings, layers_dir))).scalar_one()


def check_size(conn: Connection, settings: PlanSettings, layers_dir: Path, max_projects: int) -> None:
    """Refuse a selection over ``max_projects`` with one count, before a worker, a matrix or a solver is involved
    (the API calls this in the server; :func:`select_projects` checks again where the plan is made)."""
    chosen = count_selected(conn, settings, layers_dir)
    if chosen > max_projects:
        raise too_many_projects(max_projects, chosen, "filter" if settings.filter else "projects")


def select_projects(conn: Connection, settings: PlanSettings, layers_dir: Path,
                    max_projects: int | None = None) -> list[dict]:
    """The chosen projects (codes ∪ filter), in code order; unknown codes are an error listing them, more than
    ``max_projects`` a 413 naming the limit (at most ``max_projects + 1`` rows are read to find out)."""
    query = (select(Project.id, Project.code, Project.name, Project.division_code, Division.name.label("division"),
                    Project.geom.ST_X().label("lon"), Project.geom.ST_Y().label("lat"))
             .join(Division, Division.code == Project.division_code)
             .where(_selection(conn, settings, layers_dir)).order_by(Project.code))
    if max_projects is not None:
        query = query.limit(max_projects + 1)
    rows = conn.execute(query).mappings().all()
    if max_projects is not None and len(rows) > max_projects:
        raise too_many_projects(max_projects, count_selected(conn, settings, layers_dir),
                                "filter" if settings.filter else "projects")
    found = {r["code"] for r in rows}
    unknown = [c for c in dict.fromkeys(settings.projects) if c not in found]
    if unknown:
        raise PlanError(f"未知项目编号 / unknown project codes: {'、'.join(unknown[:20])}", "projects")
    if not rows:
        raise PlanError("没有符合条件的项目 / no projects match the selection", "filter")
    codes = found
    for name, mapping in (("priorities", settings.priorities),
                          ("service_minutes_by_project", settings.service_minutes_by_project)):
        stray = [c for c in mapping if c not in codes]
        if stray:
            raise PlanError(f"参数 {name}：这些项目不在所选范围内 / setting '{name}': projects not selected: "
                            f"{'、'.join(stray[:20])}", name)
    stray = [c for c in settings.must_visit if c not in codes]
    if stray:
        raise PlanError(f"参数 must_visit：这些项目不在所选范围内 / setting 'must_visit': projects not selected: "
                        f"{'、'.join(stray[:20])}", "must_visit")
    return [dict(r) for r in rows]


def _route_index(route: str, names: list[tuple[str, str]], field: str) -> int:
    """The index of a route named in Chinese or English (北线, North route); PlanError naming ``field``."""
    by_name = {zh: i for i, (zh, _) in enumerate(names)} | {en.casefold(): i for i, (_, en) in enumerate(names)}
    index = by_name.get(route, by_name.get(str(route).casefold()))
    if index is None:
        allowed = "、".join(n for n, _ in names)
        raise PlanError(f"参数 {field}：未知路线 '{route}'（可用：{allowed}） / setting '{field}': "
                        f"unknown route '{route}'", field)
    return index


def _fixed(conn: Connection, settings: PlanSettings, names: list[tuple[str, str]]) -> dict[str, int]:
    """division code → route index, from {"霍林郭勒市": "北线"} (divisions in any accepted form)."""
    fixed: dict[str, int] = {}
    for division, route in settings.fixed_routes.items():
        code = resolve_division(conn, division)
        if code is None:
            raise PlanError(f"参数 fixed_routes：未知旗县市区 '{division}' / setting 'fixed_routes': unknown "
                            f"division '{division}'", "fixed_routes")
        fixed[code] = _route_index(route, names, "fixed_routes")
    return fixed


def _own_depots(conn: Connection, settings: PlanSettings, names: list[tuple[str, str]]) -> list[dict]:
    """Locations of the routes' own ends and hotels, each marked with ``for_route`` (its route index)."""
    out = []
    for route, value in settings.end_by_route.items():
        r = _route_index(route, names, "end_by_route")
        p = resolve_place(conn, value, f"end_by_route.{route}")
        out.append({**p.as_dict(), "place_kind": p.kind, "kind": "end", "for_route": r})
    for route, nights in settings.overnight_by_route.items():
        r = _route_index(route, names, "overnight_by_route")
        for i, value in enumerate(nights):
            p = resolve_place(conn, value, f"overnight_by_route.{route}[{i}]")
            out.append({**p.as_dict(), "place_kind": p.kind, "kind": "overnight", "for_route": r})
    return out


def prepare(conn: Connection, settings: PlanSettings, layers_dir: Path, max_projects: int | None = None) -> Prepared:
    """Resolve projects and places and build the travel model (the expensive part before solving)."""
    projects = select_projects(conn, settings, layers_dir, max_projects)
    start = resolve_place(conn, settings.start, "start")
    end = resolve_place(conn, settings.end, "end") if settings.end is not None else start
    nights: list[Place] = [resolve_place(conn, p, f"overnight[{i}]") for i, p in enumerate(settings.overnight or [])]
    if settings.days > 1 and not nights:
        nights = [start] * (settings.days - 1)
    names = ([(n, n) for n in settings.route_names] if settings.route_names else route_names(settings.routes))
    fixed = _fixed(conn, settings, names)
    locations = [{**start.as_dict(), "place_kind": start.kind, "kind": "start"},
                 {**end.as_dict(), "place_kind": end.kind, "kind": "end"}]
    locations += [{**p.as_dict(), "place_kind": p.kind, "kind": "overnight"} for p in nights]
    locations += _own_depots(conn, settings, names)
    must = set(settings.must_visit)
    for p in projects:
        locations.append({
            "kind": "visit", "name": p["name"], "lon": float(p["lon"]), "lat": float(p["lat"]),
            "project_id": p["id"], "project_code": p["code"], "division_code": p["division_code"],
            "division": p["division"],
            "service_s": 60 * settings.service_minutes_by_project.get(p["code"], settings.service_minutes),
            "priority": settings.priorities.get(p["code"], PRIORITY_DEFAULT), "required": p["code"] in must,
            "route": fixed.get(p["division_code"]),
        })
    lonlat = np.array([[loc["lon"], loc["lat"]] for loc in locations])
    model = travel.travel_model(conn, lonlat, settings.travel_model, speed_kmh=settings.estimate_speed_kmh,
                                circuity=settings.estimate_circuity, max_snap_m=settings.max_snap_m,
                                names=[loc["name"] for loc in locations])
    return Prepared(settings, locations, model, names)


def build_problem(prepared: Prepared, hand_edit: bool = False) -> Problem:
    """The solver's problem; with ``hand_edit`` the banner → route rule yields to the team's own choice."""
    s, locs = prepared.settings, prepared.locations
    visits = [
        Visit(loc["project_code"], i, int(loc["service_s"]), int(loc["priority"]),
              bool(loc["required"]) and not hand_edit,
              None if hand_edit or loc.get("route") is None else (int(loc["route"]),))
        for i, loc in enumerate(locs) if loc["kind"] == "visit"
    ]
    nights = [i for i, loc in enumerate(locs) if loc["kind"] == "overnight" and loc.get("for_route") is None]
    end_of = {loc["for_route"]: i for i, loc in enumerate(locs) if loc["kind"] == "end" and "for_route" in loc}
    nights_of = {r: [i for i, loc in enumerate(locs) if loc["kind"] == "overnight" and loc.get("for_route") == r]
                 for r in range(s.routes)}
    day_start, day_end = 60 * s.minutes("day_start"), 60 * s.minutes("day_end")
    lunch_from, lunch_to = 60 * s.minutes("lunch_start"), 60 * s.minutes("lunch_end")
    lunch_s = 60 * s.lunch_minutes
    shifts = []
    for r in range(s.routes):
        own_nights, end = nights_of[r] or nights, end_of.get(r, 1)
        for d in range(s.days):
            off = d * DAY_S
            lunch = (off + lunch_from, off + lunch_to - lunch_s, lunch_s) if lunch_s else None
            shifts.append(Shift(r, d, 0 if d == 0 else own_nights[d - 1], end if d == s.days - 1 else own_nights[d],
                                off + day_start, off + day_end, lunch))
    # Balance (a global span on the daily workload) only matters when the projects fit: when they do not, every
    # day is full anyway and the extra dimension would only slow the search.
    capacity = sum(sh.end_s - sh.start_s - (sh.lunch[2] if sh.lunch else 0) for sh in shifts)
    demand = sum(v.service_s for v in visits) + len(visits) * float(np.median(prepared.model.seconds))
    balance = s.balance if demand <= capacity else 0.0
    return Problem(prepared.model.seconds, visits, shifts, balance=balance)


def _relabel(problem: Problem, solution: Solution, locations: list[dict], settings: PlanSettings) -> list[int]:
    """Route index for each shift, north → south per day (only when the day's routes are interchangeable)."""
    order = [sh.shift.route for sh in solution.shifts]
    if settings.fixed_routes or settings.end_by_route or settings.overnight_by_route or settings.routes == 1:
        return order
    lat = {i: loc["lat"] for i, loc in enumerate(locations)}
    for d in range(settings.days):
        day = [k for k, sh in enumerate(solution.shifts) if sh.shift.day == d]

        def mean_lat(k: int) -> float:
            stops = [problem.visits[v].location for v in solution.shifts[k].visits]
            return float(np.mean([lat[i] for i in stops])) if stops else -1e9

        for rank, k in enumerate(sorted(day, key=lambda k: (-mean_lat(k), k))):
            order[k] = rank
    return order


def reasons(problem: Problem, prepared: Prepared, dropped: list[int]) -> list[dict]:
    """Why each left-out project is left out, lowest priority first."""
    seconds = problem.durations
    day_len = min(sh.end_s - sh.start_s - (sh.lunch[2] if sh.lunch else 0) for sh in problem.shifts)
    out = []
    for v in dropped:
        visit = problem.visits[v]
        loc = prepared.locations[visit.location]
        best_trip = min(int(seconds[sh.start_location, visit.location]) + visit.service_s
                        + int(seconds[visit.location, sh.end_location]) for sh in problem.shifts)
        if best_trip > day_len:
            reason = {"code": "too_far",
                      "zh": f"路程太远：往返加停留需 {best_trip / 3600:.1f} 小时，超过一个工作日",
                      "en": f"too far: getting there, the visit and getting back take {best_trip / 3600:.1f} h, "
                            "more than a working day"}
        else:
            reason = {"code": "time",
                      "zh": f"时间不足：所选路线数和天数内排不下（优先级 {visit.priority}）",
                      "en": f"not enough time in the routes and days chosen (priority {visit.priority})"}
        out.append({"project_code": loc["project_code"], "name": loc["name"], "division_code": loc["division_code"],
                    "division": loc["division"], "priority": visit.priority, "reason": reason})
    return sorted(out, key=lambda u: (u["priority"], u["project_code"]))


def assemble(conn: Connection, prepared: Prepared, problem: Problem, solution: Solution,
             route_of_shift: list[int]) -> dict:
    """The plan's routes with ordered stops, times, legs and lines (not yet stored)."""
    s, locs = prepared.settings, prepared.locations
    lonlat = prepared.lonlat
    per_route: dict[int, list] = {r: [] for r in range(s.routes)}
    for k, sh in enumerate(solution.shifts):
        per_route[route_of_shift[k]].append(sh)
    pairs, plans = set(), []
    for r in range(s.routes):
        shifts = sorted(per_route[r], key=lambda sh: sh.shift.day)
        stops: list[dict] = []
        days = []
        for d, sh in enumerate(shifts):
            if d == 0:
                stops.append({"kind": "start", "loc": sh.shift.start_location, "day": 1, "arrival_s": None,
                              "departure_s": sh.start_s, "service_s": 0})
            else:
                stops[-1]["departure_s"] = sh.start_s
            for v, arrival in zip(sh.visits, sh.arrivals, strict=True):
                visit = problem.visits[v]
                stops.append({"kind": "visit", "loc": visit.location, "day": d + 1, "arrival_s": arrival,
                              "departure_s": arrival + visit.service_s, "service_s": visit.service_s})
            last = d == len(shifts) - 1
            stops.append({"kind": "end" if last else "overnight", "loc": sh.shift.end_location, "day": d + 1,
                          "arrival_s": sh.end_s, "departure_s": None, "service_s": 0})
            days.append({"day": d + 1, "start_s": sh.start_s, "end_s": sh.end_s, "lunch_s": sh.lunch_s,
                         "lunch_minutes": s.lunch_minutes if sh.lunch_s is not None else 0,
                         "visits": len(sh.visits)})
        for a, b in zip(stops, stops[1:], strict=False):
            pairs.add((a["loc"], b["loc"]))
        name, name_en = prepared.names[r]
        plans.append({"seq": r, "name": name, "name_en": name_en, "color": COLORS[r % len(COLORS)],
                      "stops": stops, "days": days})
    leg = travel.legs(conn, prepared.model, lonlat, sorted(pairs))
    for plan in plans:
        number = 0
        for i, stop in enumerate(plan["stops"]):
            loc = locs[stop["loc"]]
            stop.update({"seq": i, "name": loc["name"], "lon": loc["lon"], "lat": loc["lat"],
                         "project_id": loc.get("project_id"), "project_code": loc.get("project_code"),
                         "division_code": loc.get("division_code")})
            if stop["kind"] == "visit":
                number += 1
                stop["number"] = number
            else:
                stop["number"] = None
            if i == 0:
                stop.update({"leg_m": None, "leg_s": None, "leg_line": None})
            else:
                metres, seconds, line = leg[(plan["stops"][i - 1]["loc"], stop["loc"])]
                stop.update({"leg_m": metres, "leg_s": seconds, "leg_line": line})
        for day in plan["days"]:
            day_stops = [st for st in plan["stops"][1:] if st["day"] == day["day"]]
            day["distance_km"] = round(sum(st["leg_m"] for st in day_stops) / 1000, 1)
            day["driving_min"] = round(sum(st["leg_s"] for st in day_stops) / 60, 1)
    return {"routes": plans, "unassigned": reasons(problem, prepared, solution.dropped)}


def plan(conn: Connection, settings: PlanSettings, layers_dir: Path, limits: SearchLimits | None = None, *,
         max_projects: int | None = None, time_rule: TimeRule | None = None) -> dict:
    """Plan the routes (not stored): the assembled plan, what storage needs, and ``solver`` (its time limit, the
    time it took, whether the limit cut it short). Without ``limits`` the time limit follows ``time_rule``."""
    prepared = prepare(conn, settings, layers_dir, max_projects)
    problem = build_problem(prepared)
    limits = limits or (time_rule or TimeRule()).limits(len(problem.visits))
    try:
        solution = solve(problem, limits)
    except SearchTimeout:
        raise Unprocessable(
            zh=f"在 {limits.time_limit_s:g} 秒的规划时限内没有找到可行方案：请减少项目或增加路线、天数"
               "（时限见设置 GEOAPP_PLAN_TIME_BASE_S、GEOAPP_PLAN_TIME_PER_PROJECT_S、GEOAPP_PLAN_TIME_MAX_S）",
            en=f"no plan was found within the planning time limit of {limits.time_limit_s:g} s: choose fewer "
               "projects or more routes or days (the limit follows the settings GEOAPP_PLAN_TIME_BASE_S, "
               "GEOAPP_PLAN_TIME_PER_PROJECT_S, GEOAPP_PLAN_TIME_MAX_S)",
            parameter="projects", time_limit_s=limits.time_limit_s) from None
    except Infeasible:
        why = reasons(problem, prepared, [i for i, v in enumerate(problem.visits) if v.required])
        zh = "；".join(f"{u['project_code']}（{u['reason']['zh']}）" if u["reason"]["code"] == "too_far"
                      else u["project_code"] for u in why)
        en = "; ".join(f"{u['project_code']} ({u['reason']['en']})" if u["reason"]["code"] == "too_far"
                       else u["project_code"] for u in why)
        raise PlanError(f"必到项目无法全部安排在 {settings.routes} 条路线、{settings.days} 天内：{zh} / the must-visit "
                        f"projects do not all fit in {settings.routes} routes over {settings.days} days: {en}",
                        "must_visit") from None
    assembled = assemble(conn, prepared, problem, solution, _relabel(problem, solution, prepared.locations, settings))
    report = {key: solution.stats.get(key) for key in ("search", "time_limit_s", "elapsed_s", "stopped_by_limit")}
    return {"prepared": prepared, **assembled, "solver": report}


def retime(conn: Connection, prepared: Prepared, orders: dict[tuple[int, int], list[str]]) -> dict:
    """Times for hand-made orders {(route, day): [project codes]}; PlanError when a day no longer fits."""
    problem = build_problem(prepared, hand_edit=True)
    index = {v.key: i for i, v in enumerate(problem.visits)}
    fixed = [[index[c] for c in orders.get((sh.route, sh.day), [])] for sh in problem.shifts]
    try:
        solution = evaluate(problem, fixed)
    except Infeasible:
        s = prepared.settings
        raise PlanError(f"这样安排后有的路线在 {s.day_start}–{s.day_end}（含午餐）内走不完 / with these orders some "
                        f"day no longer fits between {s.day_start} and {s.day_end} (lunch included)",
                        "routes") from None
    return assemble(conn, prepared, problem, solution, [sh.shift.route for sh in solution.shifts])
