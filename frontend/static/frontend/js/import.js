// Import page: send a zip or image files (upload progress), follow the worker as it imports
// them (processing progress: the project's event stream says when the job moved, and the page
// reads it then), then show the per-item report.
import { api, socketUrl } from "./api.js";
import { toast } from "./toast.js";

const root = document.getElementById("import");
const projectId = root.dataset.project;
const form = document.getElementById("import-form");
const startButton = document.getElementById("import-start");
const statusText = document.getElementById("import-status");
const uploadBar = document.getElementById("import-upload");
const uploadText = document.getElementById("import-upload-text");
const processingBar = document.getElementById("import-processing");
const processingText = document.getElementById("import-processing-text");
// Without events (the stream reconnecting) the page still reads the job this often.
const FALLBACK_MS = 5000;
let following = null;
let wake = null;
let missed = false; // an event came while the page was reading the job

function news(ms) {
  if (missed) { missed = false; return Promise.resolve(); }
  return new Promise((resolve) => {
    wake = () => { wake = null; resolve(); };
    setTimeout(() => wake?.(), ms);
  });
}

function listen() {
  const events = new WebSocket(socketUrl(`/ws/projects/${projectId}/events/`));
  events.onmessage = (message) => {
    const data = JSON.parse(message.data);
    if (data.type !== "event" || !data.kind?.startsWith("import.") || data.payload.import !== following) return;
    if (wake) wake(); else missed = true;
  };
  events.onclose = () => setTimeout(listen, 2000);
}
listen();

function csrf() {
  const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

function megabytes(bytes) {
  return `${(bytes / 2 ** 20).toFixed(1)} MB`;
}

function setBusy(busy, message) {
  startButton.disabled = busy;
  root.dataset.busy = busy ? "1" : "";
  if (message !== undefined) statusText.textContent = message;
}

function setProcessing(job) {
  if (job.status === "queued" || (!job.total && job.status === "running")) {
    processingBar.removeAttribute("value"); // indeterminate until the items are counted
    processingText.textContent = job.status === "queued" ? "waiting for a worker…" : "reading the archive…";
    return;
  }
  processingBar.value = job.status === "succeeded" ? 1 : job.progress;
  processingText.textContent = `${job.done} of ${job.total} items`;
}

function fillList(list, lines) {
  list.replaceChildren(
    ...lines.map((line) => {
      const li = document.createElement("li");
      li.textContent = line;
      return li;
    }),
  );
}

function showReport(report, error) {
  const box = document.getElementById("import-report");
  box.hidden = false;
  for (const key of ["created", "duplicates", "labelled", "negatives"]) {
    document.getElementById(`report-${key}`).textContent = report[key] ?? 0;
  }
  const errors = report.errors || [];
  document.getElementById("report-error-count").textContent = errors.length;
  document.getElementById("report-no-errors").hidden = errors.length > 0;
  fillList(document.getElementById("report-errors"), errors.map((e) => `${e.name}: ${e.reason}`));
  const ignored = report.ignored || [];
  document.getElementById("report-ignored-box").hidden = !ignored.length;
  document.getElementById("report-ignored-count").textContent = ignored.length;
  fillList(document.getElementById("report-ignored"), ignored);
  box.dataset.error = error || "";
}

function updateRow(job) {
  const tbody = document.querySelector("#import-jobs tbody");
  tbody.querySelector(".empty-row")?.remove();
  let row = tbody.querySelector(`tr[data-import="${job.id}"]`);
  if (!row) {
    row = document.createElement("tr");
    row.dataset.import = job.id;
    row.innerHTML = "<td></td><td></td><td></td><td></td><td></td><td>now</td><td></td>";
    row.cells[0].textContent = `#${job.id}`;
    row.cells[1].textContent = job.file_name;
    row.cells[2].textContent = job.created_by || "–";
    tbody.prepend(row);
  }
  row.cells[3].innerHTML = `<span class="badge badge-${job.status}"></span>`;
  row.cells[3].firstChild.textContent = job.status;
  row.cells[4].textContent = `${job.done} / ${job.total}`;
}

async function follow(jobId) {
  following = jobId;
  setBusy(true);
  while (following === jobId) {
    let job;
    try {
      job = await api(`/api/imports/${jobId}/`);
    } catch (err) {
      setBusy(false, `Could not follow import #${jobId}: ${err.message}`);
      return;
    }
    setProcessing(job);
    updateRow(job);
    if (job.status === "succeeded" || job.status === "failed") {
      showReport(job.report || {}, job.error);
      const r = job.report || {};
      const summary = `${r.created ?? 0} imported, ${r.duplicates ?? 0} already there, ${(r.errors || []).length} problems`;
      if (job.status === "succeeded") {
        setBusy(false, `Import #${job.id} finished: ${summary}.`);
        toast(`Import finished: ${summary}`);
      } else {
        setBusy(false, job.error || `Import #${job.id} failed.`);
        toast(job.error || "The import failed", "error");
      }
      root.dataset.finished = String(job.id);
      following = null;
      return;
    }
    statusText.textContent = job.status === "queued" ? `Import #${job.id} is waiting for a worker.` : `Importing (#${job.id})…`;
    await news(FALLBACK_MS);
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const files = [...document.getElementById("import-file").files];
  if (!files.length) { toast("Choose a zip or image files first.", "error"); return; }
  const zips = files.filter((f) => /\.zip$/i.test(f.name));
  if (zips.length && files.length > 1) { toast("Choose one zip, or image files, not both.", "error"); return; }
  const body = new FormData();
  if (zips.length) body.append("archive", zips[0]);
  else for (const f of files) body.append("files", f);
  body.append("masks", form.elements.masks.value);
  body.append("category", form.elements.category.value.trim());

  following = null;
  delete root.dataset.finished;
  document.getElementById("import-report").hidden = true;
  uploadBar.value = 0;
  processingBar.value = 0;
  processingText.textContent = "";
  setBusy(true, "Uploading…");
  const xhr = new XMLHttpRequest();
  // wait=0: the worker imports it, so even a large archive shows its progress item by item.
  xhr.open("POST", `/api/projects/${projectId}/imports/?wait=0`);
  xhr.setRequestHeader("X-CSRFToken", csrf());
  xhr.setRequestHeader("Accept", "application/json");
  xhr.upload.onprogress = (e) => {
    if (!e.lengthComputable) return;
    uploadBar.value = (100 * e.loaded) / e.total;
    uploadText.textContent = `${megabytes(e.loaded)} of ${megabytes(e.total)}`;
  };
  xhr.upload.onload = () => {
    uploadBar.value = 100;
    statusText.textContent = "Uploaded; checking the archive…";
  };
  xhr.onload = () => {
    let data = {};
    try { data = JSON.parse(xhr.responseText || "{}"); } catch { data = { detail: `HTTP ${xhr.status}` }; }
    if (xhr.status === 202) {
      follow(data.id);
    } else if (xhr.status < 300) {
      showReport(data);
      processingBar.value = 1;
      setBusy(false, "Imported.");
    } else {
      if (data.images !== undefined) showReport(data, data.detail);
      setBusy(false, data.detail || `The upload was refused (HTTP ${xhr.status}).`);
      toast(data.detail || `Import failed (${xhr.status})`, "error");
    }
  };
  xhr.onerror = () => { setBusy(false, "The upload failed: network error."); toast("Upload failed: network error", "error"); };
  xhr.send(body);
});

document.querySelector("#import-jobs tbody").addEventListener("click", (event) => {
  const button = event.target.closest(".show-import");
  if (button) follow(Number(button.dataset.import));
});

// Back on the page while an import runs: follow it again.
const active = [...document.querySelectorAll("#import-jobs .badge-queued, #import-jobs .badge-running")];
if (active.length) follow(Number(active[0].closest("tr").dataset.import));
root.dataset.ready = "1";
