"""The OpenAPI 3.0 document of the OGC API, written from the layer registry (OWSLib and QGIS read 3.0).

Each collection gets its own paths, so the filter parameters a layer declares in YAML appear with their
vocabularies, and GDAL finds the ``limit`` maximum it may page with.

Equality is literal: CQL2 and the parameters named after a property (``sector``, ``tier``, ``status``,
``start_year`` …) compare the stored value exactly, and a value no feature holds gives an empty result; the
``*_label`` parameters and ``division`` also take labels, aliases and short forms (an unknown one is a 400 listing
the allowed values). The document says so in ``info.description`` and in each parameter.
"""

from __future__ import annotations

from typing import Any

from geoapp import __version__
from geoapp.exports import EXPORT_FORMATS
from geoapp.layers.filters import CQL2_LANGS, CRS84
from geoapp.layers.registry import Layer
from geoapp.layers.request import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET, sortable
from geoapp.vocab import Vocabulary

EXCEPTION = {"$ref": "#/components/schemas/exception"}


def _param(name: str, description: str, schema: dict, style: str | None = None, explode: bool | None = None,
           location: str = "query", required: bool = False) -> dict:
    p: dict[str, Any] = {"name": name, "in": location, "description": description, "required": required,
                         "schema": schema}
    if style:
        p["style"] = style
    if explode is not None:
        p["explode"] = explode
    return p


def _errors() -> dict:
    return {
        "400": {"description": "错误的参数 / invalid parameter",
                "content": {"application/json": {"schema": EXCEPTION}}},
        "404": {"description": "未找到 / not found", "content": {"application/json": {"schema": EXCEPTION}}},
        "503": {"description": "数据库不可用 / database unavailable",
                "content": {"application/json": {"schema": EXCEPTION}}},
    }


def filter_parameters(layer: Layer, layers: dict[str, Layer], vocabs: dict[str, Vocabulary]) -> list[dict]:
    """bbox, CQL2 and the layer's simple parameters (a stats layer also takes its statistics layer's)."""
    params = [
        _param("bbox", "WGS84 范围 minlon,minlat,maxlon,maxlat / bounding box",
               {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}, "form", False),
        _param("bbox-crs", "bbox 坐标系 / CRS of bbox", {"type": "string", "format": "uri"}),
        _param("filter", "CQL2 过滤条件 / CQL2 filter (text or JSON)", {"type": "string"}),
        _param("filter-lang", "CQL2 编码 / filter language", {"type": "string", "enum": list(CQL2_LANGS),
                                                             "default": "cql2-text"}),
        _param("filter-crs", "filter 坐标系 / CRS of filter geometries", {"type": "string", "format": "uri"}),
        _param("datetime", "时间（RFC 3339 时间或 开始/结束 区间，.. 为开放端）/ instant or interval (RFC 3339, "
               ".. = open end); " + (f"filters on {layer.temporal_year} (the year)" if layer.temporal_year else
                                     "this collection has no temporal extent: checked, then ignored"),
               {"type": "string"}, "form", False),
    ]
    specs = list(layer.filters.values())
    if layer.stats_of:
        specs += list(layers[layer.stats_of.layer].filters.values())
    for spec in specs:
        desc = f"{spec.title.zh} / {spec.title.en}"
        if spec.kind == "in":
            items: dict[str, Any] = {"type": "integer" if spec.type == "integer" else "string"}
            if spec.exact:
                desc += "（与存储值完全一致，无匹配时结果为空 / the stored value exactly; no match = empty result）"
                if spec.vocabulary in vocabs:
                    items["enum"] = vocabs[spec.vocabulary].codes
            elif spec.vocabulary in vocabs:
                desc += ("（代码、中文名或别名均可，未知值为 400 / codes, labels or aliases; an unknown one is a 400 "
                         f"listing the allowed values: {', '.join(vocabs[spec.vocabulary].codes)}）")
            elif spec.vocabulary == "division":
                desc += "（代码、名称或简称 / code, name or short form）"
            params.append(_param(spec.name, desc, {"type": "array", "items": items}, "form", False))
        elif spec.kind == "class":
            params.append(_param(spec.name, desc, {"type": "string", "enum": [c.code for c in spec.classes]}))
        elif spec.kind in ("gte", "lte"):
            schema: dict[str, Any] = {"type": "integer" if spec.type == "integer" else "number"}
            if spec.min is not None:
                schema["minimum"] = spec.min
            params.append(_param(spec.name, desc + (f"（{spec.unit}）" if spec.unit else ""), schema))
        else:
            params.append(_param(spec.name, desc, {"type": "string", "maxLength": 200}))
    return params


def openapi_document(base: str, layers: dict[str, Layer], vocabs: dict[str, Vocabulary]) -> dict:
    json_ok = {"application/json": {"schema": {"type": "object"}}}
    paths: dict[str, Any] = {
        "/": {"get": {"summary": "登陆页 / landing page", "operationId": "getLandingPage", "tags": ["Capabilities"],
                      "responses": {"200": {"description": "landing page", "content": json_ok}, **_errors()}}},
        "/conformance": {"get": {"summary": "一致性类 / conformance classes", "operationId": "getConformance",
                                 "tags": ["Capabilities"],
                                 "responses": {"200": {"description": "conformance", "content": json_ok}}}},
        "/api": {"get": {"summary": "本文档 / this document", "operationId": "getApi", "tags": ["Capabilities"],
                         "responses": {"200": {"description": "OpenAPI 3.0", "content": {
                             "application/vnd.oai.openapi+json;version=3.0": {"schema": {"type": "object"}}}}}}},
        "/collections": {"get": {"summary": "图层列表 / collections", "operationId": "getCollections",
                                 "tags": ["Capabilities"],
                                 "responses": {"200": {"description": "collections", "content": json_ok}}}},
        "/styles/default": {"get": {"summary": "地图样式 / MapLibre style of the vector tiles",
                                    "operationId": "getStyle", "tags": ["Styles"],
                                    "responses": {"200": {"description": "Mapbox/MapLibre style v8", "content": {
                                        "application/vnd.mapbox.style+json": {"schema": {"type": "object"}}}}}}},
        "/stats": {"get": {"summary": "项目统计 / statistics of the matching projects", "operationId": "getStats",
                           "tags": ["Statistics"],
                           "parameters": filter_parameters(layers["projects"], layers, vocabs)
                           if "projects" in layers else [],
                           "responses": {"200": {"description": "statistics", "content": json_ok}, **_errors()}}},
    }
    for layer in layers.values():
        cid = layer.id
        fparams = filter_parameters(layer, layers, vocabs)
        formats = ["json", *EXPORT_FORMATS]
        item_params = [
            _param("limit", f"每页要素数 / features per page (json: default {DEFAULT_LIMIT}, max {MAX_LIMIT}, a "
                            "larger value is served as the maximum; downloads: all unless given)",
                   {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}, "form", False),
            _param("offset", "跳过的要素数 / features to skip",
                   {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}),
            _param("crs", "输出坐标系（仅 CRS84）/ output CRS (CRS84 only)",
                   {"type": "string", "format": "uri", "enum": [CRS84], "default": CRS84}),
            _param("sortby", "排序，如 -total_investment / sort keys (+asc, -desc)",
                   {"type": "array", "items": {"type": "string", "enum": [
                       *sortable(layer), *(f"-{n}" for n in sortable(layer))]}}, "form", False),
            _param("properties", "返回的属性 / properties to return",
                   {"type": "array", "items": {"type": "string", "enum": layer.property_names}}, "form", False),
            _param("f", "格式 / format (json = paged GeoJSON; geojson/csv/xlsx = download)",
                   {"type": "string", "enum": formats, "default": "json"}),
            _param("lang", "表头语言 / language of CSV/XLSX headers and labels",
                   {"type": "string", "enum": ["zh", "en"], "default": "zh"}),
            *fparams,
        ]
        geo = {"application/geo+json": {"schema": {"type": "object"}},
               "text/csv": {"schema": {"type": "string"}},
               "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                   "schema": {"type": "string", "format": "binary"}}}
        tag = [f"{layer.title.zh} {layer.title.en}"]
        paths[f"/collections/{cid}"] = {"get": {
            "summary": f"{layer.title.zh} / {layer.title.en}", "operationId": f"describe_{cid}", "tags": tag,
            "responses": {"200": {"description": "collection", "content": json_ok}, **_errors()}}}
        paths[f"/collections/{cid}/queryables"] = {"get": {
            "summary": "可查询属性 / queryables", "operationId": f"queryables_{cid}", "tags": tag,
            "responses": {"200": {"description": "JSON Schema", "content": {
                "application/schema+json": {"schema": {"type": "object"}}}}, **_errors()}}}
        paths[f"/collections/{cid}/items"] = {"get": {
            "summary": f"{layer.title.zh}要素 / {layer.title.en} features", "operationId": f"items_{cid}",
            "tags": tag, "parameters": item_params,
            "responses": {"200": {"description": "features", "content": geo}, **_errors()}}}
        id_prop = layer.prop(layer.id_column)
        id_type = "integer" if id_prop is not None and id_prop.type == "integer" else "string"
        paths[f"/collections/{cid}/schema"] = {"get": {
            "summary": "要素模式 / feature schema (Part 5)", "operationId": f"schema_{cid}", "tags": tag,
            "responses": {"200": {"description": "JSON Schema", "content": {
                "application/schema+json": {"schema": {"type": "object"}}}}, **_errors()}}}
        paths[f"/collections/{cid}/items/{{featureId}}"] = {"get": {
            "summary": "单个要素 / one feature", "operationId": f"item_{cid}", "tags": tag,
            "parameters": [_param("featureId", f"{layer.id_column}", {"type": id_type}, location="path",
                                  required=True),
                           _param("crs", "输出坐标系（仅 CRS84）/ output CRS (CRS84 only)",
                                  {"type": "string", "format": "uri", "enum": [CRS84], "default": CRS84})],
            "responses": {"200": {"description": "feature", "content": {
                "application/geo+json": {"schema": {"type": "object"}}}}, **_errors()}}}
        paths[f"/collections/{cid}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}"] = {"get": {
            "summary": "矢量瓦片 / vector tile (MVT), z/x/y as in XYZ maps", "operationId": f"tile_{cid}",
            "tags": tag,
            "parameters": [
                _param("z", "zoom", {"type": "integer", "minimum": 0, "maximum": 22}, location="path",
                       required=True),
                _param("x", "column", {"type": "integer", "minimum": 0}, location="path", required=True),
                _param("y", "row (from the top)", {"type": "integer", "minimum": 0}, location="path", required=True),
                *fparams],
            "responses": {"200": {"description": "MVT", "content": {
                "application/vnd.mapbox-vector-tile": {"schema": {"type": "string", "format": "binary"}}}},
                **_errors()}}}
        paths[f"/collections/{cid}/tiles"] = {"get": {
            "summary": "瓦片集列表 / tilesets", "operationId": f"tilesets_{cid}", "tags": tag,
            "responses": {"200": {"description": "tilesets", "content": json_ok}, **_errors()}}}
        paths[f"/collections/{cid}/tiles/WebMercatorQuad"] = {"get": {
            "summary": "瓦片集 / tileset (OGC API – Tiles)", "operationId": f"tileset_{cid}", "tags": tag,
            "parameters": fparams,
            "responses": {"200": {"description": "tileset", "content": json_ok}, **_errors()}}}
        paths[f"/collections/{cid}/tiles/WebMercatorQuad/tilejson.json"] = {"get": {
            "summary": "TileJSON", "operationId": f"tilejson_{cid}", "tags": tag, "parameters": fparams,
            "responses": {"200": {"description": "TileJSON 3.0", "content": json_ok}, **_errors()}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "通辽市重大项目地图 OGC API / Tongliao major-project map", "version": __version__,
                 "description": "OGC API – Features (Part 1 core, GeoJSON, OpenAPI 3.0; Part 2 CRS84; Part 3 CQL2 "
                                "filtering), vector tiles (WebMercatorQuad MVT, zoom 0–22) and statistics. "
                                "投资金额单位：万元。等值比较按存储值：CQL2 与以属性命名的参数"
                                "（sector、tier、status…）须与存储的代码完全一致，无匹配时结果为空；"
                                "*_label 参数与 division 接受中文名、别名和简称。 "
                                "Equality is literal: CQL2 and parameters named after a property compare the stored "
                                "value exactly (no match = an empty result); the *_label parameters and division "
                                "also take labels, aliases and short forms.",
                 "license": {"name": "MIT"}},
        "servers": [{"url": base}],
        "paths": paths,
        "components": {"schemas": {"exception": {
            "type": "object", "required": ["code"],
            "properties": {"code": {"type": "string"}, "description": {"type": "string"},
                           "parameter": {"type": "string"}, "allowed": {"type": "array", "items": {"type": "string"}}},
        }}},
    }
