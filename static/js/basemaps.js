// Basemaps: the offline one (nothing but our own division layer on a plain background) and the online providers
// the server's settings enable. GCJ-02 providers switch the map to a CRS that shifts every drawn coordinate.
import { gcj02Crs } from './gcj02.js';
import { label, t } from './i18n.js';

export function basemapEntries(L, config) {
  const entries = [{ id: 'offline', title: () => t('offlineBasemap'), crs: 'wgs84', layer: null }];
  for (const b of config.basemaps || []) {
    const opts = { subdomains: b.subdomains || 'abc', maxZoom: b.max_zoom || 18, attribution: b.attribution || '' };
    const layers = [L.tileLayer(b.url, opts)];
    if (b.labels) layers.push(L.tileLayer(b.labels, { ...opts, attribution: '' }));
    entries.push({ id: b.id, title: () => label(b.title), crs: b.crs, layer: L.layerGroup(layers) });
  }
  return entries;
}

/** Show a basemap; returns true when the map's CRS changed (the caller then rebuilds what caches projections). */
export function applyBasemap(L, map, entries, id) {
  const entry = entries.find((e) => e.id === id) || entries[0];
  for (const e of entries) if (e.layer && map.hasLayer(e.layer)) map.removeLayer(e.layer);
  const wantGcj = entry.crs === 'gcj02';
  const isGcj = map.options.crs.code === 'GCJ02:3857';
  let changed = false;
  if (wantGcj !== isGcj) {
    const center = map.getCenter();
    const zoom = map.getZoom();
    map.options.crs = wantGcj ? gcj02Crs(L) : L.CRS.EPSG3857;
    map._resetView(center, zoom, true); // eslint-disable-line no-underscore-dangle
    changed = true;
  }
  if (entry.layer) {
    map.addLayer(entry.layer);
    entry.layer.eachLayer((l) => l.bringToBack());
  }
  return { entry, changed };
}
