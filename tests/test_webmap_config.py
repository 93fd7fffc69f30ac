"""/webmap/config: basemaps come from the settings (offline only by default), styles from the vocabularies."""

from __future__ import annotations

from fastapi.testclient import TestClient

from geoapp.api.app import create_app
from geoapp.settings import Settings
from geoapp.vocab import vocabularies
from geoapp.webmap.basemaps import enabled_basemaps
from tests.conftest import LAYERS


def test_the_default_config_offers_no_online_basemap(client):
    config = client.get("/webmap/config").json()
    assert config["basemaps"] == []
    assert config["lang"] == "zh"


def test_sector_colours_and_icons_come_from_the_vocabulary(client):
    sectors = client.get("/webmap/config").json()["vocabularies"]["sector"]
    vocab = vocabularies(LAYERS)["sector"]
    assert [s["code"] for s in sectors] == vocab.codes
    assert all(s["color"].startswith("#") and s["icon"] for s in sectors)
    assert {s["code"]: s["color"] for s in sectors} == {t.code: t.extra["color"] for t in vocab.terms}


def test_investment_classes_and_seats_are_listed(client):
    config = client.get("/webmap/config").json()
    assert [c["code"] for c in config["classes"]["investment_class"]] == ["500w", "1y", "5y"]
    assert [c["min"] for c in config["classes"]["investment_class"]] == [500, 100000, 500000]
    seats = {s["code"]: s for s in config["seats"]}
    assert seats["150526"]["seat_name"] == "鲁北镇"
    assert seats["150571"]["no_boundary"] is True


def test_tianditu_is_offered_only_with_a_key_and_the_key_is_filled_in():
    without = enabled_basemaps(Settings(basemaps="tianditu,osm"))
    assert [b["id"] for b in without] == ["osm"]
    with_key = enabled_basemaps(Settings(basemaps="tianditu,amap", tianditu_key="abc123"))
    assert [b["id"] for b in with_key] == ["tianditu", "amap"]
    assert "tk=abc123" in with_key[0]["url"] and "{key}" not in with_key[0]["labels"]
    assert with_key[1]["crs"] == "gcj02"


def test_an_unknown_basemap_is_reported_not_a_server_error(database_url, engine):
    app = create_app(Settings(database_url=database_url, basemaps="osm,googel"), database_url, engine=engine)
    with TestClient(app) as c:
        r = c.get("/webmap/config")
    assert r.status_code == 200
    assert r.json()["basemaps"] == []
    assert "googel" in r.json()["warnings"][0]


def test_the_html_export_of_a_bad_filter_answers_400_naming_the_parameter(client):
    r = client.get("/webmap/export.html?tier=nope")
    assert r.status_code == 400
    assert "tier" in r.json()["description"]
