"""GET /health: is the database there, and which PostgreSQL and PostGIS answer."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from geoapp import __version__
from geoapp.db.engine import server_versions

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


@router.get("/health")
def health(request: Request) -> JSONResponse:
    try:
        versions = server_versions(request.app.state.engine)
    except SQLAlchemyError as exc:
        log.warning("health: database unreachable: %s", exc)
        return JSONResponse(
            {"status": "error", "database": "unreachable"}, status_code=503, headers={"Retry-After": "5"},
        )
    return JSONResponse({"status": "ok", "version": __version__, "database": versions["postgresql"],
                         "postgis": versions["postgis"]})
