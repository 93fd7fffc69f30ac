"""GET /health: is the database there, and which PostgreSQL and PostGIS answer.

A database that cannot be reached is answered by the one error path (geoapp/api/errors.py): 503 with Retry-After
and the one error body, as every other endpoint answers then.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from geoapp import __version__
from geoapp.db.engine import server_versions

router = APIRouter(tags=["health"])


@router.get("/health")
def health(request: Request) -> JSONResponse:
    versions = server_versions(request.app.state.engine)
    return JSONResponse({"status": "ok", "version": __version__, "database": versions["postgresql"],
                         "postgis": versions["postgis"]})
