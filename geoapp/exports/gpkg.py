"""GeoPackage export for `geoapp export projects OUT.gpkg`: the GeoJSON writer's output converted by pyogrio.

The writers (``geoapp.exports.writers``) stay the one place that decides what an export contains; a GeoPackage
is the same features (stored codes, WGS84 points) in a file GIS desktops open directly and the importer reads.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from pyogrio.raw import read, write
from sqlalchemy import Connection
from sqlalchemy.sql.elements import ColumnElement

from geoapp.exports.writers import write_projects


def write_projects_gpkg(conn: Connection, expr: ColumnElement[bool], out: str | Path, layers_dir: Path,
                        lang: str = "zh") -> int:
    """Write the projects matching ``expr`` to a GeoPackage (layer ``projects``, EPSG:4326); returns the count."""
    with tempfile.TemporaryDirectory(prefix="geoapp-gpkg-") as tmp:
        geojson = Path(tmp) / "projects.geojson"
        count = write_projects(conn, expr, geojson, "geojson", layers_dir, lang)
        meta, _fids, geometry, field_data = read(geojson)
        Path(out).unlink(missing_ok=True)
        write(out, geometry, field_data, meta["fields"], layer="projects", driver="GPKG", crs="EPSG:4326",
              geometry_type="Point")
    return count
