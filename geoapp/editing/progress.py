"""Monthly progress (按月调度): one report per project and month, the state as of a month, and who has not reported.

A report for a month that already has one replaces it (the change is kept in the project's history). The state
as of a month is each project's latest report up to that month (its stored status when it has none); projects
deleted by then are left out. GeoJSON for the map is built in SQL.
"""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import Connection, text

from geoapp.auth.accounts import Account
from geoapp.editing.projects import EditError, get_project
from geoapp.ingest.importer import set_actor
from geoapp.vocab import vocabularies

# Matched whole against the stripped text; each optional part carries its own leading blanks, so no two
# optional runs of whitespace meet (they did, and "2025-1" + 10,000 blanks backtracked quadratically).
_MONTH = re.compile(r"(\d{4})\s*[-年/.]\s*(\d{1,2})(?:\s*月)?(?:\s*-\s*0?1)?")
MAX_MONTH_CHARS = 16
"""The longest month text read ("2025 年 12 月" or "2025-12-01" with blanks); longer is refused unparsed."""
NO_UNIT = "（未填责任单位）"


def parse_month(value: str | None, parameter: str = "month") -> date:
    """'2025-05', '2025年5月', '2025-05-01' → date(2025, 5, 1); None → this month."""
    if value is None or not str(value).strip():
        today = date.today()
        return date(today.year, today.month, 1)
    text_ = str(value).strip()
    if len(text_) > MAX_MONTH_CHARS:
        raise EditError(422, f"参数 {parameter} 太长（最多 {MAX_MONTH_CHARS} 个字符），应为月份，如 2025-05",
                        f"{parameter} is too long (at most {MAX_MONTH_CHARS} characters): give a month such as 2025-05",
                        parameter=parameter)
    match = _MONTH.fullmatch(text_)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise EditError(422, f"参数 {parameter} 应为月份，如 2025-05", f"{parameter} must be a month such as 2025-05",
                        parameter=parameter, value=str(value))
    return date(int(match.group(1)), int(match.group(2)), 1)


def _next_month(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def _decimal(value, name_zh: str, name_en: str, low: Decimal, high: Decimal | None) -> Decimal:
    try:
        out = Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        raise EditError(422, f"{name_zh}不是数字", f"{name_en} is not a number", field=name_en) from None
    if not out.is_finite() or out < low or (high is not None and out > high):
        span = f"{low}–{high}" if high is not None else f"≥ {low}"
        raise EditError(422, f"{name_zh}应在 {span} 之间", f"{name_en} must be {span}", field=name_en)
    return out


def report_progress(conn: Connection, code: str, body: dict, account: Account, layers_dir: Path) -> dict:
    """Record (or replace) a project's report for one month; only editors of its division or admins."""
    project = get_project(conn, code, lock=True)
    if project is None or project["deleted_at"] is not None:
        raise EditError(404, f"没有编号为 {code} 的项目", f"no project with code {code}")
    if not account.may_edit(project["division_code"]):
        raise EditError(403, "您无权填报该旗县市区的项目", "you may not report for projects of that division")
    unknown = sorted(set(body) - {"month", "status", "progress_pct", "investment_completed", "issues"})
    if unknown:
        raise EditError(422, f"未知字段：{', '.join(unknown)}", f"unknown fields: {', '.join(unknown)}")
    month = parse_month(body.get("month"))
    if month > parse_month(None):
        raise EditError(422, "不能填报未来月份", "a report cannot be for a future month", field="month")
    statuses = vocabularies(Path(layers_dir))["status"]
    status = statuses.resolve(str(body.get("status") or project["status"]))
    if status is None:
        raise EditError(422, f"未知的项目状态；可用：{statuses.allowed('zh')}",
                        f"unknown status; allowed: {statuses.allowed('en')}", field="status")
    if body.get("progress_pct") is None or body.get("investment_completed") is None:
        raise EditError(422, "须填写形象进度（%）和累计完成投资（万元）",
                        "progress_pct and investment_completed (10k yuan, to date) are required")
    pct = _decimal(body["progress_pct"], "形象进度", "progress_pct", Decimal(0), Decimal(100))
    done = _decimal(body["investment_completed"], "累计完成投资", "investment_completed", Decimal(0), None)
    issues = (str(body["issues"]).strip() or None) if body.get("issues") is not None else None
    project_id = conn.execute(text("SELECT id FROM projects WHERE code = :c"), {"c": code}).scalar_one()
    old = conn.execute(text(
        "SELECT status, progress_pct, investment_completed, issues FROM project_progress "
        "WHERE project_id = :p AND month = :m"), {"p": project_id, "m": month}).mappings().first()
    new = {"status": status, "progress_pct": pct, "investment_completed": done, "issues": issues}
    conn.execute(text("""
        INSERT INTO project_progress (project_id, month, status, progress_pct, investment_completed, issues,
                                      reported_by)
        VALUES (:p, :m, :status, :progress_pct, :investment_completed, :issues, :by)
        ON CONFLICT (project_id, month) DO UPDATE SET status = EXCLUDED.status,
            progress_pct = EXCLUDED.progress_pct, investment_completed = EXCLUDED.investment_completed,
            issues = EXCLUDED.issues, reported_by = EXCLUDED.reported_by, reported_at = now()
    """), {"p": project_id, "m": month, "by": account.username, **new})
    changes = {"month": [None, month.isoformat()[:7]]} | {
        k: [_plain(old[k]) if old else None, _plain(v)] for k, v in new.items() if not old or old[k] != v}
    set_actor(conn, account.username)
    conn.execute(text("INSERT INTO project_history (project_id, project_code, action, actor, changes) "
                      "VALUES (:p, :c, 'progress', geoapp_actor(), CAST(:ch AS jsonb))"),
                 {"p": project_id, "c": code, "ch": json.dumps(changes, ensure_ascii=False)})
    return {"code": code, "month": month.isoformat()[:7], **{k: _plain(v) for k, v in new.items()},
            "reported_by": account.username, "replaced": old is not None}


def _plain(value):
    return float(value) if isinstance(value, Decimal) else value


def progress_of(conn: Connection, code: str) -> list[dict]:
    rows = conn.execute(text("""
        SELECT to_char(r.month, 'YYYY-MM') AS month, r.status, r.progress_pct::float8 AS progress_pct,
               r.investment_completed::float8 AS investment_completed, r.issues, r.reported_by, r.reported_at
        FROM project_progress r JOIN projects p ON p.id = r.project_id WHERE p.code = :c ORDER BY r.month
    """), {"c": code}).mappings()
    return [dict(r) for r in rows]


AS_OF = """
    SELECT p.id, p.code, p.name, p.division_code, p.sector, p.tier, p.responsible_unit, p.geom,
           coalesce(r.status, p.status) AS status, r.progress_pct::float8 AS progress_pct,
           r.investment_completed::float8 AS investment_completed, r.issues,
           to_char(r.month, 'YYYY-MM') AS report_month
    FROM projects p
    LEFT JOIN LATERAL (
        SELECT * FROM project_progress x WHERE x.project_id = p.id AND x.month <= :month
        ORDER BY x.month DESC LIMIT 1
    ) r ON TRUE
    WHERE p.deleted_at IS NULL OR p.deleted_at >= :next
"""


def state_as_of(conn: Connection, month: date) -> bytes:
    """A GeoJSON FeatureCollection: every project as its latest report up to ``month`` describes it."""
    sql = f"""
        SELECT json_build_object('type', 'FeatureCollection', 'month', to_char(CAST(:month AS date), 'YYYY-MM'),
            'features', coalesce(json_agg(json_build_object(
                'type', 'Feature', 'id', s.code, 'geometry', ST_AsGeoJSON(s.geom)::json,
                'properties', json_build_object('code', s.code, 'name', s.name, 'division_code', s.division_code,
                    'sector', s.sector, 'tier', s.tier, 'status', s.status, 'progress_pct', s.progress_pct,
                    'investment_completed', s.investment_completed, 'issues', s.issues,
                    'report_month', s.report_month)) ORDER BY s.code), '[]'::json))::text
        FROM ({AS_OF}) s
    """
    return conn.execute(text(sql), {"month": month, "next": _next_month(month)}).scalar_one().encode()


_MISSING_WHERE = """
    p.deleted_at IS NULL
    AND NOT EXISTS (SELECT 1 FROM project_progress x WHERE x.project_id = p.id AND x.month = :month)
    AND (CAST(:allowed AS text[]) IS NULL OR p.division_code = ANY(CAST(:allowed AS text[])))
"""


def _missing_params(month: date, account: Account | None) -> dict:
    """Editors see the projects of their divisions only; everyone else sees them all."""
    allowed = account.allowed_divisions if account is not None and account.role == "editor" else None
    return {"none": NO_UNIT, "month": month, "allowed": sorted(allowed) if allowed is not None else None}


def missing_reports(conn: Connection, month: date, account: Account | None = None) -> dict:
    """Projects without a report for ``month``, grouped by responsible unit (editors see their divisions)."""
    rows = conn.execute(text(f"""
        SELECT coalesce(p.responsible_unit, :none) AS unit, p.code, p.name, p.division_code, d.name AS division,
               to_char(last.month, 'YYYY-MM') AS last_report
        FROM projects p JOIN divisions d ON d.code = p.division_code
        LEFT JOIN LATERAL (SELECT max(month) AS month FROM project_progress x WHERE x.project_id = p.id) last ON TRUE
        WHERE {_MISSING_WHERE}
        ORDER BY unit, p.code
    """), _missing_params(month, account)).mappings()
    units: dict[str, list[dict]] = {}
    for r in rows:
        units.setdefault(r["unit"], []).append({k: r[k] for k in ("code", "name", "division_code", "division",
                                                                   "last_report")})
    return {"month": month.isoformat()[:7], "total": sum(len(v) for v in units.values()),
            "units": [{"responsible_unit": u, "count": len(p), "projects": p} for u, p in units.items()]}


def missing_counts(conn: Connection, month: date, account: Account | None = None) -> dict:
    """How many projects each responsible unit has without a report for ``month``, counted in SQL (GROUP BY), for
    the web map's panel, which needs the numbers and not the list (the same projects as ``missing_reports``)."""
    rows = conn.execute(text(f"""
        SELECT coalesce(p.responsible_unit, :none) AS unit, count(*) AS n
        FROM projects p JOIN divisions d ON d.code = p.division_code
        WHERE {_MISSING_WHERE}
        GROUP BY 1 ORDER BY n DESC, unit
    """), _missing_params(month, account)).all()
    return {"month": month.isoformat()[:7], "total": sum(r.n for r in rows),
            "units": [{"responsible_unit": r.unit, "count": r.n} for r in rows]}
