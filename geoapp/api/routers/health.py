"""GET /health: is the database there, and which PostgreSQL and PostGIS answer."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from geoapp import __version__
from geoapp.db.engine import server_versions

router = APIRouter(tags=["health"])


@router.get("/health")
def health(request: Request) -> JSONResponse:
    try:
        versions = server_versions(request.app.state.engine)
    except SQLAlchemyError as exc:
        return JSONResponse(
            {"status": "error", "database": "unreachable", "detail": str(exc.__cause__ or exc).splitlines()[0]},
            status_code=503,
        )
    return JSONResponse({"status": "ok", "version": __version__, "database": versions["postgresql"],
                         "postgis": versions["postgis"]})
