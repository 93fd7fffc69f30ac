"""Cross-site writes with the login cookie (issue item 8). The cookie is SameSite=Strict, but a page on another port
of the same host is the same *site*, so before the fix its form could restore a deleted project, log the user out or
upload an import with an admin's or editor's cookie. Now a cookie-authenticated POST/PUT/PATCH/DELETE must come
from this server's own origin (Origin, else Referer) or an allowed one: 403 otherwise. Bearer-token writes and
the page's own writes are unaffected."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page
from sqlalchemy import Engine, text

from geoapp.api.app import create_app
from geoapp.auth.guards import COOKIE
from tests.browser_support import Watched, free_port, live_server

OWN = "http://testserver"
FOREIGN = "http://127.0.0.1:9999"


@pytest.fixture
def deleted_code(client, demo_db, accounts) -> str:
    """A demo project an admin deleted (restoring it is a write with no body: a plain form can ask for it)."""
    with demo_db.connect() as conn:
        code = conn.execute(text("SELECT min(code) FROM projects")).scalar()
    etag = client.get(f"/projects/{code}").headers["etag"]
    assert client.delete(f"/projects/{code}", headers={**accounts["admin"], "If-Match": etag}).status_code == 200
    return code


def is_deleted(engine: Engine, code: str) -> bool:
    with engine.connect() as conn:
        return conn.execute(text("SELECT deleted_at IS NOT NULL FROM projects WHERE code = :c"), {"c": code}).scalar()


def cookie_of(accounts, name: str) -> dict[str, str]:
    return {COOKIE: accounts[name]["Authorization"].removeprefix("Bearer ")}


@pytest.fixture
def admin_cookie_client(client, accounts) -> TestClient:
    client.cookies.update(cookie_of(accounts, "admin"))
    return client


def test_a_cookie_write_with_a_foreign_origin_is_refused_and_changes_nothing(admin_cookie_client, deleted_code,
                                                                            engine):
    refused = admin_cookie_client.post(f"/projects/{deleted_code}/restore", headers={"Origin": FOREIGN})
    assert refused.status_code == 403
    body = refused.json()
    assert body["code"] == "Forbidden" and body["parameter"] == "Origin" and "其他网站" in body["zh"]
    assert body["request_id"]
    assert is_deleted(engine, deleted_code)


@pytest.mark.parametrize("headers", [{}, {"Origin": "null"}, {"Referer": f"{FOREIGN}/attack.html"},
                                     {"Origin": "http://testserver:8080"}, {"Origin": "https://testserver"}])
def test_a_cookie_write_without_its_own_origin_is_refused(admin_cookie_client, deleted_code, engine, headers):
    assert admin_cookie_client.post(f"/projects/{deleted_code}/restore", headers=headers).status_code == 403
    assert is_deleted(engine, deleted_code)


@pytest.mark.parametrize("headers", [{"Origin": OWN}, {"Referer": f"{OWN}/?lang=en"}])
def test_the_pages_own_origin_may_write_with_the_cookie(admin_cookie_client, deleted_code, engine, headers):
    assert admin_cookie_client.post(f"/projects/{deleted_code}/restore", headers=headers).status_code == 200
    assert not is_deleted(engine, deleted_code)


def test_bearer_writes_are_not_checked_for_origin(client, deleted_code, accounts, engine):
    restored = client.post(f"/projects/{deleted_code}/restore", headers={**accounts["admin"], "Origin": FOREIGN})
    assert restored.status_code == 200 and not is_deleted(engine, deleted_code)


def test_an_allowed_origin_may_write_with_the_cookie(settings, engine, deleted_code, accounts):
    allowing = settings.model_copy(update={"allowed_origins": "https://map.example.org"})
    with TestClient(create_app(allowing, settings.database_url, engine=engine),
                    cookies=cookie_of(accounts, "admin")) as c:
        assert c.post(f"/projects/{deleted_code}/restore", headers={"Origin": FOREIGN}).status_code == 403
        assert c.post(f"/projects/{deleted_code}/restore",
                      headers={"Origin": "https://map.example.org"}).status_code == 200


def test_a_login_from_a_foreign_page_is_refused_and_a_script_login_works(client, accounts):
    """Login CSRF: a foreign page must not log the browser into an account of the attacker's choosing."""
    credentials = {"username": "viewer", "password": "viewer-pass-1"}
    foreign = client.post("/auth/login", json=credentials, headers={"Origin": FOREIGN})
    assert foreign.status_code == 403 and COOKIE not in foreign.cookies
    assert client.post("/auth/login", json=credentials, headers={"Origin": OWN}).status_code == 200
    assert client.post("/auth/login", json=credentials).status_code == 200  # a script sends no Origin


def test_a_cors_preflight_is_not_a_write_and_is_not_refused(admin_cookie_client, deleted_code):
    preflight = admin_cookie_client.options(f"/projects/{deleted_code}/restore", headers={
        "Origin": FOREIGN, "Access-Control-Request-Method": "POST"})
    assert preflight.status_code != 403


# -- in a real browser: the attacker's page on another port of 127.0.0.1 --------------------------------------

@contextmanager
def foreign_site(html: str) -> Iterator[str]:
    """A tiny site on another port of 127.0.0.1 serving one page: the attacker's."""
    page = html.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/attack.html"
    finally:
        server.shutdown()
        server.server_close()


def log_in_on_the_map(page: Page, geoapp: str, username: str, password: str) -> None:
    """Log in through the map's own origin, as the page's login dialog does (the cookie is set in the browser)."""
    page.goto(f"{geoapp}/")
    status = page.evaluate("""async ([u, p]) => (await fetch('/auth/login', {method: 'POST',
        headers: {'Content-Type': 'application/json'}, body: JSON.stringify({username: u, password: p})})).status""",
                           [username, password])
    assert status == 200


@pytest.fixture
def geoapp_server(engine: Engine, settings) -> Iterator[str]:
    with live_server(engine, settings) as url:
        yield url


def test_a_form_on_another_port_cannot_restore_a_project_with_the_admins_cookie(watched: Watched, geoapp_server,
                                                                                deleted_code, engine):
    page = watched.page
    log_in_on_the_map(page, geoapp_server, "admin", "admin-pass-1")
    attack = f"""<!doctype html><title>抽奖</title>
        <form method="post" action="{geoapp_server}/projects/{deleted_code}/restore">
        <button id="go">领取奖品</button></form>"""
    with foreign_site(attack) as url:
        page.goto(url)
        with page.expect_navigation() as navigation:
            page.click("#go")
        answer = navigation.value
    assert answer.status == 403 and "其他网站" in answer.json()["zh"]
    assert is_deleted(engine, deleted_code)


def test_a_script_on_another_port_cannot_log_the_user_out_or_upload_an_import(watched: Watched, geoapp_server,
                                                                             demo_db, accounts, engine):
    page = watched.page
    log_in_on_the_map(page, geoapp_server, "editor", "editor-pass-1")
    attack = f"""<!doctype html><title>x</title><script>
        window.attack = async () => {{
          const form = new FormData();
          form.append('file', new Blob(['项目编号,项目名称\\nCSRF-1,跨站导入\\n'], {{type: 'text/csv'}}), 'x.csv');
          const opts = {{method: 'POST', credentials: 'include', mode: 'no-cors'}};
          await fetch('{geoapp_server}/imports', {{...opts, body: form}});
          await fetch('{geoapp_server}/auth/logout', opts);
          return 'sent';
        }};</script>"""
    with foreign_site(attack) as url:
        page.goto(url)
        # what geoapp answered the attacker's requests (opaque to the attacker's script), waited for as events
        with page.expect_response(f"{geoapp_server}/imports") as upload, \
                page.expect_response(f"{geoapp_server}/auth/logout") as logout:
            assert page.evaluate("window.attack()") == "sent"
    assert upload.value.status == 403 and logout.value.status == 403
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM api_tokens WHERE name = 'login' AND revoked_at IS NOT NULL")
                            ).scalar() == 0  # the login was not revoked
    page.goto(f"{geoapp_server}/")
    me = page.evaluate("async () => (await fetch('/auth/me')).status")
    assert me == 200  # still logged in
    own = page.evaluate("async () => (await fetch('/auth/logout', {method: 'POST'})).status")
    assert own == 200  # the page's own write works
