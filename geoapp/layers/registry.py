"""The layer registry: every ``layers/*.yaml`` with an ``id`` becomes a :class:`Layer`.

A layer names its source table or view, its id and geometry columns, the properties it exposes, the planners'
filter parameters and their vocabularies, its default sort, tile and style hints. Items, tiles, stats and exports
are written once against this description, so a new layer (routes, route stops) is a new YAML file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from geoalchemy2 import Geometry

from geoapp.db.models import Base
from geoapp.errors import GeoappError

PROPERTY_TYPES = {"string", "integer", "number", "boolean", "datetime", "date", "object"}
FILTER_KINDS = {"in", "gte", "lte", "class", "contains"}
STATS_AGGS = {"count", "sum", "count_by"}
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # property, column and layer names are written into SQL and JSON


class LayerConfigError(GeoappError):
    """A layer YAML file that cannot be used as written."""


@dataclass(frozen=True)
class Title:
    zh: str
    en: str

    def get(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh

    def as_dict(self) -> dict[str, str]:
        return {"zh": self.zh, "en": self.en}


@dataclass(frozen=True)
class Property:
    name: str
    column: str
    type: str
    title: Title
    vocabulary: str | None = None
    unit: str | None = None


@dataclass(frozen=True)
class FilterClass:
    code: str
    min: float
    title: Title
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class FilterSpec:
    """One simple query parameter, e.g. ``sector`` (kind ``in`` over column ``sector`` with its vocabulary)."""

    name: str
    kind: str
    title: Title
    column: str | None = None
    columns: tuple[str, ...] = ()
    vocabulary: str | None = None
    type: str = "string"
    min: float | None = None
    max: float | None = None
    unit: str | None = None
    classes: tuple[FilterClass, ...] = ()
    # Named after a property (``sector``, ``start_year``): compares the stored value exactly, as CQL2 does, so a
    # client that evaluates the same expression itself gets the same features. Other names (``division``,
    # ``sector_label``) are the planners' own and also take labels, aliases and short forms.
    exact: bool = False


@dataclass(frozen=True)
class StatsProperty:
    name: str
    agg: str
    type: str
    title: Title
    column: str | None = None
    unit: str | None = None


@dataclass(frozen=True)
class StatsOf:
    """Live statistics of another layer's matching features, joined on ``key`` = this layer's id."""

    layer: str
    key: str
    properties: tuple[StatsProperty, ...]


@dataclass
class Layer:
    id: str
    title: Title
    description: Title
    source: str
    schema: str | None
    id_column: str
    geometry_column: str
    geometry_type: str
    srid: int
    default_sort: tuple[str, ...]
    properties: tuple[Property, ...]
    filters: dict[str, FilterSpec]
    keywords: tuple[str, ...] = ()
    soft_delete_column: str | None = None
    stats_of: StatsOf | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    tiles: dict[str, Any] = field(default_factory=dict)
    export: dict[str, Any] = field(default_factory=dict)
    style: dict[str, Any] = field(default_factory=dict)
    # the integer property ``datetime`` reads as a year (``temporal: {year: start_year}``); None: no temporal extent
    temporal_year: str | None = None
    path: Path | None = None

    @property
    def property_names(self) -> list[str]:
        names = [p.name for p in self.properties]
        if self.stats_of:
            names += [s.name for s in self.stats_of.properties]
        return names

    def prop(self, name: str) -> Property | None:
        return next((p for p in self.properties if p.name == name), None)

    @property
    def table(self) -> sa.TableClause:
        """The source as a SQLAlchemy table: the ORM's own Table when the source is a mapped table, so a filter
        built here can be added to any query over the models without a second FROM entry."""
        extra = (self.soft_delete_column,) if self.soft_delete_column else ()
        return _table(self.source, self.schema, self.id_column, self.geometry_column,
                      tuple(p.column for p in self.properties) + extra, self.srid)

    def column(self, name: str) -> sa.ColumnElement:
        return self.table.c[name]

    @property
    def geometry(self) -> sa.ColumnElement:
        return self.table.c[self.geometry_column]


@cache
def _table(source: str, schema: str | None, id_column: str, geometry_column: str, columns: tuple[str, ...],
           srid: int) -> sa.TableClause:
    key = f"{schema}.{source}" if schema else source
    if key in Base.metadata.tables:
        return Base.metadata.tables[key]
    cols = [sa.column(c) for c in dict.fromkeys((id_column, *columns)) if c != geometry_column]
    return sa.table(source, *cols, sa.column(geometry_column, Geometry(srid=srid)), schema=schema)


def _title(value: Any, where: str) -> Title:
    if isinstance(value, str):
        return Title(value, value)
    if not isinstance(value, dict) or "zh" not in value:
        raise LayerConfigError(f"{where}: 需要 title 的 zh/en / needs a title with zh and en")
    return Title(str(value["zh"]), str(value.get("en", value["zh"])))


def _need(doc: dict, key: str, where: str) -> Any:
    if key not in doc:
        raise LayerConfigError(f"{where}: 缺少 '{key}' / missing '{key}'")
    return doc[key]


def _check_names(doc: dict, where: str) -> None:
    names = [doc.get("id"), doc.get("id_column"), (doc.get("geometry") or {}).get("column"),
             doc.get("soft_delete_column")]
    for p in doc.get("properties") or []:
        names += [p.get("name"), p.get("column")]
    for s in (doc.get("stats_of") or {}).get("properties") or []:
        names += [s.get("name"), s.get("column")]
    for f in (doc.get("filters") or {}).values():
        names += [f.get("column"), *(f.get("columns") or [])]
    for name in names:
        if name is not None and not NAME.match(str(name)):
            raise LayerConfigError(f"{where}: 名称只能用字母、数字和下划线 / invalid name {name!r} (use [A-Za-z0-9_])")


def parse_layer(doc: dict, path: Path | None = None) -> Layer:
    """One layer from its YAML mapping; errors name the file and the key."""
    where = str(path or doc.get("id", "layer"))
    _check_names(doc, where)
    geometry = _need(doc, "geometry", where)
    properties = []
    for i, p in enumerate(_need(doc, "properties", where)):
        pw = f"{where} properties[{i}]"
        ptype = p.get("type", "string")
        if ptype not in PROPERTY_TYPES:
            raise LayerConfigError(f"{pw}: 未知类型 / unknown type '{ptype}' (allowed: {sorted(PROPERTY_TYPES)})")
        properties.append(Property(
            name=_need(p, "name", pw), column=p.get("column", p["name"]), type=ptype,
            title=_title(p.get("title", p["name"]), pw), vocabulary=p.get("vocabulary"), unit=p.get("unit"),
        ))
    filters: dict[str, FilterSpec] = {}
    for name, f in (doc.get("filters") or {}).items():
        fw = f"{where} filters.{name}"
        kind = _need(f, "kind", fw)
        if kind not in FILTER_KINDS:
            raise LayerConfigError(f"{fw}: 未知 kind / unknown kind '{kind}' (allowed: {sorted(FILTER_KINDS)})")
        if kind == "contains" and not f.get("columns"):
            raise LayerConfigError(f"{fw}: contains 需要 columns / a contains filter needs columns")
        if kind != "contains" and not f.get("column"):
            raise LayerConfigError(f"{fw}: 需要 column / needs a column")
        classes = tuple(
            FilterClass(code=str(c["code"]), min=float(c["min"]), title=_title(c, fw),
                        aliases=tuple(str(a) for a in c.get("aliases") or ()))
            for c in f.get("classes") or ()
        )
        if kind == "class" and not classes:
            raise LayerConfigError(f"{fw}: class 需要 classes / a class filter needs classes")
        filters[name] = FilterSpec(
            name=name, kind=kind, title=_title(f.get("title", name), fw), column=f.get("column"),
            columns=tuple(f.get("columns") or ()), vocabulary=f.get("vocabulary"), type=f.get("type", "string"),
            min=f.get("min"), max=f.get("max"), unit=f.get("unit"), classes=classes,
            exact=name in {p.name for p in properties},
        )
    stats_of = None
    if doc.get("stats_of"):
        so = doc["stats_of"]
        sw = f"{where} stats_of"
        props = []
        for s in _need(so, "properties", sw):
            if s.get("agg") not in STATS_AGGS:
                raise LayerConfigError(f"{sw}: 未知 agg / unknown agg '{s.get('agg')}' (allowed: {sorted(STATS_AGGS)})")
            props.append(StatsProperty(name=s["name"], agg=s["agg"], type=s.get("type", "number"),
                                       title=_title(s.get("title", s["name"]), sw), column=s.get("column"),
                                       unit=s.get("unit")))
        stats_of = StatsOf(layer=_need(so, "layer", sw), key=_need(so, "key", sw), properties=tuple(props))
    source = str(_need(doc, "source", where))
    schema = None
    if "." in source:
        schema, source = source.split(".", 1)
    return Layer(
        id=str(doc["id"]), title=_title(_need(doc, "title", where), where),
        description=_title(doc.get("description") or doc["title"], where),
        source=source, schema=schema, id_column=_need(doc, "id_column", where),
        geometry_column=_need(geometry, "column", where), geometry_type=geometry.get("type", "Geometry"),
        srid=int(geometry.get("srid", 4326)),
        default_sort=tuple(doc.get("default_sort") or [doc["id_column"]]), properties=tuple(properties),
        filters=filters, keywords=tuple(doc.get("keywords") or ()),
        soft_delete_column=doc.get("soft_delete_column"), stats_of=stats_of, stats=doc.get("stats") or {},
        tiles=doc.get("tiles") or {}, export=doc.get("export") or {}, style=doc.get("style") or {},
        temporal_year=_temporal_year(doc, properties, where), path=path,
    )


def _temporal_year(doc: dict, properties: list[Property], where: str) -> str | None:
    """The integer year property that ``datetime`` filters on, if the layer declares one."""
    year = (doc.get("temporal") or {}).get("year")
    if year is None:
        return None
    prop = next((p for p in properties if p.name == year), None)
    if prop is None or prop.type != "integer":
        raise LayerConfigError(f"{where}: temporal.year 须是整数属性 / temporal.year must name an integer property")
    return str(year)


def load_layers(layers_dir: Path) -> dict[str, Layer]:
    """All layers of a directory, in file-name order; a stats layer must name an existing layer."""
    layers: dict[str, Layer] = {}
    for path in sorted(Path(layers_dir).glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or "id" not in doc:
            continue
        layer = parse_layer(doc, path)
        if layer.id in layers:
            raise LayerConfigError(f"{path}: 图层 id 重复 / duplicate layer id '{layer.id}'")
        layers[layer.id] = layer
    for layer in layers.values():
        if layer.stats_of and layer.stats_of.layer not in layers:
            raise LayerConfigError(
                f"{layer.path}: stats_of.layer '{layer.stats_of.layer}' 不存在 / is not a layer ({sorted(layers)})"
            )
    return layers


@cache
def registry(layers_dir: Path) -> dict[str, Layer]:
    """The layers of a directory, read once per process."""
    return load_layers(Path(layers_dir))


def get_layer(layers_dir: Path, layer_id: str) -> Layer:
    layers = registry(Path(layers_dir))
    if layer_id not in layers:
        raise LayerConfigError(f"没有图层 / no layer '{layer_id}' (layers: {', '.join(layers)})")
    return layers[layer_id]
