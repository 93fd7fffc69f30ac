"""The route map and the locator maps as SVG in paper millimetres (vector, drawn at a true round scale).

Layers from bottom to top: surroundings, divisions, graticule, roads, boundaries, division names, the
route line with direction arrows, start/end/overnight flags, numbered stops (displaced around a leader
point where several share a place), stop names where they fit, and the legend panel with the scale bar
and north arrow in the emptiest corner.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import LineString, MultiLineString, box
from shapely.geometry.base import BaseGeometry

from geoapp.printing import svg
from geoapp.printing.basemap import EDGE_KINDS, BaseMap
from geoapp.printing.labels import word
from geoapp.printing.model import Place, RoutePrint, StopPrint
from geoapp.printing.projection import MapFrame, fit_frame, scale_bar_length
from geoapp.vocab import Vocabulary

GRID_MARGIN = 5.0          # mm between the outer edge and the neatline, for graticule labels
STOP_R = 2.4               # radius of a numbered stop marker, mm
LAND = "#fbfaf5"
OUTSIDE = "#e6e4dc"
GRATICULE = "#a9bccb"
BOUNDARY = "#7d8491"
CITY_LINE = "#4a4f59"
CITY_BAND = "#d9cde6"
# The outline's edges as Chinese maps draw them (dash-dot-dot 省界, dash-dot 市界, finer dash-dot 旗县市区界);
# (stroke width mm, dash pattern mm, legend label key) by edge kind of BaseMap.edges.
EDGE_STYLE = {
    "province": (0.75, "2.8 0.6 0.35 0.6 0.35 0.6", "province_boundary"),
    "city": (0.5, "2.6 0.7 0.4 0.7", "city_boundary"),
    "other": (0.4, "", "area_edge"),
}
ROAD = "#e0a35a"
ROAD_WIDTH = {"motorway": 0.8, "trunk": 0.6, "primary": 0.45}
INK = "#1f2933"
START_FILL = "#1b7f3a"
END_FILL = "#b3261e"
OVERNIGHT_FILL = "#274c8f"
UNKNOWN_SECTOR = "#888888"
# where a division name may move (mm) to keep off the route, markers and other labels, in order of preference
NAME_SHIFTS = [(0, 0), (0, -6), (0, 6), (-10, 0), (10, 0), (0, -12), (0, 12), (-10, -8), (10, 8), (-10, 8),
               (10, -8), (0, -20), (0, 20)]


@dataclass
class Marker:
    stop: StopPrint
    anchor: tuple[float, float]
    at: tuple[float, float]


def sector_colour(sectors: Vocabulary, code: str | None) -> str:
    if code and code in sectors.codes:
        return sectors.get(code).extra.get("color", UNKNOWN_SECTOR)
    return UNKNOWN_SECTOR


def sector_label(sectors: Vocabulary, code: str | None, lang: str) -> str:
    return sectors.get(code).label(lang) if code and code in sectors.codes else (code or word("unknown", lang))


def route_geometry(route: RoutePrint) -> tuple[BaseGeometry, bool]:
    """The line to draw and whether it follows roads (else straight legs between the places, in order)."""
    if route.line is not None and not route.line.is_empty:
        return route.line, True
    pts = route.points()
    legs = [LineString([a, b]) for a, b in zip(pts, pts[1:], strict=False) if a != b]
    return MultiLineString(legs), False


def line_parts(geom: BaseGeometry) -> list[LineString]:
    if geom.is_empty:
        return []
    if isinstance(geom, LineString):
        return [geom]
    return [g for g in getattr(geom, "geoms", []) if isinstance(g, LineString) and not g.is_empty]


def _graticule_step(frame: MapFrame) -> float:
    deg_span = frame.width_mm / 1000 * frame.scale / 80_000
    for step in (0.1, 0.25, 0.5, 1.0, 2.0):
        if deg_span / step <= 6:
            return step
    return 5.0


def _dms(value: float, pos: str, neg: str) -> str:
    hemi = pos if value >= 0 else neg
    value = abs(value)
    d = int(value)
    m = int(round((value - d) * 60))
    if m == 60:
        d, m = d + 1, 0
    return f"{d}°{m:02d}′{hemi}" if m else f"{d}°{hemi}"


def graticule(frame: MapFrame, ox: float, oy: float, w: float, h: float) -> tuple[str, str]:
    """(grid lines inside the neatline, labels outside it) in outer-sheet coordinates."""
    step = _graticule_step(frame)
    corners = [frame.unproject(x, y) for x, y in ((0, 0), (w, 0), (0, h), (w, h))]
    lons = [c[0] for c in corners]
    lats = [c[1] for c in corners]
    lon_min, lon_max = min(lons) - step, max(lons) + step
    lat_min, lat_max = min(lats) - step, max(lats) + step
    lines, labels = [], []
    edges = {
        "top": LineString([(0, 0), (w, 0)]), "bottom": LineString([(0, h), (w, h)]),
        "left": LineString([(0, 0), (0, h)]), "right": LineString([(w, 0), (w, h)]),
    }
    dense_lat = np.linspace(lat_min, lat_max, 60)
    dense_lon = np.linspace(lon_min, lon_max, 60)
    for lon in np.arange(math.ceil(lon_min / step) * step, lon_max, step):
        xs, ys = frame.project(np.full_like(dense_lat, lon), dense_lat)
        line = shapely.clip_by_rect(LineString(np.column_stack([xs, ys])), 0, 0, w, h)
        lines.append(svg.path_d(line))
        for edge in ("top", "bottom"):
            hit = line.intersection(edges[edge])
            if not hit.is_empty and hit.geom_type == "Point" and 6 < hit.x < w - 6:
                y = oy - 1.2 if edge == "top" else oy + h + 3.4
                labels.append(svg.text(ox + hit.x, y, _dms(lon, "E", "W"), 2.3, fill="#5b6470", anchor="middle"))
    for lat in np.arange(math.ceil(lat_min / step) * step, lat_max, step):
        xs, ys = frame.project(dense_lon, np.full_like(dense_lon, lat))
        line = shapely.clip_by_rect(LineString(np.column_stack([xs, ys])), 0, 0, w, h)
        lines.append(svg.path_d(line))
        for edge in ("left", "right"):
            hit = line.intersection(edges[edge])
            if not hit.is_empty and hit.geom_type == "Point" and 6 < hit.y < h - 6:
                x = ox - 1.0 if edge == "left" else ox + w + 1.0
                rot = -90 if edge == "left" else 90
                labels.append(svg.text(
                    x, oy + hit.y, _dms(lat, "N", "S"), 2.3, fill="#5b6470", anchor="middle",
                    extra=f'transform="rotate({rot} {x:.2f} {oy + hit.y:.2f})"'))
    grid = (f'<path d="{"".join(lines)}" fill="none" stroke="{GRATICULE}" stroke-width="0.15" '
            f'stroke-dasharray="1.2 0.8"/>')
    return grid, "".join(labels)


def displace(frame: MapFrame, stops: list[StopPrint], r: float = STOP_R, bounds: tuple[float, float] | None = None,
             fixed: list[tuple[float, float, float]] = (), iterations: int = 400) -> list[Marker]:
    """Markers at their places, pushed apart where they would overlap; a leader line keeps the true point.

    A few hundred rounds of pairwise repulsion with a weak pull back to the true point: deterministic,
    and for 40 stops a matter of milliseconds (numpy on an n × n distance matrix). ``fixed`` circles
    (x, y, radius: the start/end/overnight flags) push markers away without moving themselves.
    """
    if not stops:
        return []
    xs, ys = frame.project(np.array([s.lon for s in stops]), np.array([s.lat for s in stops]))
    anchors = np.column_stack([xs, ys]).astype(float)
    n = len(stops)
    golden = np.arange(n) * 2.399963
    pos = anchors + 0.05 * np.column_stack([np.cos(golden), np.sin(golden)])
    min_d = 2 * r + 0.5
    obstacles = np.array([(x, y) for x, y, _ in fixed]).reshape(-1, 2)
    reach = np.array([rad + r + 0.3 for _, _, rad in fixed])
    for _ in range(iterations):
        step = np.zeros_like(pos)
        worst = 0.0
        if n > 1:
            diff = pos[:, None, :] - pos[None, :, :]
            dist = np.hypot(diff[..., 0], diff[..., 1])
            np.fill_diagonal(dist, np.inf)
            overlap = np.clip(min_d - dist, 0, None)
            worst = overlap.max()
            step += 0.55 * (diff / np.maximum(dist, 1e-6)[..., None] * overlap[..., None]).sum(axis=1)
        if len(obstacles):
            diff = pos[:, None, :] - obstacles[None, :, :]
            dist = np.hypot(diff[..., 0], diff[..., 1])
            overlap = np.clip(reach[None, :] - dist, 0, None)
            worst = max(worst, overlap.max())
            step += 1.0 * (diff / np.maximum(dist, 1e-6)[..., None] * overlap[..., None]).sum(axis=1)
        if worst < 0.02:
            break
        pos += step + 0.015 * (anchors - pos)
        if bounds:
            pos[:, 0] = np.clip(pos[:, 0], r + 0.5, bounds[0] - r - 0.5)
            pos[:, 1] = np.clip(pos[:, 1], r + 0.5, bounds[1] - r - 0.5)
    return [Marker(s, (float(a[0]), float(a[1])), (float(p[0]), float(p[1])))
            for s, a, p in zip(stops, anchors, pos, strict=True)]


def _arrows(lines: list[LineString], colour: str, spacing: float = 42.0) -> str:
    """Small chevrons along the route every ``spacing`` mm, pointing the way the route is driven."""
    out = []
    for line in lines:
        length = line.length
        if length < 14:
            continue
        positions = np.arange(min(spacing / 2, length / 2), length - 4, spacing) if length > spacing else [length / 2]
        for d in positions:
            p, q = line.interpolate(d), line.interpolate(min(d + 0.8, length))
            angle = math.degrees(math.atan2(q.y - p.y, q.x - p.x))
            out.append(f'<path d="M-1.3 -1.25L1.3 0L-1.3 1.25Z" transform="translate({p.x:.2f} {p.y:.2f}) '
                       f'rotate({angle:.1f})" fill="{colour}" stroke="#ffffff" stroke-width="0.3" '
                       f'stroke-linejoin="round"/>')
    return "".join(out)


def _flag(x: float, y: float, fill: str, label: str, side: int = 1) -> str:
    """A pennant on a pole standing on (x, y), with a one-character label (起, 终, 宿)."""
    pole_h, fw, fh = 7.5, 6.2, 4.4
    fx = x if side > 0 else x - fw
    tip = f"L{fx + fw:.2f} {y - pole_h + fh / 2:.2f}" if side > 0 else f"L{fx:.2f} {y - pole_h + fh / 2:.2f}"
    base = x if side > 0 else x
    if side > 0:
        flag = f"M{base:.2f} {y - pole_h:.2f}{tip}L{base:.2f} {y - pole_h + fh:.2f}Z"
        tx = base + fw * 0.36
    else:
        flag = f"M{base:.2f} {y - pole_h:.2f}{tip}L{base:.2f} {y - pole_h + fh:.2f}Z"
        tx = base - fw * 0.36
    return (
        f'<circle cx="{x:.2f}" cy="{y:.2f}" r="0.9" fill="{fill}" stroke="#fff" stroke-width="0.3"/>'
        f'<path d="M{x:.2f} {y:.2f}L{x:.2f} {y - pole_h:.2f}" stroke="{INK}" stroke-width="0.4"/>'
        f'<path d="{flag}" fill="{fill}" stroke="#ffffff" stroke-width="0.3" stroke-linejoin="round"/>'
        + svg.text(tx, y - pole_h + fh / 2 + 0.95, label, 2.5, fill="#ffffff", anchor="middle", weight=700)
    )


def _stop_marker(m: Marker, fill: str, r: float = STOP_R) -> str:
    x, y = m.at
    out = ""
    if math.hypot(m.at[0] - m.anchor[0], m.at[1] - m.anchor[1]) > 0.6 * r:
        ax, ay = m.anchor
        out += (f'<path d="M{ax:.2f} {ay:.2f}L{x:.2f} {y:.2f}" stroke="{INK}" stroke-width="0.25"/>'
                f'<circle cx="{ax:.2f}" cy="{ay:.2f}" r="0.55" fill="{INK}"/>')
    label = str(m.stop.seq)
    size = 2.5 if len(label) < 3 else 2.0
    out += (f'<circle cx="{x:.2f}" cy="{y:.2f}" r="{r:.2f}" fill="{fill}" stroke="#ffffff" stroke-width="0.45"/>'
            f'<circle cx="{x:.2f}" cy="{y:.2f}" r="{r + 0.22:.2f}" fill="none" stroke="{INK}" stroke-width="0.18"/>')
    return out + svg.text(x, y + size * 0.36, label, size, fill=svg.readable_on(fill), anchor="middle", weight=700)


def _short(name: str, limit: int = 14) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def _place_labels(markers: list[Marker], w: float, h: float, obstacles: list[svg.Box]) -> str:
    """Stop names beside their markers where they do not collide with markers, flags or other names."""
    placed: list[svg.Box] = list(obstacles)
    out = []
    size = 2.3
    for m in sorted(markers, key=lambda m: m.stop.seq):
        label = _short(m.stop.name)
        tw = svg.text_width(label, size)
        x, y = m.at
        gap = STOP_R + 0.8
        candidates = [
            (x + gap, y + size * 0.36, "start", (x + gap, y - size * 0.6, x + gap + tw, y + size * 0.5)),
            (x - gap, y + size * 0.36, "end", (x - gap - tw, y - size * 0.6, x - gap, y + size * 0.5)),
            (x, y - gap - 0.4, "middle", (x - tw / 2, y - gap - size - 0.2, x + tw / 2, y - gap)),
            (x, y + gap + size, "middle", (x - tw / 2, y + gap, x + tw / 2, y + gap + size + 0.2)),
        ]
        for tx, ty, anchor, bx in candidates:
            if svg.inside(bx, w, h) and not svg.overlaps(bx, placed):
                placed.append(bx)
                out.append(svg.text(tx, ty, label, size, fill=INK, anchor=anchor, halo="#ffffff", halo_width=0.8))
                break
    return "".join(out)


def _edge_line(kind: str, x1: float = 9) -> str:
    width, dash, _ = EDGE_STYLE[kind]
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    return f'<path d="M0 0L{x1:g} 0" stroke="{CITY_LINE}" stroke-width="{width}"{dash_attr}/>'


def _legend(route: RoutePrint, sectors: Vocabulary, frame: MapFrame, lang: str, straight: bool,
            has_roads: bool, edge_kinds: tuple[str, ...] = ()) -> tuple[str, float, float]:
    """The legend panel (symbols, sectors in one or two columns, scale bar, north arrow); returns (svg, w, h)."""
    size, line_h = 2.4, 4.4
    start_char, end_char = ("起", "终") if lang == "zh" else ("S", "E")
    dash = ' stroke-dasharray="2 1.2"' if straight else ""
    symbols: list[tuple[str, str, float]] = [  # (symbol drawn around (0..9, 0), label, extra space above)
        (f'<path d="M0 0L9 0" stroke="#ffffff" stroke-width="1.9"/>'
         f'<path d="M0 0L9 0" stroke="{route.color}" stroke-width="1.1"{dash}/>',
         word("route_straight" if straight else "route", lang), 0.0),
    ]
    if route.stops:
        symbols.append((_stop_marker(Marker(route.stops[0], (4.5, 0), (4.5, 0)), "#9aa5b1", r=2.0),
                        word("stop_numbered", lang), 0.0))
    if _same_place(route.start, route.end):
        symbols.append((_flag(3, 2.2, START_FILL, start_char), word("start_end", lang), 3.5))
    else:
        symbols.append((_flag(3, 2.2, START_FILL, start_char), word("start", lang), 3.5))
        symbols.append((_flag(3, 2.2, END_FILL, end_char), word("end", lang), 3.5))
    if any(d.overnight for d in route.days):
        symbols.append((_flag(3, 2.2, OVERNIGHT_FILL, "宿" if lang == "zh" else "H"), word("overnight", lang), 3.5))
    if has_roads:
        symbols.append((f'<path d="M0 0L9 0" stroke="{ROAD}" stroke-width="0.7"/>', word("road", lang), 0.0))
    symbols.append((f'<path d="M0 0L9 0" stroke="{BOUNDARY}" stroke-width="0.3" '
                    f'stroke-dasharray="1.6 0.6 0.4 0.6"/>', word("division_boundary", lang), 0.0))
    for kind in EDGE_KINDS:
        if kind in edge_kinds:
            symbols.append((f'<path d="M0 0L9 0" stroke="{CITY_BAND}" stroke-width="1.6"/>{_edge_line(kind)}',
                            word(EDGE_STYLE[kind][2], lang), 0.0))

    present = list(dict.fromkeys(s.sector for s in route.stops))
    sector_rows = [(sector_colour(sectors, c), sector_label(sectors, c, lang)) for c in present]
    columns = 2 if len(sector_rows) > 6 else 1
    per_col = math.ceil(len(sector_rows) / columns) if sector_rows else 0
    col_w = max((svg.text_width(label, 2.2) for _, label in sector_rows), default=0) + 7
    width = max(max(svg.text_width(label, size) for _, label, _ in symbols) + 16, columns * col_w + 5, 52)

    body = [svg.text(3, 5.0, word("legend", lang), 3.0, fill=INK, weight=700)]
    y = 9.5
    for symbol, label, above in symbols[:2]:
        y += above
        body.append(f'<g transform="translate(3 {y:.2f})">{symbol}</g>')
        body.append(svg.text(13, y + size * 0.36, label, size, fill=INK))
        y += line_h
    for i, (fill, label) in enumerate(sector_rows):
        col, row = divmod(i, per_col)
        cx, cy = 7.5 + col * col_w, y + row * 3.9
        body.append(f'<circle cx="{cx:.2f}" cy="{cy:.2f}" r="1.5" fill="{fill}" stroke="{INK}" stroke-width="0.18"/>')
        body.append(svg.text(cx + 3.0, cy + 2.2 * 0.36, label, 2.2, fill=INK))
    y += per_col * 3.9 + (0.6 if sector_rows else 0)
    for symbol, label, above in symbols[2:]:
        y += above
        body.append(f'<g transform="translate(3 {y:.2f})">{symbol}</g>')
        body.append(svg.text(13, y + size * 0.36, label, size, fill=INK))
        y += line_h
    # scale bar and north arrow
    y += 1.0
    body.append(f'<path d="M2 {y:.2f}L{width - 2:.2f} {y:.2f}" stroke="#c7ccd3" stroke-width="0.2"/>')
    y += 4.0
    bar_mm, metres = scale_bar_length(frame.scale, width - 22)
    km_total = metres / 1000
    segments = next((k for k in (4, 5, 2) if (km_total / k) == int(km_total / k) or km_total < 1), 2)
    seg = bar_mm / segments
    for i in range(segments):
        fill = INK if i % 2 == 0 else "#ffffff"
        body.append(f'<rect x="{4 + i * seg:.2f}" y="{y:.2f}" width="{seg:.2f}" height="1.3" fill="{fill}" '
                    f'stroke="{INK}" stroke-width="0.2"/>')
    for i in (0, segments // 2, segments) if segments % 2 == 0 else (0, segments):
        body.append(svg.text(4 + i * seg, y + 4.2, f"{km_total * i / segments:g}", 2.2, fill=INK, anchor="middle"))
    body.append(svg.text(4 + bar_mm + 2.2, y + 4.2, word("km", lang), 2.2, fill=INK))
    scale_text = f"{word('scale', lang)} 1:{frame.scale:,}".replace(",", " ")
    body.append(svg.text(4, y + 8.4, scale_text, 2.4, fill=INK))
    nx, ny = width - 7, y - 1.0
    body.append(
        f'<path d="M{nx:.2f} {ny - 1.5:.2f}L{nx + 2.4:.2f} {ny + 6:.2f}L{nx:.2f} {ny + 4.4:.2f}Z" fill="{INK}"/>'
        f'<path d="M{nx:.2f} {ny - 1.5:.2f}L{nx - 2.4:.2f} {ny + 6:.2f}L{nx:.2f} {ny + 4.4:.2f}Z" fill="#ffffff" '
        f'stroke="{INK}" stroke-width="0.25"/>'
        + svg.text(nx, ny + 9.6, word("north", lang), 2.6, fill=INK, anchor="middle", weight=700)
    )
    height = y + 11.5
    panel = (f'<rect x="0" y="0" width="{width:.2f}" height="{height:.2f}" fill="#ffffff" fill-opacity="0.93" '
             f'stroke="#7b8794" stroke-width="0.25"/>' + "".join(body))
    return panel, width, height


def _same_place(a: Place, b: Place) -> bool:
    return abs(a.lon - b.lon) < 1e-5 and abs(a.lat - b.lat) < 1e-5


def _legend_corner(points_mm: list[tuple[float, float]], w: float, h: float, lw: float,
                   lh: float) -> tuple[float, float]:
    """The place along the frame's edges (corners first) whose legend area covers the fewest route points,
    then the one farthest from them."""
    pad = 2.5
    xs = [w - lw - pad, pad] + [pad + f * (w - lw - 2 * pad) for f in (0.25, 0.5, 0.75)]
    ys = [h - lh - pad, pad] + [pad + f * (h - lh - 2 * pad) for f in (0.25, 0.5, 0.75)]
    corners = [(x, y) for y in ys[:2] for x in xs[:2]]
    corners += [(x, y) for y in ys[:2] for x in xs[2:]] + [(x, y) for x in xs[:2] for y in ys[2:]]
    pts = np.array(points_mm) if points_mm else np.zeros((0, 2))

    def crowd(c: tuple[float, float]) -> tuple[int, float]:
        x0, y0, x1, y1 = c[0] - 4, c[1] - 4, c[0] + lw + 4, c[1] + lh + 4
        covered = int(((pts[:, 0] > x0) & (pts[:, 0] < x1) & (pts[:, 1] > y0) & (pts[:, 1] < y1)).sum())
        if not len(pts):
            return covered, 0.0
        dx = np.maximum(np.maximum(x0 - pts[:, 0], pts[:, 0] - x1), 0)
        dy = np.maximum(np.maximum(y0 - pts[:, 1], pts[:, 1] - y1), 0)
        return covered, -float(np.hypot(dx, dy).min())

    return min(corners, key=crowd)


def _frame_clear_of_legend(route: RoutePrint, sectors: Vocabulary, pts: list[tuple[float, float]], w: float,
                           h: float, lang: str, straight: bool, has_roads: bool,
                           edge_kinds: tuple[str, ...] = ()) -> MapFrame:
    """The frame at the largest round scale where some corner is free for the legend.

    Fitting the route to the whole frame first; when every corner the legend could take covers part of the
    route, the route is fitted beside (or above) a strip kept for the legend instead, whichever is larger.
    """
    frame = fit_frame(pts, w, h, margin=0.10)
    _, lw, lh = _legend(route, sectors, frame, lang, straight, has_roads, edge_kinds)
    xs, ys = frame.project(np.array([p[0] for p in pts]), np.array([p[1] for p in pts]))
    corner = _legend_corner(list(zip(xs, ys, strict=True)), w, h, lw, lh)
    x0, y0 = corner
    covered = ((xs > x0 - 4) & (xs < x0 + lw + 4) & (ys > y0 - 4) & (ys < y0 + lh + 4)).any()
    if not covered:
        return frame
    beside = fit_frame(pts, w, h, margin=0.06, inside=(0, 0, w - lw - 6, h))
    above = fit_frame(pts, w, h, margin=0.06, inside=(0, 0, w, h - lh - 6))
    return min(beside, above, key=lambda f: f.scale)


def _edges_mm(base: BaseMap, frame: MapFrame, w: float, h: float) -> list[tuple[str, BaseGeometry]]:
    """The outline's edges (省界, 市界 …) on paper, clipped to the frame; kinds not in the frame are left out."""
    out = []
    for kind, geom in base.edges:
        clipped = svg.clip(frame.project_geometry(geom), w, h)
        if not clipped.is_empty and clipped.length > 0.5:
            out.append((kind, clipped))
    return out


def route_map_svg(route: RoutePrint, base: BaseMap, sectors: Vocabulary, width_mm: float, height_mm: float,
                  lang: str = "zh") -> tuple[str, MapFrame]:
    """The whole route map as one SVG element sized ``width_mm`` × ``height_mm``."""
    ox = oy = GRID_MARGIN
    w, h = width_mm - 2 * GRID_MARGIN, height_mm - 2 * GRID_MARGIN
    geometry, follows_roads = route_geometry(route)
    pts = route.points()
    if geometry is not None and not geometry.is_empty:
        minx, miny, maxx, maxy = geometry.bounds
        pts = [*pts, (minx, miny), (maxx, maxy)]
    all_kinds = tuple(kind for kind, _ in base.edges)
    frame = _frame_clear_of_legend(route, sectors, pts, w, h, lang, not follows_roads, bool(base.roads), all_kinds)
    parts: list[str] = [f'<rect x="0" y="0" width="{w:.2f}" height="{h:.2f}" fill="{OUTSIDE}"/>']

    # divisions, outline, graticule, roads
    div_mm = [(d, svg.clip(frame.project_geometry(d.boundary), w, h)) for d in base.divisions]
    parts.append(f'<path d="{"".join(svg.path_d(g) for _, g in div_mm)}" fill="{LAND}" stroke="none"/>')
    grid, grid_labels = graticule(frame, ox, oy, w, h)
    parts.append(grid)
    for road_class, geom in sorted(base.roads, key=lambda r: ROAD_WIDTH.get(r[0], 0.4)):
        g = svg.clip(frame.project_geometry(geom), w, h, 0.2)
        if not g.is_empty:
            parts.append(f'<path d="{svg.path_d(g)}" fill="none" stroke="{ROAD}" '
                         f'stroke-width="{ROAD_WIDTH.get(road_class, 0.4)}" stroke-linecap="round" '
                         f'stroke-linejoin="round"/>')
    if base.outline is not None:
        outline = svg.clip(frame.project_geometry(base.outline.boundary), w, h)
        parts.append(f'<path d="{svg.path_d(outline)}" fill="none" stroke="{CITY_BAND}" stroke-width="2.2" '
                     f'stroke-linejoin="round" stroke-opacity="0.85"/>')
    parts.append(f'<path d="{"".join(svg.path_d(g.boundary) for _, g in div_mm if not g.is_empty)}" fill="none" '
                 f'stroke="{BOUNDARY}" stroke-width="0.3" stroke-dasharray="1.6 0.6 0.4 0.6"/>')
    edges = _edges_mm(base, frame, w, h) if base.edges else \
        ([("city", outline)] if base.outline is not None else [])
    for kind, geom in edges:
        width, dash, _ = EDGE_STYLE[kind]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(f'<path d="{svg.path_d(geom)}" fill="none" stroke="{CITY_LINE}" stroke-width="{width}" '
                     f'stroke-linejoin="round"{dash_attr}/>')
    shown_kinds = tuple(kind for kind, _ in edges)

    # route line (division names are slotted in under it once they are placed)
    route_at = len(parts)
    route_mm = [ln for ln in line_parts(svg.clip(frame.project_geometry(geometry), w, h, 0.1))]
    d = "".join(svg.path_d(ln) for ln in route_mm)
    dash = "" if follows_roads else ' stroke-dasharray="3.2 1.4"'
    parts.append(f'<path d="{d}" fill="none" stroke="#ffffff" stroke-width="2.0" stroke-linecap="round" '
                 f'stroke-linejoin="round"/>')
    parts.append(f'<path d="{d}" fill="none" stroke="{route.color}" stroke-width="1.1" stroke-linecap="round" '
                 f'stroke-linejoin="round"{dash}/>')
    parts.append(_arrows(route_mm, route.color))

    # markers, flags, then the legend in the emptiest corner; names and labels go where nothing else is
    flags: list[str] = []
    flag_boxes: list[svg.Box] = []
    start_char, end_char, night_char = ("起", "终", "宿") if lang == "zh" else ("S", "E", "H")
    sx, sy = (float(v) for v in frame.project(route.start.lon, route.start.lat))
    ex, ey = (float(v) for v in frame.project(route.end.lon, route.end.lat))
    flags.append(_flag(sx, sy, START_FILL, start_char, side=-1))
    flag_boxes.append((sx - 6.5, sy - 8, sx, sy))
    if not _same_place(route.start, route.end):
        flags.append(_flag(ex, ey, END_FILL, end_char, side=1))
        flag_boxes.append((ex, ey - 8, ex + 6.5, ey))
    for day in route.days:
        if day.overnight:
            nx, ny = (float(v) for v in frame.project(day.end.lon, day.end.lat))
            flags.append(_flag(nx, ny, OVERNIGHT_FILL, night_char, side=1))
            flag_boxes.append((nx, ny - 8, nx + 6.5, ny))
    fixed = [((b[0] + b[2]) / 2, b[1] + 2.6, 3.4) for b in flag_boxes]
    markers = displace(frame, route.stops, bounds=(w, h), fixed=fixed)
    obstacles: list[svg.Box] = [(m.at[0] - STOP_R, m.at[1] - STOP_R, m.at[0] + STOP_R, m.at[1] + STOP_R)
                                for m in markers] + flag_boxes

    legend, lw, lh = _legend(route, sectors, frame, lang, not follows_roads, bool(base.roads), shown_kinds)
    mm_points = [m.at for m in markers] + [(sx, sy), (ex, ey)]
    for ln in route_mm:
        mm_points.extend(ln.interpolate(t, normalized=True).coords[0] for t in np.linspace(0, 1, 25))
    lx, ly = _legend_corner(mm_points, w, h, lw, lh)
    obstacles.append((lx, ly, lx + lw, ly + lh))

    place_labels = []
    night_places = [d.end for d in route.days if d.overnight]
    for place, fill in ((route.start, START_FILL), *((p, OVERNIGHT_FILL) for p in night_places), (route.end, END_FILL)):
        px, py = (float(v) for v in frame.project(place.lon, place.lat))
        tw = svg.text_width(place.name, 2.4)
        bx = (px - tw / 2, py + 1.2, px + tw / 2, py + 4.2)
        if svg.inside(bx, w, h) and not svg.overlaps(bx, obstacles):
            obstacles.append(bx)
            place_labels.append(svg.text(px, py + 3.6, place.name, 2.4, fill=fill, anchor="middle", weight=700,
                                         halo="#ffffff", halo_width=0.8))
    names = []
    route_band = shapely.union_all(route_mm).buffer(1.2) if route_mm else shapely.Point(-99, -99)
    for div, geom in div_mm:
        x0, y0 = (float(v) for v in frame.project(div.label_lon, div.label_lat))
        label = div.label(lang)
        tw = svg.text_width(label, 3.4)
        for ox_, oy_ in NAME_SHIFTS:
            dx, dy = x0 + ox_, y0 + oy_
            bx = (dx - tw / 2, dy - 3.0, dx + tw / 2, dy + 0.8)
            if (svg.inside(bx, w, h) and geom.contains(shapely.Point(dx, dy - 1.1))
                    and not svg.overlaps(bx, obstacles) and not route_band.intersects(box(*bx))):
                obstacles.append(bx)
                names.append(svg.text(dx, dy, label, 3.4, fill="#8a8f99", anchor="middle", weight=700,
                                      halo=LAND, halo_width=0.6))
                break
    stop_labels = _place_labels(markers, w, h, obstacles)

    parts[route_at:route_at] = names
    for m in markers:
        parts.append(_stop_marker(m, sector_colour(sectors, m.stop.sector)))
    parts.extend(flags)
    parts.extend(place_labels)
    parts.append(stop_labels)
    parts.append(f'<g transform="translate({lx:.2f} {ly:.2f})">{legend}</g>')
    parts.append(f'<rect x="0" y="0" width="{w:.2f}" height="{h:.2f}" fill="none" stroke="{INK}" '
                 f'stroke-width="0.5"/>')

    body = f'<g transform="translate({ox} {oy})">{"".join(parts)}</g>{grid_labels}'
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width_mm:.2f}mm" height="{height_mm:.2f}mm" '
            f'viewBox="0 0 {width_mm:.2f} {height_mm:.2f}">{body}'
            f'<rect x="0.15" y="0.15" width="{width_mm - 0.3:.2f}" height="{height_mm - 0.3:.2f}" fill="none" '
            f'stroke="{INK}" stroke-width="0.3"/></svg>'), frame


class LocatorMaps:
    """Small overview maps of the whole city, one per stop: its division tinted, the route faint, the stop red."""

    def __init__(self, route: RoutePrint, base: BaseMap, width_mm: float, height_mm: float, lang: str = "zh"):
        self.route, self.base, self.lang = route, base, lang
        self.w, self.h = width_mm, height_mm
        extent = [(d.boundary.bounds[0], d.boundary.bounds[1]) for d in base.divisions]
        extent += [(d.boundary.bounds[2], d.boundary.bounds[3]) for d in base.divisions]
        extent += route.points()
        self.frame = fit_frame(extent, width_mm, height_mm, margin=0.03)
        self.div_mm = {d.code: svg.clip(self.frame.project_geometry(d.boundary), self.w, self.h, 0.4)
                       for d in base.divisions}
        geometry, _ = route_geometry(route)
        route_d = svg.path_d(svg.clip(self.frame.project_geometry(geometry), self.w, self.h, 0.35))
        stop_xy = self.frame.project(np.array([s.lon for s in route.stops]), np.array([s.lat for s in route.stops]))
        self.stop_xy = {s.seq: (float(x), float(y)) for s, x, y in zip(route.stops, *stop_xy, strict=True)}
        dots = "".join(f"M{x - 0.45:.2f} {y:.2f}a0.45 0.45 0 1 0 0.9 0a0.45 0.45 0 1 0 -0.9 0"
                       for x, y in self.stop_xy.values())
        dots = f'<path d="{dots}" fill="#6b7280"/>'
        all_divs = "".join(svg.path_d(g) for g in self.div_mm.values())
        names = "".join(
            svg.text(*(float(v) for v in self.frame.project(d.label_lon, d.label_lat)), d.label(lang), 2.0,
                     fill="#9aa1ab", anchor="middle")
            for d in base.divisions
        )
        self._under = f'<rect x="0" y="0" width="{self.w:.2f}" height="{self.h:.2f}" fill="{OUTSIDE}"/>' + \
            f'<path d="{all_divs}" fill="{LAND}" stroke="{BOUNDARY}" stroke-width="0.2"/>'
        self._over = (names + f'<path d="{route_d}" fill="none" stroke="{self.route.color}" stroke-width="0.5" '
                      f'stroke-opacity="0.55" stroke-linejoin="round"/>' + dots)

    def division_code(self, stop: StopPrint) -> str | None:
        found = self.base.division_named(stop.division)
        if found:
            return found.code
        point = shapely.Point(*self.stop_xy[stop.seq])
        return next((c for c, g in self.div_mm.items() if g.contains(point)), None)

    def svg(self, stop: StopPrint) -> str:
        code = self.division_code(stop)
        tint = ""
        if code and code in self.div_mm:
            tint = f'<path d="{svg.path_d(self.div_mm[code])}" fill="#f6dcc1" stroke="#b66a2c" stroke-width="0.35"/>'
        x, y = self.stop_xy[stop.seq]
        marker = (f'<circle cx="{x:.2f}" cy="{y:.2f}" r="2.2" fill="{END_FILL}" fill-opacity="0.25"/>'
                  f'<circle cx="{x:.2f}" cy="{y:.2f}" r="1.1" fill="{END_FILL}" stroke="#fff" stroke-width="0.3"/>')
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.w:.2f}mm" height="{self.h:.2f}mm" '
                f'viewBox="0 0 {self.w:.2f} {self.h:.2f}">{self._under}{tint}{self._over}{marker}'
                f'<rect x="0.1" y="0.1" width="{self.w - 0.2:.2f}" height="{self.h - 0.2:.2f}" fill="none" '
                f'stroke="{INK}" stroke-width="0.25"/></svg>')
