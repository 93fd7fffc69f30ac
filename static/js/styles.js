// Element sizes and colours set through the CSSOM (el.style) rather than style="…" attributes: the page's
// Content-Security-Policy (style-src 'self', no 'unsafe-inline') refuses style attributes in HTML, HTML set through
// innerHTML or a Leaflet divIcon included, but not el.style set by the page's own scripts. So markup built as a
// string carries the values as data attributes, and these functions apply them once the elements exist. Only
// these three are read (a size in px, a colour, the route colour), each set as one property: no markup can
// smuggle arbitrary CSS through them.

const STYLED = '[data-size],[data-bg],[data-rc]';

/** Apply data-size (width and height in px), data-bg (background) and data-rc (--rc) within ``root``. */
export function applyDataStyles(root) {
  const found = [...root.querySelectorAll(STYLED)];
  if (root.matches?.(STYLED)) found.push(root);
  for (const el of found) {
    const { size, bg, rc } = el.dataset;
    if (size) {
      el.style.width = `${Number(size)}px`;
      el.style.height = `${Number(size)}px`;
    }
    if (bg) el.style.background = bg;
    if (rc) el.style.setProperty('--rc', rc);
  }
  return root;
}

/** L.divIcon whose html's data styles are applied whenever Leaflet makes (or reuses) the icon's element. */
export function styledDivIcon(L, options) {
  const icon = L.divIcon(options);
  const create = icon.createIcon.bind(icon);
  icon.createIcon = (oldIcon) => applyDataStyles(create(oldIcon));
  return icon;
}
