"""The one filter model: the planners' simple parameters and CQL2 (text or JSON) become one SQL boolean expression.

Items, tiles, stats, exports, the route planner's project selection and the web map all filter with this, so a
filter is written once. Which parameters exist, which column each reads and which vocabulary checks its values
come from the layer YAML (``filters:`` in ``layers/projects.yaml``), not from Python.

Public functions::

    project_filter(conn, params, layers_dir) -> ColumnElement[bool]
        The projects layer's filter for a mapping of query parameters, e.g.
        {"sector": ["lng", "绿电铝"], "division": "科左中旗", "investment_class": "1y", "bbox": "120,43,121,44",
         "filter": "total_investment > 100000", "filter-lang": "cql2-text"}.
        Values may be one string (comma-separated lists allowed) or a list of strings. Use it in any query over
        ``projects``:  select(Project).where(project_filter(conn, params, settings.layers_dir)).

    layer_filter(conn, layer, params) -> ColumnElement[bool]
        The same for any layer of the registry (routes, route stops, …).

    filter_parameters(layer) -> list[str]
        The names the filter accepts: the layer's simple parameters plus bbox, bbox-crs, filter, filter-lang,
        filter-crs.

Bad input raises :class:`FilterError` (a GeoappError): its message, Chinese first then English, names the
parameter, the value and what is allowed; ``.parameter`` and ``.allowed`` carry the same for an API response.
Every value is bound as a parameter; nothing a user writes is pasted into SQL.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import shapely.geometry
import sqlalchemy as sa
from lark.exceptions import LarkError
from pygeofilter import ast, values
from pygeofilter.parsers.cql2_json import parse as parse_cql2_json
from pygeofilter.parsers.cql2_text import parse as parse_cql2_text
from sqlalchemy import Connection, func, text
from sqlalchemy.sql.elements import ColumnElement

from geoapp.errors import GeoappError
from geoapp.layers.registry import FilterSpec, Layer, get_layer
from geoapp.vocab import normalize, vocabularies

Params = Mapping[str, str | list[str] | tuple[str, ...]]

COMMON_PARAMETERS = ("bbox", "bbox-crs", "filter", "filter-lang", "filter-crs")
CQL2_LANGS = ("cql2-text", "cql2-json")
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
WGS84_CRS = {CRS84, "http://www.opengis.net/def/crs/EPSG/0/4326", "EPSG:4326", "CRS84", "OGC:CRS84"}
SPLIT = re.compile(r"[,，]")
MAX_LIST = 200


class FilterError(GeoappError):
    """A query parameter that cannot be used: which one, why, and what would be accepted."""

    def __init__(self, parameter: str, zh: str, en: str, allowed: Iterable[str] | None = None):
        listed = list(allowed) if allowed is not None else None
        hint_zh = f"；可选值：{'、'.join(listed)}" if listed else ""
        hint_en = f"; allowed: {', '.join(listed)}" if listed else ""
        super().__init__(zh=f"参数 {parameter}：{zh}{hint_zh}", en=f"parameter '{parameter}': {en}{hint_en}",
                         parameter=parameter, allowed=listed)


# -- values of simple parameters ------------------------------------------------------------------------------

def _values(params: Params, name: str) -> list[str]:
    raw = params.get(name)
    if raw is None:
        return []
    items = [raw] if isinstance(raw, str) else list(raw)
    return [v.strip() for v in items if v is not None and str(v).strip() != ""]


def _single(params: Params, name: str) -> str | None:
    vals = _values(params, name)
    if len(vals) > 1:
        raise FilterError(name, f"只能给一个值，收到 {len(vals)} 个", f"takes one value, got {len(vals)}")
    return vals[0] if vals else None


def _split(values_: list[str], name: str) -> list[str]:
    out = [p.strip() for v in values_ for p in SPLIT.split(v) if p.strip()]
    if len(out) > MAX_LIST:
        raise FilterError(name, f"值太多（最多 {MAX_LIST} 个）", f"too many values (at most {MAX_LIST})")
    return out


def _number(name: str, value: str, spec: FilterSpec | None = None, integer: bool = False) -> float | int:
    kind_zh, kind_en = ("整数", "an integer") if integer else ("数字", "a number")
    try:
        number: float | int = int(value) if integer else float(value)
    except ValueError:
        raise FilterError(name, f"'{value}' 不是{kind_zh}", f"'{value}' is not {kind_en}") from None
    if isinstance(number, float) and not math.isfinite(number):
        raise FilterError(name, f"'{value}' 不是有限数字", f"'{value}' is not a finite number")
    if spec is not None and spec.min is not None and number < spec.min:
        raise FilterError(name, f"'{value}' 小于最小值 {spec.min:g}", f"'{value}' is below the minimum {spec.min:g}")
    if spec is not None and spec.max is not None and number > spec.max:
        raise FilterError(name, f"'{value}' 大于最大值 {spec.max:g}", f"'{value}' is above the maximum {spec.max:g}")
    return number


def division_terms(conn: Connection) -> list[tuple[str, str, list[str]]]:
    """(code, name, short forms) of every division, for resolving and for listing what is allowed."""
    return [(c, n, list(s or [])) for c, n, s in conn.execute(
        text("SELECT code, name, short_forms FROM divisions ORDER BY code"))]


def resolve_vocabulary(conn: Connection | None, layers_dir: Path, vocabulary: str, value: str,
                       parameter: str) -> str:
    """The stored code of a vocabulary value (code, label or alias; divisions: code, name or short form)."""
    if vocabulary == "division":
        terms = division_terms(conn) if conn is not None else []
        wanted = normalize(value)
        for code, name, shorts in terms:
            if wanted in {normalize(code), normalize(name), *(normalize(s) for s in shorts)}:
                return code
        raise FilterError(parameter, f"没有名为 '{value}' 的旗县市区", f"no division '{value}'",
                          [f"{name}({code})" for code, name, _ in terms])
    vocab = vocabularies(Path(layers_dir)).get(vocabulary)
    if vocab is None:
        raise GeoappError(f"图层配置引用了不存在的词表 / the layer refers to an unknown vocabulary '{vocabulary}'")
    code = vocab.resolve(value)
    if code is None:
        raise FilterError(parameter, f"'{value}' 不是有效的{vocab.title.get('zh', vocabulary)}",
                          f"'{value}' is not a valid {vocab.title.get('en', vocabulary)}",
                          [f"{t.zh}({t.code})" for t in vocab.terms])
    return code


def _simple(conn: Connection | None, layer: Layer, layers_dir: Path, spec: FilterSpec,
            params: Params) -> ColumnElement[bool] | None:
    name = spec.name
    if spec.kind == "in":
        vals = _split(_values(params, name), name)
        if not vals:
            return None
        if spec.vocabulary:
            codes: list[Any] = [resolve_vocabulary(conn, layers_dir, spec.vocabulary, v, name) for v in vals]
        elif spec.type in ("integer", "number"):
            codes = [_number(name, v, spec, integer=spec.type == "integer") for v in vals]
        else:
            codes = vals
        codes = list(dict.fromkeys(codes))
        col = layer.column(spec.column)
        return col == codes[0] if len(codes) == 1 else col.in_(codes)
    value = _single(params, name)
    if value is None:
        return None
    if spec.kind in ("gte", "lte"):
        number = _number(name, value, spec, integer=spec.type == "integer")
        col = layer.column(spec.column)
        return col >= number if spec.kind == "gte" else col <= number
    if spec.kind == "class":
        wanted = normalize(value)
        for cls in spec.classes:
            if wanted in {normalize(cls.code), normalize(cls.title.zh), *(normalize(a) for a in cls.aliases)}:
                return layer.column(spec.column) >= cls.min
        raise FilterError(name, f"'{value}' 不是有效的{spec.title.zh}", f"'{value}' is not a valid {spec.title.en}",
                          [f"{c.code}（{c.title.zh}）" for c in spec.classes])
    if spec.kind == "contains":
        if len(value) > 200:
            raise FilterError(name, "文字太长（最多 200 字）", "text too long (at most 200 characters)")
        pattern = "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return sa.or_(*(layer.column(c).ilike(pattern, escape="\\") for c in spec.columns))
    raise GeoappError(f"unknown filter kind {spec.kind}")  # parse_layer rejects these already


# -- bbox -----------------------------------------------------------------------------------------------------

def parse_bbox(value: str, parameter: str = "bbox") -> tuple[float, float, float, float]:
    """minx,miny,maxx,maxy in WGS84 degrees (a 6-number 3D bbox drops its heights)."""
    parts = [p.strip() for p in value.split(",")]
    if len(parts) not in (4, 6):
        raise FilterError(parameter, "需要 4 个数字：最小经度,最小纬度,最大经度,最大纬度",
                          "needs 4 numbers: minlon,minlat,maxlon,maxlat")
    nums = [_number(parameter, p) for p in parts]
    minx, miny, maxx, maxy = (nums[0], nums[1], nums[2], nums[3]) if len(nums) == 4 else (
        nums[0], nums[1], nums[3], nums[4])
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= 90 and -90 <= maxy <= 90):
        raise FilterError(parameter, "经度须在 -180..180、纬度须在 -90..90 之间",
                          "longitudes must lie in -180..180 and latitudes in -90..90")
    if minx > maxx or miny > maxy:
        raise FilterError(parameter, "最小值大于最大值（不支持跨越180°经线）",
                          "a minimum exceeds its maximum (boxes across the antimeridian are not supported)")
    return float(minx), float(miny), float(maxx), float(maxy)


def _crs(params: Params, name: str) -> None:
    value = _single(params, name)
    if value is not None and value not in WGS84_CRS:
        raise FilterError(name, f"不支持坐标系 '{value}'", f"unsupported CRS '{value}'", [CRS84])


def envelope(layer: Layer, minx: float, miny: float, maxx: float, maxy: float) -> ColumnElement:
    return func.ST_MakeEnvelope(minx, miny, maxx, maxy, layer.srid)


# -- CQL2 -----------------------------------------------------------------------------------------------------

SPATIAL = {
    ast.GeometryIntersects: "ST_Intersects", ast.GeometryDisjoint: "ST_Disjoint",
    ast.GeometryContains: "ST_Contains", ast.GeometryWithin: "ST_Within", ast.GeometryTouches: "ST_Touches",
    ast.GeometryCrosses: "ST_Crosses", ast.GeometryOverlaps: "ST_Overlaps", ast.GeometryEquals: "ST_Equals",
}
COMPARISONS = {
    ast.Equal: "__eq__", ast.NotEqual: "__ne__", ast.LessThan: "__lt__", ast.LessEqual: "__le__",
    ast.GreaterThan: "__gt__", ast.GreaterEqual: "__ge__",
}
CASE_FUNCTIONS = ("casei", "lower", "upper")  # CQL2 CASEI arrives from pygeofilter as LOWER
TYPE_NAMES = {"string": ("文字", "text"), "integer": ("整数", "an integer"), "number": ("数字", "a number"),
              "boolean": ("布尔值", "a boolean"), "datetime": ("时间", "a timestamp"), "date": ("日期", "a date")}


def _bbox_to_polygon(node: Any) -> Any:
    """CQL2-JSON bbox literals as GeoJSON polygons (pygeofilter reads [minx,miny,maxx,maxy] in the wrong order)."""
    if isinstance(node, dict):
        if set(node) == {"bbox"} and isinstance(node["bbox"], list) and len(node["bbox"]) in (4, 6):
            b = node["bbox"]
            minx, miny, maxx, maxy = (b[0], b[1], b[2], b[3]) if len(b) == 4 else (b[0], b[1], b[3], b[4])
            return shapely.geometry.mapping(shapely.geometry.box(minx, miny, maxx, maxy))
        return {k: _bbox_to_polygon(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_bbox_to_polygon(v) for v in node]
    return node


class _Cql2:
    """Turns a pygeofilter AST into a SQLAlchemy expression over one layer, checking names, types and vocabularies."""

    def __init__(self, conn: Connection | None, layer: Layer, layers_dir: Path, parameter: str = "filter"):
        self.conn, self.layer, self.layers_dir, self.parameter = conn, layer, layers_dir, parameter
        self.props = {p.name: p for p in layer.properties if p.type != "object"}

    def error(self, zh: str, en: str, allowed: Iterable[str] | None = None) -> FilterError:
        return FilterError(self.parameter, zh, en, allowed)

    # attributes and literals
    def attribute(self, node: ast.Attribute) -> tuple[ColumnElement, str, str | None]:
        name = node.name
        if name in ("geometry", self.layer.geometry_column):
            return self.layer.geometry, "geometry", None
        prop = self.props.get(name)
        if prop is None:
            raise self.error(f"未知属性 '{name}'", f"unknown property '{name}'", ["geometry", *self.props])
        return self.layer.column(prop.column), prop.type, prop.vocabulary

    def literal(self, value: Any, want: str, vocabulary: str | None, prop: str) -> Any:
        if want == "geometry":
            return self.geometry(value)
        ok = {
            "string": isinstance(value, str),
            "integer": isinstance(value, int | float) and not isinstance(value, bool),
            "number": isinstance(value, int | float) and not isinstance(value, bool),
            "boolean": isinstance(value, bool),
            "datetime": isinstance(value, datetime | date),
            "date": isinstance(value, date),
        }.get(want, False)
        if not ok:
            zh, en = TYPE_NAMES.get(want, (want, want))
            raise self.error(f"属性 {prop} 需要{zh}，收到 {value!r}", f"property {prop} needs {en}, got {value!r}")
        if vocabulary and isinstance(value, str):
            return resolve_vocabulary(self.conn, self.layers_dir, vocabulary, value, self.parameter)
        return value

    def geometry(self, value: Any) -> ColumnElement:
        if isinstance(value, values.Geometry):
            try:
                geom = shapely.geometry.shape(value.geometry)
            except (ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
                raise self.error(f"几何无效：{exc}", f"invalid geometry: {exc}") from None
        elif isinstance(value, values.Envelope):
            geom = shapely.geometry.box(value.x1, value.y1, value.x2, value.y2)
        elif isinstance(value, ast.Function) and value.name.lower() == "bbox":
            nums = value.arguments
            if len(nums) not in (4, 6) or not all(isinstance(n, int | float) for n in nums):
                raise self.error("BBOX 需要 4 个数字", "BBOX needs 4 numbers")
            b = nums if len(nums) == 4 else [nums[0], nums[1], nums[3], nums[4]]
            geom = shapely.geometry.box(*b)
        else:
            raise self.error(f"需要几何值，收到 {value!r}", f"expected a geometry, got {value!r}")
        if geom.is_empty:
            raise self.error("几何为空", "empty geometry")
        return func.ST_GeomFromText(geom.wkt, self.layer.srid)

    def operand(self, node: Any, want: str | None = None, vocabulary: str | None = None,
                prop: str = "") -> tuple[Any, str | None, str | None]:
        """(SQL expression or bound value, type, vocabulary) of one side of a predicate."""
        if isinstance(node, ast.Attribute):
            return self.attribute(node)
        if isinstance(node, ast.Function):
            name = node.name.lower()
            if name in CASE_FUNCTIONS and len(node.arguments) == 1:
                inner, typ, _ = self.operand(node.arguments[0], want, None, prop)
                return self.fold(inner, typ), "string", None
            if name == "bbox":
                return self.geometry(node), "geometry", None
            raise self.error(f"不支持函数 {node.name}", f"function {node.name} is not supported",
                             ["CASEI", "LOWER", "UPPER", "BBOX"])
        if isinstance(node, ast.Arithmetic):
            raise self.error("不支持算术表达式", "arithmetic expressions are not supported")
        if isinstance(node, ast.Node):
            raise self.error(f"此处不能使用 {type(node).__name__}", f"{type(node).__name__} is not allowed here")
        if isinstance(node, values.Geometry | values.Envelope):
            return self.geometry(node), "geometry", None
        if want is None:
            return sa.literal(node), None, None
        return sa.literal(self.literal(node, want, vocabulary, prop)), want, vocabulary

    @staticmethod
    def unwrap(node: Any) -> tuple[Any, bool]:
        """The node inside CASEI/LOWER/UPPER wrappers, and whether there was one (the comparison then ignores case).

        pygeofilter turns CQL2's CASEI into LOWER; a wrapper on either side makes the whole comparison
        case-insensitive, so both sides are lowered in SQL and ``CASEI(name) LIKE 'A%'`` finds 'a…' too.
        """
        folded = False
        while (isinstance(node, ast.Function) and node.name.lower() in CASE_FUNCTIONS
               and len(node.arguments) == 1):
            node, folded = node.arguments[0], True
        return node, folded

    def fold(self, expr: Any, typ: str | None) -> Any:
        """lower() of a text side of a case-insensitive comparison (values stay bound parameters)."""
        if typ not in (None, "string"):
            raise self.error("CASEI 只用于文字", "CASEI applies to text only")
        return func.lower(expr)

    def pair(self, lhs: Any, rhs: Any, folded: bool = False) -> tuple[Any, Any]:
        lhs, lfold = self.unwrap(lhs)
        rhs, rfold = self.unwrap(rhs)
        folded = folded or lfold or rfold
        if not isinstance(lhs, ast.Attribute | ast.Function) and isinstance(rhs, ast.Attribute | ast.Function):
            right, left = self.pair(rhs, lhs, folded)
            return left, right
        left, ltype, lvocab = self.operand(lhs)
        name = getattr(lhs, "name", "") if isinstance(lhs, ast.Attribute) else ""
        right, rtype, _ = self.operand(rhs, ltype, lvocab, name)
        if ltype and rtype and ltype != rtype and {ltype, rtype} != {"integer", "number"}:
            raise self.error(f"无法比较 {ltype} 与 {rtype}", f"cannot compare {ltype} with {rtype}")
        if folded:
            return self.fold(left, ltype), self.fold(right, rtype)
        return left, right

    def __call__(self, node: Any) -> ColumnElement[bool]:
        if isinstance(node, ast.And):
            return sa.and_(self(node.lhs), self(node.rhs))
        if isinstance(node, ast.Or):
            return sa.or_(self(node.lhs), self(node.rhs))
        if isinstance(node, ast.Not):
            return sa.not_(self(node.sub_node))
        if type(node) in COMPARISONS:
            left, right = self.pair(node.lhs, node.rhs)
            return getattr(left, COMPARISONS[type(node)])(right)
        if isinstance(node, ast.Between):
            lhs, folded = self.unwrap(node.lhs)
            col, typ, _ = self.operand(lhs)
            name = getattr(lhs, "name", "")
            low = sa.literal(self.literal(node.low, typ, None, name) if typ else node.low)
            high = sa.literal(self.literal(node.high, typ, None, name) if typ else node.high)
            if folded:
                col, low, high = self.fold(col, typ), func.lower(low), func.lower(high)
            expr = col.between(low, high)
            return sa.not_(expr) if node.not_ else expr
        if isinstance(node, ast.In):
            lhs, folded = self.unwrap(node.lhs)
            subs = [self.unwrap(v) for v in node.sub_nodes]
            folded = folded or any(f for _, f in subs)
            col, typ, vocab = self.operand(lhs)
            name = getattr(lhs, "name", "")
            if folded:
                col = self.fold(col, typ)
                items: list[Any] = [self.fold(*self.operand(v, typ, vocab, name)[:2]) for v, _ in subs]
            else:
                items = [self.literal(v, typ, vocab, name) if typ else v for v, _ in subs]
            return col.not_in(items) if node.not_ else col.in_(items)
        if isinstance(node, ast.Like):
            lhs, lfold = self.unwrap(node.lhs)
            pattern, pfold = self.unwrap(node.pattern)
            col, typ, _ = self.operand(lhs)
            if typ not in (None, "string"):
                raise self.error("LIKE 只用于文字属性", "LIKE applies to text properties only")
            if not isinstance(pattern, str):
                raise self.error(f"LIKE 的模式须是文字，收到 {pattern!r}",
                                 f"the LIKE pattern must be text, got {pattern!r}")
            # CQL2 wildcards are SQL's: % any, _ one, \ escapes; the pattern is a bound parameter
            if lfold or pfold or node.nocase:
                expr = func.lower(col).like(func.lower(sa.literal(pattern)), escape="\\")
            else:
                expr = col.like(sa.literal(pattern), escape="\\")
            return sa.not_(expr) if node.not_ else expr
        if isinstance(node, ast.IsNull):
            col, _, _ = self.operand(node.lhs)
            return col.is_not(None) if node.not_ else col.is_(None)
        if type(node) in SPATIAL:
            left, ltype, _ = self.operand(node.lhs)
            right, rtype, _ = self.operand(node.rhs)
            if ltype != "geometry" or rtype != "geometry":
                raise self.error("空间谓词需要两个几何", "spatial predicates need two geometries")
            return getattr(func, SPATIAL[type(node)])(left, right)
        if isinstance(node, ast.BBox):
            col, ltype, _ = self.operand(node.lhs)
            if ltype != "geometry":
                raise self.error("BBOX 需要几何属性", "BBOX needs the geometry property")
            return func.ST_Intersects(col, envelope(self.layer, node.minx, node.miny, node.maxx, node.maxy))
        if isinstance(node, ast.Relate):
            left, _, _ = self.operand(node.lhs)
            right, _, _ = self.operand(node.rhs)
            return func.ST_Relate(left, right, node.pattern)
        if isinstance(node, ast.TemporalPredicate):
            raise self.error("此图层没有时间属性，不支持时间谓词",
                             "this layer has no temporal property: temporal predicates are not supported")
        if isinstance(node, bool):
            return sa.true() if node else sa.false()
        raise self.error(f"不支持的表达式 {type(node).__name__}", f"unsupported expression {type(node).__name__}")


def cql2_filter(conn: Connection | None, layer: Layer, layers_dir: Path, value: str,
                lang: str = "cql2-text") -> ColumnElement[bool]:
    """One CQL2 filter (text or JSON) as an expression over the layer."""
    if lang not in CQL2_LANGS:
        raise FilterError("filter-lang", f"不支持 '{lang}'", f"unsupported filter language '{lang}'", CQL2_LANGS)
    if len(value) > 20000:
        raise FilterError("filter", "过滤条件太长", "filter too long (at most 20,000 characters)")
    try:
        tree = parse_cql2_json(_bbox_to_polygon(json.loads(value))) if lang == "cql2-json" else parse_cql2_text(value)
    except (LarkError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FilterError("filter", f"无法解析 {lang}：{first}", f"cannot parse {lang}: {first}") from None
    return _Cql2(conn, layer, layers_dir)(tree)


# -- the public entry points -------------------------------------------------------------------------------------

def filter_parameters(layer: Layer) -> list[str]:
    return [*layer.filters, *COMMON_PARAMETERS]


def layer_filter(conn: Connection | None, layer: Layer, params: Params, layers_dir: Path) -> ColumnElement[bool]:
    """All filters of ``params`` over ``layer``, ANDed; ``sa.true()`` when there are none.

    A layer with ``soft_delete_column`` always leaves its deleted rows out.
    ``conn`` resolves division names (may be None when no division parameter is used). Unknown parameter names
    are errors.
    """
    allowed = filter_parameters(layer)
    for name in params:
        if name not in allowed:
            raise FilterError(name, "未知参数", "unknown parameter", allowed)
    clauses: list[ColumnElement[bool]] = []
    if layer.soft_delete_column:
        clauses.append(layer.column(layer.soft_delete_column).is_(None))
    for spec in layer.filters.values():
        clause = _simple(conn, layer, layers_dir, spec, params)
        if clause is not None:
            clauses.append(clause)
    _crs(params, "bbox-crs")
    _crs(params, "filter-crs")
    bbox = _single(params, "bbox")
    if bbox is not None:
        clauses.append(func.ST_Intersects(layer.geometry, envelope(layer, *parse_bbox(bbox))))
    cql = _single(params, "filter")
    lang = _single(params, "filter-lang") or "cql2-text"
    if cql is not None:
        clauses.append(cql2_filter(conn, layer, layers_dir, cql, lang))
    elif "filter-lang" in params and lang not in CQL2_LANGS:
        raise FilterError("filter-lang", f"不支持 '{lang}'", f"unsupported filter language '{lang}'", CQL2_LANGS)
    return sa.and_(*clauses) if clauses else sa.true()


def project_filter(conn: Connection | None, params: Params, layers_dir: Path) -> ColumnElement[bool]:
    """The projects layer's filter: the entry point for exports, the route planner and anything else."""
    return layer_filter(conn, get_layer(Path(layers_dir), "projects"), params, Path(layers_dir))
