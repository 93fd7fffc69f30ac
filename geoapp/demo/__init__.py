"""Demo data: Tongliao's divisions, its named projects (with sources), and labelled synthetic projects.

Named projects carry their citations and say 推定 where tier, status or banner are inferred; an industrial base of
many enterprises (``kind: base``) has no total investment, so it counts in no investment class.
Synthetic projects exist for scale and route tests. They are never presented as real: their source is
``synthetic``, their codes start with ``SYN-`` and their names carry 示例 and （合成数据）. They are placed and mixed
like the city's list (most in 科尔沁区 and the development zone, aluminium around 霍林郭勒 and 扎鲁特 …).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import shapely
import yaml
from sqlalchemy import Connection, text

from geoapp.db.project_store import UpsertCounts, upsert_projects
from geoapp.divisions import find_city, load_divisions
from geoapp.errors import GeoappError
from geoapp.vocab import vocabularies

DEMO_CITY = "通辽市"
SYNTHETIC_SOURCE = "synthetic"
# Keys of a named project in the YAML that are not columns: they become the source text, or mark a base.
META_KEYS = ("citations", "inferred", "location", "kind")
INFERRED_LABELS = {"tier": "层级", "status": "状态", "division": "所在旗县"}
AGGREGATE_KINDS = ("base", "park")

# Mixes for synthetic data. Investment (万元) is log-normal, fitted so that about 10 % of projects reach
# 10亿 and about 1.7 % reach 50亿, the proportions of Tongliao's 2025 plan (544 / 53 / 9).
LOG_INVEST_MU, LOG_INVEST_SIGMA = 9.08, 1.9
TIER_WEIGHTS = {"planning": 0.3, "reserve": 0.3, "implementation": 0.4}
STATUS_BY_TIER = {
    "planning": {"preliminary": 1.0},
    "reserve": {"preliminary": 0.9, "construction": 0.1},
    "implementation": {"preliminary": 0.15, "construction": 0.6, "operating": 0.2, "suspended": 0.05},
}
# Where synthetic projects go. Not statistics (no per-banner counts are published): shares chosen so the demo
# looks like the city's list as reported — most projects in 科尔沁区 and the development zone, aluminium around
# 霍林郭勒 and 扎鲁特 (扎哈淖尔), wind equipment in 科尔沁区, LNG in 科左后旗, nickel and silica sand in 奈曼 and
# 库伦 (shared reference: "Named projects", "Industrial parks"). Codes are GB/T 2260 (150571: NBS, no polygon).
DIVISION_SHARES = {
    "150502": 0.22, "150571": 0.10, "150581": 0.12, "150526": 0.11, "150525": 0.10,
    "150521": 0.09, "150522": 0.09, "150523": 0.09, "150524": 0.08,
}
# Every sector weighs 1 in every division, times these factors where a division is known for the sector.
SECTOR_FACTORS = {
    "150502": {"wind_equipment": 8, "services": 3, "digital_economy": 3, "infrastructure": 2, "medicine": 2},
    "150571": {"corn_bio": 6, "wind_equipment": 3, "new_materials": 2, "services": 2},
    "150581": {"green_aluminium": 12, "coal": 4, "renewable_energy": 2},
    "150526": {"green_aluminium": 6, "coal": 3, "coal_chemical": 3, "renewable_energy": 3},
    "150525": {"nickel_materials": 6, "silica_materials": 4, "agri_food": 2},
    "150524": {"silica_materials": 3, "new_materials": 3, "tourism": 3, "agri_food": 2},
    "150521": {"agri_food": 4, "renewable_energy": 3},
    "150522": {"lng": 6, "renewable_energy": 3, "agri_food": 2},
    "150523": {"agri_food": 3, "renewable_energy": 3, "corn_bio": 2},
}
# Projects gather at seats and industrial parks: this share of a division's projects lies near one of its hubs
# (normal spread HUB_SPREAD_DEG), the rest anywhere inside it. Hubs besides the seats (approximate, [unverified]
# in the reference): a sector listed with a hub draws that sector's projects there.
HUB_SHARE, HUB_SPREAD_DEG = 0.6, 0.06
PARK_HUBS = {
    "150526": [(119.85, 45.45, ("green_aluminium", "coal", "coal_chemical"))],    # 扎哈淖尔产业园
    "150581": [(119.68, 45.50, ("green_aluminium", "coal", "new_materials"))],    # 霍林郭勒工业园区
}
# Points of the development zone, which has no polygon, fall within this radius (degrees) of its centre.
ZONE_RADIUS_DEG = 0.03


def _document() -> dict:
    return yaml.safe_load((resources.files("geoapp.demo") / "tongliao_projects.yaml").read_text(encoding="utf-8"))


def citation(ref: dict) -> str:
    """A citation as a reader looks it up: author：《title》，outlet，date[，url] (no repost, no file path).

    A headline not known is never dressed up as one: the report is then described (``about``) and marked 标题未核实.
    """
    work = f"《{ref['title']}》" if ref.get("title") else f"{ref['about']}（标题未核实）"
    parts = [f"{ref['author']}：{work}" if ref.get("author") else work, ref["outlet"], str(ref["date"])]
    if ref.get("url"):
        parts.append(ref["url"])
    return "，".join(parts)


def source_text(project: dict, sources: dict[str, dict]) -> str:
    """The project's source: its citations, then what was inferred (推定) and why, then the location note."""
    text_ = "；".join(citation(sources[key]) for key in project["citations"]) + "。"
    inferred = project.get("inferred") or {}
    if inferred:
        text_ += "；".join(f"{INFERRED_LABELS[k]}为推定（{why}）" for k, why in inferred.items()) + "。"
    if project.get("location"):
        text_ += f"位置：{project['location']}。"
    return text_


def _row(project: dict, sources: dict[str, dict]) -> dict:
    if project.get("kind") in AGGREGATE_KINDS and project.get("total_investment") is not None:
        raise GeoappError(zh=f"演示数据 {project['code']} 是产业基地/园区，不能有总投资（写入建设内容）",
                          en=f"demo project {project['code']} is a base or park: it takes no total_investment "
                             "(put the figure in its scope)", parameter="total_investment")
    row = {k: v for k, v in project.items() if k not in META_KEYS and k != "division"}
    return {**row, "division_code": str(project["division"]), "source": source_text(project, sources)}


def named_projects() -> list[dict]:
    """The named projects as rows for the project store, each with its citations as source text."""
    doc = _document()
    return [_row(p, doc["sources"]) for p in doc["projects"]]


def aggregate_codes() -> set[str]:
    """Codes of the named entries that are industrial bases or parks (many enterprises, not one project)."""
    return {p["code"] for p in _document()["projects"] if p.get("kind") in AGGREGATE_KINDS}


def load_demo(conn: Connection, layers_dir: Path) -> UpsertCounts:
    """Divisions of 通辽市 and the named projects; loading twice changes nothing."""
    load_divisions(conn, DEMO_CITY, layers_dir)
    return upsert_projects(conn, named_projects())


def _choice(rng: np.random.Generator, weights: dict[str, float], n: int) -> np.ndarray:
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=float)
    return np.array(keys)[rng.choice(len(keys), size=n, p=p / p.sum())]


def _points_in(rng: np.random.Generator, polygon, n: int) -> np.ndarray:
    """n uniform random points inside a polygon by rejection sampling within its bounds."""
    minx, miny, maxx, maxy = polygon.bounds
    shapely.prepare(polygon)
    out = np.empty((0, 2))
    while len(out) < n:
        batch = rng.uniform((minx, miny), (maxx, maxy), size=(max(2 * (n - len(out)), 64), 2))
        out = np.vstack([out, batch[shapely.contains_xy(polygon, batch[:, 0], batch[:, 1])]])
    return out[:n]


def _points_near(rng: np.random.Generator, polygon, hub: tuple[float, float], n: int) -> np.ndarray:
    """n points spread normally around a hub, kept inside the polygon (uniform inside it if the hub lies off it)."""
    shapely.prepare(polygon)
    out = np.empty((0, 2))
    for _ in range(50):
        if len(out) >= n:
            break
        batch = rng.normal(hub, HUB_SPREAD_DEG, size=(max(2 * (n - len(out)), 16), 2))
        out = np.vstack([out, batch[shapely.contains_xy(polygon, batch[:, 0], batch[:, 1])]])
    if len(out) < n:
        out = np.vstack([out, _points_in(rng, polygon, n - len(out))])
    return out[:n]


def _sector_weights(division: str, codes: list[str]) -> dict[str, float]:
    factors = SECTOR_FACTORS.get(division, {})
    return {c: float(factors.get(c, 1)) for c in codes}


def _hub_for(hubs: list[tuple[float, float, tuple[str, ...] | None]], sector: str,
             rng: np.random.Generator) -> tuple[float, float]:
    """A sector's own park when the division has one, else one of the hubs open to every sector (the seat)."""
    own = [(x, y) for x, y, sectors in hubs if sectors and sector in sectors]
    pool = own or [(x, y) for x, y, sectors in hubs if not sectors] or [(x, y) for x, y, _ in hubs]
    return pool[int(rng.integers(len(pool)))]


def _divisions(conn: Connection) -> list[tuple[str, str, object, float | None, float | None]]:
    rows = conn.execute(text(
        "SELECT code, name, ST_AsBinary(boundary), ST_X(seat), ST_Y(seat) FROM divisions "
        "WHERE parent_code = :city ORDER BY code"
    ), {"city": find_city(DEMO_CITY)[0]}).all()
    return [(code, name, shapely.from_wkb(bytes(wkb)) if wkb else None, lon, lat) for code, name, wkb, lon, lat in rows]


def _place(rng: np.random.Generator, division: tuple, sectors: np.ndarray) -> np.ndarray:
    """Points for one division's projects: near its seat or a park of their sector, or anywhere inside it."""
    code, _, polygon, lon, lat = division
    k = len(sectors)
    if polygon is None:  # the development zone: a disc around its centre
        angle, radius = rng.uniform(0, 2 * np.pi, k), ZONE_RADIUS_DEG * np.sqrt(rng.uniform(0, 1, k))
        return np.column_stack([lon + radius * np.cos(angle), lat + radius * np.sin(angle)])
    hubs = ([(lon, lat, None)] if lon is not None else []) + PARK_HUBS.get(code, [])
    xy = np.empty((k, 2))
    near = rng.uniform(0, 1, k) < HUB_SHARE if hubs else np.zeros(k, dtype=bool)
    far = np.flatnonzero(~near)
    xy[far] = _points_in(rng, polygon, len(far))
    chosen = [_hub_for(hubs, str(sectors[i]), rng) for i in np.flatnonzero(near)]
    by_hub: dict[tuple[float, float], list[int]] = {}
    for i, hub in zip(np.flatnonzero(near), chosen, strict=True):
        by_hub.setdefault(hub, []).append(int(i))
    for hub, idx in by_hub.items():
        xy[idx] = _points_near(rng, polygon, hub, len(idx))
    return xy


def synthetic_projects(conn: Connection, n: int, layers_dir: Path, seed: int = 2025) -> list[dict]:
    """n synthetic projects placed and mixed like the city's list (DIVISION_SHARES, SECTOR_FACTORS, hubs);
    deterministic per seed."""
    rng = np.random.default_rng(seed)
    divisions = [d for d in _divisions(conn) if d[2] is not None or d[3] is not None]
    shares = np.array([DIVISION_SHARES.get(d[0], min(DIVISION_SHARES.values())) for d in divisions])
    counts = rng.multinomial(n, shares / shares.sum())
    sectors = vocabularies(layers_dir)["sector"]

    coords, codes, names, sector_codes = [], [], [], []
    for division, k in zip(divisions, counts, strict=True):
        chosen = _choice(rng, _sector_weights(division[0], list(sectors.codes)), int(k)) if k else np.array([])
        coords.append(_place(rng, division, chosen) if k else np.empty((0, 2)))
        codes += [division[0]] * int(k)
        names += [division[1]] * int(k)
        sector_codes += [str(c) for c in chosen]
    xy = np.vstack(coords)

    tiers = _choice(rng, TIER_WEIGHTS, n)
    investment = np.round(np.exp(rng.normal(LOG_INVEST_MU, LOG_INVEST_SIGMA, n)), 2)
    start_years = rng.integers(2021, 2028, n)
    durations = rng.integers(1, 5, n)
    rows = []
    for i in range(n):
        tier = str(tiers[i])
        status = str(_choice(rng, STATUS_BY_TIER[tier], 1)[0])
        sector = sectors.get(sector_codes[i])
        total = float(investment[i])
        rows.append({
            "code": f"SYN-{i + 1:06d}",
            "name": f"示例{sector.zh}项目{i + 1:06d}（合成数据）",
            "sector": sector.code, "tier": tier, "status": status, "division_code": codes[i],
            "total_investment": total, "planned_investment": round(total * 0.3, 2), "plan_year": 2025,
            "start_year": int(start_years[i]), "end_year": int(start_years[i] + durations[i]),
            "company": f"示例企业{(i % 997) + 1:03d}有限公司（合成数据）",
            "responsible_unit": f"{names[i]}发展和改革委员会（示例）",
            "leader": "示例领导", "scope": f"合成数据：{sector.zh}示例项目，用于演示与测试，非真实项目",
            "lon": float(xy[i, 0]), "lat": float(xy[i, 1]),
            "coord_source": "wgs84", "location_precision": "exact", "source": SYNTHETIC_SOURCE,
        })
    return rows


def load_synthetic(conn: Connection, n: int, layers_dir: Path, seed: int = 2025) -> UpsertCounts:
    """Add n synthetic projects (codes SYN-000001…; a repeated load with the same seed changes nothing)."""
    load_divisions(conn, DEMO_CITY, layers_dir)
    return upsert_projects(conn, synthetic_projects(conn, n, layers_dir, seed))
