"""Stored XSS in the offline HTML map (folium): the hover tooltip put a project's name into the page as HTML, so a
project named ``<img src=x onerror=alert(1)>`` ran its script in every planner's browser that opened the export.

folium keeps the features in a JavaScript literal (``<`` as ``\\u003c``), so the raw tag never shows in the file even
when the bug is there: the test opens the exported map in headless Chromium, hovers and clicks every marker and
division, and checks that no dialog opens, no injected element exists and the names show as text.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import text

from geoapp.webmap.folium_export import export_map
from tests.conftest import LAYERS
from tests.test_ingest import HORQIN, KAILU, run_import

STATIC = Path(__file__).resolve().parents[2] / "static"
IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>alert(2)</script>"
DIVISION_EN = "<img src=x onerror=alert(3)>"
HOSTILE = {
    "XSS-1": {"name": IMG, "company": "<b onmouseover=alert(4)>单位</b>", "scope": "<svg onload=alert(5)>"},
    "XSS-2": {"name": SCRIPT, "company": "\"><img src=x onerror=alert(6)>",
              "leader": "<iframe src=javascript:alert(7)>"},
}


@pytest.fixture
def xss_db(empty_db, inner_points, tmp_path):
    """Two projects whose texts are HTML, and a division whose English name is (restored afterwards)."""
    path = tmp_path / "xss.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["项目编号", "项目名称", "旗县市区", "行业领域", "项目层级", "项目状态", "建设单位", "包联领导",
                         "建设内容及规模", "经度", "纬度"])
        for (code, texts), division in zip(HOSTILE.items(), (HORQIN, KAILU), strict=True):
            lon, lat = inner_points[division]
            writer.writerow([code, texts["name"], division, "文旅", "策划", "前期", texts.get("company"),
                             texts.get("leader"), texts.get("scope"), lon, lat])
    report = run_import(empty_db, path)
    assert report.ok, report.text()
    with empty_db.begin() as conn:
        before = conn.execute(text("SELECT name_en FROM divisions WHERE code = :c"), {"c": KAILU}).scalar()
        conn.execute(text("UPDATE divisions SET name_en = :n WHERE code = :c"), {"n": DIVISION_EN, "c": KAILU})
    try:
        yield empty_db
    finally:
        with empty_db.begin() as conn:
            conn.execute(text("UPDATE divisions SET name_en = :n WHERE code = :c"), {"n": before, "c": KAILU})


def exported(xss_db, tmp_path, params: dict, lang: str) -> Path:
    out = tmp_path / f"map-{lang}-{len(params)}.html"
    with xss_db.connect() as conn:
        export_map(conn, params, out, LAYERS, STATIC, lang)
    return out


def test_the_exported_file_holds_no_raw_tag_and_the_tooltip_names_escaped(xss_db, tmp_path):
    page = exported(xss_db, tmp_path, {}, "en").read_text(encoding="utf-8")
    for raw in (IMG, SCRIPT, DIVISION_EN, *(t for texts in HOSTILE.values() for t in texts.values())):
        assert raw not in page
    # the tooltip's text is stored escaped (folium writes "&" as \u0026 in its JavaScript literal)
    assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;" in page
    assert "\\u0026lt;script\\u0026gt;alert(2)\\u0026lt;/script\\u0026gt;" in page


def test_the_api_export_is_escaped_too(xss_db, client):
    answer = client.get("/webmap/export.html", params={"lang": "en", "q": SCRIPT})
    assert answer.status_code == 200, answer.text[:300]
    assert SCRIPT not in answer.text and IMG not in answer.text
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in answer.text   # the legend's filter, escaped


def open_offline(browser, path: Path):
    context = browser.new_context(offline=True, viewport={"width": 1200, "height": 800})
    page = context.new_page()
    dialogs: list[str] = []
    errors: list[str] = []

    def dialog(d) -> None:
        dialogs.append(d.message)
        d.dismiss()

    page.on("dialog", dialog)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_selector(".leaflet-interactive")
    return context, page, dialogs, errors


# What only injected HTML would put into the page: images and frames (the map has neither: no tiles, circle markers,
# label divs), inline event handlers, scripts inside the map or the legend.
INJECTED = """() => [...document.querySelectorAll('*')].filter(el => ['IMG', 'IFRAME'].includes(el.tagName)
    || [...el.attributes].some(a => a.name.startsWith('on'))
    || (el.tagName === 'SCRIPT' && el.closest('.leaflet-container, #geoapp-legend'))).map(el => el.outerHTML)"""


def hover_and_click_everything(page) -> tuple[list[str], list[str]]:
    """Move the mouse over each project marker and division (tooltips), click each marker (its card); return the
    tooltips' and the cards' visible text."""
    map_name = page.evaluate("Object.keys(window).find(k => k.startsWith('map_') && window[k].getCenter)")
    layers = page.evaluate(f"""() => {{
        const out = [];
        window['{map_name}'].eachLayer(l => {{
            if (l.feature && l.getLatLng) out.push({{kind: 'project', at: [l.getLatLng().lat, l.getLatLng().lng]}});
            else if (l.feature && l.getBounds) {{
                const c = l.getCenter(); out.push({{kind: 'division', at: [c.lat, c.lng]}});
            }}
        }});
        return out;
    }}""")
    assert sum(1 for x in layers if x["kind"] == "project") >= 1
    box = page.locator(f"#{map_name}").bounding_box()
    tips, cards = [], []
    for layer in layers:
        zoom = 13 if layer["kind"] == "project" else 8
        page.evaluate(f"window['{map_name}'].setView({layer['at']}, {zoom}, {{animate: false}})")
        pt = page.evaluate(f"window['{map_name}'].latLngToContainerPoint({layer['at']})")
        x, y = box["x"] + pt["x"], box["y"] + pt["y"]
        page.mouse.move(x - 30, y - 30)
        page.mouse.move(x, y)
        tip = page.locator(".leaflet-tooltip").last
        if layer["kind"] == "project":
            tip.wait_for(timeout=5000)
            tips.append(tip.inner_text())
            page.mouse.click(x, y)
            card = page.locator(".leaflet-popup-content").last
            card.wait_for(timeout=5000)
            cards.append(card.inner_text())
            page.evaluate(f"window['{map_name}'].closePopup()")
        elif tip.count():
            tips.append(tip.inner_text())
    return tips, cards


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_no_script_runs_when_the_map_is_opened_hovered_and_clicked(xss_db, browser, tmp_path, lang):
    path = exported(xss_db, tmp_path, {}, lang)
    context, page, dialogs, errors = open_offline(browser, path)
    try:
        tips, cards = hover_and_click_everything(page)
        page.wait_for_timeout(300)
        assert dialogs == [], f"a script ran: {dialogs}"
        assert page.evaluate(INJECTED) == []
        assert errors == []
        # the texts are shown, as text
        assert any(IMG in t for t in tips) and any(SCRIPT in t for t in tips)
        assert any(IMG in c and HOSTILE["XSS-1"]["company"] in c and HOSTILE["XSS-1"]["scope"] in c for c in cards)
        assert any(SCRIPT in c and HOSTILE["XSS-2"]["leader"] in c for c in cards)
        if lang == "en":
            assert DIVISION_EN in page.locator(".dlabel").all_inner_texts()
    finally:
        context.close()


def test_a_hostile_filter_in_the_legend_shows_as_text(xss_db, browser, tmp_path):
    path = exported(xss_db, tmp_path, {"q": SCRIPT}, "zh")
    context, page, dialogs, errors = open_offline(browser, path)
    try:
        legend = page.locator("#geoapp-legend")
        assert SCRIPT in legend.inner_text()
        assert legend.locator("script").count() == 0
        hover_and_click_everything(page)
        assert dialogs == [] and errors == [] and page.evaluate(INJECTED) == []
    finally:
        context.close()
