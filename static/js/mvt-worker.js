// Vector tiles fetched, decoded and drawn off the main thread (a module worker), so pan and zoom frames never wait
// for a 10,000-point tile to be received, parsed or rasterised. The page sends {style} once, then asks for each of
// its canvas tiles {id, template, base, z, x, y, crs}; the answer {id, d} carries the points drawn there in
// transferable typed arrays (world pixels wx, wy of the map's CRS at zoom z, radii r, WGS84 lat/lng for clicks; see
// vtlayer.js) and the canvas tile as an ImageBitmap (256 × 256 CSS px), or {id, error}.
//
// With crs 'wgs84' the canvas tile is the layers API's tile of the same z/x/y. With crs 'gcj02' (an Amap-like
// basemap) the map's grid is GCJ-02 Web Mercator: the WGS84 tiles covering the canvas tile are fetched (kept for
// the neighbouring canvas tiles), every point is shifted WGS84 → GCJ-02 and only then drawn.
//
// The tile is read with pbf's PbfReader following the Mapbox Vector Tile 2.1 spec: only point features, only their
// first point and only the properties the map draws. (@mapbox/vector-tile cannot be loaded here: it imports a bare
// module name, and workers do not see the page's import map.)
import { PbfReader } from '/static/node_modules/pbf/index.js';
import { gcj02ToWgs84, wgs84ToGcj02 } from './gcj02.js';
import { drawPoints, radii, radiusOf } from './tiledraw.js';

const COUNT_KEYS = ['count', 'point_count', 'n', 'project_count', 'cluster_count'];
const WANTED = new Set(['code', 'sector', 'total_investment', ...COUNT_KEYS]);

function readValueField(tag, box, pbf) {
  if (tag === 1) box.v = pbf.readString();
  else if (tag === 2) box.v = pbf.readFloat();
  else if (tag === 3) box.v = pbf.readDouble();
  else if (tag === 4) box.v = pbf.readVarint64();
  else if (tag === 5) box.v = pbf.readVarint();
  else if (tag === 6) box.v = pbf.readSVarint();
  else if (tag === 7) box.v = pbf.readBoolean();
}

function readFeatureField(tag, f, pbf) {
  if (tag === 2) f.tags = pbf.readPackedVarint([]);
  else if (tag === 3) f.type = pbf.readVarint();
  else if (tag === 4) {
    const end = pbf.readVarint() + pbf.pos;
    const cmd = pbf.readVarint();
    if ((cmd & 7) === 1 && cmd >> 3 >= 1) { // MoveTo: the (first) point
      f.x = pbf.readSVarint();
      f.y = pbf.readSVarint();
    }
    pbf.pos = end;
  }
}

function readLayerField(tag, layer, pbf) {
  if (tag === 2) {
    const f = pbf.readMessage(readFeatureField, { type: 0, tags: null, x: NaN, y: NaN });
    if (f.type === 1 && !Number.isNaN(f.x)) layer.features.push(f);
  } else if (tag === 3) layer.keys.push(pbf.readString());
  else if (tag === 4) layer.values.push(pbf.readMessage(readValueField, { v: null }).v);
  else if (tag === 5) layer.extent = pbf.readVarint();
}

function readTileField(tag, layers, pbf) {
  if (tag === 3) layers.push(pbf.readMessage(readLayerField, { extent: 4096, keys: [], values: [], features: [] }));
}

// Web Mercator: lng/lat ⇄ x/y on a world of ``world`` units (pixels, or tiles)
const mercX = (lng, world) => ((lng + 180) / 360) * world;
const mercY = (lat, world) => {
  const r = (lat * Math.PI) / 180;
  return ((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * world;
};
const unmercLng = (px, world) => (px / world) * 360 - 180;
const unmercLat = (py, world) => (Math.atan(Math.sinh(Math.PI * (1 - (2 * py) / world))) * 180) / Math.PI;

/** Typed arrays for up to ``total`` points (the fields of the answer, see the header), filled by add(); done()
 * gives the plain object to post (codes joined by newlines: one string is far cheaper to pass than 10,000). */
function pointArrays(total) {
  const out = {
    n: 0, wx: new Float64Array(total), wy: new Float64Array(total), lat: new Float64Array(total),
    lng: new Float64Array(total), inv: new Float64Array(total), cnt: new Int32Array(total),
    sector: new Uint16Array(total), sectors: [''], codes: '',
  };
  const sectorIndex = new Map([['', 0]]);
  const codes = [];
  return {
    add(wx, wy, lat, lng, inv, cnt, sector, code) {
      const k = out.n;
      out.wx[k] = wx;
      out.wy[k] = wy;
      out.lat[k] = lat;
      out.lng[k] = lng;
      out.inv[k] = inv;
      out.cnt[k] = cnt;
      let si = sectorIndex.get(sector);
      if (si === undefined) {
        si = out.sectors.length;
        out.sectors.push(sector);
        sectorIndex.set(sector, si);
      }
      out.sector[k] = si;
      codes.push(code);
      out.n += 1;
    },
    done() {
      out.codes = codes.join('\n');
      return out;
    },
  };
}

/** One tile's point features (world pixels of the plain Web Mercator grid). */
function decode(buf, z, tx, ty) {
  const layers = new PbfReader(new Uint8Array(buf)).readFields(readTileField, []);
  const out = pointArrays(layers.reduce((s, l) => s + l.features.length, 0));
  const n2 = 2 ** z;
  for (const layer of layers) {
    const wantedKey = layer.keys.map((k) => (WANTED.has(k) ? k : null));
    const scale = 256 / layer.extent;
    for (const { x, y, tags } of layer.features) {
      const fx = tx + x / layer.extent;
      const fy = ty + y / layer.extent;
      let inv = NaN;
      let cnt = 0;
      let code = '';
      let sector = '';
      for (let i = 0; tags && i + 1 < tags.length; i += 2) {
        const key = wantedKey[tags[i]];
        if (key === null || key === undefined) continue;
        const value = layer.values[tags[i + 1]];
        if (key === 'total_investment') inv = value === null || value === undefined ? NaN : Number(value);
        else if (key === 'code') code = String(value ?? '');
        else if (key === 'sector') sector = String(value ?? '');
        else if (!cnt && Number(value) > 1) cnt = Number(value);
      }
      out.add(tx * 256 + x * scale, ty * 256 + y * scale, unmercLat(fy, n2), unmercLng(fx, n2), inv, cnt, sector, code);
    }
  }
  return out.done();
}

// ---- the canvas tiles -----------------------------------------------------------------------------------------

let style = null; // {sectors: {code: {color, icon}}, glyphs: {icon: svg path}, mins: [class minimum], ratio, glyphLimit}
const glyphCache = new Map();
const MAX_RADIUS = 28; // the largest mark (a big cluster): how far a point outside a tile can still reach into it
const SOURCES = 32; // decoded WGS84 tiles kept for the neighbouring GCJ-02 canvas tiles (oldest dropped first)
const sources = new Map(); // url → Promise of a decoded tile

function glyph(icon) {
  let p = glyphCache.get(icon);
  if (!p) {
    p = new Path2D(style.glyphs[icon] || style.glyphs[''] || '');
    glyphCache.set(icon, p);
  }
  return p;
}

function tileUrl(template, base, z, x, y) {
  return new URL(template.replace('{z}', z).replace('{x}', x).replace('{y}', y), base).href;
}

async function fetchDecoded(url, z, x, y) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${r.status} ${url}`);
  return decode(await r.arrayBuffer(), z, x, y);
}

/** A WGS84 tile for several GCJ-02 canvas tiles: decoded once, kept while its neighbours are drawn. */
function source(template, base, z, x, y) {
  const url = tileUrl(template, base, z, x, y);
  let p = sources.get(url);
  if (p) sources.delete(url); // most recently used last
  else {
    p = fetchDecoded(url, z, x, y);
    p.catch(() => sources.delete(url));
  }
  sources.set(url, p);
  while (sources.size > SOURCES) sources.delete(sources.keys().next().value);
  return p;
}

/** The WGS84 tiles [x, y] holding the points that can show on GCJ-02 canvas tile z/x/y (marks reach MAX_RADIUS). */
function coveringTiles(z, x, y) {
  const world = 256 * 2 ** z;
  const xs = [];
  const ys = [];
  for (const px of [x * 256 - MAX_RADIUS, (x + 1) * 256 + MAX_RADIUS]) {
    for (const py of [y * 256 - MAX_RADIUS, (y + 1) * 256 + MAX_RADIUS]) {
      const [lng, lat] = gcj02ToWgs84(unmercLng(px, world), unmercLat(py, world));
      xs.push(Math.floor(mercX(lng, world) / 256));
      ys.push(Math.floor(mercY(lat, world) / 256));
    }
  }
  const max = 2 ** z - 1;
  const out = [];
  for (let tx = Math.max(0, Math.min(...xs)); tx <= Math.min(max, Math.max(...xs)); tx += 1) {
    for (let ty = Math.max(0, Math.min(...ys)); ty <= Math.min(max, Math.max(...ys)); ty += 1) out.push([tx, ty]);
  }
  return out;
}

/** The points of the covering WGS84 tiles that show on GCJ-02 canvas tile z/x/y, at their GCJ-02 world pixels.
 * Each point is taken from its own tile only (not from a neighbour's buffer), so none is drawn twice. */
function shiftedPoints(tiles, z, x, y) {
  const world = 256 * 2 ** z;
  const out = pointArrays(tiles.reduce((s, [t]) => s + t.n, 0));
  for (const [d, tx, ty] of tiles) {
    const codeList = d.codes.split('\n');
    for (let i = 0; i < d.n; i += 1) {
      const ox = d.wx[i] - tx * 256;
      const oy = d.wy[i] - ty * 256;
      if (ox < 0 || oy < 0 || ox >= 256 || oy >= 256) continue;
      const [glng, glat] = wgs84ToGcj02(d.lng[i], d.lat[i]);
      const px = mercX(glng, world);
      const py = mercY(glat, world);
      const r = radiusOf(d.inv[i], d.cnt[i], style.mins);
      if (px < x * 256 - r || py < y * 256 - r || px > (x + 1) * 256 + r || py > (y + 1) * 256 + r) continue;
      out.add(px, py, d.lat[i], d.lng[i], d.inv[i], d.cnt[i], d.sectors[d.sector[i]], codeList[i]);
    }
  }
  return out.done();
}

/** The points of canvas tile z/x/y in the map's CRS (see the header). */
async function canvasPoints({ template, base, z, x, y, crs }) {
  if (crs !== 'gcj02') return fetchDecoded(tileUrl(template, base, z, x, y), z, x, y);
  const covering = coveringTiles(z, x, y);
  const tiles = await Promise.all(covering.map(([tx, ty]) => source(template, base, z, tx, ty)));
  return shiftedPoints(tiles.map((d, i) => [d, ...covering[i]]), z, x, y);
}

function render(d, x, y) {
  const size = 256 * style.ratio;
  const canvas = new OffscreenCanvas(size, size);
  const ctx = canvas.getContext('2d');
  ctx.scale(style.ratio, style.ratio);
  drawPoints(ctx, d, x * 256, y * 256, style, glyph);
  return canvas.transferToImageBitmap();
}

self.onmessage = async (e) => {
  if (e.data.style) {
    style = e.data.style;
    glyphCache.clear();
    return;
  }
  const { id, x, y } = e.data;
  try {
    if (!style) throw new Error('tile style not set');
    const d = await canvasPoints(e.data);
    d.r = radii(d, style.mins);
    d.bitmap = render(d, x, y);
    self.postMessage({ id, d }, [d.wx.buffer, d.wy.buffer, d.lat.buffer, d.lng.buffer, d.inv.buffer, d.cnt.buffer,
      d.sector.buffer, d.r.buffer, d.bitmap]);
  } catch (err) {
    self.postMessage({ id, error: String(err.message || err) });
  }
};
