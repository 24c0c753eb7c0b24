// Live verdicts on the station page: ticker, counts and rates, NG-rate alert, mask overlays.
const TICKER = 12;
const $ = (id) => document.getElementById(id);

export class VerdictBoard {
  constructor(cameras) {
    this.cameras = cameras;  // Map index -> {fig, img, mask canvas}
    this.byName = new Map([...cameras.values()].map((c) => [c.img.dataset.camera, c]));
    this.recent = [];        // verdicts of the last N objects, for the NG-rate alert
    this.times = [];
    this.objects = 0;
  }

  show(message) {
    if (message.judging !== "on") {
      $("judging").textContent = message.judging === "off" ? `Not judging: ${message.reason}` : `Judging failed: ${message.reason}`;
      return;
    }
    $("judging").textContent = message.unjudged?.length ? `Not judged: ${message.unjudged.join("; ")}` : "";
    const v = message.verdict;
    this.objects += 1;
    $("objects").textContent = String(this.objects);
    for (const [key, n] of Object.entries(message.counts)) { const out = $(`count-${key}`); if (out) out.textContent = String(n); }
    $("judge-ms").textContent = Math.round(v.latency_ms);
    this.times.push(performance.now());
    this.tick(v);
    this.rates(message, v.verdict);
    this.masks(v);
    this.quality(v);
    $("verdicts").dataset.count = String(this.objects);
  }

  tick(v) {
    const li = document.createElement("li");
    li.className = `badge badge-${v.verdict}`;
    const names = v.defects.map((d) => d.defect_type).join(", ");
    li.textContent = `#${v.id} ${v.verdict.toUpperCase().replace("_", " ")}${names ? `: ${names}` : ""}`;
    li.title = new Date(v.captured_at).toLocaleTimeString();
    const ticker = $("ticker");
    ticker.prepend(li);
    while (ticker.children.length > TICKER) ticker.lastChild.remove();
  }

  rates(message, verdict) {
    const { window, factor } = message.alert;
    this.recent.push(verdict === "ng");
    while (this.recent.length > window) this.recent.shift();
    const c = message.counts;
    const total = c.ok + c.ng + c.not_inspectable;
    const day = total ? c.ng / total : 0;
    const recent = this.recent.filter(Boolean).length / this.recent.length;
    $("ng-rate").textContent = `${(100 * day).toFixed(1)}%`;
    $("ng-recent").textContent = `${(100 * recent).toFixed(1)}%`;
    $("ng-window").textContent = window; // N set through the API reaches an open page too
    // Only once the window is full: three NG in the first five objects is not a spike.
    const spiking = this.recent.length >= window && day > 0 && recent > factor * day;
    this.alert("ng-spike", spiking, `NG rate spike: ${(100 * recent).toFixed(0)}% over the last ${window} objects, ${factor}× the day's ${(100 * day).toFixed(1)}%`);
    const now = performance.now();
    while (this.times.length && now - this.times[0] > 5000) this.times.shift();
    $("throughput").textContent = (this.times.length / 5).toFixed(1);
  }

  alert(key, on, text) {
    const box = $("alerts");
    let item = box.querySelector(`[data-alert="${key}"]`);
    if (!on) { item?.remove(); return; }
    if (!item) { item = document.createElement("p"); item.className = "alert"; item.dataset.alert = key; box.append(item); }
    item.textContent = text;
  }

  async masks(v) {
    const show = $("show-masks").checked;
    const wanted = new Map();
    for (const d of v.defects) for (const view of d.views) if (view.mask_url) {
      (wanted.get(view.camera) || wanted.set(view.camera, []).get(view.camera)).push(view.mask_url);
    }
    for (const [name, cam] of this.byName) {
      const canvas = cam.mask;
      const urls = show ? wanted.get(name) || [] : [];
      if (!urls.length) { canvas.hidden = true; continue; }
      const bitmaps = await Promise.all(urls.map((u) => fetch(u).then((r) => r.blob()).then(createImageBitmap)));
      canvas.width = bitmaps[0].width; canvas.height = bitmaps[0].height;
      const ctx = canvas.getContext("2d", { willReadFrequently: true });
      ctx.globalCompositeOperation = "lighten";  // the union of every defect type's mask
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      for (const b of bitmaps) ctx.drawImage(b, 0, 0);
      // Stored masks are opaque grey (255 = defect): grey becomes the alpha of a red tint.
      const px = ctx.getImageData(0, 0, canvas.width, canvas.height);
      for (let i = 0; i < px.data.length; i += 4) {
        px.data[i + 3] = px.data[i] * 0.6;
        px.data[i] = 228; px.data[i + 1] = 87; px.data[i + 2] = 46;
      }
      ctx.putImageData(px, 0, 0);
      canvas.hidden = false;
    }
  }

  quality(v) {
    for (const [name, cam] of this.byName) {
      const q = v.quality?.[name];
      const out = cam.fig.querySelector(".cam-quality");
      if (!q || !out) continue;
      const issues = v.quality_issues?.[name];
      out.textContent = `sharpness ${Math.round(q.sharpness)} · brightness ${Math.round(q.brightness)} · clipped ${(100 * q.clipped).toFixed(1)}%`;
      out.classList.toggle("badge-not_inspectable", Boolean(issues?.length));
      if (issues?.length) out.title = issues.join("; ");
    }
  }

  offline(name, isOffline) {
    this.alert(`cam-${name}`, isOffline, `Camera ${name} is offline`);
  }
}
