"""Formula injection (CSV injection) in the CSV/XLSX exports: a company written as ``=1+1`` was a live formula once
the planner opened the export in Excel (``=HYPERLINK(…)`` or ``=cmd|…`` are the real attacks). Every exported text
that starts with = + - @, a tab or a CR now carries a leading apostrophe (OWASP), numbers stay numbers, and the
import takes the apostrophe off again, so an export still re-imports unchanged.
"""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from sqlalchemy import text

from geoapp.exports import write_projects
from geoapp.ingest.values import FORMULA_STARTS, neutralise_formula, unquote_formula
from geoapp.layers.filters import project_filter
from tests.conftest import LAYERS
from tests.test_ingest import HORQIN, run_import

# What a hostile (or merely unlucky) clerk types into the texts of a project.
HOSTILE = {
    "name": "@SUM(A1)",
    "company": "=1+1",
    "responsible_unit": "=HYPERLINK(\"http://example.invalid\",\"点击\")",
    "leader": "+86 138 0000 0000",
    "scope": "-2+3 新建厂房",
}
CODE = "-12"   # a code that looks like a negative number: text, so it is quoted too (see neutralise_formula)
TEXT_HEADERS = {"name": "项目名称", "company": "建设单位", "responsible_unit": "责任单位", "leader": "包联领导",
                "scope": "建设规模及内容"}


@pytest.fixture
def hostile_db(empty_db, inner_points, tmp_path):
    """One project whose texts all start like formulas, imported the way a clerk's CSV arrives."""
    lon, lat = inner_points[HORQIN]
    path = tmp_path / "hostile.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["项目编号", "项目名称", "旗县市区", "行业领域", "项目层级", "项目状态", "总投资（万元）",
                         "建设单位", "责任单位", "包联领导", "建设内容及规模", "经度", "纬度"])
        writer.writerow([CODE, HOSTILE["name"], "科区", "文旅", "策划", "前期", 15000, HOSTILE["company"],
                         HOSTILE["responsible_unit"], HOSTILE["leader"], HOSTILE["scope"], lon, lat])
    report = run_import(empty_db, path)
    assert report.ok, report.text()
    with empty_db.connect() as conn:
        stored = dict(conn.execute(text("SELECT code, name, company, responsible_unit, leader, scope "
                                        "FROM projects")).mappings().one())
    assert stored == {"code": CODE, **HOSTILE}   # what was typed is stored as typed
    return empty_db


def check_xlsx(data: bytes) -> None:
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active   # not read-only: data_type tells formulas apart
    headers = [c.value for c in sheet[1]]
    cells = {h: c for h, c in zip(headers, sheet[2], strict=True)}
    for cell in sheet[2]:
        assert cell.data_type != "f", f"{cell.coordinate} is a formula: {cell.value!r}"
    for field, header in TEXT_HEADERS.items():
        assert cells[header].data_type == "s"
        assert cells[header].value == "'" + HOSTILE[field]
    assert cells["项目编号"].value == "'" + CODE
    assert cells["总投资（万元）"].data_type == "n" and cells["总投资（万元）"].value == 15000
    assert cells["经度（WGS84）"].data_type == "n" and isinstance(cells["经度（WGS84）"].value, float)


def check_csv(data: bytes) -> None:
    body = data.decode("utf-8-sig")
    header, row = list(csv.reader(io.StringIO(body)))
    cells = dict(zip(header, row, strict=True))
    for field, title in TEXT_HEADERS.items():
        assert cells[title] == "'" + HOSTILE[field]
    assert cells["项目编号"] == "'" + CODE
    assert cells["总投资（万元）"] == "15000"                     # a number, written bare
    assert float(cells["经度（WGS84）"]) > 0
    line = body.splitlines()[1]
    assert ",15000," in line and f",{cells['经度（WGS84）']}," in line   # unquoted: a spreadsheet reads numbers
    assert not any(c[:1] in FORMULA_STARTS for c in row)


def test_the_api_exports_formula_texts_quoted_and_numbers_as_numbers(hostile_db, client):
    xlsx = client.get("/collections/projects/items", params={"f": "xlsx"})
    assert xlsx.status_code == 200, xlsx.text[:300]
    check_xlsx(xlsx.content)
    answer = client.get("/collections/projects/items", params={"f": "csv"})
    assert answer.status_code == 200, answer.text[:300]
    check_csv(answer.content)


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_the_command_line_export_quotes_them_too_and_re_imports_unchanged(hostile_db, tmp_path, fmt):
    path = tmp_path / f"out.{fmt}"
    with hostile_db.connect() as conn:
        assert write_projects(conn, project_filter(conn, {}, LAYERS), path, fmt, LAYERS) == 1
    (check_xlsx if fmt == "xlsx" else check_csv)(path.read_bytes())
    report = run_import(hostile_db, path, update=True)
    assert report.ok, report.text()
    assert (report.added, report.updated, report.unchanged) == (0, 0, 1)


def test_geojson_carries_the_texts_as_stored_and_re_imports_unchanged(hostile_db, tmp_path):
    """GeoJSON (and the GeoPackage made from it) is read by GIS software, which runs nothing: no apostrophe there,
    and none taken off on its import."""
    import json

    path = tmp_path / "out.geojson"
    with hostile_db.connect() as conn:
        write_projects(conn, project_filter(conn, {}, LAYERS), path, "geojson", LAYERS)
    props = json.loads(path.read_text(encoding="utf-8"))["features"][0]["properties"]
    assert {k: props[k] for k in HOSTILE} == HOSTILE and props["code"] == CODE
    report = run_import(hostile_db, path, update=True)
    assert report.ok and report.unchanged == 1, report.text()


@pytest.mark.parametrize("value", ["=1+1", "+86", "-12", "@SUM(A1)", "\tx", "\rx", "'=x", "''+x", "'", "''",
                                   "it's", "'plain", "12", "", "中文", "=", "-"])
def test_the_apostrophe_is_added_and_taken_off_exactly(value):
    quoted = neutralise_formula(value)
    assert unquote_formula(quoted) == value
    assert quoted[:1] not in FORMULA_STARTS
    if value.lstrip("'")[:1] not in FORMULA_STARTS:
        assert quoted == value   # ordinary texts are left alone, an apostrophe in them too
