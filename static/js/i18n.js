// Interface strings in Chinese (default) and English. Vocabulary labels (sectors, tiers, statuses) come from
// the server's vocabularies, never from here.

const STRINGS = {
  zh: {
    title: '通辽市重大项目地图',
    langSwitch: 'English',
    panelToggle: '筛选',
    filters: '筛选条件',
    layers: '图层与图例',
    banner: '旗县区统计',
    export: '导出',
    sector: '行业领域',
    tier: '项目层级',
    status: '项目状态',
    division: '旗县市区',
    investmentClass: '投资规模',
    startYear: '开工年份',
    search: '名称/企业搜索',
    searchPlaceholder: '输入项目或企业名称',
    all: '全部',
    any: '不限',
    reset: '清除筛选',
    projects: '项目',
    projectsCount: (n) => `${n} 个项目`,
    totalInvestment: '总投资',
    unknownInvestment: '投资额未知',
    divisionsLayer: '行政区划（旗县市区）',
    choropleth: '分级设色',
    byCount: '按项目数',
    byInvestment: '按投资额',
    noChoropleth: '不设色',
    basemap: '底图',
    offlineBasemap: '离线底图（区划边界与驻地）',
    seat: '驻地',
    clickBanner: '点击地图上的旗县区查看其统计。',
    bannerTotals: (name) => `${name}：项目统计`,
    byTier: '按层级',
    bySector: '按行业',
    byClass: '按投资规模',
    count: '项目数',
    investment: '投资额',
    company: '项目单位',
    years: '建设年限',
    scope: '建设内容',
    responsibleUnit: '责任单位',
    leader: '包联领导',
    precision: '位置精度',
    exact: '精确',
    approximate: '近似',
    source: '来源',
    json: 'JSON 数据',
    code: '项目编号',
    exportXlsx: 'Excel（XLSX）',
    exportCsv: 'CSV',
    exportGeojson: 'GeoJSON',
    exportHtml: '离线地图（HTML）',
    exportNote: '导出当前筛选条件下的全部项目。',
    loading: '加载中…',
    error: '出错了',
    tiles: '（数据量大，以矢量瓦片显示）',
    sizeLegend: '圆点大小表示投资规模，虚线圈表示投资额未知。',
    otherLayers: '其他图层',
    close: '关闭',
    showAll: '全市',
    unknown: '未知',
    below500w: '500万以下',
  },
  en: {
    title: 'Tongliao major-project map',
    langSwitch: '中文',
    panelToggle: 'Filters',
    filters: 'Filters',
    layers: 'Layers and legend',
    banner: 'Banner statistics',
    export: 'Export',
    sector: 'Sector',
    tier: 'Tier',
    status: 'Status',
    division: 'Banner / county',
    investmentClass: 'Investment class',
    startYear: 'Start year',
    search: 'Name / company',
    searchPlaceholder: 'project or company name',
    all: 'All',
    any: 'Any',
    reset: 'Clear filters',
    projects: 'Projects',
    projectsCount: (n) => `${n} projects`,
    totalInvestment: 'Total investment',
    unknownInvestment: 'investment unknown',
    divisionsLayer: 'Divisions (banners and counties)',
    choropleth: 'Choropleth',
    byCount: 'by project count',
    byInvestment: 'by investment',
    noChoropleth: 'none',
    basemap: 'Basemap',
    offlineBasemap: 'Offline basemap (boundaries and seats)',
    seat: 'seat',
    clickBanner: 'Click a banner on the map to see its totals.',
    bannerTotals: (name) => `${name}: project totals`,
    byTier: 'By tier',
    bySector: 'By sector',
    byClass: 'By investment class',
    count: 'Projects',
    investment: 'Investment',
    company: 'Company',
    years: 'Years',
    scope: 'Scope',
    responsibleUnit: 'Responsible unit',
    leader: 'Leader in charge',
    precision: 'Location',
    exact: 'exact',
    approximate: 'approximate',
    source: 'Source',
    json: 'JSON',
    code: 'Code',
    exportXlsx: 'Excel (XLSX)',
    exportCsv: 'CSV',
    exportGeojson: 'GeoJSON',
    exportHtml: 'Offline map (HTML)',
    exportNote: 'Exports every project of the current filter.',
    loading: 'Loading…',
    error: 'Error',
    tiles: '(large data: drawn from vector tiles)',
    sizeLegend: 'Dot size shows the investment class; a dashed ring means investment unknown.',
    otherLayers: 'Other layers',
    close: 'Close',
    showAll: 'Whole city',
    unknown: 'unknown',
    below500w: 'below 5 M yuan',
  },
};

let current = 'zh';

export function setLang(lang) {
  current = lang === 'en' ? 'en' : 'zh';
  document.documentElement.lang = current === 'en' ? 'en' : 'zh-CN';
}

export function lang() {
  return current;
}

/** The string for a key in the current language; functions take the given arguments. */
export function t(key, ...args) {
  const value = STRINGS[current][key] ?? STRINGS.zh[key] ?? key;
  return typeof value === 'function' ? value(...args) : value;
}

/** A {zh, en} label (vocabulary term, division, collection title) in the current language. */
export function label(item) {
  if (!item) return '';
  if (typeof item === 'string') return item;
  return (current === 'en' ? item.en || item.name_en : item.zh || item.name) || item.zh || item.name || item.code || '';
}

/** Fill every element with data-i18n="key" (text) or data-i18n-placeholder="key". */
export function translatePage(root = document) {
  root.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n); });
  root.querySelectorAll('[data-i18n-placeholder]').forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
  root.querySelectorAll('[data-i18n-title]').forEach((el) => { el.title = t(el.dataset.i18nTitle); });
  document.title = t('title');
}
