"""The web map's own endpoints: its configuration and the standalone HTML map of a filter.

The data itself (items, tiles, statistics, CSV/XLSX/GeoJSON exports) comes from the layers API.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from geoapp.webmap.config import webmap_config
from geoapp.webmap.folium_export import build_map

router = APIRouter(prefix="/webmap", tags=["webmap"])


@router.get("/config")
def config(request: Request) -> JSONResponse:
    """Basemaps enabled in the settings, vocabularies with their colours and icons, filter classes, seats."""
    return JSONResponse(webmap_config(request.app.state.settings, request.app.state.engine))


@router.get("/export.html", response_class=Response, responses={200: {"description": "HTML", "content": {
    "text/html": {"schema": {"type": "string"}}}}})
def export_html(request: Request, lang: str = "zh") -> Response:
    """A standalone offline HTML map (folium, Leaflet inlined) of the projects matching the layers API's filter
    parameters (sector, tier, status, division, investment_class, start_year, q, bbox, filter)."""
    settings = request.app.state.settings
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        if key != "lang":
            params.setdefault(key, []).append(value)
    with request.app.state.engine.connect() as conn:
        page, _ = build_map(conn, params, settings.layers_dir, settings.static_dir, lang)
    return Response(page, media_type="text/html; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="tongliao-projects-map.html"'})
