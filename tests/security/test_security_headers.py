"""Security headers and trusted hosts (issue item 13). Before the fix no answer carried X-Content-Type-Options, a
Content-Security-Policy, a Referrer-Policy or frame protection, and any Host header was used for the links the
API builds (GET /collections with ``Host: evil.example`` linked to http://evil.example/…). Now every answer has the
headers, the page's policy allows nothing inline, and an untrusted Host gets 400 with the one error body."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from geoapp.api.app import create_app
from geoapp.api.security import trusted_host_names
from geoapp.settings import Settings

COMMON = {"x-content-type-options": "nosniff", "referrer-policy": "strict-origin-when-cross-origin",
          "x-frame-options": "DENY"}


def directives(csp: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in (part.strip() for part in csp.split(";")) if d}


def assert_common(response) -> None:
    for name, value in COMMON.items():
        assert response.headers.get(name) == value, name
    assert directives(response.headers["content-security-policy"])["frame-ancestors"] == ["'none'"]


def test_the_page_gets_a_policy_that_allows_nothing_inline(client):
    page = client.get("/", headers={"Accept": "text/html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert_common(page)
    csp = directives(page.headers["content-security-policy"])
    assert csp["default-src"] == ["'self'"] and csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"]
    assert csp["connect-src"] == ["'self'"] and csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'self'"]
    assert csp["form-action"] == ["'self'"]
    assert not any(s.startswith("http") for s in csp["img-src"])  # offline: no tile host
    assert "'unsafe-inline'" not in page.headers["content-security-policy"]
    assert "'unsafe-eval'" not in page.headers["content-security-policy"]
    # and the page itself needs nothing the policy refuses: no inline script, handler or style
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text)
    assert not re.search(r"\son[a-z]+\s*=", page.text) and " style=" not in page.text and "<style" not in page.text


def test_the_online_basemaps_tile_hosts_are_the_only_other_image_sources(settings, engine):
    online = settings.model_copy(update={"basemaps": "osm,amap"})
    with TestClient(create_app(online, settings.database_url, engine=engine)) as c:
        images = directives(c.get("/", headers={"Accept": "text/html"}).headers["content-security-policy"])["img-src"]
    assert "https://tile.openstreetmap.org" in images
    assert {f"https://webrd0{s}.is.autonavi.com" for s in "1234"} <= set(images)
    assert all(s in ("'self'", "data:", "blob:") or s.startswith("https://") for s in images)


@pytest.mark.parametrize("path, status", [("/collections", 200), ("/collections/no-such-layer", 404),
                                          ("/static/js/app.js", 200), ("/auth/me", 401)])
def test_every_answer_has_the_headers_errors_included(client, path, status):
    answer = client.get(path)
    assert answer.status_code == status
    assert_common(answer)
    if not answer.headers["content-type"].startswith("text/html"):
        assert answer.headers["content-security-policy"] == "frame-ancestors 'none'"


def test_the_api_docs_may_load_their_cdn_and_exactly_their_own_inline_script(client):
    import base64
    import hashlib

    docs = client.get("/docs")
    assert docs.status_code == 200
    csp = directives(docs.headers["content-security-policy"])
    inline = re.findall(r"<script>(.*?)</script>", docs.text, re.S)
    assert inline, "FastAPI's Swagger page starts Swagger UI with an inline script"
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp["script-src"]
    assert "'unsafe-inline'" not in csp["script-src"] and "https://cdn.jsdelivr.net" in csp["script-src"]
    assert csp["frame-ancestors"] == ["'none'"]


def test_a_forged_host_is_refused_so_it_cannot_poison_the_links(client):
    forged = client.get("/collections", headers={"Host": "evil.example"})
    assert forged.status_code == 400
    body = forged.json()
    assert body["parameter"] == "Host" and "GEOAPP_TRUSTED_HOSTS" in body["en"] and body["request_id"]
    assert "evil.example" not in str(client.get("/collections").json()["links"])
    assert_common(forged)


@pytest.mark.parametrize("host", ["evil.example:8000", "127.0.0.1.evil.example", "", "testserver@evil.example",
                                  "[::1"])
def test_hosts_that_only_look_trusted_are_refused(client, host):
    assert client.get("/health", headers={"Host": host}).status_code == 400


def test_links_are_built_from_the_trusted_host_the_request_named(settings, engine):
    with TestClient(create_app(settings, settings.database_url, engine=engine), base_url="http://localhost:8000") as c:
        links = [link["href"] for link in c.get("/collections").json()["links"]]
    assert links and all(href.startswith("http://localhost:8000/") for href in links)


def test_the_default_trusted_hosts_are_the_loopback_names_and_the_served_host():
    assert trusted_host_names(Settings(trusted_hosts="", host="gis.tongliao.local")) == [
        "127.0.0.1", "localhost", "::1", "gis.tongliao.local"]
    assert trusted_host_names(Settings(trusted_hosts="map.example.org, *.intra.example")) == [
        "map.example.org", "*.intra.example"]


def test_in_the_browser_the_map_runs_under_its_policy_and_injected_markup_runs_no_script(watched, demo_db, settings):
    """The page needs nothing the policy refuses (no violation while it loads, markers sized and coloured through
    the CSSOM), while markup injected into it can neither run a handler nor apply a style attribute."""
    from tests.browser_support import first_marker, live_server

    page = watched.page
    page.add_init_script("window.violations = []; document.addEventListener('securitypolicyviolation', "
                         "(e) => window.violations.push(e.violatedDirective + ' ' + e.blockedURI));")
    with live_server(demo_db, settings) as url:
        page.goto(f"{url}/")
        page.wait_for_function("Number(document.body.dataset.loaded) >= 1", timeout=30000)
        assert page.evaluate("window.violations") == [] and watched.errors == []
        marker = first_marker(page)
        size = marker.get_attribute("data-size")
        assert marker.evaluate("(el) => getComputedStyle(el).width") == f"{size}px"
        assert marker.evaluate("(el) => el.style.background") != ""
        page.evaluate("""document.body.insertAdjacentHTML('beforeend',
            '<img src="/no-such.png" onerror="window.pwned = 1"><p id="styled" style="color: rgb(255, 0, 0)">x</p>')""")
        page.wait_for_function("window.violations.length >= 2")
    assert page.evaluate("window.pwned") is None
    assert page.evaluate("getComputedStyle(document.getElementById('styled')).color") != "rgb(255, 0, 0)"
