// 通辽市重大项目地图: the page. Reads its configuration from /webmap/config and all data from the layers API
// (items, divisions with live statistics, /stats, tiles, exports), keeps the filter in the URL.
import { applyBasemap, basemapEntries } from './basemaps.js';
import { bannerTotalsHtml, DivisionLayer } from './divisions.js';
import { completionRate, count, money } from './format.js';
import { label, lang, setLang, t, translatePage } from './i18n.js';
import { ensureLogin, loginExpired } from './login.js';
import { glyphSvg, sizeFor } from './icons.js';
import { missingHtml, progressRowsHtml, reportAsOf, validMonth } from './progress.js';
import { ProjectLayer } from './projects.js';
import { RouteView, routeNumber } from './routes.js';
import { applyDataStyles } from './styles.js';
import { emptyState, filterQuery, fromUrl, LIST_FILTERS, toUrl } from './state.js';
import { parseView, ViewKeeper } from './view.js';

const L = window.L;
const CORE_COLLECTIONS = new Set(['projects', 'divisions']);
const $ = (sel) => document.querySelector(sel);
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const app = {
  state: emptyState(),
  config: null,
  vocab: {},
  sectors: new Map(),
  classes: [],
  stats: null,
  matched: 0,
  mode: 'markers',
  collections: [],
  extra: new Map(),
  timings: { start: performance.now() },
  errors: [],
  loads: 0,
};
window.geoapp = app;
let readyResolve;
app.ready = new Promise((resolve) => { readyResolve = resolve; });

async function fetchJson(url) {
  const r = await fetch(url, { headers: { Accept: 'application/geo+json, application/json' } });
  if (!r.ok) {
    if (r.status === 401) loginExpired(); // reading needs a login here and it expired: the dialog again
    let detail = `${r.status}`;
    try {
      const body = await r.json();
      detail = body[lang()] || body.description || JSON.stringify(body);
    } catch (e) { /* not JSON */ }
    throw new Error(typeof detail === 'string' ? detail : JSON.stringify(detail));
  }
  return r.json();
}

function showStatus(text) {
  $('#map-status').textContent = text || '';
}

function showError(err) {
  app.errors.push(String(err.message || err));
  showStatus(`${t('error')}: ${err.message || err}`);
}

// ---- filter form ---------------------------------------------------------------------------------------------

/** Filter checkboxes: a box is checked when its value is selected; none selected means no filter (all values). */
function selected(key, code) {
  return app.state[key].includes(code);
}

function toggleSelected(key, code, on) {
  const all = (app.vocab[key] || []).map((x) => x.code);
  const sel = new Set(app.state[key]);
  if (on) sel.add(code);
  else sel.delete(code);
  app.state[key] = sel.size === all.length ? [] : all.filter((c) => sel.has(c));
}

/** Legend toggles: a sector is shown when it is selected or nothing is; hiding the last shown one is refused. */
function shown(key, code) {
  return app.state[key].length === 0 || app.state[key].includes(code);
}

function toggleShown(key, code, on) {
  const all = (app.vocab[key] || []).map((x) => x.code);
  const vis = new Set(app.state[key].length ? app.state[key] : all);
  if (on) vis.add(code);
  else vis.delete(code);
  if (vis.size === 0) return false;
  app.state[key] = vis.size === all.length ? [] : all.filter((c) => vis.has(c));
  return true;
}

function renderChecks(key, el, withSwatch) {
  el.innerHTML = (app.vocab[key] || []).map((term) => `
    <label><input type="checkbox" name="${key}" value="${esc(term.code)}" ${selected(key, term.code) ? 'checked' : ''}>
      ${withSwatch ? glyphSvg(term.icon, { color: term.color, cls: 'glyph swatch-glyph' }) : ''}
      <span>${esc(label(term))}</span></label>`).join('');
}

function option(value, text, selected) {
  return `<option value="${esc(value)}" ${selected ? 'selected' : ''}>${esc(text)}</option>`;
}

function renderForm() {
  const s = app.state;
  renderChecks('sector', $('#f-sector'), true);
  renderChecks('tier', $('#f-tier'), false);
  renderChecks('status', $('#f-status'), false);
  const divisions = app.divisionList || [];
  $('#f-division').innerHTML = option('', t('showAll'), !s.division) +
    divisions.map((d) => option(d.code, label(d), s.division === d.code)).join('');
  $('#f-investment_class').innerHTML = option('', t('any'), !s.investment_class) +
    app.classes.map((c) => option(c.code, label(c), s.investment_class === c.code)).join('');
  // the start years present in the data (/stats start_years, every project whatever the filter), plus the URL's
  const years = new Set((app.startYears || []).map(String));
  if (s.start_year) years.add(s.start_year);
  $('#f-start_year').innerHTML = option('', t('any'), !s.start_year) +
    [...years].sort().reverse().map((y) => option(y, y, s.start_year === y)).join('');
  $('#filters [name=q]').value = s.q;
}

function bindForm() {
  const form = $('#filters');
  form.addEventListener('change', (e) => {
    const el = e.target;
    if (LIST_FILTERS.includes(el.name)) toggleSelected(el.name, el.value, el.checked);
    else if (el.name && el.name !== 'q') app.state[el.name] = el.value;
    else return;
    filterChanged();
  });
  let timer = null;
  form.querySelector('[name=q]').addEventListener('input', (e) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      app.state.q = e.target.value.trim();
      filterChanged();
    }, 350);
  });
  form.addEventListener('submit', (e) => e.preventDefault());
  $('#reset').addEventListener('click', () => {
    for (const k of LIST_FILTERS) app.state[k] = [];
    Object.assign(app.state, { division: '', investment_class: '', start_year: '', q: '' });
    renderForm();
    filterChanged();
  });
}

function filterChanged() {
  toUrl(app.state);
  renderLayerList();
  refresh();
}

// ---- layer list and legend -----------------------------------------------------------------------------------

function renderLayerList() {
  const s = app.state;
  const bySector = app.stats?.by_sector || {};
  const toggleHint = esc(t('sectorToggleHint'));
  const sectorRows = (app.vocab.sector || []).map((term) => `
    <label title="${toggleHint}"><input type="checkbox" name="sector" value="${esc(term.code)}" ${shown('sector', term.code) ? 'checked' : ''}>
      ${glyphSvg(term.icon, { color: term.color })}<span>${esc(label(term))}</span>
      <span class="count">${countOf(bySector[term.code])}</span></label>`).join('');
  const sizes = [null, ...app.classes].map((c) => {
    const d = sizeFor(c ? c.min : 0, app.classes);
    return `<div><i data-size="${d}"></i>${esc(c ? label(c) : t('below500w'))}</div>`;
  }).join('');
  const ramp = app.divisions ? app.divisions.legend() : [];
  const rampHtml = ramp.length ? `<div class="ramp">${ramp.map(([c]) => `<span data-bg="${esc(c)}"></span>`).join('')}</div>
      <div class="ramp-labels"><span>${esc(ramp[0][1])}</span><span>${esc(ramp[ramp.length - 1][2])}</span></div>` : '';
  const basemaps = (app.basemaps || []).map((b) => `
    <label><input type="radio" name="basemap" value="${esc(b.id)}" ${s.basemap === b.id ? 'checked' : ''}>
      <span>${esc(b.title())}</span></label>`).join('');
  const extras = app.collections.filter((c) => !CORE_COLLECTIONS.has(c.id)).map((c) => `
    <label><input type="checkbox" name="collection" value="${esc(c.id)}" ${app.extra.has(c.id) ? 'checked' : ''}>
      <span>${esc(lang() === 'en' ? c.title_en || c.title : c.title)}</span></label>`).join('');
  $('#layer-list').innerHTML = `
    <div class="group" data-testid="legend-projects">
      <label class="group-title"><input type="checkbox" name="projects" ${s.projects !== '0' ? 'checked' : ''}>
        <span>${t('projects')}${app.mode === 'tiles' ? ` ${t('tiles')}` : ''}</span></label>
      <p class="hint" data-testid="sector-toggle-hint">${toggleHint}</p>
      ${sectorRows}
      <div class="sizes">${sizes}</div>
      <p class="hint">${t('sizeLegend')}</p>
    </div>
    <div class="group">
      <label class="group-title"><input type="checkbox" name="divisions" ${s.divisions !== '0' ? 'checked' : ''}>
        <span>${t('divisionsLayer')}</span></label>
      <div class="checks inline">
        ${['count', 'investment', 'none'].map((m) => `<label><input type="radio" name="choro" value="${m}"
          ${s.choro === m ? 'checked' : ''}><span>${t({ count: 'byCount', investment: 'byInvestment', none: 'noChoropleth' }[m])}</span></label>`).join('')}
      </div>
      ${rampHtml}
    </div>
    <div class="group"><div class="group-title">${t('basemap')}</div>${basemaps}</div>
    ${extras ? `<div class="group"><div class="group-title">${t('otherLayers')}</div>${extras}</div>` : ''}`;
  applyDataStyles($('#layer-list'));
}

function countOf(n) {
  return n === undefined || n === null ? '0' : count(n);
}

function bindLayerList() {
  $('#layer-list').addEventListener('change', (e) => {
    const el = e.target;
    const s = app.state;
    if (el.name === 'sector') {
      if (!toggleShown('sector', el.value, el.checked)) {
        el.checked = true;
        return;
      }
      renderForm();
      filterChanged();
    } else if (el.name === 'projects') {
      s.projects = el.checked ? '1' : '0';
      app.projects.setVisible(el.checked);
      toUrl(s, { replace: true });
    } else if (el.name === 'divisions') {
      s.divisions = el.checked ? '1' : '0';
      if (el.checked) app.map.addLayer(app.divisions.group);
      else app.map.removeLayer(app.divisions.group);
      toUrl(s, { replace: true });
    } else if (el.name === 'choro') {
      s.choro = el.value;
      app.divisions.setMode(el.value);
      toUrl(s);
      renderLayerList();
    } else if (el.name === 'basemap') {
      s.basemap = el.value;
      setBasemap();
      toUrl(s);
    } else if (el.name === 'collection') {
      toggleCollection(el.value, el.checked);
    }
  });
}

async function toggleCollection(id, on) {
  if (!on) {
    const layer = app.extra.get(id);
    if (layer) app.map.removeLayer(layer);
    app.extra.delete(id);
    return;
  }
  try {
    const fc = await fetchJson(`/collections/${encodeURIComponent(id)}/items?limit=10000`);
    const layer = L.geoJSON(fc, {
      style: (f) => ({ color: f.properties?.color || '#0b6efd', weight: 4, opacity: 0.85 }),
      pointToLayer: (f, latlng) => L.circleMarker(latlng, {
        radius: 6, color: '#fff', weight: 1.5, fillColor: f.properties?.color || '#0b6efd', fillOpacity: 1,
      }),
      onEachFeature: (f, l) => {
        const p = f.properties || {};
        const text = p.name || p.title || p.project_name || f.id;
        if (text) l.bindTooltip(esc(text));
      },
    }).addTo(app.map);
    app.extra.set(id, layer);
  } catch (err) {
    showError(err);
  }
}

// ---- inspection routes (stored plans) and printing ----------------------------------------------------------

function renderRoutePanel() {
  const rv = app.routes;
  if (!rv) return;
  const s = app.state;
  const plans = rv.planOptions();
  if (s.plan && rv.plan && !plans.some((o) => o.value === s.plan)) {
    plans.unshift({ value: String(rv.plan.id), text: `${rv.plan.id} · ${rv.plan.title || ''}` });
  }
  $('#plan-select').innerHTML = option('', t('noPlan'), !s.plan) +
    plans.map((o) => option(o.value, o.text, o.value === s.plan)).join('');
  const routes = rv.plan ? rv.plan.routes : [];
  $('#route-select').innerHTML = option('', t('allRoutes'), !s.route) + routes.map((r) => {
    const n = String(routeNumber(r));
    return option(n, `${n} · ${rv.routeName(r)}`, n === s.route);
  }).join('');
  $('#route-select').disabled = !rv.plan;
  const orientation = $('#print-orientation').value || '';
  $('#print-orientation').innerHTML = [['', 'orientationAuto'], ['landscape', 'landscape'], ['portrait', 'portrait']]
    .map(([v, k]) => option(v, t(k), v === orientation)).join('');
  $('#route-info').innerHTML = rv.infoHtml();
  applyDataStyles($('#route-info'));
  $('#print-title').innerHTML = rv.printTitle();
  renderRouteLinks();
}

function renderRouteLinks() {
  const links = app.routes?.links({ paper: $('#print-paper').value, orientation: $('#print-orientation').value });
  $('.print-options').hidden = !links;
  if (!links) {
    $('#route-links').innerHTML = '';
    return;
  }
  const a = (key, testid, download) => `<a data-testid="${testid}" href="${esc(links[key])}" ` +
    `${download ? 'download' : 'target="_blank" rel="noopener"'}>${esc(t(key === 'map' ? 'printRoute' : key))}</a>`;
  $('#route-links').innerHTML = `${a('map', 'print-route', false)}${a('handbook', 'route-handbook', false)}
    ${a('gpx', 'route-gpx', true)}${a('gpxGcj', 'route-gpx-gcj02', true)}${a('kml', 'route-kml', true)}
    ${a('kmlGcj', 'route-kml-gcj02', true)}
    <button type="button" id="print-page" data-testid="print-page">${esc(t('printPage'))}</button>`;
}

/** Show the plan and route the state names (fitting the map to them when asked), then the panel. */
async function showPlan({ fit = true } = {}) {
  const s = app.state;
  try {
    await app.routes.show(s.plan, s.route);
  } catch (err) {
    showError(err);
    s.plan = '';
    s.route = '';
    await app.routes.show('');
    toUrl(s, { replace: true });
  }
  if (fit) app.routes.fit(false);
  renderRoutePanel();
  document.body.dataset.plan = app.routes.plan ? String(app.routes.plan.id) : '';
  document.body.dataset.route = app.routes.route ? String(routeNumber(app.routes.route)) : '';
}

async function loadRoutes() {
  try {
    await app.routes.loadList();
  } catch (err) {
    showError(err);
  }
  await showPlan({ fit: false }); // a plan in the URL is drawn; the view is the URL's or the first fit's
  document.body.dataset.routesLoaded = '1';
}

function bindRoutePanel() {
  $('#plan-select').addEventListener('change', async (e) => {
    app.state.plan = e.target.value;
    app.state.route = app.state.plan ? '1' : ''; // the first route on screen, ready to print
    toUrl(app.state);
    await showPlan();
  });
  $('#route-select').addEventListener('change', async (e) => {
    app.state.route = e.target.value;
    toUrl(app.state);
    await showPlan();
  });
  $('#print-paper').addEventListener('change', renderRouteLinks);
  $('#print-orientation').addEventListener('change', renderRouteLinks);
  $('#route-links').addEventListener('click', (e) => {
    if (e.target.id === 'print-page') window.print();
  });
  // The browser's own print: lay the map out at the printed size (A4 landscape, see app.css) before it is drawn
  const printing = (on) => {
    document.body.classList.toggle('printing', on);
    app.map.invalidateSize({ animate: false });
    if (app.routes.bounds()) app.routes.fit(false);
  };
  window.matchMedia('print').addEventListener('change', (e) => printing(e.matches));
  window.addEventListener('beforeprint', () => printing(true));
  window.addEventListener('afterprint', () => printing(false));
}

// ---- summary strip, banner panel, exports --------------------------------------------------------------------

function renderSummary() {
  const st = app.stats;
  if (!st) {
    $('#summary').textContent = t('loading');
    return;
  }
  const tiers = (app.vocab.tier || []).map((term) =>
    `<span class="chip">${esc(label(term))} <b data-testid="summary-tier-${esc(term.code)}">${countOf(st.by_tier?.[term.code])}</b></span>`).join('');
  const classes = app.classes.map((c) =>
    `<span class="chip">${esc(label(c))} <b data-testid="summary-class-${esc(c.code)}">${countOf(st.by_class?.[c.code])}</b></span>`).join('');
  $('#summary').innerHTML = `
    <span class="chip">${t('projects')} <b data-testid="summary-count">${count(st.count)}</b></span>
    <span class="chip">${t('totalInvestment')} <b data-testid="summary-investment">${money(st.total_investment ?? 0)}</b></span>
    ${tiers}${classes}`;
}

function renderBanner() {
  const el = $('#banner-stats');
  const code = app.state.banner;
  const f = code && app.divisions?.byCode?.get(code);
  if (!f) {
    el.innerHTML = `<p class="hint">${t('clickBanner')}</p>`;
    return;
  }
  el.innerHTML = bannerTotalsHtml(f, app.vocab);
}

function renderExports() {
  const q = filterQuery(app.state);
  const sep = q ? '&' : '';
  const items = `/collections/projects/items?${q}${sep}`;
  const langPart = lang() === 'en' ? '&lang=en' : '';
  $('#exports').innerHTML = `
    <a data-testid="export-xlsx" href="${items}f=xlsx${langPart}" download>${t('exportXlsx')}</a>
    <a data-testid="export-csv" href="${items}f=csv${langPart}" download>${t('exportCsv')}</a>
    <a data-testid="export-geojson" href="${items}f=geojson" download>${t('exportGeojson')}</a>
    <a data-testid="export-html" href="/webmap/export.html?${q}${sep}lang=${lang()}" download>${t('exportHtml')}</a>`;
}

function bannerClicked(code, latlng) {
  if (latlng && app.projects.hit(latlng)) return;
  app.state.banner = code;
  toUrl(app.state);
  const b = app.divisions.bounds(code);
  if (b) app.map.fitBounds(b, { padding: [20, 20] });
  renderBanner();
  if (window.matchMedia('(max-width: 760px)').matches) document.body.classList.add('panel-open');
}

// ---- monthly progress (按月调度) ---------------------------------------------------------------------------------

let progressGeneration = 0;

/** The panel for the month in the state: the picker and the projects that missed the month's report. */
async function renderProgress() {
  const gen = ++progressGeneration;
  const month = app.state.month;
  const el = $('#progress-missing');
  $('#progress-month').value = month;
  $('#progress-clear').hidden = !month;
  document.body.dataset.progressMonth = month;
  if (!month) {
    el.innerHTML = `<p class="hint">${esc(t('chooseMonthHint'))}</p>`;
    app.missing = null;
    document.body.dataset.progressLoaded = '';
    return;
  }
  if (app.missing?.month !== month) {
    el.innerHTML = `<p class="hint">${esc(t('loading'))}</p>`;
    try {
      const missing = await fetchJson(`/progress/missing?month=${encodeURIComponent(month)}&summary=true`);
      if (gen !== progressGeneration) return;
      app.missing = missing;
    } catch (err) {
      if (gen === progressGeneration) el.innerHTML = `<p class="hint">${esc(t('error'))}: ${esc(err.message)}</p>`;
      return;
    }
  }
  el.innerHTML = missingHtml(app.missing);
  document.body.dataset.progressLoaded = month;
}

function bindProgress() {
  const changed = (value) => {
    app.state.month = validMonth(value);
    toUrl(app.state);
    app.map.closePopup();
    renderProgress();
  };
  $('#progress-month').addEventListener('change', (e) => changed(e.target.value));
  $('#progress-clear').addEventListener('click', () => changed(''));
}

// ---- popup card ------------------------------------------------------------------------------------------------

function termLabel(vocabName, code) {
  const term = (app.vocab[vocabName] || []).find((x) => x.code === code);
  return term ? label(term) : code ?? '—';
}

/** 投资完成率 from the latest report up to ``month`` (all reports when no month is chosen), with its month. */
function completionHtml(p, reports, month) {
  const r = reportAsOf(reports, month || '9999-12');
  if (!r) return '—';
  return `${esc(completionRate(r.investment_completed, p.total_investment))} ${esc(t('asOfReport', r.month))}`;
}

function cardHtml(f, reports = null, month = '') {
  const p = f.properties;
  const code = p.code ?? f.id;
  const division = (app.divisionList || []).find((d) => d.code === p.division_code);
  const years = [p.start_year, p.end_year].filter((y) => y !== null && y !== undefined).join('–') || '—';
  const row = (k, v) => `<tr><th>${t(k)}</th><td>${v === null || v === undefined || v === '' ? '—' : v}</td></tr>`;
  const synthetic = p.source === 'synthetic';
  return `<div class="card" data-testid="card">
    <h3>${esc(p.name)}</h3>
    ${synthetic ? `<p class="synthetic">合成数据 / synthetic</p>` : ''}
    <table>
      ${row('code', esc(code))}
      ${row('company', esc(p.company))}
      ${row('sector', esc(termLabel('sector', p.sector)))}
      ${row('tier', esc(termLabel('tier', p.tier)))}
      ${row('status', esc(termLabel('status', p.status)))}
      ${row('division', esc(division ? label(division) : p.division_code))}
      ${row('totalInvestment', p.total_investment === null || p.total_investment === undefined ? t('unknownInvestment') : money(p.total_investment))}
      ${row('plannedInvestment', p.planned_investment === null || p.planned_investment === undefined ? null : `${money(p.planned_investment)}${p.plan_year ? ` (${esc(p.plan_year)})` : ''}`)}
      ${row('completionRate', completionHtml(p, reports, month))}
      ${row('years', esc(years))}
      ${row('scope', esc(p.scope))}
      ${row('responsibleUnit', esc(p.responsible_unit))}
      ${row('leader', esc(p.leader))}
      ${row('precision', esc(p.location_precision ? t(p.location_precision) : ''))}
      ${row('source', esc(p.source))}
      ${reports && month ? progressRowsHtml(reports, month, (c) => termLabel('status', c)) : ''}
    </table>
    <p><a data-testid="card-json" href="/collections/projects/items/${encodeURIComponent(code)}?f=json" target="_blank">${t('json')}</a></p>
  </div>`;
}

async function projectClicked(code, latlng) {
  const popup = L.popup({ maxWidth: 340, autoPanPadding: [20, 20] }).setLatLng(latlng)
    .setContent(`<div class="card">${t('loading')}</div>`).openOn(app.map);
  try {
    const month = app.state.month;
    // the report history: the month's rows when a month is chosen, and 投资完成率 (累计完成 ÷ 总投资) always
    const history = fetchJson(`/projects/${encodeURIComponent(code)}/progress`);
    const [f, reports] = await Promise.all([
      fetchJson(`/collections/projects/items/${encodeURIComponent(code)}`),
      month ? history : history.catch(() => null),
    ]);
    popup.setContent(cardHtml(f, reports, month === app.state.month ? month : ''));
  } catch (err) {
    popup.setContent(`<div class="card">${t('error')}: ${esc(err.message)}</div>`);
  }
}

// ---- data --------------------------------------------------------------------------------------------------------

let generation = 0;

async function refresh() {
  const gen = ++generation;
  const q = filterQuery(app.state);
  const sep = q ? '?' : '';
  showStatus(t('loading'));
  renderExports();
  try {
    const [stats, divisions] = await Promise.all([
      fetchJson(`/stats${sep}${q}`),
      fetchJson(`/collections/divisions/items${sep}${q}${q ? '&' : '?'}limit=1000`),
    ]);
    if (gen !== generation) return;
    app.stats = normaliseStats(stats);
    app.matched = app.stats.count;
    const years = (stats.start_years || []).join(',');
    if (years !== (app.startYears || []).join(',')) {
      app.startYears = stats.start_years || [];
      renderForm();
    }
    app.divisions.setData(divisions);
    app.divisionList = divisions.features.map((f) => ({ code: f.id ?? f.properties.code, ...f.properties }));
    renderSummary();
    renderBanner();
    if (app.loads === 0) fitFirstView();
    const result = await app.projects.load(q, app.matched, fetchJson, app.state.render);
    if (gen !== generation || !result) return;
    app.mode = result.mode;
    if (result.mode === 'markers') await app.projects.settled();
    if (gen !== generation) return;
    renderLayerList();
    app.loads += 1;
    app.timings.rendered = performance.now();
    showStatus('');
    readyResolve(app);
    document.body.dataset.loaded = String(app.loads);
    document.body.dataset.query = q;
  } catch (err) {
    if (gen === generation) {
      showError(err);
      readyResolve(app);
    }
  }
}

/** The /stats answer (see geoapp/api/routers/stats.py) as {count, total_investment, by_tier, by_sector, by_class}. */
function normaliseStats(st) {
  const counts = (entries) => Object.fromEntries((entries || []).map((e) => [e.code, e.count]));
  return {
    count: Number(st.total?.count ?? 0),
    total_investment: st.total?.total_investment ?? 0,
    investment_known: st.total?.investment_known ?? 0,
    by_tier: counts(st.by_tier),
    by_sector: counts(st.by_sector),
    by_class: counts(st.by_investment_class),
    raw: st,
  };
}

/** The first view when the URL has none: the banner named in the URL, else the whole city — once, and only if
 * nobody has moved the map meanwhile (see view.js). */
function fitFirstView() {
  const b = (app.state.banner && app.divisions.bounds(app.state.banner))
    || (app.divisions.boundaries.getLayers().length ? app.divisions.boundaries.getBounds() : null);
  app.view.fitOnce(b, { padding: [12, 12] });
}

/** A view the user (or the page for the user) set: kept in the URL without a new history entry. */
function viewChanged(text) {
  app.state.view = text;
  toUrl(app.state, { replace: true });
}

function urlView() {
  return parseView(app.state.view, { minZoom: app.map.getMinZoom(), maxZoom: app.map.getMaxZoom() });
}

function setBasemap() {
  const { changed } = app.view.quietly(() => applyBasemap(L, app.map, app.basemaps, app.state.basemap));
  if (changed) {
    app.projects.reproject();
    app.divisions.setData({ features: app.divisions.features });
  }
}

// ---- language --------------------------------------------------------------------------------------------------

function applyLanguage() {
  translatePage();
  $('#lang-switch').setAttribute('lang', lang() === 'en' ? 'zh-CN' : 'en');
  renderForm();
  renderLayerList();
  renderSummary();
  renderBanner();
  renderExports();
  app.divisions?.relabel();
  app.routes?.draw();
  renderRoutePanel();
  renderProgress();
  app.map?.closePopup();
}

// ---- start -----------------------------------------------------------------------------------------------------

/** The API's sector=/tier=/status= compare stored codes; an older bookmark may carry labels (sector=绿电铝). */
function codesInState() {
  for (const k of LIST_FILTERS) app.state[k] = app.state[k].map((v) => termCode(app.vocab[k] || [], v));
}

/** The stored code of a vocabulary value given as code, label or alias (unchanged when it is none of them). */
function termCode(terms, value) {
  const v = value.trim().toLowerCase();
  const term = terms.find((t) => [t.code, t.zh, t.en, ...(t.aliases || [])].some((x) => String(x).toLowerCase() === v));
  return term ? term.code : value;
}

async function start() {
  await ensureLogin(); // where reading needs a login (settings.read_requires_login): the dialog first
  app.state = fromUrl();
  app.state.month = validMonth(app.state.month);
  app.config = await fetchJson('/webmap/config');
  const params = new URLSearchParams(window.location.search);
  if (!params.has('lang')) app.state.lang = app.config.lang === 'en' ? 'en' : 'zh';
  setLang(app.state.lang);
  app.vocab = app.config.vocabularies;
  codesInState();
  app.sectors = new Map((app.vocab.sector || []).map((s) => [s.code, s]));
  app.classes = app.config.classes?.investment_class || [];
  app.divisionList = app.config.seats.map((s) => ({ ...s }));
  for (const w of app.config.warnings || []) showStatus(w);

  const map = L.map('map', { zoomControl: true, minZoom: 5, maxZoom: 18, zoomSnap: 0.25 });
  app.map = map;
  const seats = app.config.seats;
  app.view = new ViewKeeper(map, { onChange: viewChanged });
  const view = urlView();
  if (view) app.view.restore(view);
  else {
    app.state.view = '';
    app.view.quietly(() => {
      if (seats.length) map.fitBounds(L.latLngBounds(seats.map((s) => [s.lat, s.lon])).pad(0.25));
      else map.setView([43.65, 122.24], 7);
    });
  }
  L.control.scale({ imperial: false }).addTo(map);
  const status = L.DomUtil.create('div', 'status-line');
  status.id = 'map-status';
  map.getContainer().appendChild(status);

  app.basemaps = basemapEntries(L, app.config);
  if (!app.basemaps.some((b) => b.id === app.state.basemap)) app.state.basemap = 'offline';
  app.divisions = new DivisionLayer(L, map, { seats, onBannerClick: bannerClicked });
  app.divisions.mode = app.state.choro;
  if (app.state.divisions !== '0') map.addLayer(app.divisions.group);
  app.projects = new ProjectLayer(L, map, { sectors: app.sectors, classes: app.classes, onProjectClick: projectClicked });
  app.projects.visible = app.state.projects !== '0';
  app.routes = new RouteView(L, map, { fetchJson, onStopClick: projectClicked });
  setBasemap();

  bindForm();
  bindLayerList();
  bindRoutePanel();
  bindProgress();
  $('#lang-switch').addEventListener('click', () => {
    app.state.lang = lang() === 'en' ? 'zh' : 'en';
    setLang(app.state.lang);
    toUrl(app.state);
    applyLanguage();
  });
  $('#panel-toggle').addEventListener('click', () => {
    const open = document.body.classList.toggle('panel-open');
    $('#panel-toggle').setAttribute('aria-expanded', String(open));
  });
  window.addEventListener('popstate', () => {
    const before = filterQuery(app.state);
    const prev = app.state;
    app.state = fromUrl();
    codesInState();
    app.state.month = validMonth(app.state.month);
    setLang(app.state.lang);
    if (prev.basemap !== app.state.basemap) setBasemap();
    if (prev.choro !== app.state.choro) app.divisions.setMode(app.state.choro);
    applyLanguage();
    const view = urlView();
    if (view && app.state.view !== prev.view) app.view.restore(view);
    if (prev.plan !== app.state.plan || prev.route !== app.state.route) showPlan({ fit: !view });
    if (filterQuery(app.state) !== before) refresh();
  });

  applyLanguage();
  fetchJson('/collections').then((c) => {
    app.collections = (c.collections || []).map((x) => ({ id: x.id, title: x.title, title_en: x.title_en }));
    renderLayerList();
  }).catch(() => { /* the layer list keeps the core layers */ });
  loadRoutes();
  await refresh();
}

start().catch((err) => {
  showError(err);
  readyResolve(app);
});
