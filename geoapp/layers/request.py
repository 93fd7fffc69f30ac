"""A layer query from request parameters: paging, sort, property selection, output format and the filter.

Shared by items, tiles, stats and exports so they accept exactly the same parameters. A layer with ``stats_of``
(divisions) takes its own ``bbox``/``filter`` and hands the statistics layer's simple parameters (``sector``,
``tier`` …) to the statistics, so a choropleth shows the projects matching the map's current filter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection

from geoapp.layers import sql
from geoapp.layers.filters import COMMON_PARAMETERS, FilterError, Params, layer_filter
from geoapp.layers.registry import Layer, registry

PAGING = ("limit", "offset")
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
MAX_OFFSET = 2**31 - 1  # offsets and download limits are 32-bit in SQL: a larger one is a 400, not a 500
LANGS = ("zh", "en")
_INTEGER = re.compile(r"^[+-]?[0-9]{1,40}$")


@dataclass
class LayerQuery:
    layer: Layer
    src: sql.Source
    names: list[str]
    sort: list[tuple[str, bool]]
    limit: int | None
    offset: int
    fmt: str
    lang: str
    filters: dict[str, list[str]] = field(default_factory=dict)


def _one(params: Params, name: str) -> str | None:
    raw = params.get(name)
    if raw is None:
        return None
    vals = [raw] if isinstance(raw, str) else list(raw)
    if len(vals) > 1:
        raise FilterError(name, f"只能给一个值，收到 {len(vals)} 个", f"takes one value, got {len(vals)}")
    return vals[0].strip() if vals else None


def _int(params: Params, name: str, low: int, high: int | None) -> int | None:
    value = _one(params, name)
    if value is None or value == "":
        return None
    if not _INTEGER.match(value):  # ASCII digits only (int() also takes '١٢' and '1_000'), at most 40 of them
        raise FilterError(name, f"'{value[:40]}' 不是整数", f"'{value[:40]}' is not an integer")
    number = int(value)
    if number < low or (high is not None and number > high):
        rng = f"{low}..{high}" if high is not None else f"≥ {low}"
        raise FilterError(name, f"须在 {rng} 之间", f"must be in {rng}")
    return number


def _names(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def sortable(layer: Layer) -> list[str]:
    names = [p.name for p in layer.properties if p.type != "object"]
    if layer.stats_of:
        names += [p.name for p in layer.stats_of.properties if p.type != "object"]
    return names


def parse_sortby(layer: Layer, value: str | None) -> list[tuple[str, bool]]:
    if not value:
        return [(n.lstrip("+-"), n.startswith("-")) for n in layer.default_sort]
    allowed = sortable(layer)
    out = []
    for item in _names(value):
        desc = item.startswith("-")
        name = item.lstrip("+- ")
        if name not in allowed:
            raise FilterError("sortby", f"不能按 '{name}' 排序", f"cannot sort by '{name}'", allowed)
        out.append((name, desc))
    return out


def split_filter_params(layer: Layer, params: Params, reserved: Sequence[str],
                        layers_dir: Path) -> tuple[dict, dict]:
    """(own filter parameters, statistics-layer parameters); unknown names are errors listing what is allowed."""
    stats_names: list[str] = []
    if layer.stats_of:
        stats_names = list(registry(Path(layers_dir))[layer.stats_of.layer].filters)
    own_names = [*layer.filters, *COMMON_PARAMETERS]
    own: dict = {}
    stats: dict = {}
    for name, value in params.items():
        if name in reserved:
            continue
        if name in own_names:
            own[name] = value
        elif name in stats_names:
            stats[name] = value
        else:
            raise FilterError(name, "未知参数", "unknown parameter", [*reserved, *own_names, *stats_names])
    return own, stats


def parse_query(conn: Connection, layer: Layer, params: Params, layers_dir: Path, *, formats: Sequence[str],
                default_format: str, reserved_extra: Sequence[str] = (), paged_formats: Sequence[str] = ("json",),
                default_limit: int = DEFAULT_LIMIT, max_limit: int = MAX_LIMIT) -> LayerQuery:
    """Validate every parameter and build the layer's source with its filter.

    Paged formats default to ``default_limit`` features; download formats (geojson/csv/xlsx) return every match
    unless ``limit``/``offset`` are given.
    """
    reserved = ("f", "lang", "sortby", "properties", *PAGING, *reserved_extra)
    fmt = (_one(params, "f") or default_format).lower()
    if fmt not in formats:
        raise FilterError("f", f"不支持的格式 '{fmt}'", f"unsupported format '{fmt}'", formats)
    lang = (_one(params, "lang") or "zh").lower()
    if lang not in LANGS:
        raise FilterError("lang", f"不支持的语言 '{lang}'", f"unsupported language '{lang}'", LANGS)
    paged = fmt in paged_formats
    limit = _int(params, "limit", 1, None)
    if limit is not None:
        # Part 1 lets a server answer fewer than asked: a limit above the maximum is served as the maximum
        # (the page's next link continues), and no client needs to know our maximum first
        limit = min(limit, max_limit if paged else MAX_OFFSET)
    elif paged:
        limit = default_limit
    offset = _int(params, "offset", 0, MAX_OFFSET) or 0
    sort = parse_sortby(layer, _one(params, "sortby"))
    names = [n for n in layer.property_names]
    chosen = _one(params, "properties")
    if chosen:
        wanted = _names(chosen)
        unknown = [n for n in wanted if n not in names]
        if unknown:
            listed = ", ".join(unknown)
            raise FilterError("properties", f"未知属性 {listed}", f"unknown properties {listed}", names)
        names = [n for n in names if n in wanted]
    own, stats = split_filter_params(layer, params, reserved, layers_dir)
    where = layer_filter(conn, layer, own, layers_dir)
    stats_layer = stats_where = None
    if layer.stats_of:
        stats_layer = registry(Path(layers_dir))[layer.stats_of.layer]
        stats_where = layer_filter(conn, stats_layer, stats, layers_dir)
    src = sql.source(layer, where, stats_layer, stats_where)
    echo = {k: ([v] if isinstance(v, str) else list(v)) for k, v in {**own, **stats}.items()}
    return LayerQuery(layer=layer, src=src, names=names, sort=sort, limit=limit, offset=offset, fmt=fmt, lang=lang,
                      filters=echo)


def layer_or_none(layers_dir: Path, layer_id: str) -> Layer | None:
    return registry(Path(layers_dir)).get(layer_id)


def as_params(items: Sequence[tuple[str, str]] | Mapping[str, str]) -> dict[str, list[str]]:
    """Query string pairs → {name: [values]} (repeated names keep every value)."""
    out: dict[str, list[str]] = {}
    pairs = items.items() if isinstance(items, Mapping) else items
    for key, value in pairs:
        out.setdefault(key, []).append(value)
    return out
