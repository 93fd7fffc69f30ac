"""Streaming writers: rows come from a server-side cursor in chunks, so a million features never sit in memory.

GeoJSON features are built by PostgreSQL (``geoapp.layers.sql.feature_text``); CSV and XLSX rows carry the
property values with vocabulary codes turned into labels and the point as WGS84 longitude/latitude.

CSV and XLSX are opened in spreadsheets, which run a cell that starts with = + - @ (or a tab or CR) as a formula:
such texts are written with a leading apostrophe (OWASP's advice against CSV injection), numbers as numbers.
GeoJSON and GeoPackage are read by GIS software and scripts, which evaluate nothing: they carry the texts as stored.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook
from sqlalchemy import Connection
from sqlalchemy.sql.elements import ColumnElement

from geoapp.errors import GeoappError
from geoapp.ingest.values import neutralise_formula
from geoapp.layers import sql
from geoapp.layers.filters import division_terms
from geoapp.layers.registry import Layer, get_layer
from geoapp.vocab import vocabularies

EXPORT_FORMATS = ("geojson", "csv", "xlsx")
MEDIA_TYPES = {
    "geojson": "application/geo+json",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
CHUNK_ROWS = 2000
XLSX_MAX_ROWS = 1_048_575  # Excel's sheet limit minus the header row


class ExportTooLarge(GeoappError):
    """More rows than the format can hold."""


def table_headers(layer: Layer, names: list[str], lang: str = "zh") -> list[str]:
    """Column titles of a CSV/XLSX export: property titles, then the coordinate titles of the layer's export."""
    titles = {p.name: p.title.get(lang) for p in layer.properties}
    if layer.stats_of:
        titles.update({p.name: p.title.get(lang) for p in layer.stats_of.properties})
    headers = [titles[n] for n in names]
    coords = (layer.export or {}).get("coordinates") or {}
    if coords:
        headers += [coords["lon"].get(lang, coords["lon"]["zh"]), coords["lat"].get(lang, coords["lat"]["zh"])]
    return headers


def _label_maps(conn: Connection, layer: Layer, layers_dir: Path, lang: str) -> dict[str, dict[str, str]]:
    maps: dict[str, dict[str, str]] = {}
    vocabs = vocabularies(Path(layers_dir))
    for prop in layer.properties:
        if prop.vocabulary == "division":
            maps[prop.name] = {code: name for code, name, _ in division_terms(conn)}
        elif prop.vocabulary in vocabs:
            maps[prop.name] = {t.code: t.label(lang) for t in vocabs[prop.vocabulary].terms}
    return maps


def _plain(value: Any) -> Any:
    """A value for a CSV/XLSX cell: numbers stay numbers, texts that a spreadsheet would run as a formula get the
    leading apostrophe (values.neutralise_formula; the import takes it off again)."""
    if isinstance(value, str):
        return neutralise_formula(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def _row_converter(conn: Connection, layer: Layer, names: list[str], layers_dir: Path,
                   lang: str) -> tuple[Callable[[Any], list[Any]], bool]:
    maps = _label_maps(conn, layer, layers_dir, lang)
    lookups = [maps.get(n) for n in names]
    with_coords = bool((layer.export or {}).get("coordinates"))

    def convert(row: Any) -> list[Any]:
        out = [_plain(lk.get(v, v) if lk is not None and v is not None else v) for lk, v in zip(lookups, row,
                                                                                               strict=False)]
        if with_coords:
            lon, lat = row[len(names)], row[len(names) + 1]
            out += [round(lon, 7) if lon is not None else None, round(lat, 7) if lat is not None else None]
        return out

    return convert, with_coords


def _stream(conn: Connection, stmt: Any) -> Iterator[list[Any]]:
    result = conn.execution_options(stream_results=True, yield_per=CHUNK_ROWS).execute(stmt)
    yield from result.partitions(CHUNK_ROWS)


def iter_export(conn: Connection, layer: Layer, src: sql.Source, names: list[str], sort: list[tuple[str, bool]],
                fmt: str, layers_dir: Path, lang: str = "zh", limit: int | None = None,
                offset: int = 0) -> Iterator[bytes]:
    """The export as a stream of byte chunks (XLSX is written to a temporary file first, then streamed)."""
    if fmt == "geojson":
        yield from _geojson(conn, layer, src, names, sort, limit, offset, lang)
    elif fmt == "csv":
        yield from _csv(conn, layer, src, names, sort, limit, offset, layers_dir, lang)
    elif fmt == "xlsx":
        yield from _xlsx(conn, layer, src, names, sort, limit, offset, layers_dir, lang)
    else:
        raise GeoappError(f"未知导出格式 / unknown export format '{fmt}' (allowed: {', '.join(EXPORT_FORMATS)})")


def _geojson(conn, layer, src, names, sort, limit, offset, lang) -> Iterator[bytes]:
    head = {"type": "FeatureCollection", "name": layer.id, "title": layer.title.get(lang)}
    yield (json.dumps(head, ensure_ascii=False)[:-1] + ',"features":[').encode()
    first = True
    for rows in _stream(conn, sql.features_statement(src, names, sort, limit, offset)):
        text = ",".join(r[0] for r in rows)
        yield (text if first else "," + text).encode()
        first = False
    yield b"]}\n"


def _csv(conn, layer, src, names, sort, limit, offset, layers_dir, lang) -> Iterator[bytes]:
    convert, coords = _row_converter(conn, layer, names, layers_dir, lang)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(table_headers(layer, names, lang))
    yield b"\xef\xbb\xbf" + buf.getvalue().encode()  # a BOM so Excel reads UTF-8 Chinese
    for rows in _stream(conn, sql.rows_statement(src, names, sort, limit, offset, coords)):
        buf.seek(0)
        buf.truncate()
        writer.writerows(["" if v is None else v for v in convert(r)] for r in rows)
        yield buf.getvalue().encode()


def _xlsx(conn, layer, src, names, sort, limit, offset, layers_dir, lang) -> Iterator[bytes]:
    total = conn.execute(sql.count_statement(src)).scalar_one() - offset
    if limit is not None:
        total = min(total, limit)
    if total > XLSX_MAX_ROWS:
        raise ExportTooLarge(
            f"XLSX 最多 {XLSX_MAX_ROWS} 行，本次 {total} 行：请改用 CSV 或缩小筛选范围 / "
            f"XLSX holds at most {XLSX_MAX_ROWS} rows, this export has {total}: use CSV or a narrower filter"
        )
    convert, coords = _row_converter(conn, layer, names, layers_dir, lang)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(layer.title.get(lang)[:31])
    ws.append(table_headers(layer, names, lang))
    for rows in _stream(conn, sql.rows_statement(src, names, sort, limit, offset, coords)):
        for r in rows:
            ws.append(convert(r))
    with tempfile.TemporaryFile() as tmp:
        wb.save(tmp)
        tmp.seek(0)
        while chunk := tmp.read(1 << 16):
            yield chunk


def write_layer(conn: Connection, layer: Layer, expr: ColumnElement[bool], out: str | Path | IO[bytes], fmt: str,
                layers_dir: Path, lang: str = "zh") -> int:
    """Write every feature of ``layer`` matching ``expr`` to a path or binary stream; returns the count."""
    src = sql.source(layer, expr)
    names = [p.name for p in layer.properties]
    count = conn.execute(sql.count_statement(src)).scalar_one()
    chunks = iter_export(conn, layer, src, names, [], fmt, layers_dir, lang)
    if isinstance(out, str | Path):
        with open(out, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
    else:
        for chunk in chunks:
            out.write(chunk)
    return count


def write_projects(conn: Connection, expr: ColumnElement[bool], out: str | Path | IO[bytes], fmt: str,
                   layers_dir: Path, lang: str = "zh") -> int:
    """The projects matching ``expr`` as GeoJSON, CSV or XLSX (the CLI's ``geoapp export``)."""
    return write_layer(conn, get_layer(Path(layers_dir), "projects"), expr, out, fmt, layers_dir, lang)
