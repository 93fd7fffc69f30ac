"""The web map's own endpoints: its configuration and the standalone HTML map of a filter.

The data itself (items, tiles, statistics, CSV/XLSX/GeoJSON exports) comes from the layers API.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from geoapp.webmap.config import webmap_config

router = APIRouter(prefix="/webmap", tags=["webmap"])


@router.get("/config")
def config(request: Request) -> JSONResponse:
    """Basemaps enabled in the settings, vocabularies with their colours and icons, filter classes, seats."""
    return JSONResponse(webmap_config(request.app.state.settings, request.app.state.engine))
