"""An embedded PostgreSQL + PostGIS cluster under GEOAPP_HOME.

Used when GEOAPP_DATABASE_URL is unset, by ``make run``, ``geoapp db …`` and the test fixtures alike,
so a fresh machine needs nothing but the server binaries. PostgreSQL refuses to run as root, so as
root the server runs as the ``postgres`` user in a directory that user owns.

Two roles: ``geoapp``, the superuser initdb creates, only administers (creates the database, the role and the
extensions postgis, pg_trgm and pgrouting, which need a superuser); ``geoapp_app`` owns the database, its schema
and tables and is what the server, the CLI and the migrations connect as — not a superuser, so a request that
gets SQL past the app still cannot read files, run programs or touch other databases. A cluster of an earlier
version (only the superuser in cluster.json) gets the app role and its ownership on its next start.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import make_url

from geoapp.errors import GeoappError

DB_NAME = "geoapp"
ADMIN_USER = "geoapp"  # the superuser initdb creates (earlier versions connected as it)
APP_USER = "geoapp_app"  # owns the database and its tables; LOGIN, NOSUPERUSER, NOCREATEDB, NOCREATEROLE
SERVER_USER = "postgres"
# Extensions the migrations create "IF NOT EXISTS": not trusted, so the administrator creates them beforehand.
EXTENSIONS = ("postgis", "pg_trgm", "pgrouting")


def write_secret(path: Path, text: str, owner: tuple[int, int] | None = None) -> None:
    """Write a file only its owner may read, at no moment readable by others: a new file created 0600 (O_EXCL, so
    never one somebody else prepared; O_NOFOLLOW, never through a link), filled, then renamed over ``path``."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            if owner is not None:
                os.fchown(out.fileno(), *owner)
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def find_bindir(explicit: Path | None = None) -> Path:
    """The PostgreSQL server binaries: explicit, then ``pg_config --bindir``, then the newest Debian install."""
    candidates: list[Path] = []
    if explicit:
        candidates.append(Path(explicit))
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False).stdout
        if out.strip():
            candidates.append(Path(out.strip()))
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: _version_key(p.parent.name))
    candidates.extend(reversed(debian))
    for path in candidates:
        if (path / "initdb").exists() and (path / "pg_ctl").exists():
            return path
    raise GeoappError(
        "找不到 PostgreSQL 服务器程序 / PostgreSQL server binaries not found: "
        "install them (apt-get install postgresql-15 postgresql-15-postgis-3) or set GEOAPP_PG_BINDIR"
    )


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(p) for p in name.split(".") if p.isdigit())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_in_use(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class ClusterStatus:
    running: bool
    pid: int | None
    port: int | None
    url: str | None
    data_dir: Path


class Cluster:
    """One PostgreSQL data directory with its port and password recorded beside it."""

    def __init__(self, home: Path, bindir: Path | None = None):
        self.home = Path(home).absolute()
        self.pg_root = self.home / "pg"
        self.data_dir = self.pg_root / "data"
        self.log_file = self.pg_root / "postgres.log"
        self.socket_dir = self.pg_root / "run"
        self.state_file = self.home / "cluster.json"
        self._bindir_hint = bindir
        self._bindir: Path | None = None

    # -- paths and state -------------------------------------------------------------------------
    @property
    def bindir(self) -> Path:
        if self._bindir is None:
            self._bindir = find_bindir(self._bindir_hint)
        return self._bindir

    @property
    def as_root(self) -> bool:
        return os.geteuid() == 0

    def _state(self) -> dict:
        if not self.state_file.exists():
            raise GeoappError(
                f"嵌入式数据库尚未初始化 / embedded database not initialised in {self.home}: run `geoapp db up`"
            )
        return json.loads(self.state_file.read_text())

    @property
    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists() and self.state_file.exists()

    @property
    def url(self) -> str:
        """What the app connects as: the app role, never the superuser."""
        st = self._state()
        if "app_password" not in st:
            raise GeoappError(
                zh=f"{self.home} 中的嵌入式数据库来自旧版本，尚无应用账号：请运行 `geoapp db up`"
                   "（已运行时先 `geoapp db down`）",
                en=f"the embedded database in {self.home} is of an earlier version without the app role: run "
                   "`geoapp db up` (after `geoapp db down` if it runs)")
        return f"postgresql+psycopg://{APP_USER}:{st['app_password']}@127.0.0.1:{st['port']}/{DB_NAME}"

    @property
    def admin_url(self) -> str:
        """The superuser's URL, for administration only (creating databases and extensions; the tests' scratch
        databases)."""
        st = self._state()
        return f"postgresql+psycopg://{ADMIN_USER}:{st['password']}@127.0.0.1:{st['port']}/{DB_NAME}"

    @property
    def _server_owner(self) -> tuple[int, int] | None:
        """uid and gid of the postgres user when running as root (who must own what the server reads)."""
        if not self.as_root:
            return None
        pw = pwd.getpwnam(SERVER_USER)
        return pw.pw_uid, pw.pw_gid

    def _run(self, args: list[str], **kw) -> subprocess.CompletedProcess:
        cmd = [str(a) for a in args]
        if self.as_root:
            cmd = ["runuser", "-u", SERVER_USER, "--", *cmd]
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        return subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, **kw)

    # -- checks ----------------------------------------------------------------------------------
    def _check_postgis(self) -> None:
        pg_config = self.bindir / "pg_config"
        share = ""
        if pg_config.exists():
            share = subprocess.run([str(pg_config), "--sharedir"], capture_output=True, text=True,
                                   check=False).stdout.strip()
        if not share:  # Debian's server bindir has no pg_config of its own
            share = f"/usr/share/postgresql/{self.bindir.parent.name}"
        if not (Path(share) / "extension" / "postgis.control").exists():
            version = self.bindir.parent.name
            raise GeoappError(
                f"PostgreSQL {version} 缺少 PostGIS / PostGIS is not installed for PostgreSQL {version}: "
                f"apt-get install postgresql-{version}-postgis-3"
            )

    def _prepare_dirs(self) -> None:
        self.pg_root.mkdir(parents=True, exist_ok=True)
        self.pg_root.chmod(0o700)  # the log, the socket and (briefly) initdb's password file: the server's only
        self.home.chmod(self.home.stat().st_mode | 0o711)
        if not self.as_root:
            return
        try:
            pw = pwd.getpwnam(SERVER_USER)
        except KeyError as exc:
            raise GeoappError(
                "以 root 运行需要 postgres 用户 / running as root needs the 'postgres' user: "
                "apt-get install postgresql-common, or run geoapp as an ordinary user"
            ) from exc
        for path in (self.pg_root, *self.pg_root.rglob("*")):
            os.chown(path, pw.pw_uid, pw.pw_gid)
        if self._run(["test", "-w", self.pg_root]).returncode != 0:
            raise GeoappError(
                f"postgres 用户无法访问 {self.home} / the postgres user cannot reach {self.home} "
                "(a parent directory is private): set GEOAPP_HOME to a directory such as /var/lib/geoapp"
            )

    # -- lifecycle -------------------------------------------------------------------------------
    def init(self) -> None:
        """Create the data directory, a password and a port, once."""
        if self.initialised:
            return
        self._check_postgis()
        self._prepare_dirs()
        password = secrets.token_urlsafe(18)
        pwfile = self.pg_root / "pwfile"
        write_secret(pwfile, password + "\n", owner=self._server_owner)  # initdb runs as postgres and reads it
        try:
            res = self._run([
                self.bindir / "initdb", "-D", self.data_dir, "-U", ADMIN_USER, "--pwfile", pwfile,
                "-A", "scram-sha-256", "-E", "UTF8", "--locale", "C",
            ])
        finally:
            pwfile.unlink(missing_ok=True)
        if res.returncode != 0:
            raise GeoappError(f"initdb 失败 / initdb failed: {res.stderr.strip().splitlines()[-1:]}")
        self._write_state({"port": _free_port(), "password": password, "app_password": secrets.token_urlsafe(18)})

    def _write_state(self, state: dict) -> None:
        write_secret(self.state_file, json.dumps(state))

    def _pid_from_file(self) -> int | None:
        pidfile = self.data_dir / "postmaster.pid"
        if not pidfile.exists():
            return None
        first = pidfile.read_text().splitlines()[:1]
        return int(first[0]) if first and first[0].strip().isdigit() else None

    def status(self) -> ClusterStatus:
        pid = self._pid_from_file()
        running = pid is not None and _pid_alive(pid)
        port = url = None
        if self.state_file.exists():
            state = self._state()
            port = state["port"]
            url = self.url if "app_password" in state else None
        return ClusterStatus(running=running, pid=pid if running else None, port=port, url=url,
                             data_dir=self.data_dir)

    def start(self) -> str:
        """Start the server; a second start, a stale pid file or a busy port is an error saying what to do."""
        self.init()
        self._check_postgis()
        pid = self._pid_from_file()
        port = self._state()["port"]
        if pid is not None and _pid_alive(pid):
            raise GeoappError(
                f"数据库已在运行 / the database is already running (pid {pid}, port {port}): "
                "use it as it is, or `geoapp db down` first"
            )
        if pid is not None:
            raise GeoappError(
                f"发现过期的 pid 文件 / stale pid file {self.data_dir / 'postmaster.pid'} (pid {pid} is not running): "
                "delete that file, then run `geoapp db up` again"
            )
        if _port_in_use(port):
            raise GeoappError(
                f"端口 {port} 已被占用 / port {port} is in use by another program: stop it, "
                f"or choose another port with `geoapp db up --port N`"
            )
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self._prepare_dirs()
        opts = f"-p {port} -c listen_addresses=127.0.0.1 -k {self.socket_dir}"
        res = self._run([self.bindir / "pg_ctl", "-D", self.data_dir, "-l", self.log_file, "-o", opts,
                         "-w", "-t", "60", "start"])
        if res.returncode != 0:
            tail = self.log_file.read_text(errors="replace").strip().splitlines()[-1:] if self.log_file.exists() else []
            raise GeoappError(f"数据库启动失败 / the database did not start: {' '.join(tail) or res.stderr.strip()}")
        self._provision(port)
        return self.url

    def set_port(self, port: int) -> None:
        state = self._state()
        state["port"] = port
        self._write_state(state)

    def _admin_dsn(self, port: int, dbname: str) -> str:
        return make_conninfo(host="127.0.0.1", port=port, user=ADMIN_USER, password=self._state()["password"],
                             dbname=dbname)

    def _provision(self, port: int) -> None:
        """The app role, the database it owns and the extensions in it (idempotent; upgrades earlier clusters)."""
        state = self._state()
        if "app_password" not in state:  # a cluster of an earlier version: only the superuser so far
            state["app_password"] = secrets.token_urlsafe(18)
        self._write_state(state)  # also makes the file 0600 again, whatever an earlier version left it as
        for _ in range(50):
            try:
                with psycopg.connect(self._admin_dsn(port, "postgres"), autocommit=True) as conn:
                    ensure_app_role(conn, APP_USER, state["app_password"])
                    ensure_database(conn, DB_NAME, APP_USER)
                break
            except psycopg.OperationalError:
                time.sleep(0.1)
        else:
            raise GeoappError(f"无法连接刚启动的数据库 / cannot connect to the started database on port {port}")
        with psycopg.connect(self._admin_dsn(port, DB_NAME), autocommit=True) as conn:
            prepare_schema(conn, APP_USER)

    def stop(self) -> bool:
        """Stop the server if it runs; True when it was running."""
        if not self.status().running:
            return False
        res = self._run([self.bindir / "pg_ctl", "-D", self.data_dir, "-m", "fast", "-w", "stop"])
        if res.returncode != 0:
            raise GeoappError(f"数据库停止失败 / the database did not stop: {res.stderr.strip()}")
        return True

    def ensure(self) -> str:
        """Start the server unless it already runs; the URL either way (and the app role, if still missing)."""
        if self.initialised and self.status().running:
            if "app_password" not in self._state():  # an earlier version's cluster, left running over the upgrade
                self._provision(self._state()["port"])
            return self.url
        return self.start()


# -- administration, as the superuser: shared by the cluster and the tests' scratch databases --------------------

def ensure_app_role(conn: psycopg.Connection, role: str, password: str) -> None:
    """A login role that is no superuser and may create neither roles nor databases, with this password."""
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    verb = sql.SQL("ALTER ROLE" if exists else "CREATE ROLE")
    conn.execute(sql.SQL("{} {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD {}")
                 .format(verb, sql.Identifier(role), sql.Literal(password)))


def ensure_database(conn: psycopg.Connection, name: str, owner: str) -> None:
    """The database, owned by ``owner`` (so its public schema is too, PostgreSQL 15+'s pg_database_owner)."""
    row = conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (name,)).fetchone()
    if row is None:
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(owner)))
    elif row[0] != owner:
        conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(name), sql.Identifier(owner)))


# Every table, view, sequence (not one a table owns: it follows its table), function and type of schema public
# that is no extension's, with the ALTER that gives it to another owner.
_NOT_OWNED = """
SELECT format('ALTER %%s %%s OWNER TO %%I',
              CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                             WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END, c.oid::regclass, %(owner)s::text)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND c.relowner <> %(owner)s::regrole
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                  AND (d.deptype = 'e' OR (c.relkind = 'S' AND d.deptype IN ('a', 'i'))))
UNION ALL
SELECT format('ALTER ROUTINE %%s OWNER TO %%I', p.oid::regprocedure, %(owner)s::text)
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'public' AND p.proowner <> %(owner)s::regrole
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                  AND d.deptype = 'e')
UNION ALL
SELECT format('ALTER TYPE %%s OWNER TO %%I', t.oid::regtype, %(owner)s::text)
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'r', 'm') AND t.typowner <> %(owner)s::regrole
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid
                  AND d.deptype = 'e')
"""


def prepare_database(admin_url: str, name: str, owner: str) -> None:
    """As the administrator of ``admin_url`` (a SQLAlchemy URL): database ``name`` owned by ``owner`` with the
    extensions the migrations need — what the embedded cluster does for its own database, and the tests for their
    scratch databases."""
    url = make_url(admin_url)
    dsn = {"host": url.host, "port": url.port, "user": url.username, "password": url.password}
    with psycopg.connect(make_conninfo(**dsn, dbname="postgres"), autocommit=True) as conn:
        ensure_database(conn, name, owner)
    with psycopg.connect(make_conninfo(**dsn, dbname=name), autocommit=True) as conn:
        prepare_schema(conn, owner)


def prepare_schema(conn: psycopg.Connection, owner: str) -> None:
    """In the connected database: the extensions the migrations need, schema public usable by ``owner``, and
    every object of the app given to ``owner`` (those an earlier version's migrations made as the superuser)."""
    for extension in EXTENSIONS:
        conn.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(extension)))
    conn.execute(sql.SQL("GRANT ALL ON SCHEMA public TO {}").format(sql.Identifier(owner)))
    for (statement,) in conn.execute(_NOT_OWNED, {"owner": owner}).fetchall():
        conn.execute(statement)
