"""POST/PATCH/DELETE /projects, optimistic locking, roles per division, history, monthly progress, POST /imports."""

from datetime import date

import pytest
from pyproj import Geod
from sqlalchemy import text

from tests.test_ingest import HORQIN, JARUD, row, state, write_xlsx
from tests.test_ingest_coords import published_gcj02

GEOD = Geod(ellps="WGS84")


def new_project(point, **over) -> dict:
    body = {"code": "API-1", "name": "在线录入项目（测试）", "sector": "数字经济", "tier": "储备", "status": "前期",
            "division": "科区", "total_investment": 2500, "responsible_unit": "科尔沁区发改委（测试）",
            "lon": point[0], "lat": point[1]}
    body.update(over)
    return body


@pytest.fixture
def created(client, empty_db, accounts, inner_points):
    answer = client.post("/projects", json=new_project(inner_points[HORQIN]), headers=accounts["editor"])
    assert answer.status_code == 201, answer.text
    return answer


def test_a_created_project_is_stored_with_codes_and_answers_with_its_etag(created):
    body = created.json()
    assert created.headers["etag"] == '"1"'
    assert (body["sector"], body["tier"], body["status"], body["division_code"]) == (
        "digital_economy", "reserve", "preliminary", HORQIN)
    assert body["total_investment"] == 2500 and body["coord_source"] == "wgs84"
    assert body["source"] == "在线录入 / entered online: editor"


def test_the_api_refuses_what_the_import_refuses_with_the_same_reasons(client, empty_db, accounts, inner_points):
    bad = client.post("/projects", json=new_project(inner_points[HORQIN], sector="钢铁", total_investment="abc"),
                      headers=accounts["admin"])
    assert bad.status_code == 422
    reasons = {p["field"]: p["reason"] for p in bad.json()["problems"]}
    assert reasons["sector"].startswith("未知的行业领域；可用：") and reasons["total_investment"] == "不是数字"

    wrong_banner = client.post("/projects?lang=en", json=new_project(inner_points[JARUD]), headers=accounts["admin"])
    [problem] = wrong_banner.json()["problems"]
    assert "lies in Jarud Banner" in problem["reason"] and "Horqin District" in problem["reason"]

    unknown = client.post("/projects", json={**new_project(inner_points[HORQIN]), "colour": "red"},
                          headers=accounts["admin"])
    assert unknown.status_code == 422 and "colour" in unknown.json()["zh"]
    with empty_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM projects")).scalar() == 0


def test_a_gcj02_point_posted_with_crs_is_converted_to_wgs84(client, empty_db, accounts, inner_points):
    lon, lat = inner_points[HORQIN]
    gx, gy = published_gcj02(lon, lat)
    answer = client.post("/projects?crs=gcj02", json=new_project((gx, gy)), headers=accounts["editor"])
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["coord_source"] == "gcj02" and GEOD.inv(lon, lat, body["lon"], body["lat"])[2] < 1.0


def test_a_patch_with_the_current_etag_changes_the_project_and_a_stale_one_gets_412(client, created, accounts,
                                                                                   empty_db):
    code = created.json()["code"]
    etag = client.get(f"/projects/{code}").headers["etag"]
    changed = client.patch(f"/projects/{code}", json={"status": "在建", "total_investment": 3000},
                           headers={**accounts["editor"], "If-Match": etag})
    assert changed.status_code == 200, changed.text
    assert changed.json()["status"] == "construction" and changed.headers["etag"] == '"2"'

    before = state(empty_db)
    stale = client.patch(f"/projects/{code}", json={"name": "晚到的修改"},
                         headers={**accounts["admin"], "If-Match": etag})
    assert stale.status_code == 412 and stale.headers["etag"] == '"2"'
    assert "已被他人修改" in stale.json()["zh"]
    assert state(empty_db) == before
    blind = client.patch(f"/projects/{code}", json={"name": "不带版本的修改"}, headers=accounts["admin"])
    assert blind.status_code == 428
    assert client.get(f"/projects/{code}", headers={"If-None-Match": '"2"'}).status_code == 304


def test_editors_cannot_touch_another_banners_projects(client, empty_db, accounts, inner_points):
    jarud = client.post("/projects", json=new_project(inner_points[JARUD], code="JR-1", division="扎旗"),
                        headers=accounts["admin"])
    assert jarud.status_code == 201
    etag = jarud.headers["etag"]
    editor = accounts["editor"]  # bound to 科尔沁区
    assert client.post("/projects", json=new_project(inner_points[JARUD], code="JR-2", division="扎旗"),
                       headers=editor).status_code == 403
    stale_editor = {**editor, "If-Match": etag}
    assert client.patch("/projects/JR-1", json={"name": "越权"}, headers=stale_editor).status_code == 403
    assert client.delete("/projects/JR-1", headers={**editor, "If-Match": etag}).status_code == 403
    assert client.post("/projects/JR-1/progress", json={"month": "2025-05", "progress_pct": 10,
                                                        "investment_completed": 1}, headers=editor).status_code == 403

    own = client.post("/projects", json=new_project(inner_points[HORQIN], code="KQ-1"), headers=editor)
    moved = client.patch("/projects/KQ-1", json={"division": "扎旗", "lon": inner_points[JARUD][0],
                                                 "lat": inner_points[JARUD][1]},
                         headers={**editor, "If-Match": own.headers["etag"]})
    assert moved.status_code == 403
    assert client.get("/projects/JR-1").json()["name"] == "在线录入项目（测试）"


def test_deletes_are_soft_and_only_an_admin_restores_them(client, created, accounts):
    code = created.json()["code"]
    gone = client.delete(f"/projects/{code}", headers={**accounts["editor"], "If-Match": created.headers["etag"]})
    assert gone.status_code == 200 and gone.json()["deleted_by"] == "editor"
    assert client.get(f"/projects/{code}").status_code == 404
    assert client.get("/projects?deleted=only").status_code == 403
    listed = client.get("/projects?deleted=only", headers=accounts["admin"]).json()
    assert [p["code"] for p in listed] == [code]
    assert client.post(f"/projects/{code}/restore", headers=accounts["editor"]).status_code == 403
    back = client.post(f"/projects/{code}/restore", headers=accounts["admin"])
    assert back.status_code == 200 and back.json()["deleted_at"] is None
    assert client.get(f"/projects/{code}").status_code == 200


def test_every_change_is_in_the_history_with_who_when_old_and_new(client, created, accounts):
    code = created.json()["code"]
    patched = client.patch(f"/projects/{code}", json={"name": "改名后的项目"},
                           headers={**accounts["editor"], "If-Match": '"1"'})
    client.delete(f"/projects/{code}", headers={**accounts["admin"], "If-Match": patched.headers["etag"]})
    client.post(f"/projects/{code}/restore", headers=accounts["admin"])
    history = client.get(f"/projects/{code}/history", headers=accounts["editor"]).json()
    assert [(h["action"], h["actor"]) for h in history] == [
        ("create", "editor"), ("update", "editor"), ("delete", "admin"), ("restore", "admin")]
    assert history[0]["changes"]["name"] == [None, "在线录入项目（测试）"]
    assert history[1]["changes"] == {"name": ["在线录入项目（测试）", "改名后的项目"]}
    assert history[2]["changes"]["deleted_at"][0] is None and history[3]["changes"]["deleted_at"][1] is None
    assert all(h["at"] for h in history)


def test_monthly_progress_is_kept_per_month_and_the_state_can_be_read_as_of_a_month(client, created, accounts):
    code = created.json()["code"]
    editor = accounts["editor"]
    first = client.post(f"/projects/{code}/progress", json={"month": "2025-03", "status": "在建", "progress_pct": 20,
                                                             "investment_completed": 500}, headers=editor)
    assert first.status_code == 201, first.text
    client.post(f"/projects/{code}/progress", json={"month": "2025年5月", "status": "在建", "progress_pct": 45,
                                                     "investment_completed": 1200, "issues": "用地手续待办"},
                headers=editor)
    again = client.post(f"/projects/{code}/progress", json={"month": "2025-05", "status": "停缓建", "progress_pct": 45,
                                                             "investment_completed": 1200}, headers=editor)
    assert again.json()["replaced"] is True and again.json()["status"] == "suspended"

    reports = client.get(f"/projects/{code}/progress").json()
    assert [(r["month"], r["status"], r["progress_pct"]) for r in reports] == [
        ("2025-03", "construction", 20.0), ("2025-05", "suspended", 45.0)]

    def as_of(month):
        [feature] = client.get(f"/progress?month={month}").json()["features"]
        return feature["properties"]

    assert as_of("2025-02")["report_month"] is None and as_of("2025-02")["status"] == "preliminary"
    assert (as_of("2025-04")["report_month"], as_of("2025-04")["progress_pct"]) == ("2025-03", 20.0)
    assert (as_of("2025-06")["status"], as_of("2025-06")["investment_completed"]) == ("suspended", 1200.0)

    history = client.get(f"/projects/{code}/history", headers=editor).json()
    progress_entries = [h for h in history if h["action"] == "progress"]
    assert len(progress_entries) == 3
    assert progress_entries[-1]["changes"]["status"] == ["construction", "suspended"]


@pytest.mark.parametrize("body, reason", [
    ({"month": "2025-13", "progress_pct": 1, "investment_completed": 1}, "应为月份"),
    ({"month": "2025-05", "progress_pct": 120, "investment_completed": 1}, "形象进度应在"),
    ({"month": "2025-05", "progress_pct": 10, "investment_completed": -1}, "累计完成投资应在"),
    ({"month": "2025-05", "progress_pct": 10, "investment_completed": 1, "status": "完工了"}, "未知的项目状态"),
    ({"month": "2999-01", "progress_pct": 10, "investment_completed": 1}, "未来月份"),
    ({"month": "2025-05"}, "须填写"),
])
def test_a_bad_progress_report_is_refused_with_a_reason(client, created, accounts, body, reason):
    answer = client.post(f"/projects/{created.json()['code']}/progress", json=body, headers=accounts["editor"])
    assert answer.status_code == 422 and reason in answer.json()["zh"]


def test_projects_that_missed_this_months_report_are_listed_per_responsible_unit(client, empty_db, accounts,
                                                                                 inner_points):
    admin = accounts["admin"]
    month = date.today().strftime("%Y-%m")
    for code, unit in (("M-1", "科尔沁区发改委"), ("M-2", "科尔沁区发改委"), ("M-3", "扎鲁特旗工信局"), ("M-4", None)):
        point, division = (inner_points[JARUD], "扎旗") if code == "M-3" else (inner_points[HORQIN], "科区")
        assert client.post("/projects", json=new_project(point, code=code, division=division, responsible_unit=unit),
                           headers=admin).status_code == 201
    client.post("/projects/M-2/progress", json={"month": month, "progress_pct": 5, "investment_completed": 10},
                headers=admin)
    missing = client.get("/progress/missing").json()
    assert missing["month"] == month and missing["total"] == 3
    units = {u["responsible_unit"]: [p["code"] for p in u["projects"]] for u in missing["units"]}
    assert units == {"科尔沁区发改委": ["M-1"], "扎鲁特旗工信局": ["M-3"], "（未填责任单位）": ["M-4"]}
    mine = client.get("/progress/missing", headers=accounts["editor"]).json()
    assert {p["code"] for u in mine["units"] for p in u["projects"]} == {"M-1", "M-4"}
    assert client.get("/progress/missing?month=soon").status_code == 422


def test_an_upload_is_imported_all_or_nothing_with_a_json_report(client, demo_db, accounts, inner_points, tmp_path):
    good = write_xlsx(tmp_path / "up.xlsx", [row(1, "科区", inner_points[HORQIN])])
    bad = write_xlsx(tmp_path / "bad.xlsx", [row(2, "科区", inner_points[HORQIN]),
                                             row(3, "扎旗", inner_points[JARUD])])
    before = state(demo_db)
    anonymous = client.post("/imports", files={"file": ("up.xlsx", good.read_bytes())})
    assert anonymous.status_code == 401

    refused = client.post("/imports", files={"file": ("bad.xlsx", bad.read_bytes())}, data={"lang": "en"},
                          headers=accounts["editor"])
    assert refused.status_code == 422
    report = refused.json()
    assert report["ok"] is False and report["written"] is False
    [problem] = report["problems"]
    assert problem["row"] == 5 and problem["column"] == "所属地区" and "may not edit" in problem["reason"]
    assert state(demo_db) == before

    dry = client.post("/imports", files={"file": ("up.xlsx", good.read_bytes())}, data={"dry_run": "true"},
                      headers=accounts["editor"])
    assert dry.status_code == 200 and dry.json()["counts"] == {"added": 1, "updated": 0, "unchanged": 0}
    assert state(demo_db) == before
    done = client.post("/imports", files={"file": ("up.xlsx", good.read_bytes())}, headers=accounts["editor"])
    assert done.status_code == 200 and done.json()["written"] is True
    assert client.get("/projects/IMP-001").json()["source"] == "导入 / import: up.xlsx (editor)"

    odd = client.post("/imports", files={"file": ("notes.pdf", b"%PDF-1.4")}, headers=accounts["admin"])
    assert odd.status_code == 422 and "不支持的文件类型" in odd.json()["problems"][0]["reason"]


def test_a_delete_with_a_stale_etag_gets_412_and_changes_nothing(client, created, accounts, empty_db):
    code = created.json()["code"]
    stale = created.headers["etag"]
    patched = client.patch(f"/projects/{code}", json={"name": "先到的修改"},
                           headers={**accounts["editor"], "If-Match": stale})
    assert patched.status_code == 200 and patched.headers["etag"] != stale
    before = state(empty_db)
    late = client.delete(f"/projects/{code}", headers={**accounts["admin"], "If-Match": stale})
    assert late.status_code == 412 and late.headers["etag"] == patched.headers["etag"]
    assert "已被他人修改" in late.json()["zh"]
    assert state(empty_db) == before
    assert client.get(f"/projects/{code}").json()["name"] == "先到的修改"


def test_an_editor_of_two_divisions_edits_in_both_and_gets_403_in_a_third(client, empty_db, accounts, inner_points,
                                                                         engine):
    from geoapp.auth.accounts import add_user, issue_token
    from tests.test_ingest import KAILU

    with engine.begin() as conn:
        add_user(conn, "editor2", "editor-pass-2", "editor", ["科区", "扎旗"])
        two = {"Authorization": f"Bearer {issue_token(conn, 'editor2', 'test')}"}
    for code, division, point in (("TW-1", "科区", HORQIN), ("TW-2", "扎旗", JARUD)):
        made = client.post("/projects", json=new_project(inner_points[point], code=code, division=division),
                           headers=two)
        assert made.status_code == 201, made.text
        edited = client.patch(f"/projects/{code}", json={"name": f"{division}改名（测试）"},
                              headers={**two, "If-Match": made.headers["etag"]})
        assert edited.status_code == 200 and edited.json()["name"] == f"{division}改名（测试）"
    kailu = client.post("/projects", json=new_project(inner_points[KAILU], code="TW-3", division="开鲁"),
                        headers=accounts["admin"])
    before = state(empty_db)
    assert client.post("/projects", json=new_project(inner_points[KAILU], code="TW-4", division="开鲁"),
                       headers=two).status_code == 403
    assert client.patch("/projects/TW-3", json={"name": "越权"},
                        headers={**two, "If-Match": kailu.headers["etag"]}).status_code == 403
    assert state(empty_db) == before
