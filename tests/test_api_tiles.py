"""Vector tiles decoded with mapbox-vector-tile and checked against the database; TileJSON; clusters; empty tiles."""

from __future__ import annotations

import shutil
from collections import Counter

import mapbox_vector_tile
import morecantile
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from geoapp.api.app import create_app
from geoapp.layers.registry import registry
from geoapp.layers.sql import MVT_BUFFER, MVT_EXTENT
from geoapp.settings import Settings
from tests.conftest import LAYERS

TMS = morecantile.tms.get("WebMercatorQuad")
KEERQIN = (122.30, 43.62)  # inside 科尔沁区
DETAIL_ZOOM = int(registry(LAYERS)["projects"].tiles["cluster_max_zoom"]) + 1  # the first zoom without clusters


def tile_url(layer: str, tile: morecantile.Tile) -> str:
    return f"/collections/{layer}/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}"


def db_codes_in(engine, tile: morecantile.Tile, where: str = "true") -> set[str]:
    b = TMS.bounds(tile)
    with engine.connect() as conn:
        return set(conn.execute(text(
            f"SELECT code FROM projects WHERE deleted_at IS NULL AND ({where}) AND "
            "ST_Intersects(geom, ST_MakeEnvelope(:w, :s, :e, :n, 4326))"),
            {"w": b.left, "s": b.bottom, "e": b.right, "n": b.top}).scalars())


def detail_tile(engine) -> morecantile.Tile:
    """The unclustered tile around the first implementation-tier project of 科尔沁区."""
    with engine.connect() as conn:
        lon, lat = conn.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM projects WHERE tier = 'implementation' "
                                     "AND division_code = '150502' AND deleted_at IS NULL ORDER BY code LIMIT 1")).one()
    return TMS.tile(lon, lat, DETAIL_ZOOM)


def inside(feature: dict) -> bool:
    x, y = feature["geometry"]["coordinates"]
    return 0 <= x <= 4096 and 0 <= y <= 4096


def test_a_detailed_tile_holds_exactly_the_filtered_projects_of_its_area(client, layers_db):
    tile = detail_tile(layers_db)
    expected = db_codes_in(layers_db, tile, "tier = 'implementation'")
    assert expected
    response = client.get(tile_url("projects", tile), params={"tier_label": "实施"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    layer = mapbox_vector_tile.decode(response.content)["projects"]
    got = {f["properties"]["code"] for f in layer["features"] if inside(f)}
    assert got == expected
    assert all(f["properties"]["tier"] == "implementation" for f in layer["features"])
    assert layer["extent"] == 4096


def test_a_point_lands_where_the_database_puts_it_in_the_tile(client, layers_db):
    with layers_db.connect() as conn:
        lon, lat = conn.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM projects WHERE code = 'TL2025-002'")).one()
    tile = TMS.tile(lon, lat, 14)
    layer = mapbox_vector_tile.decode(client.get(tile_url("projects", tile)).content)["projects"]
    feature = next(f for f in layer["features"] if f["properties"]["code"] == "TL2025-002")
    b = TMS.xy_bounds(tile)
    x, y = TMS.xy(lon, lat)
    expected = ((x - b.left) / (b.right - b.left) * 4096, (y - b.bottom) / (b.top - b.bottom) * 4096)
    assert feature["geometry"]["coordinates"] == pytest.approx(expected, abs=1.0)


def test_low_zoom_tiles_cluster_points_and_the_counts_add_up(client, layers_db):
    tile = TMS.tile(*KEERQIN, 6)
    expected = db_codes_in(layers_db, tile, "sector IN ('lng', 'coal')")
    layer = mapbox_vector_tile.decode(client.get(tile_url("projects", tile),
                                                 params={"sector": "lng,coal"}).content)["projects"]
    counts = [f["properties"]["point_count"] for f in layer["features"]]
    assert sum(counts) == len(expected) > 0
    assert len(layer["features"]) < len(expected)
    singles = {f["properties"]["code"] for f in layer["features"] if f["properties"]["point_count"] == 1}
    assert singles <= expected


def test_a_tile_holds_only_the_first_max_features_projects_in_code_order(layers_db, database_url, tmp_path):
    layers = tmp_path / "layers"
    shutil.copytree(LAYERS, layers)
    yaml_text = (layers / "projects.yaml").read_text(encoding="utf-8")
    assert "max_features: 20000" in yaml_text and "default_sort: [code]" in yaml_text
    (layers / "projects.yaml").write_text(yaml_text.replace("max_features: 20000", "max_features: 5"), "utf-8")
    with layers_db.connect() as conn:
        points = conn.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM projects WHERE deleted_at IS NULL")).all()
        tile = Counter(TMS.tile(lon, lat, DETAIL_ZOOM) for lon, lat in points).most_common(1)[0][0]
        b = TMS.xy_bounds(tile)
        margin = (b.right - b.left) * MVT_BUFFER / MVT_EXTENT  # a tile also draws the points of its buffer
        in_tile = list(conn.execute(text(
            "SELECT code FROM projects WHERE deleted_at IS NULL AND geom && "
            "ST_Transform(ST_MakeEnvelope(:w, :s, :e, :n, 3857), 4326) ORDER BY code"),
            {"w": b.left - margin, "s": b.bottom - margin, "e": b.right + margin, "n": b.top + margin}).scalars())
    assert len(in_tile) > 5, "the densest detailed tile should hold more projects than the limit"
    settings = Settings(database_url=database_url, layers_dir=layers)
    with TestClient(create_app(settings, database_url, engine=layers_db)) as limited:
        first = limited.get(tile_url("projects", tile))
        second = limited.get(tile_url("projects", tile))
    assert first.status_code == second.status_code == 200
    features = mapbox_vector_tile.decode(first.content)["projects"]["features"]
    assert sorted(f["properties"]["code"] for f in features) == in_tile[:5]
    assert all("point_count" not in f["properties"] for f in features)  # real projects, not clusters
    assert second.content == first.content


def test_properties_make_a_lighter_tile_with_the_same_points(client, layers_db):
    tile = detail_tile(layers_db)
    full = mapbox_vector_tile.decode(client.get(tile_url("projects", tile)).content)["projects"]["features"]
    assert full
    light = client.get(tile_url("projects", tile), params={"properties": "code,sector"})
    features = mapbox_vector_tile.decode(light.content)["projects"]["features"]
    assert {f["properties"]["code"] for f in features} == {f["properties"]["code"] for f in full}
    assert all(set(f["properties"]) == {"code", "sector"} for f in features)


def test_an_empty_tile_is_a_valid_empty_mvt_not_204(client, layers_db):
    response = client.get("/collections/projects/tiles/WebMercatorQuad/10/0/0")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    decoded = mapbox_vector_tile.decode(response.content)
    assert decoded["projects"]["features"] == []  # the layer without features (GDAL cannot open zero bytes)


def test_division_tiles_carry_the_live_counts_of_the_filter(client, layers_db):
    tile = TMS.tile(*KEERQIN, 5)
    layer = mapbox_vector_tile.decode(client.get(tile_url("divisions", tile), params={"sector": "lng"}).content)
    with layers_db.connect() as conn:
        counts = dict(conn.execute(text("SELECT division_code, count(*) FROM projects WHERE deleted_at IS NULL "
                                        "AND sector = 'lng' GROUP BY 1")).all())
    features = layer["divisions"]["features"]
    assert {f["properties"]["code"] for f in features} >= {"150502", "150521"}
    for f in features:
        assert f["properties"]["project_count"] == counts.get(f["properties"]["code"], 0)


def test_tilejson_points_at_tiles_with_the_same_filter(client, layers_db):
    doc = client.get("/collections/projects/tiles/WebMercatorQuad/tilejson.json", params={"sector": "lng"}).json()
    assert doc["tilejson"].startswith("3.")
    assert doc["tiles"][0].endswith("/collections/projects/tiles/WebMercatorQuad/{z}/{x}/{y}?sector=lng")
    assert doc["vector_layers"][0]["id"] == "projects"
    assert doc["vector_layers"][0]["fields"]["total_investment"] == "Number"
    west, south, east, north = doc["bounds"]
    assert 119 < west < east < 124 and 42 < south < north < 46


@pytest.mark.parametrize(("path", "status"), [
    ("/collections/projects/tiles/WebMercatorQuad/3/8/0", 404),
    ("/collections/projects/tiles/WebMercatorQuad/23/0/0", 400),
    ("/collections/projects/tiles/WebMercatorQuad/a/b/c", 400),
    ("/collections/projects/tiles/WorldCRS84Quad/3/1/1", 404),
    ("/collections/projects/tiles/WebMercatorQuad/3/1/1?sector_label=钢铁", 400),
])
def test_impossible_tiles_and_bad_filters_are_client_errors(client, path, status):
    assert client.get(path).status_code == status
