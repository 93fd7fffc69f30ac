// Vector tiles fetched, decoded and drawn off the main thread (a module worker), so pan and zoom frames never wait
// for a 10,000-point tile to be received, parsed or rasterised. The page sends {style} once, then asks
// {id, url, z, x, y, draw}; the answer is the tile's points in transferable typed arrays (see vtlayer.js) plus, with
// ``draw``, the canvas tile as an ImageBitmap (256 × 256 CSS px, Web Mercator), or {id, error}.
//
// The tile is read with pbf's PbfReader following the Mapbox Vector Tile 2.1 spec: only point features, only their
// first point and only the properties the map draws. (@mapbox/vector-tile cannot be loaded here: it imports a bare
// module name, and workers do not see the page's import map.)
import { PbfReader } from '/static/node_modules/pbf/index.js';

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

/** One tile's point features as typed arrays (see the answer's fields in vtlayer.js). */
function decode(buf, z, tx, ty) {
  const layers = new PbfReader(new Uint8Array(buf)).readFields(readTileField, []);
  const total = layers.reduce((s, l) => s + l.features.length, 0);
  const out = {
    n: 0, wx: new Float64Array(total), wy: new Float64Array(total), lat: new Float64Array(total),
    lng: new Float64Array(total), inv: new Float64Array(total), cnt: new Int32Array(total),
    sector: new Uint16Array(total), sectors: [''], codes: '',
  };
  const sectorIndex = new Map([['', 0]]);
  const codes = [];
  const n2 = 2 ** z;
  for (const layer of layers) {
    const wantedKey = layer.keys.map((k) => (WANTED.has(k) ? k : null));
    const scale = 256 / layer.extent;
    for (const { x, y, tags } of layer.features) {
      const k = out.n;
      out.wx[k] = tx * 256 + x * scale;
      out.wy[k] = ty * 256 + y * scale;
      const fx = tx + x / layer.extent;
      const fy = ty + y / layer.extent;
      out.lng[k] = (fx / n2) * 360 - 180;
      out.lat[k] = (Math.atan(Math.sinh(Math.PI * (1 - (2 * fy) / n2))) * 180) / Math.PI;
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
    }
  }
  out.codes = codes.join('\n'); // one string: far cheaper to pass than 10,000 small ones
  return out;
}

// ---- drawing (the page's canvas tile as an ImageBitmap; same look as ProjectTileLayer.drawItem) ----------------

let style = null; // {sectors: {code: {color, icon}}, glyphs: {icon: svg path}, mins: [class minimum], ratio, glyphLimit}
const glyphCache = new Map();

function glyph(icon) {
  let p = glyphCache.get(icon);
  if (!p) {
    p = new Path2D(style.glyphs[icon] || style.glyphs[''] || '');
    glyphCache.set(icon, p);
  }
  return p;
}

function radii(d) {
  const r = new Float32Array(d.n);
  for (let i = 0; i < d.n; i += 1) {
    if (d.cnt[i]) r[i] = Math.min(28, 7 + 5 * Math.log10(d.cnt[i] + 1));
    else if (Number.isNaN(d.inv[i])) r[i] = 8;
    else {
      let reached = 0;
      for (const m of style.mins) if (d.inv[i] >= m) reached += 1;
      r[i] = (14 + 5 * reached) / 2;
    }
  }
  return r;
}

function render(d, tx, ty) {
  const size = 256 * style.ratio;
  const canvas = new OffscreenCanvas(size, size);
  const ctx = canvas.getContext('2d');
  ctx.scale(style.ratio, style.ratio);
  const order = Array.from({ length: d.n }, (_, i) => i).sort((a, b) => d.r[a] - d.r[b]);
  const glyphs = d.n <= style.glyphLimit;
  for (const k of order) {
    const x = d.wx[k] - tx * 256;
    const y = d.wy[k] - ty * 256;
    const r = d.r[k];
    if (x < -r || y < -r || x > 256 + r || y > 256 + r) continue;
    ctx.beginPath();
    ctx.arc(x, y, r, 0, 2 * Math.PI);
    if (d.cnt[k]) {
      ctx.fillStyle = 'rgba(179, 38, 30, .82)';
      ctx.fill();
      ctx.lineWidth = 3;
      ctx.strokeStyle = 'rgba(179, 38, 30, .25)';
      ctx.stroke();
      ctx.fillStyle = '#fff';
      ctx.font = '600 11px sans-serif';
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      const n = d.cnt[k];
      ctx.fillText(n >= 10000 ? `${Math.round(n / 1000)}k` : String(n), x, y);
      continue;
    }
    const term = style.sectors[d.sectors[d.sector[k]]] || {};
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
  }
  return canvas.transferToImageBitmap();
}

self.onmessage = async (e) => {
  if (e.data.style) {
    style = e.data.style;
    glyphCache.clear();
    return;
  }
  const { id, url, z, x, y, draw } = e.data;
  try {
    const r = await fetch(url);
    if (!r.ok) throw new Error(`${r.status} ${url}`);
    const d = decode(await r.arrayBuffer(), z, x, y);
    d.r = radii(d);
    const transfer = [d.wx.buffer, d.wy.buffer, d.lat.buffer, d.lng.buffer, d.inv.buffer, d.cnt.buffer,
      d.sector.buffer, d.r.buffer];
    if (draw && style && typeof OffscreenCanvas !== 'undefined') {
      d.bitmap = render(d, x, y);
      transfer.push(d.bitmap);
    }
    self.postMessage({ id, d }, transfer);
  } catch (err) {
    self.postMessage({ id, error: String(err.message || err) });
  }
};
