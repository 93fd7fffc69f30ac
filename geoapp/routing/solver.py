"""The solver adapter: an inspection problem (visits, route-days, a travel-time matrix) → OR-Tools → ordered stops.

Why OR-Tools: it models everything an inspection tour needs in one engine — working-day time windows, service
times, a lunch break that may fall while driving (break intervals), several routes over several days, visits
that may be dropped at a priority-weighted penalty and visits that may not, and routes fixed to a banner.

Model. Every (route, day) is one vehicle that leaves its start place (the depot on day 1, the night's lodging
after that) at the start of the working day and reaches its end place (the lodging, or the route's end on the
last day) by the end of it. Time is seconds since 00:00 of day 1. Arc cost is driving time only; when everything
fits, a global-span cost on the day's workload keeps routes balanced. Dropping a visit costs more than the whole
rest of any plan (so a plan that fits one more project always wins), and each priority level present outweighs
all visits of the levels below, so lower priorities go first.

Search. VROOM plans first (:mod:`geoapp.routing.vroom_seed`: it is far better than OR-Tools' own heuristics at
choosing which projects fit), OR-Tools reads that plan into the exact model and runs its local search to a local
optimum (moves, swaps, insertions of the left-out visits, under the exact penalties and lunch rules). When VROOM's
plan cannot be used (a must-visit project it left out), OR-Tools plans alone: must-visit projects first, then guided
local search. When everything fits, the balance cost counts and VROOM ignores it: both searches run and the cheaper
plan wins.

Determinism: VROOM has no randomness, OR-Tools' local search stops at a local optimum and its guided local search
after a fixed number of solutions (``solution_limit``), never after a wall-clock time, so the same input gives the
same plan on any machine. ``time_limit_s`` is one budget for the whole search (VROOM, then OR-Tools' phases, each
given what is left); it grows with the problem (:class:`TimeRule`) so that ordinary plans never reach it and stay
deterministic, while a huge one stops in bounded time with the best plan found. Every solution reports
``stats["time_limit_s"]``, ``stats["elapsed_s"]`` and ``stats["stopped_by_limit"]`` (True: a phase ran out of time,
so the plan may differ from one machine to another).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from geoapp.routing import vroom_seed

DAY_S = 86_400
UNREACHABLE_S = 10 * DAY_S          # a travel time that marks "no path" in a matrix
PRIORITY_MIN, PRIORITY_MAX, PRIORITY_DEFAULT = 1, 5, 3


@dataclass(frozen=True)
class Visit:
    """One project to inspect at matrix location ``location``."""

    key: str
    location: int
    service_s: int
    priority: int = PRIORITY_DEFAULT
    required: bool = False
    routes: tuple[int, ...] | None = None    # the routes allowed to take it (None: any)


@dataclass(frozen=True)
class Shift:
    """One working day of one route: from ``start_location`` at ``start_s`` to ``end_location`` by ``end_s``."""

    route: int
    day: int
    start_location: int
    end_location: int
    start_s: int
    end_s: int
    lunch: tuple[int, int, int] | None = None    # (earliest start, latest start, duration), absolute seconds


@dataclass
class Problem:
    durations: np.ndarray                 # seconds, locations × locations (asymmetric allowed)
    visits: list[Visit]
    shifts: list[Shift]
    balance: float = 0.1                  # weight of the longest day's workload against total driving


@dataclass
class ShiftResult:
    shift: Shift
    visits: list[int]                     # indices into Problem.visits, in order
    arrivals: list[int]                   # service start of each visit (absolute seconds)
    start_s: int                          # departure from the start place
    end_s: int                            # arrival at the end place
    lunch_s: int | None = None            # lunch start (absolute seconds)


@dataclass
class Solution:
    shifts: list[ShiftResult]
    dropped: list[int]                    # indices into Problem.visits
    driving_s: int
    status: str = "ok"
    stats: dict = field(default_factory=dict)


class Infeasible(Exception):
    """No plan satisfies the hard constraints (must-visit projects, hand-fixed orders)."""


class SearchTimeout(Exception):
    """The time limit ran out before the search found any plan at all (not: the plan does not exist)."""


@dataclass(frozen=True)
class SearchLimits:
    """How the search runs; every stop is counted, never timed, unless the whole search runs past
    ``time_limit_s`` (one budget for all phases; see :class:`TimeRule`)."""

    solution_limit: int = 300               # guided local search (when OR-Tools plans alone)
    time_limit_s: float = 20.0
    metaheuristic: bool = True              # False: OR-Tools stops at its first local optimum
    vroom_exploration: int | None = 3       # VROOM's exploration level (1–5) for the first plan; None: OR-Tools alone


@dataclass(frozen=True)
class TimeRule:
    """The search's time limit for a plan of ``n`` projects: ``base_s + per_project_s × n``, at most ``max_s``.

    Why it scales: a fixed limit is either too short for 500 projects or lets one request hold a core for minutes
    on 20. The defaults (those of the ``plan_time_*`` settings) leave ordinary plans (up to a few hundred projects,
    a few seconds of search) far below the limit, so they stay deterministic; only huge plans are cut short.
    """

    base_s: float = 20.0
    per_project_s: float = 0.1
    max_s: float = 120.0

    def seconds(self, n: int) -> float:
        return round(max(self.base_s, min(self.max_s, self.base_s + self.per_project_s * n)), 1)

    def limits(self, n: int) -> SearchLimits:
        return SearchLimits(time_limit_s=self.seconds(n))


MIN_PHASE_S = 1.0                           # a phase that starts gets at least this long (a plan beats none)


class _Budget:
    """What is left of one time limit shared by the search's phases, and whether a phase used all it was given."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.started = time.monotonic()
        self.stopped = False

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def left(self) -> float:
        return max(MIN_PHASE_S, self.seconds - self.elapsed())

    def exhausted(self) -> bool:
        return self.elapsed() >= self.seconds

    def run(self, phase, *args):
        """Run ``phase(seconds, *args)`` with what is left; a phase that took (nearly) all of it was cut short."""
        given = self.left()
        began = time.monotonic()
        try:
            return phase(given, *args)
        finally:
            if time.monotonic() - began >= 0.98 * given:
                self.stopped = True

    def stats(self) -> dict:
        return {"time_limit_s": self.seconds, "elapsed_s": round(self.elapsed(), 2), "stopped_by_limit": self.stopped}


BALANCE_SCALE = 100                         # Problem.balance → the span cost coefficient


def _span_coefficient(problem: Problem) -> int:
    return max(1, int(round(problem.balance * BALANCE_SCALE))) if problem.balance > 0 else 0


def _penalty_base(problem: Problem) -> int:
    """More than any plan's driving plus balance cost: driving fits in the working days, the span in one day."""
    days = sum(s.end_s - s.start_s for s in problem.shifts)
    longest_day = max((s.end_s - s.start_s for s in problem.shifts), default=0)
    return days + _span_coefficient(problem) * longest_day + 1


def penalties(problem: Problem) -> list[int]:
    """Cost of leaving out each visit: every priority level present outweighs all visits of the levels below."""
    base = _penalty_base(problem)
    factor = len(problem.visits) + 1
    rank = {p: k for k, p in enumerate(sorted({v.priority for v in problem.visits}))}
    return [base * factor ** rank[v.priority] for v in problem.visits]


class _Model:
    """The OR-Tools model of a problem; built once, solved freely or with hand-fixed orders."""

    def __init__(self, problem: Problem):
        self.built = time.monotonic()
        self.problem = problem
        visits, shifts = problem.visits, problem.shifts
        depot_locations = sorted({s.start_location for s in shifts} | {s.end_location for s in shifts})
        self.n_visits = len(visits)
        self.node_location = [v.location for v in visits] + depot_locations
        depot_node = {loc: self.n_visits + i for i, loc in enumerate(depot_locations)}
        starts = [depot_node[s.start_location] for s in shifts]
        ends = [depot_node[s.end_location] for s in shifts]
        self.manager = pywrapcp.RoutingIndexManager(len(self.node_location), len(shifts), starts, ends)
        self.routing = pywrapcp.RoutingModel(self.manager)
        m, r = self.manager, self.routing

        locs = np.array(self.node_location)
        travel = np.asarray(problem.durations, dtype=np.int64)[np.ix_(locs, locs)]
        service = np.array([v.service_s for v in visits] + [0] * len(depot_locations), dtype=np.int64)
        self.travel = travel
        drive_cb = r.RegisterTransitMatrix(travel.tolist())
        time_cb = r.RegisterTransitMatrix((travel + service[:, None]).tolist())
        r.SetArcCostEvaluatorOfAllVehicles(drive_cb)

        horizon = max(s.end_s for s in shifts) + 1
        r.AddDimension(time_cb, horizon, horizon, False, "time")
        self.time = r.GetDimensionOrDie("time")
        if problem.balance > 0:
            r.AddDimension(time_cb, 0, horizon, True, "work")
            r.GetDimensionOrDie("work").SetGlobalSpanCostCoefficient(_span_coefficient(problem))
        solver = r.solver()

        visit_transit = [0] * r.Size()
        for index in range(r.Size()):
            node = m.IndexToNode(index)
            visit_transit[index] = int(service[node])
        for v, s in enumerate(shifts):
            self.time.CumulVar(r.Start(v)).SetRange(s.start_s, s.end_s)
            self.time.CumulVar(r.End(v)).SetRange(s.start_s, s.end_s)
            if s.lunch:
                earliest, latest, duration = s.lunch
                brk = solver.FixedDurationIntervalVar(earliest, latest, duration, False, f"lunch {v}")
                self.time.SetBreakIntervalsOfVehicle([brk], v, visit_transit)
            r.AddVariableMaximizedByFinalizer(self.time.CumulVar(r.Start(v)))
            r.AddVariableMinimizedByFinalizer(self.time.CumulVar(r.End(v)))

        # A visit's time lies inside its vehicle's working day through the vehicle's start and end windows; the
        # nights need no holes in the visit's domain (holes cost 2 ms each to build and slow every propagation).
        first = min(s.start_s for s in shifts)
        last = max(s.end_s for s in shifts)
        pens = penalties(problem)
        for i, visit in enumerate(visits):
            index = m.NodeToIndex(i)
            cumul = self.time.CumulVar(index)
            cumul.SetRange(first, max(first, last - visit.service_s))
            r.AddVariableMinimizedByFinalizer(cumul)
            allowed = [v for v, s in enumerate(shifts) if visit.routes is None or s.route in visit.routes]
            if len(allowed) < len(shifts):
                r.VehicleVar(index).SetValues([-1, *allowed])
            if not visit.required:
                r.AddDisjunction([index], pens[i])

    def _params(self, limits: SearchLimits):
        params = pywrapcp.DefaultRoutingSearchParameters()
        params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.LOCAL_CHEAPEST_INSERTION
        if limits.metaheuristic:
            params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
            params.solution_limit = limits.solution_limit
        params.time_limit.FromMilliseconds(int(limits.time_limit_s * 1000))
        return params

    def solve_from_routes(self, routes: list[list[int]], limits: SearchLimits) -> Solution | None:
        """A given plan (visit indices per shift) finished by OR-Tools' local search; None when it is not a plan of
        this model (a must-visit project missing, a day that does not fit)."""
        params = self._params(SearchLimits(metaheuristic=False, time_limit_s=limits.time_limit_s))
        self.routing.CloseModelWithParameters(params)
        initial = self.routing.ReadAssignmentFromRoutes(
            [[self.manager.NodeToIndex(i) for i in route] for route in routes], True)
        if initial is None:
            return None
        assignment = self.routing.SolveFromAssignmentWithParameters(initial, params)
        return None if assignment is None else self._read(assignment)

    def solve(self, limits: SearchLimits) -> Solution:
        params = self._params(limits)
        required = [i for i, v in enumerate(self.problem.visits) if v.required]
        if len(required) in (0, len(self.problem.visits)):
            assignment = self.routing.SolveWithParameters(params)
        else:
            # Insertion heuristics may fill the days with optional visits first and then fail on a required one:
            # place the required visits alone first, then start the full search from that plan.
            sub = Problem(self.problem.durations, [self.problem.visits[i] for i in required], self.problem.shifts, 0)
            try:
                seed = _Model(sub).solve(SearchLimits(metaheuristic=False, time_limit_s=limits.time_limit_s,
                                                      vroom_exploration=None))
            except Infeasible:
                raise Infeasible("the required visits do not fit") from None
            limits = replace(limits, time_limit_s=max(MIN_PHASE_S, limits.time_limit_s - seed.stats["seconds"]))
            params = self._params(limits)
            self.routing.CloseModelWithParameters(params)
            routes = [[self.manager.NodeToIndex(required[k]) for k in sh.visits] for sh in seed.shifts]
            initial = self.routing.ReadAssignmentFromRoutes(routes, True)
            if initial is None:
                raise Infeasible("the required visits do not fit")
            assignment = self.routing.SolveFromAssignmentWithParameters(initial, params)
        if assignment is None:
            self._raise_unsolved()
        solution = self._read(assignment)
        solution.stats["search"] = "or-tools"
        return solution

    def _raise_unsolved(self) -> None:
        """No assignment: out of time before any plan (SearchTimeout), or no plan exists (Infeasible)."""
        if self.routing.status() == routing_enums_pb2.RoutingSearchStatus.ROUTING_FAIL_TIMEOUT:
            raise SearchTimeout("the time limit ran out before any plan was found")
        raise Infeasible("no feasible plan")

    def evaluate(self, orders: list[list[int]]) -> Solution:
        """Times for fixed visit orders (one list of visit indices per shift); Infeasible when they do not fit."""
        r = self.routing
        solver = r.solver()
        placed = {i for order in orders for i in order}
        for v, order in enumerate(orders):
            chain = [r.Start(v)] + [self.manager.NodeToIndex(i) for i in order] + [r.End(v)]
            for a, b in zip(chain, chain[1:], strict=False):
                solver.Add(r.NextVar(a) == b)
        for i in range(self.n_visits):
            if i not in placed:
                index = self.manager.NodeToIndex(i)
                solver.Add(r.NextVar(index) == index)
        params = self._params(SearchLimits(metaheuristic=False, time_limit_s=10))
        params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.FIRST_UNBOUND_MIN_VALUE
        assignment = r.SolveWithParameters(params)
        if assignment is None:
            raise Infeasible("the fixed orders do not fit the working days")
        return self._read(assignment)

    def _read(self, assignment) -> Solution:
        r, m = self.routing, self.manager
        shifts: list[ShiftResult] = []
        visited: set[int] = set()
        driving = 0
        breaks = {}
        container = assignment.IntervalVarContainer()
        for k in range(container.Size()):
            element = container.Element(k)
            if element.PerformedValue():
                breaks[element.Var().Name()] = element.StartValue()
        for v, shift in enumerate(self.problem.shifts):
            index = r.Start(v)
            start = assignment.Value(self.time.CumulVar(index))
            order, arrivals = [], []
            while True:
                nxt = assignment.Value(r.NextVar(index))
                driving += int(self.travel[m.IndexToNode(index), m.IndexToNode(nxt)])
                index = nxt
                if r.IsEnd(index):
                    break
                node = m.IndexToNode(index)
                order.append(node)
                arrivals.append(assignment.Value(self.time.CumulVar(index)))
                visited.add(node)
            end = assignment.Value(self.time.CumulVar(index))
            shifts.append(ShiftResult(shift, order, arrivals, start, end, breaks.get(f"lunch {v}")))
        dropped = [i for i in range(self.n_visits) if i not in visited]
        return Solution(shifts, dropped, driving, stats={"objective": assignment.ObjectiveValue(),
                                                         "seconds": time.monotonic() - self.built})


def solve_from_routes(problem: Problem, routes: list[list[int]], limits: SearchLimits | None = None) -> Solution | None:
    """OR-Tools' local search from a given plan (for each shift its visit indices in order); None if not a plan."""
    return _Model(problem).solve_from_routes(routes, limits or SearchLimits())


def solve(problem: Problem, limits: SearchLimits | None = None) -> Solution:
    """The best plan the search finds within ``limits.time_limit_s`` (all phases together); raises Infeasible when
    the required visits cannot all be placed, SearchTimeout when the time ran out before any plan was found."""
    if not problem.shifts:
        raise Infeasible("no working days")
    limits = limits or SearchLimits()
    budget = _Budget(limits.time_limit_s)
    plans = []
    if limits.vroom_exploration is not None:
        routes = budget.run(lambda seconds: vroom_seed.first_routes(problem, limits.vroom_exploration,
                                                                    timeout_s=seconds))
        first = budget.run(lambda seconds: solve_from_routes(problem, routes, replace(limits, time_limit_s=seconds)))
        if first is not None:
            first.stats["search"] = "vroom+local search"
            plans.append(first)
    # When everything fits, the balance cost matters and VROOM (which only minimises driving) can leave one day much
    # longer than the others where local search cannot mend it: OR-Tools' own search runs as well, the cheaper wins.
    if plans and problem.balance > 0 and budget.exhausted():
        budget.stopped = True       # no time left for the second search: VROOM's plan it is
    elif not plans or problem.balance > 0:
        try:
            plans.append(budget.run(lambda seconds: _Model(problem).solve(
                replace(limits, vroom_exploration=None, time_limit_s=seconds))))
        except (Infeasible, SearchTimeout):
            if not plans:
                raise
    best = min(plans, key=lambda p: p.stats["objective"])
    best.stats.update(budget.stats())
    return best


def evaluate(problem: Problem, orders: list[list[int]]) -> Solution:
    """Recompute the times of hand-ordered shifts with the same constraints as planning."""
    return _Model(problem).evaluate(orders)
