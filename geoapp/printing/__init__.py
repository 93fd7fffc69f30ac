"""Printed routes: the route map and the inspection handbook (观摩手册) as PDF, and GPX/KML for navigation.

Data flows one way: a stored plan (``geoapp.routing.store.get_plan``) → ``source`` (a ``RoutePrint`` per route,
with project details) → ``mapdraw`` (SVG in paper millimetres, fitted transverse Mercator, true round scale) →
``documents`` (HTML + CSS, printed by WeasyPrint with a subset-embedded CJK font) or ``tracks`` (GPX 1.1, KML;
WGS84 or GCJ-02 on the way out). ``service`` is what the API router and ``geoapp routes print`` call.
"""
