// The mask editor page: wires the label buffer (maskbuffer.js), its drawing (overlay.js),
// zoom/pan (viewport.js) and saving (labelsave.js) to the toolbar, the pointer and the keyboard;
// reviewers also get a read-only layer of other labels (referencelayer.js).
import { api } from "./api.js";
import { LabelSaver } from "./labelsave.js";
import { emptyRect, grow, History, isEmpty, MaskBuffer } from "./maskbuffer.js";
import { readMask } from "./maskread.js";
import { Overlay } from "./overlay.js";
import { ReferenceLayer } from "./referencelayer.js";
import { toast } from "./toast.js";
import { Viewport } from "./viewport.js";

const CLOSE_PX = 8; // a polygon click this near the first corner (screen pixels) closes it
const STATS_KEPT = 5000;

const $ = (id) => document.getElementById(id);
const root = $("editor");
const imageId = root.dataset.image;
const me = root.dataset.user;
const width = Number(root.dataset.width);
const height = Number(root.dataset.height);
const labelsUrl = `/api/images/${imageId}/labels/`;
const frame = $("viewport");
const maskLayer = $("mask");
const outline = $("outline");
const brushCursor = $("brush-cursor");
const sizeInput = $("brush-size");
const valueInput = $("brush-value");

const buffer = new MaskBuffer(width, height);
const history = new History(buffer);
const saver = new LabelSaver(
  buffer,
  labelsUrl,
  $("save-state"),
  $("label-kind"),
  `${me}:${imageId}`,
);
const overlay = new Overlay(maskLayer, buffer, root.dataset.color || "#e4572e");
const view = new Viewport(frame, $("stage"), width, height, (v) => {
  $("zoom-level").textContent = `${Math.round(v.scale * 100)}%`;
});
// Only reviewers' pages carry the layer: annotators label without seeing each other's work.
const reference = $("reference")
  ? new ReferenceLayer({
      container: $("reference"),
      picker: $("reference-pick"),
      toggle: $("toggle-reference"),
      colorInput: $("reference-color"),
      imageId,
      me,
      width,
      height,
      onError: (err) => toast(`Layer not shown: ${err.message}`, "error"),
    })
  : null;

// Frame costs for the benchmark: main-thread milliseconds spent on input and redraw per frame.
const stats = { frameWork: [], frameInterval: [] };
window.__editorStats = stats;

let loaded = false;

// --- Drawing -----------------------------------------------------------------------------

let dirty = emptyRect();
let frameRequested = false;
let inputWork = 0;
let lastFrame = 0;

function requestRedraw(rect) {
  grow(dirty, rect);
  if (!frameRequested) {
    frameRequested = true;
    requestAnimationFrame(redraw);
  }
}

function redraw(now) {
  frameRequested = false;
  const started = performance.now();
  if (!isEmpty(dirty)) overlay.draw(dirty);
  dirty = emptyRect();
  record(stats.frameWork, inputWork + performance.now() - started);
  if (lastFrame) record(stats.frameInterval, now - lastFrame);
  lastFrame = now;
  inputWork = 0;
}

function record(list, value) {
  list.push(value);
  if (list.length > STATS_KEPT) list.splice(0, list.length - STATS_KEPT);
}

function timed(handler) {
  return (event) => {
    const started = performance.now();
    handler(event);
    inputWork += performance.now() - started;
  };
}

// --- Edits and undo ----------------------------------------------------------------------

function edited(rect, kind = "mask") {
  requestRedraw(rect);
  saver.edited(kind);
}

function commit(rect) {
  history.commit(rect);
  showUndo();
}

function showUndo() {
  $("undo").disabled = !history.canUndo;
  $("redo").disabled = !history.canRedo;
}

function undo(redo = false) {
  if (gesture) return;
  cancelPolygon();
  const rect = redo ? history.redo() : history.undo();
  if (rect) edited(rect);
  showUndo();
}

function markWhole(newKind) {
  finishGesture();
  cancelPolygon();
  const rect = buffer.clear();
  commit(rect);
  edited(rect, newKind);
  saver.save();
}

// --- Tools and gestures --------------------------------------------------------------------

let gesture = null;
let spaceHeld = false;
const polygon = [];

const tool = () => document.querySelector("input[name=tool]:checked").value;
const radius = () => Number(sizeInput.value) / 2;
const value = () => (tool() === "eraser" ? 0 : Math.round(Number(valueInput.value) * 255));

function setTool(name) {
  cancelPolygon();
  document.querySelector(`input[name=tool][value=${name}]`).checked = true;
  frame.dataset.tool = name;
}

function setSize(size) {
  sizeInput.value = String(Math.min(256, Math.max(1, Math.round(size))));
  $("brush-size-out").textContent = sizeInput.value;
  brushCursor.setAttribute("r", radius());
}

function setValue(v) {
  valueInput.value = String(v);
  $("brush-value-out").textContent = Number(valueInput.value).toFixed(2);
}

function drawOutline(points) {
  outline.setAttribute("points", points.map(([x, y]) => `${x},${y}`).join(" "));
}

function cancelPolygon() {
  polygon.length = 0;
  if (gesture?.type !== "lasso") drawOutline([]);
}

function closePolygon() {
  // A double-click adds its own two corners on top of each other: keep one.
  const apart = ([x, y], [px, py]) => Math.hypot(x - px, y - py) * view.scale > 3;
  const corners = polygon.filter((corner, i) => i === 0 || apart(corner, polygon[i - 1]));
  cancelPolygon();
  if (corners.length < 3) return;
  const rect = buffer.fillPolygon(corners, value());
  commit(rect);
  edited(rect);
}

function paint(rect) {
  if (isEmpty(rect)) return; // the pointer is off the image
  history.touch(rect);
  edited(rect);
}

function finishGesture() {
  if (!gesture) return;
  const done = gesture;
  gesture = null;
  view.release();
  frame.classList.remove("panning");
  if (done.type === "stroke") commit();
  if (done.type === "lasso") {
    drawOutline([]);
    const rect = buffer.fillPolygon(done.points, done.value);
    commit(rect);
    if (!isEmpty(rect)) edited(rect);
  }
}

function pointsOf(event) {
  const events = event.getCoalescedEvents?.() ?? [];
  return (events.length ? events : [event]).map((e) => view.toImage(e.clientX, e.clientY));
}

function moveCursor(x, y) {
  brushCursor.setAttribute("cx", x);
  brushCursor.setAttribute("cy", y);
}

frame.addEventListener(
  "pointerdown",
  timed((event) => {
    const pan = event.button === 1 || event.button === 2 || (event.button === 0 && spaceHeld);
    if (!pan && (event.button !== 0 || !loaded)) return;
    try {
      frame.setPointerCapture(event.pointerId);
    } catch {
      // Synthetic events (tests, the benchmark) have no pointer to capture.
    }
    event.preventDefault();
    if (pan) {
      gesture = { type: "pan", x: event.clientX, y: event.clientY };
      frame.classList.add("panning");
      return;
    }
    view.hold();
    const [x, y] = view.toImage(event.clientX, event.clientY);
    const current = tool();
    if (current === "brush" || current === "eraser") {
      const rect = buffer.stamp(x, y, radius(), value());
      gesture = { type: "stroke", last: [x, y], value: value() };
      paint(rect);
    } else if (current === "lasso") {
      gesture = { type: "lasso", points: [[x, y]], value: value() };
    } else if (current === "polygon") {
      const first = polygon[0];
      const near = first && Math.hypot(x - first[0], y - first[1]) * view.scale <= CLOSE_PX;
      if (near && polygon.length >= 3) closePolygon();
      else {
        polygon.push([x, y]);
        drawOutline(polygon);
      }
    } else if (current === "fill") {
      const rect = buffer.floodFill(x, y, value());
      commit(rect);
      if (!isEmpty(rect)) edited(rect);
    }
  }),
);

frame.addEventListener(
  "pointermove",
  timed((event) => {
    if (gesture?.type === "pan") {
      view.panBy(event.clientX - gesture.x, event.clientY - gesture.y);
      gesture.x = event.clientX;
      gesture.y = event.clientY;
      return;
    }
    const points = pointsOf(event);
    const [x, y] = points[points.length - 1];
    if (gesture?.type === "stroke") {
      const rect = emptyRect();
      for (const [px, py] of points) {
        buffer.segment(gesture.last[0], gesture.last[1], px, py, radius(), gesture.value, rect);
        gesture.last = [px, py];
      }
      paint(rect);
    } else if (gesture?.type === "lasso") {
      gesture.points.push(...points);
      drawOutline(gesture.points);
    } else if (polygon.length) {
      drawOutline([...polygon, [x, y]]);
    }
    moveCursor(x, y);
  }),
);

for (const name of ["pointerup", "pointercancel"]) {
  frame.addEventListener(name, timed(finishGesture));
}
frame.addEventListener("dblclick", () => {
  if (tool() === "polygon") closePolygon();
});
frame.addEventListener("contextmenu", (event) => event.preventDefault());
frame.addEventListener(
  "wheel",
  (event) => {
    event.preventDefault();
    const perLine = event.deltaMode === 1 ? 0.05 : 0.0015;
    view.zoomAt(event.clientX, event.clientY, Math.exp(-event.deltaY * perLine));
  },
  { passive: false },
);

// --- Toolbar and keyboard ------------------------------------------------------------------

for (const radio of document.querySelectorAll("input[name=tool]")) {
  radio.addEventListener("change", () => setTool(radio.value));
}
sizeInput.addEventListener("input", () => setSize(sizeInput.value));
valueInput.addEventListener("input", () => setValue(valueInput.value));
$("overlay-opacity").addEventListener("input", (e) => {
  maskLayer.style.opacity = e.target.value;
});
$("overlay-color").addEventListener("input", (e) => {
  overlay.setColor(e.target.value);
  requestRedraw({ x0: 0, y0: 0, x1: width, y1: height });
});
function toggleLabel() {
  const hidden = maskLayer.classList.toggle("hidden");
  $("toggle-label").setAttribute("aria-pressed", String(hidden));
  $("toggle-label").textContent = hidden ? "Show" : "Hide";
}
$("toggle-label").addEventListener("click", toggleLabel);
$("zoom-fit").addEventListener("click", () => view.fit());
$("undo").addEventListener("click", () => undo());
$("redo").addEventListener("click", () => undo(true));
$("save").addEventListener("click", () => saveNow());
$("mark-negative").addEventListener("click", () => markWhole("negative"));
$("mark-unsure").addEventListener("click", () => markWhole("unsure"));
const help = $("help");
function toggleHelp() {
  if (help.open) help.close();
  else help.showModal();
}
$("show-help").addEventListener("click", toggleHelp);

async function go(link) {
  if (!link) return;
  finishGesture();
  if (await saver.save()) window.location.href = link.href;
  else toast("Not saved yet, so still on this image.", "error");
}
for (const link of [$("previous-image"), $("next-image")]) {
  link?.addEventListener("click", (event) => {
    event.preventDefault();
    go(link);
  });
}

const TOOL_KEYS = { b: "brush", e: "eraser", p: "polygon", l: "lasso", g: "fill" };
// Where keys type text (the review panel's comment, say), shortcuts stay out of the way.
const TYPING =
  "textarea, select, [contenteditable], input:not([type=range], [type=radio], [type=color])";

document.addEventListener("keydown", (event) => {
  if (event.target.closest?.(TYPING)) return;
  const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
  if (event.ctrlKey || event.metaKey) {
    const withCtrl = {
      z: () => undo(event.shiftKey),
      y: () => undo(true),
      s: () => saveNow(),
    };
    const action = withCtrl[key];
    if (action) {
      event.preventDefault();
      action();
    }
    return;
  }
  if (event.altKey) {
    const link = { ArrowRight: $("next-image"), ArrowLeft: $("previous-image") }[key];
    if (link) {
      event.preventDefault();
      go(link);
    }
    return;
  }
  if (key === "?") return toggleHelp();
  if (help.open) return;
  const actions = {
    "[": () => setSize(Number(sizeInput.value) / 1.25),
    "]": () => setSize(Math.max(Number(sizeInput.value) + 1, Number(sizeInput.value) * 1.25)),
    h: toggleLabel,
    r: () => reference?.toggle(),
    f: () => view.fit(),
    "+": () => view.zoomCentre(1.25),
    "=": () => view.zoomCentre(1.25),
    "-": () => view.zoomCentre(0.8),
    n: () => markWhole("negative"),
    u: () => markWhole("unsure"),
    ".": () => go($("next-image")),
    ",": () => go($("previous-image")),
    " ": () => {
      spaceHeld = true;
      frame.classList.add("can-pan");
    },
  };
  if (polygon.length) {
    // Only while a polygon is drawn: otherwise Enter must still press the focused button.
    actions.Enter = closePolygon;
    actions.Escape = cancelPolygon;
    actions.Backspace = () => {
      polygon.pop();
      drawOutline(polygon);
    };
  }
  if (TOOL_KEYS[key]) actions[key] = () => setTool(TOOL_KEYS[key]);
  if (/^[0-9]$/.test(key)) actions[key] = () => setValue(key === "0" ? 1 : Number(key) / 10);
  if (actions[key]) {
    event.preventDefault();
    actions[key]();
  }
});
document.addEventListener("keyup", (event) => {
  if (event.key === " ") {
    spaceHeld = false;
    frame.classList.remove("can-pan");
    if (!event.target.closest?.(TYPING)) event.preventDefault();
  }
});

window.addEventListener("beforeunload", (event) => {
  if (!loaded) return;
  finishGesture();
  // Ask before leaving only when the exit save could not carry the label.
  if (saver.wouldLose()) event.preventDefault();
});
window.addEventListener("pagehide", () => {
  if (!loaded) return;
  finishGesture(); // a tab closed mid-stroke keeps the stroke
  saver.flushOnExit();
});
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "hidden" && loaded && !saver.conflict) saver.save();
});
window.addEventListener("pageshow", (event) => {
  // Back from the page cache: the exit save moved the version on, so start from the server's.
  if (event.persisted) window.location.reload();
});

// --- Conflicts -----------------------------------------------------------------------------

// A save answered 409: someone saved this label since it was loaded here. Until the user
// picks merge, keep mine or reload, autosave waits and the edits stay in the draft.
const conflictBar = $("conflict");
saver.onConflict = (current) => {
  const who = current ? `v${current.number} by ${current.author}` : "a newer version";
  $("conflict-text").textContent =
    `Someone saved this label (${who}) since you opened it. Merge keeps both people's ` +
    "painting; Keep mine saves yours over it (theirs stays a version); Discard mine opens theirs.";
  conflictBar.hidden = false;
};

function saveNow() {
  conflictBar.hidden = true; // a save from here replaces the newer version: the user chose so
  return saver.saveNow();
}

let merging = false;

async function merge() {
  const current = saver.conflict?.current;
  if (merging || current === undefined) return;
  merging = true;
  try {
    const theirs = new MaskBuffer(width, height);
    if (current?.mask_url) await readMask(current.mask_url, theirs);
    finishGesture(); // a stroke drawn while theirs loaded is mine too, before the merge
    cancelPolygon();
    const rect = buffer.maxWith(theirs.data);
    commit(rect); // one undo step: Ctrl+Z gives back exactly what this tab held
    // A whole-image mark on one side and painted pixels on the other: the pixels win.
    const kind = current?.kind === "mask" ? "mask" : saver.kind;
    saver.rebase(current?.id ?? null);
    conflictBar.hidden = true;
    edited(rect, kind);
    await saver.save();
  } catch (err) {
    toast(`Not merged: ${err.message}`, "error");
  } finally {
    merging = false;
  }
}

$("conflict-merge").addEventListener("click", merge);
$("conflict-overwrite").addEventListener("click", () => saveNow());
$("conflict-discard").addEventListener("click", async () => {
  await saver.discard();
  window.location.reload();
});

// --- Loading -------------------------------------------------------------------------------

// With no label of yours yet, the model's proposal (when one was computed) is the starting
// point: its confident pixels (probability >= 0.5) painted, for you to correct.
async function startFromPreLabel() {
  const response = await fetch(`/api/images/${imageId}/prelabel/`, { credentials: "same-origin" });
  if (!response.ok) return;
  const prelabel = await response.json();
  await readMask(prelabel.mask_url, buffer);
  const data = buffer.data;
  for (let i = 0; i < data.length; i++) data[i] = data[i] >= 128 ? 255 : 0;
  toast(`Started from model version ${prelabel.model_version}'s proposal: correct it, then save.`);
}

async function load() {
  const labels = await api(labelsUrl);
  const version = labels.find((label) => label.annotator === me)?.current_version;
  if (version?.mask_url) await readMask(version.mask_url, buffer);
  else if (!version) await startFromPreLabel();
  history.reset();
  saver.loaded(version);
  await restoreDraft(version?.kind ?? null);
  overlay.drawAll();
  await reference?.start(new URLSearchParams(window.location.search).get("review"));
}

// Edits this browser kept but the server never got (the tab closed offline, say) come back as
// unsaved edits on top of the stored version: one undo step away from it, saved by autosave.
async function restoreDraft(storedKind) {
  const draft = await saver.leftDraft(storedKind);
  if (!draft) return;
  const rect = draft.kind === "mask" ? buffer.replace(draft.data) : buffer.clear();
  commit(rect);
  saver.edited(draft.kind);
  const when = new Date(draft.at).toLocaleString();
  root.dataset.restored = String(draft.at);
  toast(`Restored edits from ${when} that had not reached the server; saving them now.`, "info", 10000);
}

// As tall as the image at the frame's width, but no taller than the window below the toolbar.
function sizeFrame() {
  const wanted = (frame.clientWidth * height) / width;
  const room = window.innerHeight - frame.getBoundingClientRect().top - 16;
  frame.style.height = `${Math.round(Math.max(240, Math.min(wanted, room)))}px`;
  view.fit();
}

sizeFrame();
window.addEventListener("resize", sizeFrame);
setTool(tool());
setSize(sizeInput.value);
setValue(valueInput.value);
load()
  .then(() => {
    loaded = true;
    root.dataset.ready = "1";
  })
  .catch((err) => toast(err.message, "error"));
