"""Which online basemaps the web map offers, from ``layers/basemaps/basemaps.yaml`` and the settings.

The default basemap is offline (division boundaries and seats drawn from our own data). Online providers are
offered only when enabled in the settings, and one needing a key only when the key is set.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from geoapp.errors import GeoappError
from geoapp.settings import Settings

CRS_KINDS = {"wgs84", "cgcs2000", "gcj02"}


def provider_definitions(layers_dir: Path) -> list[dict]:
    path = Path(layers_dir) / "basemaps" / "basemaps.yaml"
    if not path.is_file():
        return []
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    providers = doc.get("basemaps") or []
    for p in providers:
        if p.get("crs") not in CRS_KINDS:
            raise GeoappError(
                f"底图 {p.get('id')} 的 crs 应为 {'/'.join(sorted(CRS_KINDS))} / basemap {p.get('id')}: "
                f"crs must be one of {sorted(CRS_KINDS)}, got {p.get('crs')!r} ({path})"
            )
    return providers


def enabled_basemaps(settings: Settings) -> list[dict]:
    """The online basemaps to offer, keys filled in, in the order the settings list them."""
    wanted = [w.strip() for w in settings.basemaps.split(",") if w.strip()]
    by_id = {p["id"]: p for p in provider_definitions(settings.layers_dir)}
    unknown = [w for w in wanted if w not in by_id]
    if unknown:
        raise GeoappError(
            f"未知底图 {', '.join(unknown)}（可选：{', '.join(by_id)}） / unknown basemap(s) {', '.join(unknown)} "
            f"in GEOAPP_BASEMAPS (known: {', '.join(by_id)})"
        )
    out = []
    for wid in wanted:
        p = dict(by_id[wid])
        key_setting = p.pop("key_setting", None)
        if key_setting:
            key = getattr(settings, key_setting, None)
            if not key:
                continue
            p["url"] = p["url"].replace("{key}", key)
            if p.get("labels"):
                p["labels"] = p["labels"].replace("{key}", key)
        out.append(p)
    return out
