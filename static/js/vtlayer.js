// Projects drawn from the layers API's vector tiles (MVT) on canvas tiles: the map stays light with 100,000+
// projects because the server sends only what a tile shows (clustered at low zoom) and panning moves canvases.
//
// Each canvas tile of the map is filled from the WGS84 Web Mercator tiles that cover it. With the plain CRS that is
// the tile with the same z/x/y; with a GCJ-02 basemap the map's CRS shifts every coordinate, so the covering WGS84
// tiles are found from the canvas tile's corners and each point is projected through the map's CRS.
import { glyphPath } from './icons.js';

function latLngToTile(lat, lng, z) {
  const n = 2 ** z;
  const x = ((lng + 180) / 360) * n;
  const r = (lat * Math.PI) / 180;
  const y = ((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n;
  return [Math.floor(x), Math.floor(y)];
}

// Work on the main thread is cut into slices of at most BUDGET_MS so pan and zoom frames keep coming.
const BUDGET_MS = 6;
// Above this many points in one tile the sector glyphs are left out (they would be too small to read anyway).
const GLYPH_LIMIT = 400;
// Decoded tiles kept for reuse (oldest dropped first).
const CACHE_TILES = 48;
const breathe = () => new Promise((resolve) => { setTimeout(resolve, 0); });

// Tiles are fetched and decoded in a module worker (mvt-worker.js): the main thread only receives typed arrays.
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

/** The points of one MVT tile, decoded by the worker: {n, wx, wy (world pixels at the tile's zoom, 256-px tiles),
 * lat, lng (WGS84), inv (investment, NaN = unknown), cnt (cluster size, 0 = one project), sector (index into
 * sectors), codes (joined by newlines; see codeAt)}. */
function loadTile(url, z, x, y, draw) {
  return new Promise((resolve, reject) => {
    const id = nextId;
    nextId += 1;
    pending.set(id, { resolve, reject });
    tileWorker().postMessage({ id, url: new URL(url, window.location.href).href, z, x, y, draw });
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

/** Marker radius (px) as icons.sizeFor / 2, without allocating per point (10,000 points a tile). */
function radiusOf(inv, mins) {
  if (Number.isNaN(inv)) return 8;
  let reached = 0;
  for (let i = 0; i < mins.length; i += 1) if (inv >= mins[i]) reached += 1;
  return (14 + 5 * reached) / 2;
}

const glyphCache = new Map();
function glyph(icon) {
  let p = glyphCache.get(icon);
  if (!p) {
    p = new Path2D(glyphPath(icon));
    glyphCache.set(icon, p);
  }
  return p;
}

export function makeProjectTileLayer(L) {
  return L.GridLayer.extend({
    options: { tileSize: 256, updateWhenZooming: false, keepBuffer: 2, maxNativeZoom: 18, pane: 'projectTiles' },

    initialize(options) {
      L.GridLayer.prototype.initialize.call(this, options);
      sendStyle(options.sectors, options.classes);
      this.cache = new Map(); // "z/x/y" → Promise of the decoded points (see decodePoints)
      // canvas tile key → [[tile data, index, world x, world y, radius]] drawn there, or the tile data itself when
      // the worker drew it (world pixels of the plain CRS, radii in d.r)
      this.drawn = new Map();
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

    fetchTile(z, x, y, draw = false) {
      const key = `${z}/${x}/${y}`;
      if (!this.cache.has(key)) {
        const url = L.Util.template(this.options.url, { z, x, y });
        this.cache.set(key, loadTile(url, z, x, y, draw));
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
      const map = this._map;
      const z = coords.z;
      const origin = coords.scaleBy(size);
      const shifted = map.options.crs !== L.CRS.EPSG3857;
      // the WGS84 tiles covering this canvas tile (one with the plain CRS, a few with a shifted one)
      const wanted = [];
      if (shifted) {
        const nw = map.unproject(origin, z);
        const se = map.unproject(origin.add(size), z);
        const [x0, y0] = latLngToTile(nw.lat, nw.lng, z);
        const [x1, y1] = latLngToTile(se.lat, se.lng, z);
        const max = 2 ** z - 1;
        for (let x = Math.max(0, x0); x <= Math.min(max, x1); x += 1) {
          for (let y = Math.max(0, y0); y <= Math.min(max, y1); y += 1) wanted.push(this.fetchTile(z, x, y));
        }
      } else {
        wanted.push(this.fetchTile(z, coords.x, coords.y, true));
      }
      const tileKey = this._tileCoordsToKey(coords);
      Promise.all(wanted).then(async (tiles) => {
        if (!this._tiles[tileKey]) return; // scrolled or zoomed away while loading: nothing to draw
        if (!shifted && tiles[0].bitmap) { // drawn by the worker: the main thread only copies the bitmap
          canvas.getContext('2d').drawImage(tiles[0].bitmap, 0, 0);
          this.drawn.set(tileKey, tiles[0]);
          done(null, canvas);
          return;
        }
        const ctx = canvas.getContext('2d');
        ctx.scale(ratio, ratio);
        const mins = this.options.classes.map((c) => Number(c.min));
        const items = []; // [tile data, index, world x, world y, radius]
        let slice = performance.now();
        for (const d of tiles) {
          for (let i = 0; i < d.n; i += 1) {
            let px = d.wx[i];
            let py = d.wy[i];
            if (shifted) {
              const p = map.project(L.latLng(d.lat[i], d.lng[i]), z);
              px = p.x;
              py = p.y;
            }
            const r = d.cnt[i] ? Math.min(28, 7 + 5 * Math.log10(d.cnt[i] + 1)) : radiusOf(d.inv[i], mins);
            const x = px - origin.x;
            const y = py - origin.y;
            if (x < -r || y < -r || x > size.x + r || y > size.y + r) continue;
            items.push([d, i, px, py, r]);
            if ((i & 1023) === 0 && performance.now() - slice > BUDGET_MS) {
              await breathe(); // eslint-disable-line no-await-in-loop
              slice = performance.now();
            }
          }
        }
        items.sort((a, b) => a[4] - b[4]);
        const glyphs = items.length <= GLYPH_LIMIT;
        for (let i = 0; i < items.length; i += 1) {
          if (!this._tiles[tileKey]) return;
          const [d, k, px, py, r] = items[i];
          this.drawItem(ctx, d, k, px - origin.x, py - origin.y, r, glyphs);
          if ((i & 255) === 0 && performance.now() - slice > BUDGET_MS) {
            await breathe(); // eslint-disable-line no-await-in-loop
            slice = performance.now();
          }
        }
        this.drawn.set(tileKey, items);
        done(null, canvas);
      }).catch((err) => done(err, canvas));
      return canvas;
    },

    drawItem(ctx, d, k, x, y, r, glyphs = true) {
      const n = d.cnt[k];
      if (n) {
        ctx.beginPath();
        ctx.arc(x, y, r, 0, 2 * Math.PI);
        ctx.fillStyle = 'rgba(179, 38, 30, .82)';
        ctx.fill();
        ctx.lineWidth = 3;
        ctx.strokeStyle = 'rgba(179, 38, 30, .25)';
        ctx.stroke();
        ctx.fillStyle = '#fff';
        ctx.font = '600 11px sans-serif';
        ctx.textAlign = 'center';
        ctx.textBaseline = 'middle';
        ctx.fillText(n >= 10000 ? `${Math.round(n / 1000)}k` : String(n), x, y);
        return;
      }
      const term = this.options.sectors.get(d.sectors[d.sector[k]]) || {};
      ctx.beginPath();
      ctx.arc(x, y, r, 0, 2 * Math.PI);
      ctx.fillStyle = term.color || '#777';
      ctx.fill();
      ctx.lineWidth = 1.5;
      ctx.strokeStyle = '#fff';
      if (Number.isNaN(d.inv[k])) {
        ctx.setLineDash([2, 2]);
        ctx.strokeStyle = '#333';
      }
      ctx.stroke();
      ctx.setLineDash([]);
      if (glyphs && r >= 8) {
        const s = (r * 1.4) / 24;
        ctx.save();
        ctx.translate(x - 12 * s, y - 12 * s);
        ctx.scale(s, s);
        ctx.fillStyle = '#fff';
        ctx.fill(glyph(term.icon), 'evenodd');
        ctx.restore();
      }
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
      for (const [key, items] of this.drawn) {
        if (!key.endsWith(`:${z}`)) continue;
        if (!Array.isArray(items)) { // a worker-drawn tile: its points in world pixels with their radii
          const d = items;
          for (let i = 0; i < d.n; i += 1) {
            const dist = Math.hypot(d.wx[i] - p.x, d.wy[i] - p.y);
            if (dist <= d.r[i] + 3 && dist < bestD) {
              best = [d, i];
              bestD = dist;
            }
          }
          continue;
        }
        for (const it of items) {
          const dist = Math.hypot(it[2] - p.x, it[3] - p.y);
          if (dist <= it[4] + 3 && dist < bestD) {
            best = it;
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
