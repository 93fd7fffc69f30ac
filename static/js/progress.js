// 按月调度 / monthly progress: the month chosen in the panel (kept in the URL as ?month=YYYY-MM), how many projects
// missed that month's report per responsible unit (GET /progress/missing?summary=true: counted in SQL, no list) and,
// in a project's card, its state as of that month from its own report history (GET /projects/{code}/progress: one
// small request per card, so the card stays cheap however many projects the city has).
import { count, money } from './format.js';
import { t } from './i18n.js';

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;
const UNITS_SHOWN = 8;
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function validMonth(value) {
  return MONTH.test(value || '') ? value : '';
}

/** The latest report up to ``month`` from a project's report history (months sorted ascending), or null. */
export function reportAsOf(reports, month) {
  let found = null;
  for (const r of reports || []) if (r.month <= month) found = r;
  return found;
}

/** Card rows for the chosen month: that month's report, or 未报送 with the last earlier report's figures. */
export function progressRowsHtml(reports, month, statusLabel) {
  const r = reportAsOf(reports, month);
  const reported = Boolean(r && r.month === month);
  const row = (key, value, testid) => `<tr><th>${esc(t(key))}</th><td data-testid="${testid}">${value}</td></tr>`;
  const state = reported ? esc(t('reported'))
    : `<span class="not-reported">${esc(t('notReported'))}</span>${r ? ` ${esc(t('lastReport', r.month))}` : ''}`;
  const pct = r && r.progress_pct !== null && r.progress_pct !== undefined ? `${Number(r.progress_pct)}%` : '—';
  return `<tbody class="card-progress" data-testid="card-progress" data-month="${esc(month)}"
      data-reported="${reported ? '1' : '0'}">
    <tr><th colspan="2" class="card-progress-title">${esc(t('monthlyProgressOf', month))}</th></tr>
    ${row('reportState', state, 'card-report-state')}
    ${row('reportedStatus', r && r.status ? esc(statusLabel(r.status)) : '—', 'card-report-status')}
    ${row('progressPct', esc(pct), 'card-progress-pct')}
    ${row('investmentCompleted', r ? esc(money(r.investment_completed)) : '—', 'card-investment-completed')}
    ${r && r.issues ? row('issues', esc(r.issues), 'card-issues') : ''}
  </tbody>`;
}

/** The panel's list of missed reports: the total and the responsible units with the most missing projects. */
export function missingHtml(missing) {
  if (!missing) return '';
  const units = [...(missing.units || [])].sort((a, b) => b.count - a.count);
  const rows = units.slice(0, UNITS_SHOWN).map((u) => `<li><span>${esc(u.responsible_unit)}</span>
      <b>${count(u.count)}</b></li>`).join('');
  const more = units.length > UNITS_SHOWN ? `<p class="hint">${esc(t('moreUnits', units.length - UNITS_SHOWN))}</p>` : '';
  return `<p>${esc(t('missingReports', missing.month))}
      <b data-testid="missing-count" data-total="${Number(missing.total)}">${count(missing.total)}</b></p>
    ${rows ? `<ul class="missing-units" data-testid="missing-units">${rows}</ul>` : ''}${more}`;
}
