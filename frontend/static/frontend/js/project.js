// Project overview: upload with progress, start training, promote, inspect, live job events.
import { api, socketUrl } from "./api.js";
import { toast } from "./toast.js";
import { openNext } from "./queue.js";

const root = document.getElementById("project");
const projectId = root.dataset.project;

function csrf() {
  const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

const uploadForm = document.getElementById("upload-form");
uploadForm?.addEventListener("submit", (event) => {
  event.preventDefault();
  const files = uploadForm.querySelector("input[type=file]").files;
  if (!files.length) { toast("Choose image files first.", "error"); return; }
  const form = new FormData();
  for (const f of files) form.append("files", f);
  const bar = document.getElementById("upload-progress");
  const errors = document.getElementById("upload-errors");
  errors.replaceChildren();
  bar.hidden = false;
  const xhr = new XMLHttpRequest();
  xhr.open("POST", `/api/projects/${projectId}/images/`);
  xhr.setRequestHeader("X-CSRFToken", csrf());
  xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = (100 * e.loaded) / e.total; };
  xhr.onload = () => {
    const body = JSON.parse(xhr.responseText || "{}");
    for (const e of body.errors || []) {
      const li = document.createElement("li");
      li.textContent = `${e.name}: ${e.reason}`;
      errors.append(li);
    }
    if (xhr.status < 300) {
      toast(`${(body.created || []).length} imported, ${(body.duplicates || []).length} duplicates`);
      setTimeout(() => location.reload(), 600);
    } else toast(body.detail || `Upload failed (${xhr.status})`, "error");
  };
  xhr.onerror = () => toast("Upload failed: network error", "error");
  xhr.send(form);
});

const trainForm = document.getElementById("train-form");
trainForm?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = new FormData(trainForm);
  const body = {};
  const numbers = ["epochs", "batch_size", "lr", "patience", "val_fraction", "seed", "max_minutes", "snapshot_from"];
  for (const [key, value] of data.entries()) {
    if (value === "") continue; // left empty: the server's default
    body[key] = numbers.includes(key) ? Number(value) : value;
  }
  if (body.input_height && body.input_width) body.input_size = [Number(body.input_height), Number(body.input_width)];
  delete body.input_height;
  delete body.input_width;
  try {
    const job = await api(`/api/projects/${projectId}/jobs/`, { method: "POST", body });
    toast(`Training job #${job.id} queued`);
    upsertJob({ job: job.id, status: job.status, progress: 0 });
  } catch (err) { toast(err.message, "error"); }
});

document.getElementById("use-suggested")?.addEventListener("click", (event) => {
  trainForm.elements.input_height.value = event.target.dataset.height;
  trainForm.elements.input_width.value = event.target.dataset.width;
});

for (const button of document.querySelectorAll(".promote")) {
  button.addEventListener("click", async () => {
    try {
      await api(`/api/models/${button.dataset.model}/promote/`, { method: "POST" });
      location.reload();
    } catch (err) { toast(err.message, "error"); }
  });
}

// Champion and challenger: shadow a candidate on the live line, or replay it over stored captures.
for (const button of document.querySelectorAll(".shadow")) {
  button.addEventListener("click", async () => {
    try {
      await api(`/api/models/${button.dataset.model}/shadow/`, { method: "POST", body: { shadow: button.dataset.shadow !== "1" } });
      location.reload();
    } catch (err) { toast(err.message, "error"); }
  });
}

function showReplay(run) {
  const out = document.getElementById("challenger");
  const r = run.report;
  if (run.status === "succeeded") {
    const agreement = r.agreement === null ? "–" : `${(100 * r.agreement).toFixed(1)}%`;
    out.textContent = `Replay of model ${run.model_version}: ${r.objects} objects, agreement with production ${agreement}, ` +
      `${r.candidate_only_ng} NG only by the candidate, ${r.production_only_ng} only by production. ${r.advice}.`;
  } else if (run.status === "failed") out.textContent = `Replay failed: ${run.error}`;
  else out.textContent = `Replay ${run.status}…`;
  return run.status === "succeeded" || run.status === "failed";
}

for (const button of document.querySelectorAll(".replay")) {
  button.addEventListener("click", async () => {
    try {
      let run = await api(`/api/models/${button.dataset.model}/replays/`, { method: "POST", body: { limit: 500 } });
      while (!showReplay(run)) {
        await new Promise((resolve) => setTimeout(resolve, 1500));
        run = await api(`/api/replays/${run.id}/`);
      }
    } catch (err) { toast(err.message, "error"); }
  });
}

const compareLink = document.getElementById("compare-link");
for (const box of document.querySelectorAll(".compare-pick")) {
  box.addEventListener("change", () => {
    const picked = [...document.querySelectorAll(".compare-pick:checked")].map((b) => b.value);
    const ready = picked.length === 2;
    compareLink.setAttribute("aria-disabled", String(!ready));
    compareLink.href = ready ? `/projects/${projectId}/compare/?a=${picked[0]}&b=${picked[1]}` : "#";
  });
}
document.getElementById("rollback")?.addEventListener("click", async () => {
  try {
    const version = await api(`/api/projects/${projectId}/models/rollback/`, { method: "POST" });
    toast(`v${version.number} is in production again`);
    setTimeout(() => location.reload(), 600);
  } catch (err) { toast(err.message, "error"); }
});

const inspectForm = document.getElementById("inspect-form");
inspectForm?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(inspectForm);
  form.append("project", projectId);
  const out = document.getElementById("inspect-result");
  try {
    const verdict = await api("/api/inspect/", { method: "POST", form });
    out.textContent = JSON.stringify(verdict, null, 2);
    out.hidden = false;
    toast(`Verdict: ${verdict.verdict.toUpperCase()}`);
  } catch (err) { toast(err.message, "error"); }
});

function upsertJob(event) {
  const tbody = document.querySelector("#jobs tbody");
  tbody.querySelector(".empty-row")?.remove();
  let row = tbody.querySelector(`tr[data-job="${event.job}"]`);
  if (!row) {
    row = document.createElement("tr");
    row.dataset.job = event.job;
    row.innerHTML = `<td><a href="/jobs/${event.job}/">#${event.job}</a></td><td class="job-status"></td><td><progress max="1"></progress></td><td>now</td>`;
    tbody.prepend(row);
  }
  row.querySelector(".job-status").innerHTML = `<span class="badge badge-${event.status}">${event.status}</span>`;
  row.querySelector("progress").value = event.progress ?? 0;
}

// Live job events; reconnects with back-off and replays what it missed.
let lastEvent = 0;
let delay = 500;
function connect() {
  const ws = new WebSocket(socketUrl(`/ws/projects/${projectId}/events/`));
  ws.onopen = () => { delay = 500; if (lastEvent) ws.send(JSON.stringify({ since: lastEvent })); };
  ws.onmessage = (message) => {
    const data = JSON.parse(message.data);
    if (data.type !== "event") return;
    lastEvent = Math.max(lastEvent, data.id);
    if (data.kind.startsWith("job.")) {
      upsertJob(data.payload);
      if (data.kind === "job.updated" && data.payload.status === "succeeded") {
        toast(`Job #${data.payload.job} finished: a new model version is ready`);
      }
    }
  };
  ws.onclose = (e) => { if (e.code < 4000) setTimeout(connect, (delay = Math.min(delay * 2, 10000))); };
}
connect();
root.dataset.ready = "1";

// Labeling queue: claim the next image (the queue respects the project's overlap), review next.
const labeling = document.getElementById("labeling");
async function refreshQueue() {
  const q = await api(`/api/projects/${projectId}/queue/`);
  const s = q.states;
  const parts = [`${q.open} open to you`, `${s.submitted} submitted`, `${s.accepted} accepted`];
  if (q.rejected.length) parts.unshift(`${q.rejected.length} sent back to you`);
  document.getElementById("queue-summary").textContent = parts.join(" · ");
  const badge = document.getElementById("to-review");
  if (badge) badge.textContent = q.to_review;
  return q;
}
if (labeling) {
  refreshQueue().catch((err) => toast(err.message, "error"));
  document.getElementById("label-next").addEventListener("click", () => openNext(projectId));
  document.getElementById("review-next")?.addEventListener("click", async () => {
    const waiting = await api(`/api/projects/${projectId}/review-queue/`);
    if (!waiting.length) { toast("No label waits for review."); return; }
    location.href = `/images/${waiting[0].image}/label/?review=${waiting[0].id}`;
  });
  document.getElementById("propose-labels")?.addEventListener("click", async () => {
    try {
      await api(`/api/projects/${projectId}/prelabels/`, { method: "POST" });
      toast("The model is proposing masks for unlabelled images.");
    } catch (err) { toast(err.message, "error"); }
  });
}
