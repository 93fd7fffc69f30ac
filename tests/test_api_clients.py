"""Clients nobody here wrote read our layers: GDAL's OAPIF driver (ogrinfo, ogr2ogr) and OWSLib's Features.

A real uvicorn server listens on a free port; whatever the clients get is compared with the database.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import morecantile
import pytest
import uvicorn
from owslib.ogcapi.features import Features
from sqlalchemy import text

from geoapp.api.app import create_app

# Only the GDAL tests need gdal-bin (scripts/setup-system.sh installs it, so CI runs them); OWSLib always runs.
needs_gdal = pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="gdal-bin is installed by make setup")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(settings, database_url, layers_db) -> Iterator[str]:
    port = _free_port()
    app = create_app(settings, database_url, engine=layers_db)
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not srv.started:
        if time.time() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


def db(engine, sql: str, **bind):
    with engine.connect() as conn:
        return conn.execute(text(sql), bind).all()


def run(*args: str) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


@needs_gdal
def test_ogrinfo_lists_both_layers_and_counts_the_projects(server, layers_db):
    listing = run("ogrinfo", "-ro", f"OAPIF:{server}")
    assert "projects" in listing and "divisions" in listing
    summary = run("ogrinfo", "-ro", "-so", f"OAPIF:{server}", "projects")
    (total,) = db(layers_db, "SELECT count(*) FROM projects WHERE deleted_at IS NULL")[0]
    assert f"Feature Count: {total}" in summary
    assert "Geometry: Point" in summary


@needs_gdal
def test_ogr2ogr_copies_the_filtered_projects_to_geojson_exactly(server, layers_db, tmp_path):
    out = tmp_path / "lng.geojson"
    run("ogr2ogr", "-f", "GeoJSON", str(out), f"OAPIF:{server}", "projects", "-oo", "PAGE_SIZE=5",
        "-where", "sector = 'lng'", "-spat", "120", "43", "123", "45")
    got = {f["properties"]["code"]: f for f in json.loads(out.read_text())["features"]}
    rows = db(layers_db, "SELECT code, ST_X(geom), ST_Y(geom), total_investment FROM projects "
                         "WHERE deleted_at IS NULL AND sector = 'lng' AND "
                         "ST_Intersects(geom, ST_MakeEnvelope(120, 43, 123, 45, 4326))")
    assert len(rows) > 5  # several pages
    assert set(got) == {code for code, *_ in rows}
    for code, lon, lat, money in rows:
        assert got[code]["geometry"]["coordinates"] == pytest.approx([lon, lat], abs=1e-6)
        assert got[code]["properties"]["total_investment"] == pytest.approx(float(money))


@needs_gdal
def test_ogr2ogr_reads_the_division_polygons_with_their_live_counts(server, layers_db, tmp_path):
    out = tmp_path / "divisions.geojson"
    run("ogr2ogr", "-f", "GeoJSON", str(out), f"OAPIF:{server}", "divisions")
    features = json.loads(out.read_text())["features"]
    counts = dict(db(layers_db, "SELECT division_code, count(*) FROM projects WHERE deleted_at IS NULL GROUP BY 1"))
    # the development zone has no official boundary: an empty MultiPolygon (valid GeoJSON), not a polygon
    polygons = {f["properties"]["code"]: f for f in features if f["geometry"] and f["geometry"]["coordinates"]}
    assert len(polygons) == 8
    for code, feature in polygons.items():
        assert feature["geometry"]["type"] == "MultiPolygon"
        assert feature["properties"]["project_count"] == counts.get(code, 0)


def gdal(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)


@needs_gdal
def test_gdal_ogcapi_driver_walks_the_tileset_to_the_tile_matrix_set_without_an_error(server):
    """GDAL's OGCAPI driver: collection → tilesets → the tileset → its tiling scheme. GDAL 3.6 used to stop at
    "Missing links for tileset" and then "Invalid tiling matrix set name" (it reads TileMatrixSet 1.0 only).
    Debian's 3.6.2 is built without the driver's vector-tile layers (OGR_ENABLE_DRIVER_GML unset), so it then
    opens nothing from any server; a GDAL that has them lists one layer per zoom."""
    done = gdal("ogrinfo", "-ro", "-so", "-oo", "API=TILES", f"OGCAPI:{server}/collections/projects",
                "--debug", "on")
    fetched = [line.split("Fetch(", 1)[1].rstrip(")") for line in done.stderr.splitlines() if "Fetch(" in line]
    assert f"{server}/collections/projects/tiles/WebMercatorQuad" in fetched
    assert f"{server}/tileMatrixSets/WebMercatorQuad" in fetched
    errors = [line for line in (done.stdout + done.stderr).splitlines() if line.startswith("ERROR")]
    assert errors == []
    if done.returncode == 0:
        assert "projects" in done.stdout


@needs_gdal
def test_gdal_mvt_driver_opens_a_tile_and_an_empty_tile_by_their_pbf_names(server, layers_db):
    (lon, lat), = db(layers_db, "SELECT ST_X(geom), ST_Y(geom) FROM projects WHERE code = 'TL2025-001'")
    t = morecantile.tms.get("WebMercatorQuad").tile(lon, lat, 14)
    full = run("ogrinfo", "-ro", "-al", "-so", f"MVT:{server}/collections/projects/tiles/WebMercatorQuad/"
                                              f"{t.z}/{t.x}/{t.y}.pbf")
    assert "Layer name: projects" in full and "Feature Count: 0" not in full
    empty = run("ogrinfo", "-ro", "-al", "-so", f"MVT:{server}/collections/projects/tiles/WebMercatorQuad/3/0/0.pbf")
    assert "Layer name: projects" in empty


@needs_gdal
def test_gdal_where_compares_stored_codes_as_the_readme_says(server, layers_db):
    """-where goes to the server as CQL2, which is literal: a label matches nothing (as QGIS finds when it
    evaluates the same expression itself), the stored code matches the sector's projects."""
    (aluminium,) = db(layers_db, "SELECT count(*) FROM projects WHERE deleted_at IS NULL "
                                 "AND sector = 'green_aluminium'")[0]
    assert aluminium
    by_label = run("ogrinfo", "-ro", "-so", f"OAPIF:{server}", "projects", "-where", "sector = '绿电铝'")
    assert "Feature Count: 0" in by_label
    by_code = run("ogrinfo", "-ro", "-so", f"OAPIF:{server}", "projects", "-where", "sector = 'green_aluminium'")
    assert f"Feature Count: {aluminium}" in by_code


def test_owslib_reads_conformance_collections_queryables_and_the_api(server):
    api = Features(server)
    assert any(c.endswith("conf/core") for c in api.conformance()["conformsTo"])
    ids = [c["id"] for c in api.collections()["collections"]]
    assert {"projects", "divisions"} <= set(ids)
    queryables = api.collection_queryables("projects")["properties"]
    assert "sector" in queryables and "geometry" in queryables
    assert api.api()["openapi"].startswith("3.0")


def test_owslib_items_with_a_cql2_filter_match_the_database(server, layers_db):
    api = Features(server)
    items = api.collection_items("projects", filter="sector = 'green_aluminium' AND total_investment >= 50000",
                                 limit=1000)
    rows = db(layers_db, "SELECT code FROM projects WHERE deleted_at IS NULL AND sector = 'green_aluminium' "
                         "AND total_investment >= 50000 ORDER BY code")
    assert items["numberMatched"] == len(rows) > 0
    assert [f["id"] for f in items["features"]] == [code for (code,) in rows]
    json_filter = json.dumps({"op": "=", "args": [{"property": "division_code"}, "150581"]})
    items = api.collection_items("projects", filter=json_filter, **{"filter-lang": "cql2-json"}, limit=1000)
    rows = db(layers_db, "SELECT code FROM projects WHERE deleted_at IS NULL AND division_code = '150581'")
    assert {f["id"] for f in items["features"]} == {code for (code,) in rows}
    one = api.collection_item("projects", "TL2025-001")
    assert one["properties"]["sector"] == "green_aluminium"
