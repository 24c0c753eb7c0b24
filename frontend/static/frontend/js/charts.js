// Plain SVG line charts: no library needed for a few curves.
const NS = "http://www.w3.org/2000/svg";

function el(name, attrs, text) {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

// series: [{points: [[x, y], ...], className}], axes labels and optional fixed ranges.
export function lineChart(svg, series, { xLabel = "", yLabel = "", xRange, yRange } = {}) {
  const [W, H, L, B, T, R] = [480, 240, 48, 32, 10, 12];
  const all = series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y));
  svg.replaceChildren();
  if (!all.length) {
    svg.append(el("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "muted" }, "no data yet"));
    return;
  }
  const [x0, x1] = xRange || [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  const [y0, y1] = yRange || [0, Math.max(...all.map((p) => p[1])) * 1.05 || 1];
  const sx = (x) => L + ((x - x0) / (x1 - x0 || 1)) * (W - L - R);
  const sy = (y) => H - B - ((y - y0) / (y1 - y0 || 1)) * (H - B - T);
  svg.append(el("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, class: "axis" }));
  svg.append(el("line", { x1: L, y1: T, x2: L, y2: H - B, class: "axis" }));
  for (const v of [y0, (y0 + y1) / 2, y1]) {
    svg.append(el("text", { x: L - 6, y: sy(v) + 4, "text-anchor": "end", class: "tick" }, v.toFixed(2)));
  }
  for (const v of [x0, x1]) {
    svg.append(el("text", { x: sx(v), y: H - B + 16, "text-anchor": "middle", class: "tick" }, String(+v.toFixed(2))));
  }
  svg.append(el("text", { x: (L + W) / 2, y: H - 2, "text-anchor": "middle", class: "tick" }, xLabel));
  svg.append(el("text", { x: 12, y: T + 8, class: "tick" }, yLabel));
  for (const s of series) {
    const pts = s.points.filter(([, y]) => Number.isFinite(y)).map(([x, y]) => `${sx(x)},${sy(y)}`);
    if (pts.length) svg.append(el("polyline", { points: pts.join(" "), class: `line ${s.className || ""}` }));
  }
}
