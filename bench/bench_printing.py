"""Printing speed and size (issue 7): a 40-stop route map ≤ 3 s, the 40-stop handbook ≤ 10 s, map PDF < 2 MB.

1. Starts its own embedded PostgreSQL (or uses GEOAPP_BENCH_DATABASE_URL), loads Tongliao's divisions, the named
   demo projects and 400 synthetic ones (labelled synthetic).
2. Plans one route with the route planner (estimated travel times, 20-minute stops, as many days as needed) over
   40 projects of the southern banners, and checks that all 40 are visited.
3. Times, through the same calls the API makes (read the stored plan + render):
   a. GET /routes/{id}/map.pdf in a fresh app (first request of the process: WeasyPrint and fonts load);
   b. the route map again, warm (median of --runs);
   c. the handbook (median of --runs);
   and prints the PDF sizes and page counts.

Usage: .venv/bin/python bench/bench_printing.py [--runs 5] [--out DIR]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench_database import BenchDatabase
from fastapi.testclient import TestClient
from sqlalchemy import text

from geoapp.db import migrate
from geoapp.db.engine import make_engine
from geoapp.demo import load_demo, load_synthetic
from geoapp.divisions import load_divisions
from geoapp.settings import REPO_ROOT, Settings

LAYERS = REPO_ROOT / "layers"
STOPS = 40
SOUTH = ("150502", "150522", "150523", "150524", "150525", "150571")


def plan_route(engine, stops: int) -> int:
    """A stored one-route plan visiting ``stops`` projects of the southern banners (all of them)."""
    from geoapp.routing import planner, store
    from geoapp.routing.request import parse_settings

    with engine.connect() as conn:
        codes = list(conn.execute(text(
            "SELECT code FROM projects WHERE division_code = ANY(:d) AND deleted_at IS NULL ORDER BY code LIMIT :n"),
            {"d": list(SOUTH), "n": stops}).scalars())
    for days in range(3, 8):
        body = {"projects": codes, "routes": 1, "days": days, "service_minutes": 20, "travel_model": "estimate",
                "start_date": "2025-05-20", "title": "bench: 40 stops"}
        with engine.begin() as conn:
            planned = planner.plan(conn, parse_settings(body), LAYERS)
            visited = sum(1 for r in planned["routes"] for s in r["stops"] if s["kind"] == "visit")
            if visited == len(codes):
                return store.save_plan(conn, planned)
    raise SystemExit(f"could not fit {len(codes)} stops in 7 days")


def pages(pdf: Path) -> int:
    out = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[-1] for line in out.splitlines() if line.startswith("Pages")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None, help="keep the PDFs here")
    args = parser.parse_args()

    db = BenchDatabase("geoapp-bench-print-")
    url = db.url
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        with engine.begin() as conn:
            load_divisions(conn, "通辽市", LAYERS)
            load_demo(conn, LAYERS)
            load_synthetic(conn, 400, LAYERS, seed=2025)
        plan_id = plan_route(engine, STOPS)
        from geoapp.api.app import create_app
        from geoapp.routing.store import get_plan

        with engine.connect() as conn:
            plan = get_plan(conn, plan_id)
        route = plan["routes"][0]
        print(f"plan {plan_id}: {route['totals']['visits']} stops over {len(route['days'])} days, "
              f"{route['totals']['distance_km']} km ({plan['travel_model']['kind']})")

        out = args.out or Path(tempfile.mkdtemp(prefix="geoapp-bench-pdf-"))
        out.mkdir(parents=True, exist_ok=True)
        settings = Settings(database_url=url)
        with TestClient(create_app(settings, url, engine=engine)) as client:
            t = time.perf_counter()
            first = client.get(f"/routes/{plan_id}/map.pdf")
            cold = time.perf_counter() - t
            assert first.status_code == 200, first.text
            warm_map, hand = [], []
            for _ in range(args.runs):
                t = time.perf_counter()
                response = client.get(f"/routes/{plan_id}/map.pdf")
                warm_map.append(time.perf_counter() - t)
            (out / "map.pdf").write_bytes(response.content)
            for _ in range(max(1, args.runs // 2 + 1)):
                t = time.perf_counter()
                book = client.get(f"/routes/{plan_id}/handbook.pdf")
                hand.append(time.perf_counter() - t)
            (out / "handbook.pdf").write_bytes(book.content)
        map_pdf, book_pdf = out / "map.pdf", out / "handbook.pdf"
        size = map_pdf.stat().st_size
        print(f"route map, first request (cold process): {cold:.2f} s")
        print(f"route map, warm, median of {len(warm_map)}: {statistics.median(warm_map):.2f} s "
              f"(min {min(warm_map):.2f}, max {max(warm_map):.2f})  target ≤ 3 s  "
              f"{'OK' if statistics.median(warm_map) <= 3 and cold <= 3 else 'SLOW'}")
        print(f"handbook, median of {len(hand)}: {statistics.median(hand):.2f} s (min {min(hand):.2f}, "
              f"max {max(hand):.2f})  target ≤ 10 s  {'OK' if statistics.median(hand) <= 10 else 'SLOW'}")
        print(f"route map PDF: {size / 1e6:.2f} MB, {pages(map_pdf)} pages  target < 2 MB  "
              f"{'OK' if size < 2e6 else 'TOO BIG'}")
        print(f"handbook PDF: {book_pdf.stat().st_size / 1e6:.2f} MB, {pages(book_pdf)} pages")
        print(f"PDFs in {out}")
    finally:
        engine.dispose()
        db.close()


if __name__ == "__main__":
    main()
