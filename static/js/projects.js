// The projects on the map: clustered markers (coloured and iconed by sector, sized by investment class) while the
// filter matches a manageable number of projects, the layers API's vector tiles beyond that.
import { glyphPath, sizeFor } from './icons.js';
import { styledDivIcon } from './styles.js';
import { ProjectTileLayer } from './vtlayer.js';

/** Above this many matching projects the map draws vector tiles instead of one marker per project. */
export const MARKER_LIMIT = 30000;
const PAGE = 10000;
const MARKER_PROPERTIES = 'code,name,sector,tier,total_investment';
const TILE_PROPERTIES = 'code,sector,total_investment';

export class ProjectLayer {
  constructor(L, map, ctx) {
    this.L = L;
    this.map = map;
    this.ctx = ctx; // {sectors: Map(code → term), classes: [...], onProjectClick(code, latlng)}
    this.features = [];
    this.mode = 'markers';
    this.cluster = L.markerClusterGroup({
      chunkedLoading: true,
      chunkProgress: (done, total) => {
        if (done >= total) requestAnimationFrame(() => this.settle());
      },
      showCoverageOnHover: false,
      maxClusterRadius: 50,
      spiderfyOnMaxZoom: true,
      disableClusteringAtZoom: 15,
      iconCreateFunction: (c) => {
        const n = c.getChildCount();
        const size = n < 10 ? 34 : n < 100 ? 40 : n < 1000 ? 46 : 54;
        return styledDivIcon(L, {
          html: `<div data-size="${size - 10}">${n}</div>`,
          className: 'marker-cluster-custom',
          iconSize: L.point(size, size),
        });
      },
    });
    this.tiles = null;
    this.settle = () => {};
    this.iconCache = new Map();
    this.visible = true;
  }

  icon(sector, investment) {
    const size = sizeFor(investment, this.ctx.classes);
    const unknown = investment === null || investment === undefined;
    const key = `${sector}|${size}|${unknown}`;
    let icon = this.iconCache.get(key);
    if (!icon) {
      const term = this.ctx.sectors.get(sector) || {};
      const color = term.color || '#777';
      icon = styledDivIcon(this.L, {
        className: '',
        html: `<div class="pm${unknown ? ' unknown' : ''}" data-sector="${sector}" ` +
          `data-size="${size}" data-bg="${color}"><svg viewBox="0 0 24 24">` +
          `<path fill-rule="evenodd" d="${glyphPath(term.icon)}"/></svg></div>`,
        iconSize: [size, size],
        iconAnchor: [size / 2, size / 2],
        popupAnchor: [0, -size / 2],
      });
      this.iconCache.set(key, icon);
    }
    return icon;
  }

  /** Load the projects of a filter (query string of the layers API) knowing how many match. */
  async load(query, matched, fetchJson, render = 'auto') {
    this.query = query;
    if (render === 'tiles' || (render !== 'markers' && matched > MARKER_LIMIT)) {
      this.showTiles(query);
      return { mode: 'tiles', shown: matched };
    }
    const pages = [];
    for (let offset = 0; offset < Math.max(matched, 1); offset += PAGE) {
      const sep = query ? '&' : '';
      pages.push(fetchJson(`/collections/projects/items?${query}${sep}limit=${PAGE}&offset=${offset}` +
        `&properties=${MARKER_PROPERTIES}`));
    }
    const results = await Promise.all(pages);
    if (this.query !== query) return null; // a newer filter won the race
    this.features = results.flatMap((r) => r.features || []);
    this.showMarkers();
    return { mode: 'markers', shown: this.features.length };
  }

  showMarkers() {
    const L = this.L;
    this.mode = 'markers';
    if (this.tiles) {
      this.map.removeLayer(this.tiles);
      this.tiles = null;
    }
    this.cluster.clearLayers();
    this.settledPromise = new Promise((resolve) => { this.settle = resolve; });
    if (this.visible && !this.map.hasLayer(this.cluster)) this.map.addLayer(this.cluster);
    const markers = [];
    for (const f of this.features) {
      if (!f.geometry) continue;
      const [lng, lat] = f.geometry.coordinates;
      const p = f.properties;
      const m = L.marker([lat, lng], { icon: this.icon(p.sector, p.total_investment), title: p.name, keyboard: false });
      m.projectCode = p.code ?? f.id;
      m.on('click', () => this.ctx.onProjectClick(m.projectCode, m.getLatLng(), m));
      markers.push(m);
    }
    this.cluster.addLayers(markers, true);
    if (!markers.length || !this.map.hasLayer(this.cluster)) this.settle();
  }

  /** Resolves when the last marker batch has been clustered and drawn. */
  settled() {
    return this.settledPromise || Promise.resolve();
  }

  showTiles(query) {
    this.mode = 'tiles';
    this.features = [];
    this.cluster.clearLayers();
    if (this.tiles) this.map.removeLayer(this.tiles);
    this.tiles = new ProjectTileLayer(this.L, {
      // only what the canvas draws and a click needs: about a fifth of the bytes of a full tile
      url: `/collections/projects/tiles/WebMercatorQuad/{z}/{x}/{y}?${query ? `${query}&` : ''}` +
        `properties=${TILE_PROPERTIES}`,
      sectors: this.ctx.sectors,
      classes: this.ctx.classes,
      onProjectClick: this.ctx.onProjectClick,
      onZoomToCluster: (latlng) => this.map.setView(latlng, Math.min(this.map.getZoom() + 2, 18)),
    });
    if (this.visible) this.map.addLayer(this.tiles);
  }

  setVisible(on) {
    this.visible = on;
    const layer = this.mode === 'tiles' ? this.tiles : this.cluster;
    if (!layer) return;
    if (on) this.map.addLayer(layer);
    else this.map.removeLayer(layer);
  }

  /** After the map's CRS changed (GCJ-02 basemap on or off) the clusters must be rebuilt in the new projection. */
  reproject() {
    if (this.mode === 'markers') this.showMarkers();
    else if (this.tiles) this.tiles.redraw();
  }

  /** In tile mode, a click on a drawn project opens it (the division under it must not take the click). */
  hit(latlng) {
    return this.mode === 'tiles' && this.tiles && this.visible ? this.tiles.hit(latlng) : false;
  }

  shownCount() {
    return this.mode === 'markers' ? this.cluster.getLayers().length : null;
  }
}
