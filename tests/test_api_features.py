"""OGC API – Features over HTTP: landing, conformance, OpenAPI 3.0, collections, queryables, items, exports.

Every list of features is compared with what PostgreSQL holds.
"""

from __future__ import annotations

import csv
import io
import json

import openpyxl
import pytest
from sqlalchemy import text

OPENAPI_30 = "application/vnd.oai.openapi+json;version=3.0"


def db_codes(engine, where: str = "true", order: str = "code") -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text(
            f"SELECT code FROM projects WHERE deleted_at IS NULL AND ({where}) ORDER BY {order}")).scalars())


def test_the_landing_page_is_json_for_clients_with_absolute_links(client, layers_db):
    response = client.get("/", headers={"Accept": "*/*"})
    assert response.headers["content-type"].startswith("application/json")
    links = {link["rel"]: link for link in response.json()["links"]}
    assert links["service-desc"]["type"] == OPENAPI_30
    for rel in ("service-desc", "conformance", "data"):
        assert links[rel]["href"].startswith("http://testserver/")


def test_a_browser_asking_for_html_at_the_root_gets_the_web_map(client):
    response = client.get("/", headers={"Accept": "text/html,application/xhtml+xml"})
    assert response.headers["content-type"].startswith("text/html")
    assert "通辽市重大项目地图" in response.text


def test_conformance_declares_core_geojson_oas30_and_cql2_filtering(client):
    classes = client.get("/conformance").json()["conformsTo"]
    for suffix in ("ogcapi-features-1/1.0/conf/core", "ogcapi-features-1/1.0/conf/geojson",
                   "ogcapi-features-1/1.0/conf/oas30", "ogcapi-features-3/1.0/conf/filter",
                   "cql2/1.0/conf/cql2-text", "cql2/1.0/conf/cql2-json"):
        assert any(c.endswith(suffix) for c in classes), suffix
    assert any(c.endswith("cql2/1.0/conf/case-insensitive-comparison") for c in classes)
    assert not any("accent-insensitive" in c for c in classes)  # ACCENTI is refused, so it is not advertised


def test_the_api_document_is_openapi_3_0_with_the_yaml_filters(client):
    response = client.get("/api")
    assert response.headers["content-type"] == OPENAPI_30
    doc = response.json()
    assert doc["openapi"].startswith("3.0")
    params = {p["name"]: p for p in doc["paths"]["/collections/projects/items"]["get"]["parameters"]}
    assert {"bbox", "limit", "offset", "sortby", "properties", "filter", "filter-lang", "sector", "division",
            "investment_class", "q"} <= set(params)
    assert params["limit"]["schema"]["maximum"] == 10000
    assert "lng" in params["sector"]["schema"]["items"]["enum"]


def test_collections_describe_both_layers_with_their_extent(client, layers_db):
    body = client.get("/collections").json()
    by_id = {c["id"]: c for c in body["collections"]}
    assert set(by_id) >= {"projects", "divisions"}
    with layers_db.connect() as conn:
        extent = conn.execute(text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                                   "(SELECT ST_Extent(geom) e FROM projects WHERE deleted_at IS NULL) x")).one()
    assert by_id["projects"]["extent"]["spatial"]["bbox"][0] == pytest.approx(list(extent), abs=1e-5)
    assert by_id["projects"]["title"] == "重大项目"
    assert client.get("/collections/projects").json()["id"] == "projects"


def test_queryables_list_the_properties_with_vocabulary_codes(client):
    response = client.get("/collections/projects/queryables")
    assert response.headers["content-type"] == "application/schema+json"
    props = response.json()["properties"]
    assert props["geometry"]["$ref"].endswith("Point.json")
    assert "green_aluminium" in props["sector"]["enum"]
    assert props["total_investment"]["type"] == "number"


def test_items_default_to_100_features_in_code_order_with_counts_and_paging_links(client, layers_db):
    expected = db_codes(layers_db)
    body = client.get("/collections/projects/items").json()
    assert body["numberMatched"] == len(expected) == 408
    assert body["numberReturned"] == 100
    assert [f["id"] for f in body["features"]] == expected[:100]
    links = {link["rel"]: link["href"] for link in body["links"]}
    assert "offset=100" in links["next"] and "prev" not in links
    second = client.get(links["next"]).json()
    assert [f["id"] for f in second["features"]] == expected[100:200]
    assert "offset=0" in {link["rel"]: link["href"] for link in second["links"]}["prev"]
    last = client.get("/collections/projects/items", params={"offset": 400}).json()
    assert last["numberReturned"] == 8 and last["numberMatched"] == 408
    assert "next" not in {link["rel"] for link in last["links"]}


def test_a_feature_carries_the_stored_values_and_position(client, layers_db):
    feature = client.get("/collections/projects/items/TL2025-001").json()
    with layers_db.connect() as conn:
        row = conn.execute(text("SELECT name, sector, total_investment, ST_X(geom) x, ST_Y(geom) y FROM projects "
                                "WHERE code = 'TL2025-001'")).one()
    assert feature["id"] == "TL2025-001"
    assert feature["properties"]["name"] == row.name
    assert feature["properties"]["sector"] == row.sector
    assert feature["properties"]["total_investment"] == pytest.approx(float(row.total_investment))
    assert feature["geometry"] == {"type": "Point", "coordinates": pytest.approx([row.x, row.y], abs=1e-7)}


@pytest.mark.parametrize(("params", "where"), [
    ({"sector": "lng"}, "sector = 'lng'"),
    ({"sector": ["lng", "green_aluminium"], "division": "科左中旗"},
     "sector IN ('lng', 'green_aluminium') AND division_code = '150521'"),
    ({"sector_label": ["lng", "绿电铝"], "division": "科左中旗"},
     "sector IN ('lng', 'green_aluminium') AND division_code = '150521'"),
    ({"bbox": "120,43,121.5,44", "tier": "planning"},
     "tier = 'planning' AND ST_Intersects(geom, ST_MakeEnvelope(120, 43, 121.5, 44, 4326))"),
    ({"investment_class": "1y"}, "total_investment >= 100000"),
    ({"investment_class": "5y"}, "total_investment >= 500000"),
    ({"status_label": "在建"}, "status = 'construction'"),
    ({"status": "construction,suspended"}, "status IN ('construction', 'suspended')"),
    ({"status": ""}, "true"),  # an empty form field filters nothing
    ({"filter": "CASEI(name) LIKE '%Lng%' OR CASEI(code) IN ('tl2025-002')"},
     "name ILIKE '%lng%' OR code = 'TL2025-002'"),
    ({"min_investment": "1000", "max_investment": "2000"}, "total_investment BETWEEN 1000 AND 2000"),
    ({"start_year": "2022"}, "start_year = 2022"),
    ({"q": "铝"}, "name LIKE '%铝%' OR company LIKE '%铝%'"),
    ({"filter": "status = 'construction' AND total_investment > 10000"},
     "status = 'construction' AND total_investment > 10000"),
    ({"filter": json.dumps({"op": "in", "args": [{"property": "tier"}, ["reserve", "planning"]]}),
      "filter-lang": "cql2-json"}, "tier IN ('reserve', 'planning')"),
])
def test_item_filters_return_exactly_the_matching_projects(client, layers_db, params, where):
    expected = db_codes(layers_db, where)
    assert expected
    body = client.get("/collections/projects/items", params={**params, "limit": 1000}).json()
    assert body["numberMatched"] == len(expected)
    assert [f["id"] for f in body["features"]] == expected


def test_casei_over_http_ignores_case_where_a_plain_comparison_does_not(client, layers_db):
    expected = db_codes(layers_db, "lower(code) LIKE 'tl2025-00%'")
    assert expected and not db_codes(layers_db, "code LIKE 'tl2025-00%'")
    body = client.get("/collections/projects/items", params={"filter": "CASEI(code) LIKE 'tl2025-00%'"}).json()
    assert [f["id"] for f in body["features"]] == expected
    json_filter = json.dumps({"op": "like", "args": [{"op": "casei", "args": [{"property": "code"}]},
                                                     {"op": "casei", "args": ["tl2025-00%"]}]})
    body = client.get("/collections/projects/items", params={"filter": json_filter, "filter-lang": "cql2-json"}).json()
    assert [f["id"] for f in body["features"]] == expected


def test_limit_above_the_maximum_10000_is_served_as_the_maximum(client, layers_db):
    everything = len(db_codes(layers_db))
    response = client.get("/collections/projects/items", params={"limit": 10000})
    assert response.status_code == 200
    assert response.json()["numberReturned"] == everything > 400
    for limit in (10001, 99999999999999999999):
        response = client.get("/collections/projects/items", params={"limit": limit, "properties": "code"})
        assert response.status_code == 200
        assert response.json()["numberReturned"] == everything


def test_sortby_and_properties_shape_the_page(client, layers_db):
    expected = db_codes(layers_db, "total_investment IS NOT NULL", "total_investment DESC, code")[:5]
    body = client.get("/collections/projects/items", params={
        "sortby": "-total_investment", "properties": "name,total_investment", "limit": 5,
        "filter": "total_investment IS NOT NULL"}).json()
    assert [f["id"] for f in body["features"]] == expected
    assert set(body["features"][0]["properties"]) == {"name", "total_investment"}


def test_the_divisions_layer_counts_the_projects_matching_the_filter(client, layers_db):
    body = client.get("/collections/divisions/items", params={"sector": "lng", "tier": "implementation"}).json()
    with layers_db.connect() as conn:
        counts = dict(conn.execute(text(
            "SELECT division_code, count(*) FROM projects WHERE deleted_at IS NULL AND sector = 'lng' "
            "AND tier = 'implementation' GROUP BY 1")).all())
        sums = dict(conn.execute(text(
            "SELECT division_code, coalesce(sum(total_investment), 0) FROM projects WHERE deleted_at IS NULL "
            "AND sector = 'lng' AND tier = 'implementation' GROUP BY 1")).all())
        by_sector: dict[str, dict[str, int]] = {}
        for division, sector, n in conn.execute(text(
                "SELECT division_code, sector, count(*) FROM projects WHERE deleted_at IS NULL AND sector = 'lng' "
                "AND tier = 'implementation' GROUP BY 1, 2")):
            by_sector.setdefault(division, {})[sector] = n
    assert body["numberMatched"] == 9
    assert sum(counts.values()) > 0
    for feature in body["features"]:
        props = feature["properties"]
        assert props["project_count"] == counts.get(feature["id"], 0)
        assert props["total_investment"] == pytest.approx(float(sums.get(feature["id"], 0)))
        assert props["by_tier"] == ({"implementation": counts[feature["id"]]} if feature["id"] in counts else {})
        assert props["by_sector"] == by_sector.get(feature["id"], {})
    zone = next(f for f in body["features"] if f["id"] == "150571")
    assert zone["geometry"] == {"type": "MultiPolygon", "coordinates": []}  # no official boundary: empty, valid


def test_the_divisions_layer_groups_the_matching_projects_by_sector_as_sql_does(client, layers_db):
    body = client.get("/collections/divisions/items", params={"tier": "implementation", "min_investment": "1000"})
    expected: dict[str, dict[str, int]] = {}
    with layers_db.connect() as conn:
        for division, sector, n in conn.execute(text(
                "SELECT division_code, sector, count(*) FROM projects WHERE deleted_at IS NULL "
                "AND tier = 'implementation' AND total_investment >= 1000 GROUP BY 1, 2")):
            expected.setdefault(division, {})[sector] = n
    assert max(len(sectors) for sectors in expected.values()) > 1, "the filter should leave several sectors"
    features = body.json()["features"]
    assert {f["id"]: f["properties"]["by_sector"] for f in features if f["properties"]["by_sector"]} == expected
    for feature in features:
        assert feature["properties"]["project_count"] == sum(expected.get(feature["id"], {}).values())


def test_csv_and_xlsx_give_the_same_query_with_chinese_headers(client, layers_db):
    expected = db_codes(layers_db, "sector = 'lng'")
    response = client.get("/collections/projects/items", params={"sector": "lng", "f": "csv"})
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["项目编号", "项目名称"]
    assert [r[0] for r in rows[1:]] == expected
    response = client.get("/collections/projects/items", params={"sector": "lng", "f": "xlsx", "lang": "en"})
    sheet = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("Project code", "Project name")
    assert [r[0] for r in rows[1:]] == expected


@pytest.mark.parametrize(("path", "status", "parameter"), [
    ("/collections/projects/items?colour=red", 400, "colour"),
    ("/collections/projects/items?limit=ten", 400, "limit"),
    ("/collections/projects/items?offset=-1", 400, "offset"),
    ("/collections/projects/items?sector_label=钢铁", 400, "sector_label"),
    ("/collections/projects/items?division=北京", 400, "division"),
    ("/collections/projects/items?bbox=1,2", 400, "bbox"),
    ("/collections/projects/items?sortby=colour", 400, "sortby"),
    ("/collections/projects/items?properties=colour", 400, "properties"),
    ("/collections/projects/items?f=shp", 400, "f"),
    ("/collections/projects/items?filter=nosuch%3D1", 400, "filter"),
    ("/collections/projects/items?filter=S_RELATE(geometry,POINT(1 1),'x')", 400, "filter"),
    ("/collections/projects/items?datetime=soon", 400, "datetime"),
    ("/collections/projects/items?datetime=2025-01-01/2024-01-01", 400, "datetime"),
    ("/collections/projects/items?offset=2147483648", 400, "offset"),
    ("/collections/nowhere/items", 404, None),
    ("/collections/nowhere", 404, None),
    ("/collections/projects/items/NO-SUCH-CODE", 404, None),
])
def test_bad_requests_answer_400_or_404_with_a_bilingual_message(client, layers_db, path, status, parameter):
    response = client.get(path)
    assert response.status_code == status
    body = response.json()
    assert body["code"] == ("InvalidParameterValue" if status == 400 else "NotFound")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["description"]) and " / " in body["description"]
    if parameter:
        assert body["parameter"] == parameter
