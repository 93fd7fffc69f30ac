import os
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from geoapp.api.app import create_app
from geoapp.auth.accounts import account_for_token, add_user, authenticate, issue_token, set_disabled
from geoapp.errors import GeoappError
from geoapp.settings import Settings


def test_passwords_are_stored_as_argon2_hashes_and_checked(engine, accounts):
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM users WHERE username = 'editor'")).scalar()
        assert stored.startswith("$argon2") and "editor-pass-1" not in stored
        assert authenticate(conn, "editor", "editor-pass-1").divisions == frozenset({"150502"})
        assert authenticate(conn, "editor", "wrong-password") is None
        assert authenticate(conn, "nobody", "editor-pass-1") is None


def test_tokens_are_stored_only_as_digests(engine, accounts):
    token = accounts["viewer"]["Authorization"].removeprefix("Bearer ")
    with engine.connect() as conn:
        hashes = conn.execute(text("SELECT token_hash FROM api_tokens")).scalars().all()
        assert token not in hashes and all(len(h) == 64 for h in hashes)
        assert account_for_token(conn, token).role == "viewer"
        assert account_for_token(conn, token + "x") is None


def test_an_editor_needs_a_division_and_roles_and_divisions_are_checked(engine, accounts):
    with engine.begin() as conn:
        with pytest.raises(GeoappError, match="至少一个旗县市区"):
            add_user(conn, "e2", "long-enough-1", "editor")
        with pytest.raises(GeoappError, match="unknown role"):
            add_user(conn, "e3", "long-enough-1", "superuser")
        with pytest.raises(GeoappError, match="unknown division"):
            add_user(conn, "e4", "long-enough-1", "editor", ["北京"])
        with pytest.raises(GeoappError, match="exists"):
            add_user(conn, "admin", "long-enough-1", "admin")
        assert add_user(conn, "e5", "long-enough-1", "editor", ["扎旗", "开发区"]).divisions == {"150526", "150571"}


def test_login_gives_a_token_that_works_as_bearer_and_as_cookie_until_logout(client, accounts):
    assert client.post("/auth/login", json={"username": "viewer", "password": "nope"}).status_code == 401
    answer = client.post("/auth/login", json={"username": "viewer", "password": "viewer-pass-1"})
    assert answer.status_code == 200
    token = answer.json()["token"]
    assert client.get("/auth/me", headers={"Authorization": f"Bearer {token}"}).json()["role"] == "viewer"
    assert client.get("/auth/me").json()["username"] == "viewer"  # the cookie the login set
    client.post("/auth/logout", headers={"Origin": "http://testserver"})  # the page's own origin
    client.cookies.clear()
    assert client.get("/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert client.get("/auth/me").status_code == 401


def test_a_disabled_account_cannot_log_in_and_its_tokens_stop_working(engine, client, accounts):
    assert client.get("/auth/me", headers=accounts["editor"]).status_code == 200
    with engine.begin() as conn:
        set_disabled(conn, "editor")
    denied = client.get("/auth/me", headers=accounts["editor"])
    assert denied.status_code == 401 and "停用" in denied.json()["zh"]
    assert client.post("/auth/login", json={"username": "editor", "password": "editor-pass-1"}).status_code == 401


def test_an_expired_token_is_refused(engine, client, accounts):
    with engine.begin() as conn:
        token = issue_token(conn, "viewer", "short", hours=1)
        conn.execute(text("UPDATE api_tokens SET expires_at = now() - interval '1 minute' WHERE name = 'short'"))
    assert client.get("/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_anonymous_users_cannot_write_and_viewers_get_403(client, demo_db, accounts):
    body = {"name": "x"}
    assert client.patch("/projects/TL2025-001", json=body).status_code == 401
    assert client.post("/projects", json=body).status_code == 401
    assert client.delete("/projects/TL2025-001").status_code == 401
    progress = client.post("/projects/TL2025-001/progress",
                           json={"month": "2025-05", "progress_pct": 10, "investment_completed": 1})
    assert progress.status_code == 401
    assert client.get("/projects/TL2025-001/progress").json() == []
    denied = client.patch("/projects/TL2025-001", json=body, headers=accounts["viewer"])
    assert denied.status_code == 403 and denied.json()["zh"] == "只读账号不能修改数据"


def test_reading_is_open_by_default_and_needs_a_login_when_the_setting_says_so(database_url, engine, demo_db,
                                                                                accounts):
    open_app = create_app(Settings(database_url=database_url), database_url, engine=engine)
    with TestClient(open_app) as c:
        assert c.get("/projects/TL2025-001").status_code == 200
    closed = create_app(Settings(database_url=database_url, read_requires_login=True), database_url, engine=engine)
    with TestClient(closed) as c:
        assert c.get("/projects/TL2025-001").status_code == 401
        assert c.get("/progress/missing").status_code == 401
        other = c.get("/collections")  # a route of another capability is guarded too
        assert other.status_code == 401
        assert c.get("/health").status_code == 200
        assert c.get("/projects/TL2025-001", headers=accounts["viewer"]).status_code == 200
        assert c.get("/collections", headers=accounts["viewer"]).status_code != 401
        login = c.post("/auth/login", json={"username": "viewer", "password": "viewer-pass-1"})
        assert login.status_code == 200
        assert c.get("/projects/TL2025-001").status_code == 200  # by the cookie


def test_the_users_commands_add_list_disable_and_issue_tokens(engine, accounts, database_url):
    env = {**os.environ, "GEOAPP_DATABASE_URL": database_url, "GEOAPP_NEW_PASSWORD": "cli-password-1"}

    def geoapp(*args):
        return subprocess.run([sys.executable, "-m", "geoapp", "users", *args], capture_output=True, text=True,
                              env=env, timeout=120)

    added = geoapp("add", "kailu", "--role", "editor", "--divisions", "开鲁,科左后旗", "--name", "开鲁县填报员")
    assert added.returncode == 0, added.stderr
    assert "150522 150523" in added.stdout
    listed = geoapp("list").stdout
    assert "kailu\teditor\t150522,150523\t启用/active" in listed
    assert geoapp("add", "bad", "--role", "editor").returncode == 1
    token = geoapp("token", "kailu").stdout.strip()
    with engine.connect() as conn:
        assert account_for_token(conn, token).username == "kailu"
    assert geoapp("disable", "kailu").returncode == 0
    assert "停用/disabled" in geoapp("list").stdout
    with engine.connect() as conn:
        assert account_for_token(conn, token) is None
