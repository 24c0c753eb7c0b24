// Audit page: the review queue with one-click decisions, and per defect type the model
// against the inspectors' consensus, the diagnosis, prevalence, trends and disagreements.
import { api } from "./api.js";
import { toast } from "./toast.js";
import {
  pct, renderChallenger, renderConfusion, renderCsvLinks, renderDiagnosis, renderGallery,
  renderPrevalence, renderTrends, sendToLabeling,
} from "./audit_figures.js";

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

const projectNames = Object.fromEntries(
  [...document.querySelectorAll(".audit-project")].map((box) => [box.dataset.project, box.dataset.name]),
);

// An object checked for several defect types: a choice per type, saved together (types left
// open stay undecided).
function typeChoices(item, row) {
  const wrap = document.createElement("span");
  wrap.className = "decide-types";
  const selects = item.projects.map((project) => {
    const name = projectNames[project] || `defect type ${project}`;
    const select = document.createElement("select");
    select.dataset.project = project;
    select.setAttribute("aria-label", name);
    select.append(new Option(`${name}: …`, ""));
    for (const value of ["present", "absent", "unsure"]) select.append(new Option(`${name}: ${value}`, value));
    wrap.append(select);
    return select;
  });
  wrap.append(button("Save", () => {
    const chosen = selects.filter((s) => s.value).map((s) => [s.dataset.project, s.value]);
    if (!chosen.length) {
      toast("Choose present, absent or unsure for at least one defect type.", "error");
      return;
    }
    decide(item, { decisions: Object.fromEntries(chosen) }, row);
  }));
  return wrap;
}

async function loadQueue() {
  const data = await api(`/api/review-queue/${blind.checked ? "?blind=1" : ""}`);
  body.replaceChildren();
  document.getElementById("queue-empty").hidden = data.results.length > 0;
  for (const item of data.results) {
    const row = document.createElement("tr");
    row.dataset.record = item.id;
    // A double-inspection object stays queued until the project's number of inspectors judged it.
    cell(row, item.double_inspection ? `${item.id} (double: ${item.judgements} of ${item.judgements_needed})` : String(item.id));
    cell(row, new Date(item.captured_at).toLocaleString());
    cell(row, item.serial || "–");
    cell(row, item.verdict ? item.verdict.verdict.toUpperCase() : "hidden");
    const actions = document.createElement("span");
    if (!blind.checked) actions.append(button("Confirm", () => decide(item, { confirm: true }, row)));
    if (item.projects.length === 1) {
      for (const value of ["present", "absent", "unsure"]) {
        actions.append(button(value, () => decide(item, { decisions: { [item.projects[0]]: value } }, row)));
      }
    } else {
      actions.append(typeChoices(item, row));
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
    "Kappa, inspector pairs": kappas(r.inspectors.pairs),
    "Fleiss' kappa, all inspectors": r.inspectors.fleiss_kappa === null ? "–" : r.inspectors.fleiss_kappa.toFixed(2),
    // Blind decisions measure the model; sighted ones may be anchored by its verdict.
    "Agree with the model, blind / sighted": `${pct(r.anchoring.blind.agree_with_model)} / ${pct(r.anchoring.sighted.agree_with_model)}`,
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

// Objects the inspectors split on, for a supervisor to settle (an adjudication).
function renderTies(box, ties) {
  const tbody = box.querySelector(".ties-table tbody");
  tbody.replaceChildren();
  box.querySelector(".ties-empty").hidden = ties.results.length > 0;
  for (const tie of ties.results) {
    const row = document.createElement("tr");
    row.dataset.record = tie.record;
    cell(row, String(tie.record));
    cell(row, new Date(tie.captured_at).toLocaleString());
    cell(row, tie.model ?? "–");
    cell(row, Object.entries(tie.decisions).map(([who, said]) => `${who}: ${said}`).join(", "));
    const actions = document.createElement("span");
    for (const value of ["present", "absent", "unsure"]) {
      actions.append(button(value, () => settle(box, tie.record, value)));
    }
    cell(row, actions);
    tbody.append(row);
  }
}

async function settle(box, record, value) {
  try {
    await api(`/api/records/${record}/decisions/`, {
      method: "POST", body: { decisions: { [box.dataset.project]: value }, adjudicate: true },
    });
    toast(`Object ${record} settled: ${value}.`);
    await loadFigures();
  } catch (error) {
    toast(error.message, "error");
  }
}

// Each pair of inspectors' kappa (over the objects both judged), as "min to max (n pairs)".
function kappas(pairs) {
  const values = pairs.map((p) => p.kappa).filter((k) => k !== null);
  if (!values.length) return "–";
  if (values.length === 1) return values[0].toFixed(2);
  return `${Math.min(...values).toFixed(2)} to ${Math.max(...values).toFixed(2)} (${values.length} pairs)`;
}

async function loadProject(box, query) {
  const base = `/api/projects/${box.dataset.project}`;
  const [report, diagnosis, prevalence, trends, gallery, challenger] = await Promise.all([
    api(`${base}/audit/?${query}`),
    api(`${base}/diagnosis/?${query}`),
    api(`${base}/prevalence/?${query}`),
    api(`${base}/audit/trends/?${query}`),
    api(`${base}/audit/disagreements/?${query}`),
    api(`${base}/challenger/?${query}`),
  ]);
  facts(box, report);
  if (box.dataset.adjudicate) renderTies(box, await api(`${base}/audit/ties/?${query}`));
  renderConfusion(box, report.confusion);
  renderChallenger(box, challenger);
  renderCsvLinks(box, query);
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
