"""A standalone HTML map of the projects of one filter (folium), that opens with no internet.

folium links Leaflet, jQuery, Bootstrap and Font Awesome from CDNs by default. This map needs only Leaflet, so the
CDN links are dropped and Leaflet's JS and CSS are inlined from the copy npm installed in ``static/node_modules``:
the file can be mailed, opened from a USB stick or on an intranet. Markers are circle markers (no image files).
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Mapping
from datetime import date
from pathlib import Path

import folium
import shapely
from branca.element import Element
from sqlalchemy import Connection, func, select

from geoapp.db.models import Division, Project
from geoapp.errors import GeoappError
from geoapp.layers.filters import project_filter
from geoapp.vocab import vocabularies

# More than this many circle markers with their popups make a file too heavy to open on a phone.
MAX_EXPORT = 20000
LEAFLET_ASSETS = ("leaflet/dist/leaflet.js", "leaflet/dist/leaflet.css")

LABELS = {
    "zh": {"title": "通辽市重大项目地图", "count": "个项目", "total": "总投资", "filter": "筛选条件",
           "none": "全部项目", "made": "导出日期", "company": "项目单位", "sector": "行业领域", "tier": "项目层级",
           "status": "项目状态", "division": "旗县市区", "investment": "总投资", "years": "建设年限",
           "scope": "建设内容", "unit": "责任单位", "leader": "包联领导", "precision": "位置精度", "source": "来源",
           "code": "项目编号",
           "exact": "精确", "approximate": "近似", "unknown": "未知", "synthetic": "合成数据（非真实项目）"},
    "en": {"title": "Tongliao major-project map", "count": "projects", "total": "Total investment",
           "filter": "Filter", "none": "all projects", "made": "Exported", "company": "Company", "sector": "Sector",
           "tier": "Tier", "status": "Status", "division": "Division", "investment": "Investment", "years": "Years",
           "scope": "Scope", "unit": "Responsible unit", "leader": "Leader in charge", "precision": "Location",
           "source": "Source", "code": "Code", "exact": "exact", "approximate": "approximate", "unknown": "unknown",
           "synthetic": "synthetic data (not a real project)"},
}


def money(wan: float | None, lang: str = "zh") -> str:
    """万元 as planners write it: 500万元, 67.2亿元 (English adds the yuan amount)."""
    if wan is None:
        return LABELS[lang]["unknown"]
    wan = float(wan)
    if wan >= 10000:
        text_ = f"{wan / 10000:,.2f}".rstrip("0").rstrip(".") + "亿元"
        return text_ if lang == "zh" else f"{text_} ({wan / 100000:,.3f} bn yuan)"
    text_ = f"{wan:,.2f}".rstrip("0").rstrip(".") + "万元"
    return text_ if lang == "zh" else f"{text_} ({wan / 100:,.2f} M yuan)"


def _asset(static_dir: Path, rel: str) -> str:
    path = Path(static_dir) / "node_modules" / rel
    if not path.is_file():
        raise GeoappError(
            f"缺少 {path}，请先运行 make setup（npm ci） / {path} is missing: run `make setup` (npm ci in static/)"
        )
    return path.read_text(encoding="utf-8")


def _default_icon_script(static_dir: Path) -> str:
    """Leaflet's default marker images as data URIs: folium's DivIcon labels create a default icon first, and
    with a relative image path the browser would look for ``images/marker-icon.png`` beside the exported file."""
    images = Path(static_dir) / "node_modules" / "leaflet" / "dist" / "images"
    uris = {}
    for key, name in (("iconUrl", "marker-icon.png"), ("iconRetinaUrl", "marker-icon-2x.png"),
                      ("shadowUrl", "marker-shadow.png")):
        path = images / name
        if not path.is_file():
            raise GeoappError(f"缺少 {path}，请先运行 make setup / {path} is missing: run `make setup`")
        uris[key] = "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
    return f"L.Icon.Default.imagePath = ''; L.Icon.Default.mergeOptions({json.dumps(uris)});"


def _classes(layers_dir: Path) -> list[tuple[str, float, str, str]]:
    from geoapp.layers.registry import get_layer

    spec = get_layer(Path(layers_dir), "projects").filters.get("investment_class")
    return [(c.code, c.min, c.title.zh, c.title.en) for c in spec.classes] if spec else []


def _radius(investment: float | None, classes: list[tuple[str, float, str, str]]) -> float:
    if investment is None:
        return 7
    return 6 + 2.5 * sum(1 for _, lo, _, _ in classes if float(investment) >= lo)


def select_projects(conn: Connection, params: Mapping, layers_dir: Path) -> list[dict]:
    where = project_filter(conn, params, layers_dir)
    cols = [Project.code, Project.name, Project.sector, Project.tier, Project.status, Project.division_code,
            Project.total_investment, Project.start_year, Project.end_year, Project.company, Project.scope,
            Project.responsible_unit, Project.leader, Project.location_precision, Project.source,
            func.ST_X(Project.geom).label("lon"), func.ST_Y(Project.geom).label("lat")]
    n = conn.execute(select(func.count()).select_from(Project).where(where)).scalar_one()
    if n > MAX_EXPORT:
        raise GeoappError(
            f"筛选结果有 {n} 个项目，离线地图最多 {MAX_EXPORT} 个，请缩小筛选范围 / the filter matches {n} projects; "
            f"an offline HTML map holds at most {MAX_EXPORT}: narrow the filter"
        )
    rows = conn.execute(select(*cols).where(where).order_by(Project.code)).mappings().all()
    return [dict(r) for r in rows]


def _divisions(conn: Connection) -> list[dict]:
    rows = conn.execute(select(
        Division.code, Division.name, Division.name_en, Division.seat_name,
        func.ST_AsGeoJSON(Division.boundary, 6).label("boundary"),
        func.ST_X(Division.seat).label("seat_lon"), func.ST_Y(Division.seat).label("seat_lat"),
    ).order_by(Division.code)).mappings().all()
    return [dict(r) for r in rows]


def _card(p: dict, names: dict, lang: str) -> str:
    lab = LABELS[lang]
    e = html.escape

    def row(key: str, value) -> str:
        return f"<tr><th>{e(lab[key])}</th><td>{e(str(value)) if value not in (None, '') else '—'}</td></tr>"

    years = "–".join(str(y) for y in (p["start_year"], p["end_year"]) if y is not None) or None
    synthetic = f"<p style='color:#b3261e'>{e(lab['synthetic'])}</p>" if p["source"] == "synthetic" else ""
    return (
        f"<div class='card'><h3>{e(p['name'])}</h3>{synthetic}<table>"
        + row("code", p["code"]) + row("company", p["company"])
        + row("sector", names["sector"].get(p["sector"], p["sector"]))
        + row("tier", names["tier"].get(p["tier"], p["tier"]))
        + row("status", names["status"].get(p["status"], p["status"]))
        + row("division", names["division"].get(p["division_code"], p["division_code"]))
        + row("investment", money(p["total_investment"], lang)) + row("years", years) + row("scope", p["scope"])
        + row("unit", p["responsible_unit"]) + row("leader", p["leader"])
        + row("precision", lab.get(p["location_precision"], p["location_precision"])) + row("source", p["source"])
        + "</table></div>"
    )


def describe_filter(params: Mapping, names: dict, layers_dir: Path, lang: str) -> str:
    """The filter in words for the map's legend: 行业领域：绿色铝基新材料、天然气/LNG；投资规模：10亿元及以上."""
    from geoapp.layers.registry import get_layer

    filters = get_layer(Path(layers_dir), "projects").filters
    vocab_of = {"sector": "sector", "tier": "tier", "status": "status", "division": "division"}
    parts = []
    for key, raw in params.items():
        items = [raw] if isinstance(raw, str) else list(raw)
        values = [v for item in items for v in str(item).replace("，", ",").split(",")]
        spec = filters.get(key)
        shown = []
        for v in (v.strip() for v in values if v.strip()):
            if spec is not None and spec.kind == "class":
                cls = next((c for c in spec.classes if c.code == v), None)
                shown.append(cls.title.get(lang) if cls else v)
            else:
                shown.append(names.get(vocab_of.get(key, ""), {}).get(v, v))
        title = spec.title.get(lang) if spec is not None else key
        parts.append(f"{title}{'：' if lang == 'zh' else ': '}{'、'.join(shown) if lang == 'zh' else ', '.join(shown)}")
    return "；".join(parts) if lang == "zh" else "; ".join(parts)


def build_map(conn: Connection, params: Mapping, layers_dir: Path, static_dir: Path,
              lang: str = "zh") -> tuple[str, int]:
    """The HTML of an offline map of the projects matching ``params`` (the layers API's filter parameters), and
    how many projects it shows."""
    lang = "en" if lang == "en" else "zh"
    lab = LABELS[lang]
    vocab = vocabularies(Path(layers_dir))
    projects = select_projects(conn, params, layers_dir)
    divisions = _divisions(conn)
    classes = _classes(layers_dir)
    names = {k: {t.code: t.label(lang) for t in vocab[k].terms} for k in ("sector", "tier", "status")}
    names["division"] = {d["code"]: (d["name_en"] if lang == "en" and d["name_en"] else d["name"]) for d in divisions}
    colours = {t.code: t.extra.get("color", "#777777") for t in vocab["sector"].terms}

    bounds = [[d["seat_lat"], d["seat_lon"]] for d in divisions if d["seat_lat"] is not None]
    m = folium.Map(location=[43.65, 122.24], zoom_start=7, tiles=None, control_scale=True, prefer_canvas=False)
    # no CDN: drop folium's default links (instance lists, the class lists stay untouched) and inline Leaflet
    m.default_js = []
    m.default_css = []
    leaflet_js, leaflet_css = (_asset(static_dir, rel) for rel in LEAFLET_ASSETS)
    header = m.get_root().header
    header.add_child(Element(f"<script>{leaflet_js}</script>"), name="leaflet_inline_js")
    header.add_child(Element(f"<style>{leaflet_css}</style>"), name="leaflet_inline_css")
    header.add_child(Element(f"<script>{_default_icon_script(static_dir)}</script>"), name="leaflet_icons")
    header.add_child(Element(
        "<meta charset='utf-8'><style>body{font-family:'Noto Sans CJK SC','Microsoft YaHei',sans-serif}"
        ".card{font-size:12px;max-width:300px}.card h3{font-size:14px;margin:0 0 4px}"
        ".card th{text-align:left;color:#5b6876;font-weight:400;padding-right:6px;vertical-align:top;"
        "white-space:nowrap}"
        ".dlabel{font-size:13px;font-weight:600;color:#3b4a5a;text-shadow:0 0 3px #fff,0 0 3px #fff;white-space:nowrap}"
        ".slabel{font-size:11px;color:#5b6876;text-shadow:0 0 3px #fff;white-space:nowrap}"
        ".geoapp-legend{position:absolute;z-index:1000;right:10px;top:10px;background:#fffe;padding:8px 10px;"
        "border-radius:4px;font-size:12px;max-height:70vh;overflow:auto;box-shadow:0 1px 4px #0003}"
        ".geoapp-legend i{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:5px}</style>"
        f"<title>{html.escape(lab['title'])}</title>"
    ), name="geoapp_style")

    # folium's GeoJsonTooltip and GeoJsonPopup put a property into the page with innerHTML, unescaped: every
    # property they show is HTML built here, each user text in it escaped (a project named <img onerror=…> shows
    # as text; it never runs).
    boundaries = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": json.loads(d["boundary"]),
         "properties": {"name": html.escape(names["division"][d["code"]])}}
        for d in divisions if d["boundary"]
    ]}
    folium.GeoJson(
        boundaries, name=lab["division"],
        style_function=lambda _f: {"color": "#51606f", "weight": 1.4, "fillColor": "#ffffff", "fillOpacity": 0.3},
        tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
    ).add_to(m)
    for d in divisions:
        if d["boundary"]:
            shape = shapely.from_geojson(d["boundary"])
            pt = shape.point_on_surface()
            folium.Marker([pt.y, pt.x], icon=folium.DivIcon(
                html=f"<div class='dlabel'>{html.escape(names['division'][d['code']])}</div>",
                icon_size=(0, 0), icon_anchor=(0, 0))).add_to(m)
        if d["seat_lat"] is not None:
            folium.CircleMarker([d["seat_lat"], d["seat_lon"]], radius=3, color="#333", weight=1, fill=True,
                                fill_color="#333", fill_opacity=1).add_to(m)
            seat = d["seat_name"] if d["boundary"] else names["division"][d["code"]]
            if seat:
                folium.Marker([d["seat_lat"], d["seat_lon"]], icon=folium.DivIcon(
                    html=f"<div class='slabel'>{html.escape(seat)}</div>", icon_size=(0, 0),
                    icon_anchor=(-6, 6))).add_to(m)

    # one GeoJSON layer for all projects (compact, no jQuery): style per feature, the name (tooltip) and the card
    # (popup) as escaped HTML
    points = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [p["lon"], p["lat"]]},
         "properties": {"name": html.escape(p["name"]), "card": _card(p, names, lang),
                        "color": colours.get(p["sector"], "#777777"), "radius": _radius(p["total_investment"], classes),
                        "unknown": p["total_investment"] is None}}
        for p in projects
    ]}
    if projects:
        folium.GeoJson(
            points, name=lab["count"],
            marker=folium.CircleMarker(radius=7, fill=True, fill_opacity=0.95, weight=1.5),
            style_function=lambda f: {
                "fillColor": f["properties"]["color"], "radius": f["properties"]["radius"],
                "color": "#333333" if f["properties"]["unknown"] else "#ffffff",
                "dashArray": "2 2" if f["properties"]["unknown"] else None,
            },
            tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
            popup=folium.GeoJsonPopup(fields=["card"], labels=False, max_width=340),
        ).add_to(m)
    if projects:
        lats = [p["lat"] for p in projects] + [b[0] for b in bounds]
        lons = [p["lon"] for p in projects] + [b[1] for b in bounds]
    else:
        lats, lons = [b[0] for b in bounds], [b[1] for b in bounds]
    if lats:
        m.fit_bounds([[min(lats), min(lons)], [max(lats), max(lons)]], padding=(20, 20))

    total = sum(float(p["total_investment"]) for p in projects if p["total_investment"] is not None)
    used = sorted({p["sector"] for p in projects}, key=lambda c: list(colours).index(c) if c in colours else 99)
    filt = describe_filter(params, names, layers_dir, lang) or lab["none"]
    legend = (
        f"<div class='geoapp-legend' id='geoapp-legend'><b>{html.escape(lab['title'])}</b><br>"
        f"<span id='geoapp-count'>{len(projects)}</span> {html.escape(lab['count'])} · "
        f"{html.escape(lab['total'])} {html.escape(money(total, lang))}<br>"
        f"{html.escape(lab['filter'])}: {html.escape(filt)}<br>{html.escape(lab['made'])}: {date.today().isoformat()}"
        + "".join(f"<div><i style='background:{html.escape(colours.get(c, '#777'))}'></i>"
                  f"{html.escape(names['sector'].get(c, c))}</div>" for c in used)
        + "</div>"
    )
    m.get_root().html.add_child(Element(legend))
    return m.get_root().render(), len(projects)


def export_map(conn: Connection, params: Mapping, out: Path, layers_dir: Path, static_dir: Path,
               lang: str = "zh") -> int:
    """Write the offline map to ``out``; returns the number of projects on it."""
    page, n = build_map(conn, params, layers_dir, static_dir, lang)
    Path(out).write_text(page, encoding="utf-8")
    return n
