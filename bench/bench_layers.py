"""Layers API speed against tipg and against pgbench running the same SQL (issue 3).

1. Loads 100,000 synthetic projects (plus the 8 named ones) into its own embedded PostgreSQL (or the database of
   GEOAPP_BENCH_DATABASE_URL), VACUUM ANALYZE.
2. Starts geoapp and tipg over that database, each one uvicorn worker, and loads each with wrk (8 connections,
   10 s, in alternating rounds with pgbench, averaged) on the same three requests:
     a. items?limit=1000
     b. items?limit=100&bbox=120,43,121,44&sector=lng
     c. a z8 tile (科尔沁区) with sector=lng
3. Runs pgbench (8 clients, 10 s) on the exact SQL geoapp sends for each request (compiled with literal values).
4. Adds 900,000 more synthetic rows (copies of the synthetic ones, shifted, labelled synthetic), streams
   items?f=geojson of all 1,000,000 and samples the geoapp server's resident memory while it streams.

Prints requests/s and the ratios geoapp/tipg and geoapp/pgbench, and the peak RSS of the export.
Usage: .venv/bin/python bench/bench_layers.py [--duration 10] [--connections 8] [--rounds 2] [--skip-export]
Needs wrk and pgbench (installs wrk with apt-get when missing).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import morecantile
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url

from geoapp.api.routers.tiles import cluster_properties
from geoapp.db import migrate
from geoapp.db.cluster import Cluster
from geoapp.demo import load_demo, load_synthetic
from geoapp.layers import sql
from geoapp.layers.registry import registry
from geoapp.layers.request import parse_query
from geoapp.settings import REPO_ROOT

LAYERS = REPO_ROOT / "layers"
VENV_BIN = Path(sys.executable).parent
N_SYNTHETIC = 100_000
N_EXPORT = 1_000_000
BBOX = "120,43,121,44"
SECTOR = "lng"
TILE = morecantile.tms.get("WebMercatorQuad").tile(122.24, 43.65, 8)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_tools() -> None:
    if shutil.which("wrk") is None:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    if shutil.which("pgbench") is None and not list(Path("/usr/lib/postgresql").glob("*/bin/pgbench")):
        sys.exit("pgbench not found (it ships with postgresql-client / the server package)")


def pgbench_bin() -> str:
    return shutil.which("pgbench") or str(sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"))[-1])


def database() -> tuple[str, Cluster | None]:
    url = os.environ.get("GEOAPP_BENCH_DATABASE_URL")
    if url:
        return url, None
    home = Path(tempfile.gettempdir()) / "geoapp-bench-layers"
    home.mkdir(exist_ok=True)
    home.chmod(0o755)
    cluster = Cluster(home)
    status = cluster.status() if cluster.initialised else None
    if status and status.running:
        return status.url, None  # someone else's running server: leave it running
    return cluster.start(), cluster


def load(engine: Engine) -> None:
    """Exactly the 8 named + 100,000 synthetic projects (the export step's extra rows are removed first, and the
    table and its indexes rewritten: 900,000 deleted rows would otherwise leave them 10× too large)."""
    with engine.begin() as conn:
        removed = conn.execute(text("DELETE FROM projects WHERE code LIKE 'SYN-X%'")).rowcount
        have = conn.execute(text("SELECT count(*) FROM projects WHERE source = 'synthetic'")).scalar()
        load_demo(conn, LAYERS)
        if have != N_SYNTHETIC:
            t0 = time.time()
            print(f"loading {N_SYNTHETIC:,} synthetic projects …", flush=True)
            load_synthetic(conn, N_SYNTHETIC, LAYERS, seed=2025)
            print(f"  loaded in {time.time() - t0:.1f} s", flush=True)
    vacuum(engine, full=removed > 0)


def vacuum(engine: Engine, full: bool = False) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"VACUUM {'FULL ' if full else ''}ANALYZE projects"))


def start(cmd: list[str], env: dict, port: int, probe: str) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{probe}", timeout=5).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"{cmd[0]} exited: {proc.stderr.read().decode()[-2000:]}")
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"{' '.join(cmd)} did not answer {probe}")


def start_geoapp(url: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    code = ("import os, uvicorn; from geoapp.api.app import create_app; from geoapp.settings import Settings; "
            "u = os.environ['GEOAPP_DATABASE_URL']; "
            f"uvicorn.run(create_app(Settings(database_url=u), u), host='127.0.0.1', port={port}, "
            "log_level='warning', access_log=False)")
    return start([str(VENV_BIN / "python"), "-c", code], {"GEOAPP_DATABASE_URL": url}, port, "/conformance"), port


def start_tipg(url: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    pg = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    env = {"DATABASE_URL": pg, "TIPG_DB_SCHEMAS": '["public"]', "TIPG_DB_TABLES": '["public.projects"]',
           "TIPG_MAX_FEATURES_PER_QUERY": "10000"}
    cmd = [str(VENV_BIN / "uvicorn"), "tipg.main:app", "--host", "127.0.0.1", "--port", str(port),
           "--workers", "1", "--log-level", "warning", "--no-access-log"]
    return start(cmd, env, port, "/collections/public.projects"), port


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def wrk(url: str, duration: int, connections: int) -> float:
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} error responses\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def geoapp_sql(engine: Engine, request: str) -> str:
    """The exact statement geoapp runs for a request, with its values inlined, for pgbench."""
    path, _, query = request.partition("?")
    params: dict[str, list[str]] = {}
    for pair in query.split("&") if query else []:
        k, _, v = pair.partition("=")
        params.setdefault(k, []).append(v)
    layer = registry(LAYERS)["projects"]
    with engine.connect() as conn:
        if "/tiles/" in path:
            q = parse_query(conn, layer, params, LAYERS, formats=("mvt",), default_format="mvt")
            tms = morecantile.tms.get("WebMercatorQuad")
            bounds = tuple(tms.xy_bounds(TILE))
            names = layer.tiles["properties"]
            types = {p.name: p.type for p in layer.properties}
            cell = None
            cluster: dict[str, str] = {}
            if TILE.z <= int(layer.tiles["cluster_max_zoom"]):
                cell = (bounds[2] - bounds[0]) * int(layer.tiles["cluster_cell_px"]) / sql.MVT_EXTENT
                cluster = cluster_properties(layer)
            stmt = sql.tile_statement(layer, q.src, names, types, bounds, int(layer.tiles["max_features"]), cell,
                                      cluster)
        else:
            q = parse_query(conn, layer, params, LAYERS, formats=("json",), default_format="json")
            stmt = sql.items_statement(q.src, q.names, q.sort, q.limit, q.offset)
    return str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))


def pgbench(url: str, statement: str, duration: int, clients: int) -> float:
    u = make_url(url)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as fh:
        fh.write(" ".join(statement.split()) + ";\n")
        script = fh.name
    os.chmod(script, 0o644)
    env = {**os.environ, "PGPASSWORD": u.password or ""}
    out = subprocess.run([pgbench_bin(), "-n", "-M", "prepared", "-c", str(clients), "-j", "2", "-T", str(duration),
                          "-f", script, "-h", u.host, "-p", str(u.port), "-U", u.username, u.database],
                         capture_output=True, text=True, env=env, check=True).stdout
    os.unlink(script)
    return float(re.search(r"tps = ([\d.]+)", out).group(1))


def grow_to(engine: Engine, n: int) -> None:
    """Copies of the synthetic projects, shifted a little and still labelled synthetic, up to n synthetic rows."""
    with engine.begin() as conn:
        have = conn.execute(text("SELECT count(*) FROM projects WHERE source = 'synthetic'")).scalar()
        copies = (n - have) // N_SYNTHETIC
        if copies <= 0:
            return
        print(f"adding {copies * N_SYNTHETIC:,} synthetic copies for the export test …", flush=True)
        conn.execute(text("ALTER TABLE projects DISABLE TRIGGER USER"))  # bench database: no change history
        conn.execute(text("""
            INSERT INTO projects (code, name, sector, tier, status, division_code, total_investment,
                planned_investment, plan_year, start_year, end_year, company, responsible_unit, leader, scope, geom,
                coord_source, location_precision, source)
            SELECT 'SYN-X' || g || '-' || substr(code, 5), name, sector, tier, status, division_code,
                total_investment, planned_investment, plan_year, start_year, end_year, company, responsible_unit,
                leader, scope, ST_Translate(geom, 0.001 * g, 0.0005 * g), coord_source, location_precision, source
            FROM projects CROSS JOIN generate_series(1, :copies) g
            WHERE source = 'synthetic' AND code NOT LIKE 'SYN-X%'
        """), {"copies": copies})
        conn.execute(text("ALTER TABLE projects ENABLE TRIGGER USER"))
    vacuum(engine)


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MB."""
    total = 0
    pids = [pid] + [int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                                                     text=True).stdout.split()]
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total / 1024


def export_memory(port: int, pid: int) -> tuple[int, float, float, float]:
    """(bytes, seconds, RSS before, peak RSS) of streaming every project as GeoJSON."""
    before = peak = rss_mb(pid)
    size = 0
    t0 = time.time()
    last = 0.0
    with httpx.stream("GET", f"http://127.0.0.1:{port}/collections/projects/items?f=geojson", timeout=600) as r:
        r.raise_for_status()
        for chunk in r.iter_bytes(1 << 20):
            size += len(chunk)
            if time.time() - last > 0.2:
                peak = max(peak, rss_mb(pid))
                last = time.time()
    peak = max(peak, rss_mb(pid))
    return size, time.time() - t0, before, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per request (averaged)")
    parser.add_argument("--skip-export", action="store_true")
    args = parser.parse_args()
    ensure_tools()
    url, _cluster = database()
    engine = create_engine(url)
    migrate.upgrade(engine)
    load(engine)
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM projects WHERE deleted_at IS NULL")).scalar()
    print(f"projects: {count:,} (8 named + {count - 8:,} synthetic)")
    tile = f"tiles/WebMercatorQuad/{TILE.z}/{TILE.x}/{TILE.y}"
    cases = [
        ("items?limit=1000", "items?limit=1000", 3.0),
        (f"items?limit=100&bbox={BBOX}&sector={SECTOR}", f"items?limit=100&bbox={BBOX}&sector={SECTOR}", 1.5),
        (f"z8 tile {tile}?sector={SECTOR}", f"{tile}?sector={SECTOR}", 1.0),
    ]
    geo, geo_port = start_geoapp(url)
    try:
        tipg, tipg_port = start_tipg(url)
    except BaseException:
        stop(geo)
        raise
    results = []
    try:
        for label, path, bar in cases:
            g_url = f"http://127.0.0.1:{geo_port}/collections/projects/{path}"
            t_url = f"http://127.0.0.1:{tipg_port}/collections/public.projects/{path}"
            for u in (g_url, t_url):  # warm up, and fail loudly on an error response
                httpx.get(u, timeout=60).raise_for_status()
            # alternate the three in short rounds so a change in the machine's load hits all of them alike
            statement = geoapp_sql(engine, "/collections/projects/" + path)
            g_runs, t_runs, p_runs = [], [], []
            for _ in range(args.rounds):
                g_runs.append(wrk(g_url, args.duration, args.connections))
                t_runs.append(wrk(t_url, args.duration, args.connections))
                p_runs.append(pgbench(url, statement, args.duration, args.connections))
            g, t, p = (sum(r) / len(r) for r in (g_runs, t_runs, p_runs))
            results.append((label, g, t, p, bar))
            print(f"{label}\n  geoapp {g:8.1f} req/s | tipg {t:8.1f} req/s | pgbench same SQL {p:8.1f} tps"
                  f"\n  geoapp/tipg = {g / t:5.2f} (bar {bar:g}) {'OK' if g / t >= bar else 'BELOW BAR'}"
                  f" | geoapp/pgbench = {g / p:5.2f} (bar 0.50) {'OK' if g / p >= 0.5 else 'BELOW BAR'}",
                  flush=True)
    finally:
        stop(tipg)
        stop(geo)
    if not args.skip_export:
        grow_to(engine, N_EXPORT)
        geo, geo_port = start_geoapp(url)
        try:
            size, seconds, before, peak = export_memory(geo_port, geo.pid)
        finally:
            stop(geo)
        with engine.connect() as conn:
            n = conn.execute(text("SELECT count(*) FROM projects WHERE deleted_at IS NULL")).scalar()
        print(f"GeoJSON export of {n:,} projects: {size / 1e6:,.0f} MB in {seconds:.1f} s; server RSS "
              f"{before:.0f} MB before, peak {peak:.0f} MB (bar < 300 MB) {'OK' if peak < 300 else 'ABOVE BAR'}")
    engine.dispose()
    if _cluster is not None:
        _cluster.stop()  # the data stays under /tmp/geoapp-bench-layers for the next run
    print("\nsummary")
    for label, g, t, p, bar in results:
        print(f"  {label:55s} geoapp/tipg {g / t:5.2f} (≥ {bar:g})   geoapp/pgbench {g / p:5.2f} (≥ 0.50)")


if __name__ == "__main__":
    main()
