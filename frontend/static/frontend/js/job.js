// Job page: loss and metric curves and the PR curve, updated live from the project's event stream.
import { api, socketUrl } from "./api.js";
import { lineChart } from "./charts.js";
import { toast } from "./toast.js";

const root = document.getElementById("job");
const jobId = Number(root.dataset.job);
const projectId = root.dataset.project;
let history = JSON.parse(document.getElementById("history").textContent || "[]");

function drawCurves() {
  lineChart(document.getElementById("loss-chart"), [
    { points: history.map((h) => [h.epoch + 1, h.train_loss]), className: "train" },
    { points: history.map((h) => [h.epoch + 1, h.val_loss ?? NaN]), className: "val" },
  ], { xLabel: "epoch", yLabel: "loss" });
  // Older jobs recorded losses only: their metric chart stays empty.
  lineChart(document.getElementById("metric-chart"), [
    { points: history.map((h) => [h.epoch + 1, h.val_iou ?? NaN]), className: "train" },
    { points: history.map((h) => [h.epoch + 1, h.val_f1 ?? NaN]), className: "val" },
  ], { xLabel: "epoch", yLabel: "validation", yRange: [0, 1] });
}
drawCurves();

const pr = document.getElementById("pr-curve");
if (pr) {
  const points = JSON.parse(pr.textContent || "[]").map((p) => [p.recall, p.precision]);
  lineChart(document.getElementById("pr-chart"), [{ points, className: "train" }],
    { xLabel: "recall", yLabel: "precision", xRange: [0, 1], yRange: [0, 1] });
}

document.getElementById("cancel")?.addEventListener("click", async () => {
  try { await api(`/api/jobs/${jobId}/cancel/`, { method: "POST" }); toast("Cancelling…"); }
  catch (err) { toast(err.message, "error"); }
});

const ws = new WebSocket(socketUrl(`/ws/projects/${projectId}/events/`));
ws.onmessage = (message) => {
  const data = JSON.parse(message.data);
  if (data.type !== "event" || data.payload.job !== jobId) return;
  const p = data.payload;
  // The stream replays recent events: one older than what the page shows changes nothing.
  const final = ["succeeded", "failed", "cancelled"];
  const bar = document.getElementById("job-progress");
  if (final.includes(root.dataset.status) || (p.progress ?? 0) < bar.value) return;
  bar.value = p.progress ?? 0;
  document.getElementById("job-status").innerHTML = `<span class="badge badge-${p.status}">${p.status}</span>`;
  if (p.history?.length) { history = p.history; drawCurves(); }
  // Reload once to show the final figures.
  if (data.kind === "job.updated" && final.includes(p.status)) {
    root.dataset.status = p.status;
    setTimeout(() => location.reload(), 800);
  }
};
root.dataset.ready = "1";
