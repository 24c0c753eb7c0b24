// Fused models of a station: list with accuracy beside the projects' own models, train, use.
import { api } from "./api.js";
import { toast } from "./toast.js";

const panel = document.getElementById("fused-panel");
const station = panel.dataset.station;
const fmt = (v) => (v === null || v === undefined ? "–" : v.toFixed(3));

function row(model) {
  const tr = document.createElement("tr");
  const cells = [
    `#${model.id} ${model.name}`,
    model.status + (model.error ? `: ${model.error}` : ""),
    model.status === "succeeded" ? model.runtime : "–",
    (model.comparison || []).map((c) => `${c.defect_type} ${fmt(c.fused.image_f1)} / ${fmt(c.own_model?.image_f1)}`).join(" · ") || "–",
  ];
  for (const text of cells) { const td = document.createElement("td"); td.textContent = text; tr.append(td); }
  const td = document.createElement("td");
  if (model.status === "succeeded") {
    const using = panel.dataset.selected === String(model.id);
    const button = document.createElement("button");
    button.className = "btn btn-quiet";
    button.textContent = using ? "Stop using" : "Use on this station";
    button.addEventListener("click", async () => {
      try {
        await api(`/api/stations/${station}/fused-models/select/`, { method: "POST", body: { fused_model: using ? null : model.id } });
        location.reload();
      } catch (err) { toast(err.message, "error"); }
    });
    td.append(button);
  }
  tr.append(td);
  return tr;
}

async function refresh() {
  const models = await api(`/api/stations/${station}/fused-models/`);
  document.querySelector("#fused-models tbody").replaceChildren(...models.map(row));
  return models;
}

document.getElementById("fused-train").addEventListener("click", async () => {
  try {
    const minutes = Number(document.getElementById("fused-minutes").value) || 10;
    await api(`/api/stations/${station}/fused-models/`, { method: "POST", body: { epochs: 1000, max_minutes: minutes } });
    toast("Training a fused model in the background.");
    await refresh();
  } catch (err) { toast(err.message, "error"); }
});

refresh().catch((err) => toast(err.message, "error"));
setInterval(() => { if (panel.open) refresh().catch(() => {}); }, 5000);
