"""One typed settings object, read once from the environment (GEOAPP_*) and passed in."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Where the data lives and how the server runs.

    With ``database_url`` unset geoapp runs its own PostgreSQL + PostGIS cluster under ``home``.
    """

    model_config = SettingsConfigDict(env_prefix="GEOAPP_", env_file=None)

    database_url: str | None = None
    home: Path = Path(".geoapp")
    pg_bindir: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    layers_dir: Path = REPO_ROOT / "layers"
    static_dir: Path = REPO_ROOT / "static"
    lang: str = "zh"
    # Whether reading the map and the API needs a login (intranets differ); writing always does.
    read_requires_login: bool = False
    # Lifetime of a login token issued by POST /auth/login (scripts use `geoapp users token`, no expiry).
    login_token_hours: int = 12
    # Online basemaps offered by the web map besides the offline one (ids in layers/basemaps/basemaps.yaml,
    # comma-separated, e.g. "tianditu,osm,amap"); empty = offline only (intranet).
    basemaps: str = ""
    tianditu_key: str | None = None

    # -- limits on what a request may send (uploads, bodies, sheets); each refusal names its setting --

    # -- logins (throttling, hash cost) --

    # -- the database (role, statement and lock timeouts) --

    # -- route planning (projects per plan, solver time, worker processes) --

    # -- the HTTP edge (trusted hosts for links, origins allowed to write with a cookie, security headers) --


def get_settings() -> Settings:
    return Settings()
