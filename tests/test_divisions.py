import pytest
from sqlalchemy import text

from geoapp.divisions import city_divisions, division_at, find_city, load_divisions, resolve_division
from geoapp.errors import GeoappError
from tests.conftest import LAYERS

# Seats from shared/reference/tongliao.md (lat, lon), each inside its own division.
SEATS = {
    "150502": (43.654, 122.243), "150521": (44.133, 123.317), "150522": (42.950, 122.350),
    "150523": (43.600, 121.304), "150524": (42.733, 121.767), "150525": (42.850, 120.667),
    "150526": (44.550, 120.917), "150581": (45.533, 119.653),
}


def test_tongliao_has_eight_polygons_and_the_development_zone_without_one(engine):
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT code, code_system, kind, boundary IS NOT NULL, ST_IsValid(boundary) FROM divisions "
            "WHERE parent_code = '150500' ORDER BY code"
        )).all()
    polygons = {r[0] for r in rows if r[3]}
    assert polygons == set(SEATS)
    assert all(r[4] for r in rows if r[3])
    zone = next(r for r in rows if r[0] == "150571")
    assert zone[1:4] == ("NBS", "development_zone", False)
    kinds = {r[0]: r[2] for r in rows}
    assert kinds["150502"] == "district" and kinds["150523"] == "county"
    assert kinds["150521"] == "banner" and kinds["150581"] == "county_city"


@pytest.mark.parametrize("code", sorted(SEATS))
def test_each_seat_falls_in_its_own_division(engine, code):
    lat, lon = SEATS[code]
    with engine.connect() as conn:
        assert division_at(conn, lon, lat) == code


def test_a_point_outside_the_city_is_in_no_division(engine):
    with engine.connect() as conn:
        assert division_at(conn, 116.39, 39.90) is None  # Beijing


@pytest.mark.parametrize(
    ("written", "code"),
    [("科左中旗", "150521"), ("扎旗", "150526"), ("霍市", "150581"), ("开发区", "150571"), ("经开区", "150571"),
     ("科区", "150502"), ("开鲁", "150523"), ("开鲁县", "150523"), ("科尔沁左翼后旗", "150522"), ("150525", "150525")],
)
def test_official_names_codes_and_short_forms_resolve(engine, written, code):
    with engine.connect() as conn:
        assert resolve_division(conn, written) == code


def test_an_unknown_name_resolves_to_nothing(engine):
    with engine.connect() as conn:
        assert resolve_division(conn, "不存在旗") is None


def test_loading_the_divisions_again_changes_nothing(engine):
    with engine.begin() as conn:
        before = conn.execute(text("SELECT count(*), md5(string_agg(code || ST_AsText(boundary), ',' ORDER BY code)) "
                                   "FROM divisions")).one()
        load_divisions(conn, "150500", LAYERS)
        after = conn.execute(text("SELECT count(*), md5(string_agg(code || ST_AsText(boundary), ',' ORDER BY code)) "
                                  "FROM divisions")).one()
    assert before == after


def test_any_city_in_china_can_be_found_by_name_or_code():
    assert find_city("通辽市") == ("150500", "通辽市")
    assert find_city("通辽") == ("150500", "通辽市")
    code, name = find_city("赤峰市")
    rows = city_divisions(code, LAYERS)
    assert name == "赤峰市" and len(rows) >= 10 and all(r.parent_code == code for r in rows)


def test_an_unknown_city_is_a_clear_error():
    with pytest.raises(GeoappError, match="no prefecture-level city named"):
        find_city("不存在市")
