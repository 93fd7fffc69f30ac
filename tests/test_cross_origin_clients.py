"""Web maps nobody here wrote, on another origin, draw geoapp: a page served from a second port (its own origin)
loads MapLibre GL JS and OpenLayers from npm (static/node_modules, served by that second server) and draws our
vector tiles with MapLibre in geoapp's own style (/styles/default) and our GeoJSON items with OpenLayers.
Without CORS the browser would hide every response from it ("blocked by CORS policy")."""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Browser, sync_playwright
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from geoapp.settings import REPO_ROOT
from tests.browser_support import CHROMIUM_ARGS, live_server, serve_asgi, watched_page

NODE_MODULES = REPO_ROOT / "static" / "node_modules"
needs_packages = pytest.mark.skipif(not (NODE_MODULES / "maplibre-gl").is_dir() or not (NODE_MODULES / "ol").is_dir(),
                                    reason="cd static && npm install (maplibre-gl, ol)")

PAGE = """<!doctype html><meta charset="utf-8"><title>another origin</title>
<link rel="stylesheet" href="/nm/maplibre-gl/dist/maplibre-gl.css">
<div id="ml" style="width:640px;height:480px"></div><div id="ol" style="width:640px;height:480px"></div>
<script src="/nm/ol/dist/ol.js"></script>
<script type="module">
import * as m from '/nm/maplibre-gl/dist/maplibre-gl.mjs';
const maplibregl = m.default || m;
const api = new URLSearchParams(location.search).get('api');
window.result = {errors: []};
// OpenLayers: the projects as GeoJSON items
const source = new ol.source.Vector({url: api + '/collections/projects/items?limit=10000',
                                     format: new ol.format.GeoJSON()});
source.on('featuresloadend', () => { window.result.ol = source.getFeatures().length; });
source.on('featuresloaderror', () => { window.result.ol = -1; });
new ol.Map({target: 'ol', layers: [new ol.layer.Vector({source})],
            view: new ol.View({center: ol.proj.fromLonLat([122.2, 43.9]), zoom: 6})});
// MapLibre: geoapp's own style (/styles/default), which draws the projects and divisions from the vector tiles
const map = new maplibregl.Map({container: 'ml', center: [121.5, 44.0], zoom: 5.5, style: api + '/styles/default'});
map.on('error', (e) => window.result.errors.push(String(e.error && e.error.message)));
map.on('idle', () => {
  window.result.projects = map.querySourceFeatures('projects', {sourceLayer: 'projects'}).length;
  window.result.divisions = new Set(map.querySourceFeatures('divisions', {sourceLayer: 'divisions'})
    .map((f) => f.properties.code)).size;
  window.result.drawn = map.queryRenderedFeatures({layers: ['projects', 'project-clusters']}).length;
});
</script>"""


def second_origin_app() -> Starlette:
    mimetypes.add_type("text/javascript", ".mjs")  # module scripts need a JavaScript type
    return Starlette(routes=[Route("/", lambda request: HTMLResponse(PAGE)),
                             Mount("/nm", StaticFiles(directory=NODE_MODULES))])


@contextmanager
def second_origin() -> Iterator[str]:
    with serve_asgi(second_origin_app()) as (base, _):
        yield base


@pytest.fixture(scope="module")
def webgl_browser() -> Iterator[Browser]:
    """Chromium with software WebGL (SwiftShader): MapLibre draws with WebGL, which --disable-gpu turns off."""
    args = [a for a in CHROMIUM_ARGS if a != "--disable-gpu"] + ["--use-angle=swiftshader",
                                                                  "--enable-unsafe-swiftshader"]
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        yield b
        b.close()


@needs_packages
def test_maplibre_and_openlayers_on_another_origin_draw_our_tiles_and_items(webgl_browser, layers_db, settings):
    with layers_db.connect() as conn:
        projects = conn.execute(text("SELECT count(*) FROM projects WHERE deleted_at IS NULL")).scalar()
    with live_server(layers_db, settings) as api, second_origin() as page_origin, \
            watched_page(webgl_browser, viewport={"width": 700, "height": 1000}) as w:
        assert api.split(":")[-1] != page_origin.split(":")[-1]  # two origins
        w.page.goto(f"{page_origin}/?api={api}")
        w.page.wait_for_function("window.result && window.result.ol !== undefined && "
                                 "window.result.drawn !== undefined", timeout=60000)
        result = w.page.evaluate("window.result")
        assert result["ol"] == projects
        assert result["projects"] > 0 and result["drawn"] > 0
        assert result["divisions"] >= 8
        assert result["errors"] == []
        assert not [e for e in w.errors if "CORS" in e], w.errors


@needs_packages
def test_without_cors_the_other_origin_sees_nothing(webgl_browser, layers_db, settings):
    closed = settings.model_copy(update={"cors_origins": ""})
    with live_server(layers_db, closed) as api, second_origin() as page_origin, \
            watched_page(webgl_browser) as w:
        w.page.goto(f"{page_origin}/?api={api}")
        w.page.wait_for_function("window.result && window.result.ol !== undefined", timeout=60000)
        assert w.page.evaluate("window.result.ol") in (-1, 0)
        assert any("CORS" in e for e in w.errors)
