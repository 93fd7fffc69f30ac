"""Vector tiles: ``/collections/{id}/tiles/WebMercatorQuad/{z}/{x}/{y}`` (MVT from ST_AsMVT) and TileJSON.

Tiles take the same filter parameters as items, and ``properties=`` for lighter tiles. Tile bounds come from
morecantile's WebMercatorQuad; up to a layer's ``tiles.cluster_max_zoom`` points are merged into grid clusters
(``point_count`` plus the ``tiles.cluster_properties``: summed investment, the most common sector; the project code
when a cluster holds one project) so a whole-city view of 100,000 projects stays light. Features are ordered by id
before the per-tile limit, so a tile is deterministic. An empty tile is a valid MVT holding the layer and no features
(200, 20 bytes), not a 204 and not zero bytes: GDAL's MVT driver opens it as a layer without features.

OGC API – Tiles: ``/collections/{id}/tiles`` lists one tileset, ``/collections/{id}/tiles/WebMercatorQuad`` is that
tileset (dataType, crs, tileMatrixSetURI, the limits 0–22 actually served, links to the tile matrix set, the tile
template ``{tileMatrix}/{tileCol}/{tileRow}`` — z/x/y, as web maps ask — and the TileJSON as ``describedby``),
which is what GDAL's OGCAPI driver walks. GDAL's MVT driver wants a file-like name: ``MVT:http://…/WebMercatorQuad/12/3412/1507.pbf``
(``.pbf`` or ``.mvt`` may end any tile URL).
"""

from __future__ import annotations

import morecantile
from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import Connection

from geoapp.api.routers.features import _extent
from geoapp.api.routers.ogc_common import (
    JSON,
    MVT,
    base_url,
    json_response,
    layer_of,
    layers_dir_of,
    params_of,
    read,
    read_engine_of,
)
from geoapp.errors import GeoappError, NotFound
from geoapp.layers import sql
from geoapp.layers.filters import FilterError
from geoapp.layers.registry import Layer
from geoapp.layers.request import parse_query

router = APIRouter(tags=["OGC API – Tiles"])

TMS_ID = "WebMercatorQuad"
TMS = morecantile.tms.get(TMS_ID)
MAX_ZOOM = 22  # served zooms 0..22 (morecantile's WebMercatorQuad defines 0..24; the tileset's limits say 22)
OGC_TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
EPSG_3857 = "http://www.opengis.net/def/crs/EPSG/0/3857"
REL_TILING_SCHEME = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"
MVT_FIELD_TYPES = {"string": "String", "integer": "Number", "number": "Number", "boolean": "Boolean"}


def _tms_or_404(tms_id: str) -> morecantile.TileMatrixSet:
    if tms_id != TMS_ID:
        raise NotFound(f"不支持瓦片矩阵集 '{tms_id}' / unknown tile matrix set '{tms_id}' (available: {TMS_ID})")
    return TMS


@router.get("/tileMatrixSets")
def tile_matrix_sets(request: Request) -> Response:
    base = base_url(request)
    return json_response({"tileMatrixSets": [{
        "id": TMS_ID, "title": TMS.title or "Google Maps Compatible for the World",
        "links": [{"href": f"{base}/tileMatrixSets/{TMS_ID}", "rel": "self", "type": JSON}],
    }]})


@router.get("/tileMatrixSets/{tms_id}")
def tile_matrix_set(request: Request, tms_id: str) -> Response:
    return json_response(tms_document(_tms_or_404(tms_id)))


def tms_document(tms: morecantile.TileMatrixSet) -> dict:
    """The OGC TileMatrixSet 2.0 document, with the 1.0 names alongside (``type``, ``identifier``,
    ``supportedCRS``, ``boundingBox``, per matrix ``identifier`` and ``topLeftCorner``): GDAL up to 3.6 reads
    only 1.0 and stops with "Invalid tiling matrix set name" on a 2.0-only document; 3.7+ reads 2.0."""
    doc = tms.model_dump(mode="json", exclude_none=True)
    lo = tms.xy_bbox
    doc.update({
        "type": "TileMatrixSetType",
        "identifier": doc["id"],
        "supportedCRS": doc["crs"] if isinstance(doc["crs"], str) else EPSG_3857,
        "boundingBox": {"type": "BoundingBoxType", "crs": EPSG_3857,
                        "lowerCorner": [lo.left, lo.bottom], "upperCorner": [lo.right, lo.top]},
    })
    for matrix in doc["tileMatrices"]:
        matrix["identifier"] = matrix["id"]
        matrix["topLeftCorner"] = matrix["pointOfOrigin"]
        matrix["type"] = "TileMatrixType"
    return doc


def _tileset_links(request: Request, layer: Layer) -> list[dict]:
    base = base_url(request)
    tiles = f"{base}/collections/{layer.id}/tiles/{TMS_ID}"
    query = f"?{request.url.query}" if request.url.query else ""
    return [
        {"href": tiles + query, "rel": "self", "type": JSON, "title": "瓦片集 / tileset"},
        {"href": f"{base}/tileMatrixSets/{TMS_ID}", "rel": REL_TILING_SCHEME, "type": JSON,
         "title": "瓦片矩阵集 / tile matrix set"},
        # our paths are z/x/y (what XYZ web maps use): column before row, so the template names them that way
        {"href": tiles + "/{tileMatrix}/{tileCol}/{tileRow}" + query, "rel": "item", "type": MVT,
         "templated": True, "title": "矢量瓦片 / vector tiles (MVT)"},
        {"href": f"{tiles}/tilejson.json{query}", "rel": "describedby", "type": JSON, "title": "TileJSON"},
        {"href": f"{base}/collections/{layer.id}", "rel": "collection", "type": JSON, "title": layer.title.zh},
    ]


def _limits() -> list[dict]:
    """The tile matrix limits actually served: every tile of zoom 0..MAX_ZOOM."""
    return [{"tileMatrix": str(z), "minTileRow": 0, "maxTileRow": 2**z - 1, "minTileCol": 0, "maxTileCol": 2**z - 1}
            for z in range(MAX_ZOOM + 1)]


@router.get("/collections/{collection_id}/tiles")
def tilesets(request: Request, collection_id: str) -> Response:
    layer = layer_of(request, collection_id)
    base = base_url(request)
    links = _tileset_links(request, layer)
    return json_response({
        "links": [{"href": f"{base}/collections/{layer.id}/tiles", "rel": "self", "type": JSON,
                   "title": "瓦片集列表 / tilesets"}],
        "tilesets": [{
            "title": f"{layer.title.zh} / {layer.title.en}",
            "dataType": "vector",
            "crs": EPSG_3857,
            "tileMatrixSetURI": OGC_TMS_URI,
            "links": [link for link in links if link["rel"] != "collection"],
        }],
    })


@router.get("/collections/{collection_id}/tiles/{tms_id}")
def tileset(request: Request, collection_id: str, tms_id: str) -> Response:
    """The tileset document (OGC API – Tiles, /conf/tileset): what GDAL's OGCAPI driver reads before tiles."""
    layer = layer_of(request, collection_id)
    _tms_or_404(tms_id)
    names = layer.tiles.get("properties") or [p.name for p in layer.properties]
    return json_response({
        "title": f"{layer.title.zh} / {layer.title.en}",
        "description": layer.description.zh,
        "dataType": "vector",
        "crs": EPSG_3857,
        "tileMatrixSetURI": OGC_TMS_URI,
        "tileMatrixSetLimits": _limits(),
        "layers": [{"id": layer.id, "dataType": "vector", "geometryDimension": _dimension(layer.geometry_type),
                    "minTileMatrix": "0", "maxTileMatrix": str(MAX_ZOOM),
                    "propertiesSchema": {"type": "object", "properties": {
                        n: {"type": t} for n, t in _json_types(layer, names).items()}}}],
        "links": _tileset_links(request, layer),
    })


def _dimension(geometry_type: str) -> int:
    return 0 if "Point" in geometry_type else 1 if "LineString" in geometry_type else 2


def _json_types(layer: Layer, names: list[str]) -> dict[str, str]:
    types = {p.name: p.type for p in layer.properties}
    if layer.stats_of:
        types.update({s.name: s.type for s in layer.stats_of.properties})
    return {n: {"integer": "integer", "number": "number", "boolean": "boolean"}.get(types.get(n, ""), "string")
            for n in names if types.get(n) != "object"}


@router.get("/collections/{collection_id}/tiles/{tms_id}/tilejson.json")
def tilejson(request: Request, collection_id: str, tms_id: str) -> Response:
    layer = layer_of(request, collection_id)
    _tms_or_404(tms_id)
    params = params_of(request)
    with read_engine_of(request).connect() as conn:
        parse_query(conn, layer, params, layers_dir_of(request), formats=("json",), default_format="json")
        extent = _extent(conn, layer) or [-180.0, -85.0511, 180.0, 85.0511]
    query = request.url.query
    template = f"{base_url(request)}/collections/{layer.id}/tiles/{TMS_ID}/{{z}}/{{x}}/{{y}}"
    if query:
        template += "?" + query
    fields: dict[str, str] = {}
    names = layer.tiles.get("properties") or [p.name for p in layer.properties]
    types = {p.name: p.type for p in layer.properties}
    if layer.stats_of:
        types.update({s.name: s.type for s in layer.stats_of.properties})
    for name in names:
        if types.get(name) in MVT_FIELD_TYPES:
            fields[name] = MVT_FIELD_TYPES[types[name]]
    cluster_max = layer.tiles.get("cluster_max_zoom")
    if cluster_max is not None:
        fields["point_count"] = "Number"
        for name in cluster_properties(layer):
            fields.setdefault(name, MVT_FIELD_TYPES.get(types.get(name, "string"), "String"))
    minx, miny, maxx, maxy = extent
    return json_response({
        "tilejson": "3.0.0",
        "name": layer.id,
        "description": f"{layer.title.zh} / {layer.title.en}",
        "scheme": "xyz",
        "tiles": [template],
        "minzoom": 0,
        "maxzoom": MAX_ZOOM,
        "bounds": extent,
        "center": [round((minx + maxx) / 2, 6), round((miny + maxy) / 2, 6), 7],
        "vector_layers": [{"id": layer.id, "fields": fields, "minzoom": 0, "maxzoom": MAX_ZOOM,
                           "description": layer.description.zh}],
        **({"geoapp": {"cluster_max_zoom": cluster_max}} if cluster_max is not None else {}),
    })


def _tile_numbers(z: str, x: str, y: str) -> tuple[int, int, int]:
    try:
        zi, xi, yi = int(z), int(x), int(y)
    except ValueError:
        raise FilterError("z/x/y", "瓦片编号须为整数", "tile numbers must be integers") from None
    if not 0 <= zi <= MAX_ZOOM:
        raise FilterError("z", f"缩放级别须在 0..{MAX_ZOOM}", f"zoom must be in 0..{MAX_ZOOM}")
    n = 2 ** zi
    if not (0 <= xi < n and 0 <= yi < n):
        raise NotFound(f"瓦片 {zi}/{xi}/{yi} 不存在 / tile {zi}/{xi}/{yi} is outside the matrix (0..{n - 1})")
    return zi, xi, yi


@router.get("/collections/{collection_id}/tiles/{tms_id}/{z}/{x}/{y}")
def tile(request: Request, collection_id: str, tms_id: str, z: str, x: str, y: str) -> Response:
    layer = layer_of(request, collection_id)
    tms = _tms_or_404(tms_id)
    zi, xi, yi = _tile_numbers(z, x.removesuffix(".mvt").removesuffix(".pbf"), y.removesuffix(".mvt")
                               .removesuffix(".pbf"))
    bounds = tuple(tms.xy_bounds(morecantile.Tile(xi, yi, zi)))
    params = params_of(request)
    conf = layer.tiles
    names = conf.get("properties") or [p.name for p in layer.properties]
    types = {p.name: p.type for p in layer.properties}
    if layer.stats_of:
        types.update({s.name: s.type for s in layer.stats_of.properties})
    cluster_max = conf.get("cluster_max_zoom")
    cluster_cell = None
    cluster_props: dict[str, str] = {}
    if cluster_max is not None and zi <= int(cluster_max) and layer.geometry_type == "Point":
        cluster_cell = (bounds[2] - bounds[0]) * int(conf.get("cluster_cell_px", 256)) / sql.MVT_EXTENT
        cluster_props = cluster_properties(layer)

    def tile(conn: Connection) -> bytes:
        q = parse_query(conn, layer, params, layers_dir_of(request), formats=("mvt", "pbf"), default_format="mvt")
        tile_names, tile_cluster_props = names, cluster_props
        if "properties" in params:  # a lighter tile: only the properties asked for (of the tile's own list)
            tile_names = [n for n in names if n in q.names]
            tile_cluster_props = {n: how for n, how in cluster_props.items() if n in q.names}
        stmt = sql.tile_statement(layer, q.src, tile_names, types, bounds, int(conf.get("max_features", 10000)),
                                  cluster_cell, tile_cluster_props)
        return bytes(sql.scalar_with_custom_plan(conn, stmt) or b"") or empty_mvt(layer.id)

    return Response(read(request, tile), media_type=MVT)


def empty_mvt(layer_id: str) -> bytes:
    """A tile with the layer and no features. Zero bytes is a valid MVT too, but GDAL's MVT driver cannot open it
    over HTTP, and this costs 20 bytes: Tile.layers (3) = Layer {version (15) = 2, name (1), extent (5) = 4096}."""
    name = layer_id.encode()
    layer = b"\x78\x02" + b"\x0a" + bytes([len(name)]) + name + b"\x28\x80\x20"
    return b"\x1a" + bytes([len(layer)]) + layer


def cluster_properties(layer: Layer) -> dict[str, str]:
    """What a cluster carries besides point_count: ``tiles.cluster_properties`` {property: sum | mode}."""
    conf = layer.tiles.get("cluster_properties") or {}
    for name, how in conf.items():
        if how not in ("sum", "mode") or name not in layer.property_names:
            raise GeoappError(f"{layer.path}: tiles.cluster_properties.{name}: 需要 sum 或 mode / needs sum or mode "
                              "of a property")
    return dict(conf)
