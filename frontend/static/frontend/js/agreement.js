// Annotator agreement page: project figures, an IoU histogram, annotators, worst images.
import { api } from "./api.js";
import { toast } from "./toast.js";

const root = document.getElementById("agreement");
const $ = (id) => document.getElementById(id);
const fmt = (v) => (v === null || v === undefined ? "–" : v.toFixed(3));

function cell(text) { const td = document.createElement("td"); td.textContent = text; return td; }

// The server counts every compared image per IoU band; per_image holds only the worst.
function histogram({ edges, counts: bins }) {
  const svg = $("ag-histogram");
  const top = Math.max(1, ...bins);
  const NS = "http://www.w3.org/2000/svg";
  svg.replaceChildren();
  bins.forEach((n, i) => {
    const h = (120 * n) / top;
    const bar = document.createElementNS(NS, "rect");
    Object.entries({ x: 20 + i * 44, y: 130 - h, width: 38, height: h, class: "bar" }).forEach(([k, v]) => bar.setAttribute(k, v));
    const label = document.createElementNS(NS, "text");
    Object.entries({ x: 39 + i * 44, y: 150, "text-anchor": "middle", class: "tick" }).forEach(([k, v]) => label.setAttribute(k, v));
    label.textContent = `${edges[i].toFixed(1)}`;
    const title = document.createElementNS(NS, "title");
    title.textContent = `${n} images with IoU ${edges[i].toFixed(1)}–${edges[i + 1].toFixed(1)}`;
    bar.append(title);
    svg.append(bar, label);
  });
}

async function load() {
  const summary = await api(`/api/projects/${root.dataset.project}/agreement/`);
  $("ag-images").textContent = String(summary.images);
  $("ag-mean").textContent = fmt(summary.mean_iou);
  $("ag-quartiles").textContent = summary.iou_quartiles.length ? summary.iou_quartiles.map(fmt).join(" · ") : "–";
  $("ag-kappa").textContent = fmt(summary.pixel_kappa);
  histogram(summary.iou_histogram);
  const rows = Object.entries(summary.annotators).map(([who, a]) => {
    const tr = document.createElement("tr");
    tr.append(cell(who), cell(String(a.images)), cell(fmt(a.mean_iou_with_others)),
      cell(String(a.accepted_compared)), cell(fmt(a.mean_iou_with_accepted)));
    return tr;
  });
  $("ag-annotators").querySelector("tbody").replaceChildren(...rows);
  const items = summary.per_image.slice(0, 24).map((row) => {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = `/images/${row.image}/label/`;
    a.title = `${row.annotators.join(", ")}: IoU ${fmt(row.mean_iou)}`;
    const img = document.createElement("img");
    img.src = `/api/images/${row.image}/disagreement/`;
    img.alt = `disagreement on image ${row.image}`;
    img.loading = "lazy";
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = `IoU ${fmt(row.mean_iou)}`;
    a.append(img, badge);
    li.append(a);
    return li;
  });
  $("ag-images-list").replaceChildren(...items);
  root.dataset.ready = "1";
}
load().catch((err) => toast(err.message, "error"));
