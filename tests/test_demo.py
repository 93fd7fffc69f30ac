import re
from pathlib import Path

import yaml
from sqlalchemy import text

from geoapp import demo
from geoapp.demo import SYNTHETIC_SOURCE, aggregate_codes, load_demo, load_synthetic, named_projects
from geoapp.routing.places import DEFAULT_PLACE, NAMED_PLACES
from tests.conftest import LAYERS


def count(conn, where="true"):
    return conn.execute(text(f"SELECT count(*) FROM projects WHERE {where}")).scalar()


def test_demo_loads_every_named_project_with_its_source(empty_db):
    with empty_db.begin() as conn:
        counts = load_demo(conn, LAYERS)
        assert counts.added == len(named_projects()) == count(conn)
        assert count(conn, "source = '' OR source = 'synthetic'") == 0
        assert conn.execute(text("SELECT total_investment FROM projects WHERE code = 'TL2025-001'")).scalar() == 672000


def test_demo_loaded_twice_has_no_duplicates(empty_db):
    with empty_db.begin() as conn:
        load_demo(conn, LAYERS)
        again = load_demo(conn, LAYERS)
        assert (again.added, again.updated) == (0, 0)
        assert count(conn) == len(named_projects())


def test_named_projects_lie_in_the_division_they_name(demo_db):
    with demo_db.connect() as conn:
        wrong = conn.execute(text(
            "SELECT p.code FROM projects p JOIN divisions d ON d.code = p.division_code "
            "WHERE d.boundary IS NOT NULL AND NOT ST_Covers(d.boundary, p.geom)"
        )).scalars().all()
    assert wrong == []


def test_synthetic_projects_are_labelled_and_spread_inside_the_banners(empty_db):
    with empty_db.begin() as conn:
        counts = load_synthetic(conn, 2000, LAYERS)
        assert counts.added == 2000
        assert count(conn, f"source = '{SYNTHETIC_SOURCE}' AND name LIKE '示例%' AND code LIKE 'SYN-%'") == 2000
        outside = conn.execute(text(
            "SELECT count(*) FROM projects p JOIN divisions d ON d.code = p.division_code "
            "WHERE d.boundary IS NOT NULL AND NOT ST_Covers(d.boundary, p.geom)"
        )).scalar()
        assert outside == 0
        assert conn.execute(text("SELECT count(DISTINCT division_code) FROM projects")).scalar() == 9
        big, huge, key = conn.execute(text(
            "SELECT count(*) FILTER (WHERE total_investment >= 100000), "
            "count(*) FILTER (WHERE total_investment >= 500000), "
            "count(*) FILTER (WHERE total_investment >= 500) FROM projects"
        )).one()
        assert 0 < huge < big < key and key > 1000


def test_synthetic_data_is_deterministic_for_a_seed(empty_db):
    with empty_db.begin() as conn:
        load_synthetic(conn, 300, LAYERS, seed=7)
        again = load_synthetic(conn, 300, LAYERS, seed=7)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 300)


def test_the_demo_counts_no_aggregate_base_as_a_project_of_50_yi_or_more(demo_db, client):
    bases = aggregate_codes()
    assert bases, "the demo models 蒙东(通辽)风电装备制造产业基地 as a base"
    rows = {p["code"]: p for p in named_projects()}
    projects_of_50_yi = {c for c, p in rows.items() if (p.get("total_investment") or 0) >= 500000}
    assert not projects_of_50_yi & bases
    classes = {c["code"]: c for c in client.get("/stats").json()["by_investment_class"]}
    assert classes["5y"]["count"] == len(projects_of_50_yi)
    listed = client.get("/collections/projects/items", params={"investment_class": "5y", "limit": 100}).json()
    assert not {f["properties"]["code"] for f in listed["features"]} & bases
    for code in bases:
        assert rows[code].get("total_investment") is None
        assert "亿元" in rows[code]["scope"] and "非单一项目" in rows[code]["scope"]


def test_every_inferred_tier_or_status_says_tuiding_and_every_source_is_a_citation(demo_db):
    doc = yaml.safe_load((Path(demo.__file__).parent / "tongliao_projects.yaml").read_text(encoding="utf-8"))
    with demo_db.connect() as conn:
        stored = dict(conn.execute(text("SELECT code, source FROM projects")).all())
    for ref in doc["sources"].values():
        assert (ref.get("title") or ref.get("about")) and ref["outlet"] and str(ref["date"]), ref
        assert not ref.get("url") or ref.get("seen_at", "") not in ref["url"], ref
    for project in doc["projects"]:
        source = stored[project["code"]]
        for field in project.get("inferred") or {}:
            assert f"{demo.INFERRED_LABELS[field]}为推定" in source, (project["code"], field)
        for key in project["citations"]:
            ref = doc["sources"][key]
            work = f"《{ref['title']}》" if ref.get("title") else f"{ref['about']}（标题未核实）"
            assert work in source and ref["outlet"] in source
            assert not ref.get("seen_at") or ref["seen_at"].split("（")[0] not in source
        assert not re.search(r"\.md\b|shared/|reference/|\bvia\b|seed article", source), source


def test_the_named_projects_say_what_their_sources_say(demo_db):
    with demo_db.connect() as conn:
        rows = {r.code: r for r in conn.execute(text(
            "SELECT code, name, sector, tier, status, company, total_investment, start_year, scope, "
            "ST_X(geom) AS lon, ST_Y(geom) AS lat FROM projects"))}
    by_name = {r.name: r for r in rows.values()}
    lng = next(r for n, r in by_name.items() if "盈通" in n)
    assert (lng.status, lng.company) == ("construction", "盈通能源有限责任公司")
    assert next(r for n, r in by_name.items() if "四号井田" in n).tier == "reserve"
    base = rows[next(iter(aggregate_codes()))]
    assert base.start_year == 2020 and base.status == "construction"
    start = NAMED_PLACES[DEFAULT_PLACE]
    assert (round(base.lon, 4), round(base.lat, 4)) != (round(start[0], 4), round(start[1], 4))
    alumina = next(r for n, r in by_name.items() if "康鸿" in n)
    assert alumina.total_investment is None and "未经核实" in alumina.scope
    for r in rows.values():  # 君业 is a 2022 pharmaceutical project: not a 2025 entry, not 蒙医药
        assert not ("君业" in r.name and (r.code.startswith("TL2025") or r.sector == "medicine"))


def test_synthetic_projects_gather_where_the_city_has_them(empty_db):
    with empty_db.begin() as conn:
        load_synthetic(conn, 3000, LAYERS, seed=3)
        by_division = dict(conn.execute(text(
            "SELECT division_code, count(*) FROM projects GROUP BY division_code")).all())
        share = dict(conn.execute(text(
            "SELECT sector, avg(CASE WHEN division_code = ANY(:here) THEN 1.0 ELSE 0 END) FROM projects "
            "WHERE sector IN ('green_aluminium', 'wind_equipment') GROUP BY sector"
        ), {"here": ["150581", "150526"]}).all())
        wind_in_horqin = conn.execute(text(
            "SELECT avg(CASE WHEN division_code IN ('150502', '150571') THEN 1.0 ELSE 0 END) FROM projects "
            "WHERE sector = 'wind_equipment'")).scalar()
        labelled = count(conn, "source = 'synthetic' AND name LIKE '%（合成数据）' AND code LIKE 'SYN-%'")
    assert by_division["150502"] == max(by_division.values())
    assert by_division["150502"] + by_division["150571"] > 3000 * 0.25
    assert share["green_aluminium"] > 0.6 and share["wind_equipment"] < 0.2
    assert wind_in_horqin > 0.5
    assert labelled == 3000
