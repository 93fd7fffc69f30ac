"""The web map's route view and printing, in a real browser: a plan made by POST /routes/plan on the demo data is
listed, drawn (route colours, numbered stops as planned), printed through the same PDF as the API, and the
browser's own print of the page gives the map alone on one A4 sheet.

Debian's Chromium driven by Playwright against a real uvicorn server; every request leaving 127.0.0.1 is aborted
and recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import gpxpy
import httpx
import pytest
from lxml import etree
from PIL import Image
from playwright.sync_api import Page
from sqlalchemy import Engine, text

from geoapp.settings import Settings
from tests.browser_support import Watched, live_server
from tests.conftest import reload_projects
from tests.plan_support import planner_headers
from tests.printing_support import pdfinfo, pdftotext, render_page, squeeze

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
MM = 96 / 25.4  # CSS pixels per millimetre



@pytest.fixture(scope="module")
def routes_db(engine: Engine) -> Engine:
    """The named demo projects plus 16 labelled synthetic ones, and no stored plan."""
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE route_plans RESTART IDENTITY CASCADE"))
        reload_projects(conn, 16, seed=5)
    return engine


@pytest.fixture(scope="module")
def server(routes_db: Engine, database_url: str) -> Iterator[str]:
    with live_server(routes_db, Settings(database_url=database_url)) as url:
        yield url


def plan_every_project(server: str, engine: Engine, routes: int, start_date: str) -> dict:
    """A stored one-day plan over every project (estimated travel times), planned through the API."""
    with engine.connect() as conn:
        codes = list(conn.execute(text("SELECT code FROM projects ORDER BY code")).scalars())
    response = httpx.post(f"{server}/routes/plan", timeout=120, headers=planner_headers(engine), json={
        "projects": codes, "routes": routes, "days": 1, "travel_model": "estimate", "start_date": start_date})
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture(scope="module")
def plan(server: str, routes_db: Engine) -> dict:
    """Two one-day routes over every project, planned by the route planner through the API."""
    body = plan_every_project(server, routes_db, routes=2, start_date="2025-05-20")
    assert len(body["routes"]) == 2 and all(visits(r) for r in body["routes"])
    return body


def visits(route: dict) -> list[dict]:
    return [s for s in route["stops"] if s["kind"] == "visit"]


def open_map(w: Watched, server: str, query: str = "") -> Page:
    w.page.goto(f"{server}/{'?' + query if query else ''}")
    w.page.wait_for_function("Number(document.body.dataset.loaded) >= 1 && document.body.dataset.routesLoaded",
                             timeout=30000)
    return w.page


def choose_plan(page: Page, plan_id: int, route: str | None = None) -> None:
    page.select_option("[data-testid=plan-select]", str(plan_id))
    page.wait_for_function(f"document.body.dataset.plan === '{plan_id}'")
    if route is not None:
        page.select_option("[data-testid=route-select]", route)
        page.wait_for_function(f"document.body.dataset.route === '{route}'")


def test_get_routes_lists_the_stored_plans_with_their_routes_and_colours(server, plan):
    listed = httpx.get(f"{server}/routes").json()
    assert listed["numberReturned"] == len(listed["plans"]) >= 1
    mine = next(p for p in listed["plans"] if p["id"] == plan["id"])
    assert listed["plans"][0]["id"] == plan["id"]  # newest first
    assert mine["title"] == plan["title"]
    assert [(r["name"], r["color"], r["visits"]) for r in mine["routes"]] == \
        [(r["name"], r["color"], r["totals"]["visits"]) for r in plan["routes"]]
    assert mine["visits"] == plan["totals"]["visits"]
    assert mine["travel_model"]["label"] == plan["travel_model"]["label"]
    bad = httpx.get(f"{server}/routes", params={"limit": "lots"})
    assert bad.status_code == 400 and bad.json()["parameter"] == "limit" and "limit" in bad.json()["description"]


def test_choosing_a_plan_draws_its_routes_in_their_colours_and_the_stops_as_planned(watched, server, plan):
    page = open_map(watched, server)
    options = page.locator("[data-testid=plan-select] option").evaluate_all("os => os.map(o => o.value)")
    assert str(plan["id"]) in options
    choose_plan(page, plan["id"])
    assert parse_qs(urlparse(page.url).query)["plan"] == [str(plan["id"])]

    drawn = page.evaluate("geoapp.routes.drawnStops()")
    expected = [{"route": r["seq"] + 1, "seq": s["seq"], "kind": s["kind"], "number": s["number"], "name": s["name"]}
                for r in plan["routes"] for s in r["stops"]]
    assert [{k: d[k] for k in ("route", "seq", "kind", "number", "name")} for d in drawn] == expected
    where = [(s["lat"], s["lon"]) for r in plan["routes"] for s in r["stops"]]
    assert all(abs(d["lat"] - lat) < 1e-6 and abs(d["lng"] - lon) < 1e-6 for d, (lat, lon) in zip(drawn, where,
                                                                                                      strict=True))
    # on the map itself: one numbered mark per stop, numbers 1…n per route in the route's colour
    for r in plan["routes"]:
        n = r["seq"] + 1
        marks = page.locator(f"#map .route-stop[data-route='{n}'][data-kind=visit]")
        assert marks.all_inner_texts() == [str(s["number"]) for s in reversed(visits(r))]
        assert [s["number"] for s in visits(r)] == list(range(1, len(visits(r)) + 1))
        colour = marks.first.evaluate("el => getComputedStyle(el).getPropertyValue('--rc').trim()")
        assert colour.lower() == r["color"].lower()
        line = page.locator(f"#map path.route-line.route-{n}")
        assert line.count() == 1
        assert line.get_attribute("stroke").lower() == r["color"].lower()
    assert page.locator("#map .route-stop").count() == sum(len(r["stops"]) for r in plan["routes"])
    assert page.locator("#map .route-stop.rs-start").first.inner_text() == "起"
    assert page.locator("[data-testid=route-info]").inner_text().count(plan["routes"][0]["name"]) == 1
    assert plan["travel_model"]["label"]["zh"] in page.get_by_test_id("travel-model").inner_text()
    assert watched.errors == [] and watched.outside == []


def test_the_print_button_opens_the_route_map_pdf_of_the_route_on_screen(watched, server, plan, tmp_path):
    page = open_map(watched, server)
    choose_plan(page, plan["id"], "2")
    second = plan["routes"][1]
    href = page.get_by_test_id("print-route").get_attribute("href")
    query = parse_qs(urlparse(href).query)
    assert urlparse(href).path == f"/routes/{plan['id']}/map.pdf"
    assert query["route"] == ["2"] and query["paper"] == ["A4"]
    response = httpx.get(server + href, timeout=120)
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    pdf = tmp_path / "route-2.pdf"
    pdf.write_bytes(response.content)
    words = squeeze(pdftotext(pdf))
    assert squeeze(visits(second)[0]["name"]) in words
    assert squeeze(second["name"]) in words
    assert squeeze(plan["routes"][0]["name"]) not in squeeze(pdftotext(pdf, first=1, last=1))

    page.select_option("#print-paper", "A3")
    page.select_option("#print-orientation", "portrait")
    query = parse_qs(urlparse(page.get_by_test_id("print-route").get_attribute("href")).query)
    assert query["paper"] == ["A3"] and query["orientation"] == ["portrait"] and query["route"] == ["2"]

    handbook = httpx.get(server + page.get_by_test_id("route-handbook").get_attribute("href"), timeout=180)
    assert handbook.status_code == 200 and handbook.content.startswith(b"%PDF")
    gpx = gpxpy.parse(httpx.get(server + page.get_by_test_id("route-gpx").get_attribute("href")).text)
    points = [(w.latitude, w.longitude) for w in gpx.waypoints]
    for s in visits(second):
        assert any(abs(lat - s["lat"]) < 1e-5 and abs(lon - s["lon"]) < 1e-5 for lat, lon in points), s["name"]
    kml = httpx.get(server + page.get_by_test_id("route-kml").get_attribute("href"))
    assert kml.status_code == 200
    assert second["name"].encode() in etree.tostring(etree.fromstring(kml.content), encoding="utf-8")
    assert "crs=gcj02" in page.get_by_test_id("route-gpx-gcj02").get_attribute("href")
    assert watched.errors == [] and watched.outside == []


def test_the_route_view_speaks_english_after_the_switch(watched, server, plan):
    page = open_map(watched, server)
    choose_plan(page, plan["id"], "1")
    assert page.locator("#routes-section h2").inner_text() == "考察路线"
    assert page.get_by_test_id("print-route").inner_text() == "打印路线图（PDF）"
    page.click("#lang-switch")
    page.wait_for_function("document.documentElement.lang === 'en'")
    assert page.locator("#routes-section h2").inner_text() == "Inspection routes"
    assert page.get_by_test_id("print-route").inner_text() == "Print route map (PDF)"
    first = plan["routes"][0]
    assert page.locator("[data-testid=route-select] option:checked").inner_text() == \
        f"1 · {first['name_en'] or first['name']}"
    assert page.locator("#map .route-stop.rs-start").first.inner_text() == "S"
    assert plan["travel_model"]["label"]["en"] in page.get_by_test_id("travel-model").inner_text()
    query = parse_qs(urlparse(page.get_by_test_id("print-route").get_attribute("href")).query)
    assert query["lang"] == ["en"] and query["route"] == ["1"]
    page.click("#lang-switch")
    page.wait_for_function("document.documentElement.lang === 'zh-CN'")
    assert page.locator("#routes-section h2").inner_text() == "考察路线"
    assert watched.errors == []


def test_the_plan_and_route_on_screen_are_in_the_url_and_a_reload_restores_them(watched, server, plan):
    page = open_map(watched, server)
    choose_plan(page, plan["id"], "2")
    assert parse_qs(urlparse(page.url).query)["route"] == ["2"]
    page.reload()
    page.wait_for_function(f"document.body.dataset.plan === '{plan['id']}' && document.body.dataset.route === '2'")
    assert page.locator("[data-testid=route-select]").input_value() == "2"
    # the view is fitted to the route on screen: every stop of route 2 is inside the map's bounds
    inside = page.evaluate("""() => { const b = geoapp.map.getBounds();
        return geoapp.routes.drawnStops().filter(s => s.route === 2).every(s => b.contains([s.lat, s.lng])); }""")
    assert inside
    page.go_back()
    page.wait_for_function("document.body.dataset.route === '1'")
    assert watched.errors == []


def test_the_route_panel_lists_the_projects_a_plan_leaves_out_with_their_reasons(watched, server, routes_db):
    crowded = plan_every_project(server, routes_db, routes=1, start_date="2025-05-21")
    left = crowded["unassigned"]
    with routes_db.connect() as conn:
        every = conn.execute(text("SELECT count(*) FROM projects")).scalar()
    assert left and crowded["totals"]["visits"] + len(left) == every  # one day cannot take them all
    page = open_map(watched, server)
    choose_plan(page, crowded["id"])
    box = page.get_by_test_id("route-left-out")
    assert f"未安排的项目（{len(left)} 个）" in box.inner_text()
    rows = page.get_by_test_id("left-out-row")
    assert rows.evaluate_all("els => els.map(e => e.dataset.code)") == [u["project_code"] for u in left]
    for i, u in enumerate(left):
        assert u["name"] in rows.nth(i).inner_text() and u["reason"]["zh"] in rows.nth(i).inner_text()
    # the rows stay when one route is on screen, and speak English after the switch
    choose_plan(page, crowded["id"], "1")
    assert rows.count() == len(left)
    page.click("#lang-switch")
    page.wait_for_function("document.documentElement.lang === 'en'")
    assert f"Left out ({len(left)})" in box.inner_text()
    assert all(u["reason"]["en"] in rows.nth(i).inner_text() for i, u in enumerate(left))
    # a plan that visits everything shows no such list
    page.click("#lang-switch")
    fitted = [s["project_code"] for s in visits(crowded["routes"][0])[:3]]  # three that fitted in the day
    everything = httpx.post(f"{server}/routes/plan", timeout=120, headers=planner_headers(routes_db), json={
        "projects": fitted, "routes": 1, "days": 1, "travel_model": "estimate"}).json()
    assert everything["unassigned"] == []
    page.reload()
    page.wait_for_function("document.body.dataset.routesLoaded")
    choose_plan(page, everything["id"])
    assert page.get_by_test_id("route-left-out").count() == 0
    assert watched.errors == [] and watched.outside == []


def test_the_browsers_own_print_gives_the_map_alone_on_one_a4_landscape_page(watched, server, plan, tmp_path):
    page = open_map(watched, server)
    choose_plan(page, plan["id"], "1")
    first = plan["routes"][0]
    page.emulate_media(media="print")
    page.wait_for_function("document.body.classList.contains('printing')")
    for hidden in ("#panel", "header#top", ".leaflet-control-zoom"):
        assert page.locator(hidden).evaluate("el => getComputedStyle(el).display") == "none", hidden
    box = page.locator("#map").bounding_box()
    assert abs(box["width"] - 281 * MM) < 2 and abs(box["height"] - 172 * MM) < 2
    # Leaflet lays the map out for the printed size (its size is the container's inner size)
    assert page.evaluate("[geoapp.map.getSize().x, geoapp.map.getSize().y]") == \
        page.locator("#map").evaluate("el => [el.clientWidth, el.clientHeight]")
    title = page.get_by_test_id("print-title")
    assert title.is_visible() and first["name"] in title.inner_text()
    inside = page.evaluate("""() => { const b = geoapp.map.getBounds();
        return geoapp.routes.drawnStops().filter(s => s.route === 1).every(s => b.contains([s.lat, s.lng])); }""")
    assert inside

    pdf = tmp_path / "page.pdf"
    pdf.write_bytes(page.pdf(prefer_css_page_size=True, print_background=True))
    info = pdfinfo(pdf)
    assert info["Pages"] == "1"
    width, height = (float(v) for v in info["Page size"].split()[0:3:2])
    assert abs(width - 841.89) < 2 and abs(height - 595.28) < 2  # A4 landscape in points
    words = squeeze(pdftotext(pdf))
    assert squeeze(first["name"]) in words and squeeze(plan["title"]) in words
    for panel_text in ("筛选条件", "图层与图例", "导出", "打印路线图"):
        assert panel_text not in words
    png = render_page(pdf, 1, 50, tmp_path / "page")
    image = Image.open(png).convert("L")
    assert image.size[0] > image.size[1]
    assert image.getextrema()[0] < 100  # something dark was printed (lines, labels), not a blank sheet
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "webmap-route-print.pdf").write_bytes(pdf.read_bytes())
    page.emulate_media(media="screen")
    page.wait_for_function("!document.body.classList.contains('printing')")
    assert page.locator("#panel").evaluate("el => getComputedStyle(el).display") != "none"
    assert watched.errors == [] and watched.outside == []
