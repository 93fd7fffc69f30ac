"""What a planning worker process runs (:mod:`geoapp.routing.worker`): a new plan, or a hand edit, on database
connections of the worker's own, committed there.

The fork server imports this module once, so every worker starts with the planner (numpy, OR-Tools, VROOM,
SQLAlchemy) already loaded. The arguments are plain data (the database URL, the checked settings), pickled over.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from geoapp.db.engine import Timeouts, make_engine
from geoapp.routing import store
from geoapp.routing.request import PlanSettings
from geoapp.settings import Settings


def _engine(url: str, settings: Settings) -> Engine:
    """The worker's own engine: planning is batch work, so it has the import's (long) statement timeouts; the
    matrix may use up to four connections side by side (routing/matrix.py)."""
    return make_engine(url, Timeouts.of(settings, "import"), pool_size=4, max_overflow=1)


def plan(url: str, plan_settings: PlanSettings, settings: Settings) -> dict:
    """Plan, store and read back a plan (POST /routes/plan)."""
    engine = _engine(url, settings)
    try:
        with engine.begin() as conn:
            return store.plan_and_save(conn, plan_settings, settings)
    finally:
        engine.dispose()


def edit(url: str, plan_id: int, body: Any, settings: Settings) -> dict | None:
    """Apply a hand edit and re-time the plan (PUT /routes/{id}); None when there is no such plan."""
    engine = _engine(url, settings)
    try:
        with engine.begin() as conn:
            return store.edit_plan(conn, plan_id, body)
    finally:
        engine.dispose()
