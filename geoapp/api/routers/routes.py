"""Inspection routes: POST /routes/plan, GET /routes (the list), GET / PUT / DELETE /routes/{id} (a stored plan).

Planning is CPU work (the solver), so the handlers are plain functions that FastAPI runs in its thread pool.
Bad settings → 400 naming the setting (Chinese, then English); an unknown plan → 404; never a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse, Response

from geoapp.errors import GeoappError, NotFound
from geoapp.routing import planner, store
from geoapp.routing.request import parse_settings

log = logging.getLogger(__name__)
router = APIRouter(tags=["routes"])


def _not_found(plan_id: str) -> NotFound:
    return NotFound(zh=f"没有编号为 {plan_id} 的路线方案", en=f"no route plan with id '{plan_id}'")


def _plan_id(value: str) -> int | None:
    try:
        number = int(value)
    except ValueError:
        return None
    return number if 0 < number < 2**63 else None


def _answer(work: Callable[[], Response]) -> Response:
    return work()


@router.post("/routes/plan", summary="规划考察路线 / plan inspection routes", status_code=201)
def plan_routes(request: Request, body: Any = Body(None)) -> Response:  # noqa: B008
    """Plan and store the routes; the answer is the stored plan (as GET /routes/{id})."""

    def work() -> Response:
        settings = parse_settings(body)
        with request.app.state.engine.begin() as conn:
            planned = planner.plan(conn, settings, request.app.state.settings.layers_dir)
            plan_id = store.save_plan(conn, planned)
            result = store.get_plan(conn, plan_id)
        return JSONResponse(result, status_code=201, headers={"Location": f"/routes/{plan_id}"})

    return _answer(work)


@router.get("/routes", summary="路线方案列表 / the stored route plans, newest first")
def list_route_plans(request: Request, limit: str = "100") -> Response:
    """Every stored plan in brief (id, title, travel model, routes with colour and visits); details: /routes/{id}."""
    number = _plan_id(limit)
    if number is None or number > 1000:
        raise GeoappError(zh=f"limit 须为 1 至 1000 的整数，收到“{limit[:40]}”",
                          en=f"limit must be an integer from 1 to 1000, not '{limit[:40]}'", parameter="limit")

    def work() -> Response:
        with request.app.state.engine.connect() as conn:
            plans = store.list_plans(conn, number)
        return JSONResponse({"plans": plans, "numberReturned": len(plans)})

    return _answer(work)


@router.get("/routes/{plan_id}", summary="路线方案 / a stored route plan")
def get_route_plan(request: Request, plan_id: str) -> Response:
    number = _plan_id(plan_id)
    if number is None:
        raise _not_found(plan_id)

    def work() -> Response:
        with request.app.state.engine.connect() as conn:
            result = store.get_plan(conn, number)
        if result is None:
            raise _not_found(plan_id)
        return JSONResponse(result)

    return _answer(work)


@router.put("/routes/{plan_id}", summary="人工调整路线 / edit a plan by hand (times recomputed)")
def edit_route_plan(request: Request, plan_id: str, body: Any = Body(None)) -> Response:  # noqa: B008
    """Move a stop (``{"move": {"project", "route", "day", "position"}}``) or give every route's order
    (``{"routes": [{"name": "北线", "days": [["code", …], …]}]}``); the times are recomputed."""
    number = _plan_id(plan_id)
    if number is None:
        raise _not_found(plan_id)

    def work() -> Response:
        with request.app.state.engine.begin() as conn:
            result = store.edit_plan(conn, number, body)
        if result is None:
            raise _not_found(plan_id)
        return JSONResponse(result)

    return _answer(work)


@router.delete("/routes/{plan_id}", summary="删除路线方案 / delete a plan", status_code=204)
def delete_route_plan(request: Request, plan_id: str) -> Response:
    number = _plan_id(plan_id)
    if number is None:
        raise _not_found(plan_id)

    def work() -> Response:
        with request.app.state.engine.begin() as conn:
            deleted = store.delete_plan(conn, number)
        if not deleted:
            raise _not_found(plan_id)
        return Response(status_code=204)

    return _answer(work)
