// The page state lives in the URL: the filter (the layers API's own parameter names, so the query string of the
// page is the query string of the API) plus a few view settings. A filtered view can be bookmarked and sent;
// the back button walks through earlier filters.

export const LIST_FILTERS = ['sector', 'tier', 'status'];
export const SINGLE_FILTERS = ['division', 'investment_class', 'start_year', 'q'];
// render: auto (markers up to MARKER_LIMIT projects, vector tiles beyond), markers or tiles
const VIEW_KEYS = {
  lang: 'zh', choro: 'count', basemap: 'offline', banner: '', divisions: '1', projects: '1', render: 'auto',
  plan: '', route: '', // the inspection plan on the map and its route on screen (number 1, 2 …; '' = all)
  month: '', // 按月调度: the month (YYYY-MM) whose progress reports the cards and the panel show ('' = off)
  view: '', // the map's centre and zoom as zoom/lat/lng (see view.js); '' = fit the data once it has arrived
};

export function emptyState() {
  return {
    sector: [], tier: [], status: [], division: '', investment_class: '', start_year: '', q: '',
    ...VIEW_KEYS,
  };
}

export function fromUrl(search = window.location.search) {
  const params = new URLSearchParams(search);
  const state = emptyState();
  for (const k of LIST_FILTERS) {
    state[k] = params.getAll(k).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  }
  for (const k of [...SINGLE_FILTERS, ...Object.keys(VIEW_KEYS)]) {
    if (params.has(k)) state[k] = params.get(k).trim();
  }
  return state;
}

/** The filter part only, as the layers API's query string (stable order, so equal filters give equal URLs). */
export function filterQuery(state) {
  const params = new URLSearchParams();
  for (const k of LIST_FILTERS) if (state[k].length) params.set(k, state[k].join(','));
  for (const k of SINGLE_FILTERS) if (state[k]) params.set(k, state[k]);
  return params.toString();
}

export function pageQuery(state) {
  const params = new URLSearchParams(filterQuery(state));
  for (const [k, dflt] of Object.entries(VIEW_KEYS)) if (state[k] && state[k] !== dflt) params.set(k, state[k]);
  return params.toString();
}

/** Record the state in the history (push for a new view, replace for a refinement such as typing). */
export function toUrl(state, { replace = false } = {}) {
  const q = pageQuery(state);
  const url = `${window.location.pathname}${q ? `?${q}` : ''}`;
  if (url === `${window.location.pathname}${window.location.search}`) return;
  if (replace) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
}
