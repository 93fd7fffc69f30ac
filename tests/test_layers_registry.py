"""Layers are data: the registry reads layers/*.yaml, rejects what cannot work, and a new YAML file is a new layer."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import text

from geoapp.api.app import create_app
from geoapp.layers.registry import LayerConfigError, load_layers, parse_layer
from geoapp.settings import Settings
from tests.conftest import LAYERS

SEATS = {
    "id": "seats",
    "title": {"zh": "旗县驻地", "en": "Division seats"},
    "source": "divisions",
    "id_column": "code",
    "geometry": {"column": "seat", "type": "Point"},
    "properties": [
        {"name": "code", "type": "string", "title": {"zh": "代码", "en": "Code"}},
        {"name": "seat_name", "type": "string", "title": {"zh": "驻地", "en": "Seat"}},
        {"name": "kind", "type": "string", "title": {"zh": "类型", "en": "Kind"}},
    ],
    "filters": {"kind": {"kind": "in", "column": "kind", "title": {"zh": "类型", "en": "Kind"}}},
}


def test_the_repository_declares_the_projects_and_divisions_layers():
    layers = load_layers(LAYERS)
    assert {"projects", "divisions"} <= set(layers)
    projects = layers["projects"]
    assert projects.id_column == "code" and projects.geometry_type == "Point"
    assert {"sector", "tier", "status", "division", "min_investment", "max_investment", "investment_class",
            "start_year", "q"} <= set(projects.filters)
    assert layers["divisions"].stats_of.layer == "projects"


def test_every_project_property_has_a_chinese_and_an_english_title():
    for prop in load_layers(LAYERS)["projects"].properties:
        assert prop.title.zh and prop.title.en and prop.title.zh != prop.title.en, prop.name


@pytest.mark.parametrize(("change", "needle"), [
    ({"id_column": None}, "id_column"),
    ({"properties": [{"name": "code; drop", "type": "string"}]}, "invalid name"),
    ({"properties": [{"name": "code", "type": "money"}]}, "unknown type"),
    ({"filters": {"x": {"kind": "near", "column": "code"}}}, "unknown kind"),
    ({"filters": {"x": {"kind": "class", "column": "code"}}}, "needs classes"),
])
def test_a_layer_file_that_cannot_work_is_rejected_with_the_reason(change, needle):
    doc = {**SEATS, **change}
    doc = {k: v for k, v in doc.items() if v is not None}
    with pytest.raises(LayerConfigError) as caught:
        parse_layer(doc, Path("seats.yaml"))
    assert needle in str(caught.value) and "seats.yaml" in str(caught.value)


def test_a_new_yaml_file_is_served_as_a_layer_without_python_changes(tmp_path, settings, database_url, layers_db):
    layers_dir = tmp_path / "layers"
    shutil.copytree(LAYERS, layers_dir)
    (layers_dir / "seats.yaml").write_text(yaml.safe_dump(SEATS, allow_unicode=True), encoding="utf-8")
    app = create_app(Settings(database_url=database_url, layers_dir=layers_dir), database_url, engine=layers_db)
    with TestClient(app) as client, layers_db.connect() as conn:
        ids = [c["id"] for c in client.get("/collections").json()["collections"]]
        assert "seats" in ids
        body = client.get("/collections/seats/items", params={"kind": "banner"}).json()
        expected = conn.execute(text("SELECT code, ST_X(seat), ST_Y(seat) FROM divisions WHERE kind = 'banner' "
                                     "ORDER BY code")).all()
        assert [f["id"] for f in body["features"]] == [c for c, _, _ in expected]
        assert body["numberMatched"] == len(expected) == 5
        for feature, (_, lon, lat) in zip(body["features"], expected, strict=True):
            assert feature["geometry"]["coordinates"] == pytest.approx([lon, lat], abs=1e-6)
        bad = client.get("/collections/seats/items", params={"sector": "lng"})
        assert bad.status_code == 400 and "kind" in bad.json()["allowed"]
