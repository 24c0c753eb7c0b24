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

// bars: [{label, value (0..1 or null), note}], drawn as horizontal bars on a 0..max scale.
export function barChart(svg, bars, { max = 1, format = (v) => v.toFixed(2) } = {}) {
  const [W, rowH, L, R, T] = [480, 28, 190, 60, 6];
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${W} ${T * 2 + rowH * bars.length}`);
  const top = Math.max(max, ...bars.map((b) => b.value ?? 0)) || 1;
  bars.forEach((bar, i) => {
    const y = T + i * rowH;
    svg.append(el("text", { x: L - 8, y: y + rowH / 2 + 4, "text-anchor": "end", class: "tick" }, bar.label));
    if (bar.value === null || bar.value === undefined) {
      svg.append(el("text", { x: L, y: y + rowH / 2 + 4, class: "tick muted" }, "no data"));
      return;
    }
    const width = Math.max(1, (bar.value / top) * (W - L - R));
    const rect = el("rect", { x: L, y: y + 4, width, height: rowH - 8, class: `bar ${bar.className || ""}` });
    rect.append(el("title", {}, `${bar.label}: ${format(bar.value)}${bar.note ? ` (${bar.note})` : ""}`));
    svg.append(rect);
    svg.append(el("text", { x: L + width + 6, y: y + rowH / 2 + 4, class: "tick" }, format(bar.value)));
  });
}

// A 2x2 confusion matrix (model rows against inspector columns), cells shaded by count.
export function confusionChart(svg, c) {
  const [L, T, cell] = [96, 34, 72];
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${L + 2 * cell + 8} ${T + 2 * cell + 8}`);
  const most = Math.max(1, c.tp, c.fp, c.fn, c.tn);
  svg.append(el("text", { x: L + cell, y: 12, "text-anchor": "middle", class: "tick" }, "inspectors"));
  [["defect", 0], ["none", 1]].forEach(([name, col]) => {
    svg.append(el("text", { x: L + cell * col + cell / 2, y: T - 6, "text-anchor": "middle", class: "tick" }, name));
  });
  [["model NG", 0], ["model OK", 1]].forEach(([name, row]) => {
    svg.append(el("text", { x: L - 8, y: T + cell * row + cell / 2 + 4, "text-anchor": "end", class: "tick" }, name));
  });
  const cells = [["tp", 0, 0, "agree"], ["fp", 0, 1, "false reject"], ["fn", 1, 0, "escape"], ["tn", 1, 1, "agree"]];
  for (const [key, row, col, meaning] of cells) {
    const group = el("g", { "data-cell": key });
    const x = L + col * cell;
    const y = T + row * cell;
    group.append(el("rect", {
      x, y, width: cell - 2, height: cell - 2,
      class: `cell ${row === col ? "cell-agree" : "cell-disagree"}`,
      "fill-opacity": (0.15 + 0.85 * (c[key] / most)).toFixed(2),
    }));
    group.append(el("text", { x: x + cell / 2, y: y + cell / 2 + 2, "text-anchor": "middle", class: "count" }, String(c[key])));
    group.append(el("text", { x: x + cell / 2, y: y + cell / 2 + 18, "text-anchor": "middle", class: "tick" }, meaning));
    svg.append(group);
  }
}
