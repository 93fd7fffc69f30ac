"""What the API and the CLI call: one stored plan (all its routes, or one of them) in, PDF / GPX / KML out."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from geoapp.printing import documents, tracks
from geoapp.printing.basemap import BaseMap, load_basemap
from geoapp.printing.documents import Vocabs
from geoapp.printing.mapdraw import sector_colour
from geoapp.printing.model import Imprint, PrintOptions, RoutePrint
from geoapp.printing.source import RouteNotFound, load_route_prints


@dataclass
class Printable:
    """The routes to print with everything drawn under them, read in one transaction."""

    routes: list[RoutePrint]
    base: BaseMap
    vocabs: Vocabs
    imprint: Imprint = field(default_factory=Imprint)


def load_printable(engine: Engine, layers_dir: Path, route_id: str, lang: str = "zh",
                   route: str | None = None, settings: object | None = None) -> Printable:
    """The plan's routes (or the one ``route`` names), the base map and the vocabularies.

    ``settings`` (geoapp.settings.Settings) gives the 编制单位 printed on every sheet; callers that do not pass it
    get the environment's (GEOAPP_ORGANISATION …).
    """
    with engine.connect() as conn:
        routes = load_route_prints(conn, route_id, lang, route)
        if not routes:
            raise RouteNotFound(f"路线 {route_id} 没有安排任何项目 / route {route_id} visits no project")
        base = load_basemap(conn)
    return Printable(routes, base, Vocabs.load(layers_dir), Imprint.from_settings(settings))


def route_map(p: Printable, options: PrintOptions) -> bytes:
    return documents.route_map_pdf(p.routes, p.base, p.vocabs, options, p.imprint)


def handbook(p: Printable, options: PrintOptions) -> bytes:
    return documents.handbook_pdf(p.routes, p.base, p.vocabs, options, p.imprint)


def gpx(p: Printable, crs: str = "wgs84", lang: str = "zh") -> bytes:
    return tracks.routes_gpx(p.routes, tracks.parse_crs(crs), lang).encode("utf-8")


def kml(p: Printable, crs: str = "wgs84", lang: str = "zh") -> bytes:
    colours = {c: sector_colour(p.vocabs.sectors, c) for c in p.vocabs.sectors.codes}
    return tracks.routes_kml(p.routes, colours, tracks.parse_crs(crs), lang).encode("utf-8")


def _slug(name: str) -> str:
    return re.sub(r"[^\w\-]+", "-", name).strip("-") or "route"


def print_route(engine: Engine, layers_dir: Path, route_id: str, out_dir: Path,
                options: PrintOptions | None = None, settings: object | None = None) -> list[Path]:
    """Per route of the plan, what an inspection team carries: map PDF, handbook PDF, GPX and KML
    (WGS84 and GCJ-02)."""
    options = options or PrintOptions()
    everything = load_printable(engine, layers_dir, route_id, options.lang, settings=settings)
    out_dir.mkdir(parents=True, exist_ok=True)
    suffix = "" if options.lang == "zh" else f"-{options.lang}"
    written = []
    for route in everything.routes:
        p = Printable([route], everything.base, everything.vocabs, everything.imprint)
        stem = f"route-{route_id}-{_slug(route.name)}"
        files = {
            f"{stem}-map{suffix}.pdf": route_map(p, options),
            f"{stem}-handbook{suffix}.pdf": handbook(p, options),
            f"{stem}.gpx": gpx(p, "wgs84", options.lang),
            f"{stem}-gcj02.gpx": gpx(p, "gcj02", options.lang),
            f"{stem}.kml": kml(p, "wgs84", options.lang),
            f"{stem}-gcj02.kml": kml(p, "gcj02", options.lang),
        }
        for name, data in files.items():
            path = out_dir / name
            path.write_bytes(data)
            written.append(path)
    return written
