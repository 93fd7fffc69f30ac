"""Demo data: Tongliao's divisions, its named projects (with sources), and labelled synthetic projects.

Synthetic projects exist for scale and route tests. They are never presented as real: their source is
``synthetic``, their codes start with ``SYN-`` and their names carry 示例 and （合成数据）.
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
from geoapp.vocab import vocabularies

DEMO_CITY = "通辽市"
SYNTHETIC_SOURCE = "synthetic"

# Mixes for synthetic data. Investment (万元) is log-normal, fitted so that about 10 % of projects reach
# 10亿 and about 1.7 % reach 50亿, the proportions of Tongliao's 2025 plan (544 / 53 / 9).
LOG_INVEST_MU, LOG_INVEST_SIGMA = 9.08, 1.9
TIER_WEIGHTS = {"planning": 0.3, "reserve": 0.3, "implementation": 0.4}
STATUS_BY_TIER = {
    "planning": {"preliminary": 1.0},
    "reserve": {"preliminary": 0.9, "construction": 0.1},
    "implementation": {"preliminary": 0.15, "construction": 0.6, "operating": 0.2, "suspended": 0.05},
}
# Points of the development zone, which has no polygon, fall within this radius (degrees) of its centre.
ZONE_RADIUS_DEG = 0.03
ZONE_SHARE = 0.05


def named_projects() -> list[dict]:
    doc = yaml.safe_load((resources.files("geoapp.demo") / "tongliao_projects.yaml").read_text(encoding="utf-8"))
    return [{**p, "division_code": str(p.pop("division"))} for p in doc["projects"]]


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


def synthetic_projects(conn: Connection, n: int, layers_dir: Path, seed: int = 2025) -> list[dict]:
    """n synthetic projects spread inside the city's divisions, with realistic mixes; deterministic per seed."""
    rng = np.random.default_rng(seed)
    divisions = conn.execute(text(
        "SELECT code, name, ST_AsBinary(boundary), ST_X(seat), ST_Y(seat) FROM divisions "
        "WHERE parent_code = :city ORDER BY code"
    ), {"city": find_city(DEMO_CITY)[0]}).all()
    polygons = [(code, name, shapely.from_wkb(bytes(wkb))) for code, name, wkb, _, _ in divisions if wkb]
    zones = [(code, name, lon, lat) for code, name, wkb, lon, lat in divisions if not wkb and lon is not None]
    n_zone = int(n * ZONE_SHARE) if zones else 0
    areas = np.array([p.area for _, _, p in polygons])
    counts = rng.multinomial(n - n_zone, areas / areas.sum())

    coords, codes, names = [], [], []
    for (code, name, polygon), k in zip(polygons, counts, strict=True):
        coords.append(_points_in(rng, polygon, int(k)))
        codes += [code] * int(k)
        names += [name] * int(k)
    for i, (code, name, lon, lat) in enumerate(zones):
        k = n_zone // len(zones) + (1 if i < n_zone % len(zones) else 0)
        angle, radius = rng.uniform(0, 2 * np.pi, k), ZONE_RADIUS_DEG * np.sqrt(rng.uniform(0, 1, k))
        coords.append(np.column_stack([lon + radius * np.cos(angle), lat + radius * np.sin(angle)]))
        codes += [code] * k
        names += [name] * k
    xy = np.vstack(coords)

    sectors = vocabularies(layers_dir)["sector"]
    sector_codes = rng.choice(sectors.codes, size=n)
    tiers = _choice(rng, TIER_WEIGHTS, n)
    investment = np.round(np.exp(rng.normal(LOG_INVEST_MU, LOG_INVEST_SIGMA, n)), 2)
    start_years = rng.integers(2021, 2028, n)
    durations = rng.integers(1, 5, n)
    rows = []
    for i in range(n):
        tier = str(tiers[i])
        status = str(_choice(rng, STATUS_BY_TIER[tier], 1)[0])
        sector = sectors.get(str(sector_codes[i]))
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
