// Grey PNG from the API (a label version's mask, a pre-label, a heat map) -> a label buffer.

/** Fetches the PNG at `url` into `buffer.data` (same size as the image): red is the value. */
export async function readMask(url, buffer) {
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`mask: HTTP ${response.status}`);
  const bitmap = await createImageBitmap(await response.blob(), {
    colorSpaceConversion: "none",
    premultiplyAlpha: "none",
  });
  const { width, height } = buffer;
  const ctx = new OffscreenCanvas(width, height).getContext("2d", { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  // Bands keep the RGBA copy small (a 4096x4096 one would be 64 MB at once).
  const band = Math.max(1, Math.floor((1 << 22) / width));
  for (let y = 0; y < height; y += band) {
    const rows = Math.min(band, height - y);
    const rgba = ctx.getImageData(0, y, width, rows).data;
    const out = buffer.data.subarray(y * width, (y + rows) * width);
    for (let i = 0; i < out.length; i++) out[i] = rgba[i * 4];
  }
}
