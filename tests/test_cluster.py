import os
import pwd
import shutil
import socket
import subprocess

import psycopg
import pytest

from geoapp.db.cluster import Cluster, find_bindir
from geoapp.errors import GeoappError
from tests.conftest import new_home


@pytest.fixture
def home():
    path = new_home("geoapp-cluster-")
    yield path
    Cluster(path).stop() if (path / "cluster.json").exists() else None
    shutil.rmtree(path, ignore_errors=True)


def test_the_embedded_cluster_starts_reports_and_stops(home):
    cluster = Cluster(home)
    url = cluster.start()
    status = cluster.status()
    assert status.running and status.pid and status.url == url

    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        assert conn.execute("SELECT inet_server_addr()::text").fetchone()[0].startswith("127.0.0.1")
    if os.geteuid() == 0:  # as root the server runs as the postgres user
        owner = subprocess.run(["ps", "-o", "user=", "-p", str(status.pid)], capture_output=True, text=True)
        assert owner.stdout.strip() == "postgres"
        assert pwd.getpwuid((home / "pg" / "data").stat().st_uid).pw_name == "postgres"

    with pytest.raises(GeoappError, match="already running"):
        cluster.start()
    assert cluster.ensure() == url

    assert cluster.stop() is True
    assert not cluster.status().running
    assert cluster.stop() is False


def test_a_stale_pid_file_is_reported_with_what_to_do(home):
    cluster = Cluster(home)
    cluster.init()
    dead = subprocess.Popen(["true"])
    dead.wait()
    (cluster.data_dir / "postmaster.pid").write_text(f"{dead.pid}\n")
    with pytest.raises(GeoappError, match="stale pid file") as err:
        cluster.start()
    assert "delete that file" in str(err.value) and "\n" not in str(err.value)


def test_a_port_in_use_is_reported_with_what_to_do(home):
    cluster = Cluster(home)
    cluster.init()
    port = cluster.status().port
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()
        with pytest.raises(GeoappError, match=f"port {port} is in use") as err:
            cluster.start()
    assert "--port" in str(err.value)


def test_a_server_without_postgis_is_reported_with_the_package_to_install(home, tmp_path):
    fake = tmp_path / "99" / "bin"
    fake.mkdir(parents=True)
    real = find_bindir()
    for tool in ("initdb", "pg_ctl", "postgres"):
        (fake / tool).symlink_to(real / tool)
    with pytest.raises(GeoappError, match="postgresql-99-postgis-3"):
        Cluster(home, bindir=fake).start()
