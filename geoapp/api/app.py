"""The FastAPI application factory: engine on the app state, one router per capability, the web map."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine

from geoapp import __version__
from geoapp.api.cors import install_cors
from geoapp.api.errors import add_exception_handlers
from geoapp.api.limits import BodyLimit
from geoapp.api.openapi import install_openapi
from geoapp.api.routers import auth as auth_router
from geoapp.api.routers import features, health, stats, tiles
from geoapp.api.routers import imports as imports_router
from geoapp.api.routers import printing as printing_router
from geoapp.api.routers import projects as projects_router
from geoapp.api.routers import routes as routes_router
from geoapp.api.routers import styles as styles_router
from geoapp.api.routers import webmap as webmap_router
from geoapp.api.security import install_http_edge
from geoapp.auth.guards import install_read_guard
from geoapp.db.engine import Timeouts, make_engine
from geoapp.settings import Settings


def create_app(settings: Settings, database_url: str, engine: Engine | None = None) -> FastAPI:
    """Build the app for one database; the caller decides where the URL comes from (embedded or external)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        routes_router.start_planning(app)  # route planning's worker processes; SIGTERM ends running plans
        yield
        routes_router.stop_planning(app)  # ends running plans' worker processes (routing/worker.py)
        if owns_engine:
            app.state.engine.dispose()
        app.state.import_engine.dispose()  # the uploads' engine (db/engine.py timeouts)
        if getattr(app.state, "layers_read_engine", None) is not None:
            app.state.layers_read_engine.dispose()  # the layers API's read pool (api/routers/ogc_common.py)

    owns_engine = engine is None
    app = FastAPI(
        title="通辽市重大项目地图 API / Tongliao major-project map",
        version=__version__,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine or make_engine(database_url, Timeouts.of(settings, "api"))  # request timeouts
    # uploads (POST /imports) import through an engine of their own with the longer import timeouts
    app.state.import_engine = make_engine(app.state.engine.url, Timeouts.of(settings, "import"), pool_size=2,
                                          max_overflow=2)
    app.include_router(health.router)
    # printing before the route planner's router: /routes/{id}.gpx must not be taken for a route id
    app.include_router(printing_router.router)
    app.include_router(webmap_router.router)
    app.include_router(routes_router.router)  # after printing: /routes/{id}.gpx is printing's
    # OGC API (layers): its "/" answers JSON to clients and the web map to browsers, so it goes before the index
    app.include_router(features.router)
    app.include_router(tiles.router)
    app.include_router(stats.router)
    app.include_router(styles_router.router)  # /styles/default: a MapLibre style of the tiles (area F)
    # accounts, editing, monthly progress, uploads; reading may require a login (settings.read_requires_login)
    app.include_router(auth_router.router)
    app.include_router(projects_router.router)
    app.include_router(imports_router.router)
    install_read_guard(app)
    install_openapi(app)  # /openapi.json (and /docs) serve the one document /api serves
    app.add_middleware(BodyLimit)  # request bodies capped (413) before stored; inside the request id (limits.py)
    install_http_edge(app)  # trusted Host, Origin of cookie writes, security headers (api/security.py)
    add_exception_handlers(app)  # outermost: the request id covers the read guard's refusals too
    install_cors(app)  # CORS on reads (GEOAPP_CORS_ORIGINS), outside the guard: preflights need no login

    static = settings.static_dir
    if static.is_dir():
        app.mount("/static", StaticFiles(directory=static), name="static")

        @app.get("/", include_in_schema=False)
        def index() -> FileResponse:
            return FileResponse(static / "index.html")

    return app
