"""The project card on the web map shows 年度计划投资 and 投资完成率 (累计完成 ÷ 总投资, from the latest monthly
report), in a real browser. Reuses the server, browser and report fixtures of tests/test_webmap_progress.py."""

from __future__ import annotations

from urllib.parse import quote

import httpx

from geoapp.money import money, percent
from tests.browser_support import first_marker
from tests.test_webmap_progress import MONTH, reported  # noqa: F401
from tests.test_webmap_routes import open_map, routes_db, server  # noqa: F401


def test_the_card_shows_the_planned_investment_and_the_completion_rate(watched, server, reported):  # noqa: F811
    code, name = reported["a"]
    page = open_map(watched, server, f"q={quote(name)}")  # no month chosen: the rate is the latest report's
    first_marker(page).click()
    card = page.get_by_test_id("card")
    card.wait_for()
    page.wait_for_function("[...document.querySelectorAll('[data-testid=card] th')]"
                           ".some((th) => th.textContent === '投资完成率')")
    rows = dict(zip(card.locator("th").all_inner_texts(), card.locator("td").all_inner_texts(), strict=True))
    p = httpx.get(f"{server}/collections/projects/items/{code}").json()["properties"]
    completed = httpx.get(f"{server}/projects/{code}/progress").json()[-1]["investment_completed"]
    assert rows["投资完成率"] == f"{percent(completed, p['total_investment'])} （截至{MONTH}）"
    planned = money(p["planned_investment"]) + (f" ({p['plan_year']})" if p.get("plan_year") else "") \
        if p.get("planned_investment") is not None else "—"
    assert rows["年度计划投资"] == planned
    assert "card-progress" not in card.inner_html()  # the month's rows only when a month is chosen
    assert watched.errors == [] and watched.outside == []

