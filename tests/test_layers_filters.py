"""The one filter model: simple parameters and CQL2 become one SQL expression, checked against plain SQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select, text

from geoapp.db.models import Project
from geoapp.layers.filters import FilterError, project_filter
from tests.conftest import LAYERS


def matched(conn, params) -> set[str]:
    expr = project_filter(conn, params, LAYERS)
    return set(conn.execute(select(Project.code).where(expr)).scalars())


def codes(conn, where: str, **bind) -> set[str]:
    return set(conn.execute(text(f"SELECT code FROM projects WHERE deleted_at IS NULL AND ({where})"), bind).scalars())


@pytest.mark.parametrize(("params", "where"), [
    ({"sector": "lng"}, "sector = 'lng'"),
    ({"sector": ["绿电铝", "LNG"]}, "sector IN ('green_aluminium', 'lng')"),
    ({"sector": "风电装备,煤炭"}, "sector IN ('wind_equipment', 'coal')"),
    ({"tier": "实施库"}, "tier = 'implementation'"),
    ({"status": "在建"}, "status = 'construction'"),
    ({"division": "科左中旗"}, "division_code = '150521'"),
    ({"division": "霍林郭勒市"}, "division_code = '150581'"),
    ({"division": "150502"}, "division_code = '150502'"),
    ({"min_investment": "100000"}, "total_investment >= 100000"),
    ({"max_investment": "800"}, "total_investment <= 800"),
    ({"investment_class": "500w"}, "total_investment >= 500"),
    ({"investment_class": "1y"}, "total_investment >= 100000"),
    ({"investment_class": "50亿"}, "total_investment >= 500000"),
    ({"start_year": "2023,2024"}, "start_year IN (2023, 2024)"),
    ({"q": "盈通"}, "name ILIKE '%盈通%' OR company ILIKE '%盈通%'"),
    ({"bbox": "120,43,121.5,44"}, "ST_Intersects(geom, ST_MakeEnvelope(120, 43, 121.5, 44, 4326))"),
    ({"sector": "green_aluminium,coal", "division": "霍市"},
     "sector IN ('green_aluminium', 'coal') AND division_code = '150581'"),
])
def test_each_simple_parameter_selects_what_plain_sql_selects(layers_db, params, where):
    with layers_db.connect() as conn:
        expected = codes(conn, where)
        assert expected, "the fixture data should make this filter non-trivial"
        assert matched(conn, params) == expected


@pytest.mark.parametrize(("cql", "lang", "where"), [
    ("sector = 'green_aluminium' AND total_investment >= 100000", "cql2-text",
     "sector = 'green_aluminium' AND total_investment >= 100000"),
    ("tier IN ('planning', 'reserve') OR status = 'suspended'", "cql2-text",
     "tier IN ('planning', 'reserve') OR status = 'suspended'"),
    ("total_investment BETWEEN 1000 AND 5000", "cql2-text", "total_investment BETWEEN 1000 AND 5000"),
    ("name LIKE '%铝%'", "cql2-text", "name LIKE '%铝%'"),
    ("company IS NULL", "cql2-text", "company IS NULL"),
    ("NOT (start_year > 2024)", "cql2-text", "NOT (start_year > 2024)"),
    ("CASEI(code) = casei('tl2025-001')", "cql2-text", "lower(code) = 'tl2025-001'"),
    ("S_INTERSECTS(geometry, POLYGON((120 43, 121.5 43, 121.5 44, 120 44, 120 43)))", "cql2-text",
     "ST_Intersects(geom, ST_MakeEnvelope(120, 43, 121.5, 44, 4326))"),
    ("S_INTERSECTS(geometry, BBOX(120, 43, 121.5, 44))", "cql2-text",
     "ST_Intersects(geom, ST_MakeEnvelope(120, 43, 121.5, 44, 4326))"),
    (json.dumps({"op": "and", "args": [{"op": "=", "args": [{"property": "sector"}, "lng"]},
                                       {"op": ">", "args": [{"property": "total_investment"}, 5000]}]}),
     "cql2-json", "sector = 'lng' AND total_investment > 5000"),
    (json.dumps({"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": [120, 43, 121.5, 44]}]}),
     "cql2-json", "ST_Intersects(geom, ST_MakeEnvelope(120, 43, 121.5, 44, 4326))"),
])
def test_cql2_text_and_json_select_what_plain_sql_selects(layers_db, cql, lang, where):
    with layers_db.connect() as conn:
        expected = codes(conn, where)
        assert expected
        assert matched(conn, {"filter": cql, "filter-lang": lang}) == expected


def casei_json(op: str, prop: str, *values: object, fold_values: bool = True) -> str:
    """A CQL2-JSON comparison with CASEI around the property (and, unless told otherwise, around each value)."""
    def wrap(v: object) -> object:
        return {"op": "casei", "args": [v]} if fold_values else v
    rhs = [wrap(v) for v in values] if op == "in" else wrap(values[0])
    return json.dumps({"op": op, "args": [{"op": "casei", "args": [{"property": prop}]}, rhs]})


@pytest.mark.parametrize(("cql", "lang", "where", "case_sensitive"), [
    ("CASEI(name) LIKE CASEI('%lng%')", "cql2-text", "name ILIKE '%lng%'", "name LIKE '%lng%'"),
    ("CASEI(name) LIKE '%Lng%'", "cql2-text", "lower(name) LIKE '%lng%'", "name LIKE '%Lng%'"),
    ("CASEI(code) LIKE 'tl2025-00%'", "cql2-text", "code LIKE 'TL2025-00%'", "code LIKE 'tl2025-00%'"),
    ("CASEI(name) NOT LIKE '%lng%'", "cql2-text", "name NOT ILIKE '%lng%'", None),
    ("CASEI(code) = 'tl2025-003'", "cql2-text", "code = 'TL2025-003'", "code = 'tl2025-003'"),
    ("CASEI('tl2025-003') = CASEI(code)", "cql2-text", "code = 'TL2025-003'", "code = 'tl2025-003'"),
    ("CASEI(code) <> CASEI('tl2025-003')", "cql2-text", "code <> 'TL2025-003'", None),
    ("CASEI(code) IN (CASEI('tl2025-001'), 'Tl2025-005')", "cql2-text", "code IN ('TL2025-001', 'TL2025-005')",
     "code IN ('tl2025-001', 'Tl2025-005')"),
    ("code IN (CASEI('tl2025-002'))", "cql2-text", "code = 'TL2025-002'", "code = 'tl2025-002'"),
    ("CASEI(code) NOT IN ('tl2025-001')", "cql2-text", "code <> 'TL2025-001'", None),
    ("CASEI(sector) IN ('LNG', 'Coal')", "cql2-text", "sector IN ('lng', 'coal')", None),
    (casei_json("like", "name", "%lng%"), "cql2-json", "name ILIKE '%lng%'", "name LIKE '%lng%'"),
    (casei_json("like", "code", "TL2025-00%", fold_values=False), "cql2-json", "code LIKE 'TL2025-00%'", None),
    (casei_json("=", "code", "tl2025-004"), "cql2-json", "code = 'TL2025-004'", "code = 'tl2025-004'"),
    (casei_json("<>", "code", "Tl2025-004", fold_values=False), "cql2-json", "code <> 'TL2025-004'", None),
    (casei_json("in", "code", "tl2025-001", "TL2025-006"), "cql2-json", "code IN ('TL2025-001', 'TL2025-006')",
     "code IN ('tl2025-001', 'TL2025-006')"),
])
def test_casei_compares_without_case_on_either_side_of_each_operator(layers_db, cql, lang, where, case_sensitive):
    with layers_db.connect() as conn:
        expected = codes(conn, where)
        assert expected
        assert matched(conn, {"filter": cql, "filter-lang": lang}) == expected
        if case_sensitive is not None:  # the same comparison with case would select something else
            assert codes(conn, case_sensitive) != expected


def test_casei_values_are_bound_parameters(layers_db):
    with layers_db.connect() as conn:
        expr = project_filter(conn, {"filter": "CASEI(name) LIKE CASEI('%drop table%') OR "
                                               "CASEI(code) IN ('x-secret', CASEI('y-secret'))"}, LAYERS)
        sql = str(expr.compile())
        assert "drop table" not in sql.lower() and "secret" not in sql
        assert {"%drop table%", "x-secret", "y-secret"} <= set(expr.compile().params.values())
        assert conn.execute(select(func.count()).select_from(Project).where(expr)).scalar() == 0


def test_simple_parameters_and_cql2_combine_with_and(layers_db):
    with layers_db.connect() as conn:
        both = matched(conn, {"sector": "lng", "filter": "total_investment > 5000"})
        assert both == codes(conn, "sector = 'lng' AND total_investment > 5000")


def test_user_values_are_bound_never_pasted_into_sql(layers_db):
    hostile = "x'); DROP TABLE projects; --"
    with layers_db.connect() as conn:
        expr = project_filter(conn, {"q": hostile, "filter": "name = 'a; DELETE FROM projects'"}, LAYERS)
        assert "DROP" not in str(expr.compile()) and "DELETE" not in str(expr.compile())
        assert conn.execute(select(func.count()).select_from(Project).where(expr)).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM projects")).scalar() > 0


def test_q_treats_percent_and_underscore_literally(layers_db):
    with layers_db.connect() as conn:
        assert matched(conn, {"q": "%"}) == set()
        assert matched(conn, {"q": "_"}) == set()


def test_a_soft_deleted_project_is_never_matched(layers_db):
    with layers_db.connect() as conn:
        assert "TL2025-001" in matched(conn, {})
        conn.execute(text("UPDATE projects SET deleted_at = now() WHERE code = 'TL2025-001'"))
        assert "TL2025-001" not in matched(conn, {})
        assert "TL2025-001" not in matched(conn, {"filter": "code = 'TL2025-001'"})
        conn.rollback()


@pytest.mark.parametrize(("params", "parameter", "needle"), [
    ({"sector": "钢铁"}, "sector", "绿色铝基新材料(green_aluminium)"),
    ({"tier": "x"}, "tier", "策划(planning)"),
    ({"division": "北京"}, "division", "科尔沁左翼中旗(150521)"),
    ({"investment_class": "2y"}, "investment_class", "1y"),
    ({"min_investment": "abc"}, "min_investment", "not a number"),
    ({"min_investment": "-5"}, "min_investment", "minimum"),
    ({"start_year": "soon"}, "start_year", "not an integer"),
    ({"bbox": "1,2,3"}, "bbox", "4 numbers"),
    ({"bbox": "121,44,120,43"}, "bbox", "minimum exceeds"),
    ({"bbox-crs": "EPSG:3857", "bbox": "1,2,3,4"}, "bbox-crs", "CRS84"),
    ({"colour": "red"}, "colour", "sector"),
    ({"filter": "nosuch = 1"}, "filter", "total_investment"),
    ({"filter": "total_investment = 'lots'"}, "filter", "needs a number"),
    ({"filter": "sector = "}, "filter", "cannot parse cql2-text"),
    ({"filter": "{not json", "filter-lang": "cql2-json"}, "filter", "cannot parse cql2-json"),
    ({"filter": "SOUNDEX(name) = 'x'"}, "filter", "not supported"),
    ({"filter": "start_year + 1 > 2024"}, "filter", "arithmetic"),
    ({"filter": "CASEI(total_investment) = 5"}, "filter", "CASEI applies to text only"),
    ({"filter": "ACCENTI(name) = ACCENTI('x')"}, "filter", "function accenti is not supported"),
    ({"filter": "name LIKE code"}, "filter", "pattern must be text"),
    ({"filter": "sector = 'lng'", "filter-lang": "ecql"}, "filter-lang", "cql2-json"),
])
def test_bad_input_names_the_parameter_and_what_is_allowed_in_chinese_and_english(layers_db, params, parameter,
                                                                                  needle):
    with layers_db.connect() as conn, pytest.raises(FilterError) as caught:
        project_filter(conn, params, LAYERS)
    message = str(caught.value)
    assert caught.value.parameter == parameter
    assert message.startswith(f"参数 {parameter}：")
    assert f"parameter '{parameter}'" in message
    assert needle in message


def test_without_parameters_every_live_project_matches(layers_db):
    with layers_db.connect() as conn:
        assert matched(conn, {}) == codes(conn, "true")
        assert len(matched(conn, {})) == 408


@pytest.mark.parametrize("cql", [
    "sector = '绿电铝'",                      # a label: stored values are codes
    "sector = 'foo'",                          # nothing holds it
    "tier IN ('实施库', '储备')",
    json.dumps({"op": "=", "args": [{"property": "sector"}, "LNG"]}),   # case matters without CASEI
])
def test_cql2_equality_is_literal_and_a_value_nobody_holds_matches_nothing(layers_db, cql):
    lang = "cql2-json" if cql.startswith("{") else "cql2-text"
    with layers_db.connect() as conn:
        assert matched(conn, {"filter": cql, "filter-lang": lang}) == set()


def test_the_planners_entry_point_takes_labels_but_cql2_inside_it_does_not(layers_db):
    with layers_db.connect() as conn:
        by_code = codes(conn, "sector = 'green_aluminium'")
        assert by_code
        assert matched(conn, {"sector": "绿电铝"}) == by_code          # project_filter: the planners' word
        assert matched(conn, {"sector_label": "绿电铝"}) == by_code
        assert matched(conn, {"filter": "sector = '绿电铝'"}) == set()


def test_a_parameter_named_after_a_property_is_exact_in_the_ogc_api(layers_db):
    from geoapp.layers.filters import layer_filter
    from geoapp.layers.registry import get_layer

    layer = get_layer(LAYERS, "projects")
    with layers_db.connect() as conn:
        def ogc(params):
            return set(conn.execute(select(Project.code).where(layer_filter(conn, layer, params, LAYERS))).scalars())
        assert ogc({"sector": "绿电铝"}) == set()
        assert ogc({"sector": "foo"}) == set()
        assert ogc({"sector": "green_aluminium"}) == codes(conn, "sector = 'green_aluminium'")
        assert ogc({"sector_label": "绿电铝,LNG"}) == codes(conn, "sector IN ('green_aluminium', 'lng')")
        with pytest.raises(FilterError) as refused:
            ogc({"sector_label": "钢铁"})
        assert refused.value.parameter == "sector_label" and "green_aluminium" in " ".join(refused.value.allowed)
