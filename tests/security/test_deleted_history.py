"""A soft-deleted project's history (issue item 10). Before the fix anyone, logged in or not, could read
/projects/{code}/history of a deleted project: every field and the editors' user names. Now the history is for
the editors of the project's division and admins; to anyone else a deleted project does not exist (404, its code
not revealed), and a live project's history asks for a login (401) or is refused (403)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from geoapp.auth.accounts import add_user, issue_token

HORQIN = "150502"  # the `accounts` editor's division


@pytest.fixture
def who(engine: Engine, accounts) -> dict[str, dict[str, str]]:
    """Headers per kind of reader: anonymous, viewer, an editor of another division (扎旗), the editor, the admin."""
    with engine.begin() as conn:
        add_user(conn, "jarud-editor", "jarud-pass-1", "editor", ["扎旗"])
        other = {"Authorization": f"Bearer {issue_token(conn, 'jarud-editor', 'test')}"}
    return {"anonymous": {}, "viewer": accounts["viewer"], "other_editor": other, "editor": accounts["editor"],
            "admin": accounts["admin"]}


def horqin_project(engine: Engine) -> str:
    with engine.connect() as conn:
        return conn.execute(text("SELECT min(code) FROM projects WHERE division_code = :d AND deleted_at IS NULL"),
                            {"d": HORQIN}).scalar()


@pytest.fixture
def deleted(client, demo_db, who) -> str:
    code = horqin_project(demo_db)
    etag = client.get(f"/projects/{code}").headers["etag"]
    assert client.delete(f"/projects/{code}", headers={**who["editor"], "If-Match": etag}).status_code == 200
    return code


@pytest.mark.parametrize("reader, status", [("anonymous", 404), ("viewer", 404), ("other_editor", 404),
                                            ("editor", 200), ("admin", 200)])
def test_a_deleted_projects_history_is_only_for_editors_of_its_division_and_admins(client, deleted, who, reader,
                                                                                   status):
    answer = client.get(f"/projects/{deleted}/history", headers=who[reader])
    assert answer.status_code == status
    if status == 200:
        assert [h["action"] for h in answer.json()][-1] == "delete"
        assert answer.json()[-1]["actor"] == "editor"
    else:
        assert answer.json()["code"] == "NotFound" and "editor" not in answer.text  # nothing of it is shown


@pytest.mark.parametrize("reader, status", [("anonymous", 404), ("viewer", 404), ("other_editor", 404),
                                            ("editor", 200), ("admin", 200)])
def test_a_deleted_project_and_its_reports_are_only_for_editors_of_its_division_and_admins(client, deleted, who,
                                                                                          reader, status):
    assert client.get(f"/projects/{deleted}", headers=who[reader]).status_code == status
    assert client.get(f"/projects/{deleted}/progress", headers=who[reader]).status_code == status


def test_a_deleted_project_looks_exactly_like_one_that_never_existed(client, deleted, who):
    gone = client.get(f"/projects/{deleted}/history", headers=who["viewer"]).json()
    never = client.get("/projects/NO-SUCH-1/history", headers=who["viewer"]).json()
    assert gone["code"] == never["code"] == "NotFound"
    assert gone["zh"].replace(deleted, "X") == never["zh"].replace("NO-SUCH-1", "X")


@pytest.mark.parametrize("reader, status", [("anonymous", 401), ("viewer", 403), ("other_editor", 403),
                                            ("editor", 200), ("admin", 200)])
def test_a_live_projects_history_needs_an_editor_of_its_division_or_an_admin(client, demo_db, who, reader, status):
    code = horqin_project(demo_db)
    answer = client.get(f"/projects/{code}/history", headers=who[reader])
    assert answer.status_code == status
    if status == 200:
        assert answer.json()[0]["action"] == "create"


def test_listing_deleted_projects_stays_an_admins(client, deleted, who):
    for reader in ("anonymous", "viewer", "other_editor", "editor"):
        assert client.get("/projects?deleted=only", headers=who[reader]).status_code == 403, reader
    assert [p["code"] for p in client.get("/projects?deleted=only", headers=who["admin"]).json()] == [deleted]
