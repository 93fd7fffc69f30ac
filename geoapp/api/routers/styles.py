"""``/styles``: a MapLibre style for our vector tiles, so MapLibre GL JS, QGIS 3.28+ ("Load style from URL") and
other Mapbox-style clients draw the city's symbology without hand work.

Written from the same YAML as the web map: each sector's colour from ``layers/vocabularies/sectors.yaml``, marker
sizes from the investment classes of ``layers/projects.yaml`` (14 px + 5 px per class reached, as the web map's
markers), clusters up to the layer's ``tiles.cluster_max_zoom``, route colours from each route's ``color``. The
style uses circles and lines only, so it needs no sprite and no glyphs (no text layers): nothing is fetched from
a CDN or anywhere but this server. The sector glyphs of the web map (drawn in static/js/icons.js) are not in the
style yet.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from geoapp.api.routers.ogc_common import JSON, base_url, json_response, layers_dir_of
from geoapp.errors import NotFound
from geoapp.layers.registry import Layer, registry
from geoapp.vocab import vocabularies

router = APIRouter(tags=["Styles"])

STYLE_ID = "default"
MAPBOX_STYLE = "application/vnd.mapbox.style+json"
FALLBACK_COLOUR = "#666666"
DIVISION_LINE = "#51606f"  # the web map's boundary colour (static/js/divisions.js)


@router.get("/styles")
def styles(request: Request) -> Response:
    base = base_url(request)
    return json_response({
        "styles": [{"id": STYLE_ID, "title": "通辽市重大项目 / Tongliao major projects",
                    "links": [{"href": f"{base}/styles/{STYLE_ID}", "rel": "stylesheet", "type": MAPBOX_STYLE,
                               "title": "MapLibre / Mapbox style"}]}],
        "links": [{"href": f"{base}/styles", "rel": "self", "type": JSON, "title": "样式 / styles"}],
    })


@router.get("/styles/{style_id}")
def style(request: Request, style_id: str) -> Response:
    """The style JSON (Mapbox/MapLibre style specification v8) drawing divisions, routes, stops and projects."""
    if style_id != STYLE_ID:
        raise NotFound(f"没有样式 '{style_id[:40]}' / no style '{style_id[:40]}' (styles: {STYLE_ID})")
    return json_response(style_document(request), media_type=MAPBOX_STYLE)


def style_document(request: Request) -> dict[str, Any]:
    base = base_url(request)
    layers = registry(layers_dir_of(request))
    sources = {lid: {"type": "vector", "url": f"{base}/collections/{lid}/tiles/WebMercatorQuad/tilejson.json"}
               for lid in ("divisions", "routes", "route_stops", "projects") if lid in layers}
    out: list[dict[str, Any]] = [{"id": "background", "type": "background",
                                  "paint": {"background-color": "#f4f3ef"}}]
    if "divisions" in layers:
        out += _divisions()
    if "routes" in layers:
        out.append({"id": "routes", "type": "line", "source": "routes", "source-layer": "routes",
                    "layout": {"line-join": "round", "line-cap": "round"},
                    "paint": {"line-color": ["coalesce", ["get", "color"], "#d7301f"], "line-width": 4}})
    if "route_stops" in layers:
        out.append({"id": "route_stops", "type": "circle", "source": "route_stops", "source-layer": "route_stops",
                    "paint": {"circle-radius": 7, "circle-color": ["coalesce", ["get", "color"], "#d7301f"],
                              "circle-stroke-color": "#ffffff", "circle-stroke-width": 2}})
    if "projects" in layers:
        out += _projects(layers["projects"], request)
    return {
        "version": 8,
        "name": "通辽市重大项目 / Tongliao major projects",
        "metadata": {"geoapp:source": "layers/projects.yaml, layers/vocabularies/sectors.yaml"},
        "center": [122.2, 43.9],
        "zoom": 7,
        "sources": sources,
        "layers": out,
    }


def _divisions() -> list[dict[str, Any]]:
    return [
        {"id": "divisions-fill", "type": "fill", "source": "divisions", "source-layer": "divisions",
         "paint": {"fill-color": "#ffffff", "fill-opacity": 0.25}},
        {"id": "divisions-line", "type": "line", "source": "divisions", "source-layer": "divisions",
         "paint": {"line-color": DIVISION_LINE, "line-width": 1.4}},
    ]


def _sector_colour(request: Request) -> Any:
    """A ``match`` on the stored sector code giving the vocabulary's colour (as the web map's markers)."""
    vocab = vocabularies(layers_dir_of(request)).get("sector")
    pairs: list[Any] = []
    for term in vocab.terms if vocab else []:
        if term.extra.get("color"):
            pairs += [term.code, term.extra["color"]]
    return ["match", ["get", "sector"], *pairs, FALLBACK_COLOUR] if pairs else FALLBACK_COLOUR


def _radius(layer: Layer) -> Any:
    """Half the web map's marker diameter: 14 px, plus 5 px per investment class the project reaches."""
    spec = layer.filters.get((layer.stats or {}).get("classes", ""))
    thresholds = sorted(c.min for c in spec.classes) if spec else []
    if not thresholds:
        return 8
    steps: list[Any] = ["step", ["coalesce", ["get", "total_investment"], 0], 7]
    for i, threshold in enumerate(thresholds, start=1):
        steps += [threshold, (14 + 5 * i) / 2]
    return steps


def _projects(layer: Layer, request: Request) -> list[dict[str, Any]]:
    colour = _sector_colour(request)
    cluster_max = layer.tiles.get("cluster_max_zoom")
    single: dict[str, Any] = {
        "id": "projects", "type": "circle", "source": "projects", "source-layer": "projects",
        "paint": {"circle-color": colour, "circle-radius": _radius(layer), "circle-stroke-color": "#ffffff",
                  "circle-stroke-width": 1.5},
    }
    if cluster_max is None:
        return [single]
    # up to cluster_max_zoom a tile feature is a grid cluster (point_count); a cluster of one is the project
    single["filter"] = ["any", [">", ["zoom"], cluster_max], ["==", ["coalesce", ["get", "point_count"], 1], 1]]
    clusters = {
        "id": "project-clusters", "type": "circle", "source": "projects", "source-layer": "projects",
        "maxzoom": int(cluster_max) + 1,
        "filter": [">", ["coalesce", ["get", "point_count"], 1], 1],
        "paint": {"circle-color": colour, "circle-opacity": 0.85, "circle-stroke-color": "#ffffff",
                  "circle-stroke-width": 2,
                  "circle-radius": ["interpolate", ["linear"], ["get", "point_count"], 2, 10, 50, 18, 500, 28]},
    }
    return [clusters, single]
