"""What the OGC routers share: absolute links, query parameters, errors as OGC exception JSON, streamed bodies.

Failures are raised (FilterError, NotFound …) and answered by the one error path (geoapp/api/errors.py): bad
input is a 400 naming the parameter, an unknown collection or feature a 404, a database that cannot be reached a 503.
"""

from __future__ import annotations

import json
import logging
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

from geoapp.errors import NotFound
from geoapp.layers.registry import Layer, registry
from geoapp.layers.request import as_params

log = logging.getLogger(__name__)

GEOJSON = "application/geo+json"
JSON = "application/json"
OPENAPI_30 = "application/vnd.oai.openapi+json;version=3.0"
MVT = "application/vnd.mapbox-vector-tile"
T = TypeVar("T")


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


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


def json_response(body: Any, media_type: str = JSON, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(), status_code=status,
                    media_type=media_type)


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
