"""The database stopped under load: every endpoint answers 503 with Retry-After and the one error body (no SQL, no
traceback) while PostgreSQL is away, nothing answers 500, and the same server answers 200 again once PostgreSQL is
back — without a restart of the app.

The server runs over a throw-away embedded cluster of its own, never the session's database. The other two
failure classes of a loaded database: every pooled connection busy, and a driver error SQLAlchemy never wrapped.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from geoapp.api.app import create_app
from geoapp.auth.accounts import add_user, issue_token
from geoapp.db import migrate
from geoapp.db.cluster import Cluster
from geoapp.db.engine import Timeouts, make_engine
from geoapp.demo import load_demo
from geoapp.divisions import load_divisions
from geoapp.settings import Settings
from tests.browser_support import live_server
from tests.conftest import LAYERS, new_home

PASSWORD = "outage-pass-1"
TILE = "/collections/projects/tiles/WebMercatorQuad/8/214/93"
LEAKS = ("Traceback", "psycopg", "sqlalchemy", "SELECT", "FROM ", "OperationalError", "connection refused",
         "terminating connection", "127.0.0.1:")


@dataclass
class Site:
    cluster: Cluster
    open_base: str  # reading open
    closed_base: str  # read_requires_login: the read guard looks the token up on every request
    token: str
    code: str


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    home = new_home("geoapp-outage-")
    cluster = Cluster(home)
    url = cluster.start()
    settings = Settings(database_url=url, layers_dir=LAYERS)
    engine = make_engine(url, Timeouts.of(settings, "api"))
    try:
        migrate.upgrade(engine)
        with engine.begin() as conn:
            load_divisions(conn, "通辽市", LAYERS)
            load_demo(conn, LAYERS)
            add_user(conn, "watcher", PASSWORD, "viewer")
            token = issue_token(conn, "watcher", "outage")
            code = conn.execute(text("SELECT code FROM projects ORDER BY code LIMIT 1")).scalar_one()
        with ExitStack() as servers:
            open_base = servers.enter_context(live_server(engine, settings))
            closed_base = servers.enter_context(live_server(engine, settings.model_copy(
                update={"read_requires_login": True})))
            yield Site(cluster, open_base, closed_base, token, code)
    finally:
        engine.dispose()
        cluster.stop()
        shutil.rmtree(home, ignore_errors=True)


def requests_of(site: Site) -> dict[str, tuple[str, str, dict]]:
    """What a user of the map (or a script) asks: name → (method, URL, httpx keyword arguments)."""
    bearer = {"headers": {"Authorization": f"Bearer {site.token}"}}
    return {
        "project": ("GET", f"{site.open_base}/projects/{site.code}", {}),
        "me": ("GET", f"{site.open_base}/auth/me", bearer),
        "missing reports": ("GET", f"{site.open_base}/progress/missing", {}),
        "login": ("POST", f"{site.open_base}/auth/login", {"json": {"username": "watcher", "password": PASSWORD}}),
        "items": ("GET", f"{site.open_base}/collections/projects/items?limit=5", {}),
        "tile": ("GET", f"{site.open_base}{TILE}", {}),
        "health": ("GET", f"{site.open_base}/health", {}),
        "items behind the read guard": ("GET", f"{site.closed_base}/collections/projects/items?limit=5", bearer),
    }


@dataclass
class Load:
    """Requests sent without pause from a few threads while the test runs; the statuses they got."""

    urls: list[str]
    statuses: list[int] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with httpx.Client(timeout=20) as client:
            while not self.stop.is_set():
                for url in self.urls:
                    try:
                        self.statuses.append(client.get(url).status_code)
                    except httpx.TransportError:
                        self.statuses.append(-1)


def test_the_database_stopped_under_load_is_a_503_everywhere_and_the_server_recovers_by_itself(site):
    asks = requests_of(site)
    with httpx.Client(timeout=20) as client:
        for name, (method, url, kwargs) in asks.items():
            assert client.request(method, url, **kwargs).status_code == 200, name

        load = Load([asks["items"][1], asks["project"][1], f"{site.open_base}/collections/projects/items?limit=1"])
        threads = [threading.Thread(target=load.run, daemon=True) for _ in range(3)]
        for thread in threads:
            thread.start()
        try:
            wait_for(lambda: len(load.statuses) > 20, "the load to run")
            assert site.cluster.stop() is True

            for name, (method, url, kwargs) in asks.items():
                answer = client.request(method, url, **kwargs)
                assert answer.status_code == 503, (name, answer.status_code, answer.text)
                assert answer.headers.get("Retry-After", "").isdigit(), name
                body = answer.json()
                assert body["code"] == "ServiceUnavailable" and body["zh"] and body["en"], (name, body)
                assert body["request_id"] == answer.headers["X-Request-ID"], name
                assert not [leak for leak in LEAKS if leak.lower() in answer.text.lower()], (name, answer.text)

            site.cluster.start()
            for name, (method, url, kwargs) in asks.items():
                wait_for(lambda m=method, u=url, k=kwargs: client.request(m, u, **k).status_code == 200,
                         f"{name} to recover")
        finally:
            load.stop.set()
            for thread in threads:
                thread.join(30)
    assert 503 in load.statuses and load.statuses[-1] == 200
    assert set(load.statuses) <= {200, 503}, sorted(set(load.statuses))


def wait_for(condition, what: str, seconds: float = 30) -> None:
    """Poll ``condition`` until it holds (bounded): the state waited on, not a fixed sleep."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_every_pooled_connection_busy_for_the_pool_timeout_is_a_503_with_retry_after(database_url, demo_db):
    engine = make_engine(database_url, pool_size=1, max_overflow=0, pool_timeout=0.3)
    app = create_app(Settings(database_url=database_url), database_url, engine=engine)
    try:
        with TestClient(app, raise_server_exceptions=False) as client, engine.connect():  # the one connection taken
            answer = client.get("/progress/missing")
        assert answer.status_code == 503 and answer.headers["Retry-After"].isdigit(), answer.text
        assert answer.json()["code"] == "ServiceUnavailable"
    finally:
        engine.dispose()


def test_a_driver_error_raised_outside_sqlalchemy_gets_the_same_503(database_url):
    """COPY runs through psycopg's own cursor, whose errors SQLAlchemy never wraps."""
    app = create_app(Settings(database_url=database_url), database_url)

    @app.get("/test-only/copy")
    def copy() -> dict:
        raise psycopg.OperationalError("consuming input failed: server closed the connection unexpectedly")

    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/test-only/copy")
    assert answer.status_code == 503 and answer.headers["Retry-After"].isdigit()
    assert answer.json()["request_id"] == answer.headers["X-Request-ID"]
    assert "consuming input" not in answer.text
