"""CORS for the read API: a web map on another origin (MapLibre, OpenLayers, a GIS portal) may read our tiles,
TileJSON, styles, items, collections, /api and the landing page.

Origins come from ``settings.cors_origins`` (``GEOAPP_CORS_ORIGINS``): ``*`` (the default) lets any page read an
open map, without cookies; explicit origins (``https://gis.example.cn,https://portal.example.cn``) are needed when
reading requires a login, and only then are credentials (the login cookie) allowed, since a browser refuses
``*`` with credentials. Only reading methods are allowed across origins: a preflight for POST/PUT/DELETE gets no
CORS headers, so a page elsewhere cannot write with a planner's cookie (the Origin check of cookie-authenticated
writes is the second lock). Starlette's CORSMiddleware is a plain ASGI middleware and answers preflights itself,
before any login guard.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from geoapp.settings import Settings

READ_METHODS = ["GET", "HEAD", "OPTIONS"]
# what a cross-origin script may send: content negotiation, a token, conditional requests
ALLOWED_HEADERS = ["Accept", "Accept-Language", "Authorization", "If-None-Match", "If-Modified-Since",
                   "Content-Type"]
# what it may read besides the simple response headers: caching and paging (Part 1 Link headers), the CRS
EXPOSED_HEADERS = ["ETag", "Link", "Content-Crs", "Content-Disposition", "X-Request-ID"]
PREFLIGHT_MAX_AGE = 600


def cors_origins(settings: Settings) -> list[str]:
    return [o.strip().rstrip("/") for o in (settings.cors_origins or "").split(",") if o.strip()]


def install_cors(app: FastAPI) -> None:
    """Answer cross-origin reads (and their preflights) as the settings say; nothing when the list is empty."""
    origins = cors_origins(app.state.settings)
    if not origins:
        return
    wildcard = "*" in origins
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"] if wildcard else origins,
        allow_credentials=not wildcard,  # cookies only for named origins (browsers refuse them with "*")
        allow_methods=READ_METHODS,
        allow_headers=ALLOWED_HEADERS,
        expose_headers=EXPOSED_HEADERS,
        max_age=PREFLIGHT_MAX_AGE,
    )
