// Minimal mask editor: round brush and eraser on an overlay canvas, autosave with versions.
import { api, ApiError } from "./api.js";
import { toast } from "./toast.js";

const root = document.getElementById("editor");
const imageId = root.dataset.image;
const me = root.dataset.user;
const canvas = document.getElementById("mask");
const ctx = canvas.getContext("2d", { willReadFrequently: true });
const state = document.getElementById("save-state");
const sizeInput = document.getElementById("brush-size");
const color = root.dataset.color || "#e4572e";
let baseVersion = null;
let dirty = false;
let saving = false;
let timer = null;

function setState(text) { state.textContent = text; state.className = `badge badge-${text}`; }

async function loadMine() {
  const labels = await api(`/api/images/${imageId}/labels/`);
  const mine = labels.find((l) => l.annotator === me);
  if (mine?.current_version) {
    baseVersion = mine.current_version.id;
    if (mine.current_version.mask_url) {
      const img = new Image();
      img.src = mine.current_version.mask_url;
      await img.decode();
      // Stored masks are grey values; show them as the project colour with alpha = value.
      const tmp = new OffscreenCanvas(canvas.width, canvas.height).getContext("2d");
      tmp.drawImage(img, 0, 0);
      const src = tmp.getImageData(0, 0, canvas.width, canvas.height);
      const out = ctx.createImageData(canvas.width, canvas.height);
      const [r, g, b] = hex(color);
      for (let i = 0; i < src.data.length; i += 4) {
        out.data[i] = r; out.data[i + 1] = g; out.data[i + 2] = b; out.data[i + 3] = src.data[i];
      }
      ctx.putImageData(out, 0, 0);
    }
  }
  setState("saved");
}

function hex(value) {
  const n = parseInt(value.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function point(event) {
  const rect = canvas.getBoundingClientRect();
  return [(event.clientX - rect.left) * (canvas.width / rect.width),
          (event.clientY - rect.top) * (canvas.height / rect.height)];
}

let drawing = false;
let last = null;
function stroke(event) {
  const [x, y] = point(event);
  const erase = document.querySelector("input[name=tool]:checked").value === "eraser";
  ctx.globalCompositeOperation = erase ? "destination-out" : "source-over";
  ctx.strokeStyle = ctx.fillStyle = color;
  ctx.lineWidth = Number(sizeInput.value);
  ctx.lineCap = ctx.lineJoin = "round";
  ctx.beginPath();
  ctx.moveTo(...(last || [x, y]));
  ctx.lineTo(x, y);
  ctx.stroke();
  last = [x, y];
  markDirty();
}
canvas.addEventListener("pointerdown", (e) => { drawing = true; last = null; canvas.setPointerCapture(e.pointerId); stroke(e); });
canvas.addEventListener("pointermove", (e) => { if (drawing) stroke(e); });
canvas.addEventListener("pointerup", () => { drawing = false; last = null; });

function markDirty() {
  dirty = true;
  setState("unsaved");
  clearTimeout(timer);
  timer = setTimeout(save, 1500);
}

async function maskBlob() {
  // Alpha of the overlay is the label: 255 painted, 0 not painted.
  const src = ctx.getImageData(0, 0, canvas.width, canvas.height);
  const out = new ImageData(canvas.width, canvas.height);
  for (let i = 0; i < src.data.length; i += 4) {
    const v = src.data[i + 3] >= 128 ? 255 : 0;
    out.data[i] = out.data[i + 1] = out.data[i + 2] = v; out.data[i + 3] = 255;
  }
  const off = new OffscreenCanvas(canvas.width, canvas.height);
  off.getContext("2d").putImageData(out, 0, 0);
  return off.convertToBlob({ type: "image/png" });
}

async function save(kind = "mask") {
  if (saving) { markDirty(); return; }
  saving = true;
  try {
    const form = new FormData();
    form.append("kind", kind);
    if (kind === "mask") form.append("mask", await maskBlob(), "mask.png");
    if (baseVersion) form.append("base_version", baseVersion);
    const version = await api(`/api/images/${imageId}/labels/`, { method: "POST", form });
    baseVersion = version.id;
    dirty = false;
    setState("saved");
  } catch (err) {
    if (err instanceof ApiError && err.status === 409) {
      toast("This label was changed elsewhere; reload to see the latest version.", "error", 8000);
    } else toast(`Not saved: ${err.message}`, "error");
    setState("unsaved");
  } finally { saving = false; }
}

document.getElementById("save").addEventListener("click", () => save());
document.getElementById("mark-negative").addEventListener("click", () => {
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  save("negative");
});
window.addEventListener("beforeunload", (e) => { if (dirty) { save(); e.preventDefault(); } });
document.addEventListener("keydown", (e) => {
  if ((e.ctrlKey || e.metaKey) && e.key === "s") { e.preventDefault(); save(); }
});
loadMine()
  .then(() => { root.dataset.ready = "1"; })
  .catch((err) => toast(err.message, "error"));
