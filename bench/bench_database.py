"""The database a bench runs on: GEOAPP_BENCH_DATABASE_URL, or a throw-away embedded cluster under /tmp."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from geoapp.db.cluster import Cluster


class BenchDatabase:
    """``url`` to run on; ``close()`` stops and removes the throw-away cluster (an external database is left alone).

    The cluster lives under /tmp with mode 0755 because PostgreSQL runs as the postgres user when the bench runs as
    root, and that user must reach its data directory.
    """

    def __init__(self, prefix: str) -> None:
        self.cluster: Cluster | None = None
        self.home: Path | None = None
        url = os.environ.get("GEOAPP_BENCH_DATABASE_URL")
        if not url:
            self.home = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
            self.home.chmod(0o755)
            self.cluster = Cluster(self.home)
            url = self.cluster.start()
        self.url = url

    def close(self) -> None:
        if self.cluster is not None:
            self.cluster.stop()
            shutil.rmtree(self.home, ignore_errors=True)
            self.cluster = None
