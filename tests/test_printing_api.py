"""Printing a planned route through the API and the CLI: plans come from POST /routes/plan on the demo data."""

from __future__ import annotations

import re
from pathlib import Path

import gpxpy
import pytest
from fastapi.testclient import TestClient
from lxml import etree
from PIL import Image
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from geoapp.cli import app as cli
from geoapp.demo import load_synthetic
from geoapp.money import money
from geoapp.settings import Settings
from tests.conftest import LAYERS
from tests.printing_support import in_order, pdffonts, pdfinfo, pdftotext, render_page, squeeze

KML = "{http://www.opengis.net/kml/2.2}"


@pytest.fixture
def plan(demo_db: Engine, client: TestClient, accounts) -> dict:
    """Two routes over one day (planned by the route planner) on the named projects plus 16 synthetic ones."""
    with demo_db.begin() as conn:
        load_synthetic(conn, 16, LAYERS, seed=5)
        codes = list(conn.execute(text("SELECT code FROM projects ORDER BY code")).scalars())
    response = client.post("/routes/plan", json={"projects": codes, "routes": 2, "days": 1,
                                                 "travel_model": "estimate", "start_date": "2025-05-20"},
                           headers=accounts["editor"])
    assert response.status_code == 201, response.text
    return response.json()


def visits(route: dict) -> list[dict]:
    return [s for s in route["stops"] if s["kind"] == "visit"]


def test_the_route_map_of_a_planned_route_prints_every_route_stop_and_total(client, plan, tmp_path: Path):
    response = client.get(f"/routes/{plan['id']}/map.pdf", params={"paper": "A4", "orientation": "landscape"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "map.pdf"
    pdf.write_bytes(response.content)
    assert len(response.content) < 2_000_000
    pages = int(pdfinfo(pdf)["Pages"])
    words = squeeze(pdftotext(pdf))
    position = 0
    for route in plan["routes"]:
        names = [s["name"] for s in visits(route)]
        start = words.index(squeeze(f"{route['name']}·行程表"), position)
        assert in_order(words[start:], names) == []
        total_row = words[words.index("合计", start):]
        assert f"{route['totals']['distance_km']:.1f}" in total_row[:80]
        assert f"{route['totals']['driving_min']:.0f}" in total_row[:80]
        position = start
    assert "2025年5月20日" in words
    assert squeeze(plan["travel_model"]["label"]["zh"]) in words and "平均车速60公里/小时" in words
    for unassigned in plan["unassigned"]:
        assert squeeze(unassigned["name"]) in words
    assert any("CJK" in f["name"] and f["emb"] == "yes" for f in pdffonts(pdf))
    image = Image.open(render_page(pdf, 1, 30, tmp_path / "p1")).convert("L")
    expected = (297 / 25.4 * 30, 210 / 25.4 * 30)
    assert all(abs(a - b) <= 1 for a, b in zip(image.size, expected, strict=True)), image.size
    assert pages >= 2 * len(plan["routes"])


def test_one_route_of_a_plan_is_printed_by_name_or_number(client, plan, tmp_path: Path):
    north, south = plan["routes"]
    by_name = client.get(f"/routes/{plan['id']}/map.pdf", params={"route": south["name"]})
    by_number = client.get(f"/routes/{plan['id']}/map.pdf", params={"route": "2"})
    assert by_name.status_code == by_number.status_code == 200
    pdf = tmp_path / "south.pdf"
    pdf.write_bytes(by_name.content)
    words = squeeze(pdftotext(pdf))
    assert f"{south['name']}·行程表" in words and f"{north['name']}·行程表" not in words
    assert client.get(f"/routes/{plan['id']}/map.pdf", params={"route": "9"}).status_code == 404


def test_the_handbook_has_a_card_per_stop_of_the_route(client, plan, tmp_path: Path):
    route = plan["routes"][0]
    response = client.get(f"/routes/{plan['id']}/handbook.pdf", params={"route": route["name"]})
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "handbook.pdf"
    pdf.write_bytes(response.content)
    pages = int(pdfinfo(pdf)["Pages"])
    stops = visits(route)
    for page, stop in zip(range(pages - len(stops) + 1, pages + 1), stops, strict=True):
        card = squeeze(pdftotext(pdf, first=page, last=page))
        assert squeeze(stop["name"]) in card and stop["project_code"] in card and "评分" in card


def test_gpx_and_kml_of_a_planned_route_match_its_stops(client, plan):
    route = plan["routes"][0]
    gpx_response = client.get(f"/routes/{plan['id']}.gpx", params={"route": route["name"]})
    assert gpx_response.status_code == 200 and gpx_response.headers["content-type"] == "application/gpx+xml"
    gpx = gpxpy.parse(gpx_response.text)
    (rte,) = gpx.routes
    assert [(round(p.longitude, 6), round(p.latitude, 6)) for p in rte.points] == \
        [(round(s["lon"], 6), round(s["lat"], 6)) for s in route["stops"]]
    gcj = gpxpy.parse(client.get(f"/routes/{plan['id']}.gpx", params={"route": route["name"], "crs": "gcj02"}).text)
    assert all(abs(a.longitude - b.longitude) > 1e-3 for a, b in zip(rte.points, gcj.routes[0].points, strict=True))

    kml_response = client.get(f"/routes/{plan['id']}.kml")
    assert kml_response.status_code == 200
    doc = etree.fromstring(kml_response.content)
    folders = doc.findall(f"{KML}Document/{KML}Folder")
    assert [f.findtext(f"{KML}name") for f in folders] == [r["name"] for r in plan["routes"]]
    names = [m.findtext(f"{KML}name") for m in folders[0].findall(f"{KML}Placemark")]
    assert [n for n in names if n[:2].isdigit()] == [f"{s['number']:02d} {s['name']}" for s in visits(route)]


def test_an_unknown_route_is_a_404_for_every_output(client):
    for path in ("/routes/987654/map.pdf", "/routes/987654/handbook.pdf", "/routes/987654.gpx",
                 "/routes/987654.kml", "/routes/abc/map.pdf"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "987654" in response.json()["description"] or "abc" in response.json()["description"]


def test_a_bad_paper_size_is_a_400_naming_the_allowed_values(client, plan):
    response = client.get(f"/routes/{plan['id']}/map.pdf", params={"paper": "Letter"})
    assert response.status_code == 400
    body = response.json()
    assert body["parameter"] == "paper" and body["allowed"] == ["A4", "A3"]
    assert "A4" in body["description"] and "A3" in body["description"] and "Letter" in body["description"]
    assert client.get(f"/routes/{plan['id']}/map.pdf", params={"orientation": "diagonal"}).status_code == 400
    assert client.get(f"/routes/{plan['id']}.gpx", params={"crs": "bd09"}).json()["allowed"] == ["wgs84", "gcj02"]


def test_geoapp_routes_print_writes_every_file_for_every_route(client, plan, database_url, tmp_path: Path,
                                                               monkeypatch):
    monkeypatch.setenv("GEOAPP_DATABASE_URL", database_url)
    result = CliRunner().invoke(cli, ["routes", "print", str(plan["id"]), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in tmp_path.iterdir())
    for route in plan["routes"]:
        for suffix in ("-map.pdf", "-handbook.pdf", ".gpx", "-gcj02.gpx", ".kml", "-gcj02.kml"):
            assert f"route-{plan['id']}-{route['name']}{suffix}" in written
    first_map = tmp_path / f"route-{plan['id']}-{plan['routes'][0]['name']}-map.pdf"
    assert squeeze(plan["routes"][0]["name"]) in squeeze(pdftotext(first_map, first=1, last=1))
    missing = CliRunner().invoke(cli, ["routes", "print", "987654", "--out", str(tmp_path)])
    assert missing.exit_code == 1 and "987654" in missing.output


def test_without_a_chinese_font_printing_is_a_503_saying_what_to_install(client, plan, monkeypatch):
    from geoapp.printing import fonts

    monkeypatch.setattr(fonts, "installed_cjk_families", lambda: ())
    response = client.get(f"/routes/{plan['id']}/map.pdf")
    assert response.status_code == 503
    assert "fonts-noto-cjk" in response.json()["description"]


def test_gpx_and_kml_are_offered_as_downloads_named_by_their_crs(client, plan):
    response = client.get(f"/routes/{plan['id']}.gpx", params={"crs": "gcj02"})
    assert 'attachment; filename="route-' in response.headers["content-disposition"]
    assert response.headers["content-disposition"].split(";")[1].strip().endswith('-gcj02.gpx"')


def test_the_printed_route_map_is_a_schematic_for_internal_use_with_money_in_yi_yuan(client, plan, demo_db,
                                                                                      tmp_path: Path):
    response = client.get(f"/routes/{plan['id']}/map.pdf")
    assert response.status_code == 200
    pdf = tmp_path / "map.pdf"
    pdf.write_bytes(response.content)
    words = squeeze(pdftotext(pdf))
    assert "观摩路线示意图" in words and "内部资料" in words
    assert "本图为工作示意图" in words and f"编制单位：{Settings().organisation}" in words
    codes = [s["project_code"] for r in plan["routes"] for s in visits(r)]
    with demo_db.connect() as conn:
        amounts = conn.execute(text("SELECT total_investment FROM projects WHERE code = ANY(:c) "
                                    "AND total_investment >= 10000"), {"c": codes}).scalars().all()
    assert amounts
    for amount in amounts:
        assert re.fullmatch(r"[\d,.]+亿元", money(amount)) and money(amount) in words
        assert f"{amount:,.0f}万元" not in words


def test_no_printed_page_says_kaocha_luxian_or_qixianqu(client, plan, tmp_path: Path):
    for name in ("map.pdf", "handbook.pdf"):
        pdf = tmp_path / name
        pdf.write_bytes(client.get(f"/routes/{plan['id']}/{name}").content)
        words = squeeze(pdftotext(pdf))
        assert "考察路线" not in words and "旗县区" not in words, name
