"""Stored plans as ``RoutePrint``s: the planner's own reader plus each stop's project details.

The route planner owns routes and their storage; ``geoapp.routing.store.get_plan`` is its one reader
(used by its API and CLI too). This adapter only turns that dict into the printing structure and adds
what a printed handbook shows that a plan does not carry (company, investment, scope, leader, source).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from shapely.geometry import shape
from sqlalchemy import Connection, text

from geoapp.errors import NotFound
from geoapp.printing.labels import word
from geoapp.printing.model import DayPrint, Place, RoutePrint, StopPrint

DATA_SOURCE = {"zh": "通辽市重大项目库（geoapp）", "en": "Tongliao major-project library (geoapp)"}
# Plans carry clock times only (seconds since 00:00 of day 1); a nominal day 1 carries them when undated.
NOMINAL_DAY_1 = datetime(2000, 1, 3)

DETAILS = text("""
    SELECT p.code, p.name, p.sector, p.tier, p.status, p.company, p.total_investment, p.planned_investment,
           p.plan_year, p.scope, p.responsible_unit, p.leader, p.source, p.location_precision,
           d.name AS division, d.name_en AS division_en, p.updated_at
    FROM projects p JOIN divisions d ON d.code = p.division_code
    WHERE p.code = ANY(:codes)
""")


class RouteNotFound(NotFound):
    """No stored route with that id (HTTP 404)."""


def project_details(conn: Connection, codes: list[str]) -> tuple[dict[str, dict], date | None]:
    """The printed facts of each project by code, and the date of the newest of them (the data's date)."""
    rows = conn.execute(DETAILS, {"codes": codes}).mappings().all()
    details = {r["code"]: dict(r) for r in rows}
    newest = max((r["updated_at"] for r in rows if r["updated_at"] is not None), default=None)
    return details, newest.date() if newest else None


def _plan_id(route_id: str) -> int:
    try:
        value = int(str(route_id).strip())
    except ValueError:
        raise RouteNotFound(f"没有编号为 {route_id} 的路线 / no route with id '{route_id}'") from None
    if value <= 0 or value > 2**63 - 1:
        raise RouteNotFound(f"没有编号为 {route_id} 的路线 / no route with id '{route_id}'")
    return value


def _start_date(settings: dict) -> date | None:
    for key in ("date", "start_date"):
        value = settings.get(key)
        if value:
            try:
                return date.fromisoformat(str(value)[:10])
            except ValueError:
                return None
    return None


def _at(day_1: datetime, seconds: int | None) -> datetime | None:
    return None if seconds is None else day_1 + timedelta(seconds=int(seconds))


def _leg(stop: dict) -> tuple[float, float]:
    leg = stop.get("leg") or {}
    return float(leg.get("distance_km") or 0.0), float(leg.get("minutes") or 0.0)


def _route_print(plan: dict, route: dict, details: dict[str, dict], data_date: date | None, lang: str) -> RoutePrint:
    day_1_date = _start_date(plan.get("settings") or {})
    day_1 = datetime.combine(day_1_date, datetime.min.time()) if day_1_date else NOMINAL_DAY_1
    stops, days = [], []
    places = [s for s in route["stops"] if s["kind"] != "visit"]
    summaries = {d["day"]: d for d in route.get("days", [])}
    for s in route["stops"]:
        if s["kind"] != "visit":
            continue
        info = details.get(s["project_code"], {})
        km, minutes = _leg(s)
        stops.append(StopPrint(
            seq=s["number"], day=s["day"], code=s["project_code"] or "", name=s["name"], lon=s["lon"], lat=s["lat"],
            arrival=_at(day_1, s["arrival_s"]), departure=_at(day_1, s["departure_s"]), leg_km=km,
            leg_minutes=minutes, division=s.get("division") or info.get("division") or "",
            division_en=info.get("division_en"), sector=info.get("sector"), tier=info.get("tier"),
            status=info.get("status"), company=info.get("company"), total_investment=info.get("total_investment"),
            planned_investment=info.get("planned_investment"), plan_year=info.get("plan_year"),
            scope=info.get("scope"), responsible_unit=info.get("responsible_unit"), leader=info.get("leader"),
            source=info.get("source"), location_precision=info.get("location_precision"),
        ))
    for first, last in zip(places, places[1:], strict=False):
        km, minutes = _leg(last)
        summary = summaries.get(last["day"], {})
        lunch = None
        if summary.get("lunch_s") is not None and summary.get("lunch_minutes"):
            lunch = (_at(day_1, summary["lunch_s"]), int(summary["lunch_minutes"]))
        days.append(DayPrint(
            day=last["day"], start=Place(first["name"], first["lon"], first["lat"]),
            end=Place(last["name"], last["lon"], last["lat"]), depart=_at(day_1, first["departure_s"]),
            arrive=_at(day_1, last["arrival_s"]), final_leg_km=km, final_leg_minutes=minutes,
            overnight=last["kind"] == "overnight", lunch=lunch,
            totals=(float(summary["distance_km"]), float(summary["driving_min"])) if "distance_km" in summary
            else None,
        ))
    model = plan["travel_model"]
    road = model["kind"] == "road"
    key = "en" if lang == "en" else "zh"
    details = []
    if "speed_kmh" in model and "circuity" in model:
        details.append(word("estimate_params", lang, speed=float(model["speed_kmh"]),
                            circuity=float(model["circuity"])))
    if isinstance(model.get("why"), dict) and model["why"].get(key):
        details.append(model["why"][key])
    line = shape(route["line"]) if road and route.get("line") else None
    unassigned = [(u["name"], (u.get("reason") or {}).get("en" if lang == "en" else "zh", ""))
                  for u in plan.get("unassigned") or []]
    return RoutePrint(
        id=str(route["id"]), name=(route.get("name_en") or route["name"]) if lang == "en" else route["name"],
        travel_model="road_network" if road else "estimate", days=days, stops=stops, line=line,
        color=route.get("color") or "#c0392b", dated=day_1_date is not None,
        planned_at=datetime.fromisoformat(plan["created_at"]), data_date=data_date,
        data_source=DATA_SOURCE["en" if lang == "en" else "zh"], unassigned=unassigned,
        totals=(float(route["totals"]["distance_km"]), float(route["totals"]["driving_min"])),
        travel_label=(model.get("label") or {}).get(key), travel_details=details,
    )


def load_route_prints(conn: Connection, route_id: str, lang: str = "zh", route: str | None = None) -> list[RoutePrint]:
    """The routes of stored plan ``route_id`` (the id ``POST /routes/plan`` returns), ready to print.

    ``route`` picks one route of the plan by its number (1, 2 …) or name (北线, South route); RouteNotFound
    when there is no such plan or route.
    """
    from geoapp.routing.store import get_plan

    plan = get_plan(conn, _plan_id(route_id), legs=False)
    if plan is None:
        raise RouteNotFound(f"没有编号为 {route_id} 的路线 / no route with id '{route_id}'")
    routes = [r for r in plan["routes"] if any(s["kind"] == "visit" for s in r["stops"])]
    if route is not None:
        wanted = str(route).strip()
        routes = [r for r in routes if wanted in (str(r["seq"] + 1), r["name"], r["name_en"])]
        if not routes:
            names = "、".join(f"{r['seq'] + 1} {r['name']}" for r in plan["routes"])
            raise RouteNotFound(f"路线 {route_id} 中没有 '{wanted}'（有：{names}） / plan {route_id} has no route "
                                f"'{wanted}'")
    codes = [s["project_code"] for r in routes for s in r["stops"] if s["kind"] == "visit" and s["project_code"]]
    details, data_date = project_details(conn, codes)
    return [_route_print(plan, r, details, data_date, lang) for r in routes]


def load_route_print(conn: Connection, route_id: str, layers_dir: Path | None = None, lang: str = "zh",
                     route: str | None = None) -> RoutePrint:
    """One route: the only route of the plan, or the one ``route`` names."""
    prints = load_route_prints(conn, route_id, lang, route)
    if not prints:
        raise RouteNotFound(f"路线 {route_id} 没有安排任何项目 / route {route_id} visits no project")
    return prints[0]
