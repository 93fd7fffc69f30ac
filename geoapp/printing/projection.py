"""A conformal projection fitted to the printed area, and a true, round map scale on paper.

A transverse Mercator whose central meridian passes through the middle of the map keeps the scale
error below 0.05 % across Tongliao (±2.5° of longitude) and makes grid north true north at the centre,
so the scale bar and the north arrow on the sheet are both honest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import shapely
from pyproj import CRS, Transformer
from shapely.geometry.base import BaseGeometry

# Round scale denominators: 1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 7.5 × 10^k
NICE_STEPS = (1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.5)


def fitted_crs(lon_centre: float) -> CRS:
    """Transverse Mercator on WGS84 with its central meridian at ``lon_centre`` rounded to 0.1°."""
    lon_0 = round(lon_centre, 1)
    return CRS.from_proj4(f"+proj=tmerc +lat_0=0 +lon_0={lon_0} +k=1 +x_0=500000 +y_0=0 +ellps=WGS84 +units=m")


@lru_cache(maxsize=16)
def _transformer(lon_0: float) -> Transformer:
    return Transformer.from_crs("EPSG:4326", fitted_crs(lon_0), always_xy=True)


def nice_scale(denominator: float) -> int:
    """The smallest round scale denominator not below ``denominator`` (so the map still fits)."""
    exp = 10 ** math.floor(math.log10(max(denominator, 1.0)))
    for step in (*NICE_STEPS, 10.0):
        if step * exp >= denominator * (1 - 1e-9):
            return int(round(step * exp))
    return int(round(10 * exp))


@dataclass(frozen=True)
class MapFrame:
    """Paper millimetres ↔ projected metres for one map frame: ``x_mm = (X - x0) * 1000 / scale``."""

    lon_0: float
    scale: int
    width_mm: float
    height_mm: float
    x0: float
    y1: float

    @property
    def crs(self) -> CRS:
        return fitted_crs(self.lon_0)

    @property
    def mm_per_m(self) -> float:
        return 1000.0 / self.scale

    def project(self, lon, lat):
        """WGS84 → paper mm (y down), for scalars or numpy arrays."""
        x, y = _transformer(self.lon_0).transform(lon, lat)
        k = self.mm_per_m
        return (np.asarray(x) - self.x0) * k, (self.y1 - np.asarray(y)) * k

    def project_geometry(self, geom: BaseGeometry) -> BaseGeometry:
        """A WGS84 shapely geometry in paper mm (vectorised through shapely.transform)."""
        def to_mm(coords: np.ndarray) -> np.ndarray:
            xs, ys = self.project(coords[:, 0], coords[:, 1])
            return np.column_stack([xs, ys])
        return shapely.transform(geom, to_mm)

    def unproject(self, x_mm: float, y_mm: float) -> tuple[float, float]:
        """Paper mm → (lon, lat)."""
        k = self.mm_per_m
        return _transformer(self.lon_0).transform(self.x0 + x_mm / k, self.y1 - y_mm / k, direction="INVERSE")


def fit_frame(
    points: list[tuple[float, float]], width_mm: float, height_mm: float, margin: float = 0.08,
    min_span_m: float = 20_000.0, inside: tuple[float, float, float, float] | None = None,
) -> MapFrame:
    """The frame showing all ``points`` (lon, lat) with a margin, at the round scale that fits best.

    ``inside`` (x0, y0, x1, y1 in mm) keeps the points within that part of the frame, e.g. clear of a legend.
    """
    lons = np.array([p[0] for p in points], dtype=float)
    lats = np.array([p[1] for p in points], dtype=float)
    lon_0 = round(float((lons.min() + lons.max()) / 2), 1)
    xs, ys = _transformer(lon_0).transform(lons, lats)
    xmin, xmax, ymin, ymax = xs.min(), xs.max(), ys.min(), ys.max()
    bx0, by0, bx1, by1 = inside or (0.0, 0.0, width_mm, height_mm)
    span_x = max(xmax - xmin, min_span_m) * (1 + 2 * margin)
    span_y = max(ymax - ymin, min_span_m) * (1 + 2 * margin)
    denominator = max(span_x / ((bx1 - bx0) / 1000), span_y / ((by1 - by0) / 1000))
    scale = nice_scale(denominator)
    cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
    m_per_mm = scale / 1000
    x0 = cx - (bx0 + bx1) / 2 * m_per_mm
    y1 = cy + (by0 + by1) / 2 * m_per_mm
    return MapFrame(lon_0=lon_0, scale=scale, width_mm=width_mm, height_mm=height_mm, x0=x0, y1=y1)


def extent_aspect(points: list[tuple[float, float]]) -> float:
    """Width / height of the points' extent on the ground (for choosing portrait or landscape)."""
    lons = np.array([p[0] for p in points], dtype=float)
    lats = np.array([p[1] for p in points], dtype=float)
    lon_0 = round(float((lons.min() + lons.max()) / 2), 1)
    xs, ys = _transformer(lon_0).transform(lons, lats)
    return max(xs.max() - xs.min(), 1.0) / max(ys.max() - ys.min(), 1.0)


def scale_bar_length(scale: int, max_mm: float) -> tuple[float, int]:
    """A scale bar of a round ground length (1, 2, 5 × 10^k metres) no longer than ``max_mm`` on paper."""
    max_m = max_mm / 1000 * scale
    exp = 10 ** math.floor(math.log10(max_m))
    for step in (5, 2, 1):
        if step * exp <= max_m:
            metres = int(step * exp)
            return metres * 1000 / scale, metres
    return exp * 1000 / scale, int(exp)
