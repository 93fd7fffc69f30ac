"""The planning settings a team sets, checked once: every mistake is a 400 naming the field, Chinese first."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema, field_validator

from geoapp.errors import TooLarge
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
# Codes are a JSON list, or one string separated by commas or spaces (what a person pastes from a sheet).
Codes = Annotated[list[str], WithJsonSchema({"anyOf": [{"type": "array", "items": {"type": "string"}},
                                                       {"type": "string"}], "default": []})]


PLACE_HELP = ("地名（通辽市人民政府、旗县市区名或简称如“开鲁”）、项目编号、“经度,纬度”或 {\"lon\", \"lat\"} / "
              "a place name (通辽市人民政府, a division or its short form such as 开鲁), a project code, "
              "'lon,lat' or {\"lon\", \"lat\"}")


def _about(zh: str, en: str) -> str:
    """A field's description for the OpenAPI document: Chinese, then English."""
    return f"{zh} / {en}"


CODE_SEPARATORS = re.compile(r"[,，\s]+")

class PlanSettings(BaseModel):
    """What the team chooses. Times are local clock times HH:MM; durations in minutes.

    The same model documents the body of ``POST /routes/plan`` (its JSON schema, with these descriptions);
    :func:`parse_settings` validates it and turns the first mistake into a 400 naming the setting.
    """

    model_config = ConfigDict(extra="forbid", title="PlanSettings", json_schema_extra={"description": _about(
        "考察路线规划设置：时间为当地时间 HH:MM，时长以分钟计；未知参数、错误取值均答 400 并指出参数",
        "route planning settings: times are local clock times HH:MM, durations in minutes; an unknown setting or a "
        "bad value is answered 400 naming the setting")})

    title: str | None = Field(None, description=_about("方案名称（默认按路线数、天数、项目数生成）",
                                                       "plan title (default: made from routes, days and visits)"))
    start_date: date | None = Field(None, description=_about("第一天的日期 YYYY-MM-DD（打印行程用，可不填）",
                                                             "day 1 of the tour, YYYY-MM-DD (for printed itineraries)"))
    projects: Codes = Field(default_factory=list, description=_about(
        "项目编号（列表，或以逗号/空格分隔的字符串）；与 filter 取并集；总数受设置 GEOAPP_PLAN_MAX_PROJECTS 限制",
        "project codes (a list, or one string separated by commas or spaces); united with filter; the total is "
        "capped by the setting GEOAPP_PLAN_MAX_PROJECTS"))
    filter: dict[str, str | list[str]] = Field(default_factory=dict, description=_about(
        "按图层筛选参数选择项目（sector、tier、division、status、min_investment、investment_class、q、"
        "filter 即 CQL2 等，与 /collections/projects/items 相同）",
        "choose projects by the layers API's filter parameters (sector, tier, division, status, min_investment, "
        "investment_class, q, filter = CQL2 …, as /collections/projects/items)"))
    routes: int = Field(2, ge=1, le=MAX_ROUTES, description=_about(
        f"路线数（1–{MAX_ROUTES}），按由北到南命名：北线、南线…", f"number of routes (1–{MAX_ROUTES}), named north to "
        "south: 北线 (North route), 南线 (South route) …"))
    days: int = Field(1, ge=1, le=MAX_DAYS, description=_about(f"天数（1–{MAX_DAYS}）",
                                                               f"number of days (1–{MAX_DAYS})"))
    route_names: list[str] | None = Field(None, description=_about("自定路线名称（每条路线一个，不可重复）",
                                                                   "own route names (one per route, all different)"))
    start: Place = Field(DEFAULT_PLACE, description=_about("出发地", "where every route starts") + "; " + PLACE_HELP)
    end: Place | None = Field(None, description=_about("终点（默认回到出发地）",
                                                       "where the routes end (default: back at the start)"))
    overnight: list[Place] | None = Field(None, description=_about(
        "每晚住宿地（天数−1 个；默认回出发地）", "where to spend each night (days − 1 places; default: the start)"))
    end_by_route: dict[str, Place] = Field(default_factory=dict, description=_about(
        "各路线自己的终点，如 {\"北线\": \"扎鲁特旗\"}", "a route's own end, e.g. {\"北线\": \"扎鲁特旗\"}"))
    overnight_by_route: dict[str, list[Place]] = Field(default_factory=dict, description=_about(
        "各路线自己的住宿地（每晚一个），如 {\"北线\": [\"扎鲁特旗\"]}",
        "a route's own hotels (one a night), e.g. {\"北线\": [\"扎鲁特旗\"]}"))
    day_start: str = Field("08:00", description=_about("每日出发时间 HH:MM", "daily start, HH:MM"))
    day_end: str = Field("18:00", description=_about("每日最晚结束时间 HH:MM", "daily end, HH:MM"))
    lunch_start: str = Field("11:30", description=_about("午餐最早开始 HH:MM", "lunch earliest start, HH:MM"))
    lunch_end: str = Field("13:30", description=_about("午餐最晚结束 HH:MM", "lunch latest end, HH:MM"))
    lunch_minutes: int = Field(60, ge=0, le=180, description=_about("午餐时长（分钟，0 为不安排）",
                                                                    "lunch minutes (0: no lunch break)"))
    service_minutes: int = Field(30, ge=0, le=600, description=_about("每个项目停留时间（分钟）",
                                                                      "minutes spent at each project"))
    service_minutes_by_project: dict[str, int] = Field(default_factory=dict, description=_about(
        "个别项目的停留时间（分钟），如 {\"TL2025-001\": 60}", "minutes at given projects, e.g. {\"TL2025-001\": 60}"))
    priorities: dict[str, int] = Field(default_factory=dict, description=_about(
        f"项目优先级 {PRIORITY_MIN}–{PRIORITY_MAX}（默认 3；排不下时先舍去低优先级）",
        f"project priorities {PRIORITY_MIN}–{PRIORITY_MAX} (default 3; lower ones are left out first)"))
    must_visit: Codes = Field(default_factory=list, description=_about(
        "必到项目编号（须在所选项目中）", "project codes that must be visited (among the chosen projects)"))
    fixed_routes: dict[str, str] = Field(default_factory=dict, description=_about(
        "旗县市区指定路线，如 {\"霍林郭勒市\": \"北线\"}",
        "divisions fixed to a route, e.g. {\"霍林郭勒市\": \"北线\"}"))
    travel_model: Literal["auto", "road", "estimate"] = Field("auto", description=_about(
        "行驶时间：auto（有道路网且覆盖各点时用道路网，否则估算）、road（道路网）、estimate（估算）",
        "travel times: auto (the road network when it covers every stop, else the estimate), road, estimate"))
    estimate_speed_kmh: float = Field(DEFAULT_SPEED_KMH, gt=5, le=130, description=_about(
        "估算用平均车速（公里/小时）", "average speed of the estimate (km/h)"))
    estimate_circuity: float = Field(DEFAULT_CIRCUITY, ge=1.0, le=3.0, description=_about(
        "估算用绕行系数（道路长度÷直线距离）", "circuity of the estimate (road length ÷ straight-line distance)"))
    max_snap_m: float = Field(2000.0, gt=0, le=50_000, description=_about(
        "地点离道路网的最大距离（米），超过则 auto 改用估算", "farthest a stop may lie from the road network (m); "
        "beyond it auto falls back to the estimate"))
    balance: float = Field(0.1, ge=0, le=10, description=_about(
        "各路线每日工作量的均衡权重（0 为只求总车程最短）", "weight of balancing the routes' daily workload "
        "(0: least total driving only)"))

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
            value = split_codes(value)
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


def too_many_projects(limit: int, chosen: int, field: str = "projects") -> TooLarge:
    """The refusal of a plan over ``plan_max_projects``: the limit, the setting and what was chosen."""
    return TooLarge(zh=f"一次规划最多 {limit} 个项目（设置 GEOAPP_PLAN_MAX_PROJECTS），所选为 {chosen} 个："
                       "请缩小范围或分批规划",
                    en=f"a plan takes at most {limit} projects (setting GEOAPP_PLAN_MAX_PROJECTS), {chosen} were "
                       "chosen: narrow the selection or plan in parts",
                    parameter=field, limit=limit, setting="plan_max_projects")


def split_codes(text: str) -> list[str]:
    """Project codes given as one text, separated by commas (also Chinese ones) or blanks."""
    return [v for v in CODE_SEPARATORS.split(text) if v]


def _count(value: Any) -> int:
    if isinstance(value, str):
        return len(split_codes(value))
    return len(value) if isinstance(value, list | dict) else 0


def check_counts(data: dict, max_projects: int) -> None:
    """Lists of projects longer than the cap are refused before they are validated or reach PostgreSQL (a list of
    65,536 codes would overflow its bind parameters); the selection as a whole is counted later, in the database."""
    for field in ("projects", "must_visit", "priorities", "service_minutes_by_project"):
        chosen = _count(data.get(field))
        if chosen > max_projects:
            raise too_many_projects(max_projects, chosen, field)


def parse_settings(data: dict | None, max_projects: int | None = None) -> PlanSettings:
    """Settings from JSON; raises PlanError naming the first bad field in Chinese and English, and with
    ``max_projects`` (the ``plan_max_projects`` setting) a 413 for lists of projects longer than that."""
    if not isinstance(data, dict):
        raise PlanError("请求体应为 JSON 对象 / the body must be a JSON object")
    if max_projects is not None:
        check_counts(data, max_projects)
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


class MoveStop(BaseModel):
    """One stop moved by hand (descriptive: store.edit_plan checks it and names the field at fault)."""

    model_config = ConfigDict(title="MoveStop", json_schema_extra={"description": _about(
        "把一个项目移到某路线某天的某个位置", "move one project to a position in a day of a route")})

    project: str = Field(description=_about("要移动的项目编号（须在本方案中）",
                                            "the project to move (part of this plan)"))
    route: str | None = Field(description=_about("目标路线名（如 北线 或 North route）；null 为移出方案",
                                                 "the route to move it to (北线 or North route); null leaves it out"))
    day: int = Field(1, ge=1, le=MAX_DAYS, description=_about("第几天（默认 1）", "the day (default 1)"))
    position: int | None = Field(None, ge=1, description=_about("在该天中的位置，从 1 起（默认排在最后）",
                                                                "position in that day, from 1 (default: last)"))


class RouteOrder(BaseModel):
    """Every visit of one route in the order given, day by day."""

    model_config = ConfigDict(title="RouteOrder", json_schema_extra={"description": _about(
        "一条路线逐日的走访顺序", "one route's visits, day by day, in order")})

    name: str = Field(description=_about("路线名（北线 / North route）", "the route's name (北线 / North route)"))
    days: list[list[str]] = Field(description=_about("每天依次走访的项目编号", "each day's project codes, in order"))


class PlanEdit(BaseModel):
    """The body of PUT /routes/{id}: ``move`` one stop, or give every route's order in ``routes``; the times are
    recomputed with the plan's own travel times. Descriptive only (for the OpenAPI document)."""

    model_config = ConfigDict(title="PlanEdit", json_schema_extra={"description": _about(
        "人工调整：move 移动一站，或 routes 给出各路线的全部顺序；时间按原方案的行驶时间重算",
        "a hand edit: move one stop, or give every route's order in routes; the times are recomputed with the "
        "plan's own travel times")})

    move: MoveStop | None = Field(None, description=_about("移动一站", "move one stop"))
    routes: list[RouteOrder] | None = Field(None, description=_about("各路线的新顺序（未列出的项目移出方案）",
                                                                     "every route's new order (projects not listed "
                                                                     "are left out)"))


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """A JSON schema with its local ``$defs`` references replaced by the definitions (an operation's body schema
    in the OpenAPI document cannot point at the model's own ``$defs``)."""
    if isinstance(node, list):
        return [_inline(n, defs) for n in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return _inline(defs[ref.removeprefix("#/$defs/")], defs)
    out = {k: _inline(v, defs) for k, v in node.items() if k != "$defs"}
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(bound), int | float) and not isinstance(out[bound], bool):
            out[plain], out[bound] = out[bound], True  # the API document is OpenAPI 3.0 (geoapp/api/openapi.py)
    return out


def openapi_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` giving an operation a required JSON body described by ``model`` (its fields, types,
    defaults and zh/en descriptions), for handlers that read and check the body themselves."""
    schema = model.model_json_schema()
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": _inline(schema, schema.get("$defs", {}))}}}}
