// Record page: each view's JPEG on a canvas at its own resolution, with the stored defect
// masks over it (one colour per defect type, shown or hidden per type, at a chosen opacity)
// and the bounding box of each finding.
import { api } from "./api.js";
import { toast } from "./toast.js";

const root = document.getElementById("record");
const data = JSON.parse(document.getElementById("record-data").textContent);
const colors = new Map(data.types.map((t) => [t.project, t.color]));
const shown = new Set(data.types.map((t) => t.project));
const opacityInput = document.getElementById("overlay-opacity");
let opacity = opacityInput ? Number(opacityInput.value) / 100 : 0.5;

function loadImage(url) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error(`${url} could not be loaded`));
    img.src = url;
  });
}

// The mask (grey PNG, defect >= 128) as an opaque layer in its type's colour; the opacity
// is applied when the layer is drawn, so changing it needs no recolouring.
function tint(mask, color) {
  const layer = document.createElement("canvas");
  layer.width = mask.naturalWidth;
  layer.height = mask.naturalHeight;
  const ctx = layer.getContext("2d");
  ctx.drawImage(mask, 0, 0);
  const pixels = ctx.getImageData(0, 0, layer.width, layer.height);
  const n = parseInt(color.slice(1), 16);
  const px = pixels.data;
  for (let i = 0; i < px.length; i += 4) {
    const defect = px[i] >= 128;
    px[i] = n >> 16;
    px[i + 1] = (n >> 8) & 255;
    px[i + 2] = n & 255;
    px[i + 3] = defect ? 255 : 0;
  }
  ctx.putImageData(pixels, 0, 0);
  return layer;
}

async function prepare(view) {
  const figure = root.querySelector(`.record-view[data-view="${view.id}"]`);
  const canvas = figure.querySelector("canvas");
  let photo = null;
  if (view.image_url) {
    try {
      photo = await loadImage(view.image_url);
    } catch (error) {
      figure.querySelector("figcaption").append(` · ${error.message}`);
    }
  }
  const loaded = await Promise.all(
    data.masks
      .filter((m) => m.camera === view.camera)
      .map(async (m) => {
        try {
          const layer = tint(await loadImage(m.url), colors.get(m.project) || "#e4572e");
          return { project: m.project, layer };
        } catch (error) {
          figure.querySelector("figcaption").append(` · ${error.message}`);
          return null;
        }
      }),
  );
  const masks = loaded.filter(Boolean);
  const size = photo
    ? [photo.naturalWidth, photo.naturalHeight]
    : masks.length ? [masks[0].layer.width, masks[0].layer.height] : null;
  if (!size) {
    canvas.hidden = true; // neither image nor mask left to draw
    return null;
  }
  [canvas.width, canvas.height] = size;
  const boxes = data.boxes.filter((b) => b.camera === view.camera);
  return { canvas, photo, masks, boxes };
}

function draw({ canvas, photo, masks, boxes }) {
  const ctx = canvas.getContext("2d");
  const { width, height } = canvas;
  ctx.globalAlpha = 1;
  if (photo) ctx.drawImage(photo, 0, 0, width, height);
  else {
    ctx.fillStyle = "#222";
    ctx.fillRect(0, 0, width, height);
  }
  ctx.globalAlpha = opacity;
  for (const m of masks) if (shown.has(m.project)) ctx.drawImage(m.layer, 0, 0, width, height);
  ctx.globalAlpha = 1;
  ctx.lineWidth = Math.max(1, Math.round(width / 500));
  for (const { project, bbox } of boxes) {
    if (!shown.has(project)) continue;
    const [x, y, w, h] = bbox;
    ctx.strokeStyle = colors.get(project) || "#e4572e";
    ctx.strokeRect(x - ctx.lineWidth / 2, y - ctx.lineWidth / 2, w + ctx.lineWidth, h + ctx.lineWidth);
  }
  canvas.dataset.drawn = String(Number(canvas.dataset.drawn || 0) + 1);
}

const views = (await Promise.all(data.views.map(prepare))).filter(Boolean);
const redraw = () => views.forEach(draw);
redraw();

for (const toggle of root.querySelectorAll(".overlay-toggle")) {
  toggle.addEventListener("change", () => {
    const project = Number(toggle.dataset.project);
    if (toggle.checked) shown.add(project);
    else shown.delete(project);
    redraw();
  });
}
opacityInput?.addEventListener("input", () => {
  opacity = Number(opacityInput.value) / 100;
  document.getElementById("overlay-opacity-value").textContent = `${opacityInput.value} %`;
  redraw();
});

for (const button of root.querySelectorAll(".send-to-labeling")) {
  button.addEventListener("click", async () => {
    const out = root.querySelector(".send-result");
    button.disabled = true;
    try {
      const result = await api(`/api/projects/${button.dataset.project}/audit/send-to-labeling/`, {
        method: "POST", body: { records: [data.record] },
      });
      out.textContent = result.message;
      toast(result.message);
    } catch (error) {
      out.textContent = error.message;
      toast(error.message, "error");
    } finally {
      button.disabled = false;
    }
  });
}
root.dataset.ready = "1";
