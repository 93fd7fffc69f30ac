// How the projects of a vector tile look on a canvas tile: the same marks as the clustered markers (a disc in the
// sector's colour with its glyph, sized by investment class, a dashed ring when the investment is unknown) and red
// numbered discs for the server's clusters. Drawn in the tile worker (mvt-worker.js) on an OffscreenCanvas.

/** Marker radius (px) as icons.sizeFor / 2, or a cluster's by its size; no allocation per point. */
export function radiusOf(inv, cnt, mins) {
  if (cnt) return Math.min(28, 7 + 5 * Math.log10(cnt + 1));
  if (Number.isNaN(inv)) return 8;
  let reached = 0;
  for (let i = 0; i < mins.length; i += 1) if (inv >= mins[i]) reached += 1;
  return (14 + 5 * reached) / 2;
}

/** The radius of every point of a decoded tile (see mvt-worker.js for its fields). */
export function radii(d, mins) {
  const r = new Float32Array(d.n);
  for (let i = 0; i < d.n; i += 1) r[i] = radiusOf(d.inv[i], d.cnt[i], mins);
  return r;
}

function drawCluster(ctx, x, y, r, n) {
  ctx.fillStyle = 'rgba(179, 38, 30, .82)';
  ctx.fill();
  ctx.lineWidth = 3;
  ctx.strokeStyle = 'rgba(179, 38, 30, .25)';
  ctx.stroke();
  ctx.fillStyle = '#fff';
  ctx.font = '600 11px sans-serif';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillText(n >= 10000 ? `${Math.round(n / 1000)}k` : String(n), x, y);
}

/**
 * Draw the points of ``d`` (world pixels wx, wy and radii r at the tile's zoom) that show on the tile whose top-left
 * world pixel is (ox, oy), small marks first so large ones stay readable. ``style``: {sectors: {code: {color,
 * icon}}, glyphLimit}; ``glyph(icon)`` gives the Path2D of a sector glyph.
 */
export function drawPoints(ctx, d, ox, oy, style, glyph, size = 256) {
  const order = Array.from({ length: d.n }, (_, i) => i).sort((a, b) => d.r[a] - d.r[b]);
  const glyphs = d.n <= style.glyphLimit;
  for (const k of order) {
    const x = d.wx[k] - ox;
    const y = d.wy[k] - oy;
    const r = d.r[k];
    if (x < -r || y < -r || x > size + r || y > size + r) continue;
    ctx.beginPath();
    ctx.arc(x, y, r, 0, 2 * Math.PI);
    if (d.cnt[k]) {
      drawCluster(ctx, x, y, r, d.cnt[k]);
      continue;
    }
    const term = style.sectors[d.sectors[d.sector[k]]] || {};
    ctx.fillStyle = term.color || '#777';
    ctx.fill();
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = '#fff';
    if (Number.isNaN(d.inv[k])) {
      ctx.setLineDash([2, 2]);
      ctx.strokeStyle = '#333';
    }
    ctx.stroke();
    ctx.setLineDash([]);
    if (glyphs && r >= 8) {
      const s = (r * 1.4) / 24;
      ctx.save();
      ctx.translate(x - 12 * s, y - 12 * s);
      ctx.scale(s, s);
      ctx.fillStyle = '#fff';
      ctx.fill(glyph(term.icon), 'evenodd');
      ctx.restore();
    }
  }
}
