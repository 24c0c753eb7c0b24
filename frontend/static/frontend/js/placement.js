// Camera placement page: asks the API for the coverage and draws the part seen from its axis,
// with each camera's inspected arc in green and blind spots in red.
import { api } from "./api.js";
import { toast } from "./toast.js";

const svgNs = "http://www.w3.org/2000/svg";
const root = document.getElementById("placement");
const form = document.getElementById("placement-form");
const svg = document.getElementById("placement-diagram");
const R = 60; // the part's radius on the diagram

function el(name, attrs) {
  const node = document.createElementNS(svgNs, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  svg.appendChild(node);
  return node;
}

function point(deg, radius) {
  const a = (deg * Math.PI) / 180;
  return [radius * Math.cos(a), -radius * Math.sin(a)];
}

function arc(fromDeg, toDeg, radius, colour, cls) {
  let sweep = (toDeg - fromDeg + 360) % 360;
  if (sweep === 0) sweep = 360;
  const [x1, y1] = point(fromDeg, radius);
  const [x2, y2] = point(fromDeg + Math.min(sweep, 359.99), radius);
  el("path", {
    d: `M ${x1} ${y1} A ${radius} ${radius} 0 ${sweep > 180 ? 1 : 0} 0 ${x2} ${y2}`,
    fill: "none", stroke: colour, "stroke-width": 6, class: cls,
  });
}

function draw(result) {
  svg.replaceChildren();
  el("circle", { cx: 0, cy: 0, r: R, fill: "#ddd", stroke: "#888" });
  result.blind_spots.forEach((g) => arc(g.from_deg, g.to_deg, R + 5, "#c62828", "blind"));
  result.cameras.forEach((c) => {
    arc(c.from_deg, c.to_deg, R + 5, "#2e7d32", "seen");
    const [x, y] = point(c.azimuth_deg, R + 40);
    el("rect", { x: x - 6, y: y - 6, width: 12, height: 12, fill: "#1565c0", class: "camera" });
  });
  const facts = {
    "Circumference inspected": `${(100 * result.coverage).toFixed(1)} %`,
    "Each camera": `${(2 * result.half_arc_deg).toFixed(1)}°`,
    "Overlap of neighbours": `${result.overlap_deg.toFixed(1)}°`,
    "Blind spots": result.blind_spots.length
      ? result.blind_spots.map((g) => `${g.width_deg.toFixed(1)}° at ${g.from_deg.toFixed(0)}°`).join(", ")
      : "none",
    "Length in view": `${(100 * result.length_coverage).toFixed(0)} %`,
  };
  const list = document.getElementById("placement-result");
  list.replaceChildren();
  for (const [k, v] of Object.entries(facts)) {
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v;
    list.append(dt, dd);
  }
  document.getElementById("placement-suggestion").textContent = result.suggestion;
}

async function analyse(event) {
  event?.preventDefault();
  const query = new URLSearchParams(new FormData(form));
  try {
    draw(await api(`/api/placement/?${query}`));
  } catch (error) {
    toast(error.message, "error");
  }
}

form.addEventListener("submit", analyse);
analyse().then(() => { root.dataset.ready = "1"; });
