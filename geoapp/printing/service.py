"""What the API and the CLI call: one stored route in, PDF / GPX / KML bytes out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from geoapp.printing import documents, tracks
from geoapp.printing.basemap import BaseMap, load_basemap
from geoapp.printing.documents import Vocabs
from geoapp.printing.mapdraw import sector_colour
from geoapp.printing.model import PrintOptions, RoutePrint
from geoapp.printing.source import load_route_print


@dataclass
class Printable:
    """A route with everything drawn under it, read in one transaction."""

    route: RoutePrint
    base: BaseMap
    vocabs: Vocabs


def load_printable(engine: Engine, layers_dir: Path, route_id: str, lang: str = "zh") -> Printable:
    """The route (RouteNotFound when there is none), the base map and the vocabularies."""
    with engine.connect() as conn:
        route = load_route_print(conn, route_id, layers_dir, lang)
        base = load_basemap(conn)
    return Printable(route, base, Vocabs.load(layers_dir))


def route_map(p: Printable, options: PrintOptions) -> bytes:
    return documents.route_map_pdf(p.route, p.base, p.vocabs, options)


def handbook(p: Printable, options: PrintOptions) -> bytes:
    return documents.handbook_pdf(p.route, p.base, p.vocabs, options)


def gpx(p: Printable, crs: str = "wgs84", lang: str = "zh") -> bytes:
    return tracks.route_gpx(p.route, tracks.parse_crs(crs), lang).encode("utf-8")


def kml(p: Printable, crs: str = "wgs84", lang: str = "zh") -> bytes:
    colours = {c: sector_colour(p.vocabs.sectors, c) for c in p.vocabs.sectors.codes}
    return tracks.route_kml(p.route, colours, tracks.parse_crs(crs), lang).encode("utf-8")


def print_route(engine: Engine, layers_dir: Path, route_id: str, out_dir: Path,
                options: PrintOptions | None = None) -> list[Path]:
    """Everything an inspection team carries: map PDF, handbook PDF, GPX and KML (WGS84 and GCJ-02)."""
    options = options or PrintOptions()
    p = load_printable(engine, layers_dir, route_id, options.lang)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"route-{route_id}"
    suffix = "" if options.lang == "zh" else f"-{options.lang}"
    files = {
        f"{stem}-map{suffix}.pdf": route_map(p, options),
        f"{stem}-handbook{suffix}.pdf": handbook(p, options),
        f"{stem}.gpx": gpx(p, "wgs84", options.lang),
        f"{stem}-gcj02.gpx": gpx(p, "gcj02", options.lang),
        f"{stem}.kml": kml(p, "wgs84", options.lang),
        f"{stem}-gcj02.kml": kml(p, "gcj02", options.lang),
    }
    written = []
    for name, data in files.items():
        path = out_dir / name
        path.write_bytes(data)
        written.append(path)
    return written
