"""The solver adapter without a database: VROOM's first plan, OR-Tools' exact model, penalties and determinism.

Points are synthetic (random places in Tongliao's extent, estimated travel times); the assertions compare the
searches with each other on the same problem, never against stored numbers.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from geoapp.routing import vroom_seed
from geoapp.routing.estimate import estimate_matrices
from geoapp.routing.solver import (
    DAY_S,
    Problem,
    SearchLimits,
    Shift,
    Visit,
    evaluate,
    penalties,
    solve,
    solve_from_routes,
)

CITY_HALL = (122.243, 43.654)


def synthetic_problem(n: int, routes: int = 2, days: int = 2, seed: int = 1, lunch: bool = True,
                      balance: float = 0.0) -> Problem:
    """n synthetic projects in Tongliao's extent, 30-minute stops, 08:00–18:00 days from and back to the city hall."""
    rng = np.random.default_rng(seed)
    lonlat = np.vstack([CITY_HALL, np.column_stack([rng.uniform(119.3, 123.6, n), rng.uniform(42.4, 45.6, n)])])
    seconds, _ = estimate_matrices(lonlat)
    visits = [Visit(f"SYN-{i:03d}", i, 1800) for i in range(1, n + 1)]
    shifts = [Shift(r, d, 0, 0, d * DAY_S + 8 * 3600, d * DAY_S + 18 * 3600,
                    (d * DAY_S + 41_400, d * DAY_S + 45_000, 3600) if lunch else None)
              for r in range(routes) for d in range(days)]
    return Problem(seconds, visits, shifts, balance=balance)


def itinerary(solution) -> list:
    return [(sh.visits, sh.arrivals, sh.lunch_s) for sh in solution.shifts]


def test_the_same_problem_gives_the_same_plan():
    problem = synthetic_problem(60)
    first, second = solve(problem), solve(problem)
    assert first.stats["search"] == "vroom+local search"
    assert itinerary(first) == itinerary(second) and first.dropped == second.dropped


def test_vroom_plans_the_same_with_one_thread_or_several():
    problem = synthetic_problem(70, seed=3)
    one = vroom_seed.first_routes(problem, threads=1)
    assert one == vroom_seed.first_routes(problem, threads=2) == vroom_seed.first_routes(problem, threads=4)
    assert sum(map(len, one)) > 10


@pytest.mark.parametrize("seed", [1, 2])
def test_the_plan_fits_at_least_as_many_projects_as_or_tools_alone_and_costs_no_more(seed):
    problem = synthetic_problem(80, seed=seed)
    ours = solve(problem)
    alone = solve(problem, SearchLimits(vroom_exploration=None))
    assert alone.stats["search"] == "or-tools"
    assert len(ours.dropped) <= len(alone.dropped)
    assert ours.stats["objective"] <= alone.stats["objective"]


def test_the_plan_keeps_the_working_day_and_the_lunch_break():
    problem = synthetic_problem(50, seed=4)
    solution = solve(problem)
    for sh in solution.shifts:
        times = [sh.start_s]
        stops = [0] + [problem.visits[v].location for v in sh.visits]
        for k, (v, arrival) in enumerate(zip(sh.visits, sh.arrivals, strict=True)):
            drive = int(problem.durations[stops[k], stops[k + 1]])
            assert arrival >= times[-1] + drive
            times.append(arrival + problem.visits[v].service_s)
        assert sh.shift.start_s <= sh.start_s and sh.end_s <= sh.shift.end_s
        if sh.visits:
            earliest, latest, duration = sh.shift.lunch
            assert earliest <= sh.lunch_s <= latest
            for v, arrival in zip(sh.visits, sh.arrivals, strict=True):
                done = arrival + problem.visits[v].service_s
                assert done <= sh.lunch_s or arrival >= sh.lunch_s + duration


def test_one_more_visit_always_outweighs_everything_else_in_a_plan():
    problem = synthetic_problem(40, balance=0.1)
    whole_days = sum(s.end_s - s.start_s for s in problem.shifts)
    span = 10 * max(s.end_s - s.start_s for s in problem.shifts)       # balance 0.1 → span cost coefficient 10
    assert min(penalties(problem)) > whole_days + span


def test_each_priority_level_outweighs_all_visits_of_the_levels_below():
    problem = synthetic_problem(30)
    visits = [dataclasses.replace(v, priority=[1, 3, 5][i % 3]) for i, v in enumerate(problem.visits)]
    pens = penalties(dataclasses.replace(problem, visits=visits))
    by_level = {p: [c for v, c in zip(visits, pens, strict=True) if v.priority == p] for p in (1, 3, 5)}
    assert min(by_level[3]) > sum(by_level[1])
    assert min(by_level[5]) > sum(by_level[3]) + sum(by_level[1])
    assert vroom_seed.job_priorities(visits)[:3] == [0, 10, 100]
    required = [dataclasses.replace(visits[0], required=True), *visits[1:]]
    weights = vroom_seed.job_priorities(required)
    assert weights[0] == 100 and max(weights[1:]) < 100


def test_banners_fixed_to_a_route_stay_on_it_in_vroom_and_in_the_plan():
    problem = synthetic_problem(50, seed=5)
    visits = [dataclasses.replace(v, routes=(i % 2,)) if i % 3 == 0 else v for i, v in enumerate(problem.visits)]
    problem = dataclasses.replace(problem, visits=visits)
    for routes in (vroom_seed.first_routes(problem), [sh.visits for sh in solve(problem).shifts]):
        for shift, order in zip(problem.shifts, routes, strict=True):
            assert all(visits[v].routes is None or shift.route in visits[v].routes for v in order)


def test_a_first_plan_without_a_must_visit_project_is_refused_and_the_project_is_planned():
    # one day; a far must-visit project (≈ 4.5 h each way) and 16 top-priority projects around the city hall
    rng = np.random.default_rng(6)
    near = np.column_stack([rng.uniform(122.2, 122.3, 16), rng.uniform(43.62, 43.69, 16)])
    seconds, _ = estimate_matrices(np.vstack([CITY_HALL, near, (119.9, 44.6)]))
    far = 16
    visits = [Visit(f"SYN-{i:03d}", i, 1800, priority=5, required=(i - 1 == far)) for i in range(1, 18)]
    problem = Problem(seconds, visits, [Shift(0, 0, 0, 0, 8 * 3600, 18 * 3600, None)])
    assert solve_from_routes(problem, [list(range(16))]) is None            # all near ones, the must-visit left out
    assert solve_from_routes(problem, [[far]]) is not None
    solution = solve(problem)
    assert far in solution.shifts[0].visits and len(solution.shifts[0].visits) >= 2


def test_hand_orders_are_timed_by_the_same_model():
    problem = synthetic_problem(20, routes=1, days=1, seed=7)
    planned = solve(problem)
    order = planned.shifts[0].visits
    again = evaluate(problem, [order[::-1]])
    assert again.shifts[0].visits == order[::-1]
    assert again.shifts[0].arrivals == sorted(again.shifts[0].arrivals)
