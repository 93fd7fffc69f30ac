"""Column headers → project fields, in Chinese or English, with the units and years written in them.

The forms a spreadsheet uses (项目编号/编号, 总投资（亿元）, 2025年计划投资 …) are listed here; the titles the
export writes come from ``layers/projects.yaml`` (property titles, zh and en), so an export re-imports as is.
The header row is found by scanning the first rows, so a merged title row above it does not matter.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

# The project fields an import fills, in report order, with their Chinese and English names for messages.
FIELD_TITLES: dict[str, tuple[str, str]] = {
    "code": ("项目编号", "project code"),
    "name": ("项目名称", "project name"),
    "division": ("旗县市区", "division"),
    "sector": ("行业领域", "sector"),
    "tier": ("项目层级", "tier"),
    "status": ("项目状态", "status"),
    "scope": ("建设内容及规模", "scope"),
    "total_investment": ("总投资", "total investment"),
    "planned_investment": ("年度计划投资", "planned investment"),
    "plan_year": ("计划年度", "plan year"),
    "start_year": ("开工年份", "start year"),
    "end_year": ("竣工年份", "end year"),
    "company": ("建设单位", "company"),
    "responsible_unit": ("责任单位", "responsible unit"),
    "leader": ("包联领导", "leader in charge"),
    "lon": ("经度", "longitude"),
    "lat": ("纬度", "latitude"),
    "coords": ("坐标", "coordinates"),
    "coord_source": ("坐标来源", "coordinate source"),
    "location_precision": ("位置精度", "location precision"),
    "source": ("数据来源", "source"),
}
REQUIRED = ("code", "name", "division", "sector", "tier", "status")
MONEY_FIELDS = ("total_investment", "planned_investment")

# Header forms in use (compared after normalize()); the field names themselves are accepted too.
ALIASES: dict[str, tuple[str, ...]] = {
    "code": ("项目编号", "编号", "项目代码", "项目编码", "项目统一代码", "code", "projectcode", "projectid"),
    "name": ("项目名称", "名称", "name", "projectname"),
    "division": ("旗县市区", "所属地区", "建设地点", "旗县区", "所属旗县", "所属旗县市区", "旗县", "地区",
                 "所在地区", "行政区", "行政区划", "division", "division_code", "county", "banner", "location"),
    "sector": ("行业领域", "产业类别", "所属行业", "行业", "行业类别", "产业链", "所属产业链", "产业领域",
               "sector", "industry"),
    "tier": ("项目阶段", "项目层级", "库别", "层级", "项目库", "所属库", "tier", "stage"),
    "status": ("项目状态", "建设状态", "状态", "建设性质", "进展状态", "status"),
    "scope": ("建设内容及规模", "建设规模及内容", "建设内容", "主要建设内容", "建设规模", "scope", "description"),
    "total_investment": ("总投资", "计划总投资", "项目总投资", "估算总投资", "totalinvestment", "total_investment"),
    "planned_investment": ("年度计划投资", "计划投资", "本年计划投资", "年度投资计划", "plannedinvestment",
                           "planned_investment", "plannedinvestmentthisyear"),
    "plan_year": ("计划年度", "年度", "plan_year", "planyear"),
    "start_year": ("开工年份", "开工时间", "开工年度", "计划开工时间", "开工日期", "start_year", "startyear"),
    "end_year": ("竣工年份", "竣工时间", "完工时间", "计划竣工时间", "竣工年度", "完工年份", "end_year", "endyear"),
    "company": ("项目单位", "建设单位", "业主单位", "项目业主", "实施单位", "company", "owner"),
    "responsible_unit": ("责任单位", "牵头单位", "主管单位", "responsible_unit", "responsibleunit"),
    "leader": ("包联领导", "包联市领导", "联系领导", "包抓领导", "leader", "leaderincharge"),
    "lon": ("经度", "东经", "lon", "lng", "long", "longitude", "x"),
    "lat": ("纬度", "北纬", "lat", "latitude", "y"),
    "coords": ("坐标", "经纬度", "经纬度坐标", "坐标(经度,纬度)", "coordinates", "lonlat", "coords"),
    "coord_source": ("坐标来源", "原始坐标系", "coord_source", "coordinatesource"),
    "location_precision": ("位置精度", "定位精度", "location_precision", "locationprecision"),
    "source": ("数据来源", "来源", "source"),
}

# Units written in a money header, as a factor to 万元 (what is stored).
MONEY_UNITS = {"亿元": 10000.0, "亿": 10000.0, "万元": 1.0, "万": 1.0, "元": 0.0001,
               "10kyuan": 1.0, "10,000yuan": 1.0, "100myuan": 10000.0, "100millionyuan": 10000.0, "yuan": 0.0001}
# Coordinate systems a coordinate header may name, e.g. 经度（WGS84）, 经度(高德).
CRS_HINTS = {"wgs84": "wgs84", "wgs-84": "wgs84", "gps": "wgs84", "cgcs2000": "cgcs2000", "2000": "cgcs2000",
             "gcj02": "gcj02", "gcj-02": "gcj02", "高德": "gcj02", "火星": "gcj02", "腾讯": "gcj02",
             "bd09": "bd09", "bd-09": "bd09", "百度": "bd09"}

_PLAN_YEAR = re.compile(r"^(\d{4})年?度?(?:计划投资|计划完成投资|投资计划|年度计划投资)$")
_PARENS = re.compile(r"^(.*?)[(\[{<]([^()\[\]{}<>]*)[)\]}>]$")
_UNIT_LABEL = re.compile(r"^(?:单位[:：])?(.*)$")
MAX_HEADER_CHARS = 100
"""A cell longer than this is not a header (the longest known, "Planned investment this year (10k yuan)", has 39
characters): it is not normalised or matched, so the header search never spends time on a long data cell."""


def normalize(text: object) -> str:
    """Fold full-width forms, case, blanks and markers (* ※ ：) so 总投资（亿元） and 总投资 (亿元) match."""
    folded = unicodedata.normalize("NFKC", str(text)).casefold()
    return "".join(ch for ch in folded if not ch.isspace() and ch not in "*※:").strip()


@dataclass(frozen=True)
class Column:
    """One recognised column: where it is, which field it fills and what its header says about units."""

    index: int
    header: str
    field: str
    factor: float = 1.0          # money: multiply by this to get 万元
    plan_year: int | None = None  # 2025年计划投资
    crs: str | None = None       # 经度（WGS84）


@dataclass
class HeaderMap:
    row: int | None
    columns: list[Column] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (header, field) seen twice

    @property
    def fields(self) -> set[str]:
        return {c.field for c in self.columns}

    def missing(self) -> list[str]:
        """Required fields with no column (coordinates: lon+lat or one 坐标 column)."""
        have = self.fields
        missing = [f for f in REQUIRED if f not in have]
        if "coords" not in have and not {"lon", "lat"} <= have:
            missing.append("coords" if not ({"lon", "lat"} & have) else ("lat" if "lon" in have else "lon"))
        return missing

    def crs_hints(self) -> set[str]:
        return {c.crs for c in self.columns if c.crs}


@cache
def _alias_index(layers_dir: Path | None) -> dict[str, str]:
    index: dict[str, str] = {}
    for name, forms in ALIASES.items():
        for form in (name, *forms):
            index.setdefault(normalize(form), name)
    for name, titles in _layer_titles(layers_dir).items():
        for title in titles:
            base, _ = split_unit(normalize(title))
            index.setdefault(base, name)
    return index


def _layer_titles(layers_dir: Path | None) -> dict[str, list[str]]:
    """The export's headers: property titles of layers/projects.yaml (and its coordinate column titles)."""
    if layers_dir is None:
        return {}
    path = Path(layers_dir) / "projects.yaml"
    if not path.is_file():
        return {}
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out: dict[str, list[str]] = {}
    rename = {"division_code": "division"}
    for prop in doc.get("properties") or []:
        name = rename.get(prop["name"], prop["name"])
        if name in FIELD_TITLES:
            out.setdefault(name, []).extend((prop.get("title") or {}).values())
    for name, title in ((doc.get("export") or {}).get("coordinates") or {}).items():
        if name in ("lon", "lat"):
            out.setdefault(name, []).extend(title.values())
    return out


def split_unit(header: str) -> tuple[str, str | None]:
    """'总投资(亿元)' → ('总投资', '亿元'); '总投资亿元' → ('总投资', '亿元'); a normalized header in, parts out."""
    match = _PARENS.match(header)
    if match and match.group(1):
        inner = _UNIT_LABEL.match(match.group(2)).group(1)
        return match.group(1), inner
    for unit in ("亿元", "万元"):
        if header.endswith(unit) and len(header) > len(unit):
            return header[: -len(unit)].rstrip("/_-"), unit
    if "/" in header:
        base, _, unit = header.rpartition("/")
        if unit in MONEY_UNITS:
            return base, unit
    return header, None


def match_header(text: object, layers_dir: Path | None = None) -> Column | None:
    """The field a header names, with its unit factor, plan year or coordinate system; None if unknown."""
    if text is None:
        return None
    raw = str(text).strip()
    if len(raw) > MAX_HEADER_CHARS:
        return None
    key = normalize(raw)
    if not key:
        return None
    base, unit = split_unit(key)
    index = _alias_index(layers_dir)
    name = index.get(base) or index.get(key)
    plan_year = None
    if name is None:
        match = _PLAN_YEAR.match(base)
        if match:
            name, plan_year = "planned_investment", int(match.group(1))
    if name is None:
        return None
    factor, crs = 1.0, None
    if unit:
        if name in MONEY_FIELDS:
            factor = MONEY_UNITS.get(unit, 1.0)
        elif name in ("lon", "lat", "coords"):
            crs = CRS_HINTS.get(unit)
    return Column(index=-1, header=raw, field=name, factor=factor, plan_year=plan_year, crs=crs)


def map_headers(cells: list, row: int | None, layers_dir: Path | None = None) -> HeaderMap:
    """Recognise the columns of one header row; the first column for a field wins, others are reported."""
    result = HeaderMap(row=row)
    seen: set[str] = set()
    for i, cell in enumerate(cells):
        column = match_header(cell, layers_dir)
        if column is None:
            if cell is not None and str(cell).strip():
                result.ignored.append(str(cell).strip())
            continue
        if column.field in seen:
            result.duplicates.append((column.header, column.field))
            continue
        seen.add(column.field)
        result.columns.append(Column(i, column.header, column.field, column.factor, column.plan_year, column.crs))
    return result


def find_header_row(rows: list[tuple[int, list]], layers_dir: Path | None = None) -> HeaderMap | None:
    """The row among the first ones that names the most fields (at least three), e.g. below a merged title."""
    best: HeaderMap | None = None
    for row_no, cells in rows:
        candidate = map_headers(cells, row_no, layers_dir)
        if len(candidate.columns) >= 3 and (best is None or len(candidate.columns) > len(best.columns)):
            best = candidate
    return best
