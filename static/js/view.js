// The map's view (centre and zoom). A view in the URL (?view=zoom/lat/lng) is restored exactly; without one the
// map is fitted once, when the data has arrived, to the data's extent. That one automatic fit is cancelled by any
// view set before it: the user's pan or zoom, or the page moving the map for the user (a banner, a route, a cluster
// clicked, a test's setView), so data arriving late never takes the view away from someone already looking at it.

/** '9.25/43.65312/122.24410' → {zoom, lat, lng}, or null when the text is not a usable view. */
export function parseView(text, { minZoom = 0, maxZoom = 22 } = {}) {
  const parts = String(text || '').split('/');
  if (parts.length !== 3 || parts.some((p) => !/^-?\d+(\.\d+)?$/.test(p.trim()))) return null;
  const [zoom, lat, lng] = parts.map(Number);
  if (zoom < minZoom || zoom > maxZoom || Math.abs(lat) > 85 || Math.abs(lng) > 180) return null;
  return { zoom, lat, lng };
}

/** The map's view as the URL writes it (about 1 m at the equator; zoom as set, snapped to quarters). */
export function formatView(map) {
  const c = map.getCenter();
  const zoom = Math.round(map.getZoom() * 100) / 100;
  return `${zoom}/${c.lat.toFixed(5)}/${c.lng.toFixed(5)}`;
}

export class ViewKeeper {
  /** Watches every view change of ``map`` from now on; ``onChange(text)`` hears the views to write in the URL. */
  constructor(map, { onChange }) {
    this.map = map;
    this.taken = false; // the view was set (by the URL, the user or the page for the user): no automatic fit
    this.fitted = false;
    this.quiet = 0;
    map.on('movestart', () => {
      if (!this.quiet) this.taken = true;
    });
    // a wheel or touch starts its zoom animation a frame later: the user's hand on the map already counts
    for (const type of ['wheel', 'pointerdown', 'touchstart', 'keydown']) {
      map.getContainer().addEventListener(type, () => { this.taken = true; }, { passive: true });
    }
    map.on('moveend', () => {
      if (!this.quiet && this.taken) onChange(formatView(map));
    });
  }

  /** Run ``fn`` as the page's own housekeeping that keeps the view (a CRS switch): it neither takes the view nor
   * is written to the URL. */
  quietly(fn) {
    this.quiet += 1;
    try {
      return fn();
    } finally {
      this.quiet -= 1;
    }
  }

  /** Show a view read from the URL, exactly (no animation, no pixel rounding of the centre). */
  restore(view) {
    this.taken = true;
    this.quietly(() => this.map.setView([view.lat, view.lng], view.zoom, { reset: true }));
  }

  /** The one automatic fit: only the first call, only if nobody has set a view; true when it moved the map. */
  fitOnce(bounds, options = {}) {
    if (this.taken || this.fitted || !bounds) return false;
    this.fitted = true;
    this.quietly(() => this.map.fitBounds(bounds, { ...options, animate: false }));
    return true;
  }
}
