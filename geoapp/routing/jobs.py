"""What a planning worker process runs (:mod:`geoapp.routing.worker`): a new plan, or a hand edit, on database
connections of the worker's own, committed there.

The fork server imports this module once, so every worker starts with the planner (numpy, OR-Tools, VROOM,
SQLAlchemy) already loaded. The arguments are plain data (the database URL, the checked settings), pickled over.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection

from geoapp.db.engine import Timeouts, make_engine
from geoapp.routing import store
from geoapp.routing.request import PlanSettings
from geoapp.settings import Settings

T = TypeVar("T")


def _committed(url: str, settings: Settings, work: Callable[[Connection], T]) -> T:
    """Run ``work`` in one transaction on the worker's own engine: planning is batch work, so it has the import's
    (long) statement timeouts; the matrix may use up to four connections side by side (routing/matrix.py)."""
    engine = make_engine(url, Timeouts.of(settings, "import"), pool_size=4, max_overflow=1)
    try:
        with engine.begin() as conn:
            return work(conn)
    finally:
        engine.dispose()


def plan(url: str, plan_settings: PlanSettings, settings: Settings) -> dict:
    """Plan, store and read back a plan (POST /routes/plan)."""
    return _committed(url, settings, lambda conn: store.plan_and_save(conn, plan_settings, settings))


def edit(url: str, plan_id: int, body: Any, settings: Settings) -> dict | None:
    """Apply a hand edit and re-time the plan (PUT /routes/{id}); None when there is no such plan."""
    return _committed(url, settings, lambda conn: store.edit_plan(conn, plan_id, body))
