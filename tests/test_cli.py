import os
import shutil
import socket
import subprocess
import sys
import time

import httpx
import pytest
from sqlalchemy import text

from tests.conftest import new_home

GEOAPP = [sys.executable, "-m", "geoapp"]


def run(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([*GEOAPP, *args], capture_output=True, text=True, env={**os.environ, **env}, timeout=120)


@pytest.fixture
def home():
    path = new_home("geoapp-cli-")
    yield path
    run("db", "down", GEOAPP_HOME=str(path))
    shutil.rmtree(path, ignore_errors=True)


def test_db_up_status_url_and_down_manage_the_embedded_cluster(home, monkeypatch):
    env = {"GEOAPP_HOME": str(home)}
    monkeypatch.delenv("GEOAPP_DATABASE_URL", raising=False)
    assert run("db", "status", **env).returncode != 0

    up = run("db", "up", **env)
    assert up.returncode == 0, up.stderr
    url = up.stdout.strip().splitlines()[-1]
    assert url.startswith("postgresql+psycopg://geoapp_app:") and "@127.0.0.1:" in url
    assert run("db", "url", **env).stdout.strip() == url
    assert "running" in run("db", "status", **env).stdout

    again = run("db", "up", **env)
    assert again.returncode == 1
    assert len(again.stderr.strip().splitlines()) == 1 and "already running" in again.stderr

    assert run("db", "down", **env).returncode == 0
    assert run("db", "status", **env).returncode == 3


def test_demo_command_loads_the_named_projects_into_the_configured_database(empty_db, database_url):
    result = run("demo", GEOAPP_DATABASE_URL=database_url)
    assert result.returncode == 0, result.stderr
    with empty_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM projects WHERE source <> 'synthetic'")).scalar() >= 8


def test_an_unknown_city_is_a_one_line_error(database_url):
    result = run("divisions", "load", "不存在市", GEOAPP_DATABASE_URL=database_url)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "不存在市" in result.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_loads_demo_data_into_an_empty_database_and_answers_health(empty_db, database_url):
    port = _free_port()
    server = subprocess.Popen([*GEOAPP, "serve", "--port", str(port)],
                              env={**os.environ, "GEOAPP_DATABASE_URL": database_url},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, server.stdout.read()
                time.sleep(0.3)
        assert health.json()["status"] == "ok"
        assert "通辽市重大项目地图" in httpx.get(f"http://127.0.0.1:{port}/").text
        with empty_db.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM projects")).scalar() >= 8
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_import_projects_dry_run_writes_nothing_update_writes_and_an_unknown_lang_is_refused(
        demo_db, inner_points, tmp_path, database_url):
    from tests.test_ingest import HORQIN, row, state, write_xlsx

    env = {"GEOAPP_DATABASE_URL": database_url}
    path = write_xlsx(tmp_path / "cli-dry.xlsx", [row(1, "科区", inner_points[HORQIN]),
                                                   row(2, "科区", inner_points[HORQIN])])
    before = state(demo_db)
    dry = run("import", "projects", str(path), "--dry-run", **env)
    assert dry.returncode == 0, dry.stderr
    assert "试运行" in dry.stdout and "新增 2" in dry.stdout
    assert state(demo_db) == before

    first = run("import", "projects", str(path), "--update", **env)
    assert first.returncode == 0, first.stderr
    assert "新增 2" in first.stdout
    with demo_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM projects WHERE code IN ('IMP-001', 'IMP-002')")).scalar() == 2
    again = run("import", "projects", str(path), "--update", **env)
    assert again.returncode == 0 and "新增 0" in again.stdout

    after = state(demo_db)
    wrong = run("import", "projects", str(path), "--lang", "fr", **env)
    assert wrong.returncode == 2
    assert "--lang" in wrong.stderr and "未知的语言“fr”" in wrong.stderr and "use zh or en" in wrong.stderr
    assert state(demo_db) == after


def test_an_offline_bulk_import_writes_the_rows_and_keeps_the_indexes(demo_db, inner_points, tmp_path, database_url):
    from tests.test_ingest import HORQIN, row, write_xlsx

    path = write_xlsx(tmp_path / "cli-bulk.xlsx", [row(1, "科区", inner_points[HORQIN]),
                                                    row(2, "科区", inner_points[HORQIN])])
    with demo_db.connect() as conn:
        indexes = set(conn.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'projects'")).scalars())
    bulk = run("import", "projects", str(path), "--bulk", GEOAPP_DATABASE_URL=database_url)
    assert bulk.returncode == 0, bulk.stderr
    assert "新增 2" in bulk.stdout
    with demo_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM projects WHERE code IN ('IMP-001', 'IMP-002')")).scalar() == 2
        assert set(conn.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'projects'")).scalars()) \
            == indexes
