"""Readers per format → rows of cells numbered as the file shows them (streamed, never the whole file in memory).

XLSX through openpyxl (read-only, cached formula values); CSV in UTF-8 or GBK/GB18030 (detected);
GeoJSON, GeoPackage and Shapefile (also zipped) through pyogrio, whose attribute names are headers like any
other and whose point geometry becomes the coordinates (reprojected to WGS84 when the file says another CRS).
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from geoapp.errors import GeoappError

FORMATS = {".xlsx": "xlsx", ".xlsm": "xlsx", ".csv": "csv", ".txt": "csv", ".tsv": "csv",
           ".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg", ".shp": "shp", ".zip": "shp"}
GEOMETRY_LON, GEOMETRY_LAT = "__geometry_lon__", "__geometry_lat__"
GEOMETRY_COLUMN = "几何/geometry"
_SAMPLE = 1 << 20


class ReadError(GeoappError):
    """A file that cannot be read at all (wrong format, unknown sheet, unreadable encoding)."""

    status = 422

    def __init__(self, zh: str, en: str):
        super().__init__(zh=zh, en=en)


@dataclass
class Table:
    format: str
    rows: Iterator[tuple[int, list]]
    sheet: str | None = None
    header: list[str] | None = None   # known column names (GIS formats): no header row to look for
    crs: str | None = None            # what the file itself says its coordinates are, when it says
    encoding: str | None = None


def detect_format(path: Path, declared: str | None = None) -> str:
    if declared:
        return declared
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        if path.suffix.lower() == ".xls":
            raise ReadError("不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx",
                            "old .xls files are not supported: save the sheet as .xlsx")
        raise ReadError(f"不支持的文件类型 {path.suffix or '（无扩展名）'}；支持 xlsx、csv、geojson、gpkg、shp",
                        f"unsupported file type {path.suffix or '(none)'}; use xlsx, csv, geojson, gpkg or shp")
    return fmt


def open_table(path: Path, sheet: str | None = None, fmt: str | None = None) -> Table:
    path = Path(path)
    if not path.is_file():
        raise ReadError(f"找不到文件 {path}", f"no such file: {path}")
    fmt = detect_format(path, fmt)
    if fmt == "xlsx":
        return _xlsx(path, sheet)
    if fmt == "csv":
        return _csv(path)
    return _gis(path, fmt, sheet)


def _xlsx(path: Path, sheet: str | None) -> Table:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError) as exc:
        raise ReadError(f"无法读取 Excel 文件：{exc}", f"cannot read the Excel file: {exc}") from None
    if sheet is None:
        ws = book.worksheets[0]
    elif sheet in book.sheetnames:
        ws = book[sheet]
    else:
        names = "、".join(book.sheetnames)
        raise ReadError(f"工作表“{sheet}”不存在；可用：{names}", f"no sheet named {sheet!r}; sheets: {names}")

    def rows() -> Iterator[tuple[int, list]]:
        try:
            for number, cells in enumerate(ws.iter_rows(min_row=1, values_only=True), start=1):
                yield number, list(cells)
        finally:
            book.close()

    return Table("xlsx", rows(), sheet=ws.title)


def detect_encoding(sample: bytes) -> str:
    """UTF-8 (with or without BOM) when the bytes decode as UTF-8, UTF-16 by its BOM, else GB18030 (⊃ GBK)."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        codecs.getincrementaldecoder("gb18030")().decode(sample, final=False)
        return "gb18030"
    except UnicodeDecodeError:
        raise ReadError("无法识别 CSV 文件的编码（应为 UTF-8 或 GBK）",
                        "cannot tell the CSV file's encoding (use UTF-8 or GBK)") from None


def _csv(path: Path) -> Table:
    with path.open("rb") as fh:
        sample = fh.read(_SAMPLE)
    encoding = detect_encoding(sample)
    text_sample = sample.decode(encoding, errors="ignore")[:65536]
    try:
        dialect = csv.Sniffer().sniff(text_sample, delimiters=",\t;|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","

    def rows() -> Iterator[tuple[int, list]]:
        with open(path, encoding=encoding, newline="") as fh:
            reader = csv.reader(fh, delimiter=delimiter)
            try:
                # Records, not physical lines: a quoted cell with a line break is still one spreadsheet row.
                yield from enumerate(reader, start=1)
            except UnicodeDecodeError:
                raise ReadError(f"第 {reader.line_num + 1} 行附近的字节不是 {encoding} 编码",
                                f"bytes near line {reader.line_num + 1} are not {encoding}") from None

    return Table("csv", rows(), encoding=encoding)


def _gis(path: Path, fmt: str, layer: str | None) -> Table:
    import pyogrio
    import shapely
    from pyproj import CRS, Transformer

    try:
        meta, _fids, geometry, field_data = pyogrio.raw.read(path, layer=layer)
    except Exception as exc:  # pyogrio raises DataSourceError/DataLayerError and GDAL errors
        raise ReadError(f"无法读取 {fmt} 文件：{exc}", f"cannot read the {fmt} file: {exc}") from None
    names = list(meta["fields"])
    transformer = None
    crs_name = meta.get("crs")
    file_crs = None
    if crs_name:
        crs = CRS.from_user_input(crs_name)
        epsg = crs.to_epsg()
        if epsg in (4326, 4490, 4979, 4480, 4610, 4214) or crs.is_geographic and epsg is None:
            file_crs = "cgcs2000" if epsg in (4490, 4480) else "wgs84" if epsg in (4326, 4979) else None
        else:
            transformer = Transformer.from_crs(crs, 4326, always_xy=True)
            file_crs = "wgs84"
    geoms = shapely.from_wkb(geometry) if geometry is not None else None

    def rows() -> Iterator[tuple[int, list]]:
        for i in range(len(field_data[0]) if field_data else (len(geoms) if geoms is not None else 0)):
            cells = [column[i] for column in field_data]
            lon = lat = None
            geom = geoms[i] if geoms is not None else None
            if geom is not None and not geom.is_empty:
                if geom.geom_type == "Point":
                    lon, lat = geom.x, geom.y
                    if transformer is not None:
                        lon, lat = transformer.transform(lon, lat)
                else:
                    lon = f"<{geom.geom_type}>"
            yield i + 1, [*(_plain(c) for c in cells), lon, lat]

    return Table(fmt, rows(), sheet=meta.get("layer_name") or layer, header=[*names, GEOMETRY_LON, GEOMETRY_LAT],
                 crs=file_crs)


def _plain(value):
    """numpy scalars and datetimes from pyogrio → plain Python values."""
    if value is None:
        return None
    if hasattr(value, "item"):
        try:
            return value.item()
        except (ValueError, AttributeError):
            return str(value)
    return value
