"""Attacks through POST /imports (hardening issue, items 1, 6 and 14): each one succeeded before the fix.

An editor's upload went to GDAL with every driver loaded, so a file could make the server read its own files or
fetch URLs, and the import report echoed what was read; uploads had no size limit, a zip no unpacked limit and an
XLSX's declared dimension was trusted.
"""

from __future__ import annotations

import http.server
import io
import json
import os
import sqlite3
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import openpyxl
import pytest
import shapely
from fastapi.testclient import TestClient
from pyogrio.raw import write as write_layer

from geoapp.api.app import create_app
from tests.test_ingest import HORQIN, row, write_xlsx

MiB = 1024 * 1024


@pytest.fixture
def secret(tmp_path: Path) -> tuple[Path, str]:
    """A server-side file with a token no answer may ever contain (a stand-in for cluster.json's password)."""
    token = f"geoapp-secret-{uuid.uuid4().hex}"
    path = tmp_path / "secret.csv"
    path.write_text(f"{token},x\n{token}-second-line,y\n", encoding="utf-8")
    return path, token


def upload(client: TestClient, headers: dict, name: str, content: bytes, **form: str):
    return client.post("/imports", files={"file": (name, content)}, data={"dry_run": "true", **form},
                       headers=headers)


def refused_without_echo(answer, *secrets: str) -> dict:
    """The answer is the import's 422 and quotes nothing of what the file pointed at."""
    assert answer.status_code == 422, answer.text
    assert all(s not in answer.text for s in secrets)
    report = answer.json()
    assert report["ok"] is False and report["written"] is False
    return report


def vrt(source: str, layer: str) -> bytes:
    return (f"<OGRVRTDataSource><OGRVRTLayer name=\"projects\"><SrcDataSource>{source}</SrcDataSource>"
            f"<SrcLayer>{layer}</SrcLayer></OGRVRTLayer></OGRVRTDataSource>").encode()


def test_a_geojson_that_is_really_a_vrt_cannot_read_server_files(client, demo_db, accounts, secret):
    path, token = secret
    for name, content in (("projects.geojson", vrt(f"CSV:{path}", "secret")),
                          ("projects.json", b"  \n" + vrt(f"CSV:{path}", "secret")),
                          ("hostname.geojson", vrt("CSV:/etc/hostname", "hostname"))):
        report = refused_without_echo(upload(client, accounts["editor"], name, content), token)
        [problem] = report["problems"]
        assert problem["value"] == name and "GeoJSON" in problem["reason_en"]
    hostname = Path("/etc/hostname").read_text().strip()
    answer = upload(client, accounts["admin"], "h.geojson", vrt("CSV:/etc/hostname", "hostname"))
    refused_without_echo(answer, *([hostname] if len(hostname) >= 6 else []))

    # A JSON file that passes the first look (it mentions "Feature") but is a GDAL streamed algorithm: the GDALG
    # driver that would run it is not loaded, and the GeoJSON driver does not take it.
    gdalg = json.dumps({"type": "gdal_streamed_alg", "note": "Feature",
                        "command_line": f"gdal vector pipeline ! read CSV:{path} ! write --of stream streamed"})
    refused_without_echo(upload(client, accounts["editor"], "alg.geojson", gdalg.encode()), token)
    import pyogrio

    assert set(pyogrio.list_drivers()) == {"GeoJSON", "GPKG", "ESRI Shapefile"}


@pytest.fixture
def http_server() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server that records every request (the URLs an upload might make the server fetch)."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            hits.append(self.path)
            body = b'{"type": "FeatureCollection", "features": []}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_HEAD = do_GET  # noqa: N815

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    thread.join(5)


def test_an_upload_cannot_make_the_server_fetch_a_url(client, demo_db, accounts, http_server):
    base, hits = http_server
    for name, content in (("p.geojson", vrt(f"/vsicurl/{base}/p.geojson", "p")),
                          ("p.geojson", vrt(f"GeoJSON:{base}/q.geojson", "q")),
                          ("p.gpkg", vrt(f"/vsicurl/{base}/r.csv", "r"))):
        refused_without_echo(upload(client, accounts["editor"], name, content))
    # And GDAL in this process is cut off from the network, whatever asks it to fetch.
    import pyogrio

    for source in (f"/vsicurl/{base}/a.geojson", f"GeoJSON:{base}/b.geojson", f"{base}/c.geojson"):
        with pytest.raises(Exception):  # noqa: B017 (GDAL's errors vary by driver; what matters is no request)
            pyogrio.read_info(source)
    assert hits == []


def test_a_gpkg_that_is_really_another_database_or_file_is_refused(client, demo_db, accounts, secret, tmp_path):
    path, token = secret
    plain = tmp_path / "plain.sqlite"  # SQLite, not GeoPackage (no application_id): refused before GDAL opens it
    with sqlite3.connect(plain) as db:
        db.execute("CREATE TABLE projects (项目编号 text, 项目名称 text)")
        db.execute("INSERT INTO projects VALUES (?, ?)", (token, token))
    for content in (plain.read_bytes(), vrt(f"CSV:{path}", "secret"), path.read_bytes()):
        report = refused_without_echo(upload(client, accounts["editor"], "projects.gpkg", content), token)
        assert "GeoPackage" in report["problems"][0]["reason_en"]
    shp = refused_without_echo(upload(client, accounts["editor"], "projects.shp", vrt(f"CSV:{path}", "s")), token)
    assert "Shapefile" in shp["problems"][0]["reason_en"]


def shapefile_parts(tmp_path: Path, point: tuple[float, float]) -> dict[str, bytes]:
    """The parts of a real one-point shapefile of a valid project row."""
    folder = tmp_path / "shp"
    folder.mkdir(exist_ok=True)
    fields = {"code": "SZ-1", "name": "压缩包项目（测试）", "division": "150502", "sector": "tourism",
              "tier": "reserve", "status": "preliminary"}
    write_layer(folder / "p.shp", shapely.to_wkb(np.array([shapely.Point(*point)])),
                [np.array([v], dtype=object) for v in fields.values()], fields=list(fields), geometry_type="Point",
                crs="EPSG:4326", driver="ESRI Shapefile", encoding="UTF-8")
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def test_a_zip_holds_only_the_parts_of_one_shapefile_with_plain_names(client, demo_db, accounts, inner_points,
                                                                      secret, tmp_path):
    path, token = secret
    parts = shapefile_parts(tmp_path, inner_points[HORQIN])
    good = upload(client, accounts["editor"], "p.zip", zipped(parts))
    assert good.status_code == 200 and good.json()["counts"]["added"] == 1, good.text
    in_folder = upload(client, accounts["editor"], "p.zip", zipped({f"项目/{n}": d for n, d in parts.items()}))
    assert in_folder.status_code == 200, in_folder.text

    attacks = {
        "traversal": {**{n: d for n, d in parts.items() if n != "p.shp"}, "../p.shp": parts["p.shp"]},
        "absolute": {f"/tmp/{n}": d for n, d in parts.items()},
        "extra vrt": {**parts, "evil.vrt": vrt(f"CSV:{path}", "secret")},
        "only a vrt": {"p.vrt": vrt(f"CSV:{path}", "secret")},  # GDAL's /vsizip/ opened a lone member as a VRT
        "a geojson": {"p.geojson": b'{"type": "FeatureCollection", "features": []}'},
    }
    for what, members in attacks.items():
        report = refused_without_echo(upload(client, accounts["editor"], "p.zip", zipped(members)), token)
        assert report["problems"][0]["field"] == "file", what

    link = zipfile.ZipInfo("p.dbf")
    link.external_attr = (0o120777 << 16)  # a symbolic link to a server file
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name in ("p.shp", "p.shx"):
            zf.writestr(name, parts[name])
        zf.writestr(link, str(path))
    refused_without_echo(upload(client, accounts["editor"], "p.zip", buffer.getvalue()), token)


def bomb(name: str, mib: int) -> bytes:
    """A zip whose one member unpacks from a few hundred KB to ``mib`` MiB of zeros."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf, zf.open(name, "w", force_zip64=True) as out:
        chunk = bytes(MiB)
        for _ in range(mib):
            out.write(chunk)
    return buffer.getvalue()


def test_a_zip_bomb_is_refused_before_it_is_unpacked(client, demo_db, accounts):
    for name, member in (("p.zip", "p.shp"), ("book.xlsx", "xl/worksheets/sheet1.xml")):
        content = bomb(member, 64)
        assert len(content) < MiB
        started = time.monotonic()
        report = refused_without_echo(upload(client, accounts["editor"], name, content))
        assert time.monotonic() - started < 10  # sanity bound: nothing was unpacked
        [problem] = report["problems"]
        assert problem["field"] == "import_max_zip_ratio" and "GEOAPP_IMPORT_MAX_ZIP_RATIO" in problem["reason"]


def import_temp_dirs() -> set[str]:
    return {p for p in os.listdir(tempfile.gettempdir()) if p.startswith(("geoapp-import-", "geoapp-shp-"))}


def test_an_upload_over_the_cap_is_refused_413_before_it_is_stored(client, settings, demo_db, accounts):
    assert settings.max_upload_mb < 80
    before = import_temp_dirs()
    started = time.monotonic()
    answer = client.post("/imports", files={"file": ("big.csv", bytes(80 * MiB))}, headers=accounts["editor"])
    assert answer.status_code == 413
    assert time.monotonic() - started < 20  # sanity bound (the test client itself builds the 80 MB body)
    body = answer.json()
    assert body["code"] == "PayloadTooLarge" and body["parameter"] == "file" and body["request_id"]
    assert f"{settings.max_upload_mb} MiB" in body["zh"] and "GEOAPP_MAX_UPLOAD_MB" in body["en"]
    assert import_temp_dirs() == before

    # A body that does not say its length (chunked) is counted as it streams and cut off at the cap.
    def stream() -> Iterator[bytes]:
        yield b'--x\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\n'
        for _ in range(settings.max_upload_mb + 2):
            yield bytes(MiB)

    chunked = client.post("/imports", content=stream(), headers={
        **accounts["editor"], "Content-Type": "multipart/form-data; boundary=x"})
    assert chunked.status_code == 413 and chunked.json()["parameter"] == "file"
    assert import_temp_dirs() == before

    # Every other request has the small JSON cap.
    big_json = client.post("/projects", content=b'{"name": "' + b"x" * (settings.max_json_kb * 1024) + b'"}',
                           headers={**accounts["editor"], "Content-Type": "application/json"})
    assert big_json.status_code == 413 and big_json.json()["parameter"] == "body"
    assert "GEOAPP_MAX_JSON_KB" in big_json.json()["en"]
    assert client.get("/health").status_code == 200


def test_a_large_file_of_random_bytes_named_xlsx_is_a_clear_422(client, demo_db, accounts):
    noise = os.urandom(50 * MiB)
    for content in (noise, b"PK\x03\x04" + noise[4:]):  # not a zip at all; a zip's first bytes, then noise
        report = refused_without_echo(upload(client, accounts["editor"], "清单.xlsx", content))
        [problem] = report["problems"]
        assert problem["value"] == "清单.xlsx" and "Excel" in problem["reason_en"]


def with_dimension(path: Path, ref: str) -> bytes:
    """The XLSX at ``path`` with its first sheet's declared dimension replaced by ``ref``."""
    source = zipfile.ZipFile(path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                start = data.index(b"<dimension ref=\"")
                end = data.index(b"\"", start + 16)
                data = data[:start + 16] + ref.encode() + data[end:]
            out.writestr(info, data)
    return buffer.getvalue()


def test_an_xlsx_declaring_the_whole_sheet_is_answered_at_once(client, demo_db, accounts, inner_points, tmp_path):
    empty = tmp_path / "empty.xlsx"
    openpyxl.Workbook().save(empty)
    started = time.thread_time()
    report = refused_without_echo(upload(client, accounts["editor"], "空表.xlsx",
                                         with_dimension(empty, "A1:XFD1048576")))
    assert "表头" in report["problems"][0]["reason"]
    # The file that spun: a header row and one cell at A1048576, under the whole-sheet dimension. openpyxl padded
    # each of the million rows between to 16,384 cells (over 20 s of CPU before the import saw a row).
    far = openpyxl.Workbook()
    far.active.append(["项目编号", "项目名称", "旗县市区"])
    far.active["A1048576"] = "x"
    far.save(tmp_path / "far.xlsx")
    spun = refused_without_echo(upload(client, accounts["editor"], "远端.xlsx",
                                       with_dimension(tmp_path / "far.xlsx", "A1:XFD1048576")))
    assert any("缺少必需的列" in p["reason"] for p in spun["problems"])
    sheet = write_xlsx(tmp_path / "real.xlsx", [row(i, "科区", inner_points[HORQIN]) for i in range(1, 4)])
    real = upload(client, accounts["editor"], "清单.xlsx", with_dimension(sheet, "A1:XFD1048576"))
    assert real.status_code == 200 and real.json()["rows"] == 3, real.text
    assert time.thread_time() - started < 5  # sanity bound: before, openpyxl padded a million rows of 16,384


def test_rows_and_columns_over_the_limits_are_refused_naming_the_limit(settings, engine, demo_db, accounts,
                                                                       inner_points, tmp_path):
    small = settings.model_copy(update={"import_max_rows": 5, "import_max_columns": 30})
    lon, lat = inner_points[HORQIN]
    header = "项目编号,项目名称,旗县市区,行业领域,项目层级,项目状态,经度,纬度\n"
    rows = "".join(f"L-{i},限额测试（合成数据）,科区,医药,实施,在建,{lon},{lat}\n" for i in range(10))
    wide = header.rstrip("\n") + "," + ",".join(f"备注{i}" for i in range(40)) + "\n"
    wide_sheet = openpyxl.Workbook()
    wide_sheet.active.append(["项目编号", "项目名称", "旗县市区"])
    wide_sheet.active.cell(row=2, column=16384, value="far right")  # column XFD
    wide_xlsx = io.BytesIO()
    wide_sheet.save(wide_xlsx)
    with TestClient(create_app(small, small.database_url, engine=engine)) as limited:
        too_long = refused_without_echo(upload(limited, accounts["editor"], "long.csv", (header + rows).encode()))
        assert [p["field"] for p in too_long["problems"]] == ["import_max_rows"]
        reason = too_long["problems"][0]["reason"]
        assert "5" in reason and "GEOAPP_IMPORT_MAX_ROWS" in reason
        too_wide = refused_without_echo(upload(limited, accounts["editor"], "wide.csv", wide.encode()))
        assert [p["field"] for p in too_wide["problems"]] == ["import_max_columns"]
        assert "30" in too_wide["problems"][0]["reason_en"]
        far = refused_without_echo(upload(limited, accounts["editor"], "far.xlsx", wide_xlsx.getvalue()))
        assert far["problems"][0]["field"] == "import_max_columns" and "row 2" in far["problems"][0]["reason_en"]
        within = upload(limited, accounts["editor"], "ok.csv", (header + rows.splitlines(True)[0]).encode())
        assert within.status_code == 200, within.text
