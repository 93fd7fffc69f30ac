"""The words printed on maps and handbooks, in Chinese and English (vocabulary labels come from layers/)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from geoapp import money as geoapp_money

WORDS: dict[str, dict[str, str]] = {
    "map_title": {"zh": "重大项目观摩路线示意图", "en": "Route map (schematic)"},
    "handbook_title": {"zh": "重大项目观摩手册", "en": "Project inspection handbook"},
    "kicker": {"zh": "重大项目观摩", "en": "Major-project inspection"},
    "city": {"zh": "通辽市", "en": "Tongliao"},
    "itinerary": {"zh": "行程表", "en": "Itinerary"},
    "schedule": {"zh": "日程安排", "en": "Schedule"},
    "stop_cards": {"zh": "观摩点位", "en": "Stops"},
    "no": {"zh": "序号", "en": "No."},
    "project": {"zh": "项目名称", "en": "Project"},
    "banner": {"zh": "旗县市区", "en": "Banner / county"},
    "sector": {"zh": "产业", "en": "Sector"},
    "arrival": {"zh": "到达", "en": "Arrive"},
    "departure": {"zh": "离开", "en": "Leave"},
    "stay": {"zh": "停留(分)", "en": "Stay (min)"},
    "leg_km": {"zh": "路段(公里)", "en": "Leg (km)"},
    "leg_min": {"zh": "路段(分钟)", "en": "Leg (min)"},
    "notes": {"zh": "备注", "en": "Notes"},
    "day": {"zh": "第{n}天", "en": "Day {n}"},
    "depart_from": {"zh": "出发：{place}", "en": "Depart: {place}"},
    "arrive_at": {"zh": "到达：{place}", "en": "Arrive: {place}"},
    "overnight_at": {"zh": "住宿：{place}", "en": "Overnight: {place}"},
    "lunch": {"zh": "午餐", "en": "Lunch"},
    "unassigned": {"zh": "本次规划未能安排的项目（{n} 个）", "en": "Projects the plan could not fit ({n})"},
    "day_total": {"zh": "当日小计", "en": "Day subtotal"},
    "total": {"zh": "合计", "en": "Total"},
    "summary_line": {
        "zh": "{stops} 个点位 · {days} 天 · 全程 {km} 公里", "en": "{stops} stops · {days} day(s) · {km} km",
    },
    "totals_line": {
        "zh": "全程 {stops} 个点位，{days} 天；行驶 {km} 公里，车程 {drive}，观摩 {service}",
        "en": "{stops} stops over {days} day(s); {km} km driven, {drive} on the road, {service} at stops",
    },
    "days_n": {"zh": "{n} 天行程", "en": "{n}-day tour"},
    "stops_n": {"zh": "{n} 个点位", "en": "{n} stops"},
    "legend": {"zh": "图例", "en": "Legend"},
    "route": {"zh": "观摩路线", "en": "Route"},
    "route_straight": {"zh": "观摩路线（直线示意）", "en": "Route (straight legs, indicative)"},
    "start": {"zh": "起点", "en": "Start"},
    "end": {"zh": "终点", "en": "End"},
    "start_end": {"zh": "起点/终点", "en": "Start / end"},
    "overnight": {"zh": "住宿地", "en": "Overnight"},
    "stop_numbered": {"zh": "观摩点（按顺序编号，颜色表示产业）", "en": "Stop (numbered in order, colour = sector)"},
    "division_boundary": {"zh": "旗县市区界", "en": "Banner / county boundary"},
    "city_boundary": {"zh": "市界", "en": "City boundary"},
    "province_boundary": {"zh": "省界", "en": "Provincial boundary"},
    "area_edge": {"zh": "制图区域范围线", "en": "Edge of the mapped area"},
    "internal": {"zh": "内部资料", "en": "Internal document"},
    "disclaimer": {
        "zh": "本图为工作示意图，行政区划界线仅供参考，不作为权属争议依据",
        "en": "Working sketch: boundaries for reference only, no basis for any claim of jurisdiction",
    },
    "compiled_by": {"zh": "编制单位：{org}", "en": "Compiled by: {org}"},
    "investment_short": {"zh": "总投资", "en": "Investment"},
    "investment_sum": {
        "zh": "观摩项目总投资 {money}（{known}/{n} 个项目投资已知）",
        "en": "investment of the projects visited {money} (known for {known} of {n})",
    },
    "road": {"zh": "主要道路", "en": "Major road"},
    "scale": {"zh": "比例尺", "en": "Scale"},
    "km": {"zh": "公里", "en": "km"},
    "north": {"zh": "北", "en": "N"},
    "travel_model": {"zh": "行程计算", "en": "Travel times"},
    "model_road_network_short": {"zh": "道路网络", "en": "Road network"},
    "model_estimate_short": {"zh": "估算行驶时间", "en": "Estimated travel times"},
    "model_road_network": {"zh": "道路网络（按路网计算行车时间）", "en": "road network (times along the roads)"},
    "model_estimate": {
        "zh": "估算行驶时间（直线距离×绕行系数÷平均车速）",
        "en": "estimated travel times (straight line × detour factor ÷ average speed)",
    },
    "estimate_params": {
        "zh": "平均车速 {speed:g} 公里/小时，绕行系数 {circuity:g}",
        "en": "average speed {speed:g} km/h, detour factor {circuity:g}",
    },
    "projection": {
        "zh": "投影：横轴墨卡托（WGS84，中央经线 {lon}°E）",
        "en": "Projection: transverse Mercator (WGS84, central meridian {lon}°E)",
    },
    "data": {"zh": "数据", "en": "Data"},
    "data_line": {"zh": "项目数据截至 {date}；来源：{source}", "en": "Project data as of {date}; source: {source}"},
    "boundaries_source": {"zh": "行政区划边界：{source}", "en": "Boundaries: {source}"},
    "roads_source": {"zh": "道路：{source}", "en": "Roads: {source}"},
    "planned_at": {"zh": "路线规划于 {ts}", "en": "Route planned {ts}"},
    "printed_at": {"zh": "制图 {ts}", "en": "Printed {ts}"},
    "page": {"zh": "第 {p} 页 / 共 {n} 页", "en": "Page {p} of {n}"},
    "company": {"zh": "建设单位", "en": "Company"},
    "tier": {"zh": "项目层级", "en": "Tier"},
    "status": {"zh": "项目状态", "en": "Status"},
    "investment_total": {"zh": "总投资", "en": "Total investment"},
    "investment_year": {"zh": "年度计划投资", "en": "Investment planned this year"},
    "scope": {"zh": "建设内容及规模", "en": "Scope"},
    "responsible_unit": {"zh": "责任单位", "en": "Responsible unit"},
    "leader": {"zh": "包联领导", "en": "Leader in charge"},
    "visit": {"zh": "观摩时间", "en": "Visit"},
    "location": {"zh": "位置", "en": "Location"},
    "approximate": {"zh": "（近似位置）", "en": " (approximate)"},
    "source": {"zh": "资料来源", "en": "Source"},
    "notes_space": {"zh": "观摩记录", "en": "Notes"},
    "score": {"zh": "评分", "en": "Score"},
    "scorer": {"zh": "评分人", "en": "Scored by"},
    "score_item": {"zh": "评分项目", "en": "Criterion"},
    "score_points": {"zh": "得分", "en": "Points"},
    "score_rubric_note": {
        "zh": "评分项目及分值按观摩活动组织单位确定的评分细则填写（本手册不预设分值）",
        "en": "Fill in the criteria and points of the rubric the tour's organiser sets (this handbook sets none)",
    },
    "score_date": {"zh": "日期", "en": "Date"},
    "score_total": {"zh": "合计", "en": "Total"},
    "unknown": {"zh": "—", "en": "—"},
    "contents": {"zh": "目录", "en": "Contents"},
    "route_map": {"zh": "路线示意图", "en": "Route map (schematic)"},
    "hours_minutes": {"zh": "{h} 小时 {m} 分", "en": "{h} h {m} min"},
    "minutes": {"zh": "{m} 分", "en": "{m} min"},
    "crs_wgs84": {"zh": "坐标系：WGS84", "en": "Coordinates: WGS84"},
    "crs_gcj02": {
        "zh": "坐标系：GCJ-02（供国内导航软件使用）", "en": "Coordinates: GCJ-02 (for Chinese navigation apps)",
    },
    "synthetic_note": {
        "zh": "注：含示例（合成）项目，仅供演示。",
        "en": "Note: includes synthetic example projects, for demonstration only.",
    },
}


def word(key: str, lang: str, **values: object) -> str:
    text = WORDS[key]["en" if lang == "en" else "zh"]
    return text.format(**values) if values else text


def duration(minutes: float, lang: str) -> str:
    total = int(round(minutes))
    h, m = divmod(total, 60)
    return word("hours_minutes", lang, h=h, m=m) if h else word("minutes", lang, m=m)


def money(value: Decimal | float | None, lang: str) -> str:
    """万元 as planners write it (336亿元, 500万元): geoapp.money's one rule, also the web map's."""
    return geoapp_money.money(value, lang)


def day_date(d: date | datetime, lang: str) -> str:
    weekday_zh = "一二三四五六日"[d.weekday()]
    if lang == "en":
        return d.strftime("%a %d %b %Y")
    return f"{d.year}年{d.month}月{d.day}日（星期{weekday_zh}）"


def date_range(first: date, last: date, lang: str) -> str:
    if lang == "en":
        return first.strftime("%d %b %Y") if first == last else f"{first:%d %b} – {last:%d %b %Y}"
    if first == last:
        return f"{first.year}年{first.month}月{first.day}日"
    tail = f"{last.day}日" if (first.year, first.month) == (last.year, last.month) else f"{last.month}月{last.day}日"
    return f"{first.year}年{first.month}月{first.day}日—{tail}"
