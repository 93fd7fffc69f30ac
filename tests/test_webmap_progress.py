"""按月调度 on the web map, in a real browser: two reports posted through the API by an admin (made by geoapp's own
account functions), the page opened with ?month= shows in a project's card that month's report (or 未报送 with the
last earlier one) and counts the projects that missed the month's report exactly as GET /progress/missing does.

Reuses the server, browser and page fixtures of tests/test_webmap_routes.py (demo + labelled synthetic projects).
"""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlparse

import httpx
import pytest
from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlalchemy import Engine, text

from tests.browser_support import Watched, first_marker
from tests.test_webmap_routes import open_map, routes_db, server  # noqa: F401

MONTH = "2025-05"
EARLIER = "2025-03"


@pytest.fixture
def reported(server: str, routes_db: Engine, accounts: dict) -> dict:  # noqa: F811
    """Project A reports for MONTH, project B only for an earlier month (named demo projects, not synthetic)."""
    with routes_db.connect() as conn:
        (a_code, a_name), (b_code, b_name) = conn.execute(text(
            "SELECT code, name FROM projects WHERE source IS DISTINCT FROM 'synthetic' ORDER BY code LIMIT 2")).all()
    bodies = {a_code: {"month": MONTH, "status": "在建", "progress_pct": 45, "investment_completed": 12345,
                       "issues": "用地手续待批（测试）"},
              b_code: {"month": EARLIER, "status": "前期", "progress_pct": 10, "investment_completed": 800}}
    for code, body in bodies.items():
        answer = httpx.post(f"{server}/projects/{code}/progress", json=body, headers=accounts["admin"], timeout=30)
        assert answer.status_code == 201, answer.text
    return {"a": (a_code, a_name), "b": (b_code, b_name)}


def open_card(w: Watched, server: str, name: str, month: str = MONTH) -> Page:  # noqa: F811
    """The map filtered to one project by name, with the month chosen; its marker clicked."""
    page = open_map(w, server, f"q={quote(name)}&month={month}")
    page.wait_for_function(f"document.body.dataset.progressLoaded === '{month}'")
    for attempt in range(3):  # a popup the page closed (a late re-render) is opened again, at most twice
        first_marker(page).click()
        try:
            page.get_by_test_id("card-progress").wait_for(timeout=10_000)
            break
        except PlaywrightTimeout:
            assert attempt < 2, f"no card with its reports; popups: {page.locator('.leaflet-popup').all_inner_texts()}"
    assert page.locator("[data-testid=card] h3").inner_text() == name
    return page


def test_the_card_shows_the_progress_reported_for_the_chosen_month(watched, server, reported):  # noqa: F811
    page = open_card(watched, server, reported["a"][1])
    card = page.get_by_test_id("card-progress")
    assert card.get_attribute("data-month") == MONTH and card.get_attribute("data-reported") == "1"
    assert page.get_by_test_id("card-report-state").inner_text() == "已报送"
    assert page.get_by_test_id("card-report-status").inner_text() == "在建"
    assert page.get_by_test_id("card-progress-pct").inner_text() == "45%"
    assert page.get_by_test_id("card-investment-completed").inner_text() == "1.23亿元"
    assert page.get_by_test_id("card-issues").inner_text() == "用地手续待批（测试）"
    assert page.get_by_test_id("progress-month").input_value() == MONTH
    assert watched.errors == [] and watched.outside == []


def test_a_project_without_the_months_report_reads_not_reported_with_its_last_report(watched, server, reported):  # noqa: F811
    page = open_card(watched, server, reported["b"][1])
    assert page.get_by_test_id("card-progress").get_attribute("data-reported") == "0"
    assert page.get_by_test_id("card-report-state").inner_text() == f"未报送 （最近一次：{EARLIER}）"
    assert page.get_by_test_id("card-progress-pct").inner_text() == "10%"
    assert page.get_by_test_id("card-investment-completed").inner_text() == "800万元"
    # before any report the card says so and shows no figures
    page = open_card(watched, server, reported["b"][1], month="2025-01")
    assert page.get_by_test_id("card-report-state").inner_text() == "未报送"
    assert page.get_by_test_id("card-progress-pct").inner_text() == "—"


def test_the_panel_counts_the_missed_reports_as_the_api_does_and_the_month_lives_in_the_url(
        watched, server, reported, routes_db):  # noqa: F811
    page = open_map(watched, server, f"month={MONTH}")
    page.wait_for_function(f"document.body.dataset.progressLoaded === '{MONTH}'")
    api = httpx.get(f"{server}/progress/missing", params={"month": MONTH}).json()
    with routes_db.connect() as conn:
        live = conn.execute(text("SELECT count(*) FROM projects WHERE deleted_at IS NULL")).scalar_one()
    assert api["total"] == live - 1  # only project A reported for MONTH
    shown = page.get_by_test_id("missing-count")
    assert int(shown.get_attribute("data-total")) == api["total"]
    assert shown.inner_text() == str(api["total"])
    units = page.get_by_test_id("missing-units").locator("li b").all_inner_texts()
    assert sum(int(n) for n in units) <= api["total"] and len(units) == min(len(api["units"]), 8)

    # choosing another month in the picker puts it in the URL and recounts (A's MONTH report is missing there)
    page.get_by_test_id("progress-month").fill(EARLIER)
    page.get_by_test_id("progress-month").dispatch_event("change")
    page.wait_for_function(f"document.body.dataset.progressLoaded === '{EARLIER}'")
    assert parse_qs(urlparse(page.url).query)["month"] == [EARLIER]
    earlier = httpx.get(f"{server}/progress/missing", params={"month": EARLIER}).json()["total"]
    assert page.get_by_test_id("missing-count").get_attribute("data-total") == str(earlier) == str(live - 1)
    page.go_back()
    page.wait_for_function(f"document.body.dataset.progressLoaded === '{MONTH}'")

    # English labels through the same i18n
    page.click("#lang-switch")
    assert page.locator("#progress-section h2").inner_text() == "Monthly progress"
    assert "Projects without a report for 2025-05" in page.get_by_test_id("progress-missing").inner_text()
    page.get_by_test_id("progress-clear").click()
    page.wait_for_function("document.body.dataset.progressMonth === ''")
    assert "month" not in parse_qs(urlparse(page.url).query)
    assert watched.errors == [] and watched.outside == []
