// Live station view: binary frames (4-byte header length, JSON header, JPEG) per camera.
// Each frame is acknowledged once shown, so the server sends the newest frames instead of
// queueing a backlog when this browser falls behind (latest frame wins).
import { api, socketUrl } from "./api.js";
import { toast } from "./toast.js";
import { VerdictBoard } from "./verdicts.js";

const root = document.getElementById("live");
const stationId = root.dataset.station;
const conn = document.getElementById("conn");
const counter = document.getElementById("frame-count");
const fpsOut = document.getElementById("fps");
const skipped = document.getElementById("skipped");
const cameras = new Map();
for (const fig of root.querySelectorAll(".camera")) {
  cameras.set(Number(fig.dataset.index), {
    fig, img: fig.querySelector("img"), mask: fig.querySelector(".cam-mask"),
    fps: fig.querySelector(".cam-fps"),
    state: fig.querySelector(".cam-state"),
    age: fig.querySelector(".cam-age"), times: [], url: null,
  });
}
const board = new VerdictBoard(cameras);
document.getElementById("show-masks").addEventListener("change", (e) => {
  if (!e.target.checked) for (const cam of cameras.values()) cam.mask.hidden = true;
});
let total = 0;
const arrivals = [];

function rate(times, now) {
  while (times.length && now - times[0] > 2000) times.shift();
  return times.length / 2;
}

// A frame from a camera this page does not show: either the station's cameras were edited
// while it ran (lay the page out again) or it is a last frame of the old set (ignore it).
let checking = false;
async function relayoutIfEdited() {
  if (checking) return;
  checking = true;
  try {
    const station = await api(`/api/stations/${stationId}/`);
    if (station.cameras.map((c) => c.name).join(",") !== root.dataset.cameras) location.reload();
  } catch { /* the next foreign frame asks again */ }
  setTimeout(() => { checking = false; }, 2000);
}

let socket = null;
function ack() {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send('{"ack":1}');
}

function onFrame(buffer) {
  const view = new DataView(buffer);
  const length = view.getUint32(0);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, length)));
  const jpeg = new Blob([new Uint8Array(buffer, 4 + length)], { type: "image/jpeg" });
  const cam = cameras.get(header.index);
  if (cam?.img.dataset.camera !== header.camera) {
    relayoutIfEdited();
    ack();
    return;
  }
  const now = performance.now();
  total += 1;
  arrivals.push(now);
  counter.textContent = String(total);
  cam.fig.classList.toggle("offline", header.status === "offline");
  board.offline(header.camera, header.status === "offline");
  cam.state.textContent = header.status === "offline" ? `offline: ${header.error || "no frames"}` : "";
  if (header.status === "offline") { ack(); return; }
  const url = URL.createObjectURL(jpeg);
  const old = cam.url;
  cam.img.onload = () => { if (old) URL.revokeObjectURL(old); ack(); };
  cam.img.onerror = ack;
  cam.img.src = url;
  cam.url = url;
  cam.img.dataset.seq = header.seq;
  cam.times.push(now);
  cam.age.textContent = Math.max(0, Math.round(Date.now() - header.ts * 1000));
  if (skipped) skipped.textContent = String(header.dropped || 0);
}

setInterval(() => {
  const now = performance.now();
  fpsOut.textContent = rate(arrivals, now).toFixed(1);
  for (const cam of cameras.values()) cam.fps.textContent = rate(cam.times, now).toFixed(1);
}, 500);

let delay = 500;
function connect() {
  const ws = new WebSocket(socketUrl(`/ws/stations/${stationId}/live/?ack=1`));
  socket = ws;
  ws.binaryType = "arraybuffer";
  ws.onopen = () => { delay = 500; conn.textContent = "live"; conn.className = "badge badge-live"; };
  ws.onmessage = (message) => {
    if (message.data instanceof ArrayBuffer) { onFrame(message.data); return; }
    const status = JSON.parse(message.data);
    if (status.type === "verdict") { board.show(status); return; }
    if (status.type === "station") {
      const online = status.status === "online";
      const stopped = status.status === "stopped";
      board.alert("station", !online && !stopped, "Station offline: no frames from its worker");
      conn.textContent = online ? "live" : stopped ? "stopped" : "station offline";
      conn.className = `badge ${online ? "badge-live" : "badge-offline"}`;
      showActive(!stopped);
    }
  };
  ws.onclose = (e) => {
    conn.textContent = e.code >= 4000 ? "not allowed" : "offline";
    conn.className = "badge badge-offline";
    if (e.code < 4000) setTimeout(connect, (delay = Math.min(delay * 2, 10000)));
  };
}
const toggle = document.getElementById("station-toggle");
function showActive(active) {
  if (!toggle) return;
  toggle.dataset.active = active ? "1" : "0";
  toggle.textContent = active ? "Stop station" : "Start station";
}
toggle?.addEventListener("click", async () => {
  const action = toggle.dataset.active === "1" ? "stop" : "start";
  toggle.disabled = true;
  try {
    const state = await api(`/api/stations/${stationId}/${action}/`, { method: "POST" });
    showActive(state.active);
    toast(state.active ? "Station started" : "Station stopped: cameras closed, triggers refused");
  } catch (err) { toast(err.message, "error"); }
  finally { toggle.disabled = false; }
});

connect();
root.dataset.ready = "1";
