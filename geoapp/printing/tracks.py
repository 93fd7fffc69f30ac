"""GPX 1.1 and KML of a route for navigation apps and GIS tools, in WGS84 or shifted to GCJ-02.

Chinese navigation apps (Amap, Tencent) draw GCJ-02, so a WGS84 track shows there ~500 m off in
Tongliao; ``crs="gcj02"`` shifts every coordinate with the forward formula of ``geoapp.ingest.coords``.
Nothing is stored shifted: the conversion happens here, on the way out.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import gpxpy.gpx
from shapely.geometry import LineString

from geoapp.ingest.coords import wgs84_to_gcj02
from geoapp.printing.labels import word
from geoapp.printing.mapdraw import line_parts, route_geometry
from geoapp.printing.model import PrintParameterError, RoutePrint, StopPrint

TRACK_CRS = ("wgs84", "gcj02")
KML_NS = "http://www.opengis.net/kml/2.2"


def parse_crs(value: str | None) -> str:
    crs = (value or "wgs84").strip().lower().replace("-", "")
    if crs not in TRACK_CRS:
        raise PrintParameterError(
            "crs", TRACK_CRS,
            f"参数 crs 无效：'{value}'，可选 wgs84 / gcj02", f"invalid crs '{value}': allowed values are wgs84, gcj02"
        )
    return crs


def _shift(coords: list[tuple[float, float]], crs: str) -> list[tuple[float, float]]:
    if crs == "wgs84" or not coords:
        return coords
    lons, lats = wgs84_to_gcj02([c[0] for c in coords], [c[1] for c in coords])
    return [(float(x), float(y)) for x, y in zip(lons, lats, strict=True)]


def _stop_text(route: RoutePrint, s: StopPrint, lang: str) -> str:
    day = word("day", lang, n=s.day)
    return f"{day} {s.arrival:%H:%M}–{s.departure:%H:%M} · {s.division} · {s.code}"


def _crs_note(crs: str, lang: str) -> str:
    return word("crs_gcj02" if crs == "gcj02" else "crs_wgs84", lang)


def route_gpx(route: RoutePrint, crs: str = "wgs84", lang: str = "zh") -> str:
    return routes_gpx([route], crs, lang)


def routes_gpx(routes: list[RoutePrint], crs: str = "wgs84", lang: str = "zh") -> str:
    """Per route: waypoints for the start, every stop and the end; a route through them in order; the road
    track if the route follows roads. With several routes the waypoint names start with the route's name."""
    gpx = gpxpy.gpx.GPX()
    gpx.creator = "geoapp (通辽市重大项目地图)"
    gpx.name = " / ".join(r.name for r in routes)
    gpx.description = _crs_note(crs, lang)
    for route in routes:
        prefix = f"{route.name} " if len(routes) > 1 else ""
        places = [(prefix + route.start.name, route.start.lon, route.start.lat, word("start", lang))]
        places += [(f"{prefix}{s.seq:02d} {s.name}", s.lon, s.lat, _stop_text(route, s, lang)) for s in route.stops]
        for d in route.days[:-1]:
            if d.overnight:
                places.append((prefix + d.end.name, d.end.lon, d.end.lat, word("overnight", lang)))
        places.append((prefix + route.end.name, route.end.lon, route.end.lat, word("end", lang)))
        shifted = _shift([(p[1], p[2]) for p in places], crs)
        for (name, _, _, desc), (lon, lat) in zip(places, shifted, strict=True):
            gpx.waypoints.append(gpxpy.gpx.GPXWaypoint(latitude=lat, longitude=lon, name=name, description=desc))

        rte = gpxpy.gpx.GPXRoute(name=route.name, description=_crs_note(crs, lang))
        labels = []
        for d in route.days:
            labels.append(d.start.name)
            labels.extend(f"{s.seq:02d} {s.name}" for s in route.stops_of(d.day))
            labels.append(d.end.name)
        for (lon, lat), name in zip(_shift(route.points(), crs), labels, strict=True):
            rte.points.append(gpxpy.gpx.GPXRoutePoint(latitude=lat, longitude=lon, name=name))
        gpx.routes.append(rte)

        geometry, follows_roads = route_geometry(route)
        if follows_roads:
            track = gpxpy.gpx.GPXTrack(name=route.name)
            for line in line_parts(geometry):
                seg = gpxpy.gpx.GPXTrackSegment()
                for lon, lat in _shift([(c[0], c[1]) for c in line.coords], crs):
                    seg.points.append(gpxpy.gpx.GPXTrackPoint(latitude=lat, longitude=lon))
                track.segments.append(seg)
            gpx.tracks.append(track)
    return gpx.to_xml(version="1.1")


def _kml_colour(hex_rgb: str, alpha: str = "ff") -> str:
    """KML colours are aabbggrr."""
    r, g, b = hex_rgb[1:3], hex_rgb[3:5], hex_rgb[5:7]
    return f"{alpha}{b}{g}{r}".lower()


def _coords(points: list[tuple[float, float]]) -> str:
    return " ".join(f"{lon:.7f},{lat:.7f},0" for lon, lat in points)


def route_kml(route: RoutePrint, sector_colours: dict[str, str], crs: str = "wgs84", lang: str = "zh") -> str:
    return routes_kml([route], sector_colours, crs, lang)


def routes_kml(routes: list[RoutePrint], sector_colours: dict[str, str], crs: str = "wgs84",
               lang: str = "zh") -> str:
    """A KML document with a folder per route: its line, numbered stop placemarks styled by sector, start/end."""
    ET.register_namespace("", KML_NS)
    q = f"{{{KML_NS}}}"
    kml = ET.Element(f"{q}kml")
    doc = ET.SubElement(kml, f"{q}Document")
    ET.SubElement(doc, f"{q}name").text = " / ".join(r.name for r in routes)
    ET.SubElement(doc, f"{q}description").text = _crs_note(crs, lang)
    for code, colour in sorted(sector_colours.items()):
        style = ET.SubElement(doc, f"{q}Style", id=f"sector-{code}")
        icon = ET.SubElement(style, f"{q}IconStyle")
        ET.SubElement(icon, f"{q}color").text = _kml_colour(colour)
    for n, route in enumerate(routes):
        line_style = ET.SubElement(doc, f"{q}Style", id=f"route-{n}")
        ls = ET.SubElement(line_style, f"{q}LineStyle")
        ET.SubElement(ls, f"{q}color").text = _kml_colour(route.color)
        ET.SubElement(ls, f"{q}width").text = "4"

        folder = ET.SubElement(doc, f"{q}Folder")
        ET.SubElement(folder, f"{q}name").text = route.name
        geometry, follows_roads = route_geometry(route)
        line_mark = ET.SubElement(folder, f"{q}Placemark")
        ET.SubElement(line_mark, f"{q}name").text = f"{route.name} · {word('route', lang)}"
        ET.SubElement(line_mark, f"{q}styleUrl").text = f"#route-{n}"
        multi = ET.SubElement(line_mark, f"{q}MultiGeometry")
        lines = line_parts(geometry) if follows_roads else [LineString(route.points())]
        for line in lines:
            ls_el = ET.SubElement(multi, f"{q}LineString")
            ET.SubElement(ls_el, f"{q}tessellate").text = "1"
            ET.SubElement(ls_el, f"{q}coordinates").text = _coords(_shift([(c[0], c[1]) for c in line.coords], crs))

        stop_points = _shift([(s.lon, s.lat) for s in route.stops], crs)
        for s, (lon, lat) in zip(route.stops, stop_points, strict=True):
            pm = ET.SubElement(folder, f"{q}Placemark")
            ET.SubElement(pm, f"{q}name").text = f"{s.seq:02d} {s.name}"
            ET.SubElement(pm, f"{q}description").text = _stop_text(route, s, lang)
            if s.sector in sector_colours:
                ET.SubElement(pm, f"{q}styleUrl").text = f"#sector-{s.sector}"
            ET.SubElement(ET.SubElement(pm, f"{q}Point"), f"{q}coordinates").text = _coords([(lon, lat)])
        ends = [(word("start", lang), route.start)] + [(word("overnight", lang), d.end) for d in route.days[:-1]
                                                        if d.overnight] + [(word("end", lang), route.end)]
        for (kind, place), (lon, lat) in zip(ends, _shift([(p.lon, p.lat) for _, p in ends], crs), strict=True):
            pm = ET.SubElement(folder, f"{q}Placemark")
            ET.SubElement(pm, f"{q}name").text = f"{kind}：{place.name}" if lang == "zh" else f"{kind}: {place.name}"
            ET.SubElement(ET.SubElement(pm, f"{q}Point"), f"{q}coordinates").text = _coords([(lon, lat)])
    ET.indent(kml)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(kml, encoding="unicode")
