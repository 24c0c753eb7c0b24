// Annotator agreement page: project figures, an IoU histogram, annotators, worst images with
// their disagreement heat map drawn over the photo.
import { api } from "./api.js";
import { toast } from "./toast.js";

const HEAT_SIDE = 256; // thumbnails are small: the heat canvas needs no more pixels than this

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

// The server's heat map is grey (255: an even split); shown, it runs from clear through yellow
// to red, its alpha the heat, so calm areas show the photo untouched.
async function drawHeat(canvas, imageId) {
  const response = await fetch(`/api/images/${imageId}/disagreement/`, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`heat map of image ${imageId}: HTTP ${response.status}`);
  const bitmap = await createImageBitmap(await response.blob(), { colorSpaceConversion: "none" });
  const scale = Math.min(1, HEAT_SIDE / Math.max(bitmap.width, bitmap.height));
  // Same aspect as the photo, so both fill the thumbnail the same way (object-fit: cover).
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  const ctx = canvas.getContext("2d");
  ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  const image = ctx.getImageData(0, 0, canvas.width, canvas.height);
  const px = image.data;
  for (let i = 0; i < px.length; i += 4) {
    const heat = px[i];
    px[i] = 255;
    px[i + 1] = Math.round(220 * (1 - heat / 255));
    px[i + 2] = 0;
    px[i + 3] = heat;
  }
  ctx.putImageData(image, 0, 0);
  canvas.dataset.drawn = "1";
}

// Heat maps are computed on request from every annotator's mask: only for thumbnails in view.
const heatWatch = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    if (!entry.isIntersecting) continue;
    heatWatch.unobserve(entry.target);
    drawHeat(entry.target, entry.target.dataset.image).catch((err) => toast(err.message, "error"));
  }
});

const opacity = $("ag-heat-opacity");
function showOpacity() {
  $("ag-images-list").style.setProperty("--heat-opacity", opacity.value);
  $("ag-heat-opacity-out").textContent = Number(opacity.value).toFixed(2);
}
opacity.addEventListener("input", showOpacity);
showOpacity();

function thumbnail(row) {
  const li = document.createElement("li");
  const a = document.createElement("a");
  a.href = `/images/${row.image}/label/`;
  a.title = `${row.annotators.join(", ")}: IoU ${fmt(row.mean_iou)}`;
  const figure = document.createElement("span");
  figure.className = "heat-over";
  const photo = document.createElement("img");
  photo.src = `/api/images/${row.image}/file/`;
  photo.alt = `image ${row.image}, where its annotators disagree in red`;
  photo.loading = "lazy";
  const heat = document.createElement("canvas");
  heat.className = "heat";
  heat.dataset.image = row.image;
  heat.setAttribute("aria-hidden", "true");
  heatWatch.observe(heat);
  figure.append(photo, heat);
  const badge = document.createElement("span");
  badge.className = "badge";
  badge.textContent = `IoU ${fmt(row.mean_iou)}`;
  a.append(figure, badge);
  li.append(a);
  return li;
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
  $("ag-images-list").replaceChildren(...summary.per_image.slice(0, 24).map(thumbnail));
  root.dataset.ready = "1";
}
load().catch((err) => toast(err.message, "error"));
