// Audit page: the review queue with one-click decisions, and per defect type the model
// against the inspectors' consensus.
import { api } from "./api.js";
import { toast } from "./toast.js";

const root = document.getElementById("audit");
const body = document.querySelector("#queue tbody");
const blind = document.getElementById("blind");

function cell(row, content) {
  const td = document.createElement("td");
  if (content instanceof Node) td.append(content); else td.textContent = content;
  row.append(td);
  return td;
}

function button(label, onClick) {
  const b = document.createElement("button");
  b.className = "btn btn-quiet";
  b.textContent = label;
  b.addEventListener("click", onClick);
  return b;
}

async function decide(item, payload, row) {
  try {
    await api(`/api/records/${item.id}/decisions/`, { method: "POST", body: { ...payload, blind: blind.checked } });
    row.remove();
    toast(`Object ${item.id} judged.`);
    await loadFigures();
  } catch (error) {
    toast(error.message, "error");
  }
}

async function loadQueue() {
  const data = await api(`/api/review-queue/${blind.checked ? "?blind=1" : ""}`);
  body.replaceChildren();
  document.getElementById("queue-empty").hidden = data.results.length > 0;
  for (const item of data.results) {
    const row = document.createElement("tr");
    row.dataset.record = item.id;
    cell(row, String(item.id));
    cell(row, new Date(item.captured_at).toLocaleString());
    cell(row, item.serial || "–");
    cell(row, item.verdict ? item.verdict.verdict.toUpperCase() : "hidden");
    const actions = document.createElement("span");
    if (!blind.checked) actions.append(button("Confirm", () => decide(item, { confirm: true }, row)));
    for (const value of ["present", "absent", "unsure"]) {
      const decisions = Object.fromEntries(item.projects.map((p) => [p, value]));
      actions.append(button(value, () => decide(item, { decisions }, row)));
    }
    cell(row, actions);
    body.append(row);
  }
}

function pct(x) { return x === null || x === undefined ? "–" : `${(100 * x).toFixed(1)} %`; }

async function loadFigures() {
  for (const box of document.querySelectorAll(".audit-project")) {
    const r = await api(`/api/projects/${box.dataset.project}/audit/`);
    const m = r.model_vs_inspectors;
    const facts = {
      "Objects judged": r.objects_judged,
      "Model precision": pct(m.precision),
      "Model recall": pct(m.recall),
      "Kappa, model vs inspectors": m.kappa === null ? "–" : m.kappa.toFixed(2),
      "Inspectors agree": r.inspectors.pairs.length
        ? pct(r.inspectors.pairs.reduce((s, p) => s + p.agreement, 0) / r.inspectors.pairs.length)
        : "–",
      "Unsure": pct(r.unsure_share),
      "Defects on the line": pct(r.line_prevalence),
    };
    const list = box.querySelector("dl");
    list.replaceChildren();
    for (const [k, v] of Object.entries(facts)) {
      const dt = document.createElement("dt"); dt.textContent = k;
      const dd = document.createElement("dd"); dd.textContent = String(v);
      list.append(dt, dd);
    }
  }
}

blind.addEventListener("change", () => loadQueue().catch((e) => toast(e.message, "error")));
Promise.all([loadQueue(), loadFigures()])
  .catch((error) => toast(error.message, "error"))
  .finally(() => { root.dataset.ready = "1"; });
