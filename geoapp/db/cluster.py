"""An embedded PostgreSQL + PostGIS cluster under GEOAPP_HOME.

Used when GEOAPP_DATABASE_URL is unset, by ``make run``, ``geoapp db …`` and the test fixtures alike,
so a fresh machine needs nothing but the server binaries. PostgreSQL refuses to run as root, so as
root the server runs as the ``postgres`` user in a directory that user owns.
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

from geoapp.errors import GeoappError

DB_NAME = "geoapp"
DB_USER = "geoapp"
SERVER_USER = "postgres"


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
        st = self._state()
        return f"postgresql+psycopg://{DB_USER}:{st['password']}@127.0.0.1:{st['port']}/{DB_NAME}"

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
        pwfile.write_text(password + "\n")
        if self.as_root:
            pw = pwd.getpwnam(SERVER_USER)
            os.chown(pwfile, pw.pw_uid, pw.pw_gid)
        pwfile.chmod(0o600)
        try:
            res = self._run([
                self.bindir / "initdb", "-D", self.data_dir, "-U", DB_USER, "--pwfile", pwfile,
                "-A", "scram-sha-256", "-E", "UTF8", "--locale", "C",
            ])
        finally:
            pwfile.unlink(missing_ok=True)
        if res.returncode != 0:
            raise GeoappError(f"initdb 失败 / initdb failed: {res.stderr.strip().splitlines()[-1:]}")
        self.state_file.write_text(json.dumps({"port": _free_port(), "password": password}))
        self.state_file.chmod(0o600)

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
            port = self._state()["port"]
            url = self.url
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
        self._create_database(port)
        return self.url

    def set_port(self, port: int) -> None:
        state = self._state()
        state["port"] = port
        self.state_file.write_text(json.dumps(state))

    def _create_database(self, port: int) -> None:
        password = self._state()["password"]
        dsn = f"host=127.0.0.1 port={port} user={DB_USER} password={password} dbname=postgres"
        for _ in range(50):
            try:
                with psycopg.connect(dsn, autocommit=True) as conn:
                    if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone():
                        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
                return
            except psycopg.OperationalError:
                time.sleep(0.1)
        raise GeoappError(f"无法连接刚启动的数据库 / cannot connect to the started database on port {port}")

    def stop(self) -> bool:
        """Stop the server if it runs; True when it was running."""
        if not self.status().running:
            return False
        res = self._run([self.bindir / "pg_ctl", "-D", self.data_dir, "-m", "fast", "-w", "stop"])
        if res.returncode != 0:
            raise GeoappError(f"数据库停止失败 / the database did not stop: {res.stderr.strip()}")
        return True

    def ensure(self) -> str:
        """Start the server unless it already runs; the URL either way."""
        if self.initialised and self.status().running:
            return self.url
        return self.start()
