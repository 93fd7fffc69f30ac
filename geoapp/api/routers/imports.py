"""POST /imports: upload a project file (multipart) and get the import's report as JSON; all or nothing."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from geoapp.auth.guards import Writer
from geoapp.ingest import ImportOptions, import_file
from geoapp.ingest.readers import FORMATS

router = APIRouter(tags=["imports"])


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
    name = Path(file.filename or "upload").name
    suffix = Path(name).suffix.lower()
    with tempfile.TemporaryDirectory(prefix="geoapp-import-") as tmp:
        path = Path(tmp) / f"upload{suffix if suffix in FORMATS or suffix == '.xls' else ''}"
        with path.open("wb") as out:
            await run_in_threadpool(shutil.copyfileobj, file.file, out)
        options = ImportOptions(crs=crs, sheet=sheet or None, dry_run=dry_run, update=update,
                                actor=account.username, allowed_divisions=account.allowed_divisions,
                                source=f"导入 / import: {name} ({account.username})")
        settings = request.app.state.settings
        report = await run_in_threadpool(import_file, request.app.state.engine, path, settings.layers_dir, options,
                                         name)
    body = report.as_dict(lang or settings.lang)
    return JSONResponse(body, status_code=200 if report.ok else 422)
