"""GET /progress/missing?summary=true: the count of missed monthly reports per responsible unit, counted in SQL,
agrees with the full list for every kind of caller; a bad value of the parameter is a clear 400.

Data: the named demo projects plus labelled synthetic ones; some report for the month through the API, one is
deleted, and one has no responsible unit.
"""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import Engine, text

from geoapp.demo import load_synthetic
from geoapp.editing.progress import NO_UNIT
from tests.conftest import LAYERS

MONTH = "2025-04"


@pytest.fixture
def reported(client, demo_db: Engine, accounts) -> dict:
    """60 synthetic projects on top of the demo ones; every third reports for MONTH, one is deleted, one has no unit."""
    with demo_db.begin() as conn:
        load_synthetic(conn, 60, LAYERS, seed=11)
        codes = conn.execute(text("SELECT code FROM projects ORDER BY code")).scalars().all()
        conn.execute(text("UPDATE projects SET responsible_unit = NULL WHERE code = :c"), {"c": codes[1]})
    for code in codes[::3]:
        answer = client.post(f"/projects/{code}/progress", json={"month": MONTH, "progress_pct": 30,
                                                                  "investment_completed": 100},
                             headers=accounts["admin"])
        assert answer.status_code == 201, answer.text
    project = client.get(f"/projects/{codes[2]}").json()
    assert client.delete(f"/projects/{codes[2]}", headers={**accounts["admin"], "If-Match": str(project["version"])}
                         ).status_code == 200
    return {"codes": codes, "reported": set(codes[::3]), "deleted": codes[2], "no_unit": codes[1]}


def counts_of(full: dict) -> dict[str, int]:
    return {u["responsible_unit"]: len(u["projects"]) for u in full["units"]}


def test_the_summary_counts_per_responsible_unit_what_the_full_list_lists(client, demo_db, reported):
    full = client.get("/progress/missing", params={"month": MONTH}).json()
    summary = client.get("/progress/missing", params={"month": MONTH, "summary": "true"}).json()
    assert summary["month"] == full["month"] == MONTH
    assert {u["responsible_unit"]: u["count"] for u in summary["units"]} == counts_of(full)
    assert summary["total"] == full["total"] == sum(u["count"] for u in summary["units"])
    assert all(set(u) == {"responsible_unit", "count"} for u in summary["units"])  # no project list
    # the numbers are the data's, counted here in Python: every live project that did not report, per unit
    with demo_db.connect() as conn:
        rows = conn.execute(text("SELECT code, responsible_unit FROM projects WHERE deleted_at IS NULL")).all()
    expected = Counter(unit or NO_UNIT for code, unit in rows if code not in reported["reported"])
    assert {u["responsible_unit"]: u["count"] for u in summary["units"]} == expected
    assert summary["total"] == len(reported["codes"]) - len(reported["reported"] | {reported["deleted"]}) > 0
    assert expected[NO_UNIT] >= 1 and len(expected) > 2
    # largest units first
    assert [u["count"] for u in summary["units"]] == sorted((u["count"] for u in summary["units"]), reverse=True)


def test_an_editor_gets_the_counts_of_their_divisions_only_as_in_the_list(client, reported, accounts):
    full = client.get("/progress/missing", params={"month": MONTH}, headers=accounts["editor"]).json()
    summary = client.get("/progress/missing", params={"month": MONTH, "summary": "1"},
                         headers=accounts["editor"]).json()
    assert {u["responsible_unit"]: u["count"] for u in summary["units"]} == counts_of(full)
    divisions = Counter(p["division_code"] for u in full["units"] for p in u["projects"])
    assert set(divisions) == {"150502"} and summary["total"] == full["total"] == sum(divisions.values())
    everyone = client.get("/progress/missing", params={"month": MONTH, "summary": "true"}).json()
    assert summary["total"] < everyone["total"]


def test_summary_false_still_answers_the_list(client, reported):
    listed = client.get("/progress/missing", params={"month": MONTH, "summary": "false"}).json()
    assert listed == client.get("/progress/missing", params={"month": MONTH}).json()
    assert all("projects" in u for u in listed["units"])


@pytest.mark.parametrize("value", ["yes", "counts", "2"])
def test_a_bad_summary_value_is_a_400_naming_the_parameter(client, empty_db, value):
    answer = client.get("/progress/missing", params={"month": MONTH, "summary": value})
    assert answer.status_code == 400
    detail = answer.json()
    assert detail["parameter"] == "summary" and detail["value"] == value and detail["allowed"] == ["true", "false"]
    assert detail["zh"].startswith("参数 summary 应为 true 或 false")
    assert "summary must be true or false" in detail["en"]


def test_a_bad_month_is_still_refused_in_the_summary_form(client, empty_db):
    answer = client.get("/progress/missing", params={"month": "soon", "summary": "true"})
    assert answer.status_code == 422 and answer.json()["parameter"] == "month"
