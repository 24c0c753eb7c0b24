// Audit figures of one defect type: confusion, diagnosis with the error gaps, prevalence,
// daily trends, champion and challenger, and the disagreement gallery (with its way into
// labeling). Each takes the project box and the API's answer; nothing here fetches except the
// send button.
import { api } from "./api.js";
import { barChart, confusionChart, lineChart } from "./charts.js";
import { toast } from "./toast.js";

export function pct(x) { return x === null || x === undefined ? "–" : `${(100 * x).toFixed(1)} %`; }

function row(body, cells) {
  const tr = document.createElement("tr");
  for (const c of cells) {
    const td = document.createElement("td");
    td.textContent = c;
    tr.append(td);
  }
  body.append(tr);
}

export function renderDiagnosis(box, d) {
  const body = box.querySelector(".diagnosis-table tbody");
  body.replaceChildren();
  const m = d.model;
  const human = d.human;
  row(body, ["Human (inspector vs others)", pct(d.errors.human), `${human.compared} comparisons`]);
  row(body, ["Model, training images", pct(d.errors.training), m ? `v${m.number}, ${m.training_images} images` : "no model"]);
  row(body, ["Model, validation images", pct(d.errors.validation), m ? `${m.validation_images} images` : "no model"]);
  row(body, ["Model on the line (objects)", pct(d.errors.production), `${d.production.objects_decided} objects judged`]);
  row(body, ["Inspectors disagree", pct(human.disagreement), `${human.disagreeing_objects} of ${human.objects_with_several_inspectors} objects`]);
  // The gaps between these bars are the diagnosis: avoidable bias (human → training),
  // variance (training → validation), data mismatch (validation → line).
  const gaps = box.querySelector(".gap-chart");
  barChart(gaps, [
    { label: "human error", value: d.errors.human, className: "human" },
    { label: "model, training images", value: d.errors.training },
    { label: "model, validation images", value: d.errors.validation },
    { label: "model on the line", value: d.errors.production, className: "production" },
  ], { max: 0.05, format: pct });
  gaps.dataset.bars = String(gaps.querySelectorAll("rect").length);
  const verdict = box.querySelector(".diagnosis");
  verdict.className = `verdict-box diagnosis verdict-${d.diagnosis.outcome}`;
  verdict.dataset.outcome = d.diagnosis.outcome;
  verdict.replaceChildren();
  const strong = document.createElement("strong");
  strong.textContent = d.diagnosis.message;
  const advice = document.createElement("p");
  advice.textContent = d.diagnosis.advice;
  verdict.append(strong, advice);
  box.querySelector(".levels").textContent = d.levels;
}

export function renderConfusion(box, counts) {
  const svg = box.querySelector(".confusion-chart");
  confusionChart(svg, counts);
  svg.dataset.objects = String(counts.tp + counts.fp + counts.fn + counts.tn);
}

// The shadow candidates' verdicts beside production's, against the inspectors.
export function renderChallenger(box, c) {
  const out = box.querySelector(".challenger");
  out.replaceChildren();
  const versions = Object.entries(c.versions);
  if (!versions.length) {
    const none = document.createElement("p");
    none.className = "muted";
    none.textContent = "No shadow candidate ran in this range. Set one on the model's page to judge it on the line before promotion.";
    out.append(none);
    return;
  }
  for (const [version, figures] of versions) {
    const table = document.createElement("table");
    table.className = "table challenger-table";
    table.dataset.version = version;
    const head = document.createElement("thead");
    head.innerHTML = "<tr><th></th><th>Production</th><th></th></tr>";
    head.querySelector("th:last-child").textContent = `Candidate v${version}`;
    const body = document.createElement("tbody");
    const [p, k] = [figures.champion, figures.challenger];
    row(body, ["Objects (inspector-judged)", `${figures.objects} (${figures.inspector_judged})`, ""]);
    row(body, ["Agree with each other", pct(figures.agreement), ""]);
    row(body, ["Precision", pct(p.precision), pct(k.precision)]);
    row(body, ["Recall", pct(p.recall), pct(k.recall)]);
    row(body, ["Missed defects", String(p.fn), String(k.fn)]);
    row(body, ["False rejects", String(p.fp), String(k.fp)]);
    table.append(head, body);
    const advice = document.createElement("div");
    const outcome = figures.recommend_promotion === null ? "insufficient_data" : figures.recommend_promotion ? "near_human_level" : "keep";
    advice.className = `verdict-box verdict-${outcome}`;
    advice.textContent = figures.advice;
    out.append(table, advice);
  }
}

// CSV of every figure shown for this defect type, over the same range.
export function renderCsvLinks(box, query) {
  const base = `/api/projects/${box.dataset.project}`;
  const links = {
    "model vs inspectors": `${base}/audit/`,
    diagnosis: `${base}/diagnosis/`,
    prevalence: `${base}/prevalence/`,
    trends: `${base}/audit/trends/`,
    disagreements: `${base}/audit/disagreements/`,
    challenger: `${base}/challenger/`,
  };
  const out = box.querySelector(".csv-links");
  out.replaceChildren("CSV:");
  for (const [name, url] of Object.entries(links)) {
    const params = new URLSearchParams(query);
    params.set("format", "csv");
    const a = document.createElement("a");
    a.href = `${url}?${params}`;
    a.textContent = name;
    a.className = "csv-link";
    out.append(" ", a);
  }
}

export function renderPrevalence(box, p) {
  const body = box.querySelector(".prevalence-table tbody");
  body.replaceChildren();
  const train = p.figures.at_training_set || {};
  const line = p.figures.at_line || {};
  row(body, ["Defect share", pct(p.training_set.prevalence), pct(p.line.prevalence)]);
  row(body, ["Precision", pct(train.precision), pct(line.precision)]);
  row(body, ["Recall", pct(train.recall), pct(line.recall)]);
  row(body, ["False rejects (of all objects)", pct(train.false_reject_rate), pct(line.false_reject_rate)]);
  row(body, ["Escapes (of all objects)", pct(train.escape_rate), pct(line.escape_rate)]);
  box.querySelector(".prevalence-message").textContent = p.message;
}

export function renderTrends(box, t) {
  const svg = box.querySelector(".trend-chart");
  const days = t.days;
  const first = days.length ? Date.parse(days[0].date) : 0;
  const x = (d) => Math.round((Date.parse(d.date) - first) / 86_400_000);
  const series = (key, className) => ({
    className,
    points: days.filter((d) => d[key] !== null).map((d) => [x(d), d[key]]),
  });
  lineChart(
    svg,
    [series("agreement", "agree"), series("defect_ng_rate", "ngrate"), series("inspector_agreement", "humans")],
    { xLabel: days.length ? `days since ${days[0].date}` : "days", yLabel: "share", yRange: [0, 1] },
  );
  svg.dataset.days = String(days.length);
}

function figure(view) {
  if (view.image_url) {
    const img = document.createElement("img");
    img.src = view.image_url;
    img.alt = `view ${view.camera}`;
    img.loading = "lazy";
    return img;
  }
  const gone = document.createElement("span");
  gone.className = "pruned";
  gone.textContent = `${view.camera}: removed by retention`;
  return gone;
}

export function renderGallery(box, g) {
  const list = box.querySelector(".disagreements");
  list.replaceChildren();
  box.querySelector(".gallery-empty").hidden = g.results.length > 0;
  box.querySelector(".gallery-actions").hidden = !(g.results.length && g.can_send);
  for (const item of g.results) {
    const li = document.createElement("li");
    li.dataset.record = item.record;
    const label = document.createElement("label");
    const check = document.createElement("input");
    check.type = "checkbox";
    check.value = item.record;
    check.checked = !item.sent_to_labeling && item.views.some((v) => v.image_url);
    check.hidden = !g.can_send;
    const kind = item.kind === "escape" ? "Escape: model OK, inspectors found the defect" : "False reject: model NG, inspectors found none";
    label.append(check, ` #${item.record} ${kind}`);
    const when = document.createElement("p");
    when.className = "muted";
    when.textContent = `${new Date(item.captured_at).toLocaleString()}${item.lot ? ` · lot ${item.lot}` : ""}${item.sent_to_labeling ? " · sent to labeling" : ""}`;
    li.append(label, when, ...item.views.map(figure));
    if (!item.views.length) li.append("no views stored");
    list.append(li);
  }
}

export async function sendToLabeling(box) {
  const ids = [...box.querySelectorAll(".disagreements input:checked")].map((c) => Number(c.value));
  const out = box.querySelector(".send-result");
  if (!ids.length) {
    out.textContent = "Select the objects to send first.";
    return null;
  }
  try {
    const result = await api(`/api/projects/${box.dataset.project}/audit/send-to-labeling/`, {
      method: "POST", body: { records: ids },
    });
    out.textContent = result.message;
    toast(result.message);
    return result;
  } catch (error) {
    out.textContent = error.message;
    toast(error.message, "error");
    return null;
  }
}
