from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_compose_runs_postgis_and_the_app_against_it():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    db, app = compose["services"]["db"], compose["services"]["app"]
    assert db["image"].startswith("postgis/postgis:")
    assert "healthcheck" in db and "healthcheck" in app
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    assert app["environment"]["GEOAPP_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "@db:5432/" in app["environment"]["GEOAPP_DATABASE_URL"]
    assert "8000:8000" in app["ports"]
    assert any(v.startswith("pgdata:") for v in db["volumes"]) and "pgdata" in compose["volumes"]


def test_the_app_image_serves_geoapp():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'CMD ["geoapp", "serve"' in dockerfile
    assert "fonts-noto-cjk" in dockerfile
