"""Printed routes: the route map and handbook PDFs, GPX and KML of a stored plan.

``{route_id}`` is the id ``POST /routes/plan`` returns (the plan, as ``GET /routes/{id}``); every route of it
is printed in turn, or only the one ``?route=`` names by number (1, 2 …) or name (北线).

Rendering is CPU work, so the handlers are plain functions (FastAPI runs them in its thread pool).
Unknown route → 404; a bad paper, orientation, language or crs → 400 naming the allowed values.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from geoapp.printing import service, tracks
from geoapp.printing.model import PrintOptions

router = APIRouter(tags=["printing"])

PDF = "application/pdf"
GPX = "application/gpx+xml"
KML = "application/vnd.google-earth.kml+xml"


def _document(media_type: str) -> dict:
    """What /api declares a printing route answers: a file of ``media_type`` (refusals: the one error body)."""
    return {"response_class": Response, "responses": {200: {"description": media_type, "content": {
        media_type: {"schema": {"type": "string", "format": "binary"}}}}}}


def _answer(make: Callable[[], tuple[bytes, str, str]], disposition: str = "inline") -> Response:
    """Run a renderer and answer its bytes as a named download; failures take the one error path."""
    data, media_type, filename = make()
    disposition = f"{disposition}; filename=\"{filename.encode('ascii', 'ignore').decode()}\"; " \
                  f"filename*=UTF-8''{quote(filename)}"
    return Response(data, media_type=media_type, headers={"Content-Disposition": disposition})


def _printable(request: Request, route_id: str, lang: str, route: str | None):
    settings = request.app.state.settings
    return service.load_printable(request.app.state.engine, settings.layers_dir, route_id, lang, route,
                                  settings=settings)


@router.get("/routes/{route_id}/map.pdf", summary="路线图 PDF / route map PDF", **_document(PDF))
def route_map_pdf(request: Request, route_id: str, paper: str = "A4", orientation: str | None = None,
                  lang: str = "zh", route: str | None = None) -> Response:
    def make():
        options = PrintOptions.parse(paper, orientation, lang)
        return service.route_map(_printable(request, route_id, options.lang, route), options), PDF, \
            f"route-{route_id}-map.pdf"
    return _answer(make)


@router.get("/routes/{route_id}/handbook.pdf", summary="观摩手册 PDF / inspection handbook PDF", **_document(PDF))
def handbook_pdf(request: Request, route_id: str, paper: str = "A4", orientation: str | None = None,
                 lang: str = "zh", route: str | None = None) -> Response:
    def make():
        options = PrintOptions.parse(paper, orientation, lang)
        return service.handbook(_printable(request, route_id, options.lang, route), options), PDF, \
            f"route-{route_id}-handbook.pdf"
    return _answer(make)


@router.get("/routes/{route_id}.gpx", summary="GPX 1.1（WGS84 或 GCJ-02）/ GPX 1.1 (WGS84 or GCJ-02)", **_document(GPX))
def route_gpx(request: Request, route_id: str, crs: str = "wgs84", lang: str = "zh",
              route: str | None = None) -> Response:
    def make():
        options, crs_n = PrintOptions.parse(lang=lang), tracks.parse_crs(crs)
        return service.gpx(_printable(request, route_id, options.lang, route), crs_n, options.lang), GPX, \
            f"route-{route_id}{'-gcj02' if crs_n == 'gcj02' else ''}.gpx"
    return _answer(make, "attachment")


@router.get("/routes/{route_id}.kml", summary="KML（WGS84 或 GCJ-02）/ KML (WGS84 or GCJ-02)", **_document(KML))
def route_kml(request: Request, route_id: str, crs: str = "wgs84", lang: str = "zh",
              route: str | None = None) -> Response:
    def make():
        options, crs_n = PrintOptions.parse(lang=lang), tracks.parse_crs(crs)
        return service.kml(_printable(request, route_id, options.lang, route), crs_n, options.lang), KML, \
            f"route-{route_id}{'-gcj02' if crs_n == 'gcj02' else ''}.kml"
    return _answer(make, "attachment")
