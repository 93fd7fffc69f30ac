"""OGC API – Features: landing page, conformance, /api (OpenAPI 3.0), collections, queryables, items, one item.

Items are GeoJSON built by PostgreSQL in one round trip (features, numberReturned, numberMatched); ``f=geojson``,
``f=csv`` and ``f=xlsx`` stream the same query as a download (every match unless ``limit``/``offset`` are given).
JSON is the default (GDAL and OWSLib send ``Accept: */*``); a browser asking for HTML at ``/`` gets the web map.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy import Connection, func, text

from geoapp import __version__
from geoapp.api.openapi import full_document
from geoapp.api.routers.ogc_common import (
    GEOJSON,
    JSON,
    OPENAPI_30,
    base_url,
    engine_of,
    json_response,
    layer_of,
    layers_dir_of,
    link_header,
    now_iso,
    params_of,
    public_url,
    read,
    read_engine_of,
    stream,
)
from geoapp.errors import NotFound
from geoapp.exports import EXPORT_FORMATS, MEDIA_TYPES, iter_export
from geoapp.layers import sql
from geoapp.layers.filters import CRS84, FilterError
from geoapp.layers.registry import Layer, registry
from geoapp.layers.request import LayerQuery, parse_query
from geoapp.vocab import vocabularies

router = APIRouter(tags=["OGC API – Features"])

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    # Part 2 with CRS84 as the one CRS: `crs` is accepted (CRS84 only), answers carry Content-Crs
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/property-property",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
]
JSON_SCHEMA = "application/schema+json"
GEOMETRY_SCHEMAS = {
    "Point": "https://geojson.org/schema/Point.json",
    "MultiPolygon": "https://geojson.org/schema/MultiPolygon.json",
    "LineString": "https://geojson.org/schema/LineString.json",
    "MultiLineString": "https://geojson.org/schema/MultiLineString.json",
    "Polygon": "https://geojson.org/schema/Polygon.json",
}
JSON_TYPES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean",
              "datetime": "string", "date": "string", "object": "object"}
CRS84_FORMS = {CRS84, "OGC:CRS84", "CRS84", "[OGC:CRS84]"}  # `crs` values meaning CRS84 (lon/lat) itself
CONTENT_CRS = {"Content-Crs": f"<{CRS84}>"}


def _wants_html(request: Request) -> bool:
    f = request.query_params.get("f")
    if f:
        return f == "html"
    accept = request.headers.get("accept", "")
    return "text/html" in accept


@router.get("/", include_in_schema=False)
def landing(request: Request) -> Response:
    """The web map for browsers, the OGC landing page for clients (JSON is the default)."""
    index = Path(request.app.state.settings.static_dir) / "index.html"
    if _wants_html(request) and index.exists():
        return FileResponse(index)
    base = base_url(request)
    return json_response({
        "title": "通辽市重大项目地图 / Tongliao major-project map",
        "description": "通辽市重大项目的 OGC API – Features、矢量瓦片与统计 / OGC API – Features, vector tiles "
                       "and statistics of Tongliao's major projects",
        "version": __version__,
        "links": [
            {"href": f"{base}/?f=json", "rel": "self", "type": JSON, "title": "本页 / this document"},
            {"href": f"{base}/?f=html", "rel": "alternate", "type": "text/html", "title": "地图 / web map"},
            {"href": f"{base}/api", "rel": "service-desc", "type": OPENAPI_30,
             "title": "OpenAPI 3.0 定义 / API definition"},
            {"href": f"{base}/docs", "rel": "service-doc", "type": "text/html", "title": "API 文档 / API docs"},
            {"href": f"{base}/conformance", "rel": "conformance", "type": JSON,
             "title": "一致性类 / conformance classes"},
            {"href": f"{base}/collections", "rel": "data", "type": JSON, "title": "图层 / collections"},
            {"href": f"{base}/tileMatrixSets", "rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes",
             "type": JSON, "title": "瓦片矩阵集 / tile matrix sets"},
            {"href": f"{base}/stats", "rel": "related", "type": JSON, "title": "项目统计 / statistics"},
            {"href": f"{base}/styles", "rel": "http://www.opengis.net/def/rel/ogc/1.0/styles", "type": JSON,
             "title": "地图样式 / map styles (MapLibre)"},
        ],
    })


@router.get("/conformance")
def conformance(request: Request) -> Response:
    return json_response({"conformsTo": CONFORMANCE})


@router.get("/api", include_in_schema=False)
def api(request: Request) -> Response:
    layers_dir = layers_dir_of(request)
    doc = full_document(request.app, base_url(request), registry(layers_dir), vocabularies(layers_dir))
    return json_response(doc, media_type=OPENAPI_30)


def _extent(conn: Connection, layer: Layer) -> list[float] | None:
    live = sa.true()
    if layer.soft_delete_column:
        live = layer.column(layer.soft_delete_column).is_(None)
    box = sa.select(func.ST_Extent(layer.geometry).label("e")).where(live).subquery()
    row = conn.execute(sa.select(func.ST_XMin(box.c.e), func.ST_YMin(box.c.e), func.ST_XMax(box.c.e),
                                 func.ST_YMax(box.c.e))).one()
    return [round(v, 6) for v in row] if row[0] is not None else None


def _vocab_hints(layer: Layer, layers_dir: Path, conn: Connection) -> dict[str, list[dict]]:
    vocabs = vocabularies(layers_dir)
    out: dict[str, list[dict]] = {}
    for prop in layer.properties:
        if prop.vocabulary in vocabs:
            out[prop.name] = [{"code": t.code, "zh": t.zh, "en": t.en, **{k: v for k, v in t.extra.items()
                                                                            if k in ("color", "icon")}}
                              for t in vocabs[prop.vocabulary].terms]
        elif prop.vocabulary == "division":
            out[prop.name] = [{"code": c, "zh": n, "en": e} for c, n, e in conn.execute(
                text("SELECT code, name, coalesce(name_en, name) FROM divisions ORDER BY code"))]
    return out


def collection_doc(base: str, layer: Layer, conn: Connection, layers_dir: Path) -> dict:
    cid = layer.id
    items = f"{base}/collections/{cid}/items"
    extent = _extent(conn, layer)
    props = [{"name": p.name, "type": p.type, "title": p.title.as_dict(), **({"vocabulary": p.vocabulary}
                                                                            if p.vocabulary else {}),
              **({"unit": p.unit} if p.unit else {})} for p in layer.properties]
    if layer.stats_of:
        props += [{"name": s.name, "type": s.type, "title": s.title.as_dict(), "statistic": s.agg,
                   **({"unit": s.unit} if s.unit else {})} for s in layer.stats_of.properties]
    filters = [{"name": f.name, "kind": f.kind, "title": f.title.as_dict(),
                **({"vocabulary": f.vocabulary} if f.vocabulary else {}),
                **({"classes": [{"code": c.code, "min": c.min, **c.title.as_dict()} for c in f.classes]}
                   if f.classes else {})} for f in layer.filters.values()]
    doc: dict[str, Any] = {
        "id": cid,
        "title": layer.title.zh,
        "description": f"{layer.description.zh} / {layer.description.en}",
        "keywords": list(layer.keywords),
        "itemType": "feature",
        "crs": [CRS84],
        "storageCrs": CRS84,
        "links": [
            {"href": f"{base}/collections/{cid}", "rel": "self", "type": JSON, "title": layer.title.zh},
            {"href": items, "rel": "items", "type": GEOJSON, "title": "要素 / features (GeoJSON)"},
            {"href": f"{items}?f=geojson", "rel": "enclosure", "type": GEOJSON, "title": "下载 GeoJSON / download"},
            {"href": f"{items}?f=csv", "rel": "enclosure", "type": MEDIA_TYPES["csv"], "title": "下载 CSV / download"},
            {"href": f"{items}?f=xlsx", "rel": "enclosure", "type": MEDIA_TYPES["xlsx"],
             "title": "下载 Excel / download"},
            {"href": f"{base}/collections/{cid}/queryables", "type": JSON_SCHEMA, "title": "可查询属性 / queryables",
             "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables"},
            {"href": f"{base}/collections/{cid}/schema", "type": JSON_SCHEMA, "title": "要素模式 / feature schema",
             "rel": "http://www.opengis.net/def/rel/ogc/1.0/schema"},
            {"href": f"{base}/collections/{cid}/schema", "type": JSON_SCHEMA, "title": "要素模式 / feature schema",
             "rel": "describedby"},
            {"href": f"{base}/collections/{cid}/tiles", "type": JSON, "title": "矢量瓦片 / vector tiles",
             "rel": "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"},
            {"href": f"{base}/collections/{cid}/tiles/WebMercatorQuad/tilejson.json", "rel": "describedby",
             "type": JSON, "title": "TileJSON"},
        ],
        "geoapp": {
            "title": layer.title.as_dict(), "description": layer.description.as_dict(),
            "idProperty": layer.id_column, "geometryType": layer.geometry_type, "properties": props,
            "filters": filters, "defaultSort": list(layer.default_sort), "style": layer.style,
            "vocabularies": _vocab_hints(layer, layers_dir, conn),
            **({"statsOf": layer.stats_of.layer} if layer.stats_of else {}),
        },
    }
    if extent:
        doc["extent"] = {"spatial": {"bbox": [extent], "crs": CRS84}}
    years = _year_extent(conn, layer)
    if years:  # only a layer with `temporal` has a temporal extent; without one `datetime` is ignored (Part 1)
        doc.setdefault("extent", {})["temporal"] = {
            "interval": [[f"{years[0]}-01-01T00:00:00Z", f"{years[1]}-12-31T23:59:59Z"]],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
    return doc


def _year_extent(conn: Connection, layer: Layer) -> tuple[int, int] | None:
    if layer.temporal_year is None:
        return None
    col = layer.column(layer.prop(layer.temporal_year).column)
    live = layer.column(layer.soft_delete_column).is_(None) if layer.soft_delete_column else sa.true()
    low, high = conn.execute(sa.select(func.min(col), func.max(col)).where(live)).one()
    return (int(low), int(high)) if low is not None else None


@router.get("/collections")
def collections(request: Request) -> Response:
    base, layers_dir = base_url(request), layers_dir_of(request)
    with read_engine_of(request).connect() as conn:
        docs = [collection_doc(base, layer, conn, layers_dir) for layer in registry(layers_dir).values()]
    return json_response({
        "links": [{"href": f"{base}/collections", "rel": "self", "type": JSON, "title": "图层 / collections"}],
        "collections": docs,
    })


@router.get("/collections/{collection_id}")
def collection(request: Request, collection_id: str) -> Response:
    layer = layer_of(request, collection_id)
    with read_engine_of(request).connect() as conn:
        return json_response(collection_doc(base_url(request), layer, conn, layers_dir_of(request)))


def _geometry_schema(layer: Layer) -> dict[str, Any]:
    """The geometry as Part 3 queryables and Part 5 schemas describe it: ``format: geometry-…`` (what validators
    and QGIS look for) and the GeoJSON schema it follows."""
    return {"title": "几何 / geometry", "format": f"geometry-{layer.geometry_type.lower()}",
            "$ref": GEOMETRY_SCHEMAS.get(layer.geometry_type, "https://geojson.org/schema/Geometry.json"),
            "x-ogc-role": "primary-geometry"}


def _property_schema(p: Any, vocabs: dict, nullable: bool) -> dict[str, Any]:
    """The JSON Schema of one property; ``nullable`` adds "null" to its type (the feature schema: GDAL and QGIS
    then keep an all-null integer column an integer instead of guessing String from the first features)."""
    typ: Any = JSON_TYPES[p.type]
    schema: dict[str, Any] = {"title": f"{p.title.zh} / {p.title.en}", "type": [typ, "null"] if nullable else typ}
    if p.type == "datetime":
        schema["format"] = "date-time"
    elif p.type == "date":
        schema["format"] = "date"
    vocabulary = getattr(p, "vocabulary", None)
    if vocabulary in vocabs:
        schema["enum"] = vocabs[vocabulary].codes + ([None] if nullable else [])
    if getattr(p, "unit", None):
        schema["x-ogc-unit"] = p.unit
    return schema


@router.get("/collections/{collection_id}/schema")
def schema(request: Request, collection_id: str) -> Response:
    """The features' JSON Schema (OGC API Features Part 5 "returnables"): every property with its real type, so
    desktop clients need not guess types from the first page (an all-null end_year, whole-number money)."""
    layer = layer_of(request, collection_id)
    vocabs = vocabularies(layers_dir_of(request))
    props: dict[str, Any] = {"geometry": _geometry_schema(layer)}
    for p in layer.properties:
        props[p.name] = _property_schema(p, vocabs, nullable=p.name != layer.id_column)
        if p.name == layer.id_column:
            props[p.name]["x-ogc-role"] = "id"
    if layer.stats_of:
        for st in layer.stats_of.properties:
            props[st.name] = _property_schema(st, vocabs, nullable=False)
    return json_response({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base_url(request)}/collections/{layer.id}/schema",
        "type": "object",
        "title": layer.title.zh,
        "description": f"{layer.description.zh} / {layer.description.en}",
        "properties": props,
    }, media_type=JSON_SCHEMA)


@router.get("/collections/{collection_id}/queryables")
def queryables(request: Request, collection_id: str) -> Response:
    layer = layer_of(request, collection_id)
    vocabs = vocabularies(layers_dir_of(request))
    props: dict[str, Any] = {"geometry": _geometry_schema(layer)}
    for p in layer.properties:
        if p.type == "object":
            continue
        schema: dict[str, Any] = {"title": f"{p.title.zh} / {p.title.en}", "type": JSON_TYPES[p.type]}
        if p.type == "datetime":
            schema["format"] = "date-time"
        if p.vocabulary in vocabs:
            schema["enum"] = vocabs[p.vocabulary].codes
        if p.name == layer.id_column:
            schema["x-ogc-role"] = "id"
        props[p.name] = schema
    base = base_url(request)
    return json_response({
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "$id": f"{base}/collections/{layer.id}/queryables",
        "type": "object",
        "title": layer.title.zh,
        "properties": props,
        "additionalProperties": False,
    }, media_type=JSON_SCHEMA)


def _page_links(request: Request, layer: Layer, returned: int, matched: int, limit: int, offset: int) -> list[dict]:
    url = public_url(request)
    links = [
        {"href": str(url), "rel": "self", "type": GEOJSON, "title": "本页 / this page"},
        {"href": str(url.include_query_params(f="csv")), "rel": "alternate", "type": MEDIA_TYPES["csv"],
         "title": "CSV"},
        {"href": str(url.include_query_params(f="xlsx")), "rel": "alternate", "type": MEDIA_TYPES["xlsx"],
         "title": "Excel"},
        {"href": f"{base_url(request)}/collections/{layer.id}", "rel": "collection", "type": JSON,
         "title": layer.title.zh},
        {"href": f"{base_url(request)}/collections/{layer.id}/queryables", "type": JSON_SCHEMA,
         "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables", "title": "可查询属性 / queryables"},
    ]
    if offset + returned < matched:
        links.append({"href": str(url.include_query_params(offset=offset + returned, limit=limit)), "rel": "next",
                      "type": GEOJSON, "title": "下一页 / next page"})
    if offset > 0:
        links.append({"href": str(url.include_query_params(offset=max(offset - limit, 0), limit=limit)),
                      "rel": "prev", "type": GEOJSON, "title": "上一页 / previous page"})
    return links


def _crs_param(params: dict) -> None:
    """Part 2 ``crs``: CRS84 is the one output CRS (EPSG:4326 would need lat/lon order, which no client here asks
    for); anything else is a 400 naming what is offered."""
    values = params.get("crs") or []
    for value in values:
        if value.strip() not in CRS84_FORMS:
            raise FilterError("crs", f"不支持坐标系 '{value[:40]}'", f"unsupported CRS '{value[:40]}'", [CRS84])


def _item_id(layer: Layer, feature_id: str) -> Any:
    """The path's id as the id property's type: an integer id compares as an integer (a string there would make
    PostgreSQL refuse ``bigint = varchar``); an id that cannot be one is simply not a feature (404)."""
    prop = layer.prop(layer.id_column)
    if prop is not None and prop.type == "integer":
        try:
            number = int(feature_id)
        except ValueError:
            return None
        return number if -2**63 <= number < 2**63 else None
    return feature_id


def _not_found(layer: Layer, feature_id: str) -> NotFound:
    return NotFound(f"集合 {layer.id} 中没有要素 '{feature_id}' / no feature '{feature_id}' in {layer.id}")


@router.get("/collections/{collection_id}/items")
def items(request: Request, collection_id: str) -> Response:
    layer = layer_of(request, collection_id)
    params = params_of(request)
    _crs_param(params)
    layers_dir = layers_dir_of(request)
    engine = engine_of(request)
    formats = ("json", *EXPORT_FORMATS)

    def page(conn: Connection) -> tuple[LayerQuery, Any]:
        q = parse_query(conn, layer, params, layers_dir, formats=formats, default_format="json",
                        reserved_extra=("crs",))
        if q.fmt != "json":
            return q, None
        assert q.limit is not None
        driver_sql = sql.items_driver_sql(conn.dialect, layer, q.src, q.names, q.sort, q.limit, q.offset)
        if driver_sql is not None:
            return q, conn.exec_driver_sql(*driver_sql).one()
        return q, conn.execute(sql.items_statement(q.src, q.names, q.sort, q.limit, q.offset)).one()

    q, row = read(request, page)
    if q.fmt != "json":
        return stream(engine, lambda c: iter_export(c, layer, q.src, q.names, q.sort, q.fmt, layers_dir, q.lang,
                                                     q.limit, q.offset),
                      MEDIA_TYPES[q.fmt], f"{layer.id}.{q.fmt}")
    links = _page_links(request, layer, row.returned, row.matched, q.limit, q.offset)
    head = {
        "type": "FeatureCollection",
        "numberMatched": row.matched,
        "numberReturned": row.returned,
        "timeStamp": now_iso(),
        "links": links,
    }
    body = json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1] + ',"features":[' + row.features + "]}"
    return Response(body.encode(), media_type=GEOJSON, headers={"Link": link_header(links), **CONTENT_CRS})


@router.get("/collections/{collection_id}/items/{feature_id}")
def item(request: Request, collection_id: str, feature_id: str) -> Response:
    layer = layer_of(request, collection_id)
    params = params_of(request)
    _crs_param(params)
    key = _item_id(layer, feature_id)
    if key is None:
        raise _not_found(layer, feature_id)
    with read_engine_of(request).connect() as conn:
        q = parse_query(conn, layer, params, layers_dir_of(request), formats=("json",), default_format="json",
                        reserved_extra=("crs",))
        stmt = (sa.select(sql.feature_text(q.src, q.names)).select_from(q.src.from_)
                .where(q.src.where, q.src.id == key))
        feature = conn.execute(stmt).scalar()
    if feature is None:
        raise _not_found(layer, feature_id)
    base = base_url(request)
    links = [
        {"href": str(public_url(request)), "rel": "self", "type": GEOJSON, "title": "本要素 / this feature"},
        {"href": f"{base}/collections/{layer.id}", "rel": "collection", "type": JSON, "title": layer.title.zh},
    ]
    body = feature[:-1] + ',"links":' + json.dumps(links, ensure_ascii=False) + "}"
    return Response(body.encode(), media_type=GEOJSON, headers={"Link": link_header(links), **CONTENT_CRS})
