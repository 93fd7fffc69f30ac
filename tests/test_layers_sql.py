"""The items page's SQL compiled once per shape gives exactly what the statement built per request gives; the read
pool survives a dead connection."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from geoapp.layers import sql
from geoapp.layers.registry import registry
from geoapp.layers.request import parse_query
from tests.conftest import LAYERS

PARAMS = [
    {"limit": ["3"]},
    {"limit": ["2"], "bbox": ["120,43,121,44"], "sector": ["lng"]},
    {"limit": ["5"], "offset": ["1"], "sector": ["lng,煤炭", "wind_equipment"], "sortby": ["-total_investment"],
     "properties": ["name,sector"]},
    {"division": ["科左中旗"], "min_investment": ["1000"], "limit": ["50"], "offset": ["100"]},
    {"q": ["风%_"], "limit": ["10"]},
    {"filter": ["total_investment > 100000 AND S_INTERSECTS(geometry, BBOX(119,42,124,46))"], "limit": ["2"]},
    {"filter": ['{"op":"in","args":[{"property":"sector"},["lng","coal"]]}'], "filter-lang": ["cql2-json"]},
]


@pytest.mark.parametrize("params", PARAMS, ids=range(len(PARAMS)))
def test_the_items_page_compiled_once_per_shape_matches_the_statement_built_per_request(demo_db, params):
    layer = registry(LAYERS)["projects"]
    with demo_db.connect() as conn:
        q = parse_query(conn, layer, params, LAYERS, formats=("json",), default_format="json")
        assert q.limit is not None
        driver_sql = sql.items_driver_sql(conn.dialect, layer, q.src, q.names, q.sort, q.limit, q.offset)
        assert driver_sql is not None
        statement, values = driver_sql
        assert "__geoapp_where__" not in statement
        for value in values.values():  # every filter value is a bound parameter, never pasted into the SQL
            if isinstance(value, str):
                assert f"'{value}'" not in statement
        fast = conn.exec_driver_sql(statement, values).one()
        built = conn.execute(sql.items_statement(q.src, q.names, q.sort, q.limit, q.offset)).one()
    assert tuple(fast) == tuple(built)


def test_the_second_page_of_the_same_shape_reuses_the_compiled_sql_with_its_own_values(demo_db):
    layer = registry(LAYERS)["projects"]
    with demo_db.connect() as conn:
        pages = []
        for offset in ("0", "2"):
            q = parse_query(conn, layer, {"limit": ["2"], "offset": [offset]}, LAYERS, formats=("json",),
                            default_format="json")
            pages.append(sql.items_driver_sql(conn.dialect, layer, q.src, q.names, q.sort, q.limit, q.offset))
    (first_sql, first_values), (second_sql, second_values) = pages
    assert first_sql == second_sql
    assert (first_values["page_offset"], second_values["page_offset"]) == (0, 2)


def test_a_layer_with_live_statistics_takes_the_statement_path(demo_db):
    layer = registry(LAYERS)["divisions"]
    with demo_db.connect() as conn:
        q = parse_query(conn, layer, {}, LAYERS, formats=("json",), default_format="json")
        assert sql.items_driver_sql(conn.dialect, layer, q.src, q.names, q.sort, q.limit or 10, q.offset) is None


def test_items_tiles_and_stats_answer_after_their_pooled_connection_was_killed(client, demo_db):
    paths = ["/collections/projects/items?limit=2", "/collections/projects/tiles/WebMercatorQuad/8/214/93",
             "/stats?sector=lng"]
    for path in paths:
        assert client.get(path).status_code == 200
    read_engine = client.app.state.layers_read_engine
    with read_engine.connect() as conn:
        pid = conn.connection.driver_connection.info.backend_pid
    with demo_db.connect() as admin:
        assert admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar() is True
    for path in paths:
        assert client.get(path).status_code == 200, path
