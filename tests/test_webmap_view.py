"""The web map's view in a real browser: a view in the URL (?view=zoom/lat/lng) is restored exactly, the map is
fitted to the city once when the URL has none, and data arriving late never moves a view that was already set.

Debian's Chromium driven by Playwright against a real uvicorn server over the test database; every request leaving
127.0.0.1 is aborted and recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from playwright.sync_api import Page
from sqlalchemy import Engine, text

from geoapp.settings import Settings
from tests.browser_support import Watched, live_server
from tests.conftest import reload_projects
from tests.plan_support import planner_headers

LOADED = "Number(document.body.dataset.loaded) >= 1 && document.body.dataset.routesLoaded === '1'"
# Holds back the answers that used to trigger the late fits (divisions and statistics: the city's extent; the stored
# route plans) until well after a test has set its view, and notes when each was let through.
SLOW_DATA = """(() => {
    const slow = ['/collections/divisions/items', '/stats', '/routes'];
    const fetch0 = window.fetch.bind(window);
    window.__late = [];
    window.fetch = async (input, init) => {
        const response = await fetch0(input, init);
        const path = new URL(input instanceof Request ? input.url : String(input), location.href).pathname;
        if (slow.some((p) => path.startsWith(p))) {
            await new Promise((resolve) => { setTimeout(resolve, 1500); });
            window.__late.push(performance.now());
        }
        return response;
    };
})();"""


@pytest.fixture(scope="module")
def view_db(engine: Engine) -> Engine:
    """The named demo projects plus 40 labelled synthetic ones."""
    with engine.begin() as conn:
        reload_projects(conn, 40, seed=5)
    return engine


@pytest.fixture(scope="module")
def server(view_db: Engine, database_url: str) -> Iterator[str]:
    with live_server(view_db, Settings(database_url=database_url, basemaps="osm,amap")) as url:
        yield url


@pytest.fixture(scope="module")
def plan(server: str, view_db: Engine) -> dict:
    """A stored plan of two one-day routes over the named demo projects (planned through the API)."""
    with view_db.connect() as conn:
        codes = list(conn.execute(text("SELECT code FROM projects WHERE code NOT LIKE 'SYN-%' ORDER BY code"))
                     .scalars())
    response = httpx.post(f"{server}/routes/plan", timeout=120, headers=planner_headers(view_db), json={
        "projects": codes, "routes": 2, "days": 1, "travel_model": "estimate", "start_date": "2025-05-20"})
    assert response.status_code == 201, response.text
    return response.json()


def open_map(w: Watched, server: str, query: str = "") -> Page:
    w.page.goto(f"{server}/{'?' + query if query else ''}")
    w.page.wait_for_function(LOADED, timeout=30000)
    return w.page


def view_of(page: Page) -> tuple[float, float, float]:
    return tuple(page.evaluate("(() => { const c = geoapp.map.getCenter(); "
                               "return [geoapp.map.getZoom(), c.lat, c.lng]; })()"))


def url_view(page: Page) -> list[str] | None:
    return parse_qs(urlparse(page.url).query).get("view")


def shows_the_city(page: Page) -> bool:
    return page.evaluate("geoapp.map.getBounds().pad(0.01).contains(geoapp.divisions.boundaries.getBounds())")


def test_a_view_set_while_the_page_loads_stays_after_everything_has_loaded(watched, server, plan):
    page = watched.page
    page.add_init_script(SLOW_DATA)
    page.goto(f"{server}/?plan={plan['id']}&route=2", wait_until="commit")
    page.wait_for_function("window.geoapp && geoapp.map", timeout=30000)
    set_at = page.evaluate("(() => { geoapp.map.setView([43.9, 121.2], 12, {animate: false}); "
                           "return performance.now(); })()")
    page.wait_for_function(LOADED + f" && document.body.dataset.plan === '{plan['id']}'", timeout=30000)
    page.wait_for_timeout(500)
    late = page.evaluate("window.__late")
    assert len(late) >= 3 and min(late) > set_at  # the city's extent and the plan really came after the view
    assert page.locator("#map .route-stop").count() > 0  # the plan of the URL is drawn …
    zoom, lat, lng = view_of(page)  # … and neither it nor the city's extent took the view away
    assert zoom == 12 and abs(lat - 43.9) < 1e-6 and abs(lng - 121.2) < 1e-6
    assert url_view(page) == ["12/43.90000/121.20000"]
    assert watched.errors == [] and watched.outside == []


@pytest.mark.parametrize("basemap", ["", "&basemap=amap"])
def test_a_url_with_a_view_restores_exactly_that_view(watched, server, plan, basemap):
    query = f"view=11.75/43.80123/121.91234&plan={plan['id']}&route=1{basemap}"
    page = open_map(watched, server, query)
    page.wait_for_timeout(300)
    assert view_of(page) == (11.75, 43.80123, 121.91234)
    assert url_view(page) == ["11.75/43.80123/121.91234"]
    page.reload()
    page.wait_for_function(LOADED, timeout=30000)
    assert view_of(page) == (11.75, 43.80123, 121.91234)
    if not basemap:  # the GCJ-02 basemap's tiles are asked for (and aborted by the guard)
        assert watched.errors == [] and watched.outside == []


def test_without_a_view_the_map_fits_the_city_once_and_the_users_pan_goes_into_the_url(watched, server):
    page = open_map(watched, server)
    assert shows_the_city(page)
    assert url_view(page) is None
    before = view_of(page)
    box = page.locator("#map").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 150, y - 90, steps=8)
    page.mouse.up()
    page.wait_for_function("new URLSearchParams(location.search).has('view')")
    moved = view_of(page)
    assert moved[1:] != before[1:]
    written = url_view(page)[0]
    page.reload()
    page.wait_for_function(LOADED, timeout=30000)
    zoom, lat, lng = (float(v) for v in written.split("/"))
    assert view_of(page) == (zoom, lat, lng)
    assert abs(lat - moved[1]) < 1e-5 and abs(lng - moved[2]) < 1e-5
    assert watched.errors == [] and watched.outside == []


def test_a_plan_in_the_url_keeps_the_city_view_and_choosing_a_route_fits_the_map_to_it(watched, server, plan):
    page = open_map(watched, server, f"plan={plan['id']}&route=2")
    page.wait_for_function(f"document.body.dataset.plan === '{plan['id']}'")
    assert shows_the_city(page)  # loading fits to the city, not to the route
    page.select_option("[data-testid=route-select]", "1")
    page.wait_for_function("document.body.dataset.route === '1'")
    inside = page.evaluate("""() => { const b = geoapp.map.getBounds(), s = geoapp.routes.drawnStops();
        return s.filter(x => x.route === 1).every(x => b.contains([x.lat, x.lng])); }""")
    assert inside
    page.wait_for_function("new URLSearchParams(location.search).has('view')")
    assert parse_qs(urlparse(page.url).query)["route"] == ["1"]
    assert watched.errors == [] and watched.outside == []
