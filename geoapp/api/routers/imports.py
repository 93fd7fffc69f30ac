"""POST /imports: upload a project file (multipart) and get the import's report as JSON; all or nothing.

The body is capped before it is stored (``settings.max_upload_mb``, ``geoapp.api.limits``: 413); what the file may
hold is capped by the ``import_*`` settings (rows, columns, unzipped size: the report's 422).

Each import runs in a worker process (at most ``settings.import_workers`` at once, at a lower CPU priority, on
database connections of its own). Checking a million rows is CPU-bound Python: in the server's thread pool it held
the GIL and slowed every reader (items, tiles, /health) to seconds while it ran. A worker ends when the server
process is gone, so a killed server leaves no import to finish and commit behind it.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import shutil
import tempfile
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from geoapp.auth.guards import Writer
from geoapp.errors import Unavailable
from geoapp.ingest import ImportOptions
from geoapp.ingest.importer import import_in_worker, worker_started
from geoapp.ingest.readers import FORMATS, ReadLimits
from geoapp.settings import Settings

router = APIRouter(tags=["imports"])

# The server process's import workers (one pool for the process, whatever the apps in it; made at the first upload).
_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def _workers(settings: Settings) -> ProcessPoolExecutor:
    """The pool of worker processes ("spawn": clean processes, not forks of a threaded server)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(max_workers=max(1, settings.import_workers),
                                        mp_context=multiprocessing.get_context("spawn"),
                                        initializer=worker_started, initargs=(os.getpid(),))
        return _pool


def _discard(pool: ProcessPoolExecutor) -> None:
    """Forget a broken pool (a worker died): the next upload starts new workers."""
    global _pool
    with _pool_lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


async def _import(request: Request, path: Path, options: ImportOptions, name: str):
    settings = request.app.state.settings
    engine = getattr(request.app.state, "import_engine", None) or request.app.state.engine
    url = engine.url.render_as_string(hide_password=False)  # to the worker, which opens its own connections
    pool = _workers(settings)
    try:
        return await asyncio.wrap_future(pool.submit(import_in_worker, url, path, settings.layers_dir, options, name))
    except BrokenProcessPool:
        _discard(pool)
        raise Unavailable(zh="导入进程意外退出，未导入任何数据；请稍后重试",
                          en="the import worker ended unexpectedly: nothing was imported; try again later",
                          headers={"Retry-After": "5"}) from None


@router.post("/imports")
async def upload(
    request: Request,
    account: Writer,
    file: Annotated[UploadFile, File(description="xlsx / csv / geojson / gpkg / zipped shapefile")],
    crs: Annotated[Literal["wgs84", "cgcs2000", "gcj02", "bd09"] | None, Form()] = None,
    sheet: Annotated[str | None, Form()] = None,
    dry_run: Annotated[bool, Form()] = False,
    update: Annotated[bool, Form()] = False,
    lang: Annotated[Literal["zh", "en"] | None, Form()] = None,
) -> JSONResponse:
    """200 with counts when the file was imported (or would be, with dry_run); 422 with every problem otherwise.

    Editors may only add or change projects of their own divisions; rows of others are problems.
    """
    name = Path((file.filename or "upload")[:255].replace("\\", "/")).name or "upload"
    suffix = Path(name).suffix.lower()
    settings = request.app.state.settings
    with tempfile.TemporaryDirectory(prefix="geoapp-import-") as tmp:
        path = Path(tmp) / f"upload{suffix if suffix in FORMATS or suffix == '.xls' else ''}"
        with path.open("wb") as out:
            await run_in_threadpool(shutil.copyfileobj, file.file, out)
        options = ImportOptions(crs=crs, sheet=sheet or None, dry_run=dry_run, update=update,
                                actor=account.username, allowed_divisions=account.allowed_divisions,
                                source=f"导入 / import: {name} ({account.username})",
                                limits=ReadLimits.from_settings(settings))
        report = await _import(request, path, options, name)
    body = report.as_dict(lang or settings.lang)
    return JSONResponse(body, status_code=200 if report.ok else 422)
