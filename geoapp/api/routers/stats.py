"""``/stats``: totals of the projects matching the current filters, the figures the city reports.

Takes the same filter parameters as ``/collections/projects/items`` (sector, tier, status, division,
min_investment, max_investment, investment_class, start_year, q, bbox, filter, filter-lang) plus ``lang``.
``/collections/{id}/stats`` does the same for any layer with a ``stats:`` block in its YAML. One SQL statement
(GROUPING SETS) computes every figure. Money is in 万元; ``total_investment`` sums the known values only.

Response (JSON)::

    {
      "collection": "projects",
      "unit": "万元",
      "filters": {"sector": ["lng"]},                       # the filter parameters as given
      "total": {"count": 544, "total_investment": 123456.0, "investment_known": 540,
                "classes": {"500w": {"count": 544, "total_investment": …}, "1y": {…}, "5y": {…}}},
      "by_investment_class": [                              # cumulative: ≥ 500万, ≥ 10亿, ≥ 50亿
        {"code": "500w", "min": 500.0, "zh": "500万元及以上", "en": "≥ 5 million yuan",
         "count": 544, "total_investment": …}, …],
      "by_division": [                                      # one entry per value, vocabulary order, zeros kept
        {"code": "150502", "zh": "科尔沁区", "en": "Horqin District", "count": 12, "total_investment": …,
         "investment_known": 12, "classes": {"500w": {"count": …, "total_investment": …}, …}}, …],
      "by_tier": [...], "by_sector": [...], "by_status": [...],    # same entry shape (keys from the YAML)
      "start_years": [2027, 2026, 2025, …]                 # every start year in the layer (unfiltered, newest
    }                                                       # first): what a start-year filter can choose
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import Connection, text

from geoapp.api.routers.ogc_common import (
    json_response,
    layer_of,
    layers_dir_of,
    params_of,
    read,
)
from geoapp.layers import sql
from geoapp.layers.filters import FilterError, layer_filter
from geoapp.layers.registry import Layer
from geoapp.layers.request import LANGS
from geoapp.vocab import vocabularies

router = APIRouter(tags=["Statistics"])


def _terms(conn: Connection, layer: Layer, column: str, layers_dir: Path) -> list[tuple[str, str, str]]:
    """(code, zh, en) of every value a dimension can take, in vocabulary order."""
    prop = next((p for p in layer.properties if p.column == column), None)
    vocabulary = prop.vocabulary if prop else None
    if vocabulary == "division":
        return [tuple(r) for r in conn.execute(
            text("SELECT code, name, coalesce(name_en, name) FROM divisions ORDER BY code"))]
    vocab = vocabularies(layers_dir).get(vocabulary or "")
    return [(t.code, t.zh, t.en) for t in vocab.terms] if vocab else []


def _figures(row: Any, classes: list[tuple[str, float]]) -> dict:
    return {
        "count": row.count,
        "total_investment": row.measure or 0.0,
        "investment_known": row.measure_known,
        "classes": {code: {"count": getattr(row, f"c_{code}"), "total_investment": getattr(row, f"s_{code}") or 0.0}
                    for code, _ in classes},
    }


def _zero(classes: list[tuple[str, float]]) -> dict:
    return {"count": 0, "total_investment": 0.0, "investment_known": 0,
            "classes": {code: {"count": 0, "total_investment": 0.0} for code, _ in classes}}


def compute_stats(conn: Connection, layer: Layer, params: dict, layers_dir: Path) -> dict:
    conf = layer.stats
    if not conf:
        raise FilterError("collection", f"图层 {layer.id} 没有统计", f"layer {layer.id} has no statistics")
    dims: dict[str, str] = dict(conf.get("group_by") or {})
    class_spec = layer.filters.get(conf.get("classes", ""))
    classes = [(c.code, c.min) for c in class_spec.classes] if class_spec else []
    where = layer_filter(conn, layer, params, layers_dir)
    rows = conn.execute(sql.stats_statement(layer, where, dims, conf["measure"], classes)).all()
    out: dict[str, Any] = {"collection": layer.id, "unit": "万元",
                           "filters": {k: v for k, v in params.items()}, "total": _zero(classes)}
    groups: dict[str, dict[str, dict]] = {dim: {} for dim in dims}
    for row in rows:
        plain = [dim for dim in dims if getattr(row, f"g_{dim}") == 0]
        if not plain:
            out["total"] = _figures(row, classes)
        else:
            dim = plain[0]
            groups[dim][getattr(row, f"v_{dim}")] = _figures(row, classes)
    if class_spec:
        out["by_investment_class"] = [
            {"code": c.code, "min": c.min, "zh": c.title.zh, "en": c.title.en,
             **out["total"]["classes"][c.code]} for c in class_spec.classes]
    for dim, column in dims.items():
        entries = []
        seen = set()
        for code, zh, en in _terms(conn, layer, column, layers_dir):
            entries.append({"code": code, "zh": zh, "en": en, **groups[dim].get(code, _zero(classes))})
            seen.add(code)
        for code, figures in groups[dim].items():  # values outside the vocabulary still count
            if code not in seen:
                entries.append({"code": code, "zh": code, "en": code, **figures})
        out[f"by_{dim}"] = entries
    out["start_years"] = start_years(conn, layer, layers_dir)
    return out


def start_years(conn: Connection, layer: Layer, layers_dir: Path) -> list[int]:
    """The distinct start years of the whole layer, newest first, so the web map offers the years that exist.

    Not narrowed by the current filter: choosing a tier must not take years out of the year picker."""
    spec = layer.filters.get("start_year")
    if spec is None or not getattr(spec, "column", None):
        return []
    column = layer.column(spec.column)
    where = layer_filter(conn, layer, {}, layers_dir)
    rows = conn.execute(sa.select(column).where(where, column.is_not(None)).distinct().order_by(column.desc()))
    return [int(y) for y in rows.scalars()]


def _stats(request: Request, layer: Layer) -> Response:
    params = params_of(request)
    lang = params.pop("lang", ["zh"])[0]
    if lang not in LANGS:
        raise FilterError("lang", f"不支持的语言 '{lang}'", f"unsupported language '{lang}'", LANGS)
    f = params.pop("f", ["json"])[0]
    if f != "json":
        raise FilterError("f", f"不支持的格式 '{f}'", f"unsupported format '{f}'", ["json"])
    layers_dir = layers_dir_of(request)
    return json_response(read(request, lambda conn: compute_stats(conn, layer, params, layers_dir)))


@router.get("/stats")
def stats(request: Request) -> Response:
    """Statistics of the projects matching the filter parameters (shape in the module docstring)."""
    return _stats(request, layer_of(request, "projects"))


@router.get("/collections/{collection_id}/stats")
def collection_stats(request: Request, collection_id: str) -> Response:
    return _stats(request, layer_of(request, collection_id))
