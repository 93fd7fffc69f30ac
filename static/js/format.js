// Numbers as planners write them: money is stored in 万元 and shown in 万元 below 1亿, in 亿元 from 1亿 up.
// The same rule as geoapp/money.py (prints and exports' display text); tests/test_money.py runs both.
import { lang } from './i18n.js';

const WAN_PER_YI = 10000;

function fixed(value, digits) {
  return Number(value).toLocaleString(lang() === 'en' ? 'en-US' : 'zh-CN', {
    minimumFractionDigits: 0,
    maximumFractionDigits: digits,
  });
}

/** 672000 (万元) → "67.2亿元"; 500 → "500万元"; null → "—". In English the yuan amounts read the same way. */
export function money(wan) {
  if (wan === null || wan === undefined || wan === '' || Number.isNaN(Number(wan))) return '—';
  const v = Number(wan);
  if (lang() === 'en') {
    if (v >= WAN_PER_YI) return `${fixed(v / WAN_PER_YI, 2)} 亿 (${fixed(v / 100000, 3)} bn yuan)`;
    return `${fixed(v, 2)} 万 (${fixed(v / 100, 2)} M yuan)`;
  }
  if (v >= WAN_PER_YI) return `${fixed(v / WAN_PER_YI, 2)}亿元`;
  return `${fixed(v, 2)}万元`;
}

/** Short form for legends and labels: "67.2亿" / "500万". */
export function moneyShort(wan) {
  if (wan === null || wan === undefined) return '—';
  const v = Number(wan);
  return v >= WAN_PER_YI ? `${fixed(v / WAN_PER_YI, 1)}亿` : `${fixed(v, 0)}万`;
}

/** 投资完成率 (累计完成 ÷ 总投资): "45.2%"; "—" when either is unknown or the total is 0. */
export function completionRate(completed, total) {
  const none = (x) => x === null || x === undefined || x === '' || Number.isNaN(Number(x));
  if (none(completed) || none(total) || Number(total) === 0) return '—';
  return `${fixed((Number(completed) / Number(total)) * 100, 1)}%`;
}

export function count(n) {
  return fixed(n ?? 0, 0);
}
