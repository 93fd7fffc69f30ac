"""Imports of real files built here: XLSX with a merged title row, GBK CSV, GeoJSON, GeoPackage, Shapefile."""

import csv
import json
import os
import re
import subprocess
import sys
import zipfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import openpyxl
import pytest
import shapely
from pyogrio.raw import write as write_layer
from pyproj import Geod, Transformer
from sqlalchemy import text

from geoapp.ingest import ImportOptions, import_file
from tests.conftest import LAYERS
from tests.test_ingest_coords import published_bd09, published_gcj02

GEOD = Geod(ellps="WGS84")
HORQIN, JARUD, HOUQI, KAILU = "150502", "150526", "150522", "150523"  # 科尔沁区, 扎鲁特旗, 科左后旗, 开鲁县

# A clerk's sheet: a merged title row, a note row, then Chinese headers with units.
HEADERS = ["序号", "项目编号", "项目名称", "所属地区", "产业类别", "库别", "项目状态", "建设内容及规模",
           "总投资（亿元）", "2025年计划投资（万元）", "开工时间", "竣工年份", "建设单位", "责任单位", "包联领导",
           "经度", "纬度"]
FIRST_DATA_ROW = 4


def write_xlsx(path: Path, rows: list[list], headers: list[str] = HEADERS, sheet: str = "项目清单") -> Path:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet
    ws.append(["2025年通辽市重大项目清单（测试数据）"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    ws.append(["填报单位：测试", None, None, "单位：亿元、万元"])
    ws.append(headers)
    for row in rows:
        ws.append(row)
    book.save(path)
    return path


def row(i: int, division: str, point: tuple[float, float], **over) -> list:
    """One sheet row in HEADERS order (synthetic test data)."""
    values = {
        "序号": i, "项目编号": f"IMP-{i:03d}", "项目名称": f"测试项目{i}（合成数据）", "所属地区": division,
        "产业类别": "绿电铝", "库别": "实施库", "项目状态": "续建", "建设内容及规模": "测试用建设内容",
        "总投资（亿元）": 1.5, "2025年计划投资（万元）": 3000, "开工时间": datetime(2024, 3, 1),
        "竣工年份": "2026年", "建设单位": "测试建设单位", "责任单位": "测试责任单位", "包联领导": "测试领导",
        "经度": point[0], "纬度": point[1],
    }
    values.update(over)
    return [values[h] for h in HEADERS]


def state(engine) -> tuple:
    """Count and checksum of the projects table, and the history size: proof that nothing was written."""
    with engine.connect() as conn:
        return tuple(conn.execute(text(
            "SELECT (SELECT count(*) FROM projects), "
            "(SELECT md5(coalesce(string_agg(p::text, '|' ORDER BY id), '')) FROM projects p), "
            "(SELECT count(*) FROM project_history)"
        )).one())


def stored(engine, code: str) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(text(
            "SELECT *, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM projects WHERE code = :c"), {"c": code}
        ).mappings().one())


def run_import(engine, path: Path, **options):
    return import_file(engine, path, LAYERS, ImportOptions(**options))


def problems(report) -> dict[int | None, list[str]]:
    out: dict[int | None, list[str]] = {}
    for p in report.problems:
        out.setdefault(p.row, []).append(p.zh)
    return out


def test_an_xlsx_with_a_title_row_and_chinese_headers_imports_with_units_short_names_and_aliases(
        empty_db, inner_points, tmp_path):
    jarud, horqin = inner_points[JARUD], inner_points[HORQIN]
    dms_lon = f"{int(horqin[0])}°{int(horqin[0] * 60 % 60)}′{horqin[0] * 3600 % 60:.3f}″"
    path = write_xlsx(tmp_path / "清单.xlsx", [
        row(1, "扎旗", jarud),
        row(2, "科区", horqin, 产业类别="风电装备", 库别="储备", 项目状态="前期工作", **{"总投资（亿元）": "0.8"}),
        row(3, "扎鲁特旗", jarud, 产业类别="LNG", **{"总投资（亿元）": None, "经度": dms_lon, "纬度": horqin[1]},
            所属地区="科尔沁区"),
    ])
    report = run_import(empty_db, path)
    assert report.ok, report.text()
    assert (report.added, report.updated, report.unchanged) == (3, 0, 0)
    assert report.header_row == 3 and report.sheet == "项目清单" and report.format == "xlsx"
    assert report.ignored_columns == ["序号"]

    first = stored(empty_db, "IMP-001")
    assert first["division_code"] == JARUD
    assert first["total_investment"] == Decimal("15000.00")       # 1.5亿元 → 15000万元
    assert first["planned_investment"] == Decimal("3000.00") and first["plan_year"] == 2025
    assert (first["start_year"], first["end_year"]) == (2024, 2026)
    assert (first["sector"], first["tier"], first["status"]) == ("green_aluminium", "implementation", "construction")
    assert first["coord_source"] == "wgs84" and first["source"] == "导入 / import: 清单.xlsx"
    assert first["lon"] == pytest.approx(jarud[0]) and first["lat"] == pytest.approx(jarud[1])
    second = stored(empty_db, "IMP-002")
    assert (second["sector"], second["tier"], second["status"]) == ("wind_equipment", "reserve", "preliminary")
    assert second["total_investment"] == Decimal("8000.00")
    third = stored(empty_db, "IMP-003")
    assert third["total_investment"] is None and third["sector"] == "lng"
    assert third["lon"] == pytest.approx(horqin[0], abs=1e-6)     # degrees-minutes-seconds


def test_importing_the_same_file_again_changes_nothing_and_update_counts_only_what_changed(
        empty_db, inner_points, tmp_path):
    rows = [row(i, "开鲁", inner_points[KAILU]) for i in range(1, 6)]
    path = write_xlsx(tmp_path / "a.xlsx", rows)
    assert run_import(empty_db, path).added == 5
    again = run_import(empty_db, path, update=True)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 5)

    rows[1][HEADERS.index("项目名称")] = "改过名称的项目"
    rows.append(row(6, "开鲁", inner_points[KAILU]))
    changed = run_import(empty_db, write_xlsx(tmp_path / "b.xlsx", rows), update=True)
    assert (changed.added, changed.updated, changed.unchanged) == (1, 1, 4)
    assert stored(empty_db, "IMP-002")["name"] == "改过名称的项目"
    assert stored(empty_db, "IMP-002")["version"] == 2


def test_every_class_of_bad_row_is_reported_with_its_row_number_and_nothing_is_written(
        demo_db, inner_points, tmp_path):
    horqin, jarud = inner_points[HORQIN], inner_points[JARUD]
    rows = [
        row(1, "科区", horqin),                                               # 4 good
        row(2, "科区", horqin, 项目名称=""),                                   # 5 required field
        row(3, "科区", horqin, **{"总投资（亿元）": "约一亿"}),                   # 6 not a number
        row(4, "科区", horqin, 产业类别="钢铁"),                                 # 7 unknown sector
        row(5, "北京市", horqin),                                              # 8 unknown division
        row(6, "科区", (10.0, 10.0)),                                         # 9 outside China
        row(7, "科区", (116.397, 39.909)),                                    # 10 in China, not in the city
        row(8, "扎旗", horqin),                                               # 11 in 科尔沁区, named 扎鲁特旗
        row(9, "科区", (horqin[1], horqin[0])),                               # 12 swapped lon/lat
        row(1, "科区", horqin),                                               # 13 duplicate of row 4
        row(10, "扎旗", jarud, 项目编号="TL2025-001"),                          # 14 already in the database
        row(11, "科区", horqin, 开工时间=2027, 竣工年份=2025),                     # 15 end before start
        row(12, "科区", horqin, **{"总投资（亿元）": -5}),                        # 16 negative amount
        row(13, "科区", horqin, 开工时间="明年"),                                # 17 not a year
        row(14, "科区", horqin, 经度="东经一百二十二度"),                          # 18 not a coordinate
        row(15, "科区", horqin, 项目状态="已完成了"),                             # 19 unknown status
    ]
    path = write_xlsx(tmp_path / "bad.xlsx", rows)
    before = state(demo_db)
    report = run_import(demo_db, path)
    assert not report.ok and not report.written
    assert state(demo_db) == before

    found = problems(report)
    assert 4 not in found
    assert any("必填项“项目名称”为空" in r for r in found[5])
    assert found[6] == ["不是数字"]
    assert "未知的行业领域" in found[7][0] and "绿色铝基新材料(green_aluminium)" in found[7][0]
    assert "未知的旗县市区" in found[8][0] and "科尔沁左翼中旗" in found[8][0]
    assert "不在中国境内" in found[9][0]
    assert "不在通辽市范围内" in found[10][0]
    assert "位于科尔沁区" in found[11][0] and "扎鲁特旗" in found[11][0] and "公里" in found[11][0]
    assert "填反" in found[12][0]
    assert found[13] == ["项目编号与第 4 行重复"]
    assert "已存在" in found[14][0] and "--update" in found[14][0]
    assert "竣工年份早于开工年份" in found[15][0]
    assert "负数" in found[16][0]
    assert "不是年份" in found[17][0]
    assert "不是经纬度" in found[18][0]
    assert "未知的项目状态" in found[19][0] and "在建(construction)" in found[19][0]
    assert report.problem_count == len(report.problems) == 15

    by_row = {p.row: p for p in report.problems}
    assert by_row[6].column == "总投资（亿元）" and by_row[6].value == "约一亿"
    assert by_row[7].column == "产业类别" and by_row[7].value == "钢铁"
    assert by_row[14].column == "项目编号" and by_row[14].value == "TL2025-001"


def test_a_banner_mismatch_names_both_banners_and_the_true_distance_to_the_named_one(
        empty_db, inner_points, tmp_path):
    horqin = inner_points[HORQIN]
    report = run_import(empty_db, write_xlsx(tmp_path / "m.xlsx", [row(1, "开鲁县", horqin)]))
    [problem] = report.problems
    km = float(re.search(r"距开鲁县边界 ([\d.]+) 公里", problem.zh).group(1))
    with empty_db.connect() as conn:
        expected = conn.execute(text(
            "SELECT ST_Distance(boundary::geography, ST_SetSRID(ST_MakePoint(:x, :y), 4326)::geography) / 1000 "
            "FROM divisions WHERE code = :c"), {"x": horqin[0], "y": horqin[1], "c": KAILU}).scalar()
    assert km == pytest.approx(expected, rel=0.01, abs=0.1)
    assert "Horqin District" in problem.en and "Kailu County" in problem.en


def test_english_messages_come_with_lang_en(empty_db, inner_points, tmp_path):
    path = write_xlsx(tmp_path / "e.xlsx", [row(1, "科区", inner_points[HORQIN], 产业类别="钢铁")])
    report = run_import(empty_db, path)
    data = report.as_dict("en")
    assert data["ok"] is False and data["counts"] is None
    [p] = data["problems"]
    assert p["row"] == FIRST_DATA_ROW and p["column"] == "产业类别" and p["value"] == "钢铁"
    assert p["reason"].startswith("unknown sector; allowed:") and "Green aluminium" in p["reason"]
    assert "nothing was imported" in data["message"]


def test_a_dry_run_reports_the_counts_and_writes_nothing(demo_db, inner_points, tmp_path):
    before = state(demo_db)
    report = run_import(demo_db, write_xlsx(tmp_path / "d.xlsx", [row(1, "科区", inner_points[HORQIN])]),
                        dry_run=True)
    assert report.ok and not report.written and report.added == 1
    assert "试运行" in report.summary()
    assert state(demo_db) == before


def test_a_missing_required_column_and_a_sheet_without_headers_are_file_level_problems(empty_db, tmp_path):
    headers = [h for h in HEADERS if h not in ("库别", "纬度")]
    report = run_import(empty_db, write_xlsx(tmp_path / "h.xlsx", [], headers=headers))
    reasons = " ".join(p.zh for p in report.problems)
    assert "缺少必需的列“项目层级”" in reasons and "缺少必需的列“纬度”" in reasons

    book = openpyxl.Workbook()
    book.active.append(["只有一行说明文字"])
    book.save(tmp_path / "none.xlsx")
    report = run_import(empty_db, tmp_path / "none.xlsx")
    assert "找不到表头" in report.problems[0].zh

    report = run_import(empty_db, write_xlsx(tmp_path / "s.xlsx", []), sheet="不存在的表")
    assert "工作表“不存在的表”不存在" in report.problems[0].zh and "项目清单" in report.problems[0].zh


def test_a_gbk_csv_with_one_coordinate_column_and_a_total_row_is_read(empty_db, inner_points, tmp_path):
    lon, lat = inner_points[HOUQI]
    path = tmp_path / "gbk.csv"
    with path.open("w", encoding="gbk", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["编号", "项目名称", "旗县市区", "所属行业", "项目层级", "建设状态", "总投资(万元)", "坐标"])
        w.writerow(["GBK-1", "盈通能源天然气液化项目（测试）", "科左后旗", "天然气液化（LNG）", "实施", "在建",
                    "100,000", f"{lon},{lat}"])
        w.writerow(["GBK-2", "科左后旗储能项目（测试）", "科尔沁左翼后旗", "储能", "储备", "前期", "",
                    f"{lon}，{lat}"])
        w.writerow(["合计", "", "", "", "", "", "100000", ""])
    raw = path.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    report = run_import(empty_db, path)
    assert report.ok, report.text()
    assert report.added == 2 and report.skipped_rows == [4]
    first = stored(empty_db, "GBK-1")
    assert first["sector"] == "lng" and first["total_investment"] == Decimal("100000.00")
    assert stored(empty_db, "GBK-2")["sector"] == "renewable_energy"


def test_gcj02_geojson_points_land_within_a_metre_of_the_true_wgs84_point(empty_db, inner_points, tmp_path):
    truth = {code: inner_points[code] for code in (HORQIN, JARUD, KAILU)}
    features = []
    for i, (code, (lon, lat)) in enumerate(truth.items()):
        gx, gy = published_gcj02(lon, lat)
        features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [gx, gy]},
                         "properties": {"code": f"GCJ-{i}", "name": f"高德取点项目{i}（测试）", "division": code,
                                        "sector": "Corn biotech", "tier": "planning", "status": "preliminary",
                                        "total_investment": 500}})
    path = tmp_path / "amap.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False))
    report = run_import(empty_db, path, crs="gcj02")
    assert report.ok, report.text()
    for i, (lon, lat) in enumerate(truth.values()):
        got = stored(empty_db, f"GCJ-{i}")
        assert got["coord_source"] == "gcj02" and got["sector"] == "corn_bio"
        assert GEOD.inv(lon, lat, got["lon"], got["lat"])[2] < 1.0


def test_bd09_csv_points_land_within_a_metre_and_a_header_can_name_the_system(empty_db, inner_points, tmp_path):
    lon, lat = inner_points[KAILU]
    bx, by = published_bd09(lon, lat)
    path = tmp_path / "baidu.csv"
    path.write_text("项目编号,项目名称,旗县市区,行业领域,项目层级,项目状态,经度(百度),纬度(百度)\n"
                    f"BD-1,百度取点项目（测试）,开鲁,医药,实施,在建,{bx:.9f},{by:.9f}\n", encoding="utf-8-sig")
    report = run_import(empty_db, path)
    assert report.ok, report.text()
    assert report.crs == "bd09"
    got = stored(empty_db, "BD-1")
    assert GEOD.inv(lon, lat, got["lon"], got["lat"])[2] < 1.0 and got["coord_source"] == "bd09"

    conflict = run_import(empty_db, path, crs="gcj02", update=True)
    assert "坐标系不一致" in conflict.problems[0].zh


def test_without_the_crs_option_gcj02_points_near_a_boundary_can_fail_but_never_silently_shift(
        empty_db, inner_points, tmp_path):
    # The same GCJ-02 file read as WGS84 stores points ~0.5 km off; with --crs gcj02 they are exact.
    lon, lat = inner_points[HORQIN]
    gx, gy = published_gcj02(lon, lat)
    path = tmp_path / "g.csv"
    path.write_text("项目编号,项目名称,旗县市区,行业领域,项目层级,项目状态,经度,纬度\n"
                    f"G-1,测试（合成数据）,科区,医药,实施,在建,{gx},{gy}\n", encoding="utf-8")
    assert run_import(empty_db, path, crs="gcj02").ok
    got = stored(empty_db, "G-1")
    assert GEOD.inv(lon, lat, got["lon"], got["lat"])[2] < 1.0


def test_geopackage_in_a_projected_crs_and_a_zipped_shapefile_are_read_through_pyogrio(
        empty_db, inner_points, tmp_path):
    lon, lat = inner_points[HOUQI]
    to_gk = Transformer.from_crs(4326, 4527, always_xy=True)  # CGCS2000 3-degree Gauss-Kruger zone 41 (123°E)
    x, y = to_gk.transform(lon, lat)
    fields = {"项目编号": np.array(["GP-1"], dtype=object), "项目名称": np.array(["图层项目（测试）"], dtype=object),
              "旗县市区": np.array(["科左后旗"], dtype=object), "行业领域": np.array(["数字经济"], dtype=object),
              "项目层级": np.array(["储备"], dtype=object), "项目状态": np.array(["前期"], dtype=object),
              "总投资": np.array([1200.0])}
    gpkg = tmp_path / "p.gpkg"
    write_layer(gpkg, shapely.to_wkb(np.array([shapely.Point(x, y)])), list(fields.values()),
                  fields=list(fields), geometry_type="Point", crs="EPSG:4527", driver="GPKG", layer="projects")
    report = run_import(empty_db, gpkg)
    assert report.ok, report.text()
    got = stored(empty_db, "GP-1")
    assert GEOD.inv(lon, lat, got["lon"], got["lat"])[2] < 0.01 and got["total_investment"] == Decimal("1200.00")

    shp_dir = tmp_path / "shp"
    shp_dir.mkdir()
    ascii_fields = {"code": np.array(["SH-1"], dtype=object), "name": np.array(["形状文件项目（测试）"], dtype=object),
                    "division": np.array(["150522"], dtype=object), "sector": np.array(["tourism"], dtype=object),
                    "tier": np.array(["reserve"], dtype=object), "status": np.array(["preliminary"], dtype=object)}
    write_layer(shp_dir / "p.shp", shapely.to_wkb(np.array([shapely.Point(lon, lat)])),
                  list(ascii_fields.values()), fields=list(ascii_fields), geometry_type="Point", crs="EPSG:4326",
                  driver="ESRI Shapefile", encoding="UTF-8")
    with zipfile.ZipFile(tmp_path / "p.zip", "w") as zf:
        for part in shp_dir.iterdir():
            zf.write(part, part.name)
    report = run_import(empty_db, tmp_path / "p.zip")
    assert report.ok, report.text()
    assert stored(empty_db, "SH-1")["name"] == "形状文件项目（测试）"


def test_a_problem_in_the_last_of_many_chunks_still_leaves_the_table_untouched(empty_db, inner_points, tmp_path):
    lon, lat = inner_points[HORQIN]
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["项目编号", "项目名称", "旗县市区", "行业领域", "项目层级", "项目状态", "经度", "纬度"])
        for i in range(12_000):
            w.writerow([f"C-{i}", f"合成项目{i}", "科区", "医药", "实施", "在建", lon, lat])
        w.writerow(["C-last", "合成项目last", "科区", "医药", "实施", "在建", lon, "abc"])
    before = state(empty_db)
    report = run_import(empty_db, path)
    assert [p.row for p in report.problems] == [12_002]
    assert state(empty_db) == before


def test_the_cli_exits_non_zero_and_lists_problems_in_chinese_or_english(
        demo_db, inner_points, tmp_path, database_url):
    path = write_xlsx(tmp_path / "cli.xlsx", [row(1, "科区", inner_points[HORQIN], 产业类别="钢铁"),
                                               row(2, "科区", inner_points[HORQIN])])
    env = {**os.environ, "GEOAPP_DATABASE_URL": database_url}
    before = state(demo_db)
    zh = subprocess.run([sys.executable, "-m", "geoapp", "import", "projects", str(path)], capture_output=True,
                        text=True, env=env, timeout=120)
    assert zh.returncode == 2
    assert "第 4 行，列“产业类别”，值 “钢铁”：未知的行业领域" in zh.stderr
    en = subprocess.run([sys.executable, "-m", "geoapp", "import", "projects", str(path), "--lang", "en"],
                        capture_output=True, text=True, env=env, timeout=120)
    assert en.returncode == 2 and "row 4, column 产业类别" in en.stderr
    assert state(demo_db) == before

    ok = subprocess.run([sys.executable, "-m", "geoapp", "import", "projects",
                         str(write_xlsx(tmp_path / "ok.xlsx", [row(1, "科区", inner_points[HORQIN])])),
                         "--by", "测试员"], capture_output=True, text=True, env=env, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "新增 1" in ok.stdout
    with demo_db.connect() as conn:
        assert conn.execute(text(
            "SELECT actor, action FROM project_history WHERE project_code = 'IMP-001'")).one() == ("测试员", "create")


def test_a_bulk_import_rebuilds_every_index_and_a_failed_one_keeps_them(empty_db, inner_points, tmp_path):
    def indexes():
        with empty_db.connect() as conn:
            return conn.execute(text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'projects' ORDER BY 1")).all()

    before = indexes()
    assert len(before) >= 10
    good = write_xlsx(tmp_path / "bulk.xlsx", [row(i, "科区", inner_points[HORQIN]) for i in range(1, 4)])
    report = run_import(empty_db, good, bulk=True)
    assert report.ok and report.added == 3
    assert indexes() == before
    bad = write_xlsx(tmp_path / "bulk-bad.xlsx", [row(9, "科区", inner_points[HORQIN], 产业类别="钢铁")])
    assert not run_import(empty_db, bad, bulk=True).ok
    assert indexes() == before
    with empty_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM projects")).scalar() == 3


def test_a_csv_row_after_a_quoted_cell_with_a_line_break_is_numbered_as_the_spreadsheet_shows_it(
        empty_db, inner_points, tmp_path):
    lon, lat = inner_points[HORQIN]
    path = tmp_path / "multiline.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["项目编号", "项目名称", "旗县市区", "行业领域", "项目层级", "项目状态", "建设内容及规模",
                    "经度", "纬度"])
        w.writerow(["ML-1", "多行内容项目（合成数据）", "科区", "医药", "实施", "在建",
                    "一期：厂房\n二期：仓库\n三期：道路", lon, lat])
        w.writerow(["ML-2", "行业写错的项目（合成数据）", "科区", "钢铁", "实施", "在建", "", lon, lat])
    assert path.read_text(encoding="utf-8").count("\n") == 5   # 3 records on 5 physical lines
    report = run_import(empty_db, path)
    [problem] = report.problems
    assert problem.row == 3 and problem.column == "行业领域" and problem.value == "钢铁"


def test_a_row_with_a_bad_cell_still_gets_its_point_and_code_checked(demo_db, inner_points, tmp_path):
    horqin = inner_points[HORQIN]
    path = write_xlsx(tmp_path / "both.xlsx", [
        row(1, "扎旗", horqin, 产业类别="钢铁"),                                  # 4 bad sector + wrong banner
        row(2, "北京市", (horqin[1], horqin[0])),                                # 5 unknown banner + swapped
        row(3, "扎旗", inner_points[JARUD], 项目编号="TL2025-001", 库别="不存在"),  # 6 bad tier + code in the database
        row(4, "科区", (116.397, 39.909), 项目编号="TL2025-002"),                 # 7 outside the city + in the database
    ])
    before = state(demo_db)
    report = run_import(demo_db, path)
    assert state(demo_db) == before
    found = problems(report)
    assert len(found[4]) == 2 and "未知的行业领域" in found[4][0]
    assert "位于科尔沁区" in found[4][1] and "不在所填的扎鲁特旗内" in found[4][1]
    assert len(found[5]) == 2 and "未知的旗县市区" in found[5][0] and "填反" in found[5][1]
    assert len(found[6]) == 2 and "未知的项目层级" in found[6][0] and "已存在" in found[6][1]
    assert len(found[7]) == 2 and "不在通辽市范围内" in found[7][0] and "已存在" in found[7][1]


@pytest.mark.parametrize("typed", [2025.03, 2025.3, 2025.12, "2025.03", "2025年3月", "2025-03", "2025/3", 2025])
def test_a_start_year_typed_as_year_dot_month_or_year_and_month_text_is_that_year(typed):
    from geoapp.ingest.values import year
    assert year(typed) == 2025


@pytest.mark.parametrize("typed", [2025.13, 2025.123, 2025.001, "2025年13x"])
def test_a_decimal_that_is_not_year_dot_month_is_refused(typed):
    from geoapp.ingest.values import CellError, year
    with pytest.raises(CellError):
        year(typed)


def test_a_start_year_cell_typed_as_a_decimal_imports_as_that_year(empty_db, inner_points, tmp_path):
    path = write_xlsx(tmp_path / "y.xlsx", [row(1, "科区", inner_points[HORQIN], 开工时间=2025.03),
                                             row(2, "科区", inner_points[HORQIN], 开工时间=2024.1, 竣工年份=2026.12)])
    report = run_import(empty_db, path)
    assert report.ok, report.text()
    assert stored(empty_db, "IMP-001")["start_year"] == 2025
    assert (stored(empty_db, "IMP-002")["start_year"], stored(empty_db, "IMP-002")["end_year"]) == (2024, 2026)


def test_a_construction_site_column_names_the_division_at_the_start_of_a_place_text(
        empty_db, inner_points, tmp_path):
    from geoapp.divisions import division_from_place, resolve_division
    places = [("扎鲁特旗鲁北镇", JARUD), ("通辽市科尔沁区", HORQIN), ("内蒙古通辽市开鲁县开鲁镇工业园", KAILU),
              ("内蒙古自治区通辽市科左后旗甘旗卡镇", HOUQI), ("科尔沁左翼中旗保康镇", "150521")]
    path = tmp_path / "site.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["项目编号", "项目名称", "建设地点", "行业领域", "项目层级", "项目状态", "经度", "纬度"])
        for i, (place, code) in enumerate(places):
            w.writerow([f"S-{i}", f"建设地点项目{i}（合成数据）", place, "医药", "实施", "在建", *inner_points[code]])
    report = run_import(empty_db, path)
    assert report.ok, report.text()
    for i, (_, code) in enumerate(places):
        assert stored(empty_db, f"S-{i}")["division_code"] == code

    with empty_db.connect() as conn:
        assert resolve_division(conn, "扎鲁特旗鲁北镇") is None          # exact names only, as before
        assert division_from_place(conn, "通辽经济技术开发区管委会") == "150571"
    path.write_text("项目编号,项目名称,建设地点,行业领域,项目层级,项目状态,经度,纬度\n"
                    f"S-9,外市项目（合成数据）,赤峰市红山区,医药,实施,在建,{inner_points[HORQIN][0]},"
                    f"{inner_points[HORQIN][1]}\n", encoding="utf-8")
    report = run_import(empty_db, path)
    [problem] = report.problems
    assert problem.row == 2 and problem.column == "建设地点" and problem.value == "赤峰市红山区"
    assert "未知的旗县市区" in problem.zh and "扎鲁特旗" in problem.zh and "科尔沁左翼中旗" in problem.zh


# Every header form issue #4 names, as clerks write them (half- and full-width brackets), with what it must mean:
# (header, field, unit factor to 万元, plan year).
ISSUE_HEADERS = [
    ("项目编号", "code", 1.0, None), ("编号", "code", 1.0, None), ("项目名称", "name", 1.0, None),
    ("旗县市区", "division", 1.0, None), ("所属地区", "division", 1.0, None), ("建设地点", "division", 1.0, None),
    ("行业领域", "sector", 1.0, None), ("产业类别", "sector", 1.0, None), ("所属行业", "sector", 1.0, None),
    ("项目阶段", "tier", 1.0, None), ("项目层级", "tier", 1.0, None), ("库别", "tier", 1.0, None),
    ("建设内容及规模", "scope", 1.0, None),
    ("总投资(亿元)", "total_investment", 10000.0, None), ("总投资（亿元）", "total_investment", 10000.0, None),
    ("总投资(万元)", "total_investment", 1.0, None), ("总投资（万元）", "total_investment", 1.0, None),
    ("年度计划投资", "planned_investment", 1.0, None), ("2025年计划投资", "planned_investment", 1.0, 2025),
    ("2025年计划投资（亿元）", "planned_investment", 10000.0, 2025),
    ("开工年份", "start_year", 1.0, None), ("开工时间", "start_year", 1.0, None), ("竣工年份", "end_year", 1.0, None),
    ("项目单位", "company", 1.0, None), ("建设单位", "company", 1.0, None), ("责任单位", "responsible_unit", 1.0, None),
    ("包联领导", "leader", 1.0, None), ("经度", "lon", 1.0, None), ("纬度", "lat", 1.0, None),
    ("坐标", "coords", 1.0, None),
]


@pytest.mark.parametrize("header, field, factor, plan_year", ISSUE_HEADERS, ids=[h[0] for h in ISSUE_HEADERS])
def test_every_header_variant_the_issue_names_maps_to_its_field_with_its_unit(header, field, factor, plan_year):
    from geoapp.ingest.headers import map_headers, match_header
    column = match_header(header, LAYERS)
    assert column is not None, header
    assert (column.field, column.factor, column.plan_year, column.header) == (field, factor, plan_year, header)
    # Also in a row among other columns, padded as clerks pad them.
    mapped = map_headers(["序号", f" {header} *", "备注"], 3, LAYERS)
    assert [(c.index, c.field) for c in mapped.columns] == [(1, field)] and mapped.ignored == ["序号", "备注"]


def test_a_development_zone_without_a_polygon_accepts_a_point_in_the_city_and_refuses_one_outside(
        empty_db, inner_points, tmp_path):
    path = write_xlsx(tmp_path / "zone.xlsx", [
        row(1, "开发区", inner_points[HORQIN]),
        row(2, "通辽经济技术开发区", (116.397, 39.909)),            # Beijing
    ])
    report = run_import(empty_db, path)
    assert problems(report) == {5: ["坐标在中国境内但不在通辽市范围内"]}
    assert report.problems[0].field == "coords"
    good = write_xlsx(tmp_path / "zone-ok.xlsx", [row(1, "通辽经济技术开发区", inner_points[HORQIN])])
    assert run_import(empty_db, good).ok
    got = stored(empty_db, "IMP-001")
    assert got["division_code"] == "150571"
    assert (got["lon"], got["lat"]) == pytest.approx(inner_points[HORQIN])
