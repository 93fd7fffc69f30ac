"""The solver adapter: an inspection problem (visits, route-days, a travel-time matrix) → OR-Tools → ordered stops.

Why OR-Tools: it models everything an inspection tour needs in one engine — working-day time windows, service
times, a lunch break that may fall while driving (break intervals), several routes over several days, visits
that may be dropped at a priority-weighted penalty and visits that may not, and routes fixed to a banner.

Model. Every (route, day) is one vehicle that leaves its start place (the depot on day 1, the night's lodging
after that) at the start of the working day and reaches its end place (the lodging, or the route's end on the
last day) by the end of it. Time is seconds since 00:00 of day 1. Arc cost is driving time only; a small
global-span cost on the day's workload keeps routes balanced. Dropping a visit costs more than any detour could
save, scaled by priority so that lower priorities go first (``PRIORITY_BASE`` ** priority).

Determinism: guided local search stops after a fixed number of solutions (``solution_limit``), not after a
wall-clock time, so the same input gives the same plan on any machine; ``time_limit_s`` is only a safety net.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

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


@dataclass(frozen=True)
class SearchLimits:
    solution_limit: int = 300
    time_limit_s: float = 20.0
    metaheuristic: bool = True


def _penalty_base(problem: Problem) -> int:
    reachable = problem.durations[problem.durations < UNREACHABLE_S]
    longest = int(reachable.max()) if reachable.size else 3600
    service = max((v.service_s for v in problem.visits), default=0)
    return 4 * (2 * longest + service) + 3600


def penalties(problem: Problem) -> list[int]:
    """Cost of leaving out each visit: every priority level outweighs all visits of the levels below."""
    base = _penalty_base(problem)
    factor = len(problem.visits) + 1
    return [base * factor ** (v.priority - PRIORITY_MIN) for v in problem.visits]


class _Model:
    """The OR-Tools model of a problem; built once, solved freely or with hand-fixed orders."""

    def __init__(self, problem: Problem):
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
            r.GetDimensionOrDie("work").SetGlobalSpanCostCoefficient(max(1, int(round(problem.balance * 100))))
            self._span_scale = 100
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

        days = sorted({(s.start_s, s.end_s) for s in shifts})
        first, last = days[0][0], days[-1][1]
        pens = penalties(problem)
        for i, visit in enumerate(visits):
            index = m.NodeToIndex(i)
            cumul = self.time.CumulVar(index)
            cumul.SetRange(first, max(first, last - visit.service_s))
            for (_, end_a), (start_b, _) in zip(days, days[1:], strict=False):
                if end_a - visit.service_s + 1 <= start_b - 1:
                    cumul.RemoveInterval(end_a - visit.service_s + 1, start_b - 1)
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
                seed = _Model(sub).solve(SearchLimits(metaheuristic=False, time_limit_s=limits.time_limit_s))
            except Infeasible:
                raise Infeasible("the required visits do not fit") from None
            self.routing.CloseModelWithParameters(params)
            routes = [[self.manager.NodeToIndex(required[k]) for k in sh.visits] for sh in seed.shifts]
            initial = self.routing.ReadAssignmentFromRoutes(routes, True)
            if initial is None:
                raise Infeasible("the required visits do not fit")
            assignment = self.routing.SolveFromAssignmentWithParameters(initial, params)
        if assignment is None:
            raise Infeasible("no feasible plan")
        return self._read(assignment)

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
        return Solution(shifts, dropped, driving, stats={"objective": assignment.ObjectiveValue()})


def solve(problem: Problem, limits: SearchLimits | None = None) -> Solution:
    """The best plan the search finds; raises Infeasible when the required visits cannot all be placed."""
    if not problem.shifts:
        raise Infeasible("no working days")
    return _Model(problem).solve(limits or SearchLimits())


def evaluate(problem: Problem, orders: list[list[int]]) -> Solution:
    """Recompute the times of hand-ordered shifts with the same constraints as planning."""
    return _Model(problem).evaluate(orders)
