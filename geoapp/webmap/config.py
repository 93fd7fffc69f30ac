"""What the page needs before it asks for data: basemaps, vocabulary labels and styles, filter classes, seats.

Vocabularies (with the sector colours and icons of ``layers/vocabularies``) and the investment classes of the
projects layer come from the same YAML the API uses, so the page never hard-codes a sector or a threshold.
"""

from __future__ import annotations

from sqlalchemy import Engine, text

from geoapp.errors import GeoappError
from geoapp.layers.registry import registry
from geoapp.settings import Settings
from geoapp.vocab import vocabularies
from geoapp.webmap.basemaps import enabled_basemaps

SEATS = text("""
    SELECT code, name, name_en, kind, seat_name, ST_X(seat) AS lon, ST_Y(seat) AS lat, boundary IS NULL AS no_boundary
    FROM divisions WHERE seat IS NOT NULL ORDER BY code
""")


def vocabulary_terms(settings: Settings) -> dict[str, list[dict]]:
    return {
        name: [{"code": t.code, "zh": t.zh, "en": t.en, "aliases": list(t.aliases), **t.extra} for t in vocab.terms]
        for name, vocab in vocabularies(settings.layers_dir).items()
    }


def filter_classes(settings: Settings, layer_id: str = "projects") -> dict[str, list[dict]]:
    """The named thresholds of each class filter of a layer (e.g. investment_class: 500w, 1y, 5y)."""
    layer = registry(settings.layers_dir).get(layer_id)
    if layer is None:
        return {}
    return {
        name: [{"code": c.code, "min": c.min, "zh": c.title.zh, "en": c.title.en} for c in spec.classes]
        for name, spec in layer.filters.items() if spec.kind == "class"
    }


def seats(engine: Engine) -> list[dict]:
    """Division seats for the offline basemap's labels (the divisions layer carries the polygons)."""
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(SEATS)]


def webmap_config(settings: Settings, engine: Engine) -> dict:
    warnings = []
    try:
        basemaps = enabled_basemaps(settings)
    except GeoappError as exc:
        basemaps, warnings = [], [str(exc)]
    return {
        "lang": settings.lang,
        "basemaps": basemaps,
        "vocabularies": vocabulary_terms(settings),
        "classes": filter_classes(settings),
        "seats": seats(engine),
        "warnings": warnings,
    }
