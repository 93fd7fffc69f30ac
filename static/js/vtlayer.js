// Projects drawn from the layers API's vector tiles (MVT) on canvas tiles: the map stays light with 100,000+
// projects because the server sends only what a tile shows (clustered at low zoom) and panning moves canvases.
//
// Every canvas tile is fetched, decoded and drawn by a module worker (mvt-worker.js, drawing in tiledraw.js); the
// main thread only copies the worker's bitmap and keeps the drawn points for clicks. With a GCJ-02 basemap the
// map's CRS shifts every coordinate: the worker is told so, draws each point at its GCJ-02 position and sends those
// positions back, so a click (projected through the same CRS) finds the project drawn under it.
import { glyphPath } from './icons.js';

// Drawn canvas tiles kept for reuse (oldest dropped first).
const CACHE_TILES = 48;

// Above this many points in one tile the sector glyphs are left out (they would be too small to read anyway).
const GLYPH_LIMIT = 400;

let worker = null;
let nextId = 1;
const pending = new Map(); // request id → {resolve, reject}

function tileWorker() {
  if (!worker) {
    worker = new Worker(new URL('./mvt-worker.js', import.meta.url), { type: 'module' });
    worker.onmessage = (e) => {
      const p = pending.get(e.data.id);
      if (!p) return;
      pending.delete(e.data.id);
      if (e.data.error) p.reject(new Error(e.data.error));
      else p.resolve(e.data.d);
    };
    worker.onerror = (e) => {
      for (const p of pending.values()) p.reject(new Error(e.message || 'tile worker failed'));
      pending.clear();
      worker = null;
    };
  }
  return worker;
}

/** One canvas tile drawn by the worker ({template, base, z, x, y, crs}; see mvt-worker.js): {bitmap, n, wx, wy
 * (world pixels of the map's CRS at zoom z), r (radii), lat, lng (WGS84), inv (investment, NaN = unknown), cnt
 * (cluster size, 0 = one project), sector (index into sectors), codes (joined by newlines; see codeAt)}. */
function loadTile(request) {
  return new Promise((resolve, reject) => {
    const id = nextId;
    nextId += 1;
    pending.set(id, { resolve, reject });
    tileWorker().postMessage({ id, ...request });
  });
}

/** How the worker draws (the sector colours and glyphs, class thresholds): sent once per layer. */
function sendStyle(sectors, classes) {
  const glyphs = { '': glyphPath('') };
  const bySector = {};
  for (const [code, term] of sectors) {
    bySector[code] = { color: term.color, icon: term.icon };
    glyphs[term.icon] = glyphPath(term.icon);
  }
  tileWorker().postMessage({ style: {
    sectors: bySector, glyphs, mins: classes.map((c) => Number(c.min)), ratio: window.devicePixelRatio || 1,
    glyphLimit: GLYPH_LIMIT,
  } });
}

function codeAt(d, k) {
  if (!d.codeList) d.codeList = d.codes.split('\n');
  return d.codeList[k];
}

export function makeProjectTileLayer(L) {
  return L.GridLayer.extend({
    options: { tileSize: 256, updateWhenZooming: false, keepBuffer: 2, maxNativeZoom: 18, pane: 'projectTiles' },

    initialize(options) {
      L.GridLayer.prototype.initialize.call(this, options);
      sendStyle(options.sectors, options.classes);
      this.cache = new Map(); // "crs:z/x/y" → Promise of a drawn canvas tile (see loadTile)
      this.drawn = new Map(); // canvas tile key → the points drawn there (world pixels of the map's CRS, radii)
    },

    onAdd(map) {
      if (!map.getPane('projectTiles')) {
        const pane = map.createPane('projectTiles');
        pane.style.zIndex = 450; // above the division choropleth, below markers and popups
        pane.style.pointerEvents = 'none';
      }
      L.GridLayer.prototype.onAdd.call(this, map);
      map.on('click', this.onMapClick, this);
    },

    onRemove(map) {
      map.off('click', this.onMapClick, this);
      L.GridLayer.prototype.onRemove.call(this, map);
    },

    /** The canvas tile z/x/y of the map's grid, drawn by the worker (GCJ-02 shifted with an Amap-like basemap). */
    drawnTile(z, x, y) {
      const crs = this._map.options.crs.code === 'GCJ02:3857' ? 'gcj02' : 'wgs84';
      const key = `${crs}:${z}/${x}/${y}`;
      if (!this.cache.has(key)) {
        const request = { template: this.options.url, base: window.location.href, z, x, y, crs };
        const p = loadTile(request);
        p.catch(() => this.cache.delete(key));
        this.cache.set(key, p);
        while (this.cache.size > CACHE_TILES) this.cache.delete(this.cache.keys().next().value);
      }
      return this.cache.get(key);
    },

    createTile(coords, done) {
      const size = this.getTileSize();
      const canvas = L.DomUtil.create('canvas', 'leaflet-tile');
      const ratio = window.devicePixelRatio || 1;
      canvas.width = size.x * ratio;
      canvas.height = size.y * ratio;
      const tileKey = this._tileCoordsToKey(coords);
      this.drawnTile(coords.z, coords.x, coords.y).then((d) => {
        if (!this._tiles[tileKey]) return; // scrolled or zoomed away while loading: nothing to draw
        canvas.getContext('2d').drawImage(d.bitmap, 0, 0);
        this.drawn.set(tileKey, d);
        done(null, canvas);
      }).catch((err) => done(err, canvas));
      return canvas;
    },

    onMapClick(e) {
      this.hit(e.latlng);
    },

    /** Open the project (or zoom into the cluster) drawn at a clicked point; false when nothing is there. */
    hit(latlng) {
      const map = this._map;
      const z = this._tileZoom;
      if (!map || z === undefined) return false;
      const p = map.project(latlng, z);
      let best = null;
      let bestD = Infinity;
      for (const [key, d] of this.drawn) {
        if (!key.endsWith(`:${z}`)) continue;
        for (let i = 0; i < d.n; i += 1) {
          const dist = Math.hypot(d.wx[i] - p.x, d.wy[i] - p.y);
          if (dist <= d.r[i] + 3 && dist < bestD) {
            best = [d, i];
            bestD = dist;
          }
        }
      }
      if (!best) return false;
      const [d, k] = best;
      const at = L.latLng(d.lat[k], d.lng[k]);
      if (d.cnt[k]) this.options.onZoomToCluster(at);
      else if (codeAt(d, k)) this.options.onProjectClick(codeAt(d, k), at);
      return true;
    },

    _removeTile(key) {
      this.drawn.delete(key);
      L.GridLayer.prototype._removeTile.call(this, key);
    },
  });
}

let TileLayerClass = null;

/** new ProjectTileLayer(L, {url, sectors, classes, onProjectClick, onZoomToCluster}) */
export function ProjectTileLayer(L, options) {
  if (!TileLayerClass) TileLayerClass = makeProjectTileLayer(L);
  return new TileLayerClass(options);
}
