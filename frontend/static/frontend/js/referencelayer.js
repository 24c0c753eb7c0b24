// The reviewer's read-only layer over the image: another annotator's label (the one under
// review when the page is opened with ?review=<label id>), the image's consensus, or where its
// annotators disagree. Drawn like the editable label (overlay.js) in a colour of its own;
// nothing here is ever saved.
import { api } from "./api.js";
import { MaskBuffer } from "./maskbuffer.js";
import { readMask } from "./maskread.js";
import { Overlay } from "./overlay.js";

const CONSENSUS_USER = "consensus";
const KIND_NAMES = { mask: "mask", negative: "no defect", unsure: "unsure" };
const STATES = { in_progress: "in progress" };

// People's labels holding a version. The consensus account's stored label is left out: it is
// refreshed only when training takes a snapshot, so the layer computes the mean afresh.
function people(labels) {
  return labels.filter((l) => l.current_version && l.annotator !== CONSENSUS_USER);
}

// Who counts in the consensus and the disagreement: as on the server, unsure labels take no
// side and a "no defect" label is an all-zero mask.
function voters(labels) {
  return people(labels).filter((l) => l.current_version.kind !== "unsure");
}

export class ReferenceLayer {
  constructor({ container, picker, toggle, colorInput, imageId, me, width, height, onError }) {
    this.container = container;
    this.picker = picker;
    this.toggleButton = toggle;
    this.imageId = imageId;
    this.me = me;
    this.onError = onError;
    this.width = width;
    this.height = height;
    this.colorInput = colorInput;
    // Made when a layer is first shown: until then the page carries no extra canvases (64
    // tiles on a 4096x4096 image) for the browser to composite while the reviewer paints.
    this.buffer = null;
    this.overlay = null;
    this.ticket = 0;
    picker.addEventListener("change", () => this.show(picker.value));
    // The review panel's "Show" buttons name a label that may be newer than this list.
    picker.addEventListener("show-layer", (event) => this.show(event.detail));
    toggle.addEventListener("click", () => this.toggle());
    colorInput.addEventListener("input", () => {
      this.overlay?.setColor(colorInput.value);
      this.overlay?.drawAll();
    });
  }

  /** Lists the layers and shows the label named by `?review=` (a label id), if any. */
  async start(reviewId) {
    const labels = await this.#labels();
    this.#list(labels);
    if (reviewId) await this.show(`label:${reviewId}`, labels);
  }

  async #labels() {
    return api(`/api/images/${this.imageId}/labels/`);
  }

  #list(labels) {
    const options = [new Option("none", "")];
    for (const label of people(labels)) {
      if (label.annotator === this.me) continue; // your own label is the one you edit
      const v = label.current_version;
      const text = `${label.annotator} · v${v.number} · ${KIND_NAMES[v.kind]} · ${STATES[label.state] ?? label.state}`;
      options.push(new Option(text, `label:${label.id}`));
    }
    const count = voters(labels).length;
    if (count >= 2) {
      options.push(new Option(`consensus (mean of ${count})`, "consensus"));
      options.push(new Option("disagreement", "disagreement"));
    }
    const chosen = this.picker.value;
    this.picker.replaceChildren(...options);
    this.picker.value = options.some((o) => o.value === chosen) ? chosen : "";
  }

  /**
   * Shows `value` ("" none, "label:<id>", "consensus" or "disagreement") from the labels'
   * current versions; a newer choice made while this one loads wins.
   */
  async show(value, labels = null) {
    const ticket = ++this.ticket;
    try {
      labels ??= await this.#labels();
      const scratch = new MaskBuffer(this.width, this.height);
      const shown = await this.#read(value, labels, scratch);
      if (ticket !== this.ticket) return;
      this.#list(labels);
      this.picker.value = shown;
      if (!this.overlay) {
        this.buffer = scratch;
        this.overlay = new Overlay(this.container, scratch, this.colorInput.value);
      } else this.buffer.data.set(scratch.data);
      this.overlay.drawAll();
      this.container.dataset.layer = shown;
      if (shown) this.setHidden(false);
    } catch (err) {
      if (ticket === this.ticket) this.onError?.(err);
    }
  }

  /** Fills `into` with the layer `value`; returns the value actually shown. */
  async #read(value, labels, into) {
    if (value.startsWith("label:")) {
      const id = Number(value.slice(6));
      const label = people(labels).find((l) => l.id === id && l.annotator !== this.me);
      if (!label) return "";
      const url = label.current_version.mask_url;
      if (url) await readMask(url, into); // "no defect" and "unsure" have no pixels to show
      return value;
    }
    const counted = voters(labels);
    if (counted.length < 2 || !["consensus", "disagreement"].includes(value)) return "";
    if (value === "disagreement") {
      await readMask(`/api/images/${this.imageId}/disagreement/`, into);
      return value;
    }
    // As annotation/agreement.consensus: the mean of the masks, rounded half up (k of n
    // annotators painting a pixel give it k/n).
    const sum = new Uint32Array(into.data.length);
    const one = new MaskBuffer(into.width, into.height);
    for (const label of counted) {
      const url = label.current_version.mask_url;
      if (!url) continue;
      await readMask(url, one);
      for (let i = 0; i < sum.length; i++) sum[i] += one.data[i];
    }
    const n = counted.length;
    for (let i = 0; i < sum.length; i++) into.data[i] = Math.floor(sum[i] / n + 0.5);
    return value;
  }

  setHidden(hidden) {
    this.container.classList.toggle("hidden", hidden);
    this.toggleButton.setAttribute("aria-pressed", String(hidden));
    this.toggleButton.textContent = hidden ? "Show layer" : "Hide layer";
  }

  toggle() {
    this.setHidden(!this.container.classList.contains("hidden"));
  }
}
