"""What the OGC routers share: absolute links, query parameters, errors as OGC exception JSON, streamed bodies.

Failures are raised (FilterError, NotFound …) and answered by the one error path (geoapp/api/errors.py): bad
input is a 400 naming the parameter, an unknown collection or feature a 404, a database that cannot be reached a 503.
"""

from __future__ import annotations

import json
import logging
import re
import weakref
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.exc import DBAPIError
from starlette.datastructures import URL

from geoapp.api.security import host_trusted, split_host, trusted_host_names
from geoapp.errors import NotFound
from geoapp.layers.registry import Layer, registry
from geoapp.layers.request import as_params

log = logging.getLogger(__name__)

GEOJSON = "application/geo+json"
JSON = "application/json"
OPENAPI_30 = "application/vnd.oai.openapi+json;version=3.0"
MVT = "application/vnd.mapbox-vector-tile"
T = TypeVar("T")


_HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$")


def _forwarded(request: Request) -> tuple[str | None, str | None]:
    """(proto, host) a reverse proxy says the client used: RFC 7239 ``Forwarded`` first, else ``X-Forwarded-Proto``
    and ``X-Forwarded-Host`` (the first hop of each). A value that is not a plain scheme or host[:port] is ignored,
    so nothing odd is ever written into a link."""
    proto = host = None
    forwarded = request.headers.get("forwarded")
    if forwarded:
        for pair in forwarded.split(",")[0].split(";"):
            key, _, value = pair.strip().partition("=")
            value = value.strip().strip('"')
            if key.lower() == "proto":
                proto = value
            elif key.lower() == "host":
                host = value
    proto = proto or (request.headers.get("x-forwarded-proto") or "").split(",")[0].strip() or None
    host = host or (request.headers.get("x-forwarded-host") or "").split(",")[0].strip() or None
    if proto is not None and proto.lower() not in ("http", "https"):
        proto = None
    if host is not None and (not _HOST.match(host) or not _trusted(request, host)):
        host = None
    return (proto.lower() if proto else None), host


def _trusted(request: Request, host: str) -> bool:
    """A forwarded host must be a trusted host name (``GEOAPP_TRUSTED_HOSTS``, the list api/security.py checks the
    Host header against), so a client cannot put another site's name into our links."""
    parsed = split_host(host)
    return parsed is not None and host_trusted(parsed[0], trusted_host_names(request.app.state.settings))


def public_url(request: Request) -> URL:
    """The request's URL as the client sees it, behind a reverse proxy too (what links must point at)."""
    proto, host = _forwarded(request)
    url = request.url
    if proto:
        url = url.replace(scheme=proto)
    if host:
        url = url.replace(netloc=host)
    return url


def base_url(request: Request) -> str:
    """The application's root as the client sees it (``X-Forwarded-Host``/``-Proto`` and ``Forwarded`` honoured)."""
    root = str(request.base_url).rstrip("/")
    proto, host = _forwarded(request)
    if not proto and not host:
        return root
    url = URL(root)
    if proto:
        url = url.replace(scheme=proto)
    if host:
        url = url.replace(netloc=host)
    return str(url).rstrip("/")


def link_header(links: list[dict]) -> str:
    """The JSON links as an RFC 8288 ``Link`` header, for clients that read headers (rel and type only: some
    parsers split on every comma and equals sign, so titles stay in the body)."""
    rels = ("self", "alternate", "next", "prev", "collection", "describedby",
            "http://www.opengis.net/def/rel/ogc/1.0/queryables")
    return ", ".join(f'<{link["href"]}>; rel="{link["rel"]}"; type="{link["type"]}"' for link in links
                     if link.get("rel") in rels and link.get("type"))


def params_of(request: Request) -> dict[str, list[str]]:
    return as_params(request.query_params.multi_items())


def engine_of(request: Request) -> Engine:
    return request.app.state.engine


READ_POOL_SIZE = 10  # connections kept open for reads: more than a single worker runs queries at once
READ_POOL_OVERFLOW = 20


def read_engine_of(request: Request) -> Engine:
    """The layers API's engine for reads: autocommit (one read is one round trip, no BEGIN/ROLLBACK), its own pool.

    The pool keeps ``READ_POOL_SIZE`` connections open, so concurrent requests do not open and close overflow
    connections (a new PostgreSQL backend per request costs more than the query), and it skips the pre-ping round
    trip: :func:`read` retries once on a fresh connection when a pooled one turns out to be dead. Streamed exports
    keep the app's transactional engine (server-side cursors need a transaction).
    """
    state = request.app.state
    cached = getattr(state, "layers_read_engine", None)
    if cached is None or getattr(state, "layers_read_engine_of", None) is not state.engine:
        if cached is not None:
            cached.dispose()
        cached = create_engine(state.engine.url, pool_size=READ_POOL_SIZE, max_overflow=READ_POOL_OVERFLOW,
                               pool_pre_ping=False, isolation_level="AUTOCOMMIT")
        weakref.finalize(request.app, cached.dispose)  # apps that never run their lifespan (tests) still close it
        state.layers_read_engine, state.layers_read_engine_of = cached, state.engine
    return cached


def read(request: Request, work: Callable[[Connection], T]) -> T:
    """Run ``work`` on a read connection; once more on a new connection if the pooled one was dead (e.g. after a
    database restart), which is what a pre-ping would have caught. Reads only: running them twice is harmless."""
    engine = read_engine_of(request)
    try:
        with engine.connect() as conn:
            return work(conn)
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    with engine.connect() as conn:
        return work(conn)


def layers_dir_of(request: Request) -> Path:
    return Path(request.app.state.settings.layers_dir)


def layer_of(request: Request, collection_id: str) -> Layer:
    layers = registry(layers_dir_of(request))
    if collection_id not in layers:
        raise NotFound(f"没有集合 '{collection_id}' / no collection '{collection_id}' "
                       f"(collections: {', '.join(layers)})")
    return layers[collection_id]


def json_response(body: Any, media_type: str = JSON, status: int = 200,
                  headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(), status_code=status,
                    media_type=media_type, headers=headers)


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def stream(engine: Engine, make_chunks: Callable[[Connection], Iterator[bytes]], media_type: str,
           filename: str | None = None) -> StreamingResponse:
    """Stream chunks produced over one connection; the first chunk is produced before answering, so a failure
    there (e.g. an XLSX that would be too large) is still a clean 400, not a broken 200."""
    conn = engine.connect()
    try:
        chunks = make_chunks(conn)
        first = next(chunks, b"")
    except BaseException:
        conn.close()
        raise

    def body() -> Iterator[bytes]:
        try:
            yield from chain([first], chunks)
        finally:
            conn.close()

    headers = {"Content-Disposition": f'attachment; filename="{filename}"'} if filename else None
    return StreamingResponse(body(), media_type=media_type, headers=headers)
