"""Readers keep being served while a large import runs (hardening issue, item 6).

A file of 32 MiB or more switched the import to a bulk mode that dropped the secondary indexes of ``projects`` in
its transaction: an ACCESS EXCLUSIVE lock held to the end, also for a dry run and for a file that failed on its
last row. Every read of projects (items, tiles) waited for it (≈ 11 s for a 32 MB dry run).
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path

import httpx
from sqlalchemy import text

from tests.browser_support import live_server
from tests.test_ingest import HORQIN

MiB = 1024 * 1024
SCOPE = "新建标准化厂房及配套设施，" * 10  # a realistic, long 建设内容及规模 cell (≈ 400 bytes a row in all)


def tile_over(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The WebMercatorQuad tile holding a point."""
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def big_csv(path: Path, point: tuple[float, float], bad_last_row: bool) -> Path:
    """A CSV of ≥ 32 MiB of valid rows of 科尔沁区 (synthetic), optionally ending in a row with an unknown sector."""
    lon, lat = point
    rows = ["项目编号,项目名称,旗县市区,行业领域,项目层级,项目状态,建设内容及规模,经度,纬度\n"]
    size, i = 0, 0
    while size < 33 * MiB:
        i += 1
        line = f"BIG-{path.stem}-{i:07d},大文件测试项目{i}（合成数据）,科区,医药,实施,在建,{SCOPE},{lon},{lat}\n"
        rows.append(line)
        size += len(line.encode())
    if bad_last_row:
        rows.append(f"BIG-{path.stem}-bad,坏行（合成数据）,科区,钢铁,实施,在建,{SCOPE},{lon},{lat}\n")
    path.write_text("".join(rows), encoding="utf-8")
    assert path.stat().st_size >= 32 * MiB
    return path


def test_items_tiles_and_health_answer_within_a_second_while_large_imports_run(
        engine, settings, demo_db, accounts, inner_points, tmp_path):
    point = inner_points[HORQIN]
    dry = big_csv(tmp_path / "dry.csv", point, bad_last_row=False)
    failing = big_csv(tmp_path / "failing.csv", point, bad_last_row=True)
    with engine.connect() as conn:
        before = conn.execute(text("SELECT count(*), (SELECT count(*) FROM project_history) FROM projects")).one()
    x, y = tile_over(*point, 8)
    reads = ["/collections/projects/items?limit=10", f"/collections/projects/tiles/WebMercatorQuad/8/{x}/{y}",
             "/health"]

    with live_server(engine, settings) as base:
        answers: dict[str, httpx.Response] = {}

        def run() -> None:  # one after the other, as a clerk would
            with httpx.Client(base_url=base, timeout=300) as importer:
                for name, path, dry_run in (("dry", dry, True), ("failing", failing, False)):
                    answers[name] = importer.post("/imports", files={"file": (path.name, path.read_bytes())},
                                                  data={"dry_run": str(dry_run).lower()}, headers=accounts["editor"])

        imports = [threading.Thread(target=run)]
        with httpx.Client(base_url=base, timeout=10) as reader:
            for path in reads:  # warm: the first request of each kind pays for imports and caches
                assert reader.get(path).status_code == 200
            for thread in imports:
                thread.start()
            slowest: dict[str, float] = dict.fromkeys(reads, 0.0)
            rounds_during_imports = 0
            while any(t.is_alive() for t in imports):
                for path in reads:
                    started = time.monotonic()
                    answer = reader.get(path)
                    slowest[path] = max(slowest[path], time.monotonic() - started)
                    assert answer.status_code == 200, (path, answer.text[:300])
                if any(t.is_alive() for t in imports):
                    rounds_during_imports += 1  # the whole round ran while an import was still running
                time.sleep(0.05)
            for thread in imports:
                thread.join()

    assert rounds_during_imports >= 3, "the imports ended before the readers were tried"
    print(f"slowest answers during the imports ({rounds_during_imports} rounds): {slowest}")
    assert all(seconds < 1.0 for seconds in slowest.values()), slowest
    assert answers["dry"].status_code == 200, answers["dry"].text[:500]
    dry_report = answers["dry"].json()
    assert dry_report["rows"] > 50_000 and dry_report["counts"]["added"] == dry_report["rows"]
    report = answers["failing"].json()
    assert answers["failing"].status_code == 422 and report["problem_count"] == 1
    assert report["problems"][0]["column"] == "行业领域"
    with engine.connect() as conn:
        after = conn.execute(text("SELECT count(*), (SELECT count(*) FROM project_history) FROM projects")).one()
    assert after == before
