// Encodes label buffers to PNG away from the page's main thread, so a save of a 4096x4096
// label never stalls painting.
import { encodeWithCanvas, isSoft } from "./maskpng.js";

self.onmessage = async ({ data: { id, data, width, height } }) => {
  try {
    const blob = await encodeWithCanvas(data, width, height);
    self.postMessage({ id, blob, soft: isSoft(data) });
  } catch (err) {
    self.postMessage({ id, error: String(err) });
  }
};
