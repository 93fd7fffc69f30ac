"""The planners' web map in a real browser: Debian's Chromium driven by Playwright against a real uvicorn server
over the test database (the named demo projects plus labelled synthetic ones).

Every request that does not go to 127.0.0.1 is recorded and aborted, so "nothing leaves the machine" is checked,
not assumed.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from playwright.sync_api import Page
from sqlalchemy import Engine, text

from geoapp.ingest.coords import wgs84_to_gcj02
from geoapp.settings import Settings
from tests.browser_support import Watched, click_tiles_at, first_marker, live_server
from tests.conftest import LAYERS, reload_projects

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
SYNTHETIC = 300



@pytest.fixture(scope="module")
def webmap_db(engine: Engine) -> Engine:
    """The demo projects plus 300 synthetic ones (codes SYN-…, names marked 合成数据)."""
    with engine.begin() as conn:
        reload_projects(conn, SYNTHETIC, seed=5)
    return engine


@pytest.fixture(scope="module")
def server(webmap_db: Engine, database_url: str) -> Iterator[str]:
    """A real uvicorn server on a free port; online basemaps configured but not shown by default."""
    with live_server(webmap_db, Settings(database_url=database_url, basemaps="osm,amap")) as url:
        yield url


def open_map(w: Watched, server: str, query: str = "") -> Page:
    w.page.goto(f"{server}/{'?' + query if query else ''}")
    w.page.wait_for_function("Number(document.body.dataset.loaded) >= 1", timeout=30000)
    return w.page


def wait_reload(page: Page, before: int) -> None:
    page.wait_for_function(f"Number(document.body.dataset.loaded) > {before}", timeout=30000)


def loads(page: Page) -> int:
    return int(page.evaluate("document.body.dataset.loaded"))


def api_count(server: str, query: str) -> int:
    """How many projects the layers API returns for a filter (every page of items, and /stats must agree)."""
    sep = "&" if query else ""
    items = httpx.get(f"{server}/collections/projects/items?{query}{sep}limit=10000&properties=code").json()
    stats = httpx.get(f"{server}/stats?{query}").json()
    assert stats["total"]["count"] == len(items["features"])
    return len(items["features"])


def shown(page: Page) -> int:
    return page.evaluate("geoapp.projects.shownCount()")


def stats(server: str, query: str) -> dict:
    return httpx.get(f"{server}/stats?{query}").json()


def money_text(wan: float, lang: str = "zh") -> str:
    """How planners write an amount in 万元 (an independent rendering of static/js/format.js money, for checks)."""
    def fixed(v: float, digits: int) -> str:
        out = f"{v:,.{digits}f}"
        return out.rstrip("0").rstrip(".") if "." in out else out

    if lang == "en":
        if wan >= 10000:
            return f"{fixed(wan / 10000, 2)} 亿 ({fixed(wan / 100000, 3)} bn yuan)"
        return f"{fixed(wan, 2)} 万 ({fixed(wan / 100, 2)} M yuan)"
    return f"{fixed(wan / 10000, 2)}亿元" if wan >= 10000 else f"{fixed(wan, 2)}万元"


def assert_summary_matches_stats(page: Page, server: str, query: str, lang: str = "zh") -> None:
    """The summary strip shows /stats for the same filter: count, total investment, every tier and class chip."""
    st = stats(server, query)
    strip = page.get_by_test_id("summary")
    assert strip.get_by_test_id("summary-count").inner_text() == f"{st['total']['count']:,}"
    assert strip.get_by_test_id("summary-investment").inner_text() == money_text(st["total"]["total_investment"], lang)
    for entry in st["by_tier"]:
        assert strip.get_by_test_id(f"summary-tier-{entry['code']}").inner_text() == f"{entry['count']:,}", entry
    for entry in st["by_investment_class"]:
        assert strip.get_by_test_id(f"summary-class-{entry['code']}").inner_text() == f"{entry['count']:,}", entry
    assert strip.locator("[data-testid^=summary-tier-]").count() == len(st["by_tier"]) == 3
    assert strip.locator("[data-testid^=summary-class-]").count() == len(st["by_investment_class"]) == 3


def wait_tiles(page: Page, z: int) -> None:
    """Until the basemap has placed a tile of zoom z (its request is aborted by the guard; the image stays)."""
    page.wait_for_function(
        f"[...document.querySelectorAll('#map img.leaflet-tile')].some(i => i.src.includes('z={z}'))")


def mercator_px(lon: float, lat: float, z: int) -> tuple[float, float]:
    """Web-Mercator (EPSG:3857) pixel of a point at zoom z, 256-pixel tiles."""
    size = 256 * 2 ** z
    y = math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat)))
    return (lon + 180) / 360 * size, (1 - y / math.pi) / 2 * size


def screen_of(page: Page, lon: float, lat: float, z: int) -> tuple[float, float]:
    """Where the Web-Mercator point (lon, lat) lies on screen, found from a basemap tile's own place: tile x/y/z
    (from its URL) sits at pixel (256x, 256y) of zoom z, so this does not ask the map's CRS."""
    tiles = page.evaluate("""[...document.querySelectorAll('#map img.leaflet-tile')]
        .map(i => ({src: i.src, r: i.getBoundingClientRect().toJSON()}))""")
    for tile in tiles:
        q = parse_qs(urlparse(tile["src"]).query)
        if q.get("z") == [str(z)]:
            px, py = mercator_px(lon, lat, z)
            assert tile["r"]["width"] == 256
            return tile["r"]["x"] + px - 256 * int(q["x"][0]), tile["r"]["y"] + py - 256 * int(q["y"][0])
    raise AssertionError(f"no basemap tile of zoom {z}: {[t['src'] for t in tiles][:3]}")


def drawn_on_map(page: Page) -> int:
    """Projects drawn in the current view: single markers plus the counts written on the cluster icons."""
    return page.evaluate("""() => {
        const singles = document.querySelectorAll('#map .pm').length;
        const clusters = [...document.querySelectorAll('#map .marker-cluster-custom div')]
            .reduce((s, el) => s + Number(el.textContent), 0);
        return singles + clusters;
    }""")


def test_the_map_loads_with_no_console_errors_and_no_request_leaving_the_machine(watched, server):
    page = open_map(watched, server)
    assert page.title() == "通辽市重大项目地图"
    assert page.locator("#map .leaflet-interactive").count() >= 8  # the division boundaries
    assert watched.errors == []
    assert watched.outside == []


@pytest.mark.parametrize("query", [
    "",
    "sector=green_aluminium,lng",
    "tier=implementation&investment_class=1y",
    "division=150526&start_year=2024",
    "q=%E9%A3%8E%E7%94%B5",  # 风电
])
def test_the_projects_shown_equal_the_api_count_for_the_same_filter(watched, server, query):
    page = open_map(watched, server, query)
    expected = api_count(server, query)
    assert shown(page) == expected
    assert page.get_by_test_id("summary-count").inner_text().replace(",", "") == str(expected)
    page.evaluate("geoapp.map.fitBounds(geoapp.divisions.boundaries.getBounds().pad(0.2), {animate: false})")
    page.wait_for_timeout(400)
    assert drawn_on_map(page) == expected
    assert watched.errors == []


def test_the_whole_demo_library_is_on_the_map(watched, server, webmap_db):
    page = open_map(watched, server)
    with webmap_db.connect() as conn:
        in_db = conn.execute(text("SELECT count(*) FROM projects WHERE deleted_at IS NULL")).scalar()
    assert in_db == 8 + SYNTHETIC
    assert shown(page) == in_db


def test_changing_a_filter_changes_markers_summary_and_url_and_reloading_restores_it(watched, server):
    page = open_map(watched, server)
    total = shown(page)
    assert_summary_matches_stats(page, server, "")
    summary_before = page.get_by_test_id("summary").inner_text()
    before = loads(page)
    page.locator("#f-tier input[value=implementation]").check()
    wait_reload(page, before)
    assert parse_qs(urlparse(page.url).query)["tier"] == ["implementation"]
    expected = api_count(server, "tier=implementation")
    assert 0 < expected < total
    assert shown(page) == expected
    assert_summary_matches_stats(page, server, "tier=implementation")
    assert page.get_by_test_id("summary").inner_text() != summary_before

    before = loads(page)
    page.select_option("#f-investment_class", "1y")
    wait_reload(page, before)
    expected2 = api_count(server, "tier=implementation&investment_class=1y")
    assert shown(page) == expected2 < expected
    assert "investment_class=1y" in page.url
    assert_summary_matches_stats(page, server, "tier=implementation&investment_class=1y")

    page.reload()
    page.wait_for_function("Number(document.body.dataset.loaded) >= 1")
    assert shown(page) == expected2
    assert page.locator("#f-tier input[value=implementation]").is_checked()
    assert page.locator("#f-investment_class").input_value() == "1y"

    page.go_back()  # the back button returns to the previous filter
    page.wait_for_function(f"geoapp.projects.shownCount() === {expected}")
    assert "investment_class" not in page.url
    assert watched.errors == []


def test_the_start_year_picker_offers_the_years_in_the_data_and_keeps_the_urls_year(watched, server, webmap_db):
    with webmap_db.connect() as conn:
        years = [str(y) for y in conn.execute(text(
            "SELECT DISTINCT start_year FROM projects WHERE deleted_at IS NULL AND start_year IS NOT NULL "
            "ORDER BY 1 DESC")).scalars()]
    assert len(years) > 1
    page = open_map(watched, server)
    options = page.locator("#f-start_year option").evaluate_all("os => os.map(o => o.value)")
    assert options == ["", *years]
    # a year from a bookmarked URL stays selectable (and selected) even when no project starts then
    page = open_map(watched, server, "start_year=1990")
    assert page.locator("#f-start_year").input_value() == "1990"
    assert page.locator("#f-start_year option").evaluate_all("os => os.map(o => o.value)") == \
        ["", *sorted([*years, "1990"], reverse=True)]
    assert shown(page) == api_count(server, "start_year=1990") == 0
    assert watched.errors == []


RAMP = ["#fff5eb", "#fdd0a2", "#fdae6b", "#f16913", "#a63603"]  # static/js/divisions.js
NO_DATA = "#f3f4f6"


def expected_fills(server: str, query: str, measure: str) -> list[str]:
    """The choropleth colour of every division for a filter: equal steps from 0 to the maximum, as the legend says."""
    sep = "&" if query else ""
    fc = httpx.get(f"{server}/collections/divisions/items?{query}{sep}limit=1000").json()
    values = [float(f["properties"].get(measure) or 0) for f in fc["features"]]
    top = max(values)
    steps = [top * (i + 1) / len(RAMP) for i in range(len(RAMP))]
    last = len(RAMP) - 1  # the maximum itself may round just above the last step
    return sorted(NO_DATA if not v else RAMP[next((i for i, b in enumerate(steps) if v <= b), last)] for v in values)


def drawn_fills(page: Page) -> list[str]:
    return sorted(page.evaluate(
        "[...document.querySelectorAll('#map .leaflet-overlay-pane path')].map(p => p.getAttribute('fill'))"))


def test_the_layer_list_hides_a_sector_and_the_divisions_and_the_choropleth_switches_count_and_investment(
        watched, server):
    page = open_map(watched, server)
    # the legend says that its sector toggles are the sector filter (summary and exports follow)
    hint = page.get_by_test_id("sector-toggle-hint")
    assert "行业筛选" in hint.inner_text() and "导出" in hint.inner_text()
    assert page.locator("#layer-list label:has(input[name=sector])").first.get_attribute("title") == hint.inner_text()
    sectors = [e["code"] for e in stats(server, "")["by_sector"]]
    hidden = "wind_equipment"
    before = loads(page)
    page.locator(f"#layer-list input[name=sector][value={hidden}]").uncheck()
    wait_reload(page, before)
    rest = "sector=" + ",".join(c for c in sectors if c != hidden)
    expected = api_count(server, rest)
    assert 0 < expected == api_count(server, "") - api_count(server, f"sector={hidden}")
    assert shown(page) == expected
    assert page.locator(f"#map .pm[data-sector={hidden}]").count() == 0
    assert_summary_matches_stats(page, server, rest)
    assert hidden not in page.get_by_test_id("export-csv").get_attribute("href")

    # the divisions layer off and on
    polygons = page.locator("#map .leaflet-overlay-pane path")
    n = polygons.count()
    assert n >= 9
    page.locator("#layer-list input[name=divisions]").uncheck()
    assert polygons.count() == 0
    assert parse_qs(urlparse(page.url).query)["divisions"] == ["0"]
    page.locator("#layer-list input[name=divisions]").check()
    assert polygons.count() == n

    # the choropleth by count, then by investment: other fills, legend in 万元/亿元
    by_count = expected_fills(server, rest, "project_count")
    by_money = expected_fills(server, rest, "total_investment")
    assert by_count != by_money
    assert drawn_fills(page) == by_count
    assert "元" not in page.locator("#layer-list .ramp-labels").inner_text()
    page.locator("#layer-list input[name=choro][value=investment]").check()
    assert drawn_fills(page) == by_money
    labels = page.locator("#layer-list .ramp-labels span").all_inner_texts()
    fc = httpx.get(f"{server}/collections/divisions/items?{rest}&limit=1000").json()
    top = max(float(f["properties"]["total_investment"] or 0) for f in fc["features"])
    assert labels == ["0万元", money_text(top)] and top >= 10000 and labels[1].endswith("亿元")
    assert parse_qs(urlparse(page.url).query)["choro"] == ["investment"]
    page.locator("#layer-list input[name=choro][value=count]").check()
    assert drawn_fills(page) == by_count
    assert watched.errors == []


def test_clicking_a_banner_zooms_to_it_and_shows_its_totals_by_tier_and_sector(watched, server, inner_points):
    page = open_map(watched, server, "sector=green_aluminium,lng,wind_equipment")
    page.locator("#layer-list input[name=projects]").uncheck()  # so the click lands on the polygon, not a marker
    center_before = page.evaluate("geoapp.map.getCenter()")
    lon, lat = inner_points["150526"]  # 扎鲁特旗
    box = page.locator("#map").bounding_box()
    pt = page.evaluate(f"geoapp.map.latLngToContainerPoint([{lat}, {lon}])")
    page.mouse.click(box["x"] + pt["x"], box["y"] + pt["y"])
    page.wait_for_selector("[data-testid=banner-name]")
    assert "扎鲁特旗" in page.get_by_test_id("banner-name").inner_text()
    expected = api_count(server, "sector=green_aluminium,lng,wind_equipment&division=150526")
    assert page.get_by_test_id("banner-count").inner_text() == str(expected)
    by_tier = page.locator("[data-testid=banner-by-tier] td.n").all_inner_texts()
    by_sector = page.locator("[data-testid=banner-by-sector] td.n").all_inner_texts()
    assert sum(int(n) for n in by_tier) == expected == sum(int(n) for n in by_sector)
    assert len(by_sector) <= 3
    # zoomed to the banner: the view is centred on it and holds it whole (the animation may take a moment)
    page.wait_for_function("""() => { const b = geoapp.divisions.bounds('150526'), c = geoapp.map.getCenter();
        return geoapp.map.getBounds().contains(b) && b.contains(c) && c.distanceTo(b.getCenter()) < 20000; }""",
                           timeout=10000)
    assert page.evaluate("geoapp.map.getCenter()") != center_before
    assert parse_qs(urlparse(page.url).query)["banner"] == ["150526"]
    assert watched.errors == []


def test_the_language_switch_turns_the_interface_to_english_and_back(watched, server):
    page = open_map(watched, server)
    assert page.locator("h1").inner_text() == "通辽市重大项目地图"
    assert "新能源装备制造" in page.locator("#layer-list").inner_text()
    page.click("#lang-switch")
    assert page.locator("h1").inner_text() == "Tongliao major-project map"
    assert page.evaluate("document.documentElement.lang") == "en"
    assert "Wind-power equipment" in page.locator("#layer-list").inner_text()
    assert "changes the sector filter" in page.get_by_test_id("sector-toggle-hint").inner_text()
    assert "Projects" in page.get_by_test_id("summary").inner_text()
    assert "lang=en" in page.url
    # English numbers: "1,234.5 亿 (123.45 bn yuan)", grouped the English way, chips and all
    assert_summary_matches_stats(page, server, "", "en")
    assert re.fullmatch(r"[\d,.]+ 亿 \([\d,.]+ bn yuan\)", page.get_by_test_id("summary-investment").inner_text())
    page.reload()
    page.wait_for_function("Number(document.body.dataset.loaded) >= 1")
    assert page.locator("h1").inner_text() == "Tongliao major-project map"
    page.click("#lang-switch")
    assert page.locator("h1").inner_text() == "通辽市重大项目地图"
    assert watched.errors == []


def test_money_is_written_in_wan_and_yi_yuan(watched, server):
    page = open_map(watched, server)
    assert page.evaluate("import('/static/js/format.js').then(m => [m.money(672000), m.money(500), m.money(null)])") \
        == ["67.2亿元", "500万元", "—"]


def test_a_project_popup_shows_its_card_and_links_to_its_json(watched, server):
    page = open_map(watched, server, "q=%E6%89%8E%E5%93%88%E6%B7%96%E5%B0%94")  # 扎哈淖尔
    assert shown(page) == 1
    # once set, the view stays (no late fit moves it: see tests/test_webmap_view.py)
    first_marker(page).click()
    card = page.get_by_test_id("card")
    card.wait_for()
    text_ = card.inner_text()
    for expected in ("扎哈淖尔35万吨绿电铝项目", "绿色铝基新材料", "实施", "在建", "67.2亿元", "近似", "扎鲁特旗"):
        assert expected in text_
    href = page.get_by_test_id("card-json").get_attribute("href")
    feature = httpx.get(f"{server}{href}").json()
    assert feature["properties"]["code"] == "TL2025-001"
    p = feature["properties"]
    # every row the issue lists is on the card, under its label, with the stored value
    rows = dict(zip(card.locator("th").all_inner_texts(), card.locator("td").all_inner_texts(), strict=True))
    for label_ in ("项目单位", "行业领域", "项目层级", "项目状态", "总投资", "建设年限", "建设内容", "责任单位",
                   "包联领导", "位置精度", "来源"):
        assert label_ in rows, (label_, rows)
    assert card.locator("h3").inner_text() == p["name"]
    for label_, key in (("项目单位", "company"), ("建设内容", "scope"), ("来源", "source")):
        assert p[key] and rows[label_] == p[key], (label_, p[key])
    for label_, key in (("责任单位", "responsible_unit"), ("包联领导", "leader")):  # unknown ones read "—"
        assert rows[label_] == (p[key] or "—"), (label_, p[key])
    years = "–".join(str(y) for y in (p["start_year"], p["end_year"]) if y is not None)
    assert rows["建设年限"] == (years or "—")
    assert rows["总投资"] == money_text(p["total_investment"]) == "67.2亿元"
    assert page.get_by_test_id("card-json").inner_text() == "JSON 数据"
    assert watched.errors == []


def test_export_links_carry_the_current_filter(watched, server):
    page = open_map(watched, server, "sector=lng&tier=implementation")
    expected = api_count(server, "sector=lng&tier=implementation")
    csv_href = page.get_by_test_id("export-csv").get_attribute("href")
    assert "sector=lng" in csv_href and "f=csv" in csv_href
    csv = httpx.get(f"{server}{csv_href}")
    assert csv.status_code == 200
    assert len([line for line in csv.text.splitlines() if line.strip()]) == expected + 1
    geojson = httpx.get(f"{server}{page.get_by_test_id('export-geojson').get_attribute('href')}").json()
    assert len(geojson["features"]) == expected
    xlsx = httpx.get(f"{server}{page.get_by_test_id('export-xlsx').get_attribute('href')}")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    html = httpx.get(f"{server}{page.get_by_test_id('export-html').get_attribute('href')}")
    assert html.status_code == 200 and "text/html" in html.headers["content-type"]
    assert f"<span id='geoapp-count'>{expected}</span>" in html.text


def test_a_screenshot_with_chinese_labels_is_saved_and_not_blank(watched, server):
    page = open_map(watched, server)
    assert page.evaluate("document.fonts.check('16px \"Noto Sans CJK SC\"')")
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "webmap-zh.png"
    png = page.screenshot(path=str(path))
    assert path.stat().st_size > 20000
    # decode the PNG in the page itself (no imaging library needed) and measure how varied the map area is
    stats = page.evaluate("""async (b64) => {
        const img = new Image(); img.src = 'data:image/png;base64,' + b64; await img.decode();
        const c = document.createElement('canvas'); c.width = img.width; c.height = img.height;
        const ctx = c.getContext('2d'); ctx.drawImage(img, 0, 0);
        const r = document.querySelector('#map').getBoundingClientRect();
        const d = ctx.getImageData(r.x, r.y, r.width, r.height).data;
        const counts = new Map(); let ink = 0; let n = 0;
        for (let i = 0; i < d.length; i += 16) {
            const key = (d[i] >> 3) << 10 | (d[i + 1] >> 3) << 5 | (d[i + 2] >> 3);
            counts.set(key, (counts.get(key) || 0) + 1);
            if (d[i] + d[i + 1] + d[i + 2] < 450) ink += 1;  // text, boundaries, markers
            n += 1;
        }
        return {colours: counts.size, top: Math.max(...counts.values()) / n, ink};
    }""", base64.b64encode(png).decode())
    assert stats["colours"] > 50 and stats["top"] < 0.8 and stats["ink"] > 200, stats
    labels = page.locator("#map .division-label").all_inner_texts()
    assert "科尔沁区" in labels and "扎鲁特旗" in labels
    assert page.evaluate("document.querySelector('#map .division-label').getBoundingClientRect().width") > 20


def test_the_gcj02_basemap_shifts_every_drawn_point_and_clicks_come_back_in_wgs84(watched, server, inner_points):
    page = open_map(watched, server, "basemap=amap&q=%E6%89%8E%E5%93%88%E6%B7%96%E5%B0%94")  # 扎哈淖尔
    assert page.evaluate("geoapp.map.options.crs.code") == "GCJ02:3857"
    assert shown(page) == 1
    feature = httpx.get(f"{server}/collections/projects/items/TL2025-001").json()
    lon, lat = feature["geometry"]["coordinates"]
    z = 15
    page.evaluate(f"geoapp.map.setView([{lat}, {lon}], {z}, {{animate: false}})")
    page.wait_for_selector("#map .pm", timeout=10000)
    wait_tiles(page, z)
    # the marker sits on the Web-Mercator pixel of its GCJ-02 point (computed here, in Python), not of its WGS84 one
    glon, glat = (float(v) for v in wgs84_to_gcj02(lon, lat))
    for _frame in range(120):  # the map may still be settling (a late pan): measure again after the next frames
        ex, ey = screen_of(page, glon, glat, z)
        wx, wy = screen_of(page, lon, lat, z)
        r = page.locator("#map .pm").first.bounding_box()
        mx, my = r["x"] + r["width"] / 2, r["y"] + r["height"] / 2
        if abs(mx - ex) <= 1.5 and abs(my - ey) <= 1.5:
            break
        page.evaluate("new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    assert abs(mx - ex) <= 1.5 and abs(my - ey) <= 1.5, ((mx, my), (ex, ey))
    assert math.hypot(mx - wx, my - wy) > 50  # ~500 m of shift is ~150 px at zoom 15: the check can fail
    # a real click on a banner polygon (drawn shifted) selects that banner
    page.locator("#layer-list input[name=projects]").uncheck()
    blon, blat = inner_points["150526"]  # 扎鲁特旗
    z = 10
    page.evaluate(f"geoapp.map.setView([{blat}, {blon}], {z}, {{animate: false}})")
    wait_tiles(page, z)
    assert "banner" not in parse_qs(urlparse(page.url).query)
    x, y = screen_of(page, *(float(v) for v in wgs84_to_gcj02(blon, blat)), z)
    page.mouse.click(x, y)
    page.wait_for_selector("[data-testid=banner-name]")
    assert parse_qs(urlparse(page.url).query)["banner"] == ["150526"]
    assert "扎鲁特旗" in page.get_by_test_id("banner-name").inner_text()
    # the online tiles were asked for and stopped at the guard: no request reached the internet
    assert watched.outside and all("autonavi.com" in u for u in watched.outside)
    page.click("#layer-list input[name=basemap][value=offline]")
    assert page.evaluate("geoapp.map.options.crs.code") == "EPSG:3857"
    assert [e for e in watched.errors if "net::ERR_FAILED" not in e] == []  # only the blocked tiles failed


def test_large_filters_draw_vector_tiles_and_a_click_opens_the_project(watched, server):
    page = open_map(watched, server, "render=tiles&sector=lng")
    assert page.evaluate("geoapp.mode") == "tiles"
    code = httpx.get(f"{server}/collections/projects/items?sector=lng&limit=1&properties=code").json()
    feature = code["features"][0]
    lon, lat = feature["geometry"]["coordinates"]
    click_tiles_at(page, lon, lat)
    card = page.get_by_test_id("card")
    card.wait_for()
    assert "天然气/LNG" in card.inner_text()
    assert watched.errors == [] and watched.outside == []


def test_the_map_is_usable_on_a_phone(watched_phone, server):
    page = open_map(watched_phone, server, "q=%E6%89%8E%E5%93%88%E6%B7%96%E5%B0%94")  # 扎哈淖尔
    map_box = page.locator("#map").bounding_box()
    assert map_box["width"] >= 380 and map_box["height"] > 500
    assert not page.locator("#panel").evaluate("el => el.getBoundingClientRect().right > 0")
    # an inspection team taps the project's marker and reads its card on the phone
    first_marker(page).tap()
    card = page.get_by_test_id("card")
    card.wait_for()
    assert "扎哈淖尔35万吨绿电铝项目" in card.inner_text()
    box = card.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390  # the card fits the phone's width
    page.locator("#panel-toggle").tap()
    page.wait_for_function("document.querySelector('#panel').getBoundingClientRect().left >= 0")
    assert page.locator("#f-tier").is_visible()
    assert watched_phone.errors == []
    assert watched_phone.outside == []


def test_the_folium_export_opens_offline_and_shows_its_markers(browser, server, webmap_db, tmp_path):
    from geoapp.webmap.folium_export import export_map

    out = tmp_path / "map.html"
    with webmap_db.connect() as conn:
        n = export_map(conn, {"sector": ["green_aluminium", "lng"]}, out, LAYERS,
                       Path(__file__).resolve().parent.parent / "static")
    assert n == api_count(server, "sector=green_aluminium,lng") > 0
    context = browser.new_context(offline=True)
    page = context.new_page()
    errors, outside = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: errors.append(f"failed {r.url}"))

    def guard(route):
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    page.goto(out.as_uri())
    page.wait_for_selector(".leaflet-interactive")
    features = page.evaluate("""Object.keys(window).filter(k => k.startsWith('geo_json_'))
        .map(k => window[k]).filter(l => l && l.getLayers)
        .flatMap(l => l.getLayers()).filter(x => x.feature && x.feature.properties.card).length""")
    assert features == n
    colours = page.evaluate("""[...document.querySelectorAll('path.leaflet-interactive')]
        .map(p => p.getAttribute('fill')).filter(c => c === '#6a3d9a' || c === '#ff7f00').length""")
    assert colours == n  # every project drawn in its sector colour (green aluminium, LNG)
    assert page.locator("#geoapp-count").inner_text() == str(n)
    assert "扎鲁特旗" in page.content()
    assert errors == [] and outside == []
    context.close()


def test_geoapp_map_export_writes_the_offline_map_from_the_command_line(webmap_db, database_url, tmp_path,
                                                                         monkeypatch):
    from typer.testing import CliRunner

    from geoapp.cli import app

    monkeypatch.setenv("GEOAPP_DATABASE_URL", database_url)
    out = tmp_path / "cli.html"
    result = CliRunner().invoke(app, ["map", "export", str(out), "--sector", "绿电铝", "--division", "扎旗"])
    assert result.exit_code == 0, result.output
    with webmap_db.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM projects WHERE sector = 'green_aluminium' "
                              "AND division_code = '150526' AND deleted_at IS NULL")).scalar()
    assert f"exported {n} projects" in result.output
    assert f"<span id='geoapp-count'>{n}</span>" in out.read_text(encoding="utf-8")
    bad = CliRunner().invoke(app, ["map", "export", str(tmp_path / "x.html"), "--sector", "不存在的行业"])
    assert bad.exit_code == 1 and "sector" in bad.output and not (tmp_path / "x.html").exists()


def test_an_old_bookmark_with_labels_still_shows_its_projects(watched, server):
    """The API's sector=/tier= compare stored codes; a bookmark written with labels and aliases (绿电铝, 实施) is
    read as their codes, so it shows what it showed before."""
    page = open_map(watched, server, "sector=绿电铝,LNG&tier=实施")
    expected = api_count(server, "sector=green_aluminium,lng&tier=implementation")
    assert expected > 0
    csv_href = page.get_by_test_id("export-csv").get_attribute("href")
    assert "sector=green_aluminium%2Clng" in csv_href and "tier=implementation" in csv_href
    assert watched.errors == []
