"""The web map's vector tiles with a GCJ-02 basemap, in a real browser: above 30,000 matching projects the page
draws the layers API's tiles, and with an Amap-like basemap the tile worker shifts every point WGS84 → GCJ-02
before drawing it, so a project is drawn (and clicked) where the shifted map shows its place.

Debian's Chromium driven by Playwright against a real uvicorn server over the test database (the named demo
projects plus 30,100 labelled synthetic ones); every request leaving 127.0.0.1 is aborted and recorded.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page
from sqlalchemy import Engine, text

from geoapp.ingest.coords import wgs84_to_gcj02
from geoapp.settings import Settings
from tests.browser_support import live_server
from tests.conftest import reload_projects

SYNTHETIC = 30_100  # above the page's MARKER_LIMIT (30,000): the map draws tiles
ZOOM = 16

# The colours of a canvas tile around a world pixel: how many pixels within `radius` match `rgb` (opaque, within
# a small tolerance for anti-aliasing), over the drawn canvas tiles of the projects layer at the current zoom.
PIXELS_JS = """([px, py, radius, rgb]) => {
    const layer = geoapp.projects.tiles, ratio = window.devicePixelRatio || 1, z = layer._tileZoom;
    let n = 0, seen = 0;
    for (const {el, coords} of Object.values(layer._tiles)) {
        if (coords.z !== z) continue;
        const ox = coords.x * 256, oy = coords.y * 256;
        const data = el.getContext('2d').getImageData(0, 0, el.width, el.height).data;
        for (let y = Math.floor(py - radius); y <= py + radius; y += 1) {
            for (let x = Math.floor(px - radius); x <= px + radius; x += 1) {
                if (x < ox || y < oy || x >= ox + 256 || y >= oy + 256 || Math.hypot(x - px, y - py) > radius) continue;
                seen += 1;
                const i = (Math.floor((y - oy) * ratio) * el.width + Math.floor((x - ox) * ratio)) * 4;
                if (data[i + 3] === 255 && rgb.every((c, k) => Math.abs(data[i + k] - c) <= 12)) n += 1;
            }
        }
    }
    return [n, seen];
}"""


@pytest.fixture(scope="module")
def big_db(engine: Engine) -> Engine:
    with engine.begin() as conn:
        reload_projects(conn, SYNTHETIC, seed=7)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE projects"))
    return engine


@pytest.fixture(scope="module")
def server(big_db: Engine, database_url: str) -> Iterator[str]:
    with live_server(big_db, Settings(database_url=database_url, basemaps="amap")) as url:
        yield url


@pytest.fixture(scope="module")
def lonely(big_db: Engine) -> dict:
    """A project with a known investment and no other project within about 2 km (nothing drawn over it)."""
    with big_db.connect() as conn:
        row = conn.execute(text(
            "SELECT p.code, ST_X(p.geom), ST_Y(p.geom), p.sector FROM projects p "
            "WHERE p.deleted_at IS NULL AND p.total_investment IS NOT NULL AND NOT EXISTS ("
            "  SELECT 1 FROM projects q WHERE q.id <> p.id AND q.deleted_at IS NULL "
            "  AND ST_DWithin(q.geom, p.geom, 0.02)) ORDER BY p.code LIMIT 1")).one()
    return {"code": row[0], "lon": row[1], "lat": row[2], "sector": row[3]}


def drawn_point(page: Page, code: str) -> dict | None:
    """Where the tile worker drew a project at the current zoom (world pixels), and whether it sent a bitmap."""
    return page.evaluate("""(code) => {
        const layer = geoapp.projects.tiles, z = layer._tileZoom;
        for (const [key, d] of layer.drawn) {
            if (!key.endsWith(':' + z)) continue;
            const k = d.codes.split('\\n').indexOf(code);
            if (k >= 0) return {x: d.wx[k], y: d.wy[k], r: d.r[k], bitmap: d.bitmap instanceof ImageBitmap};
        }
        return null;
    }""", code)


def wait_tiles(page: Page, code: str) -> dict:
    page.wait_for_function("""(code) => { const layer = geoapp.projects.tiles;
        return layer && !layer.isLoading() && [...layer.drawn.keys()].some(k => k.endsWith(':' + layer._tileZoom))
            && [...layer.drawn.values()].some(d => d.codes.split('\\n').includes(code)); }""", arg=code,
                           timeout=30000)
    return drawn_point(page, code)


def test_above_30000_projects_the_gcj02_map_has_the_worker_draw_tiles_at_shifted_positions(watched, server, lonely):
    page = watched.page
    page.goto(f"{server}/?basemap=amap")
    page.wait_for_function("Number(document.body.dataset.loaded) >= 1", timeout=60000)
    assert page.evaluate("[geoapp.mode, geoapp.matched, geoapp.map.options.crs.code]") == \
        ["tiles", SYNTHETIC + 8, "GCJ02:3857"]
    lat, lon = lonely["lat"], lonely["lon"]
    page.evaluate(f"geoapp.map.setView([{lat}, {lon}], {ZOOM}, {{animate: false}})")
    drawn = wait_tiles(page, lonely["code"])
    assert drawn["bitmap"]  # drawn by the worker; the main thread only copied its bitmap

    # the worker drew it at the GCJ-02 position (computed here by the server's own Python transform) …
    glon, glat = (float(v) for v in wgs84_to_gcj02(lon, lat))
    gcj, plain = page.evaluate(f"""[L.CRS.EPSG3857.latLngToPoint(L.latLng({glat}, {glon}), {ZOOM}),
        L.CRS.EPSG3857.latLngToPoint(L.latLng({lat}, {lon}), {ZOOM})]""")
    assert abs(drawn["x"] - gcj["x"]) < 0.1 and abs(drawn["y"] - gcj["y"]) < 0.1
    assert abs(drawn["x"] - plain["x"]) + abs(drawn["y"] - plain["y"]) > 100  # a shift of some 500 m
    # … and its pixels are there in the sector's colour, while the unshifted place is empty
    colour = page.evaluate(f"geoapp.sectors.get('{lonely['sector']}').color")
    rgb = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    at_gcj, seen = page.evaluate(PIXELS_JS, [gcj["x"], gcj["y"], drawn["r"] - 1.5, rgb])
    assert seen > 50 and at_gcj >= 10, (at_gcj, seen)
    at_plain, seen = page.evaluate(PIXELS_JS, [plain["x"], plain["y"], drawn["r"], rgb])
    assert seen > 50 and at_plain == 0

    # a click on the drawn mark opens that project's card
    box = page.locator("#map").bounding_box()
    pt = page.evaluate(f"geoapp.map.latLngToContainerPoint([{lat}, {lon}])")
    page.mouse.click(box["x"] + pt["x"], box["y"] + pt["y"])
    card = page.get_by_test_id("card")
    card.wait_for()
    assert lonely["code"] in card.inner_text()

    # the offline basemap (plain Web Mercator): the same tiles redrawn at the unshifted place
    page.click("#layer-list input[name=basemap][value=offline]")
    page.evaluate(f"geoapp.map.setView([{lat}, {lon}], {ZOOM}, {{animate: false}})")
    page.wait_for_function("geoapp.map.options.crs.code === 'EPSG:3857'")
    page.wait_for_function("""(code) => [...geoapp.projects.tiles.drawn.values()].some(d => d.codes.split('\\n')
        .includes(code)) && !geoapp.projects.tiles.isLoading()""", arg=lonely["code"], timeout=30000)
    drawn = drawn_point(page, lonely["code"])
    assert abs(drawn["x"] - plain["x"]) < 0.1 and abs(drawn["y"] - plain["y"]) < 0.1
    # the Amap tiles were asked for and stopped at the guard (each such abort is logged as a failed load)
    assert watched.outside and all("autonavi.com" in u for u in watched.outside)
    assert [e for e in watched.errors if e != "Failed to load resource: net::ERR_FAILED"] == []
