"""Helpers for the printing tests: PDF tools (poppler) and a hand-ordered route over stored projects.

``hand_route`` is not a planner: it visits the chosen projects in the order given, with legs from the
route planner's own estimate (great-circle × circuity ÷ speed), so the renderers can be tested on any
number of stops and days independently of the solver.
"""

from __future__ import annotations

import re
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, text

from geoapp.printing.model import DayPrint, Place, RoutePrint, StopPrint
from geoapp.printing.source import DATA_SOURCE, project_details
from geoapp.routing.estimate import estimate_matrices

CITY_HALL = Place("通辽市人民政府", 122.243, 43.654)


def hand_route(engine: Engine, codes: list[str], days: int = 1, name: str = "北线", stay_min: int = 30,
               hotel_offset: float = 0.01) -> RoutePrint:
    """The projects ``codes`` visited in that order over ``days`` days from and back to the city hall."""
    with engine.connect() as conn:
        details, data_date = project_details(conn, codes)
        where = {r.code: (r.lon, r.lat) for r in conn.execute(
            text("SELECT code, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM projects WHERE code = ANY(:c)"),
            {"c": codes})}
    per_day = -(-len(codes) // days)
    stops: list[StopPrint] = []
    day_list: list[DayPrint] = []
    start = CITY_HALL
    for d in range(days):
        chunk = codes[d * per_day:(d + 1) * per_day]
        last_day = d == days - 1
        lon, lat = where[chunk[-1]]
        end = CITY_HALL if last_day else Place(f"{details[chunk[-1]]['division']}宾馆（示例）", lon + hotel_offset,
                                                 lat + hotel_offset)
        pts = np.array([(start.lon, start.lat), *(where[c] for c in chunk), (end.lon, end.lat)])
        seconds, metres = estimate_matrices(pts)
        t = datetime(2025, 5, 20 + d, 8, 0)
        depart = t
        for i, code in enumerate(chunk, start=1):
            info = details[code]
            leg_s, leg_m = int(seconds[i - 1, i]), int(metres[i - 1, i])
            arrival = t + timedelta(seconds=leg_s)
            departure = arrival + timedelta(minutes=stay_min)
            stops.append(StopPrint(
                seq=len(stops) + 1, day=d + 1, code=code, name=info["name"], lon=where[code][0], lat=where[code][1],
                arrival=arrival, departure=departure, leg_km=leg_m / 1000, leg_minutes=leg_s / 60,
                division=info["division"], division_en=info["division_en"], sector=info["sector"],
                tier=info["tier"], status=info["status"], company=info["company"],
                total_investment=info["total_investment"], planned_investment=info["planned_investment"],
                plan_year=info["plan_year"], scope=info["scope"], responsible_unit=info["responsible_unit"],
                leader=info["leader"], source=info["source"], location_precision=info["location_precision"],
            ))
            t = departure
        n = len(chunk)
        final_s, final_m = int(seconds[n, n + 1]), int(metres[n, n + 1])
        day_list.append(DayPrint(day=d + 1, start=start, end=end, depart=depart,
                                 arrive=t + timedelta(seconds=final_s), final_leg_km=final_m / 1000,
                                 final_leg_minutes=final_s / 60, overnight=not last_day))
        start = end
    return RoutePrint(id="hand-1", name=name, travel_model="estimate", days=day_list, stops=stops,
                      planned_at=datetime(2025, 5, 12, 9, 30), data_date=data_date, data_source=DATA_SOURCE["zh"])


def pdftotext(pdf: Path, first: int | None = None, last: int | None = None) -> str:
    """Text in content-stream order (``-raw``), so a table cell wrapped over lines stays together."""
    args = ["pdftotext", "-raw", "-enc", "UTF-8"]
    if first:
        args += ["-f", str(first)]
    if last:
        args += ["-l", str(last)]
    return subprocess.run([*args, str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def squeeze(s: str) -> str:
    return re.sub(r"\s+", "", s)


def in_order(haystack: str, needles: list[str]) -> list[str]:
    """The needles not found after the previous one (empty when all appear in this order)."""
    missing, pos = [], 0
    for needle in needles:
        i = haystack.find(squeeze(needle), pos)
        if i < 0:
            missing.append(needle)
        else:
            pos = i + len(squeeze(needle))
    return missing


def pdffonts(pdf: Path) -> list[dict[str, str]]:
    out = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout.splitlines()
    rows = []
    for line in out[2:]:
        parts = line.split()
        # name, type (may contain spaces), encoding, emb, sub, uni, object, id
        rows.append({"name": parts[0], "emb": parts[-5], "sub": parts[-4], "uni": parts[-3]})
    return rows


def pdfinfo(pdf: Path) -> dict[str, str]:
    out = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in out.splitlines())}


def render_page(pdf: Path, page: int, dpi: int, out_prefix: Path) -> Path:
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile",
                    str(pdf), str(out_prefix)], check=True)
    return out_prefix.with_suffix(".png")
