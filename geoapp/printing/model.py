"""What a printed route is made of: a small typed structure the renderers draw from.

The route planner stores routes its own way; ``geoapp.printing.source`` turns a stored route into a
``RoutePrint`` so the map, the handbook, GPX and KML never reach into the planner's tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from shapely.geometry.base import BaseGeometry

from geoapp.errors import GeoappError

PAPERS = ("A4", "A3")
ORIENTATIONS = ("portrait", "landscape")
LANGS = ("zh", "en")
TRAVEL_MODELS = ("road_network", "estimate")


class PrintParameterError(GeoappError):
    """A bad printing parameter (HTTP 400): names the parameter and the values it accepts."""

    def __init__(self, parameter: str, allowed: tuple[str, ...], zh: str, en: str):
        super().__init__(zh=zh, en=en, parameter=parameter, allowed=allowed)


@dataclass(frozen=True)
class Place:
    """A named point the route passes that is not a project: the start, the end, an overnight stay."""

    name: str
    lon: float
    lat: float


@dataclass
class StopPrint:
    """One visit, in visiting order; the leg is the drive from the previous stop (or the day's start)."""

    seq: int
    day: int
    code: str
    name: str
    lon: float
    lat: float
    arrival: datetime
    departure: datetime
    leg_km: float
    leg_minutes: float
    division: str = ""
    division_en: str | None = None
    sector: str | None = None
    tier: str | None = None
    status: str | None = None
    company: str | None = None
    total_investment: Decimal | None = None
    planned_investment: Decimal | None = None
    plan_year: int | None = None
    scope: str | None = None
    responsible_unit: str | None = None
    leader: str | None = None
    source: str | None = None
    location_precision: str | None = None
    notes: str = ""

    @property
    def stay_minutes(self) -> int:
        return round((self.departure - self.arrival).total_seconds() / 60)


@dataclass
class DayPrint:
    """One working day of a route: where it starts and ends (an overnight stay or the final end).

    ``lunch`` is (start, minutes) when the plan breaks for lunch that day; ``totals`` (km, driving minutes)
    are the planner's own day totals when it reports them (else the legs are summed).
    """

    day: int
    start: Place
    end: Place
    depart: datetime
    arrive: datetime
    final_leg_km: float
    final_leg_minutes: float
    overnight: bool = False
    lunch: tuple[datetime, int] | None = None
    totals: tuple[float, float] | None = None


@dataclass
class RoutePrint:
    """A planned route as printed: ordered stops with times, legs and totals, and its line in WGS84.

    ``totals`` (km, driving minutes) are the planner's own route totals when it reports them; ``travel_label``
    and ``travel_details`` its own words for the travel model (label, parameters, why roads were not used).
    ``dated`` is False when the plan has no calendar date: times then count from 00:00 of a nominal day 1
    and only "day 1, day 2 …" is printed. ``unassigned`` lists (project, reason) the plan had to leave out.
    """

    id: str
    name: str
    travel_model: str
    days: list[DayPrint]
    stops: list[StopPrint]
    line: BaseGeometry | None = None
    color: str = "#c0392b"
    dated: bool = True
    planned_at: datetime | None = None
    data_date: date | None = None
    data_source: str = ""
    notes: list[str] = field(default_factory=list)
    unassigned: list[tuple[str, str]] = field(default_factory=list)
    totals: tuple[float, float] | None = None
    travel_label: str | None = None
    travel_details: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.travel_model not in TRAVEL_MODELS:
            raise ValueError(f"travel_model must be one of {TRAVEL_MODELS}, not {self.travel_model!r}")

    @property
    def start(self) -> Place:
        return self.days[0].start

    @property
    def end(self) -> Place:
        return self.days[-1].end

    @property
    def total_km(self) -> float:
        if self.totals:
            return self.totals[0]
        return sum(s.leg_km for s in self.stops) + sum(d.final_leg_km for d in self.days)

    @property
    def drive_minutes(self) -> float:
        if self.totals:
            return self.totals[1]
        return sum(s.leg_minutes for s in self.stops) + sum(d.final_leg_minutes for d in self.days)

    def day_totals(self, day: DayPrint) -> tuple[float, float]:
        """(km, driving minutes) of one day: the planner's figures when given, else the sum of its legs."""
        if day.totals:
            return day.totals
        stops = self.stops_of(day.day)
        return (sum(s.leg_km for s in stops) + day.final_leg_km,
                sum(s.leg_minutes for s in stops) + day.final_leg_minutes)

    @property
    def service_minutes(self) -> int:
        return sum(s.stay_minutes for s in self.stops)

    def stops_of(self, day: int) -> list[StopPrint]:
        return [s for s in self.stops if s.day == day]

    def points(self) -> list[tuple[float, float]]:
        """Every place the route touches, in order, as (lon, lat)."""
        pts: list[tuple[float, float]] = []
        for d in self.days:
            pts.append((d.start.lon, d.start.lat))
            pts.extend((s.lon, s.lat) for s in self.stops_of(d.day))
            pts.append((d.end.lon, d.end.lat))
        return pts


@dataclass(frozen=True)
class Imprint:
    """Who compiles the prints (编制单位, the ``organisation`` settings), printed with 内部资料 and the disclaimer."""

    organisation: str = "通辽市发展和改革委员会"
    organisation_en: str = "Tongliao Municipal Development and Reform Commission"

    @classmethod
    def from_settings(cls, settings: object | None = None) -> Imprint:
        """The imprint of the given settings (``geoapp.settings.Settings``), or of the environment's when None."""
        if settings is None:
            from geoapp.settings import get_settings

            settings = get_settings()
        return cls(getattr(settings, "organisation", cls.organisation) or cls.organisation,
                   getattr(settings, "organisation_en", cls.organisation_en) or cls.organisation_en)

    def name(self, lang: str) -> str:
        return self.organisation_en if lang == "en" else self.organisation


@dataclass(frozen=True)
class PrintOptions:
    """Paper, orientation and language of a printed map; ``orientation=None`` picks one from the route's shape."""

    paper: str = "A4"
    orientation: str | None = None
    lang: str = "zh"

    @classmethod
    def parse(cls, paper: str | None = None, orientation: str | None = None, lang: str | None = None) -> PrintOptions:
        """Check what a person asked for; a bad value raises a GeoappError naming the allowed ones."""
        paper_n = (paper or "A4").strip().upper()
        if paper_n not in PAPERS:
            raise PrintParameterError(
                "paper", PAPERS,
                f"参数 paper 无效：'{paper}'，可选 {' / '.join(PAPERS)}",
                f"invalid paper '{paper}': allowed values are {', '.join(PAPERS)}"
            )
        orient_n = (orientation or "").strip().lower() or None
        if orient_n is not None and orient_n not in ORIENTATIONS:
            raise PrintParameterError(
                "orientation", ORIENTATIONS,
                f"参数 orientation 无效：'{orientation}'，可选 portrait（纵向）/ landscape（横向）",
                f"invalid orientation '{orientation}': allowed values are {', '.join(ORIENTATIONS)}"
            )
        lang_n = (lang or "zh").strip().lower()
        if lang_n not in LANGS:
            raise PrintParameterError(
                "lang", LANGS,
                f"参数 lang 无效：'{lang}'，可选 zh（中文）/ en（英文）",
                f"invalid lang '{lang}': allowed values are {', '.join(LANGS)}"
            )
        return cls(paper_n, orient_n, lang_n)
