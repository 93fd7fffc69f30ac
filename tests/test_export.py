"""Exports re-import unchanged: XLSX, CSV, GeoJSON and GeoPackage, Chinese and English headers."""

import csv
import os
import subprocess
import sys

import pytest
from sqlalchemy import text

from geoapp.demo import named_projects
from geoapp.exports import write_projects
from geoapp.exports.gpkg import write_projects_gpkg
from geoapp.layers.filters import project_filter
from tests.conftest import LAYERS
from tests.test_ingest import HORQIN, HOUQI, KAILU, row, run_import, state, write_xlsx

COMPARED = ("code, name, sector, tier, status, division_code, total_investment, planned_investment, plan_year, "
            "start_year, end_year, company, responsible_unit, leader, scope, coord_source, location_precision, "
            "source, ST_X(geom) AS lon, ST_Y(geom) AS lat")


@pytest.fixture
def varied_db(demo_db, inner_points, tmp_path):
    """The named demo projects plus imported ones with units, NULLs, long decimals, a GCJ-02 point and texts that
    start like spreadsheet formulas."""
    lon, lat = inner_points[HORQIN]
    rows = [
        row(1, "科区", (lon + 0.0012345678901, lat - 0.0009876543210)),
        row(2, "开鲁", inner_points[KAILU], **{"总投资（亿元）": 0.123456, "建设单位": None, "包联领导": None}),
        row(3, "科左后旗", inner_points[HOUQI], **{"2025年计划投资（万元）": None, "竣工年份": None},
            建设内容及规模="第一行\n第二行：含换行的建设内容"),
    ]
    assert run_import(demo_db, write_xlsx(tmp_path / "seed.xlsx", rows)).ok
    gcj = tmp_path / "gcj.csv"
    gcj.write_text("项目编号,项目名称,旗县市区,行业领域,项目层级,项目状态,经度,纬度\n"
                   f"GCJ-9,高德取点项目（测试）,科区,文旅,策划,前期,{lon + 0.005},{lat + 0.002}\n", encoding="utf-8")
    assert run_import(demo_db, gcj, crs="gcj02").ok
    # texts a spreadsheet would run as formulas: the export quotes them ('=1+1), the import takes the quote off
    formulas = tmp_path / "formulas.csv"
    formulas.write_text("项目编号,项目名称,旗县市区,行业领域,项目层级,项目状态,建设单位,包联领导,建设内容及规模,经度,纬度\n"
                        f"FX-1,@SUM(A1),科区,文旅,策划,前期,=1+1,+86 138 0000 0000,-拆除旧厂房，新建车间,{lon},{lat}\n",
                        encoding="utf-8")
    assert run_import(demo_db, formulas).ok
    return demo_db


def rows_of(engine) -> dict[str, dict]:
    with engine.connect() as conn:
        return {r["code"]: dict(r) for r in conn.execute(text(f"SELECT {COMPARED} FROM projects")).mappings()}


def export(engine, path, fmt, lang="zh", **params) -> int:
    with engine.connect() as conn:
        expr = project_filter(conn, params, LAYERS)
        if fmt == "gpkg":
            return write_projects_gpkg(conn, expr, path, LAYERS, lang)
        return write_projects(conn, expr, path, fmt, LAYERS, lang)


@pytest.mark.parametrize("fmt, lang", [("xlsx", "zh"), ("csv", "zh"), ("geojson", "zh"), ("gpkg", "zh"),
                                       ("xlsx", "en"), ("csv", "en")])
def test_an_export_re_imports_with_every_project_unchanged(varied_db, tmp_path, fmt, lang):
    path = tmp_path / f"projects.{fmt}"
    count = export(varied_db, path, fmt, lang)
    before = state(varied_db)
    assert count == before[0] == len(named_projects()) + 5   # the named demo projects, 5 imported by varied_db
    report = run_import(varied_db, path, update=True)
    assert report.ok, report.text()
    assert (report.added, report.updated, report.unchanged) == (0, 0, count)
    assert report.ignored_columns == (["id"] if fmt in ("geojson", "gpkg") else [])  # GeoJSON's feature id
    assert state(varied_db) == before


def test_an_export_imported_into_an_empty_database_gives_the_same_projects(varied_db, tmp_path):
    original = rows_of(varied_db)
    path = tmp_path / "all.xlsx"
    export(varied_db, path, "xlsx")
    with varied_db.begin() as conn:
        conn.execute(text("TRUNCATE projects RESTART IDENTITY CASCADE"))
    report = run_import(varied_db, path)
    assert report.ok and report.added == len(original)
    copied = rows_of(varied_db)
    assert copied.keys() == original.keys()
    for code, before in original.items():
        after = copied[code]
        assert after["lon"] == pytest.approx(before["lon"], abs=1e-7)
        assert after["lat"] == pytest.approx(before["lat"], abs=1e-7)
        assert {k: v for k, v in after.items() if k not in ("lon", "lat")} == {
            k: v for k, v in before.items() if k not in ("lon", "lat")}, code
    assert copied["GCJ-9"]["coord_source"] == "gcj02"   # the provenance survives, the point is not converted twice
    assert copied["IMP-003"]["scope"] == "第一行\n第二行：含换行的建设内容"
    assert {k: copied["FX-1"][k] for k in ("name", "company", "leader", "scope")} == {
        "name": "@SUM(A1)", "company": "=1+1", "leader": "+86 138 0000 0000", "scope": "-拆除旧厂房，新建车间"}


def test_the_export_command_applies_the_filters_and_leaves_deleted_projects_out(varied_db, tmp_path, database_url):
    with varied_db.begin() as conn:
        conn.execute(text("UPDATE projects SET deleted_at = now() WHERE code = 'TL2025-003'"))
        expected = conn.execute(text(
            "SELECT code FROM projects WHERE sector = 'green_aluminium' AND division_code = '150581' "
            "AND deleted_at IS NULL ORDER BY code")).scalars().all()
    assert "TL2025-004" in expected and "TL2025-003" not in expected
    out = tmp_path / "aluminium.csv"
    done = subprocess.run([sys.executable, "-m", "geoapp", "export", "projects", str(out), "--sector", "绿电铝",
                           "--division", "霍市"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "GEOAPP_DATABASE_URL": database_url})
    assert done.returncode == 0, done.stderr
    assert f"已导出 {len(expected)} 个项目" in done.stdout
    with out.open(encoding="utf-8-sig") as fh:
        records = list(csv.DictReader(fh))
    assert [r["项目编号"] for r in records] == expected
    assert records[0]["行业领域"] == "绿色铝基新材料" and records[0]["旗县市区"] == "霍林郭勒市"

    bad = subprocess.run([sys.executable, "-m", "geoapp", "export", "projects", str(tmp_path / "x.csv"),
                          "--sector", "钢铁"], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "GEOAPP_DATABASE_URL": database_url})
    assert bad.returncode == 1 and "sector" in bad.stderr
