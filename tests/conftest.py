"""Shared fixtures: one real PostgreSQL + PostGIS for the whole session.

With GEOAPP_TEST_DATABASE_URL set the tests use that server; otherwise they start the embedded cluster
(the same code as ``geoapp db up``) in a fresh directory under /tmp and stop it at the end.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

from geoapp.api.app import create_app
from geoapp.db import migrate
from geoapp.db.cluster import Cluster, prepare_database
from geoapp.db.engine import make_engine
from geoapp.demo import load_demo
from geoapp.divisions import load_divisions
from geoapp.settings import Settings

pytest_plugins = ["tests.browser_support"]  # browser, watched: headless Chromium for the web-map tests

LAYERS = Path(__file__).resolve().parent.parent / "layers"
# Starlette's TestClient sends "Host: testserver": trusted in every Settings() the tests make (the live servers
# are reached as 127.0.0.1, which is trusted by default anyway).
os.environ.setdefault("GEOAPP_TRUSTED_HOSTS", "testserver,127.0.0.1,localhost")


def new_home(prefix: str = "geoapp-test-") -> Path:
    """A directory the postgres user can reach (pytest's own tmp dirs are private to root)."""
    home = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    home.chmod(0o755)
    return home


@pytest.fixture(scope="session")
def cluster_urls() -> Iterator[tuple[str, str]]:
    """The app role's URL (what the app and the tests use) and the administrator's (to create databases)."""
    external = os.environ.get("GEOAPP_TEST_DATABASE_URL")
    if external:
        yield external, external
        return
    home = new_home()
    cluster = Cluster(home)
    url = cluster.start()
    yield url, cluster.admin_url
    cluster.stop()
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url(cluster_urls: tuple[str, str]) -> str:
    return cluster_urls[0]


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    with engine.begin() as conn:
        load_divisions(conn, "通辽市", LAYERS)
    yield engine
    engine.dispose()


@pytest.fixture
def scratch_engine(cluster_urls: tuple[str, str]) -> Iterator[Engine]:
    """An empty database of its own, for tests that migrate up and down (created by the administrator, owned by
    the app role, as the embedded cluster's own)."""
    database_url, admin_url = cluster_urls
    admin = make_engine(make_url(admin_url).set(database="postgres"))
    name = f"scratch_{os.getpid()}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    prepare_database(admin_url, name, make_url(database_url).username)
    engine = make_engine(make_url(database_url).set(database=name))
    yield engine
    engine.dispose()
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def reload_projects(conn: Connection, synthetic: int = 0, seed: int = 7) -> None:
    """Replace every project with the named demo projects plus ``synthetic`` labelled synthetic ones (fixed seed)."""
    from geoapp.demo import load_synthetic

    conn.execute(text("TRUNCATE projects, project_progress RESTART IDENTITY CASCADE"))
    load_demo(conn, LAYERS)
    if synthetic:
        load_synthetic(conn, synthetic, LAYERS, seed=seed)


@pytest.fixture
def empty_db(engine: Engine) -> Engine:
    """The session database with divisions and no projects."""
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE projects, project_progress RESTART IDENTITY CASCADE"))
    return engine


@pytest.fixture
def demo_db(empty_db: Engine) -> Engine:
    """The session database holding exactly the named demo projects."""
    with empty_db.begin() as conn:
        load_demo(conn, LAYERS)
    return empty_db


@pytest.fixture
def client(settings: Settings, database_url: str, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings, database_url, engine=engine)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def inner_points(engine: Engine) -> dict[str, tuple[float, float]]:
    """A WGS84 point well inside each division with a boundary: its seat when 2 km inside, else a point on surface."""
    with engine.connect() as conn:
        points = conn.execute(text(
            "SELECT code, ST_X(p), ST_Y(p) FROM (SELECT code, CASE WHEN seat IS NOT NULL "
            "AND ST_Covers(ST_Buffer(boundary, -0.02), seat) THEN seat ELSE ST_PointOnSurface(boundary) END AS p "
            "FROM divisions WHERE boundary IS NOT NULL) d"
        )).all()
    return {code: (lon, lat) for code, lon, lat in points}


@pytest.fixture(scope="module")
def layers_db(engine: Engine) -> Engine:
    """The named demo projects plus 400 labelled synthetic ones (fixed seed), loaded once per module for the
    read-only layers API tests (a test that changes a row puts it back)."""
    with engine.begin() as conn:
        reload_projects(conn, 400, seed=7)
        conn.execute(text("ANALYZE projects"))
    return engine


@pytest.fixture
def accounts(engine: Engine) -> dict[str, dict[str, str]]:
    """Bearer headers of fresh accounts: an admin, an editor of 科尔沁区 (150502) and a viewer."""
    from geoapp.auth.accounts import add_user, issue_token

    with engine.begin() as conn:
        conn.execute(text("TRUNCATE users, login_failures RESTART IDENTITY CASCADE"))  # fresh accounts, no throttle
        add_user(conn, "admin", "admin-pass-1", "admin")
        add_user(conn, "editor", "editor-pass-1", "editor", ["科区"])
        add_user(conn, "viewer", "viewer-pass-1", "viewer")
        return {name: {"Authorization": f"Bearer {issue_token(conn, name, 'test')}"}
                for name in ("admin", "editor", "viewer")}
