"""Shared parts of the browser tests: a live uvicorn server over the test database, headless Chromium, and a page
that records console errors and blocks (and records) every request that tries to leave 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, Locator, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from sqlalchemy import Engine
from starlette.types import ASGIApp

from geoapp.api.app import create_app
from geoapp.settings import Settings

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve_asgi(app: ASGIApp, join_seconds: float = 10, **config: Any) -> Iterator[tuple[str, uvicorn.Server]]:
    """Any ASGI app served by uvicorn in a thread on a free port; yields its base URL and the server (whose
    ``should_exit`` a test may set itself). ``config``: further uvicorn.Config options."""
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                                        **config))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", srv
    finally:
        srv.should_exit = True
        thread.join(join_seconds)


@contextmanager
def live_server(engine: Engine, settings: Settings) -> Iterator[str]:
    """geoapp served by uvicorn in a thread on a free port; yields its base URL."""
    with serve_asgi(create_app(settings, settings.database_url, engine=engine)) as (base, _):
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield b
        b.close()


class Watched:
    """A page with its console errors and the requests that tried to leave 127.0.0.1."""

    def __init__(self, page: Page):
        self.page = page
        self.errors: list[str] = []
        self.outside: list[str] = []


def csp_safe_wait_for_function(page: Page) -> None:
    """Make ``page.wait_for_function`` work under the page's Content-Security-Policy (script-src 'self', no
    'unsafe-eval'): Playwright compiles its predicate with ``new Function`` inside the page, which that policy
    refuses, while ``page.evaluate`` is not subject to it. So the predicate is evaluated until it holds, with
    Playwright's own timeout and its polling (every animation frame, here ~every 20 ms) — a wait on state."""

    def holds(expression: str, arg):
        try:
            return page.evaluate(expression, arg)
        except PlaywrightError as exc:  # the page navigated meanwhile (a reload, a logout): ask the new one
            if "context was destroyed" in str(exc) or "navigat" in str(exc):
                return None
            raise

    def wait_for_function(expression: str, arg=None, timeout: float | None = None, polling=None):
        deadline = time.monotonic() + (30000 if timeout is None else timeout) / 1000
        while not (value := holds(expression, arg)):
            if time.monotonic() > deadline:
                raise PlaywrightTimeoutError(f"wait_for_function: {expression[:200]} did not hold in time")
            page.wait_for_timeout(polling if isinstance(polling, int | float) else 20)
        return value

    page.wait_for_function = wait_for_function  # type: ignore[method-assign]


@contextmanager
def watched_page(browser: Browser, **context_options) -> Iterator[Watched]:
    """A new context and page (``context_options`` as for ``browser.new_context``) that records console errors and
    aborts, and records, every request that tries to leave 127.0.0.1."""
    context = browser.new_context(**context_options)
    page = context.new_page()
    csp_safe_wait_for_function(page)
    w = Watched(page)
    page.on("console", lambda m: w.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: w.errors.append(str(e)))

    def guard(route):
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "data:", "blob:")):
            route.continue_()
        else:
            w.outside.append(url)
            route.abort()

    page.route("**/*", guard)
    try:
        yield w
    finally:
        context.close()


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    with watched_page(browser, viewport={"width": 1280, "height": 800}, locale="zh-CN") as w:
        yield w


@pytest.fixture
def watched_phone(browser: Browser) -> Iterator[Watched]:
    """The watched page on a phone: 390 × 844 CSS pixels, touch, mobile viewport."""
    with watched_page(browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                      device_scale_factor=3, locale="zh-CN") as w:
        yield w


def click_tiles_at(page: Page, lon: float, lat: float, zoom: int = 13) -> None:
    """Centre the map on a point at a zoom drawn as unclustered vector tiles, wait for them, and click the point."""
    page.evaluate(f"geoapp.map.setView([{lat}, {lon}], {zoom}, {{animate: false}})")
    page.wait_for_function("document.querySelectorAll('#map canvas.leaflet-tile-loaded').length > 0")
    page.wait_for_timeout(500)
    box = page.locator("#map").bounding_box()
    pt = page.evaluate(f"geoapp.map.latLngToContainerPoint([{lat}, {lon}])")
    page.mouse.click(box["x"] + pt["x"], box["y"] + pt["y"])


def first_marker(page: Page) -> Locator:
    """Centre the map on the first project marker at zoom 15 (out of any cluster) and return it, to click or tap."""
    page.evaluate("(() => { const m = geoapp.projects.cluster.getLayers()[0]; "
                  "geoapp.map.setView(m.getLatLng(), 15, {animate: false}); })()")
    page.wait_for_selector("#map .pm", timeout=10000)
    return page.locator("#map .pm").first
