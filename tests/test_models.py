import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from geoapp.db.project_store import upsert_projects

VALID = {
    "code": "T-1", "name": "测试项目", "sector": "lng", "tier": "reserve", "status": "preliminary",
    "division_code": "150522", "total_investment": 1000, "lon": 122.35, "lat": 42.95,
    "coord_source": "wgs84", "location_precision": "exact", "source": "test",
}


@pytest.mark.parametrize(
    "change",
    [
        {"total_investment": -1},
        {"planned_investment": -5},
        {"lat": 95.0},
        {"coord_source": "google"},
        {"location_precision": "roughly"},
        {"start_year": 2026, "end_year": 2024},
        {"division_code": "999999"},
    ],
)
def test_the_database_refuses_a_project_that_breaks_a_constraint(empty_db, change):
    with pytest.raises(psycopg.IntegrityError), empty_db.begin() as conn:
        upsert_projects(conn, [{**VALID, **change}])
    with empty_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM projects")).scalar() == 0


def test_a_progress_report_must_be_for_the_first_day_of_a_month(empty_db):
    with empty_db.begin() as conn:
        upsert_projects(conn, [VALID])
    with pytest.raises(IntegrityError), empty_db.begin() as conn:
        conn.execute(text(
            "INSERT INTO project_progress (project_id, month, status, progress_pct, investment_completed, reported_by) "
            "SELECT id, DATE '2025-05-15', 'construction', 50, 100, 'test' FROM projects"
        ))
