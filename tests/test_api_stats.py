"""/stats: the city's figures (counts and investment by division, tier, sector, status and investment class)
for the current filter, checked against plain SQL."""

from __future__ import annotations

import pytest
from sqlalchemy import text


def sql_groups(engine, column: str, where: str) -> dict[str, tuple[int, float]]:
    with engine.connect() as conn:
        return {k: (n, float(s or 0)) for k, n, s in conn.execute(text(
            f"SELECT {column}, count(*), sum(total_investment) FROM projects WHERE deleted_at IS NULL AND ({where}) "
            "GROUP BY 1")).all()}


def test_totals_and_investment_classes_match_the_database(client, layers_db):
    body = client.get("/stats").json()
    with layers_db.connect() as conn:
        total, known, money = conn.execute(text(
            "SELECT count(*), count(total_investment), coalesce(sum(total_investment), 0) FROM projects "
            "WHERE deleted_at IS NULL")).one()
        classes = {code: conn.execute(text(
            "SELECT count(*) FROM projects WHERE deleted_at IS NULL AND total_investment >= :m"), {"m": m}).scalar()
            for code, m in (("500w", 500), ("1y", 100000), ("5y", 500000))}
    assert body["unit"] == "万元"
    assert body["total"]["count"] == total == 408
    assert body["total"]["investment_known"] == known
    assert body["total"]["total_investment"] == pytest.approx(float(money))
    assert {c["code"]: c["count"] for c in body["by_investment_class"]} == classes
    assert classes["500w"] > classes["1y"] > classes["5y"] > 0


@pytest.mark.parametrize("dim", ["division", "tier", "sector", "status"])
def test_each_breakdown_matches_a_group_by_for_the_filter(client, layers_db, dim):
    column = {"division": "division_code"}.get(dim, dim)
    body = client.get("/stats", params={"tier": "implementation,reserve", "min_investment": 1000}).json()
    expected = sql_groups(layers_db, column, "tier IN ('implementation', 'reserve') AND total_investment >= 1000")
    got = {e["code"]: (e["count"], e["total_investment"]) for e in body[f"by_{dim}"] if e["count"]}
    assert got.keys() == expected.keys()
    for code, (n, money) in expected.items():
        assert got[code][0] == n
        assert got[code][1] == pytest.approx(money)
    assert all(e["zh"] and e["en"] for e in body[f"by_{dim}"])


def test_stats_list_every_start_year_in_the_data_newest_first_whatever_the_filter(client, layers_db):
    with layers_db.connect() as conn:
        years = list(conn.execute(text("SELECT DISTINCT start_year FROM projects WHERE deleted_at IS NULL "
                                       "AND start_year IS NOT NULL ORDER BY 1 DESC")).scalars())
    assert len(years) > 1
    assert client.get("/stats").json()["start_years"] == years
    # the year picker is not narrowed by the filter (choosing one year still offers the others)
    assert client.get("/stats", params={"start_year": years[0]}).json()["start_years"] == years


def test_every_division_is_listed_even_with_no_matching_project(client, layers_db):
    body = client.get("/stats", params={"division": "科区"}).json()
    by_division = {e["code"]: e for e in body["by_division"]}
    assert len(by_division) == 9
    assert by_division["150502"]["zh"] == "科尔沁区" and by_division["150502"]["count"] > 0
    assert all(e["count"] == 0 for code, e in by_division.items() if code != "150502")


def test_a_division_breakdown_reports_its_projects_per_investment_class(client, layers_db):
    body = client.get("/stats").json()
    entry = next(e for e in body["by_division"] if e["code"] == "150581")
    with layers_db.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM projects WHERE deleted_at IS NULL AND division_code = '150581' "
                              "AND total_investment >= 500")).scalar()
    assert entry["classes"]["500w"]["count"] == n


def test_stats_reject_unknown_parameters_by_name(client):
    response = client.get("/stats", params={"limit": 5})
    assert response.status_code == 400
    assert response.json()["parameter"] == "limit"
