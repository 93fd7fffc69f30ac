"""A first plan from VROOM: which projects fit the days and in what order, for OR-Tools to check and finish.

Why: when more projects are chosen than the days can hold (the usual case: 80 projects, 2 routes × 2 days), the
hard part is choosing which ones to visit. OR-Tools' insertion heuristics and guided local search are weak and slow
at that choice (bench: one project fewer than PyVRP on 80, 44 instead of 56 on 300), VROOM is strong and fast at it.
VROOM sees the same problem as the OR-Tools model: one vehicle per route-day with its start, end and working hours,
the lunch break (VROOM takes it between two stops, which the OR-Tools model also allows), service times, banners
fixed to routes (skills) and priorities (VROOM first maximises the sum of job priorities, then the number of jobs,
then minimises the cost, here driving seconds).

Determinism: VROOM has no randomness; its parallel searches are one fixed set of heuristic runs whatever the number
of threads, and the best is chosen by a fixed comparison, so threads only change the wall time.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import TYPE_CHECKING

import numpy as np
import vroom

if TYPE_CHECKING:
    from geoapp.routing.solver import Problem, Visit

VROOM_PRIORITY_MAX = 100      # VROOM's job priorities run from 0 to 100
MAX_THREADS = 4


def job_priorities(visits: list[Visit]) -> list[int]:
    """VROOM priorities: must-visit projects 100; the priority levels present spread geometrically below.

    VROOM maximises the plain sum, so (unlike the OR-Tools penalties) one higher-priority project cannot outweigh
    every lower one; a steep spread gets close, and OR-Tools' local search on the exact penalties finishes the job.
    """
    levels = sorted({v.priority for v in visits if not v.required})
    top = 10 if any(v.required for v in visits) else VROOM_PRIORITY_MAX
    weight = {p: (0 if k == 0 else round(top ** (k / (len(levels) - 1)))) for k, p in enumerate(levels)}
    return [VROOM_PRIORITY_MAX if v.required else weight[v.priority] for v in visits]


def first_routes(problem: Problem, exploration: int = 3, threads: int | None = None,
                 timeout_s: float | None = None) -> list[list[int]]:
    """VROOM's plan: for each shift of ``problem.shifts`` the indices of its visits, in order; with ``timeout_s``
    VROOM stops its search then and gives its best plan so far (the search's time budget, see solver.TimeRule)."""
    solver = vroom.Input()
    solver.set_durations_matrix(profile="car", matrix_input=np.asarray(problem.durations, dtype=np.uint32))
    allowed = sorted({v.routes for v in problem.visits if v.routes is not None})
    skill = {routes: k + 1 for k, routes in enumerate(allowed)}
    for k, shift in enumerate(problem.shifts):
        breaks = []
        if shift.lunch:
            earliest, latest, duration = shift.lunch
            breaks = [vroom.Break(k + 1, time_windows=[vroom.TimeWindow(earliest, latest)], service=duration)]
        solver.add_vehicle(vroom.Vehicle(
            k + 1, start=int(shift.start_location), end=int(shift.end_location),
            time_window=vroom.TimeWindow(int(shift.start_s), int(shift.end_s)), breaks=breaks,
            skills={s for routes, s in skill.items() if shift.route in routes}))
    for i, (visit, priority) in enumerate(zip(problem.visits, job_priorities(problem.visits), strict=True)):
        solver.add_job(vroom.Job(
            i + 1, location=int(visit.location), default_service=int(visit.service_s), priority=priority,
            skills=None if visit.routes is None else {skill[visit.routes]}))
    threads = threads or min(MAX_THREADS, os.cpu_count() or 1)
    timeout = None if timeout_s is None else timedelta(seconds=timeout_s)
    steps = solver.solve(exploration_level=exploration, nb_threads=threads, timeout=timeout).routes
    routes: list[list[int]] = [[] for _ in problem.shifts]
    for vehicle, kind, job in zip(steps["vehicle_id"], steps["type"], steps["id"], strict=True):
        if kind == "job":
            routes[int(vehicle) - 1].append(int(job) - 1)
    return routes
