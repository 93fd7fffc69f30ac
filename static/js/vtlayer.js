// Projects drawn from the layers API's vector tiles (MVT) on canvas tiles: the map stays light with 100,000+
// projects because the server sends only what a tile shows (clustered at low zoom) and panning moves canvases.
//
// Each canvas tile of the map is filled from the WGS84 Web Mercator tiles that cover it. With the plain CRS that is
// the tile with the same z/x/y; with a GCJ-02 basemap the map's CRS shifts every coordinate, so the covering WGS84
// tiles are found from the canvas tile's corners and each point is projected through the map's CRS.
import { PbfReader } from 'pbf';
import { VectorTile } from '@mapbox/vector-tile';
import { glyphPath, sizeFor } from './icons.js';

const COUNT_KEYS = ['count', 'point_count', 'n', 'project_count', 'cluster_count'];

function tileToLatLng(x, y, z) {
  const n = 2 ** z;
  const lng = (x / n) * 360 - 180;
  const lat = (Math.atan(Math.sinh(Math.PI * (1 - (2 * y) / n))) * 180) / Math.PI;
  return [lat, lng];
}

function latLngToTile(lat, lng, z) {
  const n = 2 ** z;
  const x = ((lng + 180) / 360) * n;
  const r = (lat * Math.PI) / 180;
  const y = ((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n;
  return [Math.floor(x), Math.floor(y)];
}

function clusterCount(props) {
  for (const k of COUNT_KEYS) {
    if (props[k] !== undefined && Number(props[k]) > 1) return Number(props[k]);
  }
  return 0;
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
      this.cache = new Map(); // "z/x/y" → Promise<[{lat, lng, props}]>
      this.drawn = new Map(); // canvas tile key → [{x, y, r, props, lat, lng}] (pixels at that zoom)
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

    fetchTile(z, x, y) {
      const key = `${z}/${x}/${y}`;
      if (!this.cache.has(key)) {
        const url = L.Util.template(this.options.url, { z, x, y });
        this.cache.set(key, fetch(url).then((r) => {
          if (!r.ok) throw new Error(`${r.status} ${url}`);
          return r.arrayBuffer();
        }).then((buf) => {
          const tile = new VectorTile(new PbfReader(new Uint8Array(buf)));
          const out = [];
          for (const name of Object.keys(tile.layers)) {
            const layer = tile.layers[name];
            for (let i = 0; i < layer.length; i += 1) {
              const f = layer.feature(i);
              if (f.type !== 1) continue;
              for (const ring of f.loadGeometry()) {
                for (const pt of ring) {
                  const [lat, lng] = tileToLatLng(x + pt.x / layer.extent, y + pt.y / layer.extent, z);
                  out.push({ lat, lng, props: f.properties });
                }
              }
            }
          }
          return out;
        }));
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
      // the WGS84 tiles covering this canvas tile (one with the plain CRS, a few with a shifted one)
      const nw = map.unproject(origin, z);
      const se = map.unproject(origin.add(size), z);
      const [x0, y0] = latLngToTile(nw.lat, nw.lng, z);
      const [x1, y1] = latLngToTile(se.lat, se.lng, z);
      const max = 2 ** z - 1;
      const wanted = [];
      for (let x = Math.max(0, x0); x <= Math.min(max, x1); x += 1) {
        for (let y = Math.max(0, y0); y <= Math.min(max, y1); y += 1) wanted.push(this.fetchTile(z, x, y));
      }
      Promise.all(wanted).then((lists) => {
        const ctx = canvas.getContext('2d');
        ctx.scale(ratio, ratio);
        const items = [];
        for (const list of lists) {
          for (const it of list) {
            const p = map.project(L.latLng(it.lat, it.lng), z);
            const x = p.x - origin.x;
            const y = p.y - origin.y;
            const n = clusterCount(it.props);
            const r = n ? Math.min(28, 7 + 5 * Math.log10(n + 1)) : sizeFor(it.props.total_investment,
              this.options.classes) / 2;
            if (x < -r || y < -r || x > size.x + r || y > size.y + r) continue;
            items.push({ x: p.x, y: p.y, r, props: it.props, lat: it.lat, lng: it.lng, n });
          }
        }
        items.sort((a, b) => a.r - b.r);
        for (const it of items) this.drawItem(ctx, it, it.x - origin.x, it.y - origin.y);
        this.drawn.set(this._tileCoordsToKey(coords), items);
        done(null, canvas);
      }).catch((err) => done(err, canvas));
      return canvas;
    },

    drawItem(ctx, it, x, y) {
      if (it.n) {
        ctx.beginPath();
        ctx.arc(x, y, it.r, 0, 2 * Math.PI);
        ctx.fillStyle = 'rgba(179, 38, 30, .82)';
        ctx.fill();
        ctx.lineWidth = 3;
        ctx.strokeStyle = 'rgba(179, 38, 30, .25)';
        ctx.stroke();
        ctx.fillStyle = '#fff';
        ctx.font = '600 11px sans-serif';
        ctx.textAlign = 'center';
        ctx.textBaseline = 'middle';
        ctx.fillText(it.n >= 10000 ? `${Math.round(it.n / 1000)}k` : String(it.n), x, y);
        return;
      }
      const term = this.options.sectors.get(it.props.sector) || {};
      ctx.beginPath();
      ctx.arc(x, y, it.r, 0, 2 * Math.PI);
      ctx.fillStyle = term.color || '#777';
      ctx.fill();
      ctx.lineWidth = 1.5;
      ctx.strokeStyle = '#fff';
      if (it.props.total_investment === undefined || it.props.total_investment === null) {
        ctx.setLineDash([2, 2]);
        ctx.strokeStyle = '#333';
      }
      ctx.stroke();
      ctx.setLineDash([]);
      if (it.r >= 8) {
        const s = (it.r * 1.4) / 24;
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
      const e = { latlng };
      const p = map.project(e.latlng, z);
      let best = null;
      let bestD = Infinity;
      for (const [key, items] of this.drawn) {
        if (!key.endsWith(`:${z}`)) continue;
        for (const it of items) {
          const d = Math.hypot(it.x - p.x, it.y - p.y);
          if (d <= it.r + 3 && d < bestD) {
            best = it;
            bestD = d;
          }
        }
      }
      if (!best) return false;
      if (best.n) this.options.onZoomToCluster(L.latLng(best.lat, best.lng));
      else if (best.props.code) this.options.onProjectClick(best.props.code, L.latLng(best.lat, best.lng));
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
