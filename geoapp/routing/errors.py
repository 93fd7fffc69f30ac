"""The planner's one error type: settings that cannot be planned (the API answers 400 with the message)."""

from __future__ import annotations

from geoapp.errors import GeoappError


class PlanError(GeoappError):
    """A message Chinese first, then English after " / ", naming the setting (``field``) at fault."""

    status_code = 400

    def __init__(self, message: str, field: str | None = None):
        self.field = field
        super().__init__(message)
