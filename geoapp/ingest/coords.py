"""Coordinate systems of Chinese web maps: GCJ-02 (Amap, Tencent) and BD-09 (Baidu) to WGS84, and DMS parsing.

PROJ and PostGIS know neither system, and the PyPI packages that implement them (eviltransform 2018,
coord-convert 2019, coordTransform) are unmaintained or invert GCJ-02 in one step only, which leaves
metre-level errors. So the published forward formulas are written here once, vectorised with numpy,
and inverted by fixed-point iteration until the forward image matches to ~1e-9° (millimetres).
CGCS2000 is treated as WGS84 (they differ by centimetres; EPSG:4490 → 4326 is a null transformation).
"""

from __future__ import annotations

import math
import re

import numpy as np

from geoapp.ingest.values import CellError

CRS_CHOICES = ("wgs84", "cgcs2000", "gcj02", "bd09")

# Krasovsky 1940 ellipsoid as used by the GCJ-02 formula.
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0
_TOLERANCE_DEG = 1e-10
_MAX_ITER = 30


def _out_of_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """The bounding box outside which the published formula leaves points unchanged."""
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = lon - 105.0, lat - 35.0
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x)) + common
            + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
            + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0)
    dlon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x)) + common
            + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
            + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0)
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    outside = _out_of_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def wgs84_to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """The published forward formula (what Amap shows for a true WGS84 point)."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    dlon, dlat = _delta(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_bd09(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Baidu's published forward offset applied to a GCJ-02 point."""
    x, y = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def wgs84_to_bd09(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def _invert(forward, lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Solve forward(w) = target by fixed-point iteration (the offsets vary slowly, so it contracts fast)."""
    tx, ty = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    wx, wy = tx.copy(), ty.copy()
    for _ in range(_MAX_ITER):
        fx, fy = forward(wx, wy)
        ex, ey = fx - tx, fy - ty
        wx, wy = wx - ex, wy - ey
        if np.all(np.nan_to_num(np.maximum(np.abs(ex), np.abs(ey))) < _TOLERANCE_DEG):
            break
    return wx, wy


def gcj02_to_wgs84(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Iterative inverse of the GCJ-02 formula, accurate to millimetres."""
    return _invert(wgs84_to_gcj02, lon, lat)


def bd09_to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    return _invert(gcj02_to_bd09, lon, lat)


def bd09_to_wgs84(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 → GCJ-02 → WGS84, both steps inverted iteratively."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def to_wgs84(crs: str, lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Convert arrays of points given in ``crs`` (one of CRS_CHOICES) to WGS84."""
    if crs == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if crs == "bd09":
        return bd09_to_wgs84(lon, lat)
    if crs in ("wgs84", "cgcs2000"):
        return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    raise ValueError(f"unknown coordinate system {crs!r}; use one of {', '.join(CRS_CHOICES)}")


# Matched whole against the stripped text. Each optional part (minutes, seconds, the hemisphere after) carries its own
# leading blanks, so no two optional runs of whitespace meet: they did, four deep, and "1°" + 200 blanks + "x" took a
# second (the fourth power of the blanks).
_DMS = re.compile(
    r"(?:([NSEW东西南北]|北纬|南纬|东经|西经)\s*)?(-?\d+(?:\.\d+)?)\s*(?:°|度|º|d)"
    r"(?:\s*(\d+(?:\.\d+)?)\s*(?:'|′|’|分|m))?(?:\s*(\d+(?:\.\d+)?)\s*(?:\"|″|”|''|′′|秒|s))?(?:\s*([NSEW东西南北]))?",
    re.IGNORECASE,
)
MAX_COORD_CHARS = 64
"""The longest coordinate cell read: a pair in one cell, "东经122°14′35.2″ , 北纬43°39′12.5″", has 30 characters, a
decimal with 15 digits 19. A longer cell is refused (CellError) before it is parsed: no file buys CPU with a cell."""
_NEGATIVE = {"S", "W", "南", "西", "南纬", "西经"}


def _capped(value) -> str:
    text = str(value).strip()
    if len(text) > MAX_COORD_CHARS:
        raise CellError(f"坐标单元格太长（{len(text)} 个字符，最多 {MAX_COORD_CHARS} 个）",
                        f"the coordinate cell is too long ({len(text)} characters, at most {MAX_COORD_CHARS})")
    return text


def parse_degrees(value) -> float | None:
    """A coordinate as a number: decimal degrees or degrees-minutes-seconds (122°14′35.2″E, 43度39分). None if not;
    CellError for a cell longer than MAX_COORD_CHARS."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) if math.isfinite(value) else None
    text = _capped(value).replace("，", ",")
    if not text:
        return None
    try:
        number = float(text)
        return number if math.isfinite(number) else None
    except ValueError:
        pass
    match = _DMS.fullmatch(text)
    if not match:
        return None
    prefix, deg, minutes, seconds, suffix = match.groups()
    degrees = abs(float(deg)) + float(minutes or 0) / 60 + float(seconds or 0) / 3600
    if (minutes and float(minutes) >= 60) or (seconds and float(seconds) >= 60):
        return None
    hemisphere = (prefix or suffix or "").upper()
    negative = deg.startswith("-") or hemisphere in _NEGATIVE
    return -degrees if negative else degrees


_PAIR_SPLIT = re.compile(r"\s*[,，;；/]\s*|\s+")


def parse_pair(value) -> tuple[float, float] | None:
    """One 坐标 cell "lon,lat" (also with a Chinese comma, a semicolon or a space) → (first, second) or None;
    CellError for a cell longer than MAX_COORD_CHARS."""
    if value is None:
        return None
    parts = [p for p in _PAIR_SPLIT.split(_capped(value)) if p]
    if len(parts) != 2:
        return None
    first, second = parse_degrees(parts[0]), parse_degrees(parts[1])
    return None if first is None or second is None else (first, second)
