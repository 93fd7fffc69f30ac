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
        filter-crs, datetime.

Equality is literal: CQL2 (``sector = '绿电铝'``) and a parameter named after a property (``sector=``,
``start_year=``) compare the stored value exactly and match nothing when no row holds it, so a client that
evaluates the same expression itself (QGIS) gets what the server returns (GDAL). Labels, aliases and short forms
are for the planners' own parameters, whose names say so (``sector_label``, ``tier_label``, ``status_label``,
``division``), and for :func:`project_filter` (the command line, the route planner), where ``sector`` is a
planner's word too. An unknown label in those is a 400 listing the allowed values.

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

COMMON_PARAMETERS = ("bbox", "bbox-crs", "filter", "filter-lang", "filter-crs", "datetime")
CQL2_LANGS = ("cql2-text", "cql2-json")
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
WGS84_CRS = {CRS84, "http://www.opengis.net/def/crs/EPSG/0/4326", "EPSG:4326", "CRS84", "OGC:CRS84"}
SPLIT = re.compile(r"[,，]")
MAX_LIST = 200
MAX_FILTER_CHARS = 16 * 1024   # a CQL2 filter longer than this is refused before it is parsed
MAX_FILTER_DEPTH = 32          # nesting of the parsed filter (a chain of ANDs or ORs counts once)
MAX_FILTER_BRACKETS = 64       # nesting of ( [ { in the text, checked before parsing (JSON nests twice per level)


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
            params: Params, labels: bool = False) -> ColumnElement[bool] | None:
    name = spec.name
    if spec.kind == "in":
        vals = _split(_values(params, name), name)
        if not vals:
            return None
        if spec.vocabulary and (labels or not spec.exact):
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
        return value  # literal: compared with the stored value as it is (CQL2 equality, no labels)

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
            return sa.and_(*(self(n) for n in _chain(node, ast.And)))
        if isinstance(node, ast.Or):
            return sa.or_(*(self(n) for n in _chain(node, ast.Or)))
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


def _chain(node: Any, cls: type) -> list[Any]:
    """The operands of a chain of one binary operator (a AND b AND c …), without recursion: pygeofilter nests a
    chain one level per term, and a long but harmless list of ANDs must neither count as deep nor exhaust the
    stack."""
    out, todo = [], [node]
    while todo:
        n = todo.pop()
        if isinstance(n, cls):
            todo += [n.rhs, n.lhs]
        else:
            out.append(n)
    return out


def _tree_depth(tree: Any) -> int:
    """How deeply the parsed filter nests, counted without recursion; a chain of one operator counts once."""
    deepest, todo = 0, [(tree, 1)]
    while todo:
        node, depth = todo.pop()
        deepest = max(deepest, depth)
        if depth > MAX_FILTER_DEPTH:
            break
        if isinstance(node, ast.And | ast.Or):
            todo += [(n, depth + 1) for n in _chain(node, type(node))]
        elif isinstance(node, ast.Node):
            todo += [(n, depth + 1) for n in node.get_sub_nodes() if isinstance(n, ast.Node | list)]
        elif isinstance(node, list):
            todo += [(n, depth) for n in node]
    return deepest


def _bracket_depth(value: str) -> int:
    """The deepest nesting of ( [ { outside quoted strings: a cheap look before the parser recurses into it."""
    depth = deepest = 0
    quote: str | None = None
    escaped = False
    for ch in value:
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in ")]}":
            depth -= 1
    return deepest


def _too_deep() -> FilterError:
    return FilterError("filter", f"过滤条件嵌套太深（最多 {MAX_FILTER_DEPTH} 层）",
                       f"filter nested too deeply (at most {MAX_FILTER_DEPTH} levels)")


def cql2_filter(conn: Connection | None, layer: Layer, layers_dir: Path, value: str,
                lang: str = "cql2-text") -> ColumnElement[bool]:
    """One CQL2 filter (text or JSON) as an expression over the layer.

    Size and nesting are capped before anything recurses over them (the parser, the JSON decoder, this module and
    SQLAlchemy's compiler all do): a hostile filter is a 400, never a 500 or a stuck worker."""
    if lang not in CQL2_LANGS:
        raise FilterError("filter-lang", f"不支持 '{lang}'", f"unsupported filter language '{lang}'", CQL2_LANGS)
    if len(value.encode("utf-8", "surrogatepass")) > MAX_FILTER_CHARS:
        raise FilterError("filter", f"过滤条件太长（最多 {MAX_FILTER_CHARS // 1024} KB）",
                          f"filter too long (at most {MAX_FILTER_CHARS // 1024} KB)")
    if _bracket_depth(value) > MAX_FILTER_BRACKETS:
        raise _too_deep()
    try:
        tree = parse_cql2_json(_bbox_to_polygon(json.loads(value))) if lang == "cql2-json" else parse_cql2_text(value)
    except RecursionError:
        raise _too_deep() from None
    except (LarkError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FilterError("filter", f"无法解析 {lang}：{first}", f"cannot parse {lang}: {first}") from None
    if _tree_depth(tree) > MAX_FILTER_DEPTH:
        raise _too_deep()
    try:
        return _Cql2(conn, layer, layers_dir)(tree)
    except RecursionError:
        raise _too_deep() from None


# -- the public entry points -------------------------------------------------------------------------------------

def filter_parameters(layer: Layer) -> list[str]:
    return [*layer.filters, *COMMON_PARAMETERS]


def layer_filter(conn: Connection | None, layer: Layer, params: Params, layers_dir: Path, *,
                 labels: bool = False) -> ColumnElement[bool]:
    """All filters of ``params`` over ``layer``, ANDed; ``sa.true()`` when there are none.

    A layer with ``soft_delete_column`` always leaves its deleted rows out.
    ``conn`` resolves division names (may be None when no division parameter is used). Unknown parameter names
    are errors. ``labels``: parameters named after a property take labels and aliases too (the planners' own
    entry points, :func:`project_filter`); the OGC API leaves it off, so there they compare exactly.
    """
    allowed = filter_parameters(layer)
    for name in params:
        if name not in allowed:
            raise FilterError(name, "未知参数", "unknown parameter", allowed)
    clauses: list[ColumnElement[bool]] = []
    if layer.soft_delete_column:
        clauses.append(layer.column(layer.soft_delete_column).is_(None))
    for spec in layer.filters.values():
        clause = _simple(conn, layer, layers_dir, spec, params, labels)
        if clause is not None:
            clauses.append(clause)
    when = _single(params, "datetime")
    if when is not None:
        clause = datetime_filter(layer, when)
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
    """The projects layer's filter: the entry point for exports, the route planner and anything else.

    These are the planners' own tools, so ``sector``/``tier``/``status`` take labels and aliases here (``geoapp
    export --sector 绿电铝``); CQL2 stays literal."""
    return layer_filter(conn, get_layer(Path(layers_dir), "projects"), params, Path(layers_dir), labels=True)


# -- datetime (OGC API Features Part 1) ---------------------------------------------------------------------------

_INSTANT = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2}))?$")


def _instant_year(value: str) -> int | None:
    """The year of an RFC 3339 date or date-time; None for an open end ('..' or empty)."""
    if value in ("", ".."):
        return None
    m = _INSTANT.match(value)
    if m is None:
        raise FilterError("datetime", f"'{value[:40]}' 不是 RFC 3339 日期或时间",
                          f"'{value[:40]}' is not an RFC 3339 date or date-time (e.g. 2024-01-01T00:00:00Z)")
    try:
        date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise FilterError("datetime", f"'{value[:40]}' 不是有效日期", f"'{value[:40]}' is not a valid date") from None
    return int(m[1])


def datetime_filter(layer: Layer, value: str) -> ColumnElement[bool] | None:
    """``datetime`` (an instant or an interval a/b with open ends '..') over the layer's year property.

    A layer without ``temporal.year`` has no temporal extent (its collection says so), and Part 1 lets the
    server ignore the parameter then; it is still checked, so a typo is a 400 either way."""
    parts = value.split("/")
    if len(parts) > 2 or (len(parts) == 1 and parts[0] in ("", "..")):
        raise FilterError("datetime", "需要一个时间或 开始/结束 区间", "needs an instant or an interval start/end")
    years = [_instant_year(p.strip()) for p in parts]
    if len(years) == 2 and years[0] is None and years[1] is None and parts[0] == parts[1] == "":
        raise FilterError("datetime", "区间两端不能都为空", "an interval needs at least one end")
    if layer.temporal_year is None:
        return None
    col = layer.column(layer.prop(layer.temporal_year).column)
    if len(years) == 1:
        return col == years[0]
    low, high = years
    if low is not None and high is not None and low > high:
        raise FilterError("datetime", "开始晚于结束", "the interval starts after it ends")
    clauses = [col.is_not(None)]
    if low is not None:
        clauses.append(col >= low)
    if high is not None:
        clauses.append(col <= high)
    return sa.and_(*clauses)
