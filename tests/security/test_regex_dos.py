"""Regular-expression denial of service: one request, or one cell of an import, must not buy seconds of CPU.

The coordinate, month, degrees-minutes-seconds and year patterns stacked optional runs of whitespace, so
backtracking grew with the square (or the fourth power) of the blanks: "1" + 12,000 blanks + "x" as a route's start
took 2 s and stalled /health meanwhile (the GIL). Now every parser of outside text caps its input before any pattern
runs, and the patterns themselves are linear. Each is fed 100 KB of hostile text and must refuse or parse it in under
50 ms of this thread's CPU (``time.thread_time``: robust on a loaded machine), best of three.
"""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Callable

import pytest

from geoapp.divisions import division_from_place
from geoapp.editing import progress
from geoapp.editing.projects import EditError
from geoapp.ingest import coords, headers, values
from geoapp.ingest.values import CellError
from geoapp.routing import places, roads
from geoapp.routing.places import PlaceError, check_place_texts, resolve_place
from geoapp.routing.request import minutes_of

N = 100_000
LIMIT_S = 0.05

BLANKS = " " * N


def repeated(fragment: str) -> str:
    return fragment * (N // len(fragment) + 1)


HOSTILE = {
    "blanks between a number and junk": "1" + BLANKS + "x",
    "blanks after a separator": "1," + BLANKS + "x",
    "blanks after the degree sign": "1°" + BLANKS + "x",
    "blanks after minutes": "1°1'" + BLANKS + "x",
    "repeated degree-minute fragments": repeated("1°1'") + "x",
    "repeated degree-minute-second fragments": repeated("1°1'1\"") + "x",
    "blanks after a year and a dash": "2025-" + BLANKS + "x",
    "blanks after a year and a month": "2025-1" + BLANKS + "x",
    "repeated year-month fragments": repeated("2025年1月") + "x",
    "digits then junk": "1" * N + "x",
    "a run of separators": "1" + repeated(", ") + "x",
}


class Runaway(BaseException):  # not caught by the refusals the parsers raise
    pass


def _stop(*_args) -> None:
    raise Runaway


def cpu_seconds(work: Callable[[], object]) -> float:
    """Best of three runs, in CPU seconds of this thread (the first may warm a cache); a run still going after a
    second is stopped (the regex engine checks for signals) and counts as a second, so a regression fails the test
    instead of hanging it."""
    best = float("inf")
    previous = signal.signal(signal.SIGALRM, _stop)
    try:
        for _ in range(3):
            start = time.thread_time()
            signal.setitimer(signal.ITIMER_REAL, 1.0)
            try:
                work()
                best = min(best, time.thread_time() - start)
            except Runaway:
                best = min(best, 1.0)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
    finally:
        signal.signal(signal.SIGALRM, previous)
    return best


def refused_or_parsed(parse: Callable[[str], object], text: str, refusal: type[Exception] | None) -> Callable:
    def work() -> None:
        try:
            parse(text)
        except Exception as exc:
            if refusal is None or not isinstance(exc, refusal):
                raise
    return work


def _route_start(text: str) -> None:
    check_place_texts(text, "start")


def _pair(text: str) -> None:
    coords.parse_pair(text)


def _maxspeed(text: str) -> None:
    assert roads._speed({"highway": "primary", "maxspeed": text}) == roads.SPEEDS_KMH["primary"]


# (parser, the refusal it raises for a too-long text or None when it answers "not one" quietly)
PARSERS: dict[str, tuple[Callable[[str], object], type[Exception] | None]] = {
    "route place (start/end/overnight)": (_route_start, PlaceError),
    "progress month": (progress.parse_month, EditError),
    "coordinate (decimal or DMS)": (coords.parse_degrees, CellError),
    "coordinate pair cell": (_pair, CellError),
    "year cell": (values.year, CellError),
    "clock time HH:MM": (lambda t: minutes_of(t, "day_start"), ValueError),
    "header cell": (headers.match_header, None),
    "OSM maxspeed tag": (_maxspeed, None),
    "spreadsheet apostrophe (import)": (values.unquote_formula, None),
    "spreadsheet apostrophe (export)": (values.neutralise_formula, None),
}


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize("attack", HOSTILE)
def test_every_parser_refuses_or_parses_100_kb_of_hostile_text_at_once(parser, attack):
    parse, refusal = PARSERS[parser]
    text = HOSTILE[attack]
    assert len(text) >= N
    seconds = cpu_seconds(refused_or_parsed(parse, text, refusal))
    assert seconds < LIMIT_S, f"{parser} took {seconds * 1000:.0f} ms on {attack}"


@pytest.mark.parametrize("parse, refusal, message", [
    (lambda t: check_place_texts(t, "start"), PlaceError, "地点太长"),
    (progress.parse_month, EditError, "太长"),
    (coords.parse_degrees, CellError, "坐标单元格太长"),
    (coords.parse_pair, CellError, "坐标单元格太长"),
    (values.year, CellError, "年份单元格太长"),
    (lambda t: minutes_of(t, "day_start"), ValueError, "时间太长"),
])
def test_a_too_long_text_is_a_clear_error_in_both_languages_not_a_silent_cut(parse, refusal, message):
    with pytest.raises(refusal) as caught:
        parse("1" + BLANKS + "x")
    error = caught.value
    said = f"{getattr(error, 'zh', '')} {getattr(error, 'en', '')} {error}"
    assert message in said and "too long" in said


def test_the_caps_keep_every_valid_text():
    """The longest texts people write still parse: the caps are far above them."""
    assert coords.parse_pair("东经122°14′35.2″ , 北纬43°39′12.5″") == pytest.approx(
        (122 + 14 / 60 + 35.2 / 3600, 43 + 39 / 60 + 12.5 / 3600))
    assert coords.parse_degrees("  122.2430000000001  ") == pytest.approx(122.243)
    assert values.year("2025 年 03 月 15 日") == 2025
    assert progress.parse_month(" 2025 年 12 月 ").month == 12
    assert progress.parse_month("2025-12-01").month == 12
    assert minutes_of(" 8:30 ", "day_start") == 510
    check_place_texts("X" * places.MAX_PLACE_CHARS, "start")          # a 40-character project code and more
    check_place_texts({"lon": 122.2, "lat": 43.6, "name": "宾馆"}, "end")
    with pytest.raises(PlaceError) as caught:
        check_place_texts({"北线": ["开鲁", "1" + BLANKS + "x"]}, "overnight_by_route")
    assert caught.value.parameter == "overnight_by_route.北线[1]"


# The patterns on their own, without the caps in front of them: linear too, so a future caller that forgets a cap
# is still safe.
PATTERNS = {
    "places.COORDS": places.COORDS.fullmatch,
    "progress._MONTH": progress._MONTH.fullmatch,
    "coords._DMS": coords._DMS.fullmatch,
    "coords._PAIR_SPLIT": coords._PAIR_SPLIT.split,
    "values._YEAR": values._YEAR.fullmatch,
    "roads.MAXSPEED": roads.MAXSPEED.fullmatch,
    "headers._PARENS": headers._PARENS.match,
}


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("attack", HOSTILE)
def test_the_patterns_themselves_are_linear(pattern, attack):
    seconds = cpu_seconds(lambda: PATTERNS[pattern](HOSTILE[attack]))
    assert seconds < LIMIT_S, f"{pattern} took {seconds * 1000:.0f} ms on {attack}"


def geoapp_patterns() -> list[tuple[str, str, str]]:
    """Every pattern literal in geoapp/ as (file, method, source): re.compile(...) and the inline re.match/sub/split
    calls, found in the syntax tree (so a new pattern is checked without being listed here)."""
    import ast
    from pathlib import Path

    found = []
    for path in sorted((Path(__file__).resolve().parents[2] / "geoapp").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "re"
                    and node.func.attr in ("compile", "match", "search", "fullmatch", "sub", "split")
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                found.append((path.name, node.func.attr, node.args[0].value))
    return found


def test_no_pattern_in_geoapp_backtracks_on_blanks_between_tokens():
    """The class of the bug, over the source: two runs of whitespace that may both match nothing, with nothing
    mandatory between them (``\\s*(?:月)?\\s*``, ``\\s*[,\\s]\\s*``), split one run of blanks in quadratically
    many ways. Every pattern in geoapp/ is tried on the hostile texts, anchored as the compiled ones are used
    (match), and inline ones with their own method (a sub or split scans the whole text)."""
    patterns = geoapp_patterns()
    assert len(patterns) >= 10
    for name, method, source in patterns:
        pattern = re.compile(source, re.IGNORECASE)
        probe = {"sub": lambda t, p=pattern: p.sub("-", t), "split": pattern.split}.get(method, pattern.match)
        for attack, text in HOSTILE.items():
            seconds = cpu_seconds(lambda t=text, f=probe: f(t))
            assert seconds < LIMIT_S, f"{name}: {source!r} took {seconds * 1000:.0f} ms on {attack}"


@pytest.fixture
def conn(engine):
    with engine.connect() as connection:
        yield connection


def test_a_route_place_and_a_division_text_from_the_database_side_are_refused_or_answered_at_once(conn):
    """resolve_place caps the text before COORDS or any query; division_from_place (an import's 建设地点) drops at
    most a few leading province/city names instead of copying the text once per repeated prefix."""
    for text in HOSTILE.values():
        assert cpu_seconds(refused_or_parsed(lambda t: resolve_place(conn, t, "start"), text, PlaceError)) < LIMIT_S
    prefixes = repeated("通辽")
    assert cpu_seconds(lambda: division_from_place(conn, prefixes)) < LIMIT_S
    assert division_from_place(conn, prefixes) is None
    assert division_from_place(conn, "内蒙古自治区通辽市开鲁县大榆树镇") == "150523"


# -- over HTTP: the server answers a hostile request with a 4xx at once, never a 5xx --------------------------------

REFUSED = {400, 401, 403, 413, 414, 422, 431}
HTTP_LIMIT_S = 1.0   # wall time of one request through the test client (the quadratic month took minutes)


def raw_get(client, path: str, params: dict[str, str]) -> tuple[int, bytes]:
    """GET through the whole app (middleware, router, error handler) on the test client's event loop, with a query
    string longer than httpx builds (64 KB); a real server's HTTP parser (h11) refuses such a request line itself."""
    from urllib.parse import urlencode

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "root_path": "", "query_string": urlencode(params).encode(),
             "headers": [(b"host", b"testserver")], "client": ("127.0.0.1", 50000), "server": ("testserver", 80)}
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    client.portal.call(client.app, scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def test_a_hostile_month_is_refused_over_http_at_once(client):
    for attack in ("blanks between a number and junk", "blanks after a year and a month",
                   "repeated year-month fragments"):
        for path in ("/progress", "/progress/missing"):
            start = time.perf_counter()
            status, body = raw_get(client, path, {"month": HOSTILE[attack]})
            elapsed = time.perf_counter() - start
            assert status in REFUSED, body[:300]
            assert elapsed < HTTP_LIMIT_S, f"{path}?month= took {elapsed:.2f} s on {attack}"
            if status == 422:
                assert b'"parameter":"month"' in body.replace(b" ", b"")


def test_a_hostile_route_start_is_refused_over_http_at_once(client, accounts):
    for field, value in (("start", HOSTILE["blanks between a number and junk"]),
                         ("end", HOSTILE["blanks after a separator"]),
                         ("overnight", [HOSTILE["blanks between a number and junk"]])):
        body = {"projects": ["TL2025-001"], "routes": 1, "days": 2 if field == "overnight" else 1, field: value}
        start = time.perf_counter()
        answer = client.post("/routes/plan", json=body, headers=accounts["editor"])
        elapsed = time.perf_counter() - start
        assert answer.status_code in REFUSED, answer.text[:300]
        assert elapsed < HTTP_LIMIT_S, f"POST /routes/plan took {elapsed:.2f} s with a hostile {field}"
        if answer.status_code == 400:
            assert answer.json()["parameter"].startswith(field)
