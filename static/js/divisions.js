// The divisions layer: boundaries (the offline basemap), banner and seat labels, and a choropleth of the projects
// that match the current filter (count or investment), read from /collections/divisions/items with that filter.
import { label, t } from './i18n.js';
import { money } from './format.js';

const RAMP = ['#fff5eb', '#fdd0a2', '#fdae6b', '#f16913', '#a63603'];
const NO_DATA = '#f3f4f6';
const ZONE_RADIUS_M = 3000;

/** Class breaks: equal steps from 0 to the maximum (readable numbers for planners). */
export function breaks(values) {
  const max = Math.max(0, ...values);
  if (max <= 0) return [];
  return RAMP.map((_, i) => (max * (i + 1)) / RAMP.length);
}

function colour(value, br) {
  if (!value || !br.length) return NO_DATA;
  const i = br.findIndex((b) => value <= b);
  return RAMP[i === -1 ? RAMP.length - 1 : i];
}

/** A label point for a (multi)polygon: the area-weighted centroid of its largest ring. */
function labelPoint(geometry) {
  const polys = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates;
  let best = null;
  let bestA = -1;
  for (const poly of polys) {
    const ring = poly[0];
    let a = 0;
    let cx = 0;
    let cy = 0;
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i, i += 1) {
      const f = ring[j][0] * ring[i][1] - ring[i][0] * ring[j][1];
      a += f;
      cx += (ring[j][0] + ring[i][0]) * f;
      cy += (ring[j][1] + ring[i][1]) * f;
    }
    if (Math.abs(a) > bestA) {
      bestA = Math.abs(a);
      best = [cy / (3 * a), cx / (3 * a)];
    }
  }
  return best;
}

export class DivisionLayer {
  constructor(L, map, { seats, onBannerClick }) {
    this.L = L;
    this.map = map;
    this.seats = seats;
    this.onBannerClick = onBannerClick;
    this.mode = 'count';
    this.features = [];
    this.boundaries = L.geoJSON(null, {
      style: (f) => this.style(f),
      onEachFeature: (f, layer) => layer.on('click', (e) => {
        L.DomEvent.stopPropagation(e);
        this.onBannerClick(f.id ?? f.properties.code, e.latlng);
      }),
    });
    this.zones = L.layerGroup();
    this.labels = L.layerGroup();
    this.group = L.layerGroup([this.boundaries, this.zones, this.labels]);
    this.br = [];
  }

  value(f) {
    const p = f.properties || {};
    return Number(this.mode === 'investment' ? p.total_investment || 0 : p.project_count || 0);
  }

  style(f) {
    const fill = this.mode === 'none' ? '#ffffff' : colour(this.value(f), this.br);
    return { color: '#51606f', weight: 1.4, fillColor: fill, fillOpacity: this.mode === 'none' ? 0.25 : 0.62 };
  }

  setData(collection) {
    // a division without an official boundary comes as an empty MultiPolygon (valid GeoJSON): treat it as none
    this.features = (collection.features || []).map((f) => (
      f.geometry && !(f.geometry.coordinates || []).length ? { ...f, geometry: null } : f));
    this.byCode = new Map(this.features.map((f) => [f.id ?? f.properties.code, f]));
    this.br = breaks(this.features.map((f) => this.value(f)));
    this.boundaries.clearLayers();
    this.boundaries.addData({ type: 'FeatureCollection', features: this.features.filter((f) => f.geometry) });
    this.drawZones();
    this.drawLabels();
  }

  setMode(mode) {
    this.mode = mode;
    this.br = breaks(this.features.map((f) => this.value(f)));
    this.boundaries.setStyle((f) => this.style(f));
    this.zones.eachLayer((l) => l.setStyle(this.style(l.feature)));
  }

  /** Units without an official polygon (the development zone): a dashed circle round their approximate seat. */
  drawZones() {
    const L = this.L;
    this.zones.clearLayers();
    for (const f of this.features.filter((x) => !x.geometry)) {
      const seat = this.seats.find((s) => s.code === (f.id ?? f.properties.code));
      if (!seat) continue;
      const c = L.circle([seat.lat, seat.lon], { radius: ZONE_RADIUS_M, dashArray: '4 4', ...this.style(f) });
      c.feature = f;
      c.on('click', (e) => {
        L.DomEvent.stopPropagation(e);
        this.onBannerClick(seat.code, e.latlng);
      });
      this.zones.addLayer(c);
    }
  }

  drawLabels() {
    const L = this.L;
    this.labels.clearLayers();
    for (const f of this.features) {
      if (!f.geometry) continue;
      const at = labelPoint(f.geometry);
      if (!at) continue;
      this.labels.addLayer(L.marker(at, {
        interactive: false,
        keyboard: false,
        icon: L.divIcon({ className: 'division-label', html: label(f.properties), iconSize: null }),
      }));
    }
    for (const s of this.seats) {
      this.labels.addLayer(L.marker([s.lat, s.lon], {
        interactive: false,
        keyboard: false,
        icon: L.divIcon({ className: 'seat-dot', iconSize: [6, 6] }),
      }));
      if (s.seat_name) {
        const text = s.no_boundary ? label(s) : s.seat_name;
        this.labels.addLayer(L.marker([s.lat, s.lon], {
          interactive: false,
          keyboard: false,
          icon: L.divIcon({ className: 'division-label seat', html: text, iconSize: null, iconAnchor: [-6, 6] }),
        }));
      }
    }
  }

  relabel() {
    this.drawLabels();
  }

  bounds(code) {
    const f = this.byCode?.get(code);
    if (!f) return null;
    if (f.geometry) return this.L.geoJSON(f).getBounds();
    const seat = this.seats.find((s) => s.code === code);
    return seat ? this.L.latLng(seat.lat, seat.lon).toBounds(ZONE_RADIUS_M * 4) : null;
  }

  /** Legend rows of the current choropleth: [colour, from, to]. */
  legend() {
    if (this.mode === 'none' || !this.br.length) return [];
    const fmt = this.mode === 'investment' ? money : (v) => Math.round(v).toString();
    return this.br.map((b, i) => [RAMP[i], fmt(i === 0 ? 0 : this.br[i - 1]), fmt(b)]);
  }
}

/** The totals of one division (from its live statistics) as HTML tables by tier and by sector. */
export function bannerTotalsHtml(feature, vocab) {
  const p = feature.properties || {};
  const rows = (obj, terms) => {
    const entries = Object.entries(obj || {}).filter(([, n]) => n > 0);
    const order = new Map(terms.map((x, i) => [x.code, i]));
    entries.sort((a, b) => (order.get(a[0]) ?? 99) - (order.get(b[0]) ?? 99));
    return entries.map(([code, n]) => {
      const term = terms.find((x) => x.code === code) || { code };
      return `<tr><td>${label(term)}</td><td class="n">${n}</td></tr>`;
    }).join('') || `<tr><td colspan="2">—</td></tr>`;
  };
  const escape = (s) => String(s ?? '').replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<h3 data-testid="banner-name">${escape(t('bannerTotals', label(p)))}</h3>
    <p class="totals"><b data-testid="banner-count">${p.project_count ?? 0}</b> ${t('count')} ·
      ${t('totalInvestment')} <b data-testid="banner-investment">${money(p.total_investment ?? 0)}</b></p>
    <table data-testid="banner-by-tier"><thead><tr><th>${t('byTier')}</th><th></th></tr></thead>
      <tbody>${rows(p.by_tier, vocab.tier || [])}</tbody></table>
    <table data-testid="banner-by-sector"><thead><tr><th>${t('bySector')}</th><th></th></tr></thead>
      <tbody>${rows(p.by_sector, vocab.sector || [])}</tbody></table>`;
}
