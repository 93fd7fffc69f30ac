"""A stored plan as a text itinerary (the CLI prints it): one line per stop, the days, totals, who was left out."""

from __future__ import annotations

import unicodedata


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cell(text: str, width: int) -> str:
    text = str(text)
    while _width(text) > width:
        text = text[:-2] + "…"
    return text + " " * (width - _width(text))


COLUMNS = [("day", "天", "Day", 4), ("no", "序", "#", 4), ("code", "编号", "Code", 14),
           ("name", "地点/项目", "Place / project", 40), ("division", "旗县市区", "Division", 16),
           ("arrive", "到达", "Arrive", 6), ("leave", "离开", "Leave", 6), ("km", "里程km", "km", 8),
           ("min", "车程min", "Drive min", 9)]


def itinerary(plan: dict, lang: str = "zh") -> str:
    """The plan as aligned text; Chinese headings by default, English with ``lang="en"``."""
    en = lang == "en"
    label = plan["travel_model"]["label"]["en" if en else "zh"]
    lines = [f"{'Plan' if en else '方案'} {plan['id']}: {plan['title']}",
             f"{'Travel times' if en else '行驶时间'}: {label}"]
    header = " ".join(_cell(en_ if en else zh, w) for _, zh, en_, w in COLUMNS)
    for route in plan["routes"]:
        t = route["totals"]
        name = route["name_en"] if en else route["name"]
        lines += ["", f"== {name} ({route['color']}): {t['visits']} "
                      f"{'visits' if en else '个项目'}, {t['distance_km']:.1f} km, "
                      f"{'driving' if en else '驾车'} {t['driving_min']:.0f} min, "
                      f"{'on site' if en else '现场'} {t['service_min']:.0f} min", header]
        for st in route["stops"]:
            leg = st["leg"] or {}
            kind = {"start": ("出发", "start"), "overnight": ("住宿", "overnight"), "end": ("终点", "end")}
            number = st["number"] if st["kind"] == "visit" else kind[st["kind"]][1 if en else 0]
            values = {"day": st["day"], "no": number, "code": st["project_code"] or "", "name": st["name"],
                      "division": st["division"] or "", "arrive": st["arrival"] or "", "leave": st["departure"] or "",
                      "km": f"{leg['distance_km']:.1f}" if leg else "", "min": f"{leg['minutes']:.0f}" if leg else ""}
            lines.append(" ".join(_cell(values[key], w) for key, _, _, w in COLUMNS))
        for day in route["days"]:
            lunch = f", {'lunch' if en else '午餐'} {day['lunch']}" if day.get("lunch") else ""
            lines.append(f"   {'Day' if en else '第'}{day['day']}{'' if en else '天'}: {day['start']}–{day['end']}"
                         f"{lunch}, {day['visits']} {'visits' if en else '个项目'}, {day['distance_km']} km")
    t = plan["totals"]
    lines += ["", f"{'Total' if en else '合计'}: {t['visits']} {'visits' if en else '个项目'}, "
                  f"{t['distance_km']:.1f} km, {'driving' if en else '驾车'} {t['driving_min']:.0f} min"]
    if plan["unassigned"]:
        lines.append(f"{'Left out' if en else '未安排'} ({len(plan['unassigned'])}):")
        for u in plan["unassigned"]:
            lines.append(f"  {u['project_code']} {u['name']} [{u['division']}]: {u['reason']['en' if en else 'zh']}")
    return "\n".join(lines)
