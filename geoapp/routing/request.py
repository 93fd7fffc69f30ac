"""The planning settings a team sets, checked once: every mistake is a 400 naming the field, Chinese first."""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from geoapp.routing.errors import PlanError
from geoapp.routing.estimate import DEFAULT_CIRCUITY, DEFAULT_SPEED_KMH
from geoapp.routing.places import DEFAULT_PLACE, check_place_texts
from geoapp.routing.solver import PRIORITY_MAX, PRIORITY_MIN

HHMM = re.compile(r"^([01]?\d|2[0-3])[:：]([0-5]\d)$")
MAX_CLOCK_CHARS = 5
"""HH:MM has five characters: a longer time is refused before it is matched, and not echoed back whole."""
MAX_ROUTES, MAX_DAYS = 12, 14

FIELD_ZH = {
    "projects": "项目编号", "filter": "筛选条件", "routes": "路线数", "days": "天数", "route_names": "路线名称",
    "start": "出发地", "end": "终点", "overnight": "住宿地", "end_by_route": "各路线终点",
    "overnight_by_route": "各路线住宿地", "day_start": "每日开始时间", "day_end": "每日结束时间",
    "lunch_start": "午餐最早开始", "lunch_end": "午餐最晚结束", "lunch_minutes": "午餐时长（分钟）",
    "service_minutes": "每站停留（分钟）", "service_minutes_by_project": "各项目停留（分钟）",
    "priorities": "优先级", "must_visit": "必到项目", "fixed_routes": "旗县区指定路线",
    "travel_model": "行驶时间模型", "estimate_speed_kmh": "估算平均车速（公里/小时）",
    "estimate_circuity": "估算绕行系数", "max_snap_m": "离路网最大距离（米）", "title": "名称",
    "start_date": "出发日期", "balance": "均衡权重",
}


def minutes_of(value: str, field: str) -> int:
    text = str(value).strip()
    if len(text) > MAX_CLOCK_CHARS:
        raise ValueError(f"时间太长（{len(text)} 个字符），格式应为 HH:MM / time too long ({len(text)} characters), "
                         "must be HH:MM")
    match = HHMM.match(text)
    if not match:
        raise ValueError(f"时间格式应为 HH:MM / time must be HH:MM, got {value!r}")
    return int(match.group(1)) * 60 + int(match.group(2))


Place = str | dict[str, Any]


class PlanSettings(BaseModel):
    """What the team chooses. Times are local clock times HH:MM; durations in minutes."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = None
    start_date: date | None = None          # day 1 of the tour, for printed itineraries (optional)
    projects: list[str] = Field(default_factory=list)
    filter: dict[str, str | list[str]] = Field(default_factory=dict)
    routes: int = Field(2, ge=1, le=MAX_ROUTES)
    days: int = Field(1, ge=1, le=MAX_DAYS)
    route_names: list[str] | None = None
    start: Place = DEFAULT_PLACE
    end: Place | None = None
    overnight: list[Place] | None = None
    end_by_route: dict[str, Place] = Field(default_factory=dict)            # {"北线": "扎鲁特旗"}
    overnight_by_route: dict[str, list[Place]] = Field(default_factory=dict)  # {"北线": ["扎鲁特旗"]}, one a night
    day_start: str = "08:00"
    day_end: str = "18:00"
    lunch_start: str = "11:30"
    lunch_end: str = "13:30"
    lunch_minutes: int = Field(60, ge=0, le=180)
    service_minutes: int = Field(30, ge=0, le=600)
    service_minutes_by_project: dict[str, int] = Field(default_factory=dict)
    priorities: dict[str, int] = Field(default_factory=dict)
    must_visit: list[str] = Field(default_factory=list)
    fixed_routes: dict[str, str] = Field(default_factory=dict)
    travel_model: Literal["auto", "road", "estimate"] = "auto"
    estimate_speed_kmh: float = Field(DEFAULT_SPEED_KMH, gt=5, le=130)
    estimate_circuity: float = Field(DEFAULT_CIRCUITY, ge=1.0, le=3.0)
    max_snap_m: float = Field(2000.0, gt=0, le=50_000)
    balance: float = Field(0.1, ge=0, le=10)

    @field_validator("day_start", "day_end", "lunch_start", "lunch_end")
    @classmethod
    def _clock(cls, value: str, info) -> str:
        minutes = minutes_of(value, info.field_name)
        return f"{minutes // 60:02d}:{minutes % 60:02d}"

    @field_validator("start", "end", "overnight", "end_by_route", "overnight_by_route")
    @classmethod
    def _place_lengths(cls, value, info):
        check_place_texts(value, info.field_name)   # a PlaceError (400 naming the place) before any worker
        return value

    @field_validator("projects", "must_visit", mode="before")
    @classmethod
    def _codes(cls, value):
        if isinstance(value, str):
            value = [v for v in re.split(r"[,，\s]+", value) if v]
        return value

    @field_validator("priorities")
    @classmethod
    def _priorities(cls, value: dict[str, int]) -> dict[str, int]:
        for code, p in value.items():
            if not PRIORITY_MIN <= p <= PRIORITY_MAX:
                raise ValueError(f"{code}: 优先级应为 {PRIORITY_MIN}–{PRIORITY_MAX} / priority must be "
                                 f"{PRIORITY_MIN}–{PRIORITY_MAX}, got {p}")
        return value

    @field_validator("service_minutes_by_project")
    @classmethod
    def _service(cls, value: dict[str, int]) -> dict[str, int]:
        for code, minutes in value.items():
            if not 0 <= minutes <= 600:
                raise ValueError(f"{code}: 停留时间应为 0–600 分钟 / service minutes must be 0–600, got {minutes}")
        return value

    def minutes(self, name: str) -> int:
        return minutes_of(getattr(self, name), name)

    def check(self) -> None:
        """Rules across fields (the single-field rules are in the validators)."""
        start, end = self.minutes("day_start"), self.minutes("day_end")
        if end <= start:
            raise PlanError(f"每日结束时间 {self.day_end} 早于或等于开始时间 {self.day_start} / the working day ends "
                            f"({self.day_end}) before it starts ({self.day_start})", "day_end")
        if self.lunch_minutes:
            ls, le = self.minutes("lunch_start"), self.minutes("lunch_end")
            if le - ls < self.lunch_minutes:
                window = f"{self.lunch_start}–{self.lunch_end}"
                raise PlanError(f"午餐时段 {window} 短于午餐时长 {self.lunch_minutes} 分钟 / "
                                f"the lunch window {self.lunch_start}–{self.lunch_end} is shorter than "
                                f"{self.lunch_minutes} minutes", "lunch_end")
            if ls < start or le > end:
                raise PlanError(f"午餐时段 {self.lunch_start}–{self.lunch_end} 不在工作时间 {self.day_start}–"
                                f"{self.day_end} 内 / the lunch window lies outside the working day", "lunch_start")
        if not self.projects and not self.filter:
            raise PlanError("请选择项目：给出项目编号（projects）或筛选条件（filter） / choose the projects: give "
                            "project codes (projects) or a filter", "projects")
        if self.route_names is not None and len(self.route_names) != self.routes:
            raise PlanError(f"路线名称应有 {self.routes} 个 / route_names must name all {self.routes} routes",
                            "route_names")
        if self.route_names is not None and len(set(self.route_names)) != len(self.route_names):
            raise PlanError("路线名称重复 / route_names repeat a name", "route_names")
        if self.overnight is not None and len(self.overnight) != self.days - 1:
            raise PlanError(f"住宿地应有 {self.days - 1} 个（每晚一个） / overnight needs one place per night "
                            f"({self.days - 1})", "overnight")
        for route, nights in self.overnight_by_route.items():
            if len(nights) != self.days - 1:
                raise PlanError(f"路线 {route} 的住宿地应有 {self.days - 1} 个（每晚一个） / overnight_by_route "
                                f"'{route}' needs one place per night ({self.days - 1})", "overnight_by_route")


def parse_settings(data: dict | None) -> PlanSettings:
    """Settings from JSON; raises PlanError naming the first bad field in Chinese and English."""
    if not isinstance(data, dict):
        raise PlanError("请求体应为 JSON 对象 / the body must be a JSON object")
    try:
        settings = PlanSettings.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        top = str(err["loc"][0]) if err["loc"] else ""
        if err["type"] == "extra_forbidden":
            allowed = ", ".join(PlanSettings.model_fields)
            raise PlanError(f"未知参数 {loc} / unknown setting '{loc}' (allowed: {allowed})", loc) from None
        message = err["msg"].removeprefix("Value error, ")
        raise PlanError(f"参数 {loc}（{FIELD_ZH.get(top, top)}）无效：{message} / invalid setting '{loc}': "
                        f"{message}", loc) from None
    settings.check()
    return settings
