"""The one way to reach the database: an external GEOAPP_DATABASE_URL or the embedded cluster."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from geoapp.db.cluster import Cluster
from geoapp.settings import Settings


def database_url(settings: Settings, start: bool = True) -> str:
    """The URL to use; starts the embedded cluster when no external URL is configured."""
    if settings.database_url:
        return settings.database_url
    cluster = Cluster(settings.home, settings.pg_bindir)
    return cluster.ensure() if start else cluster.url


def make_engine(url: str) -> Engine:
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error so nothing is half-written."""
    with make_sessionmaker(engine)() as session, session.begin():
        yield session


def server_versions(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        pg = conn.execute(text("SHOW server_version")).scalar_one()
        postgis = conn.execute(text("SELECT postgis_lib_version()")).scalar_one()
    return {"postgresql": pg, "postgis": postgis}
