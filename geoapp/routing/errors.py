"""The planner's one error type: settings that cannot be planned (the API answers 400 with the message)."""

from __future__ import annotations

from geoapp.errors import GeoappError


class PlanError(GeoappError):
    """A message Chinese first, then English after " / ", naming the setting (``field``) at fault."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message, parameter=field)

    @property
    def field(self) -> str | None:
        return self.parameter

    @field.setter
    def field(self, value: str | None) -> None:
        self.parameter = value
