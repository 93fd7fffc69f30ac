"""The one way to reach the database: an external GEOAPP_DATABASE_URL or the embedded cluster.

Each engine carries PostgreSQL's ``statement_timeout`` and ``lock_timeout`` for the kind of work it does (an API
request, an upload's import, the command line) in its URL's ``options``, so every connection it opens — and every
engine derived from its URL, such as the layers API's read pool — has them from the first statement, with no
round trip per checkout. A request stuck behind a lock or on a runaway query is cancelled and answered 503.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import URL, Engine, create_engine, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from geoapp.db.cluster import Cluster
from geoapp.settings import Settings


def database_url(settings: Settings, start: bool = True) -> str:
    """The URL to use; starts the embedded cluster when no external URL is configured."""
    if settings.database_url:
        return settings.database_url
    cluster = Cluster(settings.home, settings.pg_bindir)
    return cluster.ensure() if start else cluster.url


Kind = Literal["api", "import", "cli"]


@dataclass(frozen=True)
class Timeouts:
    """``statement_timeout`` and ``lock_timeout`` in milliseconds (0 = none) of every connection of an engine."""

    statement_ms: int
    lock_ms: int

    @classmethod
    def of(cls, settings: Settings, kind: Kind) -> Timeouts:
        """The settings' timeouts for an API request, an upload's import or the command line."""
        prefix = {"api": "", "import": "import_", "cli": "cli_"}[kind]
        return cls(getattr(settings, f"{prefix}statement_timeout_ms"), getattr(settings, f"{prefix}lock_timeout_ms"))


_OUR_OPTIONS = re.compile(r"\s*(?:-c\s*|--)(?:statement_timeout|lock_timeout)=\S*")


def with_timeouts(url: str | URL, timeouts: Timeouts) -> URL:
    """``url`` whose connections start with these timeouts (replacing any the URL set; other options stay)."""
    url = make_url(url)
    given = url.query.get("options", "")
    kept = _OUR_OPTIONS.sub("", given if isinstance(given, str) else " ".join(given)).strip()
    ours = f"-c statement_timeout={int(timeouts.statement_ms)} -c lock_timeout={int(timeouts.lock_ms)}"
    return url.update_query_dict({"options": f"{kept} {ours}".strip()})


def make_engine(url: str | URL, timeouts: Timeouts | None = None, **pool: Any) -> Engine:
    """An engine with a pre-pinged pool (a restarted database costs no failed request); with ``timeouts`` every
    connection carries them. ``pool`` overrides the pool's size (``pool_size``, ``max_overflow``)."""
    if timeouts is not None:
        url = with_timeouts(url, timeouts)
    return create_engine(url, **{"pool_pre_ping": True, "pool_size": 5, "max_overflow": 10, **pool})


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
