"""Web map speed in headless Chromium (issue 5).

1. With 2,000 projects (the size of Tongliao's whole library: 8 named + 1,992 synthetic), the first render of the
   map with every marker: from navigation start to the moment the last marker batch is clustered and drawn
   (``geoapp.timings.rendered``), each run in a fresh browser context (nothing cached). Target ≤ 1.5 s.
2. With 100,000 synthetic projects (the page switches to the layers API's vector tiles), frame times while the map
   is panned and zoomed (a requestAnimationFrame loop records every frame), once from the whole-city view (clustered
   tiles) and once from the first zoom without clusters over the city seat (every project drawn). Target: frames
   ≤ 100 ms.
   The same script is then run with the projects layer hidden (``?projects=0``): what the browser and the shared
   machine do without the projects, to tell the page's own long frames from the machine's.
The 1-minute load average is printed with each figure (the machine is shared).

Usage: .venv/bin/python bench/bench_webmap.py [--runs 5] [--big 100000]
Starts its own embedded PostgreSQL (or uses GEOAPP_BENCH_DATABASE_URL) and its own `geoapp serve` process.
"""

from __future__ import annotations

import argparse
import math
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
from bench_database import BenchDatabase
from playwright.sync_api import sync_playwright
from sqlalchemy import text

from geoapp.db import migrate
from geoapp.db.engine import make_engine
from geoapp.demo import load_demo, load_synthetic
from geoapp.layers.registry import registry

REPO = Path(__file__).resolve().parent.parent
LAYERS = REPO / "layers"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

FRAMES_JS = """() => {
    window.__frames = []; let last = performance.now();
    const tick = (t) => { window.__frames.push(t - last); last = t; if (!window.__stop) requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load(url: str, synthetic: int) -> int:
    engine = make_engine(url)
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE projects, project_progress RESTART IDENTITY CASCADE"))
        load_demo(conn, LAYERS)
        load_synthetic(conn, synthetic, LAYERS, seed=11)
        n = conn.execute(text("SELECT count(*) FROM projects")).scalar()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE projects"))
    engine.dispose()
    return n


def serve(url: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "GEOAPP_DATABASE_URL": url}
    proc = subprocess.Popen([str(REPO / ".venv" / "bin" / "geoapp"), "serve", "--no-demo", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.terminate()
    raise SystemExit("geoapp serve did not start")


def first_render(browser, base: str, runs: int, expected: int) -> list[float]:
    times = []
    for _ in range(runs):
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.goto(base + "/")
        page.wait_for_function("Number(document.body.dataset.loaded) >= 1", timeout=60000)
        shown = page.evaluate("geoapp.projects.shownCount()")
        if shown != expected:
            raise SystemExit(f"the map shows {shown} projects, expected {expected}")
        times.append(page.evaluate("geoapp.timings.rendered"))
        context.close()
    return times


def load_average() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def pan_zoom_frames(browser, base: str, query: str = "") -> dict:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(base + "/" + query)
    page.wait_for_function("Number(document.body.dataset.loaded) >= 1", timeout=120000)
    mode = page.evaluate("geoapp.mode")
    page.wait_for_timeout(1500)  # the first tiles
    page.evaluate(FRAMES_JS)
    steps = [
        "geoapp.map.panBy([300, 0], {duration: 0.5})", "geoapp.map.panBy([0, 250], {duration: 0.5})",
        "geoapp.map.zoomIn(1)", "geoapp.map.zoomIn(1)", "geoapp.map.panBy([-400, -100], {duration: 0.5})",
        "geoapp.map.zoomIn(1)", "geoapp.map.panBy([200, 200], {duration: 0.5})", "geoapp.map.zoomOut(1)",
        "geoapp.map.zoomOut(1)", "geoapp.map.panBy([-300, 0], {duration: 0.5})", "geoapp.map.zoomOut(1)",
        "geoapp.map.zoomIn(2)", "geoapp.map.panBy([500, 300], {duration: 0.8})", "geoapp.map.zoomOut(2)",
    ]
    for step in steps:
        page.evaluate(step)
        page.wait_for_timeout(700)
    page.evaluate("window.__stop = true")
    frames = page.evaluate("window.__frames")[1:]
    context.close()
    frames.sort()
    return {"mode": mode, "frames": len(frames), "p50": statistics.median(frames),
            "p95": frames[int(0.95 * (len(frames) - 1))], "p99": frames[int(0.99 * (len(frames) - 1))],
            "max": frames[-1], "over_100ms": sum(1 for f in frames if f > 100)}


def tile_sizes(base: str, z: int, lon: float = 122.24, lat: float = 43.65) -> str:
    """Bytes and time of a tile over the city seat: every tile property vs the ones the map asks for."""
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    url = f"{base}/collections/projects/tiles/WebMercatorQuad/{z}/{x}/{y}"
    out = []
    for label, params in (("all properties", {}), ("properties=code,sector,total_investment",
                                                  {"properties": "code,sector,total_investment"})):
        t0 = time.perf_counter()
        size = len(httpx.get(url, params=params, timeout=60).content)
        out.append(f"{label}: {size / 1e6:.2f} MB in {1000 * (time.perf_counter() - t0):.0f} ms")
    return f"tile {z}/{x}/{y}: " + "; ".join(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--big", type=int, default=100_000)
    args = ap.parse_args()
    db = BenchDatabase("geoapp-bench-webmap-")
    url = db.url
    try:
        n = load(url, 2000 - 8)
        proc, base = serve(url)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
                times = first_render(browser, base, args.runs, n)
                print(f"first render, {n} projects, all markers: median {statistics.median(times):.0f} ms, "
                      f"max {max(times):.0f} ms over {len(times)} cold runs (target ≤ 1500 ms); {load_average()}")
                browser.close()
        finally:
            proc.terminate()
            proc.wait(10)
        t0 = time.time()
        n = load(url, args.big)
        print(f"loaded {n} projects in {time.time() - t0:.1f} s")
        proc, base = serve(url)
        try:
            with sync_playwright() as p:
                detail = int(registry(LAYERS)["projects"].tiles["cluster_max_zoom"]) + 1
                print(tile_sizes(base, 9), "(clustered)")
                print(tile_sizes(base, detail, 122.18, 43.62), "(first zoom without clusters, densest area)")
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
                seat = f"?view={detail}/43.65/122.24"  # the city seat: the densest synthetic projects
                for label, query in ((f"{n} projects, whole city", ""),
                                     (f"{n} projects, zoom {detail}-{detail + 3} over the seat", seat),
                                     ("projects hidden (baseline)", "?projects=0"),
                                     ("projects hidden (baseline), over the seat", seat + "&projects=0")):
                    f = pan_zoom_frames(browser, base, query)
                    print(f"pan/zoom, {label} ({f['mode']}): {f['frames']} frames, p50 {f['p50']:.1f} ms, "
                          f"p95 {f['p95']:.1f} ms, p99 {f['p99']:.1f} ms, max {f['max']:.1f} ms, "
                          f"{f['over_100ms']} frames over 100 ms (target: none); {load_average()}")
                browser.close()
        finally:
            proc.terminate()
            proc.wait(10)
    finally:
        db.close()


if __name__ == "__main__":
    sys.exit(main())
