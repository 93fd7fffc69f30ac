"""Small helpers to write SVG in paper millimetres: paths from shapely geometries, escaped text, label boxes."""

from __future__ import annotations

import unicodedata
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import shapely
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from geoapp.printing.fonts import css_family_list


def _ring(coords: np.ndarray, close: bool) -> str:
    if len(coords) < 2:
        return ""
    head = f"M{coords[0, 0]:.1f} {coords[0, 1]:.1f}"
    body = "".join(f"L{x:.1f} {y:.1f}" for x, y in coords[1:, :2])
    return head + body + ("Z" if close else "")


def path_d(geom: BaseGeometry | None) -> str:
    """SVG path data of a (multi)polygon or (multi)line already in paper mm, at 0.1 mm precision."""
    if geom is None or geom.is_empty:
        return ""
    if isinstance(geom, Polygon):
        rings = [geom.exterior, *geom.interiors]
        return "".join(_ring(np.asarray(r.coords), True) for r in rings)
    if isinstance(geom, LineString):
        return _ring(np.asarray(geom.coords), False)
    if isinstance(geom, MultiPolygon | MultiLineString) or hasattr(geom, "geoms"):
        return "".join(path_d(g) for g in geom.geoms)
    return ""


def clip(geom: BaseGeometry, width: float, height: float, simplify_mm: float = 0.12) -> BaseGeometry:
    """Clip a paper-space geometry to the frame and drop detail finer than the pen."""
    clipped = shapely.clip_by_rect(geom, 0, 0, width, height)
    return shapely.simplify(clipped, simplify_mm, preserve_topology=True) if simplify_mm else clipped


def text(x: float, y: float, content: str, size: float, *, fill: str = "#222", anchor: str = "start",
         weight: int = 400, halo: str | None = None, halo_width: float = 0.7, extra: str = "") -> str:
    """Text at a baseline point; a halo is a stroked copy underneath so labels stay legible over lines."""
    attrs = (f'x="{x:.2f}" y="{y:.2f}" font-family="{css_family_list()}" font-size="{size:.2f}" '
             f'text-anchor="{anchor}" font-weight="{weight}" {extra}')
    out = ""
    if halo:
        out += (f'<text {attrs} fill="{halo}" stroke="{halo}" stroke-width="{halo_width:.2f}" '
                f'stroke-linejoin="round">{escape(content)}</text>')
    return out + f'<text {attrs} fill="{fill}">{escape(content)}</text>'


def attr(value: str) -> str:
    return quoteattr(value)


def text_width(content: str, size: float) -> float:
    """Estimated width on paper: full-width (CJK) characters are one em, others about 0.56 em."""
    return sum(size if unicodedata.east_asian_width(c) in "WF" else 0.56 * size for c in content)


def readable_on(fill: str) -> str:
    """Black or white text, whichever reads better on a fill colour."""
    r, g, b = (int(fill[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return "#1a1a1a" if 0.299 * r + 0.587 * g + 0.114 * b > 0.62 else "#ffffff"


Box = tuple[float, float, float, float]


def overlaps(box: Box, others: list[Box]) -> bool:
    x0, y0, x1, y1 = box
    return any(x0 < b[2] and b[0] < x1 and y0 < b[3] and b[1] < y1 for b in others)


def inside(box: Box, width: float, height: float, pad: float = 1.0) -> bool:
    return box[0] >= pad and box[1] >= pad and box[2] <= width - pad and box[3] <= height - pad
