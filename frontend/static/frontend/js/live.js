// Live station view: binary frames (4-byte header length, JSON header, JPEG) per camera.
// Each frame is acknowledged once shown, so the server sends the newest frames instead of
// queueing a backlog when this browser falls behind (latest frame wins).
import { socketUrl } from "./api.js";
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
  const now = performance.now();
  total += 1;
  arrivals.push(now);
  counter.textContent = String(total);
  if (!cam) { ack(); return; }
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
      board.alert("station", !online, "Station offline: no frames from its worker");
      conn.textContent = online ? "live" : "station offline";
      conn.className = `badge ${online ? "badge-live" : "badge-offline"}`;
    }
  };
  ws.onclose = (e) => {
    conn.textContent = e.code >= 4000 ? "not allowed" : "offline";
    conn.className = "badge badge-offline";
    if (e.code < 4000) setTimeout(connect, (delay = Math.min(delay * 2, 10000)));
  };
}
connect();
root.dataset.ready = "1";
