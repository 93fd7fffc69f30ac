"""Inspection-route planner: chosen projects → N routes over D days, with road or estimated travel times.

Flow (one way): ``roads`` (OSM .pbf → PostGIS/pgRouting) → ``matrix`` (travel times: roads or estimate) →
``planner`` (settings → projects → places → ``solver`` (OR-Tools)) → ``store`` (route_plans, routes,
route_stops) → API (``geoapp.api.routers.routes``), CLI (``geoapp routes …``), layers (layers/routes.yaml,
layers/route_stops.yaml) and printing.

Modules: ``request`` (PlanSettings: what a team sets, checked → PlanError 400; more projects than
``plan_max_projects`` → 413), ``places`` (start/end/lodging), ``estimate`` (great circle × circuity ÷ speed;
defaults 60 km/h, 1.25), ``roads``, ``matrix``, ``solver`` (with its time limit rule, ``TimeRule``), ``planner``,
``store``, ``report`` (the itinerary as text), ``worker`` (the API plans in worker processes, a few at a time,
cancellable; the server keeps answering) and ``jobs`` (what a worker runs).

Reading a stored plan (for route maps, handbooks, GPX/KML)::

    from geoapp.routing.store import get_plan
    plan = get_plan(conn, plan_id, legs=True)     # None when there is no such plan

``plan`` is a dict:

- ``id``, ``title``, ``created_at``, ``updated_at``, ``edited`` (a team changed it by hand), ``settings`` (as
  planned; ``start_date`` may give day 1), ``totals`` {visits, unassigned, distance_km, driving_min, service_min};
- ``solver``: {search, time_limit_s, elapsed_s, stopped_by_limit} of the planning search (None for plans stored
  before it was recorded); ``stopped_by_limit`` True means the limit cut the search short;
- ``travel_model``: {kind: "road" | "estimate", label: {zh, en}, …parameters (speed_kmh, circuity) or the road
  network (source file, import time)}; every output of an estimate must show the label (估算行驶时间);
- ``routes``: north → south, each {id, seq, name, name_en, color, totals, line (GeoJSON MultiLineString, along
  the roads in road mode, straight legs in estimate mode), days: [{day, start, end, lunch (HH:MM), start_s,
  end_s, lunch_s, lunch_minutes, visits, distance_km, driving_min}], stops: [...]};
- each stop, in order: {seq, kind: start | visit | overnight | end, number (1, 2 … for visits), day,
  project_code, name, division_code, division, lon, lat, arrival / departure (HH:MM), arrival_day /
  departure_day, arrival_s / departure_s (seconds since 00:00 of day 1), service_min, leg: {distance_km,
  minutes} of the way there (None for the start), and with ``legs=True`` leg_line (GeoJSON LineString)};
- ``unassigned``: the projects left out, lowest priority first, each with {project_code, name, division,
  priority, reason: {code: time | too_far | removed, zh, en}}.
"""
