// Simple glyphs (24×24 SVG paths drawn for this map) named by the `icon` of each sector in
// layers/vocabularies/sectors.yaml. An unknown icon name falls back to a plain dot.

const GLYPHS = {
  wind: 'M11 11 L12.9 2.2 L13.6 11.6 Z M12.6 12.8 L20.8 16.5 L11.9 14.3 Z M11.4 12.9 L4 18.2 L10.5 11.3 Z M11.3 13h1.4l.8 9h-3z',
  aluminium: 'M2 18h20l-3-7H5z M6 10h12l-2-4H8z',
  gas: 'M12 2c1 4 6 6 6 12a6 6 0 0 1-12 0c0-3 2-5 3-7 0 3 1 4 2 4 1-3 0-6 1-9z',
  solar: 'M3 14h18l-2 7H5z M12 2a4 4 0 1 1 0 8a4 4 0 0 1 0-8z',
  nickel: 'M12 2l8.7 5v10L12 22l-8.7-5V7z',
  silica: 'M6 4h12l-5 8 5 8H6l5-8z',
  materials: 'M12 2l9 5v10l-9 5-9-5V7z M12 12v10 M3 7l9 5 9-5',
  food: 'M12 22V9 M12 9c-4 0-6-3-6-7 4 0 6 3 6 7z M12 13c4 0 6-3 6-7-4 0-6 3-6 7z M12 17c-4 0-6-3-6-6 4 0 6 2 6 6z',
  corn: 'M12 2c3 0 4 4 4 9s-1 9-4 11c-3-2-4-6-4-11s1-9 4-9z',
  coal: 'M2 20l5-9 4 4 4-8 7 13z',
  chemical: 'M9 2h6v2h-1v5l6 11c.5 1-.2 2-1.3 2H5.3C4.2 22 3.5 21 4 20l6-11V4H9z',
  medicine: 'M9 3h6v6h6v6h-6v6H9v-6H3V9h6z',
  tourism: 'M5 22V3h2v1h11l-3 4 3 4H7v10z',
  digital: 'M7 7h10v10H7z M9 2h2v4H9z M13 2h2v4h-2z M9 18h2v4H9z M13 18h2v4h-2z M2 9h4v2H2z M2 13h4v2H2z M18 9h4v2h-4z M18 13h4v2h-4z',
  drone: 'M10 10h4v4h-4z M5 2a3 3 0 1 1 0 6a3 3 0 0 1 0-6z M19 2a3 3 0 1 1 0 6a3 3 0 0 1 0-6z M5 16a3 3 0 1 1 0 6a3 3 0 0 1 0-6z M19 16a3 3 0 1 1 0 6a3 3 0 0 1 0-6z M7 6l4 5-1 1-5-4z M17 6l-4 5 1 1 5-4z M7 18l4-5-1-1-5 4z M17 18l-4-5 1-1 5 4z',
  services: 'M3 8h18v12H3z M9 4h6v4h-2V6h-2v2H9z',
  infrastructure: 'M2 20V9h20v11h-3v-4a7 7 0 0 0-14 0v4z M2 6h20v2H2z',
};

const DOT = 'M12 6a6 6 0 1 1 0 12a6 6 0 0 1 0-12z';

export function glyphPath(icon) {
  return GLYPHS[icon] || DOT;
}

/** An inline SVG of a sector glyph, optionally inside a coloured disc (for the legend). */
export function glyphSvg(icon, { color = null, fill = '#fff', cls = 'glyph' } = {}) {
  const disc = color ? `<circle cx="12" cy="12" r="12" fill="${color}"/>` : '';
  const scale = color ? ' transform="translate(4.2 4.2) scale(.65)"' : '';
  return `<svg class="${cls}" viewBox="0 0 24 24" aria-hidden="true">${disc}<path${scale} fill="${fill}" ` +
    `fill-rule="evenodd" d="${glyphPath(icon)}"/></svg>`;
}

/** Marker diameter (px) by investment class: below the lowest threshold, then one step per threshold. */
export function sizeFor(investment, classes) {
  if (investment === null || investment === undefined) return 16;
  const reached = classes.filter((c) => Number(investment) >= c.min).length;
  return 14 + 5 * reached;
}
