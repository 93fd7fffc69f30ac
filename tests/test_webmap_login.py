"""The web map where reading needs a login (settings.read_requires_login), in real Chromium against a live server:
the page asks for a login before it loads anything, a wrong password shows the API's own message, the right one
loads the map (every project the API gives that account), the login cookie survives a reload and also authorises
the vector-tile worker's fetches, 退出登录 brings the dialog back, and an expired login asks again. With the
setting off the page shows no dialog at all.

The account is made by geoapp's own account functions; the data are the named demo projects plus labelled
synthetic ones.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page
from sqlalchemy import Engine, text

from geoapp.auth.accounts import add_user
from geoapp.settings import Settings
from tests.browser_support import Watched, click_tiles_at, live_server
from tests.conftest import reload_projects

USER, PASSWORD, DISPLAY = "planner", "planner-pass-1", "规划科（测试）"


@pytest.fixture(scope="module")
def login_db(engine: Engine) -> Engine:
    """Demo plus 40 synthetic projects and one viewer account."""
    with engine.begin() as conn:
        reload_projects(conn, 40, seed=9)
        conn.execute(text("TRUNCATE users RESTART IDENTITY CASCADE"))
        add_user(conn, USER, PASSWORD, "viewer", display_name=DISPLAY)
    return engine


@pytest.fixture(scope="module")
def closed(login_db: Engine, settings: Settings) -> Iterator[str]:
    """A live server where reading needs a login."""
    with live_server(login_db, settings.model_copy(update={"read_requires_login": True})) as url:
        yield url


@pytest.fixture(scope="module")
def open_server(login_db: Engine, settings: Settings) -> Iterator[str]:
    assert not settings.read_requires_login
    with live_server(login_db, settings) as url:
        yield url


def api_refusal(server: str) -> dict:
    answer = httpx.post(f"{server}/auth/login", json={"username": USER, "password": "wrong-password"})
    assert answer.status_code == 401
    return answer.json()


def token_of(server: str) -> str:
    answer = httpx.post(f"{server}/auth/login", json={"username": USER, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return answer.json()["token"]


def unexpected(errors: list[str]) -> list[str]:
    """Console errors other than the browser's note on an expected 401 answer."""
    return [e for e in errors if "401" not in e]


def wait_loaded(page: Page) -> None:
    page.wait_for_function("Number(document.body.dataset.loaded) >= 1", timeout=30000)


def log_in(page: Page, password: str = PASSWORD) -> None:
    page.get_by_test_id("login-username").fill(USER)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()


def open_and_log_in(w: Watched, server: str, query: str = "") -> Page:
    w.page.goto(f"{server}/{'?' + query if query else ''}")
    w.page.get_by_test_id("login-dialog").wait_for()
    log_in(w.page)
    wait_loaded(w.page)
    return w.page


def test_the_map_asks_for_a_login_and_a_wrong_password_shows_the_apis_message(watched, closed):
    page = watched.page
    page.goto(closed + "/")
    dialog = page.get_by_test_id("login-dialog")
    dialog.wait_for()
    assert page.evaluate("document.body.dataset.login") == "required"
    assert dialog.locator("h2").inner_text() == "登录"
    assert page.evaluate("document.body.dataset.loaded") is None  # nothing loaded behind the dialog
    assert watched.errors == []  # the page learnt the setting from an open endpoint, not from a failed read

    log_in(page, "wrong-password")
    error = page.get_by_test_id("login-error")
    refusal = api_refusal(closed)
    page.wait_for_function("document.querySelector('[data-testid=login-error]').textContent !== ''")
    assert error.inner_text() == refusal["zh"]
    # the page's own language switch works in the dialog, the message too
    page.click("#lang-switch")
    assert dialog.locator("h2").inner_text() == "Log in"
    assert error.inner_text() == refusal["en"]
    assert page.get_by_test_id("login-password").input_value() == ""
    assert watched.errors and unexpected(watched.errors) == []  # only the refused login's 401
    assert page.evaluate("document.body.dataset.loaded") is None


def test_the_right_password_loads_every_project_the_api_gives_the_account(watched, closed):
    page = watched.page
    page.goto(closed + "/")
    page.get_by_test_id("login-dialog").wait_for()
    page.click("#lang-switch")  # English chosen in the dialog stays after the login
    log_in(page)
    wait_loaded(page)
    assert page.get_by_test_id("login-dialog").count() == 0
    assert page.evaluate("document.body.dataset.login") == "in"
    token = token_of(closed)
    items = httpx.get(f"{closed}/collections/projects/items?limit=10000&properties=code",
                      headers={"Authorization": f"Bearer {token}"}).json()
    with_login = len(items["features"])
    assert with_login > 40
    assert page.evaluate("geoapp.projects.shownCount()") == with_login
    assert page.get_by_test_id("summary-count").inner_text() == str(with_login)
    assert page.get_by_test_id("login-user").inner_text() == DISPLAY
    assert page.get_by_test_id("logout").inner_text() == "Log out"
    assert page.locator("header h1").inner_text() == "Tongliao major-project map"
    page.click("#lang-switch")
    assert page.get_by_test_id("logout").inner_text() == "退出登录"
    assert unexpected(watched.errors) == [] and watched.errors == [] and watched.outside == []


def test_the_login_survives_a_reload_and_logout_brings_the_dialog_back(watched, closed):
    page = open_and_log_in(watched, closed)
    [cookie] = [c for c in page.context.cookies() if c["name"] == "geoapp_token"]
    assert cookie["httpOnly"]
    page.reload()
    wait_loaded(page)
    assert page.get_by_test_id("login-dialog").count() == 0
    assert page.get_by_test_id("login-user").inner_text() == DISPLAY

    page.get_by_test_id("logout").click()
    page.get_by_test_id("login-dialog").wait_for()
    assert page.get_by_test_id("login-user").count() == 0
    assert not [c for c in page.context.cookies() if c["name"] == "geoapp_token"]
    # the token itself is revoked, not only forgotten by the browser
    assert httpx.get(f"{closed}/auth/me", cookies={"geoapp_token": cookie["value"]}).status_code == 401
    assert watched.errors == [] and watched.outside == []


def test_the_vector_tile_worker_reads_tiles_with_the_login_cookie(watched, closed):
    tiles: list[int] = []
    watched.page.on("response", lambda r: tiles.append(r.status) if "/tiles/WebMercatorQuad/" in r.url else None)
    page = open_and_log_in(watched, closed, "render=tiles")
    assert page.evaluate("geoapp.mode") == "tiles"
    token = token_of(closed)
    feature = httpx.get(f"{closed}/collections/projects/items?limit=1&properties=code,name",
                        headers={"Authorization": f"Bearer {token}"}).json()["features"][0]
    lon, lat = feature["geometry"]["coordinates"]
    # the click finds the project in the tile data the worker fetched and decoded
    click_tiles_at(page, lon, lat)
    page.get_by_test_id("card").wait_for()
    assert page.locator("[data-testid=card] h3").inner_text() == feature["properties"]["name"]
    assert tiles and set(tiles) == {200}  # the worker's requests, all answered with the login
    assert watched.errors == [] and watched.outside == []


def test_an_expired_login_asks_again_and_then_reloads_the_map(watched, closed, login_db):
    page = open_and_log_in(watched, closed)
    with login_db.begin() as conn:
        conn.execute(text("UPDATE api_tokens SET revoked_at = now() WHERE revoked_at IS NULL"))
    before = page.evaluate("Number(document.body.dataset.loaded)")
    page.locator("#f-tier input").first.check()  # a new filter reads /stats: 401 now
    page.get_by_test_id("login-dialog").wait_for()
    assert page.get_by_test_id("login-user").count() == 0
    with page.expect_navigation():
        log_in(page)
    wait_loaded(page)
    assert page.get_by_test_id("login-dialog").count() == 0
    assert page.get_by_test_id("login-user").inner_text() == DISPLAY
    assert page.evaluate("Number(document.body.dataset.loaded)") >= 1 and before >= 1
    assert "tier=" in page.url  # the filter chosen before the dialog is kept
    assert unexpected(watched.errors) == []


def test_with_reading_open_the_page_shows_no_dialog(watched, open_server):
    page = watched.page
    page.goto(open_server + "/")
    wait_loaded(page)
    assert page.evaluate("document.body.dataset.login") == "off"
    assert page.locator("#login, #login-user, #logout").count() == 0
    items = httpx.get(f"{open_server}/collections/projects/items?limit=10000&properties=code").json()
    assert page.evaluate("geoapp.projects.shownCount()") == len(items["features"])
    assert watched.errors == [] and watched.outside == []


def test_the_session_endpoint_is_open_and_says_whether_and_who_is_logged_in(closed, open_server):
    assert httpx.get(f"{closed}/stats").status_code == 401  # the guard is on for reads
    anonymous = httpx.get(f"{closed}/auth/session")
    assert anonymous.status_code == 200
    assert anonymous.json() == {"read_requires_login": True, "lang": "zh", "user": None}
    token = token_of(closed)
    mine = httpx.get(f"{closed}/auth/session", cookies={"geoapp_token": token}).json()
    assert mine["user"]["username"] == USER and mine["user"]["display_name"] == DISPLAY
    httpx.post(f"{closed}/auth/logout", headers={"Authorization": f"Bearer {token}"})
    stale = httpx.get(f"{closed}/auth/session", cookies={"geoapp_token": token})
    assert stale.status_code == 200 and stale.json()["user"] is None
    assert 'geoapp_token=""' in stale.headers["set-cookie"] and "Max-Age=0" in stale.headers["set-cookie"]
    assert httpx.get(f"{open_server}/auth/session").json()["read_requires_login"] is False
