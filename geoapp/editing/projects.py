"""Editing one project: create, change, soft-delete, restore — through the importer's checks, under a version lock.

A create or change is a one-row import (the same header mapping, value checks, spatial checks and COPY upsert),
so the API refuses exactly what an import refuses. Optimistic locking compares the caller's version (If-Match)
with the row locked FOR UPDATE; the history triggers record who changed what.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from geoapp.auth.accounts import Account
from geoapp.divisions import resolve_division
from geoapp.errors import GeoappError
from geoapp.ingest.importer import ImportOptions, import_table, set_actor
from geoapp.ingest.readers import Table
from geoapp.ingest.report import ImportReport, Problem

EDITABLE = ("code", "name", "sector", "tier", "status", "division_code", "total_investment", "planned_investment",
            "plan_year", "start_year", "end_year", "company", "responsible_unit", "leader", "scope", "lon", "lat",
            "coord_source", "location_precision", "source")
ALIASES = {"division": "division_code"}
COORDINATE_META = ("coord_source", "location_precision")

SELECT = """
    SELECT code, name, sector, tier, status, division_code, total_investment, planned_investment, plan_year,
           start_year, end_year, company, responsible_unit, leader, scope, ST_X(geom) AS lon, ST_Y(geom) AS lat,
           coord_source, location_precision, source, version, created_at, updated_at, deleted_at, deleted_by
    FROM projects
"""


class EditError(GeoappError):
    """A refused edit: HTTP status, reason in Chinese and English, and the problems (value checks) if any.

    ``parameter``/``allowed`` in ``extra`` name the field at fault; a 412 carries the stored ``version`` and its
    ETag, so the caller can show the other version."""

    def __init__(self, status: int, zh: str, en: str, problems: list[Problem] | None = None, **extra: Any):
        self.problems = problems or []
        parameter, allowed = extra.pop("parameter", None), extra.pop("allowed", None)
        headers = {"ETag": f'"{extra["version"]}"'} if "version" in extra else None
        super().__init__(zh=zh, en=en, status=status, parameter=parameter, allowed=allowed, headers=headers,
                         **extra)

    def body(self, lang: str = "zh") -> dict[str, Any]:
        body = super().body(lang)
        if self.problems:
            body["problems"] = [{k: v for k, v in p.as_dict(lang).items() if k != "row"} for p in self.problems]
        return body


def get_project(conn: Connection, code: str, lock: bool = False) -> dict | None:
    row = conn.execute(text(SELECT + " WHERE code = :c" + (" FOR UPDATE" if lock else "")), {"c": code})
    found = row.mappings().first()
    return dict(found) if found else None


def list_projects(conn: Connection, deleted: str = "false", limit: int = 1000, offset: int = 0) -> list[dict]:
    where = {"false": "deleted_at IS NULL", "true": "TRUE", "only": "deleted_at IS NOT NULL"}[deleted]
    rows = conn.execute(text(SELECT + f" WHERE {where} ORDER BY code LIMIT :l OFFSET :o"), {"l": limit, "o": offset})
    return [dict(r) for r in rows.mappings()]


def _not_found(code: str) -> EditError:
    return EditError(404, f"没有编号为 {code} 的项目", f"no project with code {code}")


def require_project(conn: Connection, code: str) -> dict:
    """The project (deleted ones too: their history stays readable), or a 404."""
    project = get_project(conn, code)
    if project is None:
        raise _not_found(code)
    return project


def check_version(project: dict, if_match: str | None) -> None:
    """412 unless If-Match names the stored version (428 when it is missing: blind writes are refused)."""
    if if_match is None:
        raise EditError(428, "修改须带 If-Match（先读取项目得到 ETag）",
                        "a change needs If-Match with the ETag read from the project")
    wanted = {tag.strip().removeprefix("W/").strip('"') for tag in if_match.split(",")}
    if "*" not in wanted and str(project["version"]) not in wanted:
        raise EditError(412, f"项目已被他人修改（当前版本 {project['version']}），请刷新后重试",
                        f"the project changed meanwhile (now version {project['version']}); reload and retry",
                        version=project["version"])


def _normalise_body(body: dict) -> dict:
    out = {}
    for key, value in body.items():
        out[ALIASES.get(key, key)] = value
    unknown = sorted(k for k in out if k not in EDITABLE)
    if unknown:
        allowed = ", ".join(EDITABLE)
        raise EditError(422, f"未知字段：{', '.join(unknown)}；可用：{allowed}",
                        f"unknown fields: {', '.join(unknown)}; allowed: {allowed}")
    if ("lon" in out) != ("lat" in out):
        raise EditError(422, "经度和纬度须同时提供", "give longitude and latitude together")
    return out


def _write(conn: Connection, values: dict, crs: str, account: Account, layers_dir: Path, update: bool) -> None:
    keys = list(values)
    table = Table("json", iter([(1, [values[k] for k in keys])]), header=keys)
    options = ImportOptions(crs=crs, update=update, actor=account.username,
                            allowed_divisions=account.allowed_divisions,
                            source=f"在线录入 / entered online: {account.username}")
    report = ImportReport(file="request", update=update)
    import_table(conn, table, layers_dir, options, report, options.source)
    if report.ignored_columns:
        raise EditError(422, f"未知字段：{', '.join(report.ignored_columns)}",
                        f"unknown fields: {', '.join(report.ignored_columns)}")
    if not report.ok:
        raise EditError(422, "数据未通过检查，未保存", "the data did not pass the checks; nothing was saved",
                        report.sorted_problems())


def _division_of(conn: Connection, value) -> str | None:
    return resolve_division(conn, str(value)) if value not in (None, "") else None


def _may_edit(conn: Connection, account: Account, division_value) -> None:
    code = _division_of(conn, division_value)
    if code is not None and not account.may_edit(code):
        raise EditError(403, "您无权编辑该旗县市区的项目", "you may not edit projects of that division", division=code)


def create_project(conn: Connection, body: dict, account: Account, layers_dir: Path, crs: str = "wgs84") -> dict:
    values = _normalise_body(body)
    code = str(values.get("code") or "").strip()
    if code and get_project(conn, code) is not None:
        raise EditError(409, f"项目编号 {code} 已存在", f"project code {code} already exists")
    _may_edit(conn, account, values.get("division_code"))
    _write(conn, values, crs, account, layers_dir, update=False)
    return get_project(conn, code)


def _live_for_change(conn: Connection, code: str, account: Account, if_match: str | None, zh: str, en: str) -> dict:
    """The live project, locked, after the division and version checks every change makes (``zh``/``en``: the verb
    for the 403, e.g. 编辑/edit)."""
    current = get_project(conn, code, lock=True)
    if current is None or current["deleted_at"] is not None:
        raise _not_found(code)
    if not account.may_edit(current["division_code"]):
        raise EditError(403, f"您无权{zh}该旗县市区的项目", f"you may not {en} projects of that division")
    check_version(current, if_match)
    return current


def update_project(conn: Connection, code: str, body: dict, account: Account, layers_dir: Path,
                   if_match: str | None, crs: str = "wgs84") -> dict:
    current = _live_for_change(conn, code, account, if_match, "编辑", "edit")
    patch = _normalise_body(body)
    if "code" in patch and str(patch["code"]).strip() != code:
        raise EditError(422, "项目编号不能修改", "the project code cannot change")
    if "division_code" in patch:
        _may_edit(conn, account, patch["division_code"])
    merged = {k: current[k] for k in EDITABLE}
    if "lon" in patch:
        for key in COORDINATE_META:
            merged.pop(key)
    else:
        crs = "wgs84"  # the stored point is WGS84 already
    merged.update(patch)
    _write(conn, merged, crs, account, layers_dir, update=True)
    return get_project(conn, code)


def delete_project(conn: Connection, code: str, account: Account, if_match: str | None) -> dict:
    _live_for_change(conn, code, account, if_match, "删除", "delete")
    set_actor(conn, account.username)
    conn.execute(text("UPDATE projects SET deleted_at = now(), deleted_by = :u, version = version + 1, "
                      "updated_at = now() WHERE code = :c"), {"u": account.username, "c": code})
    return get_project(conn, code)


def restore_project(conn: Connection, code: str, account: Account) -> dict:
    current = get_project(conn, code, lock=True)
    if current is None:
        raise _not_found(code)
    if current["deleted_at"] is None:
        raise EditError(409, "该项目未被删除", "the project is not deleted")
    set_actor(conn, account.username)
    conn.execute(text("UPDATE projects SET deleted_at = NULL, deleted_by = NULL, version = version + 1, "
                      "updated_at = now() WHERE code = :c"), {"c": code})
    return get_project(conn, code)


def history(conn: Connection, code: str) -> list[dict]:
    """Every change, oldest first; a creation lists the values it created (rolled back from the current row)."""
    rows = [dict(r) for r in conn.execute(text(
        "SELECT h.action, h.actor, h.at, h.changes FROM project_history h JOIN projects p ON p.id = h.project_id "
        "WHERE p.code = :c ORDER BY h.at, h.id"
    ), {"c": code}).mappings()]
    doc = conn.execute(text("SELECT geoapp_project_doc(p) FROM projects p WHERE code = :c"), {"c": code}).scalar()
    state = dict(doc or {})
    for entry in reversed(rows):
        if entry["action"] == "create":
            entry["changes"] = {k: [None, v] for k, v in state.items() if v is not None}
        elif entry["action"] != "progress":
            for key, (old, _new) in entry["changes"].items():
                state[key] = old
    return rows
