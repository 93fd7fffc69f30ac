// Vector tiles fetched and decoded off the main thread (a module worker), so pan and zoom frames never wait for a
// 10,000-point tile to be received and parsed. The page asks {id, url, z, x, y}; the answer is the tile's points in
// transferable typed arrays (see vtlayer.js), or {id, error}.
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

self.onmessage = async (e) => {
  const { id, url, z, x, y } = e.data;
  try {
    const r = await fetch(url);
    if (!r.ok) throw new Error(`${r.status} ${url}`);
    const d = decode(await r.arrayBuffer(), z, x, y);
    self.postMessage({ id, d }, [d.wx.buffer, d.wy.buffer, d.lat.buffer, d.lng.buffer, d.inv.buffer, d.cnt.buffer,
      d.sector.buffer]);
  } catch (err) {
    self.postMessage({ id, error: String(err.message || err) });
  }
};
