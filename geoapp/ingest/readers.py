"""Readers per format → rows of cells numbered as the file shows them (streamed, never the whole file in memory).

XLSX through openpyxl (read-only, cached formula values); CSV in UTF-8 or GBK/GB18030 (detected);
GeoJSON, GeoPackage and Shapefile (also zipped) through pyogrio, whose attribute names are headers like any
other and whose point geometry becomes the coordinates (reprojected to WGS84 when the file says another CRS).

Every file comes from outside, so before any parser sees it (hardening issue, items 1 and 6):

* its first bytes must be what its extension means (:func:`check_magic`): GDAL picks a driver by content, so a
  ``.geojson`` that is really an ``<OGRVRTDataSource>`` used to read ``CSV:/etc/hostname`` (or ``/vsicurl/`` a
  URL) and the report echoed the lines back;
* GDAL keeps only the three vector drivers an import means and is cut off from the network (:func:`harden_gdal`),
  and the driver that opened a file must be the one its extension means before a feature is read;
* a zip (an XLSX is one) is refused when it would unpack to more than ``import_max_unzipped_mb`` or by more than
  ``import_max_zip_ratio`` (:func:`check_zip`); a zipped shapefile is unpacked by us, only its parts, flat;
* rows and columns are capped (``import_max_rows``, ``import_max_columns``), and an XLSX's declared dimension
  (``A1:XFD1048576`` in a tiny file) is ignored: only cells that exist are read.

A refused file's report names the file and the reason, never its content (nor GDAL's message about it).
"""

from __future__ import annotations

import codecs
import csv
import ctypes
import logging
import re
import shutil
import stat
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from geoapp.errors import GeoappError
from geoapp.settings import Settings

log = logging.getLogger("geoapp.ingest")

FORMATS = {".xlsx": "xlsx", ".xlsm": "xlsx", ".csv": "csv", ".txt": "csv", ".tsv": "csv",
           ".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg", ".shp": "shp", ".zip": "shp"}
GEOMETRY_LON, GEOMETRY_LAT = "__geometry_lon__", "__geometry_lat__"
GEOMETRY_COLUMN = "几何/geometry"
_SAMPLE = 1 << 20

# The one GDAL driver each GIS format may be opened with; every other driver is unloaded (harden_gdal).
DRIVERS = {"geojson": "GeoJSON", "gpkg": "GPKG", "shp": "ESRI Shapefile"}
# The parts of a shapefile a zip may hold (the three needed, projection and encoding, optional spatial indexes).
SHAPEFILE_PARTS = frozenset({".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx"})
_ZIP_RATIO_FLOOR = 10 * 1024 * 1024   # below this unpacked size a high ratio is harmless (a sheet of one value)
_ZIP_MAX_MEMBERS = 10_000


class ReadError(GeoappError):
    """A file that cannot be read at all (wrong format, unknown sheet, unreadable encoding, over a limit)."""

    status = 422

    def __init__(self, zh: str, en: str, parameter: str | None = None):
        super().__init__(zh=zh, en=en, parameter=parameter)


def _default(name: str) -> int:
    return int(Settings.model_fields[name].default)


@dataclass(frozen=True)
class ReadLimits:
    """What one import reads at most; the defaults are the settings' (``Settings.import_*``)."""

    max_rows: int = _default("import_max_rows")
    max_columns: int = _default("import_max_columns")
    max_unzipped_bytes: int = _default("import_max_unzipped_mb") * 1024 * 1024
    max_zip_ratio: int = _default("import_max_zip_ratio")

    @classmethod
    def from_settings(cls, settings: Settings) -> ReadLimits:
        return cls(settings.import_max_rows, settings.import_max_columns,
                   settings.import_max_unzipped_mb * 1024 * 1024, settings.import_max_zip_ratio)


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
        raise ReadError(f"不支持的文件类型 {path.suffix[:20] or '（无扩展名）'}；支持 xlsx、csv、geojson、gpkg、shp",
                        f"unsupported file type {path.suffix[:20] or '(none)'}; use xlsx, csv, geojson, gpkg or shp")
    return fmt


def open_table(path: Path, sheet: str | None = None, fmt: str | None = None,
               limits: ReadLimits | None = None) -> Table:
    path = Path(path)
    limits = limits or ReadLimits()
    if not path.is_file():
        raise ReadError(f"找不到文件 {path}", f"no such file: {path}")
    fmt = detect_format(path, fmt)
    check_magic(path, fmt)
    if fmt == "xlsx":
        table = _xlsx(path, sheet, limits)
    elif fmt == "csv":
        table = _csv(path)
    else:
        table = _gis(path, fmt, sheet, limits)
    table.rows = _capped(table.rows, limits)
    return table


# -- what a file is: magic bytes, zips ----------------------------------------------------------------------------

_NAMES = {"xlsx": "Excel (.xlsx)", "geojson": "GeoJSON", "gpkg": "GeoPackage (.gpkg)", "shp": "Shapefile",
          "csv": "CSV"}


def _not_a(fmt: str, path: Path) -> ReadError:
    name = _NAMES.get(fmt, fmt)
    if fmt == "shp" and path.suffix.lower() == ".zip":
        name = "zip (Shapefile)"
    return ReadError(f"文件内容不是 {name} 格式（与扩展名不符或文件已损坏）",
                     f"the file's content is not {name} (it does not match its extension, or it is damaged)",
                     "file")


def check_magic(path: Path, fmt: str) -> None:
    """Refuse a file whose first bytes are not what its extension means, before any parser (or GDAL) sees it."""
    with path.open("rb") as fh:
        head = fh.read(_SAMPLE)
    if fmt == "xlsx" or (fmt == "shp" and path.suffix.lower() == ".zip"):
        ok = head.startswith(b"PK\x03\x04")
    elif fmt == "gpkg":
        # SQLite's header, and the GeoPackage application_id at offset 68 ('GPKG'; 'GP10'/'GP11' before 1.2)
        ok = head.startswith(b"SQLite format 3\x00") and head[68:72] in (b"GPKG", b"GP10", b"GP11")
    elif fmt == "shp":
        ok = head[:4] == b"\x00\x00\x27\x0a" and head[28:32] == b"\xe8\x03\x00\x00"  # file code 9994, version 1000
    elif fmt == "geojson":
        text = head.removeprefix(codecs.BOM_UTF8).lstrip()
        ok = text.startswith(b"{") and b'"Feature' in text
    else:
        ok = True  # CSV: any text; its encoding is checked when it is read
    if not ok:
        raise _not_a(fmt, path)


def check_zip(path: Path, limits: ReadLimits, what: str) -> list[zipfile.ZipInfo]:
    """The members of a zip that is safe to unpack: refused when it would unpack to more than the setting allows,
    or by a ratio only a zip bomb has. Python's zipfile never yields more than a member's declared size, so the
    declared sizes bound what is read."""
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise ReadError(f"{what} 文件已损坏或不是有效的 zip 文件", f"the {what} file is damaged or not a valid zip",
                        "file") from None
    total = sum(m.file_size for m in members)
    packed = max(path.stat().st_size, 1)
    if len(members) > _ZIP_MAX_MEMBERS or total > limits.max_unzipped_bytes:
        mb = limits.max_unzipped_bytes // (1024 * 1024)
        raise ReadError(f"{what} 文件解压后过大（上限 {mb} MiB，设置项 GEOAPP_IMPORT_MAX_UNZIPPED_MB）",
                        f"the {what} file unpacks to too much (limit {mb} MiB, setting GEOAPP_IMPORT_MAX_UNZIPPED_MB)",
                        "import_max_unzipped_mb")
    if total > _ZIP_RATIO_FLOOR and total > limits.max_zip_ratio * packed:
        raise ReadError(f"{what} 文件的压缩比异常（超过 {limits.max_zip_ratio} 倍，"
                        "设置项 GEOAPP_IMPORT_MAX_ZIP_RATIO），疑为压缩炸弹",
                        f"the {what} file's compression ratio is over {limits.max_zip_ratio} (setting "
                        "GEOAPP_IMPORT_MAX_ZIP_RATIO): it looks like a zip bomb", "import_max_zip_ratio")
    return members


_SAFE_FOLDER = re.compile(r"[^/\\:]{1,200}")


def _shapefile_member(info: zipfile.ZipInfo) -> tuple[str, str] | None:
    """(folder, part extension) of a member that may be unpacked; None for a folder entry; ReadError otherwise.

    Only flat names, or names in one plain folder (as Windows' "send to compressed folder" writes them): no
    ``..``, no absolute or drive paths, no backslashes, no links, and only the parts of a shapefile."""
    name = info.filename
    if info.is_dir():
        return None
    unix_mode = info.external_attr >> 16
    path = PurePosixPath(name)
    folder = str(path.parent) if len(path.parts) == 2 else "" if len(path.parts) == 1 else None
    if (folder is None or name.startswith("/") or "\\" in name or ":" in name or ".." in path.parts
            or (folder and not _SAFE_FOLDER.fullmatch(folder)) or stat.S_ISLNK(unix_mode)):
        raise ReadError("zip 中含有带路径、链接或上级目录的成员；请只压缩 Shapefile 的各个文件",
                        "the zip holds a member with a path, a link or a parent directory; zip only the shapefile's "
                        "files", "file")
    suffix = path.suffix.lower()
    if suffix not in SHAPEFILE_PARTS:
        allowed = "、".join(sorted(SHAPEFILE_PARTS))
        raise ReadError(f"zip 中只能包含 Shapefile 的组成文件（{allowed}）", "the zip may hold only the parts of a "
                        f"shapefile ({', '.join(sorted(SHAPEFILE_PARTS))})", "file")
    return folder, suffix


def unzip_shapefile(path: Path, into: Path, limits: ReadLimits) -> Path:
    """Unpack the one shapefile of a zip into ``into`` (flat, fixed names: ``upload.shp`` …) and return its .shp.

    GDAL never opens the zip itself: its /vsizip/ would open any single member with any driver (a .vrt, say)."""
    members = check_zip(path, limits, "zip")
    parts: dict[str, zipfile.ZipInfo] = {}
    stems: set[tuple[str, str]] = set()
    for info in members:
        found = _shapefile_member(info)
        if found is None:
            continue
        folder, suffix = found
        if suffix in parts:
            raise ReadError("zip 中只能有一个 Shapefile", "the zip may hold only one shapefile", "file")
        parts[suffix] = info
        stems.add((folder, PurePosixPath(info.filename).stem.casefold()))
    if not {".shp", ".shx", ".dbf"} <= parts.keys() or len(stems) != 1:
        raise ReadError("zip 中应有同名的 .shp、.shx 和 .dbf 文件",
                        "the zip must hold a .shp, .shx and .dbf of one name", "file")
    with zipfile.ZipFile(path) as zf:
        for suffix, info in parts.items():
            with zf.open(info) as src, (into / f"upload{suffix}").open("wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
    return into / "upload.shp"


def too_many_columns(row: int, limit: int) -> ReadError:
    return ReadError(f"第 {row} 行超过 {limit} 列的上限（设置项 GEOAPP_IMPORT_MAX_COLUMNS）",
                     f"row {row} has more than {limit} columns (limit, setting GEOAPP_IMPORT_MAX_COLUMNS)",
                     "import_max_columns")


def _capped(rows: Iterator[tuple[int, list]], limits: ReadLimits) -> Iterator[tuple[int, list]]:
    """The rows, refused past ``import_max_rows`` (rows as the file numbers them) or ``import_max_columns``
    (trailing empty cells do not count)."""
    for number, cells in rows:
        if number > limits.max_rows:
            raise ReadError(f"文件超过 {limits.max_rows} 行的上限（设置项 GEOAPP_IMPORT_MAX_ROWS）；请拆分后分批导入",
                            f"the file has more than {limits.max_rows} rows (limit, setting GEOAPP_IMPORT_MAX_ROWS); "
                            "split it and import the parts", "import_max_rows")
        if len(cells) > limits.max_columns:
            if all(cell is None or cell == "" for cell in cells[limits.max_columns:]):
                del cells[limits.max_columns:]
            else:
                raise too_many_columns(number, limits.max_columns)
        yield number, cells


# -- XLSX ---------------------------------------------------------------------------------------------------------

def _xlsx(path: Path, sheet: str | None, limits: ReadLimits) -> Table:
    import openpyxl

    check_zip(path, limits, "Excel")
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile, XML and openpyxl's own errors alike: a file we cannot read
        log.info("cannot open %s as xlsx: %r", path, exc)
        raise ReadError("无法读取 Excel 文件（文件已损坏或不是 .xlsx 格式）",
                        "cannot read the Excel file (it is damaged or not .xlsx)", "file") from None
    if sheet is None:
        ws = book.worksheets[0] if book.worksheets else None
        if ws is None:
            book.close()
            raise ReadError("Excel 文件中没有工作表", "the Excel file has no worksheet", "sheet")
    elif sheet in book.sheetnames:
        ws = book[sheet]
    else:
        names = "、".join(book.sheetnames)[:2000]
        book.close()
        raise ReadError(f"工作表“{sheet[:100]}”不存在；可用：{names}",
                        f"no sheet named {sheet[:100]!r}; sheets: {names}", "sheet")
    def rows() -> Iterator[tuple[int, list]]:
        try:
            yield from _sheet_rows(ws, book, limits.max_columns)
        except ReadError:
            raise
        except Exception as exc:  # malformed sheet XML deep in the file
            log.info("cannot read %s as xlsx: %r", path, exc)
            raise ReadError("Excel 文件的工作表内容已损坏，无法读取", "the Excel sheet is damaged and cannot be read",
                            "file") from None
        finally:
            book.close()

    return Table("xlsx", rows(), sheet=ws.title)


def _sheet_rows(ws, book, max_columns: int) -> Iterator[tuple[int, list]]:
    """The rows of a read-only sheet as the XML holds them: (row number, values up to the last filled cell).

    openpyxl's ``iter_rows`` trusts the declared dimension (``<dimension ref="A1:XFD1048576"/>`` in a file of a few
    KB): it pads every row to 16,384 cells and yields empty rows up to row 1,048,576, minutes of work for nothing.
    So the sheet's own parser is used the way ``ReadOnlyWorksheet._cells_by_row`` uses it, and only the cells that
    hold a value are placed; a value right of ``max_columns`` is refused at once, naming the limit. Rows missing
    from the XML are not yielded (they are empty; the numbers stay those Excel shows).
    """
    try:
        from openpyxl.worksheet._reader import WorkSheetParser

        source = ws._get_source()
        parser = WorkSheetParser(source, ws._shared_strings, data_only=book.data_only, epoch=book.epoch,
                                 date_formats=book._date_formats, timedelta_formats=book._timedelta_formats)
    except (ImportError, AttributeError, TypeError):  # another openpyxl: its public API, bounded by the cap
        ws.reset_dimensions()
        for number, cells in enumerate(ws.iter_rows(max_col=max_columns + 1, values_only=True), start=1):
            yield number, list(cells)
        return
    with source:
        for number, cells in parser.parse():
            values = {}
            for cell in cells:
                value = cell["value"]
                if value is None:
                    continue
                if cell["column"] > max_columns:
                    raise too_many_columns(number, max_columns)
                values[cell["column"]] = value
            row = [None] * max(values, default=0)
            for column, value in values.items():
                row[column - 1] = value
            yield number, row


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
            except csv.Error:  # a NUL byte, a cell over csv's field size limit: binary data, not a sheet
                raise ReadError(f"第 {reader.line_num} 行附近的内容不是 CSV 文本（含空字节或单元格过长）",
                                f"near line {reader.line_num} the content is not CSV text (a NUL byte or a cell "
                                "that is too long)", "file") from None

    return Table("csv", rows(), encoding=encoding)


# -- GIS formats through GDAL -------------------------------------------------------------------------------------

# GDAL configuration for every read in this process (pyogrio.set_gdal_config_options), so that nothing in a file
# can make GDAL reach the network or open something else:
GDAL_CONFIG = {
    # /vsicurl/ (and the http:// names it stands for) opens only this one name, which no URL has.
    "CPL_VSIL_CURL_ALLOWED_FILENAME": "/vsicurl/geoapp-network-is-disabled",
    # CPLHTTPFetch (drivers that fetch a URL themselves, e.g. "GeoJSON:http://…") goes through a proxy on the
    # discard port of the loopback, where nothing listens: every request fails at once.
    "GDAL_HTTP_PROXY": "127.0.0.1:9",
    "GDAL_HTTP_CONNECTTIMEOUT": "1",
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_MAX_RETRY": "0",
    # Opening a file does not list its directory (GDAL would look there for side-car files of other formats).
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    # Raster VRTs (their driver stays registered, for rasters nobody here opens): no Python pixel functions, no
    # raw bands reading arbitrary files.
    "GDAL_VRT_ENABLE_PYTHON": "NO",
    "GDAL_VRT_ENABLE_RAWRASTERBAND": "NO",
    # SQLite/GeoPackage: no access to other files from SQL in the file (VirtualOGR, ATTACH), no extensions.
    "OGR_SQLITE_ALLOW_EXTERNAL_ACCESS": "NO",
    "OGR_SQLITE_LOAD_EXTENSIONS": "",
}
_hardened = False
_harden_lock = threading.Lock()


def _libgdal() -> ctypes.CDLL | None:
    """The GDAL library pyogrio loaded (its wheel bundles one; a system build links the system's)."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "/libgdal" in line and ".so" in line}
    except OSError:
        paths = set()
    for path in sorted(paths):
        try:
            return ctypes.CDLL(path)
        except OSError:
            continue
    return None


def harden_gdal() -> None:
    """Once per process: set :data:`GDAL_CONFIG`, and unload every vector driver but GeoJSON, GPKG and ESRI
    Shapefile.

    pyogrio (0.13) opens every dataset with ``GDALOpenEx(path, …, allowed_drivers=NULL, …)`` and has no way to pass
    a driver list, so GDAL would try all of its ~60 vector drivers on an upload (OGR_VRT reading ``CSV:/etc/…``,
    GDALG running a pipeline, CSV, HTTP, OAPIF …). ``OGR_SKIP`` lists the drivers to drop and GDAL applies it in
    ``GDALAllRegister()`` (``GDALDriverManager::AutoSkipDrivers``); pyogrio registered the drivers when it was
    imported, so it is called again here, through the very library pyogrio loaded. Runs before the first
    dataset is opened (the import of this module), so no driver is unloaded under a reader. The exports need
    only GeoJSON and GPKG, which stay.
    """
    global _hardened
    with _harden_lock:
        if _hardened:
            return
        import pyogrio

        pyogrio.set_gdal_config_options(GDAL_CONFIG)
        keep = set(DRIVERS.values())
        skip = sorted(name for name in pyogrio.list_drivers() if name not in keep)
        lib = _libgdal()
        if skip and lib is not None:
            pyogrio.set_gdal_config_options({"OGR_SKIP": ",".join(skip)})
            lib.GDALAllRegister()
        left = set(pyogrio.list_drivers()) - keep
        if left:
            log.warning("GDAL vector drivers still loaded besides %s: %s (each upload's driver is checked anyway)",
                        sorted(keep), sorted(left))
        _hardened = True


def _gis_error(fmt: str) -> ReadError:
    """A file GDAL could not read: the message names the format, never GDAL's text (it may quote the file)."""
    name = _NAMES[fmt]
    return ReadError(f"无法读取 {name} 文件（文件已损坏或内容与格式不符）",
                     f"cannot read the {name} file (it is damaged or its content is not {name})", "file")


def _gis(path: Path, fmt: str, layer: str | None, limits: ReadLimits) -> Table:
    with tempfile.TemporaryDirectory(prefix="geoapp-shp-") as tmp:
        source = unzip_shapefile(path, Path(tmp), limits) if path.suffix.lower() == ".zip" else path
        if source is not path:
            check_magic(source, "shp")
        return _read_gis(source, fmt, layer, limits)


def _read_gis(path: Path, fmt: str, layer: str | None, limits: ReadLimits) -> Table:
    import pyogrio
    import shapely
    from pyproj import CRS, Transformer

    harden_gdal()
    try:
        info = pyogrio.read_info(path, layer=layer)
    except Exception as exc:  # pyogrio raises DataSourceError/DataLayerError and GDAL errors
        log.info("GDAL cannot open %s as %s: %s", path, fmt, str(exc)[:300])
        raise _gis_error(fmt) from None
    if info.get("driver") != DRIVERS[fmt]:
        log.warning("refused %s: opened by GDAL driver %r, not %r", path, info.get("driver"), DRIVERS[fmt])
        raise _not_a(fmt, path)
    if len(info.get("fields", ())) + 1 > limits.max_columns:
        raise ReadError(f"图层超过 {limits.max_columns} 列的上限（设置项 GEOAPP_IMPORT_MAX_COLUMNS）",
                        f"the layer has more than {limits.max_columns} columns (limit, setting "
                        "GEOAPP_IMPORT_MAX_COLUMNS)", "import_max_columns")
    if (info.get("features") or 0) > limits.max_rows:
        raise ReadError(f"图层超过 {limits.max_rows} 个要素的上限（设置项 GEOAPP_IMPORT_MAX_ROWS）；请拆分后分批导入",
                        f"the layer has more than {limits.max_rows} features (limit, setting "
                        "GEOAPP_IMPORT_MAX_ROWS); split it and import the parts", "import_max_rows")
    try:
        meta, _fids, geometry, field_data = pyogrio.raw.read(path, layer=layer, max_features=limits.max_rows + 1)
    except Exception as exc:
        log.info("GDAL cannot read %s as %s: %s", path, fmt, str(exc)[:300])
        raise _gis_error(fmt) from None
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


harden_gdal()  # at import: before this process opens its first dataset (the server imports this module at start)
