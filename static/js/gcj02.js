// WGS84 ⇄ GCJ-02 ("Mars coordinates" of Amap/Tencent basemaps). Points are stored in WGS84; when a GCJ-02 basemap is
// shown, every drawn coordinate is shifted to GCJ-02 by the map's CRS and shifted back for clicks. The forward
// transform is the published GCJ-02 formula (Krasovsky ellipsoid); the inverse is iterative (cm accuracy).

const A = 6378245.0;
const EE = 0.00669342162296594323;

export function outOfChina(lng, lat) {
  return lng < 72.004 || lng > 137.8347 || lat < 0.8293 || lat > 55.8271;
}

function deltaLat(x, y) {
  let r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  r += ((20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0) / 3.0;
  r += ((20.0 * Math.sin(y * Math.PI) + 40.0 * Math.sin((y / 3.0) * Math.PI)) * 2.0) / 3.0;
  r += ((160.0 * Math.sin((y / 12.0) * Math.PI) + 320 * Math.sin((y * Math.PI) / 30.0)) * 2.0) / 3.0;
  return r;
}

function deltaLng(x, y) {
  let r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  r += ((20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0) / 3.0;
  r += ((20.0 * Math.sin(x * Math.PI) + 40.0 * Math.sin((x / 3.0) * Math.PI)) * 2.0) / 3.0;
  r += ((150.0 * Math.sin((x / 12.0) * Math.PI) + 300.0 * Math.sin((x / 30.0) * Math.PI)) * 2.0) / 3.0;
  return r;
}

/** [lng, lat] in WGS84 → [lng, lat] in GCJ-02 (unchanged outside China). */
export function wgs84ToGcj02(lng, lat) {
  if (outOfChina(lng, lat)) return [lng, lat];
  let dLat = deltaLat(lng - 105.0, lat - 35.0);
  let dLng = deltaLng(lng - 105.0, lat - 35.0);
  const radLat = (lat / 180.0) * Math.PI;
  let magic = Math.sin(radLat);
  magic = 1 - EE * magic * magic;
  const sqrtMagic = Math.sqrt(magic);
  dLat = (dLat * 180.0) / (((A * (1 - EE)) / (magic * sqrtMagic)) * Math.PI);
  dLng = (dLng * 180.0) / ((A / sqrtMagic) * Math.cos(radLat) * Math.PI);
  return [lng + dLng, lat + dLat];
}

/** [lng, lat] in GCJ-02 → [lng, lat] in WGS84, by fixed-point iteration on the forward transform. */
export function gcj02ToWgs84(lng, lat) {
  if (outOfChina(lng, lat)) return [lng, lat];
  let x = lng;
  let y = lat;
  for (let i = 0; i < 30; i += 1) {
    const [gx, gy] = wgs84ToGcj02(x, y);
    const dx = gx - lng;
    const dy = gy - lat;
    x -= dx;
    y -= dy;
    if (Math.abs(dx) < 1e-10 && Math.abs(dy) < 1e-10) break;
  }
  return [x, y];
}

/** A Leaflet CRS drawing WGS84 lat/lngs on GCJ-02 Web Mercator tiles (and turning clicks back into WGS84). */
export function gcj02Crs(L) {
  const merc = L.Projection.SphericalMercator;
  const projection = {
    bounds: merc.bounds,
    project(latlng) {
      const [lng, lat] = wgs84ToGcj02(latlng.lng, latlng.lat);
      return merc.project(L.latLng(lat, lng));
    },
    unproject(point) {
      const ll = merc.unproject(point);
      const [lng, lat] = gcj02ToWgs84(ll.lng, ll.lat);
      return L.latLng(lat, lng);
    },
  };
  return L.extend({}, L.CRS.EPSG3857, { code: 'GCJ02:3857', projection });
}
