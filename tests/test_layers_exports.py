"""Exports (geoapp.exports): CSV/XLSX with the YAML's Chinese headers and labels, GeoJSON from SQL, checked
against the database."""

from __future__ import annotations

import csv
import io
import json

import openpyxl
import pytest
from sqlalchemy import text

from geoapp.exports import table_headers, write_projects
from geoapp.layers.filters import project_filter
from geoapp.layers.registry import load_layers
from geoapp.vocab import vocabularies
from tests.conftest import LAYERS

PROJECTS = load_layers(LAYERS)["projects"]


def db_rows(conn, where: str) -> dict[str, dict]:
    rows = conn.execute(text(
        f"SELECT p.*, d.name AS division_name, ST_X(p.geom) AS lon, ST_Y(p.geom) AS lat FROM projects p "
        f"JOIN divisions d ON d.code = p.division_code WHERE p.deleted_at IS NULL AND ({where})"
    )).mappings().all()
    return {r["code"]: dict(r) for r in rows}


def test_csv_headers_are_the_yaml_titles_in_chinese_then_wgs84_coordinates():
    headers = table_headers(PROJECTS, [p.name for p in PROJECTS.properties])
    assert headers[:3] == ["项目编号", "项目名称", "行业领域"]
    assert headers[-2:] == ["经度（WGS84）", "纬度（WGS84）"]
    assert table_headers(PROJECTS, ["code"], "en") == ["Project code", "Longitude (WGS84)", "Latitude (WGS84)"]


def test_a_csv_export_holds_every_matching_project_with_labels_and_coordinates(layers_db):
    out = io.BytesIO()
    with layers_db.connect() as conn:
        count = write_projects(conn, project_filter(conn, {"sector": "lng"}, LAYERS), out, "csv", LAYERS)
        expected = db_rows(conn, "p.sector = 'lng'")
    data = out.getvalue()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert count == len(rows) == len(expected) > 0
    lng_label = vocabularies(LAYERS)["sector"].get("lng").zh
    tiers = {t.code: t.zh for t in vocabularies(LAYERS)["tier"].terms}
    for row in rows:
        db = expected[row["项目编号"]]
        assert row["项目名称"] == db["name"]
        assert row["行业领域"] == lng_label
        assert row["项目层级"] == tiers[db["tier"]]
        assert row["旗县市区"] == db["division_name"]
        assert float(row["总投资（万元）"]) == pytest.approx(float(db["total_investment"]))
        assert float(row["经度（WGS84）"]) == pytest.approx(db["lon"], abs=1e-6)
        assert float(row["纬度（WGS84）"]) == pytest.approx(db["lat"], abs=1e-6)


def test_an_xlsx_export_matches_the_database_with_numbers_as_numbers(layers_db, tmp_path):
    path = tmp_path / "projects.xlsx"
    with layers_db.connect() as conn:
        count = write_projects(conn, project_filter(conn, {"investment_class": "1y"}, LAYERS), path, "xlsx", LAYERS)
        expected = db_rows(conn, "p.total_investment >= 100000")
    sheet = openpyxl.load_workbook(path, read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    headers = list(rows[0])
    assert headers == table_headers(PROJECTS, [p.name for p in PROJECTS.properties])
    assert count == len(rows) - 1 == len(expected) > 0
    col = {h: i for i, h in enumerate(headers)}
    for row in rows[1:]:
        db = expected[row[col["项目编号"]]]
        assert isinstance(row[col["总投资（万元）"]], int | float)
        assert row[col["总投资（万元）"]] == pytest.approx(float(db["total_investment"]))
        assert row[col["开工年份"]] == db["start_year"]


def test_a_geojson_export_is_a_feature_collection_of_every_match(layers_db):
    out = io.BytesIO()
    with layers_db.connect() as conn:
        count = write_projects(conn, project_filter(conn, {"division": "霍林郭勒"}, LAYERS), out, "geojson", LAYERS)
        expected = db_rows(conn, "p.division_code = '150581'")
    doc = json.loads(out.getvalue())
    assert doc["type"] == "FeatureCollection"
    assert count == len(doc["features"]) == len(expected) > 0
    for feature in doc["features"]:
        db = expected[feature["id"]]
        assert feature["properties"]["division_code"] == "150581"
        assert feature["geometry"]["coordinates"] == pytest.approx([db["lon"], db["lat"]], abs=1e-6)
