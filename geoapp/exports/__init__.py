"""Exports of a layer's matching features: GeoJSON, CSV and XLSX, shared by the API (f=…) and the CLI.

    write_projects(conn, expr, out, fmt, layers_dir, lang="zh") -> int

writes the projects matching ``expr`` (from :func:`geoapp.layers.filters.project_filter`) to a path or a binary
stream and returns the number of features. CSV/XLSX headers are the property titles of ``layers/projects.yaml``
(Chinese by default), followed by the WGS84 longitude and latitude, so an export re-imports unchanged.
"""

from geoapp.exports.writers import (
    EXPORT_FORMATS,
    MEDIA_TYPES,
    ExportTooLarge,
    iter_export,
    table_headers,
    write_layer,
    write_projects,
)

__all__ = ["EXPORT_FORMATS", "MEDIA_TYPES", "ExportTooLarge", "iter_export", "table_headers", "write_layer",
           "write_projects"]
