"""Inspection routes: POST /routes/plan, GET /routes (the list), GET / PUT / DELETE /routes/{id} (a stored plan).

Writing plans (plan, hand edit, delete) needs an editor or admin (``Writer``); reading follows the read setting
(the read guard). Planning and re-timing are CPU work (VROOM, OR-Tools), so they run in worker processes
(:mod:`geoapp.routing.worker`) while the handlers await them without holding the event loop: every other request
keeps answering. Before any worker is involved the settings are checked (400 naming the setting) and the selection
is counted (413 over ``plan_max_projects``). An unknown plan → 404; never a 500.

The bodies are described in the OpenAPI document by :class:`~geoapp.routing.request.PlanSettings` and
:class:`~geoapp.routing.request.PlanEdit`, but validated by ``parse_settings`` and ``store.edit_plan`` as before
(descriptive only): FastAPI's own validation would answer 422 in its own words instead of the 400 that names the
setting in Chinese and English.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from geoapp.auth.guards import Writer
from geoapp.errors import GeoappError, NotFound
from geoapp.routing import jobs, planner, store
from geoapp.routing.errors import PlanError
from geoapp.routing.request import PlanEdit, PlanSettings, openapi_body, parse_settings
from geoapp.routing.worker import PlanWorkers, for_settings

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


def start_planning(app: FastAPI) -> None:
    """Lifespan start: the worker pool (processes start per plan) and SIGTERM/SIGINT ending running plans."""
    workers_of(app).hook_signals()


def stop_planning(app: FastAPI) -> None:
    """Lifespan end: running plans are ended (their worker processes terminated), new ones refused."""
    workers = getattr(app.state, "plan_workers", None)
    if workers is not None:
        workers.stop()


def workers_of(app: FastAPI) -> PlanWorkers:
    workers = getattr(app.state, "plan_workers", None)
    if workers is None:
        workers = app.state.plan_workers = for_settings(app.state.settings)
    return workers


def _database_url(request: Request) -> str:
    """The server's own database, for the worker's engine (with its password: the URL goes to a child process)."""
    return request.app.state.engine.url.render_as_string(hide_password=False)


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise PlanError("请求体应为 JSON 对象 / the body must be a JSON object") from None


async def _client_gone(request: Request) -> None:
    """Completes when the client disconnects (the body is read by then, so only the disconnect is left)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def _check_size(request: Request, settings: PlanSettings) -> None:
    app_settings = request.app.state.settings
    with request.app.state.engine.connect() as conn:
        planner.check_size(conn, settings, app_settings.layers_dir, app_settings.plan_max_projects)


@router.post("/routes/plan", summary="规划考察路线 / plan inspection routes", status_code=201,
             openapi_extra=openapi_body(PlanSettings))
async def plan_routes(request: Request, account: Writer) -> Response:
    """Plan and store the routes; the answer is the stored plan (as GET /routes/{id}), with ``solver``: the time
    limit of the search, the time it took and whether the limit cut it short."""
    app_settings = request.app.state.settings
    settings = parse_settings(await _json_body(request), app_settings.plan_max_projects)
    await run_in_threadpool(_check_size, request, settings)  # one count, before any worker or matrix
    result = await workers_of(request.app).run(jobs.plan, _database_url(request), settings, app_settings,
                                               until=lambda: _client_gone(request))
    return JSONResponse(result, status_code=201, headers={"Location": f"/routes/{result['id']}"})


@router.get("/routes", summary="路线方案列表 / the stored route plans, newest first")
def list_route_plans(request: Request, limit: str = "100") -> Response:
    """Every stored plan in brief (id, title, travel model, routes with colour and visits); details: /routes/{id}."""
    number = _plan_id(limit)
    if number is None or number > 1000:
        raise GeoappError(zh=f"limit 须为 1 至 1000 的整数，收到“{limit[:40]}”",
                          en=f"limit must be an integer from 1 to 1000, not '{limit[:40]}'", parameter="limit")
    with request.app.state.engine.connect() as conn:
        plans = store.list_plans(conn, number)
    return JSONResponse({"plans": plans, "numberReturned": len(plans)})


@router.get("/routes/{plan_id}", summary="路线方案 / a stored route plan")
def get_route_plan(request: Request, plan_id: str) -> Response:
    number = _plan_id(plan_id)
    if number is None:
        raise _not_found(plan_id)
    with request.app.state.engine.connect() as conn:
        result = store.get_plan(conn, number)
    if result is None:
        raise _not_found(plan_id)
    return JSONResponse(result)


@router.put("/routes/{plan_id}", summary="人工调整路线 / edit a plan by hand (times recomputed)",
            openapi_extra=openapi_body(PlanEdit))
async def edit_route_plan(request: Request, plan_id: str, account: Writer) -> Response:
    """Move a stop (``{"move": {"project", "route", "day", "position"}}``) or give every route's order
    (``{"routes": [{"name": "北线", "days": [["code", …], …]}]}``); the times are recomputed (in a worker)."""
    number = _plan_id(plan_id)
    if number is None:
        raise _not_found(plan_id)
    body = await _json_body(request)
    result = await workers_of(request.app).run(jobs.edit, _database_url(request), number, body,
                                               request.app.state.settings, until=lambda: _client_gone(request))
    if result is None:
        raise _not_found(plan_id)
    return JSONResponse(result)


@router.delete("/routes/{plan_id}", summary="删除路线方案 / delete a plan", status_code=204)
def delete_route_plan(request: Request, plan_id: str, account: Writer) -> Response:
    number = _plan_id(plan_id)
    if number is None:
        raise _not_found(plan_id)
    with request.app.state.engine.begin() as conn:
        deleted = store.delete_plan(conn, number)
    if not deleted:
        raise _not_found(plan_id)
    return Response(status_code=204)
