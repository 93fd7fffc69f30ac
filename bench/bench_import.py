"""Import speed (issue 4): a 10,000-row XLSX imports in ≤ 10 s; a 1,000,000-row CSV loads in ≤ 120 s, memory < 1 GB.

1. Starts its own embedded PostgreSQL (or uses GEOAPP_BENCH_DATABASE_URL), migrates it, loads Tongliao's divisions.
2. Writes the files from synthetic projects (geoapp.demo's generator: points inside the divisions, labelled
   示例…（合成数据）) the way a clerk's sheet looks: a merged title row, Chinese headers, 总投资 in 亿元, sectors,
   tiers and statuses as Chinese labels, banners by official name or short form.
3. Times `geoapp import projects FILE` as a separate process (every row checked, COPY into a staging table, one
   upsert, history rows written by the triggers, one transaction) and reads the child's peak memory (ru_maxrss).

Usage: .venv/bin/python bench/bench_import.py [--xlsx-rows 10000] [--csv-rows 1000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import openpyxl
from bench_database import BenchDatabase
from sqlalchemy import text

from geoapp.db import migrate
from geoapp.db.engine import make_engine
from geoapp.demo import synthetic_projects
from geoapp.divisions import load_divisions
from geoapp.settings import REPO_ROOT
from geoapp.vocab import vocabularies

LAYERS = REPO_ROOT / "layers"
HEADERS = ["序号", "项目编号", "项目名称", "旗县市区", "行业领域", "项目层级", "项目状态", "建设内容及规模",
           "总投资（亿元）", "2025年计划投资（万元）", "开工年份", "竣工年份", "建设单位", "责任单位", "包联领导",
           "经度", "纬度"]
BATCH = 50_000


def sheet_rows(conn, n: int, prefix: str, seed: int):
    """Synthetic projects as a clerk's rows (labels, names, 亿元), in batches so memory stays flat."""
    vocab = vocabularies(LAYERS)
    labels = {name: {t.code: t.zh for t in vocab[name].terms} for name in ("sector", "tier", "status")}
    names = dict(conn.execute(text("SELECT code, name FROM divisions")).all())
    shorts = dict(conn.execute(text("SELECT code, short_forms[1] FROM divisions")).all())
    done = 0
    batch_no = 0
    while done < n:
        k = min(BATCH, n - done)
        for p in synthetic_projects(conn, k, LAYERS, seed + batch_no):
            done += 1
            division = shorts[p["division_code"]] if done % 3 == 0 else names[p["division_code"]]
            yield [done, f"{prefix}-{done:07d}", p["name"], division, labels["sector"][p["sector"]],
                   labels["tier"][p["tier"]], labels["status"][p["status"]], p["scope"],
                   round(p["total_investment"] / 10000, 6), p["planned_investment"], p["start_year"], p["end_year"],
                   p["company"], p["responsible_unit"], p["leader"], p["lon"], p["lat"]]
        batch_no += 1


def write_xlsx(conn, path: Path, n: int) -> None:
    book = openpyxl.Workbook(write_only=True)
    ws = book.create_sheet("项目清单")
    ws.append(["通辽市重大项目清单（合成数据，基准测试用）"])
    ws.append(HEADERS)
    for row in sheet_rows(conn, n, "XL", 1):
        ws.append(row)
    book.save(path)


def write_csv(conn, path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADERS)
        writer.writerows(sheet_rows(conn, n, "CSV", 100))


def run_import(path: Path, url: str) -> tuple[float, float, str]:
    """(seconds, peak MB of the importing process, its output) for `geoapp import projects FILE`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "geoapp", "import", "projects", str(path), "--by", "bench"],
                          capture_output=True, text=True, env={**os.environ, "GEOAPP_DATABASE_URL": url})
    seconds = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if done.returncode != 0:
        raise SystemExit(f"import failed ({done.returncode}):\n{done.stderr[-3000:]}")
    # ru_maxrss of children is the largest child so far: report it only when this child set a new maximum.
    return seconds, max(peak, before) / 1024, done.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xlsx-rows", type=int, default=10_000)
    parser.add_argument("--csv-rows", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, default=None, help="keep the generated files here")
    args = parser.parse_args()

    db = BenchDatabase("geoapp-bench-import-")
    url = db.url
    engine = make_engine(url)
    work = args.keep or Path(tempfile.mkdtemp(prefix="geoapp-bench-files-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        migrate.upgrade(engine)
        with engine.begin() as conn:
            load_divisions(conn, "通辽市", LAYERS)
            conn.execute(text("TRUNCATE projects RESTART IDENTITY CASCADE"))
        xlsx, big = work / "projects_10k.xlsx", work / "projects_1m.csv"
        t = time.perf_counter()
        with engine.connect() as conn:
            write_xlsx(conn, xlsx, args.xlsx_rows)
        print(f"wrote {xlsx.name}: {args.xlsx_rows} rows, {xlsx.stat().st_size / 1e6:.1f} MB "
              f"({time.perf_counter() - t:.1f} s)")
        seconds, peak, said = run_import(xlsx, url)
        print(f"XLSX {args.xlsx_rows} rows: {seconds:.2f} s, peak memory {peak:.0f} MB  target ≤ 10 s  "
              f"{'OK' if seconds <= 10 else 'SLOW'}  | {said}")

        with engine.begin() as conn:
            conn.execute(text("TRUNCATE projects RESTART IDENTITY CASCADE"))
        t = time.perf_counter()
        with engine.connect() as conn:
            write_csv(conn, big, args.csv_rows)
        print(f"wrote {big.name}: {args.csv_rows} rows, {big.stat().st_size / 1e6:.0f} MB "
              f"({time.perf_counter() - t:.1f} s)")
        seconds, peak, said = run_import(big, url)
        print(f"CSV {args.csv_rows} rows: {seconds:.1f} s, peak memory {peak:.0f} MB  target ≤ 120 s, < 1024 MB  "
              f"{'OK' if seconds <= 120 and peak < 1024 else 'MISSED'}  | {said}")
        with engine.connect() as conn:
            count, history = conn.execute(text(
                "SELECT (SELECT count(*) FROM projects), (SELECT count(*) FROM project_history)")).one()
        print(f"projects in the table: {count}; history rows: {history}")
    finally:
        engine.dispose()
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
        db.close()


if __name__ == "__main__":
    main()
