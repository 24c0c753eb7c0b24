// The station's decision rule per defect type: the production model's threshold and minimum
// area, this station's override, and the rule that judges. Engineers and owners edit it.
import { api } from "./api.js";
import { toast } from "./toast.js";

const root = document.getElementById("setup");
const body = document.querySelector("#rules tbody");
const url = `/api/stations/${root.dataset.station}/thresholds/`;
const editable = root.dataset.canSetup === "1";

function rule(r) {
  return r ? `≥ ${r.threshold} over ${r.min_area} px` : "no production model";
}

function number(value, attrs) {
  const el = document.createElement("input");
  el.type = "number";
  Object.assign(el, attrs);
  el.value = value ?? "";
  el.disabled = !editable;
  return el;
}

function cell(tr, content) {
  const td = document.createElement("td");
  td.append(content);
  tr.append(td);
}

function render(data) {
  body.replaceChildren();
  for (const p of data.projects) {
    const tr = document.createElement("tr");
    tr.dataset.project = p.project;
    cell(tr, p.defect_type);
    cell(tr, p.model_version ? `v${p.model_version}: ${rule(p.model)}` : rule(null));
    const inputs = document.createElement("span");
    inputs.className = "inline";
    const threshold = number(p.override?.threshold, { min: 0.000001, max: 1, step: "any", className: "rule-threshold", placeholder: "model's" });
    const area = number(p.override?.min_area, { min: 0, step: 1, className: "rule-area", placeholder: "model's" });
    threshold.setAttribute("aria-label", `${p.defect_type} threshold`);
    area.setAttribute("aria-label", `${p.defect_type} minimum area`);
    inputs.append("threshold ", threshold, " min area ", area);
    cell(tr, inputs);
    const effective = document.createElement("span");
    effective.className = "rule-effective";
    effective.textContent = p.effective ? rule(p.effective) + (p.override ? " (this station)" : " (model)") : "–";
    cell(tr, effective);
    body.append(tr);
  }
}

// Blank fields fall back to the model's value; both blank clears the override.
function changes() {
  const out = {};
  for (const tr of body.querySelectorAll("tr")) {
    const threshold = tr.querySelector(".rule-threshold").value;
    const area = tr.querySelector(".rule-area").value;
    const r = {};
    if (threshold !== "") r.threshold = Number(threshold);
    if (area !== "") r.min_area = Number(area);
    out[tr.dataset.project] = Object.keys(r).length ? r : null;
  }
  return out;
}

document.getElementById("save-rules")?.addEventListener("click", async () => {
  try {
    render(await api(url, { method: "PATCH", body: { thresholds: changes() } }));
    toast("Decision rules saved: the station applies them at its next model reload.");
  } catch (error) {
    toast(error.message, "error");
  }
});

api(url).then(render).catch((error) => toast(error.message, "error"));
