"""GPX 1.1 and KML of a route: parsed back by gpxpy and an XML parser, points checked against the stops."""

from __future__ import annotations

import gpxpy
import pytest
from lxml import etree
from pyproj import Geod
from shapely.geometry import LineString
from sqlalchemy import Engine, text

from geoapp.ingest.coords import wgs84_to_gcj02
from geoapp.printing import tracks
from geoapp.printing.model import PrintParameterError
from geoapp.vocab import vocabularies
from tests.conftest import LAYERS
from tests.printing_support import hand_route

KML = "{http://www.opengis.net/kml/2.2}"


def flat(points) -> list[float]:
    return [v for point in points for v in point]


@pytest.fixture
def route(demo_db: Engine):
    with demo_db.connect() as conn:
        codes = list(conn.execute(text("SELECT code FROM projects ORDER BY ST_Y(geom) DESC, code")).scalars())
    return hand_route(demo_db, codes, days=2)


def test_the_gpx_has_a_waypoint_per_stop_and_a_route_through_them_in_order(route):
    gpx = gpxpy.parse(tracks.route_gpx(route))
    assert gpx.version == "1.1"
    stop_wpts = gpx.waypoints[1:1 + len(route.stops)]
    for stop, wpt in zip(route.stops, stop_wpts, strict=True):
        assert wpt.name == f"{stop.seq:02d} {stop.name}"
        assert (wpt.longitude, wpt.latitude) == pytest.approx((stop.lon, stop.lat), abs=1e-7)
    assert gpx.waypoints[0].name == route.start.name and gpx.waypoints[-1].name == route.end.name
    (rte,) = gpx.routes
    assert flat((p.longitude, p.latitude) for p in rte.points) == pytest.approx(flat(route.points()), abs=1e-7)
    assert [p.name for p in rte.points if p.name[:2].isdigit()] == [f"{s.seq:02d} {s.name}" for s in route.stops]
    assert gpx.tracks == []  # estimated travel times: no road geometry to follow


def test_the_gpx_carries_the_road_track_when_the_route_follows_roads(route):
    route.line = LineString([(122.243, 43.654), (122.0, 43.8), (121.5, 44.1)])
    route.travel_model = "road_network"
    gpx = gpxpy.parse(tracks.route_gpx(route))
    (trk,) = gpx.tracks
    assert flat((p.longitude, p.latitude) for p in trk.segments[0].points) == pytest.approx(flat(route.line.coords))


def test_the_gcj02_variant_shifts_every_point_by_the_published_offset(route):
    wgs = gpxpy.parse(tracks.route_gpx(route, "wgs84"))
    gcj = gpxpy.parse(tracks.route_gpx(route, tracks.parse_crs("GCJ-02")))
    assert "GCJ-02" in gcj.description
    geod = Geod(ellps="WGS84")
    for a, b in zip(wgs.waypoints, gcj.waypoints, strict=True):
        lon, lat = wgs84_to_gcj02(a.longitude, a.latitude)
        assert (b.longitude, b.latitude) == pytest.approx((float(lon), float(lat)), abs=1e-7)
        _, _, metres = geod.inv(a.longitude, a.latitude, b.longitude, b.latitude)
        assert 300 < metres < 800  # GCJ-02 is ~0.5 km off the true position in Tongliao


def test_an_unknown_crs_is_refused_naming_the_allowed_ones():
    with pytest.raises(PrintParameterError) as err:
        tracks.parse_crs("bd09")
    assert err.value.allowed == ["wgs84", "gcj02"] and "gcj02" in str(err.value)


def test_the_kml_parses_with_a_placemark_per_stop_and_the_route_line(route):
    colours = {t.code: t.extra["color"] for t in vocabularies(LAYERS)["sector"].terms}
    doc = etree.fromstring(tracks.route_kml(route, colours).encode("utf-8"))
    assert doc.tag == f"{KML}kml"
    folder = doc.find(f"{KML}Document/{KML}Folder")
    assert folder.findtext(f"{KML}name") == route.name
    marks = [m for m in folder.findall(f"{KML}Placemark")
             if m.find(f"{KML}Point") is not None and m.findtext(f"{KML}name")[:2].isdigit()]
    assert [m.findtext(f"{KML}name") for m in marks] == [f"{s.seq:02d} {s.name}" for s in route.stops]
    for stop, mark in zip(route.stops, marks, strict=True):
        lon, lat, _ = (float(v) for v in mark.findtext(f"{KML}Point/{KML}coordinates").split(","))
        assert (lon, lat) == pytest.approx((stop.lon, stop.lat), abs=1e-7)
        assert mark.findtext(f"{KML}styleUrl") == f"#sector-{stop.sector}"
    line = doc.find(f".//{KML}LineString/{KML}coordinates").text.split()
    assert len(line) == len(route.points())
    style = doc.find(f"{KML}Document/{KML}Style[@id='sector-{route.stops[0].sector}']")
    rgb = colours[route.stops[0].sector]
    assert style.findtext(f"{KML}IconStyle/{KML}color") == f"ff{rgb[5:7]}{rgb[3:5]}{rgb[1:3]}".lower()
