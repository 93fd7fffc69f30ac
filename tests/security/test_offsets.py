"""OGC paging parameters beyond what SQL can hold are a 400 naming the parameter, never a 500: offsets above
2³¹ − 1 and absurd digits. A limit above the maximum is not an error (Part 1): it is served as the maximum."""

from __future__ import annotations

import pytest

from geoapp.layers.request import MAX_LIMIT, MAX_OFFSET


@pytest.mark.parametrize("offset", [str(MAX_OFFSET + 1), "99999999999999999999", "1" + "0" * 400, "-1", "1e3",
                                    "0x10", "١٢"])
@pytest.mark.parametrize("path", ["/collections/projects/items", "/collections/divisions/items",
                                  "/collections/routes/items"])
def test_an_offset_sql_cannot_hold_is_a_400_naming_offset(client, demo_db, path, offset):
    response = client.get(path, params={"offset": offset})
    assert response.status_code == 400, response.text[:300]
    assert response.json()["parameter"] == "offset"


def test_the_largest_offset_is_served_as_an_empty_page(client, demo_db):
    body = client.get("/collections/projects/items", params={"offset": MAX_OFFSET}).json()
    assert body["numberReturned"] == 0 and body["features"] == []


@pytest.mark.parametrize("limit", [str(MAX_LIMIT + 1), "99999999999999999999"])
def test_a_limit_above_the_maximum_is_clamped_not_refused(client, demo_db, limit):
    response = client.get("/collections/projects/items", params={"limit": limit, "properties": "code"})
    assert response.status_code == 200
    assert response.json()["numberReturned"] == response.json()["numberMatched"]


def test_a_limit_of_hundreds_of_digits_is_not_a_number_we_read(client, demo_db):
    response = client.get("/collections/projects/items", params={"limit": "1" + "0" * 400})
    assert response.status_code == 400 and response.json()["parameter"] == "limit"


@pytest.mark.parametrize("fmt", ["csv", "geojson"])
def test_download_limits_and_offsets_are_capped_too(client, demo_db, fmt):
    ok = client.get("/collections/projects/items", params={"f": fmt, "limit": "99999999999999999999"})
    assert ok.status_code == 200
    bad = client.get("/collections/projects/items", params={"f": fmt, "offset": "99999999999999999999"})
    assert bad.status_code == 400 and bad.json()["parameter"] == "offset"


@pytest.mark.parametrize("offset", [str(MAX_OFFSET + 1), "99999999999999999999"])
def test_the_editing_list_refuses_an_offset_sql_cannot_hold_with_a_400(client, offset):
    response = client.get("/projects", params={"offset": offset})
    assert response.status_code == 400, response.text[:300]
    assert response.json()["parameter"] == "offset" and response.json()["code"] == "InvalidParameterValue"
