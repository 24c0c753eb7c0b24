// Zoom and pan of the editor's stage (photo, label canvas, guides) inside its frame: one CSS
// transform, so the label canvas keeps the image's resolution at every zoom.

const MIN_SCALE = 0.02;
const MAX_SCALE = 32;

export class Viewport {
  constructor(frame, stage, width, height, onChange = () => {}) {
    this.frame = frame;
    this.stage = stage;
    this.width = width;
    this.height = height;
    this.onChange = onChange;
    this.scale = 1;
    this.tx = 0;
    this.ty = 0;
    this.held = null;
  }

  #origin() {
    if (this.held) return this.held;
    const rect = this.frame.getBoundingClientRect();
    return [rect.left + this.frame.clientLeft, rect.top + this.frame.clientTop];
  }

  // During a stroke the frame stays where it is: measuring it on every pointer event would
  // force a layout each time something on the page changed since the last one.
  hold() {
    this.held = null;
    this.held = this.#origin();
  }

  release() {
    this.held = null;
  }

  /** The image coordinates (pixels, fractional) under a client-space point. */
  toImage(clientX, clientY) {
    const [left, top] = this.#origin();
    return [(clientX - left - this.tx) / this.scale, (clientY - top - this.ty) / this.scale];
  }

  apply() {
    this.stage.style.transform = `translate(${this.tx}px, ${this.ty}px) scale(${this.scale})`;
    this.stage.classList.toggle("pixelated", this.scale >= 2);
    this.onChange(this);
  }

  fit() {
    const w = this.frame.clientWidth;
    const h = this.frame.clientHeight;
    this.scale = Math.min(w / this.width, h / this.height, 8);
    this.tx = (w - this.width * this.scale) / 2;
    this.ty = (h - this.height * this.scale) / 2;
    this.apply();
  }

  /** Zooms by `factor` keeping the image point under (clientX, clientY) where it is. */
  zoomAt(clientX, clientY, factor) {
    const [left, top] = this.#origin();
    const [ix, iy] = this.toImage(clientX, clientY);
    this.scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, this.scale * factor));
    this.tx = clientX - left - ix * this.scale;
    this.ty = clientY - top - iy * this.scale;
    this.apply();
  }

  zoomCentre(factor) {
    const rect = this.frame.getBoundingClientRect();
    this.zoomAt(rect.left + rect.width / 2, rect.top + rect.height / 2, factor);
  }

  panBy(dx, dy) {
    this.tx += dx;
    this.ty += dy;
    this.apply();
  }
}
