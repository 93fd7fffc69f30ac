"""One import, all or nothing: read → map headers → check rows → stage by COPY → check against the table → merge.

Everything happens in one transaction. Rows are checked and streamed into the staging table chunk by chunk
(memory stays flat for a million rows); if any problem is found, anywhere, the transaction is rolled back and
the report lists them all. A dry run does the whole import, counts included, writes nothing to ``projects`` and
rolls back.

Readers are never locked out: an import takes only the row locks an INSERT … ON CONFLICT takes (readers see the
table as it was until the commit). The table is never locked whole for a dry run or for an import that can still
fail; only an explicit ``bulk`` load (an offline load, never the API) drops the secondary indexes, and only after
every row has passed every check (see :func:`import_table`). Killed at any point (kill -9), the one transaction
leaves the table, its history and its indexes as they were.
"""

from __future__ import annotations

import contextlib
import getpass
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from geoapp.db.project_store import (
    KEPT,
    UpsertCounts,
    keep_staged,
    merge_staged,
    secondary_indexes_deferred,
    stage_projects,
)
from geoapp.ingest.checks import CheckedRow, Divisions, RowChecker, RowContext, check_points
from geoapp.ingest.coords import CRS_CHOICES
from geoapp.ingest.headers import ALIASES, FIELD_TITLES, Column, HeaderMap, find_header_row, map_headers
from geoapp.ingest.readers import (
    GEOMETRY_COLUMN,
    GEOMETRY_LAT,
    GEOMETRY_LON,
    ReadError,
    ReadLimits,
    Table,
    open_table,
)
from geoapp.ingest.report import ImportReport, Problem
from geoapp.ingest.values import SPREADSHEET_FORMATS
from geoapp.vocab import vocabularies

HEADER_SCAN_ROWS = 30
CHUNK = 10_000
TOTAL_MARKERS = ("合计", "总计", "小计", "total")


@dataclass
class ImportOptions:
    crs: str | None = None            # None: what the headers or the file say, else WGS84
    sheet: str | None = None          # XLSX sheet or GIS layer
    fmt: str | None = None            # forced format (uploads without a useful file name)
    dry_run: bool = False
    update: bool = False
    actor: str | None = None          # recorded in the change history
    allowed_divisions: frozenset[str] | None = None  # an editor's divisions
    source: str | None = None         # the source recorded for rows that name none
    # An offline bulk load: every row is checked and staged first, then the table's secondary indexes are dropped,
    # the rows merged at once and the indexes rebuilt, the table locked against readers for that last step only.
    # Never on by itself (a file's size used to switch it on, locking readers out even for dry runs).
    bulk: bool = False
    limits: ReadLimits | None = None  # rows, columns, unzipped size (the settings' import_* limits)


def set_actor(conn: Connection, actor: str) -> None:
    """Name who writes in this transaction; the history triggers record it."""
    conn.execute(text("SELECT set_config('geoapp.actor', :actor, true)"), {"actor": actor})


def default_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def import_file(engine: Engine, path: Path, layers_dir: Path, options: ImportOptions,
                display_name: str | None = None) -> ImportReport:
    """Import a file; the report says what was written (nothing at all when it lists a problem)."""
    path = Path(path)
    report = ImportReport(file=display_name or path.name, dry_run=options.dry_run, update=options.update)
    try:
        table = open_table(path, options.sheet, options.fmt, options.limits)
    except ReadError as exc:
        report.add(Problem(None, "-", display_name or path.name, exc.zh, exc.en, exc.parameter))
        return report
    source = options.source or f"导入 / import: {display_name or path.name}"
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            import_table(conn, table, layers_dir, options, report, source, engine)
            if report.ok and not options.dry_run:
                trans.commit()
                report.written = True
            else:
                trans.rollback()
        except ReadError as exc:
            trans.rollback()
            report.add(Problem(None, "-", report.file, exc.zh, exc.en, exc.parameter))
        except BaseException:
            trans.rollback()
            raise
    return report


def import_table(conn: Connection, table: Table, layers_dir: Path, options: ImportOptions, report: ImportReport,
                 source: str, engine: Engine | None = None) -> None:
    """Check and write every row of a table inside the caller's transaction, which the caller rolls back when the
    report lists any problem.

    Chunk by chunk: the rows are checked in Python, COPied into the staging table, checked against the table and
    merged. With ``engine`` the reading and checking run in a thread of their own (with a connection of their own
    for name look-ups), so Python's work on one chunk overlaps PostgreSQL's on the previous one.

    A dry run counts each chunk against the table without writing it (a file's codes are distinct, so no chunk's
    count depends on another's rows). With ``options.bulk`` (and not a dry run) the checked chunks are kept in a
    second staging table and merged only after the last row passed, with the secondary indexes rebuilt around
    that one merge: the table is locked only once nothing can fail any more.
    """
    report.format, report.sheet = table.format, table.sheet
    set_actor(conn, options.actor or default_actor())
    header, rows = _header(table, layers_dir, report)
    if header is None:
        return
    crs = _crs(header, table, options, report)
    if crs is None:
        return
    report.crs = crs
    ctx = RowContext(vocabularies(Path(layers_dir)), Divisions.load(conn, Path(layers_dir)), source, crs,
                     options.allowed_divisions, defer_defaults=options.update,
                     spreadsheet=table.format in SPREADSHEET_FORMATS)
    late: list[Problem] = []  # found by this thread while the checking thread may still report
    total = UpsertCounts()
    chunks = _threaded(engine, rows, header, ctx, report) if engine is not None else _checked_chunks(
        rows, header, ctx, report)
    deferred = options.bulk and not options.dry_run
    for chunk in chunks:
        stage_projects(conn, chunk.rows, fresh=True)
        _check_against_table(conn, header, options, ctx, late.append)
        _check_against_table(conn, header, options, ctx, late.append, chunk.failed)
        if report.ok and not late:
            if options.update:
                _match_stored(conn, ctx)
            if deferred:
                keep_staged(conn)
            else:
                _add(total, merge_staged(conn, update=options.update, write=not options.dry_run))
    for problem in late:
        report.add(problem)
    if deferred and report.ok and report.rows:
        with secondary_indexes_deferred(conn):  # every row passed: the merge cannot fail on the file any more
            _add(total, merge_staged(conn, update=options.update, staged=KEPT))
    if report.rows == 0 and report.ok:
        report.add(Problem(header.row, "-", "", "表头下没有数据行", "there are no data rows below the header"))
    if report.ok:
        report.added, report.updated, report.unchanged = total.added, total.updated, total.unchanged


def _add(total: UpsertCounts, counts: UpsertCounts) -> None:
    total.added += counts.added
    total.updated += counts.updated
    total.unchanged += counts.unchanged


_DONE = object()


@dataclass
class Chunk:
    rows: list[dict]                 # rows that passed every check, ready for COPY
    failed: list[tuple[int, str]]    # (row, code) of rows that failed: their codes are still checked in the table


def _threaded(engine: Engine, rows: Iterable[tuple[int, list]], header: HeaderMap, ctx: RowContext,
              report: ImportReport) -> Iterator[Chunk]:
    """The checked chunks, produced by a thread (two ahead at most, so memory stays flat)."""
    chunks: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()

    def produce() -> None:
        try:
            with engine.connect() as lookups:
                ctx.divisions.conn = lookups
                for chunk in _checked_chunks(rows, header, ctx, report):
                    if stop.is_set():
                        return
                    chunks.put(chunk)
        except BaseException as exc:  # handed to the consuming thread, which raises it
            chunks.put(exc)
        finally:
            chunks.put(_DONE)

    worker = threading.Thread(target=produce, name="geoapp-import-check", daemon=True)
    worker.start()
    try:
        while (item := chunks.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(queue.Empty):
                chunks.get(timeout=0.1)
        worker.join()


def _header(table: Table, layers_dir: Path, report: ImportReport) -> tuple[HeaderMap | None, Iterator]:
    if table.header is not None:
        header = map_headers(table.header, None, layers_dir)
        header.ignored = [h for h in header.ignored if h not in (GEOMETRY_LON, GEOMETRY_LAT)]
        if table.format in ("geojson", "gpkg", "shp"):
            # The geometry is the point; coordinate attributes, if any, are ignored.
            header.columns = [c for c in header.columns if c.field not in ("lon", "lat", "coords")]
            header.columns += [Column(table.header.index(GEOMETRY_LON), GEOMETRY_COLUMN, "lon"),
                               Column(table.header.index(GEOMETRY_LAT), GEOMETRY_COLUMN, "lat")]
        rows: Iterator = table.rows
    else:
        head: list[tuple[int, list]] = []
        for item in table.rows:
            head.append(item)
            if len(head) >= HEADER_SCAN_ROWS:
                break
        header = find_header_row(head, layers_dir)
        if header is None:
            report.add(Problem(None, "-", "", "在前 30 行中找不到表头（至少应有 项目编号、项目名称、旗县市区 等列）",
                               "no header row in the first 30 rows (columns such as 项目编号/code, 项目名称/name, "
                               "旗县市区/division are needed)"))
            return None, iter(())
        rows = chain((item for item in head if item[0] > header.row), table.rows)
    report.header_row = header.row
    report.ignored_columns = header.ignored + [h for h, _ in header.duplicates]
    missing = header.missing()
    for name in missing:
        zh_title, en_title = FIELD_TITLES[name]
        forms = "、".join(ALIASES[name][:4])
        report.add(Problem(header.row, "-", "", f"缺少必需的列“{zh_title}”（可用表头：{forms}）",
                           f"the required column {en_title} is missing (headers accepted: {forms})", name))
    return (None, iter(())) if missing else (header, rows)


def _crs(header: HeaderMap, table: Table, options: ImportOptions, report: ImportReport) -> str | None:
    hints = header.crs_hints()
    if options.crs is not None and options.crs not in CRS_CHOICES:
        report.add(Problem(None, "--crs", options.crs, f"未知的坐标系；可用：{', '.join(CRS_CHOICES)}",
                           f"unknown coordinate system; use one of {', '.join(CRS_CHOICES)}"))
        return None
    if len(hints) > 1 or (options.crs and hints and options.crs not in hints):
        said = ", ".join(sorted(hints | ({options.crs} if options.crs else set())))
        report.add(Problem(header.row, "-", said, f"坐标系不一致：表头与 --crs 指定了不同的坐标系（{said}）",
                           f"conflicting coordinate systems in the headers and --crs ({said})"))
        return None
    return options.crs or (next(iter(hints)) if hints else None) or table.crs or "wgs84"


def _is_blank_or_total(cells: list, report: ImportReport, row_no: int) -> bool:
    """Empty rows are skipped; a 合计/小计/总计 row (its first filled cell says so) is skipped and listed."""
    for cell in cells:
        if cell is None:
            continue
        first = str(cell).strip()
        if not first:
            continue
        key = "".join(first.split()).casefold()
        if key in TOTAL_MARKERS or any(key.startswith(m) for m in TOTAL_MARKERS[:3]):
            report.skipped_rows.append(row_no)
            return True
        return False
    return True


def _checked_chunks(rows: Iterable[tuple[int, list]], header: HeaderMap, ctx: RowContext,
                    report: ImportReport) -> Iterator[Chunk]:
    """Rows that pass every check, chunk by chunk, ready for COPY, with the codes of the rows that did not (the
    table check sees those too, so the report lists every problem); problems go to the report."""
    seen: dict[str, int] = {}
    checker = RowChecker(header.columns, ctx)
    code_column = checker.columns["code"]
    chunk: list[CheckedRow] = []
    codes: list[tuple[int, str]] = []  # (row, code) of this chunk's rows, repeated codes left out

    def flush() -> Chunk:
        good = check_points(chunk, checker, report.add)
        staged = {r["row_no"] for r in good}
        return Chunk(good, [(n, c) for n, c in codes if n not in staged])

    for row_no, cells in rows:
        if _is_blank_or_total(cells, report, row_no):
            continue
        report.rows += 1
        checked = checker.check(row_no, cells, report.add)
        code = checked.values.get("code") if checked else None
        if code is None and code_column.index < len(cells) and cells[code_column.index] not in (None, ""):
            code = str(cells[code_column.index]).strip()
        if code is not None:
            first = seen.setdefault(code, row_no)
            if first != row_no:
                report.add(Problem(row_no, code_column.header, code, f"项目编号与第 {first} 行重复",
                                   f"the project code repeats row {first}", "code"))
                if checked is not None:
                    checked.ok = False   # never stored, but its point is still checked
            else:
                codes.append((row_no, code))
        if checked is not None:
            chunk.append(checked)
        if len(chunk) >= CHUNK or len(codes) >= CHUNK:
            yield flush()
            chunk, codes = [], []
    yield flush()


# The stored row of each staged code, looked up through the code's unique index (a plain join lets the planner
# hash the whole projects table for every chunk, which grows quadratically over a million-row load).
_STORED = ("CROSS JOIN LATERAL (SELECT p.division_code, p.deleted_at FROM projects p WHERE p.code = l.code LIMIT 1) p")


def _check_against_table(conn: Connection, header: HeaderMap, options: ImportOptions, ctx: RowContext,
                         add: Callable[[Problem], None], failed: list[tuple[int, str]] | None = None) -> None:
    """Problems only the database can see: codes already there (without --update), deleted, or not yours.

    The staged rows by default; with ``failed``, the (row, code) pairs of rows that failed other checks.
    """
    column = next(c for c in header.columns if c.field == "code").header
    load, params = "_project_load l ", {}
    if failed is not None:
        if not failed:
            return
        load = "unnest(CAST(:rows AS int[]), CAST(:codes AS text[])) AS l(row_no, code) "
        params = {"rows": [n for n, _ in failed], "codes": [c for _, c in failed]}
    if not options.update:
        for row_no, code in conn.execute(text(
            "SELECT l.row_no, l.code FROM " + load + _STORED + " ORDER BY l.row_no"
        ), params):
            add(Problem(row_no, column, code, "项目编号已存在于数据库中（如需更新已有项目，请使用 --update）",
                               "the project code already exists (use --update to change existing projects)", "code"))
        return
    for row_no, code in conn.execute(text(
        "SELECT l.row_no, l.code FROM " + load + _STORED + " WHERE p.deleted_at IS NOT NULL ORDER BY l.row_no"
    ), params):
        add(Problem(row_no, column, code, "该项目已被删除，需由管理员恢复后才能更新",
                           "this project was deleted; an admin must restore it before it can be updated", "code"))
    if options.allowed_divisions is not None:
        for row_no, code, division in conn.execute(text(
            "SELECT l.row_no, l.code, p.division_code FROM " + load + _STORED
            + " WHERE NOT (p.division_code = ANY(:allowed)) ORDER BY l.row_no"
        ), {**params, "allowed": sorted(options.allowed_divisions)}):
            add(Problem(row_no, column, code, f"该项目属于{ctx.divisions.name(division)}，您无权修改",
                               f"this project belongs to {ctx.divisions.name(division, 'en')}; you may not change it",
                               "code"))


def _match_stored(conn: Connection, ctx: RowContext) -> None:
    """Fields a file leaves out keep their stored values (the point's provenance only while the point is unchanged);
    new rows get the import's defaults."""
    # A point within 1e-7° (~1 cm: the 7 decimals an export writes) of the stored one is the stored one.
    conn.execute(text("""
        UPDATE _project_load l SET lon = ST_X(p.geom), lat = ST_Y(p.geom) FROM projects p
        WHERE p.code = l.code AND abs(ST_X(p.geom) - l.lon) <= 1e-7 AND abs(ST_Y(p.geom) - l.lat) <= 1e-7
          AND (ST_X(p.geom) <> l.lon OR ST_Y(p.geom) <> l.lat)
    """))
    conn.execute(text("""
        UPDATE _project_load l SET
            source = coalesce(l.source, p.source),
            coord_source = coalesce(l.coord_source, CASE WHEN ST_X(p.geom) = l.lon AND ST_Y(p.geom) = l.lat
                                                         THEN p.coord_source END),
            location_precision = coalesce(l.location_precision, CASE WHEN ST_X(p.geom) = l.lon
                                                                     AND ST_Y(p.geom) = l.lat
                                                                     THEN p.location_precision END)
        FROM projects p
        WHERE p.code = l.code AND (l.source IS NULL OR l.coord_source IS NULL OR l.location_precision IS NULL)
    """))
    conn.execute(text("""
        UPDATE _project_load SET source = coalesce(source, :source), coord_source = coalesce(coord_source, :crs),
                                 location_precision = coalesce(location_precision, 'exact')
        WHERE source IS NULL OR coord_source IS NULL OR location_precision IS NULL
    """), {"source": ctx.source, "crs": ctx.crs})


# -- uploads: each import in a worker process -----------------------------------------------------------------------

_worker_engines: dict[str, Engine] = {}
NICE = 10  # a worker's CPU priority below the server's: readers are answered first


def _watch_parent(parent: int) -> None:
    """End this worker when the server that started it is gone (kill -9): its transaction is rolled back then,
    instead of an orphan finishing the import nobody waits for."""
    import os
    import time

    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def worker_started(parent: int) -> None:
    """A worker process's initializer: lower priority, and a watch on the server process."""
    import os

    with contextlib.suppress(OSError):
        os.nice(NICE)
    threading.Thread(target=_watch_parent, args=(parent,), name="geoapp-import-parent", daemon=True).start()


def import_in_worker(url: str, path: Path, layers_dir: Path, options: ImportOptions,
                     display_name: str | None = None) -> ImportReport:
    """:func:`import_file` in a worker process, on an engine of the worker's own for ``url`` (kept between
    imports; the URL carries the import's timeouts)."""
    from geoapp.db.engine import make_engine

    engine = _worker_engines.get(url)
    if engine is None:
        engine = _worker_engines[url] = make_engine(url, pool_size=2, max_overflow=2)
    return import_file(engine, path, layers_dir, options, display_name)
