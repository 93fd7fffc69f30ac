"""Writing projects in bulk: COPY into a temporary table, then one upsert keyed on the business code.

Used by the demo loader and the importers, so a million rows load at COPY speed and a repeated load
updates instead of duplicating.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, text

# Every writable column, in COPY order; ``lon``/``lat`` become the point.
COLUMNS = (
    "code", "name", "sector", "tier", "status", "division_code", "total_investment", "planned_investment",
    "plan_year", "start_year", "end_year", "company", "responsible_unit", "leader", "scope",
    "lon", "lat", "coord_source", "location_precision", "source",
)
DATA_COLUMNS = [c for c in COLUMNS if c not in ("code", "lon", "lat")]
_COPY_ORDER = (*COLUMNS, "row_no")
KEPT = "_project_bulk"  # a bulk load's second staging table: every checked chunk, merged at the end
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: object) -> str:
    """One value in COPY's text format (what psycopg's write_row does, at a fraction of the cost per row)."""
    if value is None:
        return "\\N"
    if value.__class__ is str:
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            return value.translate(_ESCAPES)
        return value
    return str(value)


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
            lines: list[str] = []
            for row in rows:
                lines.append("\t".join([_copy_text(row.get(c)) for c in _COPY_ORDER]))
                if len(lines) >= 1000:
                    copy.write("\n".join(lines) + "\n")
                    lines.clear()
            if lines:
                copy.write("\n".join(lines) + "\n")


def keep_staged(conn: Connection) -> None:
    """Append what ``stage_projects`` staged to the transaction's second staging table :data:`KEPT`, for a bulk
    load that merges only after its last chunk was checked."""
    conn.execute(text(f"CREATE TEMP TABLE IF NOT EXISTS {KEPT} (LIKE _project_load) ON COMMIT DROP"))
    conn.execute(text(f"INSERT INTO {KEPT} SELECT * FROM _project_load"))


def merge_staged(conn: Connection, update: bool = True, write: bool = True,
                 staged: str = "_project_load") -> UpsertCounts:
    """Upsert what ``stage_projects`` loaded: new codes are inserted, changed ones rewritten when ``update``.

    ``write=False`` (a dry run) only counts what the upsert would do; ``staged`` names the staging table
    (``_project_load``, or :data:`KEPT` for a bulk load), one of those two, never a name from outside.
    """
    assert staged in ("_project_load", KEPT)
    raw = conn.connection.driver_connection
    with raw.cursor() as cur:
        distinct = " OR ".join(f"p.{c} IS DISTINCT FROM l.{c}" for c in DATA_COLUMNS)
        cur.execute(f"""
            SELECT count(*) FILTER (WHERE p.id IS NULL),
                   count(*) FILTER (WHERE p.id IS NOT NULL AND ({distinct}
                                    OR NOT ST_Equals(p.geom, ST_SetSRID(ST_MakePoint(l.lon, l.lat), 4326)))),
                   count(*)
            FROM {staged} l
            LEFT JOIN LATERAL (SELECT * FROM projects p WHERE p.code = l.code LIMIT 1) p ON TRUE
        """)  # LATERAL: one index probe per staged row; a plain join may hash the whole (growing) table per call
        added, changed, total = cur.fetchone()
        if not write:
            return _counts(update, added, changed, total)
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
            FROM {staged}
            ON CONFLICT (code) {conflict}
        """)
    return _counts(update, added, changed, total)


def _counts(update: bool, added: int, changed: int, total: int) -> UpsertCounts:
    if not update:
        return UpsertCounts(added=added, unchanged=total - added)
    return UpsertCounts(added=added, updated=changed, unchanged=total - added - changed)


def upsert_projects(conn: Connection, rows: Iterable[Mapping], update: bool = True) -> UpsertCounts:
    """Insert new codes and (when ``update``) rewrite changed ones; returns added/updated/unchanged."""
    stage_projects(conn, rows)
    return merge_staged(conn, update)


@contextmanager
def secondary_indexes_deferred(conn: Connection) -> Iterator[int]:
    """For a bulk load: drop the non-unique indexes of ``projects`` and build them again at the end (yields how
    many).

    PostgreSQL's own advice for populating a table ("remove indexes"): one sorted build per index is faster than
    a million incremental inserts. Everything happens in the caller's transaction, so a failed load rolls the
    drop back too; but from the DROP to the commit the table is locked (ACCESS EXCLUSIVE) against every reader,
    so a caller enters this only when nothing can fail any more, and never for a dry run (the importer: only an
    explicit ``bulk`` load, after every row passed). The unique code index stays, the upsert needs it.
    """
    indexes = conn.execute(text(
        "SELECT c.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid "
        "WHERE x.indrelid = 'projects'::regclass AND NOT x.indisunique AND NOT x.indisprimary ORDER BY c.relname"
    )).all()
    for name, _ in indexes:
        conn.execute(text(f'DROP INDEX "{name}"'))
    yield len(indexes)
    conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
    for _, ddl in indexes:
        conn.execute(text(ddl))
