// Draws the label buffer over the photo: the label colour with alpha = label value. Only what
// changed is redrawn, and on tiles rather than one canvas: without a GPU, Chromium copies a
// whole changed canvas to the compositor every frame (64 MB for 4096x4096, ~10 ms), while a
// brush dab touches one or two 512x512 tiles.

const TILE = 512;

export class Overlay {
  constructor(container, buffer, color) {
    this.buffer = buffer;
    this.lut = new Uint32Array(256);
    this.tiles = [];
    for (let y = 0; y < buffer.height; y += TILE) {
      for (let x = 0; x < buffer.width; x += TILE) {
        const canvas = document.createElement("canvas");
        canvas.width = Math.min(TILE, buffer.width - x);
        canvas.height = Math.min(TILE, buffer.height - y);
        canvas.dataset.x = x;
        canvas.dataset.y = y;
        Object.assign(canvas.style, {
          left: `${x}px`,
          top: `${y}px`,
          width: `${canvas.width}px`,
          height: `${canvas.height}px`,
        });
        container.append(canvas);
        this.tiles.push({ x, y, canvas, ctx: canvas.getContext("2d") });
      }
    }
    this.setColor(color);
  }

  /** Sets the colour (#rrggbb) of labels drawn from now on. */
  setColor(color) {
    const n = parseInt(color.slice(1), 16);
    const rgb = ((n & 255) << 16) | (n & 0xff00) | ((n >> 16) & 255); // little-endian RGBA
    for (let v = 0; v < 256; v++) this.lut[v] = ((v << 24) | rgb) >>> 0;
  }

  draw(rect) {
    for (const tile of this.tiles) {
      const x0 = Math.max(rect.x0, tile.x);
      const y0 = Math.max(rect.y0, tile.y);
      const x1 = Math.min(rect.x1, tile.x + tile.canvas.width);
      const y1 = Math.min(rect.y1, tile.y + tile.canvas.height);
      if (x0 < x1 && y0 < y1) this.#drawTile(tile, x0, y0, x1 - x0, y1 - y0);
    }
  }

  drawAll() {
    this.draw({ x0: 0, y0: 0, x1: this.buffer.width, y1: this.buffer.height });
  }

  #drawTile(tile, x0, y0, w, h) {
    const { width, data } = this.buffer;
    const image = tile.ctx.createImageData(w, h);
    const px = new Uint32Array(image.data.buffer);
    const lut = this.lut;
    for (let y = 0; y < h; y++) {
      const src = (y0 + y) * width + x0;
      const dst = y * w;
      for (let x = 0; x < w; x++) px[dst + x] = lut[data[src + x]];
    }
    tile.ctx.putImageData(image, x0 - tile.x, y0 - tile.y);
  }
}
