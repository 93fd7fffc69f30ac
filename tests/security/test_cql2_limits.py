"""Hostile CQL2 is a 400 naming the filter, never a 500 or a stuck worker: the text is capped (16 KB) before it is
parsed, the parse tree's nesting is capped (32 levels), and a parser that recurses too deep is caught."""

from __future__ import annotations

import pytest

from geoapp.layers.filters import MAX_FILTER_CHARS, MAX_FILTER_DEPTH

ITEMS = "/collections/projects/items"


def refused(client, cql: str, lang: str = "cql2-text") -> dict:
    response = client.get(ITEMS, params={"filter": cql, "filter-lang": lang, "limit": 1})
    assert response.status_code == 400, response.text[:300]
    body = response.json()
    assert body["parameter"] == "filter" and body["zh"] and body["en"]
    return body


def alternating(levels: int) -> str:
    """(a OR (b AND (c OR …))): real nesting (a chain of one operator is flat, so the operators alternate)."""
    cql = "total_investment > 1"
    for i in range(levels):
        cql = f"(total_investment > {i} {'AND' if i % 2 else 'OR'} {cql})"
    return cql


def nested_json(levels: int) -> str:
    """NOT(NOT(… x > 1)) as CQL2-JSON text, written without json.dumps (which itself recurses)."""
    return '{"op":"not","args":[' * levels + '{"op":">","args":[{"property":"total_investment"},1]}' + "]}" * levels


@pytest.mark.parametrize("levels", [70, 500, 5000])
def test_deeply_parenthesised_text_filters_are_refused_with_400(client, demo_db, levels):
    cql = "(" * levels + "total_investment > 1" + ")" * levels
    assert "nested too deeply" in refused(client, cql)["en"]


@pytest.mark.parametrize("levels", [MAX_FILTER_DEPTH + 1, 60, 500])
def test_deeply_nested_boolean_filters_are_refused_with_400(client, demo_db, levels):
    assert "nested too deeply" in refused(client, alternating(levels))["en"]


@pytest.mark.parametrize("levels", [MAX_FILTER_DEPTH + 1, 300, 700])
def test_deeply_nested_json_filters_are_refused_with_400(client, demo_db, levels):
    assert "nested too deeply" in refused(client, nested_json(levels), "cql2-json")["en"]


def test_a_filter_over_16_kb_is_refused_before_parsing(client, demo_db):
    cql = "name = '" + "x" * MAX_FILTER_CHARS + "'"
    assert "16 KB" in refused(client, cql)["en"]


def test_a_long_flat_chain_of_ands_within_the_size_cap_is_served(client, demo_db):
    """Length alone is not depth: 600 ANDed terms are one level deep and must not hit the recursion limit."""
    cql = " AND ".join(["total_investment >= 0"] * 600)
    assert len(cql) < MAX_FILTER_CHARS
    response = client.get(ITEMS, params={"filter": cql, "limit": 1})
    assert response.status_code in (200, 400), response.text[:300]
    if response.status_code == 400:  # the parser itself may run out of stack: then it is a clean 400
        assert response.json()["parameter"] == "filter"


def test_a_filter_just_under_the_depth_cap_still_works(client, demo_db):
    for cql, lang in ((alternating(MAX_FILTER_DEPTH - 3), "cql2-text"),
                      (nested_json(MAX_FILTER_DEPTH - 4), "cql2-json")):
        response = client.get(ITEMS, params={"filter": cql, "filter-lang": lang, "limit": 1})
        assert response.status_code == 200, response.text[:300]


@pytest.mark.parametrize("path", ["/collections/projects/tiles/WebMercatorQuad/3/6/2", "/stats",
                                  "/collections/divisions/items"])
def test_every_filtered_endpoint_refuses_deep_nesting_the_same_way(client, demo_db, path):
    response = client.get(path, params={"filter": "(" * 800 + "total_investment > 1" + ")" * 800})
    assert response.status_code == 400 and response.json()["parameter"] == "filter"
