"""Route map and handbook PDFs: HTML + CSS pages around the SVG maps, laid out and printed by WeasyPrint.

WeasyPrint repeats a table's header on every page, numbers pages in the margin boxes and subsets the
CJK OpenType font it embeds, so the itinerary can run over several pages and stay searchable.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache
from html import escape
from pathlib import Path

from geoapp.printing import mapdraw
from geoapp.printing.basemap import BaseMap
from geoapp.printing.fonts import css_family_list
from geoapp.printing.labels import date_range, day_date, duration, money, word
from geoapp.printing.model import DayPrint, Imprint, PrintOptions, RoutePrint, StopPrint
from geoapp.printing.projection import fit_frame
from geoapp.vocab import Vocabulary, vocabularies

PAPER_MM = {"A4": (210.0, 297.0), "A3": (297.0, 420.0)}
MARGIN = {"top": 9.0, "right": 10.0, "bottom": 12.0, "left": 10.0}
HEADER_MM, STRIP_MM, GAP_MM = 17.0, 13.5, 2.0


@dataclass(frozen=True)
class Vocabs:
    sectors: Vocabulary
    tiers: Vocabulary
    statuses: Vocabulary

    @classmethod
    def load(cls, layers_dir: Path) -> Vocabs:
        v = vocabularies(Path(layers_dir))
        return cls(v["sector"], v["tier"], v["status"])


@cache
def _font_config():
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


def _write_pdf(html: str) -> bytes:
    from weasyprint import HTML

    return HTML(string=html).write_pdf(font_config=_font_config())


def svg_img(svg_text: str) -> str:
    """An <img> holding an SVG as a data URI: WeasyPrint draws it without styling each element as HTML."""
    data = base64.b64encode(svg_text.encode("utf-8")).decode("ascii")
    return f'<img src="data:image/svg+xml;base64,{data}">'


def page_size(paper: str, orientation: str) -> tuple[float, float]:
    short, long = PAPER_MM[paper]
    return (long, short) if orientation == "landscape" else (short, long)


def map_area(paper: str, orientation: str) -> tuple[float, float]:
    """Width and height in mm left for the map on a map sheet (after margins, title and notes strip)."""
    pw, ph = page_size(paper, orientation)
    return (pw - MARGIN["left"] - MARGIN["right"],
            ph - MARGIN["top"] - MARGIN["bottom"] - HEADER_MM - STRIP_MM - 2 * GAP_MM - 3.0)


def default_orientation(route: RoutePrint, paper: str = "A4") -> str:
    """The orientation that shows the route at the larger scale (landscape when both are equal)."""
    pts = route.points()
    scales = {o: fit_frame(pts, *map_area(paper, o), margin=0.10).scale for o in ("landscape", "portrait")}
    return "portrait" if scales["portrait"] < scales["landscape"] else "landscape"


def _css(paper: str, orientation: str, lang: str) -> str:
    page = word("page", lang, p='" counter(page) "', n='" counter(pages) "')
    return f"""
    @page {{ size: {paper} {orientation}; margin: {MARGIN['top']}mm {MARGIN['right']}mm {MARGIN['bottom']}mm
             {MARGIN['left']}mm;
      @bottom-left {{ content: string(routefooter); font-size: 6.5pt; color: #6b7280; }}
      @bottom-right {{ content: "{page}"; font-size: 6.5pt; color: #6b7280; }} }}
    @page cover {{ @bottom-left {{ content: none; }} @bottom-right {{ content: none; }} }}
    @page sheet-landscape {{ size: {paper} landscape; }}
    @page sheet-portrait {{ size: {paper} portrait; }}
    .routemark {{ string-set: routefooter attr(data-footer); }}
    .sheet-landscape {{ page: sheet-landscape; }}
    .sheet-portrait {{ page: sheet-portrait; }}
    tr.lunch td {{ color: #6b7280; font-style: italic; }}
    .unassigned {{ margin-top: 4mm; font-size: 7.8pt; page-break-inside: avoid; }}
    .unassigned h3 {{ font-size: 9pt; margin-bottom: 1mm; }}
    .unassigned li {{ margin: 0.4mm 0; }}
    html {{ font-family: {css_family_list()}; color: #1f2933; font-size: 8.6pt; line-height: 1.35; }}
    body {{ margin: 0; }}
    h1, h2, h3 {{ margin: 0; font-weight: 700; }}
    .sheet {{ page-break-after: always; }}
    .sheet:last-child {{ page-break-after: auto; }}
    .head {{ height: {HEADER_MM}mm; position: relative; border-bottom: 0.6mm solid #1f2933;
             margin-bottom: {GAP_MM}mm; }}
    .head .titles {{ position: absolute; left: 0; bottom: 0; right: 60mm; overflow: hidden; }}
    .kicker {{ font-size: 8pt; color: #6b7280; letter-spacing: 0.06em; }}
    .head h1 {{ font-size: 17pt; line-height: 1.15; white-space: nowrap; }}
    .sub {{ font-size: 8.5pt; color: #374151; margin-bottom: 1mm; white-space: nowrap; }}
    .model {{ position: absolute; right: 0; bottom: 1mm; text-align: right; font-size: 7.5pt; color: #374151;
              white-space: nowrap; }}
    .model b {{ display: block; font-size: 9.5pt; color: #1f2933; }}
    .mark {{ position: absolute; right: 0; top: 0; border: 0.35mm solid #b3261e; color: #b3261e; font-weight: 700;
             font-size: 8pt; padding: 0.3mm 1.6mm; letter-spacing: 0.1em; }}
    .strip .imprint {{ color: #1f2933; }}
    .cover .mark {{ position: static; display: inline-block; margin-bottom: 6mm; font-size: 10pt; }}
    .scorenote {{ font-size: 7.4pt; color: #4b5563; margin-top: 4mm; }}
    .strip {{ height: {STRIP_MM}mm; margin-top: {GAP_MM}mm; font-size: 6.3pt; color: #4b5563;
              line-height: 1.4; overflow: hidden; }}
    .mapbox img {{ display: block; }}
    h2.section {{ font-size: 13pt; border-bottom: 0.5mm solid #1f2933; padding-bottom: 1mm; margin-bottom: 2mm; }}
    .totals {{ font-size: 8.6pt; margin: 0 0 2.5mm 0; }}
    table.itinerary {{ width: 100%; border-collapse: collapse; table-layout: fixed; font-size: 7.8pt; }}
    table.itinerary thead {{ display: table-header-group; }}
    table.itinerary th, table.itinerary td {{ box-sizing: border-box; }}
    table.itinerary th {{ background: #1f2933; color: #fff; font-weight: 700; padding: 1.2mm 1mm;
                          text-align: left; }}
    table.itinerary td {{ padding: 0.9mm 1mm; border-bottom: 0.2mm solid #d5d9de; vertical-align: top; }}
    table.itinerary tr {{ page-break-inside: avoid; }}
    table.itinerary td.num, table.itinerary th.num {{ text-align: right; }}
    table.itinerary td.seq {{ text-align: center; }}
    .seqdot {{ display: inline-block; width: 4.4mm; height: 4.4mm; border-radius: 50%; text-align: center;
               font-size: 6.8pt; line-height: 4.4mm; font-weight: 700; }}
    tr.dayhead td {{ background: #e8ebef; font-weight: 700; font-size: 8.4pt; padding: 1.4mm 1mm;
                     border-top: 0.4mm solid #1f2933; }}
    tr.place td {{ color: #374151; font-style: normal; }}
    tr.place td.name {{ font-weight: 700; }}
    tr.subtotal td {{ background: #f6f7f9; font-weight: 700; }}
    tr.total td {{ background: #1f2933; color: #fff; font-weight: 700; padding: 1.4mm 1mm; }}
    .muted {{ color: #6b7280; }}
    .card {{ page-break-before: always; }}
    .cardhead {{ border-bottom: 0.6mm solid #1f2933; padding: 0 0 2mm 15.5mm; position: relative;
                 min-height: 12mm; }}
    .bignum {{ position: absolute; left: 0; top: 0; width: 12mm; height: 12mm; border-radius: 50%;
               text-align: center; line-height: 12mm; font-size: 15pt; font-weight: 700; }}
    .cardhead h2 {{ font-size: 14pt; line-height: 1.2; }}
    .cardhead .visit {{ font-size: 8.5pt; color: #374151; }}
    .cardbody {{ margin-top: 3mm; }}
    .cardbody:after {{ content: ""; display: block; clear: both; }}
    table.facts {{ border-collapse: collapse; font-size: 8.6pt; width: calc(100% - 70mm); table-layout: fixed; }}
    table.facts th {{ text-align: left; width: 24mm; color: #4b5563; font-weight: 400; padding: 1.1mm 1mm;
                      vertical-align: top; border-bottom: 0.2mm solid #e2e5e9; }}
    table.facts td {{ padding: 1.1mm 1mm; border-bottom: 0.2mm solid #e2e5e9; vertical-align: top; }}
    .locator {{ float: right; width: 64mm; }}
    .locator .cap {{ font-size: 6.8pt; color: #6b7280; margin-top: 0.8mm; }}
    .scope {{ margin-top: 3mm; font-size: 8.6pt; }}
    .scope b {{ color: #4b5563; font-weight: 400; }}
    .notes {{ margin-top: 4mm; border: 0.3mm solid #9aa5b1; padding: 1.5mm 3mm 3mm 3mm; }}
    .notes .cap {{ font-size: 8pt; color: #4b5563; font-weight: 700; }}
    .notes .line {{ height: 8mm; border-bottom: 0.2mm solid #c9ced5; }}
    table.score {{ width: 100%; border-collapse: collapse; margin-top: 1mm; font-size: 8.4pt; table-layout: fixed; }}
    table.score th {{ border: 0.3mm solid #9aa5b1; background: #eef0f3; padding: 1.2mm 2mm; font-weight: 700;
                      text-align: center; }}
    table.score td {{ border: 0.3mm solid #9aa5b1; height: 6.5mm; padding: 1mm 2mm; vertical-align: top;
                      color: #4b5563; }}
    table.score td.sign {{ height: 9mm; }}
    .source {{ margin-top: 3mm; font-size: 6.6pt; color: #6b7280; }}
    .cover {{ page: cover; padding-top: 40mm; }}
    .cover .kicker {{ font-size: 11pt; }}
    .cover h1 {{ font-size: 30pt; margin: 4mm 0 2mm 0; }}
    .cover .routename {{ font-size: 20pt; font-weight: 700; color: #b3261e; }}
    .cover .facts {{ margin-top: 14mm; font-size: 10.5pt; line-height: 1.9; }}
    .cover table.days {{ margin-top: 8mm; border-collapse: collapse; font-size: 9.5pt; width: 100%; }}
    .cover table.days td {{ border-bottom: 0.2mm solid #d5d9de; padding: 1.8mm 1mm; }}
    .cover .foot {{ margin-top: 30mm; font-size: 7.5pt; color: #6b7280; line-height: 1.6; }}
    """


def _dates(route: RoutePrint, lang: str) -> str:
    """The calendar dates of the tour, or its length in days when the plan has no date."""
    if not route.dated:
        return word("days_n", lang, n=len(route.days))
    first, last = route.days[0].depart.date(), route.days[-1].arrive.date()
    return date_range(first, last, lang)


def _day_date(route: RoutePrint, day: DayPrint, lang: str) -> str:
    return day_date(day.depart.date(), lang) if route.dated else ""


def _investment_sum(route: RoutePrint) -> tuple[Decimal | None, int]:
    """The total investment of the projects visited (known values only) and how many of them are known."""
    known = [Decimal(s.total_investment) for s in route.stops if s.total_investment is not None]
    return (sum(known, Decimal(0)) if known else None), len(known)


def _summary(route: RoutePrint, lang: str) -> str:
    line = word("totals_line", lang, stops=len(route.stops), days=len(route.days), km=f"{route.total_km:.1f}",
                drive=duration(route.drive_minutes, lang), service=duration(route.service_minutes, lang))
    total, known = _investment_sum(route)
    if total is None:
        return line
    sep = "；" if lang == "zh" else "; "
    return line + sep + word("investment_sum", lang, money=money(total, lang), known=known, n=len(route.stops))


def _model(route: RoutePrint, lang: str, short: bool = False) -> str:
    if route.travel_label and not short:
        return route.travel_label
    key = "model_road_network" if route.travel_model == "road_network" else "model_estimate"
    return word(key + ("_short" if short else ""), lang)


def _imprint_line(imprint: Imprint, lang: str) -> str:
    """内部资料 · the boundary disclaimer · 编制单位, as every printed map carries them."""
    sep = "；" if lang == "zh" else " · "
    return sep.join([word("internal", lang), word("disclaimer", lang),
                     word("compiled_by", lang, org=imprint.name(lang))])


def _data_strip(route: RoutePrint, base: BaseMap, frame_lon: float, lang: str, imprint: Imprint) -> str:
    model = "，".join([_model(route, lang), *route.travel_details]) if lang == "zh" else \
        ", ".join([_model(route, lang), *route.travel_details])
    parts = [f"{word('travel_model', lang)}：{model}" if lang == "zh" else f"{word('travel_model', lang)}: {model}"]
    if route.data_date:
        parts.append(word("data_line", lang, date=route.data_date.isoformat(), source=route.data_source or "geoapp"))
    boundaries = base.boundary_source.get("en" if lang == "en" else "zh") or "—"
    parts.append(word("boundaries_source", lang, source=boundaries))
    if base.roads and base.road_source:
        parts.append(word("roads_source", lang, source=base.road_source))
    parts.append(word("projection", lang, lon=f"{frame_lon:g}"))
    if route.planned_at:
        parts.append(word("planned_at", lang, ts=route.planned_at.strftime("%Y-%m-%d %H:%M")))
    parts.append(word("printed_at", lang, ts=datetime.now().strftime("%Y-%m-%d %H:%M")))
    if any(s.source == "synthetic" for s in route.stops):
        parts.append(word("synthetic_note", lang))
    sep = "；" if lang == "zh" else " · "
    imprint_html = f'<span class="imprint">{escape(_imprint_line(imprint, lang))}</span>'
    return imprint_html + sep + sep.join(escape(p) for p in parts)


def _title(route: RoutePrint, lang: str, what: str) -> str:
    return f"{route.name} · {word(what, lang)}" if lang == "zh" else f"{word(what, lang)}: {route.name}"


def map_sheet(route: RoutePrint, base: BaseMap, vocabs: Vocabs, paper: str, orientation: str, lang: str,
              imprint: Imprint | None = None) -> str:
    """One page: title block, the map, and the data/source strip."""
    width, height = map_area(paper, orientation)
    svg_text, frame = mapdraw.route_map_svg(route, base, vocabs.sectors, width, height, lang)
    sub = f"{_dates(route, lang)} · " + word("summary_line", lang, stops=len(route.stops), days=len(route.days),
                                             km=f"{route.total_km:.1f}")
    pw, ph = page_size(paper, orientation)
    imprint = imprint or Imprint()
    return f"""
    <section class="sheet sheet-{orientation} routemark" data-footer="{escape(_footer(route, lang))}"
      style="height:{ph - MARGIN['top'] - MARGIN['bottom'] - 0.5:.1f}mm; overflow:hidden">
      <div class="head">
        <div class="titles">
          <div class="kicker">{escape(word('city', lang))} · {escape(word('kicker', lang))}</div>
          <h1>{escape(_title(route, lang, 'map_title'))}</h1><div class="sub">{escape(sub)}</div></div>
        <div class="mark">{escape(word('internal', lang))}</div>
        <div class="model">{escape(word('travel_model', lang))}<b>{escape(_model(route, lang, short=True))}</b></div>
      </div>
      <div class="mapbox">{svg_img(svg_text)}</div>
      <div class="strip">{_data_strip(route, base, frame.lon_0, lang, imprint)}</div>
    </section>"""


def _seq_cell(stop: StopPrint, sectors: Vocabulary) -> str:
    fill = mapdraw.sector_colour(sectors, stop.sector)
    return (f'<span class="seqdot" style="background:{fill};color:{mapdraw.svg.readable_on(fill)}">'
            f'{stop.seq}</span>')


def _division(stop: StopPrint, lang: str) -> str:
    return (stop.division_en or stop.division) if lang == "en" else stop.division


def _lunch_row(day: DayPrint, lang: str) -> str:
    start, minutes = day.lunch
    end = start + timedelta(minutes=minutes)
    return (f'<tr class="lunch"><td></td><td colspan="4">{escape(word("lunch", lang))}</td>'
            f'<td>{start:%H:%M}</td><td>{end:%H:%M}</td><td class="num">{minutes}</td><td></td><td></td>'
            f'<td></td></tr>')


def itinerary_table(route: RoutePrint, vocabs: Vocabs, lang: str) -> str:
    """The schedule: one block per day (start, stops, overnight or end, subtotal), then the totals row."""
    cols = [("no", "5.5%"), ("project", "23%"), ("banner", "10%"), ("sector", "11%"), ("investment_short", "11%"),
            ("arrival", "6.5%"), ("departure", "6.5%"), ("stay", "6%"), ("leg_km", "7%"), ("leg_min", "7%"),
            ("notes", "6.5%")]
    numeric = {"stay", "leg_km", "leg_min", "investment_short"}
    head = "".join(f'<th class="{"num" if k in numeric else ""}" style="width:{w}">{escape(word(k, lang))}</th>'
                   for k, w in cols)
    body = []
    for day in route.days:
        stops = route.stops_of(day.day)
        label = word("day", lang, n=day.day)
        when = f" · {_day_date(route, day, lang)}" if route.dated else ""
        body.append(f'<tbody><tr class="dayhead"><td colspan="11">{escape(label + when)}</td></tr>')
        body.append(f'<tr class="place"><td></td><td class="name" colspan="4">'
                    f'{escape(word("depart_from", lang, place=day.start.name))}</td><td></td>'
                    f'<td>{day.depart:%H:%M}</td><td></td><td></td><td></td><td></td></tr>')
        lunch_at = day.lunch[0] if day.lunch else None
        for s in stops:
            if lunch_at is not None and lunch_at < s.arrival:
                body.append(_lunch_row(day, lang))
                lunch_at = None
            body.append(
                f'<tr><td class="seq">{_seq_cell(s, vocabs.sectors)}</td><td>{escape(s.name)}</td>'
                f'<td>{escape(_division(s, lang))}</td>'
                f'<td>{escape(mapdraw.sector_label(vocabs.sectors, s.sector, lang))}</td>'
                f'<td class="num">{escape(money(s.total_investment, lang))}</td>'
                f'<td>{s.arrival:%H:%M}</td><td>{s.departure:%H:%M}</td><td class="num">{s.stay_minutes}</td>'
                f'<td class="num">{s.leg_km:.1f}</td><td class="num">{s.leg_minutes:.0f}</td>'
                f'<td>{escape(s.notes)}</td></tr>')
        if lunch_at is not None:
            body.append(_lunch_row(day, lang))
        end_key = "overnight_at" if day.overnight else "arrive_at"
        body.append(f'<tr class="place"><td></td><td class="name" colspan="4">'
                    f'{escape(word(end_key, lang, place=day.end.name))}</td><td>{day.arrive:%H:%M}</td><td></td>'
                    f'<td></td><td class="num">{day.final_leg_km:.1f}</td>'
                    f'<td class="num">{day.final_leg_minutes:.0f}</td><td></td></tr>')
        km, minutes = route.day_totals(day)
        stay = sum(s.stay_minutes for s in stops)
        if len(route.days) > 1:
            body.append(f'<tr class="subtotal"><td></td><td colspan="4">{escape(word("day_total", lang))} · '
                        f'{escape(word("stops_n", lang, n=len(stops)))}</td><td></td><td></td>'
                        f'<td class="num">{stay}</td><td class="num">{km:.1f}</td><td class="num">{minutes:.0f}</td>'
                        f'<td></td></tr>')
        body.append("</tbody>")
    body.append(
        f'<tbody><tr class="total"><td></td><td colspan="3">{escape(word("total", lang))} · '
        f'{escape(word("stops_n", lang, n=len(route.stops)))}</td>'
        f'<td class="num">{escape(money(_investment_sum(route)[0], lang))}</td><td></td><td></td>'
        f'<td class="num">{route.service_minutes}</td><td class="num">{route.total_km:.1f}</td>'
        f'<td class="num">{route.drive_minutes:.0f}</td><td></td></tr></tbody>')
    return (f'<table class="itinerary"><thead><tr>{head}</tr></thead>{"".join(body)}</table>')


def _unassigned(route: RoutePrint, lang: str) -> str:
    if not route.unassigned:
        return ""
    items = "".join(f"<li>{escape(name)}{'：' if lang == 'zh' else ': '}{escape(reason)}</li>"
                    for name, reason in route.unassigned)
    return (f'<div class="unassigned"><h3>{escape(word("unassigned", lang, n=len(route.unassigned)))}</h3>'
            f"<ul>{items}</ul></div>")


def itinerary_sheet(route: RoutePrint, vocabs: Vocabs, lang: str, title_key: str = "itinerary",
                    orientation: str | None = None) -> str:
    page = f" sheet-{orientation}" if orientation else ""
    return f"""
    <section class="sheet{page}">
      <h2 class="section">{escape(_title(route, lang, title_key))}</h2>
      <p class="totals">{escape(_summary(route, lang))}{'。' if lang == 'zh' else '. '}
        {escape(word('travel_model', lang))}{'：' if lang == 'zh' else ': '}{escape(_model(route, lang))}</p>
      {itinerary_table(route, vocabs, lang)}
      {_unassigned(route, lang)}
    </section>"""


def _footer(route: RoutePrint, lang: str) -> str:
    return f"{word('city', lang)} · {route.name} · {_dates(route, lang)}"


def _html(title: str, paper: str, orientation: str, lang: str, body: str) -> str:
    return (f'<!DOCTYPE html><html lang="{"en" if lang == "en" else "zh-CN"}"><head><meta charset="utf-8">'
            f'<title>{escape(title)}</title><style>{_css(paper, orientation, lang)}</style></head>'
            f'<body>{body}</body></html>')


def route_map_pdf(routes: RoutePrint | list[RoutePrint], base: BaseMap, vocabs: Vocabs,
                  options: PrintOptions, imprint: Imprint | None = None) -> bytes:
    """Per route: the map sheet, then the itinerary on the same paper and orientation."""
    routes = [routes] if isinstance(routes, RoutePrint) else routes
    lang, sections = options.lang, []
    orientations = [options.orientation or default_orientation(r, options.paper) for r in routes]
    for route, orientation in zip(routes, orientations, strict=True):
        sections.append(map_sheet(route, base, vocabs, options.paper, orientation, lang, imprint)
                        + itinerary_sheet(route, vocabs, lang, orientation=orientation))
    title = " / ".join(_title(r, lang, "map_title") for r in routes)
    return _write_pdf(_html(title, options.paper, orientations[0], lang, "".join(sections)))


def _fact(label: str, value: str | None, lang: str) -> str:
    shown = value if value not in (None, "") else word("unknown", lang)
    return f"<tr><th>{escape(label)}</th><td>{escape(str(shown))}</td></tr>"


def _vocab_label(vocab: Vocabulary, code: str | None, lang: str) -> str | None:
    return vocab.get(code).label(lang) if code and code in vocab.codes else code


def stop_card(route: RoutePrint, stop: StopPrint, vocabs: Vocabs, locator: mapdraw.LocatorMaps, lang: str) -> str:
    """One page per stop: who and what, a locator map, and room for notes and a score."""
    fill = mapdraw.sector_colour(vocabs.sectors, stop.sector)
    visit = (f"{word('day', lang, n=stop.day)} {stop.arrival:%H:%M}–{stop.departure:%H:%M} · "
             f"{_division(stop, lang)}")
    year = f"（{stop.plan_year}）" if stop.plan_year and lang == "zh" else (f" ({stop.plan_year})" if stop.plan_year
                                                                           else "")
    where = f"{stop.lat:.4f}°N, {stop.lon:.4f}°E"
    if stop.location_precision == "approximate":
        where += word("approximate", lang)
    facts = "".join([
        _fact(word("company", lang), stop.company, lang),
        _fact(word("sector", lang), mapdraw.sector_label(vocabs.sectors, stop.sector, lang), lang),
        _fact(word("tier", lang), _vocab_label(vocabs.tiers, stop.tier, lang), lang),
        _fact(word("status", lang), _vocab_label(vocabs.statuses, stop.status, lang), lang),
        _fact(word("investment_total", lang), money(stop.total_investment, lang), lang),
        _fact(word("investment_year", lang) + year, money(stop.planned_investment, lang), lang),
        _fact(word("responsible_unit", lang), stop.responsible_unit, lang),
        _fact(word("leader", lang), stop.leader, lang),
        _fact(word("banner", lang), _division(stop, lang), lang),
        _fact(word("location", lang), where, lang),
    ])
    source = f'<div class="source">{escape(word("source", lang))}：{escape(stop.source)}</div>' if stop.source else ""
    lines = "".join('<div class="line"></div>' for _ in range(9))
    return f"""
    <section class="card">
      <div class="cardhead">
        <div class="bignum" style="background:{fill};color:{mapdraw.svg.readable_on(fill)}">{stop.seq}</div>
        <div><h2>{escape(stop.name)}</h2><div class="visit">{escape(visit)} · {escape(stop.code)}</div></div>
      </div>
      <div class="cardbody">
        <div class="locator">{svg_img(locator.svg(stop))}
          <div class="cap">{escape(word('city', lang))} · {escape(route.name)}</div></div>
        <table class="facts">{facts}</table>
      </div>
      <div class="scope"><b>{escape(word('scope', lang))}：</b>{escape(stop.scope or word('unknown', lang))}</div>
      <div class="notes"><div class="cap">{escape(word('notes_space', lang))}</div>{lines}</div>
      {score_sheet(lang)}
      {source}
    </section>"""


SCORE_ROWS = 4


def score_sheet(lang: str) -> str:
    """An empty scoring sheet: the rubric (criteria and points) is the organiser's, so none is printed here.

    There is no tour object carrying a configured rubric yet; until there is, the handbook prints blank rows
    to be filled in from the organiser's rubric rather than weights the software would have to invent.
    """
    colon = "：" if lang == "zh" else ": "
    blank = "".join('<tr><td></td><td></td></tr>' for _ in range(SCORE_ROWS))
    return (f'<div class="scorenote"><b>{escape(word("score", lang))}</b>{colon}'
            f'{escape(word("score_rubric_note", lang))}</div>'
            f'<table class="score"><tr><th style="width:70%">{escape(word("score_item", lang))}</th>'
            f'<th>{escape(word("score_points", lang))}</th></tr>{blank}'
            f'<tr><td>{escape(word("score_total", lang))}</td><td></td></tr>'
            f'<tr><td class="sign">{escape(word("scorer", lang))}{colon}</td>'
            f'<td class="sign">{escape(word("score_date", lang))}{colon}</td></tr></table>')


def cover(route: RoutePrint, lang: str, imprint: Imprint | None = None) -> str:
    rows = "".join(
        f"<tr><td><b>{escape(word('day', lang, n=d.day))}</b></td><td>{escape(_day_date(route, d, lang))}</td>"
        f"<td>{escape(d.start.name)} → {escape(d.end.name)}</td>"
        f"<td>{escape(word('stops_n', lang, n=len(route.stops_of(d.day))))}</td></tr>"
        for d in route.days
    )
    return f"""
    <section class="sheet cover">
      <div class="mark">{escape(word('internal', lang))}</div>
      <div class="kicker">{escape(word('city', lang))}</div>
      <h1>{escape(word('handbook_title', lang))}</h1>
      <div class="routename">{escape(route.name)}</div>
      <div class="facts">{escape(_dates(route, lang))}<br>{escape(_summary(route, lang))}<br>
        {escape(word('travel_model', lang))}：{escape(_model(route, lang))}</div>
      <table class="days">{rows}</table>
      <div class="foot">{escape(word('compiled_by', lang, org=(imprint or Imprint()).name(lang)))}<br>
        {escape(word('printed_at', lang, ts=datetime.now().strftime('%Y-%m-%d %H:%M')))}
        {'<br>' + escape(word('synthetic_note', lang)) if any(s.source == 'synthetic' for s in route.stops) else ''}
      </div>
    </section>"""


def handbook_pdf(routes: RoutePrint | list[RoutePrint], base: BaseMap, vocabs: Vocabs,
                 options: PrintOptions, imprint: Imprint | None = None) -> bytes:
    """Per route: cover, the route map (on its best orientation), the schedule, then a card per stop."""
    routes = [routes] if isinstance(routes, RoutePrint) else routes
    lang, sections = options.lang, []
    for route in routes:
        map_orientation = options.orientation or default_orientation(route, options.paper)
        locator = mapdraw.LocatorMaps(route, base, 64.0, 58.0, lang)
        cards = "".join(stop_card(route, s, vocabs, locator, lang) for s in route.stops)
        sections.append(
            f'{cover(route, lang, imprint)}'
            f'{map_sheet(route, base, vocabs, options.paper, map_orientation, lang, imprint)}'
            f'{itinerary_sheet(route, vocabs, lang, "schedule", "portrait")}{cards}')
    title = " / ".join(_title(r, lang, "handbook_title") for r in routes)
    return _write_pdf(_html(title, options.paper, "portrait", lang, "".join(sections)))
