import math

import numpy as np
import pytest
from pyproj import Geod

from geoapp.ingest.coords import (
    bd09_to_wgs84,
    gcj02_to_wgs84,
    parse_degrees,
    parse_pair,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

GEOD = Geod(ellps="WGS84")


# The published forward formulas, written out independently of geoapp (scalar, plain math).
def published_gcj02(lon: float, lat: float) -> tuple[float, float]:
    a, ee = 6378245.0, 0.00669342162296594323
    x, y = lon - 105.0, lat - 35.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    dlat += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    dlat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    dlat += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    dlon += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    dlon += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    dlon += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * math.pi
    magic = 1 - ee * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((a * (1 - ee)) / (magic * sqrtmagic) * math.pi)
    dlon = (dlon * 180.0) / (a / sqrtmagic * math.cos(radlat) * math.pi)
    return lon + dlon, lat + dlat


def published_bd09(lon: float, lat: float) -> tuple[float, float]:
    x, y = published_gcj02(lon, lat)
    x_pi = math.pi * 3000.0 / 180.0
    z = math.sqrt(x * x + y * y) + 0.00002 * math.sin(y * x_pi)
    theta = math.atan2(y, x) + 0.000003 * math.cos(x * x_pi)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


def tongliao_grid() -> list[tuple[float, float]]:
    """Points every ~0.25° over the city's extent (N42°15′–45°41′, E119°15′–123°43′)."""
    return [(lon, lat) for lon in np.arange(119.25, 123.75, 0.25) for lat in np.arange(42.25, 45.75, 0.25)]


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    return GEOD.inv(a[0], a[1], b[0], b[1])[2]


def test_the_forward_formulas_match_the_published_ones_and_move_points_by_the_known_offsets():
    for lon, lat in tongliao_grid():
        gcj = published_gcj02(lon, lat)
        bd = published_bd09(lon, lat)
        assert metres(tuple(map(float, wgs84_to_gcj02(lon, lat))), gcj) < 1e-3
        assert metres(tuple(map(float, wgs84_to_bd09(lon, lat))), bd) < 1e-3
        # Tongliao: GCJ-02 lies ≈ 0.4–0.7 km, BD-09 ≈ 1.1–1.6 km from WGS84 (shared/reference/tongliao.md)
        assert 300 < metres((lon, lat), gcj) < 800
        assert 900 < metres((lon, lat), bd) < 1800


def test_gcj02_points_convert_back_to_within_a_metre_of_the_true_wgs84_point():
    worst = max(metres((lon, lat), tuple(map(float, gcj02_to_wgs84(*published_gcj02(lon, lat)))))
                for lon, lat in tongliao_grid())
    assert worst < 1.0
    assert worst < 0.01  # the iteration reaches millimetres, not just the required metre


def test_bd09_points_convert_back_via_gcj02_to_within_a_metre():
    worst = max(metres((lon, lat), tuple(map(float, bd09_to_wgs84(*published_bd09(lon, lat)))))
                for lon, lat in tongliao_grid())
    assert worst < 1.0


def test_a_one_step_inverse_would_not_be_good_enough_so_the_iteration_matters():
    lon, lat = 122.243, 43.654
    gx, gy = published_gcj02(lon, lat)
    fx, fy = published_gcj02(gx, gy)
    one_step = (2 * gx - fx, 2 * gy - fy)
    assert metres((lon, lat), one_step) > 0.05
    assert metres((lon, lat), tuple(map(float, gcj02_to_wgs84(gx, gy)))) < 0.005


def test_arrays_convert_at_once_and_wgs84_and_cgcs2000_pass_through():
    pts = np.array(tongliao_grid())
    gx, gy = wgs84_to_gcj02(pts[:, 0], pts[:, 1])
    wx, wy = to_wgs84("gcj02", gx, gy)
    assert np.max(np.abs(wx - pts[:, 0])) < 1e-8 and np.max(np.abs(wy - pts[:, 1])) < 1e-8
    assert to_wgs84("cgcs2000", 122.0, 43.0) == (122.0, 43.0)
    with pytest.raises(ValueError):
        to_wgs84("google", 1.0, 2.0)


@pytest.mark.parametrize("text, expected", [
    ("122.243", 122.243),
    ("122°14′34.8″", 122 + 14 / 60 + 34.8 / 3600),
    ("122°14'34.8\"E", 122 + 14 / 60 + 34.8 / 3600),
    ("东经122度14分34.8秒", 122 + 14 / 60 + 34.8 / 3600),
    ("43度39分", 43.65),
    ("N43°39′", 43.65),
    ("S12°30′", -12.5),
])
def test_degrees_minutes_seconds_are_read_as_decimal_degrees(text, expected):
    assert parse_degrees(text) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("text", ["", "abc", "122°75′", "一百二十二度"])
def test_what_is_not_a_coordinate_is_refused(text):
    assert parse_degrees(text) is None


def test_a_coordinate_pair_cell_accepts_the_separators_clerks_use():
    for text in ("122.24,43.65", "122.24，43.65", "122.24 43.65", "122.24; 43.65"):
        assert parse_pair(text) == (122.24, 43.65)
    assert parse_pair("122.24") is None
