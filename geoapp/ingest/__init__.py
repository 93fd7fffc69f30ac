"""Project data in: readers per format, header mapping, coordinate systems, row checks, the all-or-nothing import."""

from geoapp.ingest.importer import ImportOptions, import_file, import_table
from geoapp.ingest.report import ImportReport, Problem

__all__ = ["ImportOptions", "ImportReport", "Problem", "import_file", "import_table"]
