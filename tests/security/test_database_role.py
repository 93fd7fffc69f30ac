"""The database side: the app connects as a role that owns its schema but is no superuser, every connection
carries the statement and lock timeouts of its kind of work, and the cluster's secrets are never readable by
others — not even while they are being written."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi import Request
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, OperationalError

from geoapp.api.app import create_app
from geoapp.cli import open_database
from geoapp.db import cluster as cluster_module
from geoapp.db import migrate
from geoapp.db.cluster import ADMIN_USER, APP_USER, Cluster
from geoapp.db.engine import make_engine
from geoapp.settings import Settings
from tests.conftest import new_home

EMBEDDED = not os.environ.get("GEOAPP_TEST_DATABASE_URL")
embedded_only = pytest.mark.skipif(not EMBEDDED, reason="the embedded cluster's roles")


def role_of(engine: Engine) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(text(
            "SELECT current_user AS name, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles "
            "WHERE rolname = current_user")).mappings().one())


def timeouts_of(engine: Engine) -> tuple[str, str]:
    with engine.connect() as conn:
        return (conn.execute(text("SHOW statement_timeout")).scalar_one(),
                conn.execute(text("SHOW lock_timeout")).scalar_one())


# -- the role ------------------------------------------------------------------------------------------------------

def test_the_app_connects_as_a_role_that_is_no_superuser_and_may_create_neither_roles_nor_databases(engine):
    role = role_of(engine)
    assert role["rolsuper"] is False and role["rolcreaterole"] is False and role["rolcreatedb"] is False
    assert role["rolbypassrls"] is False
    if EMBEDDED:
        assert role["name"] == APP_USER != ADMIN_USER


@embedded_only
def test_the_app_role_owns_every_table_of_the_schema_and_reads_and_writes_projects(engine, demo_db):
    with engine.connect() as conn:
        owners = dict(conn.execute(text(
            "SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'spatial_ref_sys'")).all())
        assert owners and set(owners.values()) == {APP_USER}, owners
    with engine.begin() as conn:
        code = conn.execute(text("SELECT code FROM projects ORDER BY code LIMIT 1")).scalar_one()
        assert conn.execute(text("UPDATE projects SET name = name || '' WHERE code = :c"), {"c": code}).rowcount == 1


@pytest.mark.parametrize("attack", [
    "SELECT pg_read_file('/etc/passwd')",
    "COPY (SELECT 1) TO PROGRAM 'id'",
    "CREATE ROLE intruder SUPERUSER LOGIN",
    "CREATE DATABASE intruder",
    "ALTER SYSTEM SET log_statement = 'none'",
    "CREATE EXTENSION IF NOT EXISTS file_fdw",
    "ALTER ROLE CURRENT_USER SUPERUSER",
])
def test_sql_that_got_past_the_app_still_cannot_act_as_the_superuser(engine, attack):
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn, \
            pytest.raises(DBAPIError) as refused:
        conn.execute(text(attack))
    assert isinstance(refused.value.orig, psycopg.errors.InsufficientPrivilege), refused.value


def test_migrations_run_up_and_down_as_the_app_role_in_a_new_database(scratch_engine):
    assert role_of(scratch_engine)["rolsuper"] is False
    migrate.upgrade(scratch_engine)
    assert migrate.current(scratch_engine)
    migrate.downgrade(scratch_engine)
    migrate.upgrade(scratch_engine)
    with scratch_engine.connect() as conn:
        assert conn.execute(text("SELECT to_regclass('projects') IS NOT NULL")).scalar_one()


# -- the timeouts --------------------------------------------------------------------------------------------------

@pytest.fixture
def tight(database_url: str) -> Iterator[TestClient]:
    """An app with its own engine whose requests may run 300 ms and wait 200 ms for a lock, and a route that
    sleeps a second, to see what a too-slow request is answered."""
    settings = Settings(database_url=database_url, statement_timeout_ms=300, lock_timeout_ms=200,
                        import_statement_timeout_ms=120_000, import_lock_timeout_ms=7_000)
    app = create_app(settings, database_url)

    @app.get("/test-only/slow")
    def slow(request: Request) -> dict:
        with request.app.state.engine.connect() as conn:
            conn.execute(text("SELECT pg_sleep(1)"))
        return {}

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_an_api_connection_carries_the_configured_statement_and_lock_timeouts(tight):
    assert timeouts_of(tight.app.state.engine) == ("300ms", "200ms")


def test_the_layers_read_pool_carries_the_api_timeouts_too(tight, demo_db):
    assert tight.get("/collections/projects/items?limit=1").status_code == 200
    assert timeouts_of(tight.app.state.layers_read_engine) == ("300ms", "200ms")


def test_uploads_import_through_an_engine_with_the_longer_import_timeouts(tight):
    assert timeouts_of(tight.app.state.import_engine) == ("2min", "7s")


def test_the_command_line_has_no_timeouts_by_default(database_url):
    assert timeouts_of(open_database(Settings(database_url=database_url))) == ("0", "0")


def test_a_statement_past_the_timeout_is_cancelled_by_the_server(tight):
    started = time.monotonic()
    with tight.app.state.engine.connect() as conn, pytest.raises(OperationalError) as cancelled:
        conn.execute(text("SELECT pg_sleep(5)"))
    assert cancelled.value.orig.sqlstate == "57014" and time.monotonic() - started < 3


def test_a_request_past_the_statement_timeout_is_a_503_with_retry_after_and_no_sql(tight):
    response = tight.get("/test-only/slow")
    assert response.status_code == 503 and response.headers["Retry-After"].isdigit()
    body = response.json()
    assert body["code"] == "ServiceUnavailable" and body["zh"] and body["en"] and body["request_id"]
    assert "pg_sleep" not in response.text and "cancel" not in response.text.lower()


def test_a_request_waiting_on_a_lock_past_the_lock_timeout_is_a_503_soon(tight, demo_db):
    with demo_db.connect() as conn:
        code = conn.execute(text("SELECT code FROM projects ORDER BY code LIMIT 1")).scalar_one()
    with demo_db.begin() as holder:
        holder.execute(text("LOCK TABLE projects IN ACCESS EXCLUSIVE MODE"))
        started = time.monotonic()
        response = tight.get(f"/projects/{code}")
        waited = time.monotonic() - started
    assert response.status_code == 503 and "Retry-After" in response.headers, response.text
    assert waited < 3
    assert tight.get(f"/projects/{code}").status_code == 200  # the lock gone, the same request answers


# -- the secrets ---------------------------------------------------------------------------------------------------

@pytest.fixture
def fresh_home() -> Iterator[Path]:
    home = new_home("geoapp-secret-")
    yield home
    if (home / "cluster.json").exists():
        Cluster(home).stop()
    shutil.rmtree(home, ignore_errors=True)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_password_files_are_created_0600_from_the_start_even_with_a_permissive_umask(fresh_home, monkeypatch):
    created: list[tuple[str, int, int]] = []
    real_open = os.open

    def recording_open(path, flags, mode=0o777, *args, **kwargs):
        created.append((os.fspath(path), flags, mode))
        return real_open(path, flags, mode, *args, **kwargs)

    monkeypatch.setattr(cluster_module.os, "open", recording_open)
    old_umask = os.umask(0)  # a careless umask must not make them readable for a moment
    try:
        cluster = Cluster(fresh_home)
        cluster.init()
        cluster.set_port(cluster.status().port)
    finally:
        os.umask(old_umask)
    secrets_written = [(path, flags, m) for path, flags, m in created if "cluster.json" in path or "pwfile" in path]
    assert {Path(p).name.split(".")[1] for p, _, _ in secrets_written} == {"cluster", "pwfile"}
    for path, flags, m in secrets_written:
        assert flags & os.O_CREAT and flags & os.O_EXCL and flags & os.O_NOFOLLOW, path
        assert m == 0o600, path
    state = cluster.state_file
    assert mode(state) == 0o600 and state.stat().st_uid == os.geteuid()
    assert set(json.loads(state.read_text())) == {"port", "password", "app_password"}
    assert not (cluster.pg_root / "pwfile").exists()
    assert mode(cluster.pg_root) == 0o700
    assert not [p for p in fresh_home.rglob(".*.tmp")]


@embedded_only
@pytest.mark.parametrize("upgraded_by", ["geoapp db up after db down", "any command while it runs"])
def test_a_cluster_of_an_earlier_version_gets_the_app_role_and_its_ownership(fresh_home, upgraded_by):
    cluster = Cluster(fresh_home)
    cluster.start()
    make_old(cluster)
    assert "app_password" not in json.loads(cluster.state_file.read_text())
    if upgraded_by.startswith("geoapp db up"):
        cluster.stop()
        url = cluster.start()
    else:
        url = cluster.ensure()
    engine = make_engine(url)
    try:
        assert role_of(engine)["name"] == APP_USER and role_of(engine)["rolsuper"] is False
        with engine.connect() as conn:
            owners = set(conn.execute(text(
                "SELECT tableowner FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'spatial_ref_sys'"
            )).scalars())
            functions = set(conn.execute(text(
                "SELECT pg_get_userbyid(proowner) FROM pg_proc WHERE proname LIKE 'geoapp\\_%'")).scalars())
            assert conn.execute(text("SELECT count(*) FROM divisions")).scalar_one() == 1  # the data stayed
        assert owners == {APP_USER} and functions == {APP_USER}
        migrate.downgrade(engine, "0001")  # the app role may now change what the superuser made
        migrate.upgrade(engine)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO users (username, password_hash, role) VALUES ('u', 'x', 'viewer')"))
        assert mode(cluster.state_file) == 0o600
    finally:
        engine.dispose()


def make_old(cluster: Cluster) -> None:
    """Turn a cluster into one of an earlier version: no app role, everything migrated by the superuser (which
    left cluster.json readable by others, as the old code could), one row of data."""
    state = json.loads(cluster.state_file.read_text())
    admin = make_engine(cluster.admin_url)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"ALTER DATABASE geoapp OWNER TO {ADMIN_USER}"))
        conn.execute(text(f"REASSIGN OWNED BY {APP_USER} TO {ADMIN_USER}"))
        conn.execute(text(f"DROP OWNED BY {APP_USER}"))
    migrate.upgrade(admin)
    with admin.begin() as conn:
        conn.execute(text("INSERT INTO divisions (code, code_system, name, short_forms, kind, source) "
                          "VALUES ('150502', 'GB/T 2260', '科尔沁区', '{}', 'district', 'test')"))
    admin.dispose()
    with make_engine(cluster.admin_url.rsplit("/", 1)[0] + "/postgres").connect().execution_options(
            isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"DROP ROLE {APP_USER}"))
    del state["app_password"]
    cluster.state_file.write_text(json.dumps(state))
    cluster.state_file.chmod(0o644)


# -- the server as root --------------------------------------------------------------------------------------------

@pytest.mark.skipif(os.geteuid() != 0, reason="what `make run` does as root")
def test_serve_started_as_root_runs_the_web_server_as_an_unprivileged_system_user(empty_db, database_url):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "GEOAPP_DATABASE_URL": database_url, "GEOAPP_SERVE_USER": "geoapp"}
    server = subprocess.Popen([sys.executable, "-m", "geoapp", "serve", "--port", str(port), "--no-demo"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, server.stdout.read()
                time.sleep(0.2)
        status = Path(f"/proc/{server.pid}/status").read_text()
        uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]
        gids = next(line for line in status.splitlines() if line.startswith("Gid:")).split()[1:]
        groups = next(line for line in status.splitlines() if line.startswith("Groups:")).split()[1:]
        user = pwd.getpwnam("geoapp")
        assert set(uids) == {str(user.pw_uid)} and user.pw_uid != 0  # real, effective, saved, fs: no way back
        assert set(gids) == {str(user.pw_gid)} and groups in ([], [str(user.pw_gid)])
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.mark.skipif(os.geteuid() != 0, reason="what `geoapp serve` does as root")
def test_serve_refuses_to_keep_root_as_its_user(database_url):
    env = {**os.environ, "GEOAPP_DATABASE_URL": database_url, "GEOAPP_SERVE_USER": "root"}
    done = subprocess.run([sys.executable, "-m", "geoapp", "serve", "--port", "0", "--no-demo"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "must not be root" in done.stderr
