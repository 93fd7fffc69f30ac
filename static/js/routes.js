// 考察路线: the stored inspection plans of the route planner (GET /routes, GET /routes/{id}) on the map — each
// route's line in its colour, its stops numbered in visiting order (起 start, 终 end, 宿 overnight) — and the links
// to the printed outputs of the route on screen (the same PDF, handbook, GPX and KML the API serves).
import { label, lang, t } from './i18n.js';
import { styledDivIcon } from './styles.js';

const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const PLACE_MARK = { start: 'markStart', end: 'markEnd', overnight: 'markOvernight' };

/** A route's number in the printing API (?route=N): its order in the plan, from 1. */
export function routeNumber(route) {
  return route.seq + 1;
}

export class RouteView {
  constructor(L, map, { fetchJson, onStopClick }) {
    this.L = L;
    this.map = map;
    this.fetchJson = fetchJson;
    this.onStopClick = onStopClick;
    this.plans = [];
    this.plan = null; // GET /routes/{id}
    this.route = null; // the route on screen (one of plan.routes) or null for every route
    if (!map.getPane('routeLines')) {
      map.createPane('routeLines').style.zIndex = 420; // above the divisions, below project tiles and markers
      map.createPane('routeStops').style.zIndex = 640; // above project markers, below tooltips and popups
    }
    this.group = L.layerGroup().addTo(map);
    this.stopMarkers = [];
  }

  /** The stored plans, newest first (GET /routes). */
  async loadList() {
    const body = await this.fetchJson('/routes?limit=200');
    this.plans = body.plans || [];
    return this.plans;
  }

  /** Show plan ``planId`` (all its routes; ``routeNumber`` 1, 2 … puts that one in front); '' clears. */
  async show(planId, number = '') {
    if (!planId) {
      this.plan = null;
      this.route = null;
      this.draw();
      return null;
    }
    if (!this.plan || String(this.plan.id) !== String(planId)) {
      this.plan = await this.fetchJson(`/routes/${encodeURIComponent(planId)}`);
    }
    this.select(number);
    return this.plan;
  }

  /** Choose the route on screen by its number ('' = every route of the plan). */
  select(number) {
    const routes = this.plan ? this.plan.routes : [];
    this.route = routes.find((r) => String(routeNumber(r)) === String(number)) || null;
    this.draw();
  }

  routeName(route) {
    return lang() === 'en' ? route.name_en || route.name : route.name;
  }

  draw() {
    const L = this.L;
    this.group.clearLayers();
    this.stopMarkers = [];
    if (!this.plan) return;
    for (const route of this.plan.routes) {
      const front = !this.route || this.route.id === route.id;
      const line = route.line || {
        type: 'LineString', coordinates: route.stops.map((s) => [s.lon, s.lat]),
      };
      L.geoJSON(line, {
        pane: 'routeLines',
        interactive: false,
        style: {
          color: route.color || '#c0392b', weight: front ? 5 : 3, opacity: front ? 0.9 : 0.35,
          className: `route-line route-${routeNumber(route)}`,
        },
      }).addTo(this.group);
      // the end first, so a start at the same place (a round trip) stays on top
      for (const stop of [...route.stops].reverse()) {
        const marker = this.stopMarker(route, stop, front);
        marker.addTo(this.group);
        this.stopMarkers.push({ route, stop, marker });
      }
    }
  }

  stopMarker(route, stop, front) {
    const L = this.L;
    const text = stop.kind === 'visit' ? String(stop.number) : t(PLACE_MARK[stop.kind] || 'markStart');
    const size = stop.kind === 'visit' ? 22 : 24;
    const icon = styledDivIcon(L, {
      className: 'route-stop-icon',
      html: `<div class="route-stop rs-${stop.kind}${front ? '' : ' behind'}" data-route="${routeNumber(route)}" ` +
        `data-kind="${stop.kind}" data-seq="${stop.seq}" data-number="${stop.number ?? ''}" ` +
        `data-rc="${esc(route.color || '#c0392b')}">${esc(text)}</div>`,
      iconSize: [size, size],
      iconAnchor: [size / 2, size / 2],
    });
    const marker = L.marker([stop.lat, stop.lon], {
      icon, pane: 'routeStops', keyboard: false, zIndexOffset: front ? 1000 : 0, title: stop.name,
    });
    const when = [stop.arrival && `${t('arrival')} ${stop.arrival}`, stop.departure && `${t('departure')} ${stop.departure}`]
      .filter(Boolean).join(' · ');
    marker.bindTooltip(`<b>${esc(this.routeName(route))} · ${esc(text)}</b> ${esc(stop.name)}<br>` +
      `${esc(t('dayN', stop.day))}${when ? ` · ${esc(when)}` : ''}`, { direction: 'top', offset: [0, -10] });
    if (stop.kind === 'visit' && stop.project_code) {
      marker.on('click', () => this.onStopClick(stop.project_code, marker.getLatLng()));
    }
    return marker;
  }

  /** What is drawn, in drawing order reversed back to the plan's order (for tests and the print title). */
  drawnStops() {
    const out = this.stopMarkers.map(({ route, stop, marker }) => ({
      route: routeNumber(route), seq: stop.seq, kind: stop.kind, number: stop.number, name: stop.name,
      lat: marker.getLatLng().lat, lng: marker.getLatLng().lng,
    }));
    return out.sort((a, b) => a.route - b.route || a.seq - b.seq);
  }

  /** The bounds of the route on screen (or of the whole plan). */
  bounds() {
    if (!this.plan) return null;
    const routes = this.route ? [this.route] : this.plan.routes;
    const pts = routes.flatMap((r) => r.stops.map((s) => [s.lat, s.lon]));
    return pts.length ? this.L.latLngBounds(pts) : null;
  }

  fit(animate = true) {
    const b = this.bounds();
    if (b) this.map.fitBounds(b, { padding: [30, 30], maxZoom: 13, animate });
  }

  /** The printing API's URLs for the route on screen (every route of the plan when none is chosen). */
  links({ paper = 'A4', orientation = '' } = {}) {
    if (!this.plan) return null;
    const id = encodeURIComponent(this.plan.id);
    const common = new URLSearchParams();
    if (this.route) common.set('route', String(routeNumber(this.route)));
    if (lang() === 'en') common.set('lang', 'en');
    const pdf = new URLSearchParams(common);
    pdf.set('paper', paper);
    if (orientation) pdf.set('orientation', orientation);
    const gcj = new URLSearchParams(common);
    gcj.set('crs', 'gcj02');
    const q = (p) => (p.toString() ? `?${p}` : '');
    return {
      map: `/routes/${id}/map.pdf${q(pdf)}`,
      handbook: `/routes/${id}/handbook.pdf${q(pdf)}`,
      gpx: `/routes/${id}.gpx${q(common)}`,
      gpxGcj: `/routes/${id}.gpx${q(gcj)}`,
      kml: `/routes/${id}.kml${q(common)}`,
      kmlGcj: `/routes/${id}.kml${q(gcj)}`,
    };
  }

  /** The plan's options for a <select>: "№ title (n routes, m visits)". */
  planOptions() {
    return this.plans.map((p) => ({
      value: String(p.id),
      text: `${p.id} · ${p.title || ''} (${t('routesVisits', p.routes.length, p.visits)})`,
    }));
  }

  /** Totals of the route on screen (or the plan) as HTML, with the travel model's label. */
  infoHtml() {
    if (!this.plan) return `<p class="hint">${esc(t(this.plans.length ? 'choosePlanHint' : 'noPlans'))}</p>`;
    const routes = this.route ? [this.route] : this.plan.routes;
    const rows = routes.map((r) => `<tr data-testid="route-row">
        <td><span class="route-swatch" data-bg="${esc(r.color)}"></span>${esc(this.routeName(r))}</td>
        <td class="n">${r.totals.visits}</td><td class="n">${Number(r.totals.distance_km).toFixed(0)}</td>
        <td class="n">${(Number(r.totals.driving_min) / 60).toFixed(1)}</td></tr>`).join('');
    const model = this.plan.travel_model || {};
    const modelLabel = model.label ? label(model.label) : '';
    return `<table class="route-table"><thead><tr><th>${esc(t('route'))}</th><th>${esc(t('visits'))}</th>
        <th>${esc(t('km'))}</th><th>${esc(t('drivingHours'))}</th></tr></thead><tbody>${rows}</tbody></table>
      ${modelLabel ? `<p class="hint" data-testid="travel-model">${esc(modelLabel)}</p>` : ''}
      ${this.leftOutHtml()}`;
  }

  /** The plan's projects left out (GET /routes/{id} unassigned), each with the planner's reason. */
  leftOutHtml() {
    const left = this.plan?.unassigned || [];
    if (!left.length) return '';
    const en = lang() === 'en';
    const items = left.map((u) => {
      const reason = u.reason ? (en ? u.reason.en || u.reason.zh : u.reason.zh || u.reason.en) : '';
      return `<li data-testid="left-out-row" data-code="${esc(u.project_code)}"><b>${esc(u.project_code)}</b>
        ${esc(u.name)}${u.division ? ` [${esc(u.division)}]` : ''}: <span class="reason">${esc(reason)}</span></li>`;
    }).join('');
    return `<div class="left-out" data-testid="route-left-out"><p><b>${esc(t('leftOut', left.length))}</b></p>
      <ul>${items}</ul></div>`;
  }

  /** The heading of a printed page: plan title, route, dates, travel model. */
  printTitle() {
    if (!this.plan) return '';
    const route = this.route;
    const name = route ? this.routeName(route) : t('allRoutes');
    const start = this.plan.settings?.start_date;
    const model = this.plan.travel_model?.label ? label(this.plan.travel_model.label) : '';
    return `<h1>${esc(t('title'))} · ${esc(t('routesSection'))}</h1>
      <p><b>${esc(this.plan.title || '')}</b> — ${esc(name)}${start ? ` · ${esc(start)}` : ''}
      ${route ? ` · ${esc(t('visitsN', route.totals.visits))} · ${Number(route.totals.distance_km).toFixed(0)} ${esc(t('km'))}` : ''}</p>
      ${model ? `<p class="model">${esc(model)}</p>` : ''}`;
  }
}
