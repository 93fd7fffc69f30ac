from sqlalchemy import text

from geoapp.demo import SYNTHETIC_SOURCE, load_demo, load_synthetic, named_projects
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
