// Station camera setup: edit the camera list, save it, probe a camera's accepted settings.
import { api } from "./api.js";
import { toast } from "./toast.js";

const root = document.getElementById("setup");
const station = root.dataset.station;
const editable = root.dataset.canSetup === "1";
const body = document.querySelector("#cameras tbody");
let kinds = [];

function input(value, attrs = {}) {
  const el = document.createElement(attrs.tag || "input");
  if (attrs.tag === "select") {
    for (const k of kinds) { const o = document.createElement("option"); o.value = o.textContent = k; el.append(o); }
  }
  el.value = value ?? "";
  el.disabled = !editable;
  if (attrs.className) el.className = attrs.className;
  return el;
}

function row(camera) {
  const tr = document.createElement("tr");
  tr.dataset.reference = camera.reference ? "1" : "";
  const cells = [
    input(camera.name, { className: "cam-name" }),
    input(camera.kind || "synthetic", { tag: "select", className: "cam-kind" }),
    input(camera.source, { className: "cam-source" }),
    input(camera.settings ? JSON.stringify(camera.settings) : "", { className: "cam-settings" }),
  ];
  for (const el of cells) { const td = document.createElement("td"); td.append(el); tr.append(td); }
  const ref = document.createElement("td");
  ref.textContent = camera.reference ? `sharpness ${Math.round(camera.reference.sharpness)}` : "–";
  tr.append(ref);
  const actions = document.createElement("td");
  if (editable) {
    const probe = document.createElement("button");
    probe.className = "btn btn-quiet probe";
    probe.type = "button";
    probe.textContent = "Probe";
    probe.addEventListener("click", () => runProbe(tr.querySelector(".cam-name").value));
    const remove = document.createElement("button");
    remove.className = "btn btn-quiet";
    remove.type = "button";
    remove.textContent = "Remove";
    remove.addEventListener("click", () => tr.remove());
    actions.append(probe, remove);
  }
  tr.append(actions);
  return tr;
}

function collect() {
  return [...body.querySelectorAll("tr")].map((tr) => {
    const camera = { name: tr.querySelector(".cam-name").value.trim(), kind: tr.querySelector(".cam-kind").value };
    const source = tr.querySelector(".cam-source").value.trim();
    if (source) camera.source = /^\d+$/.test(source) ? Number(source) : source;
    const settings = tr.querySelector(".cam-settings").value.trim();
    if (settings) camera.settings = JSON.parse(settings);
    return camera;
  });
}

async function runProbe(name) {
  const box = document.getElementById("probe-result");
  box.hidden = false;
  document.getElementById("probe-text").textContent = `probing ${name}…`;
  try {
    const found = await api(`/api/stations/${station}/cameras/${encodeURIComponent(name)}/probe/`, { method: "POST" });
    document.getElementById("probe-text").textContent = JSON.stringify(found, null, 2);
    root.dataset.probed = found.opened ? "ok" : "failed";
  } catch (err) { toast(err.message, "error"); }
}

async function load() {
  const found = await api(`/api/stations/${station}/cameras/`);
  kinds = found.kinds;
  body.replaceChildren(...found.cameras.map(row));
  root.dataset.ready = "1";
}

document.getElementById("add-camera")?.addEventListener("click", () => {
  body.append(row({ name: `cam${body.children.length + 1}`, kind: "synthetic" }));
});
document.getElementById("save-cameras")?.addEventListener("click", async () => {
  try {
    await api(`/api/stations/${station}/cameras/`, { method: "PUT", body: { cameras: collect() } });
    toast("Cameras saved; a running station uses them from its next start.");
    await load();
  } catch (err) {
    toast(err instanceof SyntaxError ? `Settings are not JSON: ${err.message}` : err.message, "error", 8000);
  }
});
load().catch((err) => toast(err.message, "error"));
