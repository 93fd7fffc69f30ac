"""Writing projects in bulk: COPY into a temporary table, then one upsert keyed on the business code.

Used by the demo loader and the importers, so a million rows load at COPY speed and a repeated load
updates instead of duplicating.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import Connection

# Every writable column, in COPY order; ``lon``/``lat`` become the point.
COLUMNS = (
    "code", "name", "sector", "tier", "status", "division_code", "total_investment", "planned_investment",
    "plan_year", "start_year", "end_year", "company", "responsible_unit", "leader", "scope",
    "lon", "lat", "coord_source", "location_precision", "source",
)
DATA_COLUMNS = [c for c in COLUMNS if c not in ("code", "lon", "lat")]


@dataclass
class UpsertCounts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0


def stage_projects(conn: Connection, rows: Iterable[Mapping], fresh: bool = True) -> None:
    """COPY rows into the transaction's temporary table ``_project_load`` (``row_no``: where a row came from).

    ``rows`` may be a generator (it must not use the connection: it is busy with COPY). ``fresh=False`` appends
    to what earlier calls staged, so an importer can stage chunk by chunk with queries in between.
    """
    raw = conn.connection.driver_connection
    with raw.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS _project_load ("
            "code text, name text, sector text, tier text, status text, division_code text, "
            "total_investment numeric, planned_investment numeric, plan_year int, start_year int, end_year int, "
            "company text, responsible_unit text, leader text, scope text, lon float8, lat float8, "
            "coord_source text, location_precision text, source text, row_no int) ON COMMIT DROP"
        )
        if fresh:
            cur.execute("TRUNCATE _project_load")
        with cur.copy(f"COPY _project_load ({', '.join(COLUMNS)}, row_no) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([*(row.get(c) for c in COLUMNS), row.get("row_no")])


def merge_staged(conn: Connection, update: bool = True) -> UpsertCounts:
    """Upsert what ``stage_projects`` loaded: new codes are inserted, changed ones rewritten when ``update``."""
    raw = conn.connection.driver_connection
    with raw.cursor() as cur:
        distinct = " OR ".join(f"p.{c} IS DISTINCT FROM l.{c}" for c in DATA_COLUMNS)
        cur.execute(f"""
            SELECT count(*) FILTER (WHERE p.id IS NULL),
                   count(*) FILTER (WHERE p.id IS NOT NULL AND ({distinct}
                                    OR NOT ST_Equals(p.geom, ST_SetSRID(ST_MakePoint(l.lon, l.lat), 4326)))),
                   count(*)
            FROM _project_load l LEFT JOIN projects p USING (code)
        """)
        added, changed, total = cur.fetchone()
        assignments = ", ".join(f"{c} = EXCLUDED.{c}" for c in DATA_COLUMNS)
        conflict = (
            f"DO UPDATE SET {assignments}, geom = EXCLUDED.geom, updated_at = now(), "
            "version = projects.version + 1 WHERE "
            + " OR ".join(f"projects.{c} IS DISTINCT FROM EXCLUDED.{c}" for c in DATA_COLUMNS)
            + " OR NOT ST_Equals(projects.geom, EXCLUDED.geom)"
            if update else "DO NOTHING"
        )
        cur.execute(f"""
            INSERT INTO projects (code, {', '.join(DATA_COLUMNS)}, geom)
            SELECT code, {', '.join(DATA_COLUMNS)}, ST_SetSRID(ST_MakePoint(lon, lat), 4326)
            FROM _project_load
            ON CONFLICT (code) {conflict}
        """)
    if not update:
        return UpsertCounts(added=added, unchanged=total - added)
    return UpsertCounts(added=added, updated=changed, unchanged=total - added - changed)


def upsert_projects(conn: Connection, rows: Iterable[Mapping], update: bool = True) -> UpsertCounts:
    """Insert new codes and (when ``update``) rewrite changed ones; returns added/updated/unchanged."""
    stage_projects(conn, rows)
    return merge_staged(conn, update)
