// The label buffer behind the mask editor and the operations that paint it. No DOM here: the
// editor redraws and saves from what these return. A label is one byte per image pixel
// (0 = no defect, 255 = defect, between = probability); every tool SETS values, never blends,
// so two passes of a 0.5 brush still store 128. Rects are {x0, y0, x1, y1}, ends exclusive.

export function emptyRect() {
  return { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity };
}

export function isEmpty(rect) {
  return rect.x1 <= rect.x0 || rect.y1 <= rect.y0;
}

/** Grows `into` to cover `rect`; returns `into`. */
export function grow(into, rect) {
  if (isEmpty(rect)) return into;
  into.x0 = Math.min(into.x0, rect.x0);
  into.y0 = Math.min(into.y0, rect.y0);
  into.x1 = Math.max(into.x1, rect.x1);
  into.y1 = Math.max(into.y1, rect.y1);
  return into;
}

export class MaskBuffer {
  constructor(width, height, data = new Uint8Array(width * height)) {
    this.width = width;
    this.height = height;
    this.data = data;
  }

  /** A disc of radius `r` (image pixels) around (cx, cy): every pixel whose centre is inside. */
  stamp(cx, cy, r, value, rect = emptyRect()) {
    const { width: w, height: h, data } = this;
    const ya = Math.max(0, Math.ceil(cy - r - 0.5));
    const yb = Math.min(h - 1, Math.floor(cy + r - 0.5));
    for (let y = ya; y <= yb; y++) {
      const dy = y + 0.5 - cy;
      const half = Math.sqrt(Math.max(0, r * r - dy * dy));
      const xa = Math.max(0, Math.ceil(cx - half - 0.5));
      const xb = Math.min(w - 1, Math.floor(cx + half - 0.5));
      if (xa > xb) continue;
      data.fill(value, y * w + xa, y * w + xb + 1);
      grow(rect, { x0: xa, y0: y, x1: xb + 1, y1: y + 1 });
    }
    // A 1 px brush can fall between pixel centres; it must still paint the pixel it is on.
    const px = Math.floor(cx);
    const py = Math.floor(cy);
    if (px >= 0 && py >= 0 && px < w && py < h) {
      data[py * w + px] = value;
      grow(rect, { x0: px, y0: py, x1: px + 1, y1: py + 1 });
    }
    return rect;
  }

  /** Stamps from a to b (a itself excluded: the previous call painted it), spaced at most r/2. */
  segment(ax, ay, bx, by, r, value, rect = emptyRect()) {
    const step = Math.max(0.25, r / 2);
    const steps = Math.max(1, Math.ceil(Math.hypot(bx - ax, by - ay) / step));
    for (let i = 1; i <= steps; i++) {
      const t = i / steps;
      this.stamp(ax + (bx - ax) * t, ay + (by - ay) * t, r, value, rect);
    }
    return rect;
  }

  /**
   * Fills the inside of a closed outline ([[x, y], ...]) by the nonzero rule, so a lasso that
   * crosses itself fills its loops too. A pixel is inside when its centre is.
   */
  fillPolygon(points, value) {
    const rect = emptyRect();
    if (points.length < 3) return rect;
    const { width: w, height: h, data } = this;
    let top = Infinity;
    let bottom = -Infinity;
    for (const [, y] of points) {
      top = Math.min(top, y);
      bottom = Math.max(bottom, y);
    }
    const ya = Math.max(0, Math.ceil(top - 0.5));
    const yb = Math.min(h - 1, Math.floor(bottom - 0.5));
    // Edges sorted by their top, so each scanline only looks at the ones that can cross it.
    const edges = [];
    for (let i = 0; i < points.length; i++) {
      const [px, py] = points[i];
      const [qx, qy] = points[(i + 1) % points.length];
      if (py === qy) continue;
      const dir = qy > py ? 1 : -1;
      const [x0, y0, x1, y1] = dir > 0 ? [px, py, qx, qy] : [qx, qy, px, py];
      edges.push({ x0, y0, y1, slope: (x1 - x0) / (y1 - y0), dir });
    }
    edges.sort((a, b) => a.y0 - b.y0);
    let next = 0;
    let active = [];
    const crossings = [];
    for (let y = ya; y <= yb; y++) {
      const yc = y + 0.5;
      // Half-open in y (top <= yc < bottom), so a vertex on the scanline counts once.
      while (next < edges.length && edges[next].y0 <= yc) active.push(edges[next++]);
      active = active.filter((e) => e.y1 > yc);
      crossings.length = 0;
      for (const e of active) crossings.push({ x: e.x0 + (yc - e.y0) * e.slope, dir: e.dir });
      crossings.sort((a, b) => a.x - b.x);
      let winding = 0;
      let start = 0;
      for (const { x, dir } of crossings) {
        const before = winding;
        winding += dir;
        if (before === 0 && winding !== 0) start = x;
        else if (before !== 0 && winding === 0) {
          const xa = Math.max(0, Math.ceil(start - 0.5));
          const xb = Math.min(w, Math.ceil(x - 0.5));
          if (xa < xb) {
            data.fill(value, y * w + xa, y * w + xb);
            grow(rect, { x0: xa, y0: y, x1: xb, y1: y + 1 });
          }
        }
      }
    }
    return rect;
  }

  /** Sets the 4-connected region of equal value under (x, y): a scanline fill, span by span. */
  floodFill(x, y, value) {
    const rect = emptyRect();
    const { width: w, height: h, data } = this;
    x = Math.floor(x);
    y = Math.floor(y);
    if (x < 0 || y < 0 || x >= w || y >= h) return rect;
    const target = data[y * w + x];
    if (target === value) return rect;
    const stack = [x, y];
    while (stack.length) {
      const sy = stack.pop();
      const sx = stack.pop();
      const row = sy * w;
      if (data[row + sx] !== target) continue;
      let l = sx;
      while (l > 0 && data[row + l - 1] === target) l--;
      let r = sx;
      while (r < w - 1 && data[row + r + 1] === target) r++;
      data.fill(value, row + l, row + r + 1);
      grow(rect, { x0: l, y0: sy, x1: r + 1, y1: sy + 1 });
      for (const ny of [sy - 1, sy + 1]) {
        if (ny < 0 || ny >= h) continue;
        const nrow = ny * w;
        let inRun = false;
        for (let nx = l; nx <= r; nx++) {
          const match = data[nrow + nx] === target;
          if (match && !inRun) stack.push(nx, ny);
          inRun = match;
        }
      }
    }
    return rect;
  }

  clear() {
    const rect = { x0: 0, y0: 0, x1: this.width, y1: this.height };
    this.data.fill(0);
    return rect;
  }

  /**
   * Merges another label of the same image into this one: each pixel takes the larger value.
   * A pixel either person painted stays painted (at the higher probability when both did), so
   * a merge never loses a defect someone marked; what it cannot keep is an erasure, which only
   * costs a stroke of the eraser to redo, whereas a lost defect would go unnoticed. Returns
   * the rect of the pixels that changed.
   */
  maxWith(other) {
    const rect = emptyRect();
    const { width: w, height: h, data } = this;
    for (let y = 0; y < h; y++) {
      let first = -1;
      let last = -1;
      for (let i = y * w, end = i + w; i < end; i++) {
        if (other[i] <= data[i]) continue;
        data[i] = other[i];
        if (first < 0) first = i;
        last = i;
      }
      if (first >= 0) grow(rect, { x0: first - y * w, y0: y, x1: last - y * w + 1, y1: y + 1 });
    }
    return rect;
  }

  /** Takes every pixel from `data` (same size); returns the whole buffer as changed. */
  replace(data) {
    this.data.set(data);
    return { x0: 0, y0: 0, x1: this.width, y1: this.height };
  }
}

function copyRect(src, width, rect) {
  const w = rect.x1 - rect.x0;
  const out = new Uint8Array(w * (rect.y1 - rect.y0));
  for (let y = rect.y0; y < rect.y1; y++) {
    const at = y * width + rect.x0;
    out.set(src.subarray(at, at + w), (y - rect.y0) * w);
  }
  return out;
}

function pasteRect(dst, width, rect, patch) {
  const w = rect.x1 - rect.x0;
  for (let y = rect.y0; y < rect.y1; y++) {
    dst.set(patch.subarray((y - rect.y0) * w, (y - rect.y0 + 1) * w), y * width + rect.x0);
  }
}

/**
 * Undo/redo as patches of what changed, tile by tile (a 4096x4096 label is 16 MB: fifty full
 * copies would not fit a tab, and neither would the bounding box of fifty diagonal strokes).
 * A shadow copy holds the label as of the last commit, so an operation needs no "before"
 * snapshot of its own: its patch is cut from the shadow when it ends, over the tiles it
 * touched, and the shadow then catches up there.
 */
export class History {
  constructor(buffer, { steps = 100, maxBytes = 256 * 1024 * 1024, tile = 64 } = {}) {
    this.buffer = buffer;
    this.steps = steps;
    this.maxBytes = maxBytes;
    this.tile = tile;
    this.cols = Math.ceil(buffer.width / tile);
    this.rows = Math.ceil(buffer.height / tile);
    this.reset();
  }

  reset() {
    this.shadow = this.buffer.data.slice();
    this.touched = new Uint8Array(this.cols * this.rows);
    this.undoStack = [];
    this.redoStack = [];
    this.bytes = 0;
  }

  /** Notes that an operation in progress may have changed `rect`. */
  touch(rect) {
    if (isEmpty(rect)) return;
    const t = this.tile;
    const c0 = Math.max(0, Math.floor(rect.x0 / t));
    const c1 = Math.min(this.cols - 1, Math.floor((rect.x1 - 1) / t));
    const r0 = Math.max(0, Math.floor(rect.y0 / t));
    const r1 = Math.min(this.rows - 1, Math.floor((rect.y1 - 1) / t));
    for (let r = r0; r <= r1; r++) this.touched.fill(1, r * this.cols + c0, r * this.cols + c1 + 1);
  }

  /** Ends the operation (touching `rect` too); false when no pixel really changed. */
  commit(rect = emptyRect()) {
    this.touch(rect);
    const { width, height, data } = this.buffer;
    const t = this.tile;
    const tiles = [];
    let bytes = 0;
    for (let i = 0; i < this.touched.length; i++) {
      if (!this.touched[i]) continue;
      this.touched[i] = 0;
      const x0 = (i % this.cols) * t;
      const y0 = Math.floor(i / this.cols) * t;
      const tileRect = { x0, y0, x1: Math.min(width, x0 + t), y1: Math.min(height, y0 + t) };
      if (!differs(data, this.shadow, width, tileRect)) continue;
      const before = copyRect(this.shadow, width, tileRect);
      const after = copyRect(data, width, tileRect);
      pasteRect(this.shadow, width, tileRect, after);
      tiles.push({ rect: tileRect, before, after });
      bytes += before.length * 2;
    }
    if (!tiles.length) return false;
    for (const step of this.redoStack) this.bytes -= step.bytes;
    this.redoStack = [];
    this.undoStack.push({ tiles, bytes });
    this.bytes += bytes;
    while (
      this.undoStack.length > 1 &&
      (this.undoStack.length > this.steps || this.bytes > this.maxBytes)
    ) {
      this.bytes -= this.undoStack.shift().bytes;
    }
    return true;
  }

  get canUndo() {
    return this.undoStack.length > 0;
  }

  get canRedo() {
    return this.redoStack.length > 0;
  }

  /** Restores the state before the last operation; returns the rect to redraw, or null. */
  undo() {
    return this.#move(this.undoStack, this.redoStack, "before");
  }

  redo() {
    return this.#move(this.redoStack, this.undoStack, "after");
  }

  #move(from, to, side) {
    const step = from.pop();
    if (!step) return null;
    const { width } = this.buffer;
    const rect = emptyRect();
    for (const tile of step.tiles) {
      pasteRect(this.buffer.data, width, tile.rect, tile[side]);
      pasteRect(this.shadow, width, tile.rect, tile[side]);
      grow(rect, tile.rect);
    }
    to.push(step);
    return rect;
  }
}

function differs(a, b, width, rect) {
  for (let y = rect.y0; y < rect.y1; y++) {
    for (let i = y * width + rect.x0, end = y * width + rect.x1; i < end; i++) {
      if (a[i] !== b[i]) return true;
    }
  }
  return false;
}
