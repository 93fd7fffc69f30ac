"""SQL that produces the bytes: GeoJSON features, MVT tiles and statistics are built inside PostgreSQL.

Every builder takes a layer and one filter expression from :mod:`geoapp.layers.filters`, so items, tiles, stats
and exports see the same rows. Python only wraps and streams what the database returns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy import func
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.sql.elements import ColumnElement

from geoapp.layers.registry import Layer

GEOJSON_DECIMALS = 7  # ≈1 cm, more than any stored position is worth
MVT_EXTENT = 4096
MVT_BUFFER = 64


@dataclass
class Source:
    """What a layer's rows are read from: its table, or its table joined with live statistics of another layer."""

    from_: sa.FromClause
    columns: dict[str, ColumnElement]   # property name -> expression
    geometry: ColumnElement
    id: ColumnElement
    where: ColumnElement[bool]
    sort: list[tuple[str, bool]] = field(default_factory=list)
    empty_geometry: str = "null"  # the GeoJSON written for a row without a geometry (see empty_geometry())


def empty_geometry(geometry_type: str) -> str:
    """What a feature without a geometry carries: an empty geometry of the layer's type (RFC 7946 allows empty
    coordinates; the development zone has no official boundary) so validators and clients that refuse a null
    geometry still read it; a point layer keeps null (an empty point is not valid GeoJSON)."""
    if geometry_type in ("MultiPolygon", "Polygon", "MultiLineString", "LineString", "MultiPoint"):
        return '{"type":"' + geometry_type + '","coordinates":[]}'
    return "null"


def _inline(value: float) -> sa.BindParameter:
    """A number the server computed (tile bounds), rendered into the SQL at execution: the planner then sees the
    tile's envelope instead of a parameter, and picks the index plan a generic prepared plan misses."""
    return sa.bindparam(None, float(value), type_=sa.Float, literal_execute=True)


def _q(text: str) -> sa.ColumnElement:
    """A constant SQL string literal; only used for names that the registry has checked."""
    return sa.literal_column("'" + text.replace("'", "''") + "'")


def source(layer: Layer, where: ColumnElement[bool], stats_layer: Layer | None = None,
           stats_where: ColumnElement[bool] | None = None) -> Source:
    """The rows of a layer, with its statistics properties when it declares ``stats_of``."""
    table = layer.table
    columns: dict[str, ColumnElement] = {p.name: table.c[p.column] for p in layer.properties}
    from_: sa.FromClause = table
    if layer.stats_of and stats_layer is not None:
        stats = stats_subquery(layer, stats_layer, stats_where if stats_where is not None else sa.true())
        from_ = table.outerjoin(stats, stats.c.key == table.c[layer.id_column])
        for prop in layer.stats_of.properties:
            col = stats.c[prop.name]
            if prop.agg == "count" or prop.agg == "sum":
                col = func.coalesce(col, 0)
            else:
                col = func.coalesce(col, sa.literal_column("'{}'::jsonb"))
            columns[prop.name] = col
    return Source(from_=from_, columns=columns, geometry=table.c[layer.geometry_column],
                  id=table.c[layer.id_column], where=where, empty_geometry=empty_geometry(layer.geometry_type))


def stats_subquery(layer: Layer, stats_layer: Layer, where: ColumnElement[bool]) -> sa.Subquery:
    """One pass over the matching rows of ``stats_layer`` grouped by the key (GROUPING SETS for the breakdowns)."""
    spec = layer.stats_of
    assert spec is not None
    st = stats_layer.table
    key = st.c[spec.key]
    by = [p for p in spec.properties if p.agg == "count_by"]
    by_cols = [st.c[p.column] for p in by]
    sets = [sa.tuple_(key)] + [sa.tuple_(key, c) for c in by_cols]
    cols: list[ColumnElement] = [key.label("key"), func.count().label("n")]
    for p in spec.properties:
        if p.agg == "sum":
            cols.append(func.sum(st.c[p.column]).label(f"s_{p.name}"))
    cols += [func.grouping(c).label(f"g{i}") for i, c in enumerate(by_cols)]
    cols += [c.label(f"v{i}") for i, c in enumerate(by_cols)]
    grouped = sa.select(*cols).where(where).group_by(func.grouping_sets(*sets)).subquery("g")
    all_plain = sa.and_(*(grouped.c[f"g{i}"] == 1 for i in range(len(by_cols)))) if by_cols else sa.true()
    out: list[ColumnElement] = [grouped.c.key]
    for p in spec.properties:
        if p.agg == "count":
            out.append(func.max(grouped.c.n).filter(all_plain).label(p.name))
        elif p.agg == "sum":
            out.append(func.max(grouped.c[f"s_{p.name}"]).filter(all_plain).cast(sa.Float).label(p.name))
    for i, p in enumerate(by):
        out.append(func.jsonb_object_agg(grouped.c[f"v{i}"], grouped.c.n)
                   .filter(grouped.c[f"g{i}"] == 0).label(p.name))
    return sa.select(*out).group_by(grouped.c.key).subquery("stats")


# -- GeoJSON --------------------------------------------------------------------------------------------------

def feature_text(src: Source, names: list[str]) -> ColumnElement:
    """One GeoJSON Feature as text, concatenated in SQL (no JSON re-parsing of the geometry)."""
    pairs: list[ColumnElement] = []
    for name in names:
        pairs += [_q(name), src.columns[name]]
    props = func.json_build_object(*pairs).cast(sa.Text) if pairs else _q("{}")
    geometry = func.coalesce(func.ST_AsGeoJSON(src.geometry, GEOJSON_DECIMALS), _q(src.empty_geometry))
    return (_q('{"type":"Feature","id":') + func.to_json(src.id).cast(sa.Text) + _q(',"geometry":') + geometry
            + _q(',"properties":') + props + _q("}"))


def order_by(src: Source, sort: list[tuple[str, bool]]) -> list[ColumnElement]:
    """The requested order, then the id, so pages and per-tile limits are deterministic."""
    keys = [src.columns[name].desc() if desc else src.columns[name].asc() for name, desc in sort]
    if not any(name == "__id__" for name, _ in sort):
        keys.append(src.id.asc())
    return keys


def items_statement(src: Source, names: list[str], sort: list[tuple[str, bool]], limit: int,
                    offset: int) -> sa.Select:
    """One round trip: (features joined by commas, numberReturned, numberMatched).

    numberMatched counts only when the page is full or past the end; a short page already tells the total.
    ``limit`` and ``offset`` are the bound parameters ``page_limit`` and ``page_offset``.
    """
    keys = order_by(src, sort)
    lim = sa.bindparam("page_limit", limit, type_=sa.Integer)
    off = sa.bindparam("page_offset", offset, type_=sa.Integer)
    page = (sa.select(feature_text(src, names).label("f"), func.row_number().over(order_by=keys).label("rn"))
            .select_from(src.from_).where(src.where).order_by(*keys).limit(lim).offset(off).cte("page"))
    total = sa.select(func.count()).select_from(src.from_).where(src.where).scalar_subquery()
    n = func.count()
    matched = sa.case((sa.and_(n < lim, sa.or_(n > 0, off == 0)), off + n), else_=total)
    features = func.coalesce(func.string_agg(page.c.f, aggregate_order_by(_q(","), page.c.rn)), _q(""))
    return sa.select(features.label("features"), n.label("returned"), matched.label("matched")).select_from(page)


_WHERE = "__geoapp_where__"
_WHERE_PARAM = re.compile(r"(?<!%)%\((\w+)\)s")
_ITEMS_SQL: dict[tuple, tuple[Layer, str, dict[str, object]]] = {}


def items_driver_sql(dialect: sa.Dialect, layer: Layer, src: Source, names: list[str],
                     sort: list[tuple[str, bool]], limit: int, offset: int) -> tuple[str, dict[str, object]] | None:
    """:func:`items_statement` as driver SQL and parameters, without building and compiling it per request.

    The page's SQL depends only on the layer, the properties and the sort, so it is compiled once per such shape
    with a marker where the filter goes; each request compiles only its filter (every value still a bound
    parameter, renamed ``w_*``). ``None`` when this does not apply (a layer with live statistics, a filter value
    whose type converts it in Python): then run :func:`items_statement` as usual.
    """
    if layer.stats_of is not None or dialect.paramstyle != "pyformat":
        return None
    where = src.where.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    if any(b.type.dialect_impl(dialect).bind_processor(dialect) is not None for b in where.binds.values()):
        return None
    key = (id(layer), tuple(names), tuple(sort), dialect.name)
    hit = _ITEMS_SQL.get(key)
    if hit is None or hit[0] is not layer:
        shape = source(layer, sa.literal_column(_WHERE, sa.Boolean))
        compiled = items_statement(shape, names, sort, limit, offset).compile(dialect=dialect)
        if len(_ITEMS_SQL) > 256:
            _ITEMS_SQL.clear()
        hit = _ITEMS_SQL[key] = (layer, compiled.string, dict(compiled.params))
    _, template, constants = hit
    params = {**constants, "page_limit": limit, "page_offset": offset}
    for name, value in where.params.items():
        params["w_" + name] = value
    if len(params) != len(constants) + len(where.params) or template.count(_WHERE) != 2:
        return None  # a name clash: never guess
    return template.replace(_WHERE, "(" + _WHERE_PARAM.sub(r"%(w_\1)s", where.string) + ")"), params


def features_statement(src: Source, names: list[str], sort: list[tuple[str, bool]], limit: int | None,
                       offset: int) -> sa.Select:
    """Feature texts one per row, for streaming a download through a server-side cursor."""
    stmt = (sa.select(feature_text(src, names).label("f")).select_from(src.from_).where(src.where)
            .order_by(*order_by(src, sort)).offset(offset))
    return stmt.limit(limit) if limit is not None else stmt


def rows_statement(src: Source, names: list[str], sort: list[tuple[str, bool]], limit: int | None,
                   offset: int, coordinates: bool = True) -> sa.Select:
    """Plain property values (plus the point's lon/lat), one row per feature (CSV/XLSX)."""
    cols = [src.columns[n].label(n) for n in names]
    if coordinates:
        cols += [func.ST_X(src.geometry).label("__lon"), func.ST_Y(src.geometry).label("__lat")]
    stmt = sa.select(*cols).select_from(src.from_).where(src.where).order_by(*order_by(src, sort)).offset(offset)
    return stmt.limit(limit) if limit is not None else stmt


def count_statement(src: Source) -> sa.Select:
    return sa.select(func.count()).select_from(src.from_).where(src.where)


def scalar_with_custom_plan(conn: sa.Connection, stmt: sa.Executable) -> object:
    """Run without a server-side prepared statement, so PostgreSQL plans with the actual values each time.

    psycopg prepares a statement after a few runs and PostgreSQL may then switch to a generic plan; for tiles
    that plan ignores how small the tile's envelope is and runs about 3× slower (measured in bench/).
    """
    raw = conn.connection.driver_connection
    before = getattr(raw, "prepare_threshold", None)
    if hasattr(raw, "prepare_threshold"):
        raw.prepare_threshold = None
    try:
        return conn.execute(stmt).scalar()
    finally:
        if hasattr(raw, "prepare_threshold"):
            raw.prepare_threshold = before


# -- MVT ------------------------------------------------------------------------------------------------------

def _mvt_value(col: ColumnElement, typ: str) -> ColumnElement | None:
    if typ == "object":
        return None  # MVT values are scalars
    if typ == "number":
        return col.cast(sa.Float)
    return col


def tile_statement(layer: Layer, src: Source, names: list[str], types: dict[str, str],
                   xy_bounds: tuple[float, float, float, float], max_features: int,
                   cluster_cell: float | None = None, cluster_props: dict[str, str] | None = None) -> sa.Select:
    """One MVT tile of a layer: ST_AsMVTGeom over the tile envelope, a deterministic order, a per-tile limit.

    With ``cluster_cell`` (metres) points are merged per grid cell aligned to the tile grid; each cluster carries
    ``point_count``, the summed ``total_investment``-like measures of ``cluster_props`` and, for a single point,
    its id.
    """
    minx, miny, maxx, maxy = xy_bounds
    env = func.ST_MakeEnvelope(_inline(minx), _inline(miny), _inline(maxx), _inline(maxy), 3857)
    if cluster_cell is None:
        margin = (maxx - minx) * MVT_BUFFER / MVT_EXTENT
        lookup = func.ST_Transform(func.ST_MakeEnvelope(_inline(minx - margin), _inline(miny - margin),
                                                        _inline(maxx + margin), _inline(maxy + margin), 3857),
                                   layer.srid)
        cols = [func.ST_AsMVTGeom(func.ST_Transform(src.geometry, 3857), env, MVT_EXTENT, MVT_BUFFER, True)
                .label("mvtgeom")]
        for name in names:
            value = _mvt_value(src.columns[name], types.get(name, "string"))
            if value is not None:
                cols.append(value.label(name))
        rows = (sa.select(*cols).select_from(src.from_)
                .where(src.geometry.op("&&")(lookup), src.where)
                .order_by(*order_by(src, [])).limit(max_features).subquery("t"))
    else:
        lookup = func.ST_Transform(env, layer.srid)
        origin = -20037508.342789244
        merc = func.ST_Transform(src.geometry, 3857)
        inner_cols = [merc.label("g"), src.id.label("id")]
        for name in cluster_props or {}:
            inner_cols.append(src.columns[name].label(name))
        pts = (sa.select(*inner_cols).select_from(src.from_)
               .where(src.geometry.op("&&")(lookup), func.ST_Intersects(src.geometry, lookup), src.where)
               .subquery("p"))
        cell = _inline(cluster_cell)
        cx = func.floor((func.ST_X(pts.c.g) - origin) / cell).label("cx")
        cy = func.floor((func.ST_Y(pts.c.g) - origin) / cell).label("cy")
        n = func.count()
        agg_cols = [cx, cy, n.label("point_count"), func.avg(func.ST_X(pts.c.g)).label("ax"),
                    func.avg(func.ST_Y(pts.c.g)).label("ay"),
                    sa.case((n == 1, func.min(pts.c.id))).label(layer.id_column)]
        for name, how in (cluster_props or {}).items():
            if how == "sum":
                agg_cols.append(func.sum(pts.c[name]).cast(sa.Float).label(name))
            elif how == "mode":
                agg_cols.append(func.mode().within_group(pts.c[name]).label(name))
        cells = sa.select(*agg_cols).group_by(sa.text("1"), sa.text("2")).subquery("c")
        point = func.ST_SetSRID(func.ST_MakePoint(cells.c.ax, cells.c.ay), 3857)
        cols = [func.ST_AsMVTGeom(point, env, MVT_EXTENT, MVT_BUFFER, True).label("mvtgeom"),
                cells.c.point_count, cells.c[layer.id_column]]
        cols += [cells.c[name] for name in cluster_props or {}]
        rows = sa.select(*cols).order_by(cells.c.cx, cells.c.cy).limit(max_features).subquery("t")
    mvt = func.ST_AsMVT(sa.literal_column("t"), _q(layer.id), MVT_EXTENT, _q("mvtgeom"))
    return sa.select(func.coalesce(mvt, sa.literal_column("''::bytea"))).select_from(rows)


# -- statistics -----------------------------------------------------------------------------------------------

def stats_statement(layer: Layer, where: ColumnElement[bool], dims: dict[str, str], measure: str,
                    classes: list[tuple[str, float]]) -> sa.Select:
    """Totals, one row per value of each dimension (GROUPING SETS), each with counts per investment class."""
    t = layer.table
    m = t.c[measure]
    cols: list[ColumnElement] = []
    for dim, column in dims.items():
        cols += [t.c[column].label(f"v_{dim}"), func.grouping(t.c[column]).label(f"g_{dim}")]
    cols += [func.count().label("count"), func.sum(m).cast(sa.Float).label("measure"),
             func.count(m).label("measure_known")]
    for code, threshold in classes:
        cols += [func.count().filter(m >= threshold).label(f"c_{code}"),
                 func.sum(m).filter(m >= threshold).cast(sa.Float).label(f"s_{code}")]
    sets = [sa.tuple_()] + [sa.tuple_(t.c[c]) for c in dims.values()]
    return sa.select(*cols).where(where).group_by(func.grouping_sets(*sets))
