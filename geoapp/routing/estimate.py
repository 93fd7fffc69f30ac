"""Estimated travel times when no road network covers the stops: great-circle distance × circuity ÷ speed.

Defaults (override per plan with ``estimate_speed_kmh`` / ``estimate_circuity``): 60 km/h average and a
circuity of 1.25. They reflect Tongliao's mix of expressways (G45, G111, G304), national and provincial roads
and rural roads: the city seat → 霍林郭勒 is ≈293 km great-circle and ≈320 km by road (circuity ≈1.1 on the
trunk road, more on rural roads). Every output of this model is labelled "估算行驶时间 / estimated travel times".
"""

from __future__ import annotations

import numpy as np

EARTH_RADIUS_M = 6_371_008.8
DEFAULT_SPEED_KMH = 60.0
DEFAULT_CIRCUITY = 1.25
LABEL = {"zh": "估算行驶时间（直线距离×绕行系数÷平均车速，无道路网）",
         "en": "estimated travel times (great-circle distance × circuity ÷ average speed, no road network)"}


def great_circle_m(lonlat_a: np.ndarray, lonlat_b: np.ndarray) -> np.ndarray:
    """Haversine distances in metres between every point of a (n×2) and every point of b (m×2)."""
    a = np.radians(np.asarray(lonlat_a, dtype=float))[:, None, :]
    b = np.radians(np.asarray(lonlat_b, dtype=float))[None, :, :]
    dlon, dlat = b[..., 0] - a[..., 0], b[..., 1] - a[..., 1]
    h = np.sin(dlat / 2) ** 2 + np.cos(a[..., 1]) * np.cos(b[..., 1]) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0, 1)))


def estimate_matrices(
    lonlat: np.ndarray, speed_kmh: float = DEFAULT_SPEED_KMH, circuity: float = DEFAULT_CIRCUITY
) -> tuple[np.ndarray, np.ndarray]:
    """(seconds, metres) between every pair of points: symmetric, zero on the diagonal."""
    metres = great_circle_m(lonlat, lonlat) * circuity
    seconds = metres / (speed_kmh * 1000 / 3600)
    return np.rint(seconds).astype(np.int64), np.rint(metres).astype(np.int64)
