// Audit page: the review queue with one-click decisions, and per defect type the model
// against the inspectors' consensus, the diagnosis, prevalence, trends and disagreements.
import { api } from "./api.js";
import { toast } from "./toast.js";
import { pct, renderDiagnosis, renderGallery, renderPrevalence, renderTrends, sendToLabeling } from "./audit_figures.js";

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

const filter = document.getElementById("audit-filter");

function scope() {
  const params = new URLSearchParams();
  for (const [k, v] of new FormData(filter)) if (v) params.set(k, v);
  return params;
}

function reportLinks() {
  for (const by of ["shift", "lot"]) {
    const params = scope();
    params.set("by", by);
    document.getElementById(`report-${by}`).href = `/audit/report/?${params}`;
  }
}

async function loadStations() {
  const data = await api("/api/stations/");
  const select = filter.elements.station;
  for (const s of data.results) select.append(new Option(s.name, s.id));
}

function facts(box, r) {
  const m = r.model_vs_inspectors;
  const a = r.ambiguity;
  const shown = {
    "Objects judged": r.objects_judged,
    "Model precision": pct(m.precision),
    "Model recall": pct(m.recall),
    "Kappa, model vs inspectors": m.kappa === null ? "–" : m.kappa.toFixed(2),
    "Inspectors agree": r.inspectors.pairs.length
      ? pct(r.inspectors.pairs.reduce((s, p) => s + p.agreement, 0) / r.inspectors.pairs.length)
      : "–",
    "Unsure decisions": pct(a.unsure_decision_share),
    "Unsure objects": pct(r.unsure_share),
    "Recall, unsure as defect / as none": `${pct(a.unsure_as_present.recall)} / ${pct(a.unsure_as_absent.recall)}`,
    "Defects among judged objects": pct(r.line_prevalence),
  };
  const list = box.querySelector("dl");
  list.replaceChildren();
  for (const [k, v] of Object.entries(shown)) {
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = String(v);
    list.append(dt, dd);
  }
}

async function loadProject(box, query) {
  const base = `/api/projects/${box.dataset.project}`;
  const [report, diagnosis, prevalence, trends, gallery] = await Promise.all([
    api(`${base}/audit/?${query}`),
    api(`${base}/diagnosis/?${query}`),
    api(`${base}/prevalence/?${query}`),
    api(`${base}/audit/trends/?${query}`),
    api(`${base}/audit/disagreements/?${query}`),
  ]);
  facts(box, report);
  renderDiagnosis(box, diagnosis);
  renderPrevalence(box, prevalence);
  renderTrends(box, trends);
  renderGallery(box, gallery);
  box.dataset.loaded = "1";
}

async function loadFigures() {
  const query = scope().toString();
  const error = document.getElementById("filter-error");
  error.hidden = true;
  reportLinks();
  try {
    await Promise.all([...document.querySelectorAll(".audit-project")].map((box) => loadProject(box, query)));
  } catch (e) {
    error.textContent = e.message;
    error.hidden = false;
  }
}

filter.addEventListener("submit", (event) => {
  event.preventDefault();
  loadFigures();
});
for (const box of document.querySelectorAll(".audit-project")) {
  box.querySelector(".send-to-labeling").addEventListener("click", async () => {
    if (await sendToLabeling(box)) await loadFigures();
  });
}
blind.addEventListener("change", () => loadQueue().catch((e) => toast(e.message, "error")));
Promise.all([loadQueue(), loadStations().then(loadFigures)])
  .catch((error) => toast(error.message, "error"))
  .finally(() => { root.dataset.ready = "1"; });
