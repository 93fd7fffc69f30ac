"""Editing projects over HTTP: POST/PATCH/DELETE /projects, restore, history, monthly progress, missed reports.

Writes need an editor (of the project's division) or an admin token; PATCH and DELETE need If-Match with the
ETag (the version) a GET returned, so a stale write gets 412 and changes nothing. Values are checked by the
importer's own checks, so the API refuses exactly what an import refuses.

A project's change history (every field, and the user names of who changed it) is for the editors of its division
and admins: anonymous 401, anyone else 403. A soft-deleted project (its fields, history and monthly reports) is for
the same people; to anyone else it does not exist (404), so its code is not revealed either. Listing deleted
projects stays an admin's (who alone restores them).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from geoapp.auth.accounts import Account
from geoapp.auth.guards import Admin, Reader, Writer, problem
from geoapp.editing import progress as progress_mod
from geoapp.editing import projects as edit
from geoapp.editing.projects import EditError
from geoapp.layers.request import MAX_OFFSET

router = APIRouter(tags=["projects"])
Lang = Annotated[Literal["zh", "en"] | None, Query(description="messages: zh (default) or en")]
Crs = Annotated[Literal["wgs84", "cgcs2000", "gcj02", "bd09"], Query(description="coordinate system of lon/lat")]


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _project_json(project: dict) -> dict:
    return {k: _plain(v) for k, v in project.items()}


def _with_etag(project: dict, status: int = 200) -> JSONResponse:
    return JSONResponse(_project_json(project), status_code=status, headers={"ETag": f'"{project["version"]}"'})


def _run(request: Request, lang: str | None, work, write: bool = True, status: int = 200):
    """Run ``work`` in a transaction (writes) or on a connection (reads); refusals go to the one error path."""
    engine = request.app.state.engine
    with engine.begin() if write else engine.connect() as conn:
        result = work(conn)
    if isinstance(result, dict) and "version" in result and "code" in result:
        return _with_etag(result, status)
    return result


def _layers(request: Request):
    return request.app.state.settings.layers_dir


def _editor_of(account: Account | None, project: dict) -> bool:
    """An admin, or an editor of the project's division: who may see its history and, once deleted, the project."""
    return account is not None and account.can_write and account.may_edit(project["division_code"])


def _visible_project(conn, code: str, account: Account | None) -> dict:
    """The project, or 404 when there is none or it is deleted and the account may not see deleted ones."""
    project = edit.get_project(conn, code)
    if project is None or (project["deleted_at"] is not None and not _editor_of(account, project)):
        raise EditError(404, f"没有编号为 {code} 的项目", f"no project with code {code}")
    return project


@router.get("/projects")
def list_projects(request: Request, account: Reader,
                  deleted: Literal["false", "true", "only"] = "false",
                  limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
                  offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0, lang: Lang = None):
    """Projects by code (for editing); deleted ones only for admins (deleted=only lists what can be restored)."""
    if deleted != "false" and (account is None or not account.is_admin):
        raise EditError(403, "只有管理员能查看已删除的项目", "only admins see deleted projects")
    return _run(request, lang, lambda conn: JSONResponse(
        [_project_json(p) for p in edit.list_projects(conn, deleted, limit, offset)]), write=False)


@router.get("/projects/{code}")
def get_project(request: Request, code: str, account: Reader, lang: Lang = None,
                if_none_match: Annotated[str | None, Header()] = None):
    def work(conn):
        project = _visible_project(conn, code, account)
        if if_none_match and if_none_match.strip().strip('"') == str(project["version"]):
            return Response(status_code=304, headers={"ETag": f'"{project["version"]}"'})
        return project

    return _run(request, lang, work, write=False)


@router.post("/projects", status_code=201)
def create_project(request: Request, account: Writer, body: Annotated[dict, Body()], crs: Crs = "wgs84",
                   lang: Lang = None):
    """Create a project: the body's keys are the import's fields (code, name, sector, division, lon, lat …)."""
    return _run(request, lang, lambda conn: edit.create_project(conn, body, account, _layers(request), crs),
                status=201)


@router.patch("/projects/{code}")
def update_project(request: Request, code: str, account: Writer, body: Annotated[dict, Body()],
                   if_match: Annotated[str | None, Header()] = None, crs: Crs = "wgs84", lang: Lang = None):
    return _run(request, lang, lambda conn: edit.update_project(conn, code, body, account, _layers(request),
                                                                if_match, crs))


@router.delete("/projects/{code}")
def delete_project(request: Request, code: str, account: Writer,
                   if_match: Annotated[str | None, Header()] = None, lang: Lang = None):
    """Soft delete: the project disappears from reading but an admin can restore it."""
    return _run(request, lang, lambda conn: edit.delete_project(conn, code, account, if_match))


@router.post("/projects/{code}/restore")
def restore_project(request: Request, code: str, account: Admin, lang: Lang = None):
    return _run(request, lang, lambda conn: edit.restore_project(conn, code, account))


@router.get("/projects/{code}/history")
def project_history(request: Request, code: str, account: Reader, lang: Lang = None):
    """Every change: who, when, and each field's old and new value (for editors of its division and admins)."""

    def work(conn):
        project = _visible_project(conn, code, account)
        if account is None:
            raise problem(401, "查看修改记录须先登录", "log in to see the change history")
        if not _editor_of(account, project):
            raise problem(403, "只有该旗县市区的编辑员和管理员能查看修改记录",
                          "only editors of the project's division and admins see its change history")
        return JSONResponse([{k: _plain(v) for k, v in h.items()} for h in edit.history(conn, code)])

    return _run(request, lang, work, write=False)


@router.post("/projects/{code}/progress", status_code=201)
def report_progress(request: Request, code: str, account: Writer, body: Annotated[dict, Body()],
                    lang: Lang = None):
    """The monthly report: month (YYYY-MM), status, progress_pct, investment_completed (万元, to date), issues."""

    def work(conn):
        return JSONResponse(progress_mod.report_progress(conn, code, body, account, _layers(request)),
                            status_code=201)

    return _run(request, lang, work)


@router.get("/projects/{code}/progress")
def project_progress(request: Request, code: str, account: Reader, lang: Lang = None):
    def work(conn):
        _visible_project(conn, code, account)
        return JSONResponse([{k: _plain(v) for k, v in r.items()} for r in progress_mod.progress_of(conn, code)])

    return _run(request, lang, work, write=False)


@router.get("/progress", response_class=Response, responses={200: {"description": "GeoJSON", "content": {
    "application/geo+json": {"schema": {"type": "object"}}}}})
def state_as_of(request: Request, account: Reader, month: str | None = None, lang: Lang = None):
    """GeoJSON of every project as its latest report up to ``month`` (default: this month) describes it."""

    def work(conn):
        body = progress_mod.state_as_of(conn, progress_mod.parse_month(month))
        return Response(body, media_type="application/geo+json")

    return _run(request, lang, work, write=False)


_SUMMARY = {"true": True, "1": True, "false": False, "0": False}


@router.get("/progress/missing")
def missing_reports(request: Request, account: Reader, month: str | None = None, lang: Lang = None,
                    summary: Annotated[str | None, Query(description="true: only the count per responsible unit "
                                                                      "(no project list)")] = None):
    """Projects that have no report for ``month`` (default: this month), per responsible unit; with
    ``summary=true`` only how many per unit (counted in SQL), which is all the web map's panel shows."""

    def work(conn):
        key = (summary or "false").strip().lower()
        if key not in _SUMMARY:
            raise EditError(400, f"参数 summary 应为 true 或 false，收到“{summary}”",
                            f"summary must be true or false, got {summary!r}", parameter="summary", value=summary,
                            allowed=["true", "false"])
        list_or_count = progress_mod.missing_counts if _SUMMARY[key] else progress_mod.missing_reports
        return JSONResponse(list_or_count(conn, progress_mod.parse_month(month), account))

    return _run(request, lang, work, write=False)
