// Label buffer -> grey PNG for the save API. Two encoders: OffscreenCanvas for ordinary saves
// (asynchronous, well compressed, run in a worker), and a small synchronous one for the last
// save when the tab closes, where nothing asynchronous is sure to finish.

/** True when some value lies strictly between 0 and 255 (the save then says soft=true). */
export function isSoft(data) {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v !== 0 && v !== 255) return true;
  }
  return false;
}

export async function encodeWithCanvas(data, width, height) {
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext("2d");
  // Bands keep the RGBA copy small (a 4096x4096 one would be 64 MB at once).
  const band = Math.max(1, Math.floor((1 << 22) / width));
  for (let y = 0; y < height; y += band) {
    const rows = Math.min(band, height - y);
    const image = new ImageData(width, rows);
    const px = new Uint32Array(image.data.buffer);
    const offset = y * width;
    for (let i = 0; i < px.length; i++) px[i] = 0xff000000 | (data[offset + i] * 0x010101);
    ctx.putImageData(image, 0, y);
  }
  return canvas.convertToBlob({ type: "image/png" });
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes) {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 255] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

class BitWriter {
  constructor(capacity) {
    this.out = new Uint8Array(capacity);
    this.length = 0;
    this.acc = 0;
    this.bits = 0;
  }

  write(value, count) {
    this.acc |= value << this.bits;
    this.bits += count;
    while (this.bits >= 8) {
      this.#push(this.acc & 255);
      this.acc >>>= 8;
      this.bits -= 8;
    }
  }

  // Huffman codes go most significant bit first into an otherwise LSB-first stream.
  writeCode(code, count) {
    let reversed = 0;
    for (let i = 0; i < count; i++) reversed |= ((code >> i) & 1) << (count - 1 - i);
    this.write(reversed, count);
  }

  flush() {
    if (this.bits > 0) this.#push(this.acc & 255);
    this.acc = 0;
    this.bits = 0;
    return this.out.subarray(0, this.length);
  }

  #push(byte) {
    if (this.length === this.out.length) {
      const bigger = new Uint8Array(this.out.length * 2);
      bigger.set(this.out);
      this.out = bigger;
    }
    this.out[this.length++] = byte;
  }
}

function writeLiteral(bits, v) {
  if (v < 144) bits.writeCode(0x30 + v, 8);
  else bits.writeCode(0x190 + v - 144, 9);
}

const LENGTH_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59,
  67, 83, 99, 115, 131, 163, 195, 227, 258];
const LENGTH_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4,
  5, 5, 5, 5, 0];

function writeRun(bits, length) {
  let i = LENGTH_BASE.length - 1;
  while (LENGTH_BASE[i] > length) i--;
  const symbol = 257 + i;
  if (symbol < 280) bits.writeCode(symbol - 256, 7);
  else bits.writeCode(0xc0 + symbol - 280, 8);
  if (LENGTH_EXTRA[i]) bits.write(length - LENGTH_BASE[i], LENGTH_EXTRA[i]);
  bits.writeCode(0, 5); // distance 1: repeat the previous byte
}

// One fixed-Huffman deflate block whose only matches repeat the previous byte: masks are
// long runs, so this gets most of what zlib would, in a few lines and synchronously.
function zlib(raw) {
  const bits = new BitWriter(1024 + (raw.length >> 4));
  bits.write(0x78, 8);
  bits.write(0x01, 8);
  bits.write(1, 1); // final block
  bits.write(1, 2); // fixed Huffman codes
  let i = 0;
  while (i < raw.length) {
    let run = 0;
    if (i > 0) {
      const v = raw[i - 1];
      while (run < 258 && i + run < raw.length && raw[i + run] === v) run++;
    }
    if (run >= 3) {
      writeRun(bits, run);
      i += run;
    } else {
      writeLiteral(bits, raw[i]);
      i++;
    }
  }
  bits.writeCode(0, 7); // end of block
  let a = 1;
  let b = 0;
  for (let k = 0; k < raw.length; k++) {
    a = (a + raw[k]) % 65521;
    b = (b + a) % 65521;
  }
  const body = bits.flush();
  const out = new Uint8Array(body.length + 4);
  out.set(body);
  new DataView(out.buffer).setUint32(body.length, ((b << 16) | a) >>> 0);
  return out;
}

function chunk(type, payload) {
  const out = new Uint8Array(12 + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, payload.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(payload, 8);
  view.setUint32(8 + payload.length, crc32(out.subarray(4, 8 + payload.length)));
  return out;
}

/**
 * A grey PNG written synchronously: 1 bit per pixel for a binary label (a 4096x4096 one then
 * stays far below the 64 KB a keepalive request may carry), 8 bits for a soft one.
 */
export function encodeSync(data, width, height, soft) {
  const depth = soft ? 8 : 1;
  const stride = soft ? width : Math.ceil(width / 8);
  const raw = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    const at = y * (stride + 1) + 1; // each row starts with filter byte 0 (none)
    const src = y * width;
    if (soft) raw.set(data.subarray(src, src + width), at);
    else {
      for (let x = 0; x < width; x++) {
        if (data[src + x] >= 128) raw[at + (x >> 3)] |= 0x80 >> (x & 7);
      }
    }
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header[8] = depth; // colour type 0 (grey), compression, filter, interlace all 0
  const parts = [
    new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk("IHDR", header),
    chunk("IDAT", zlib(raw)),
    chunk("IEND", new Uint8Array(0)),
  ];
  return new Blob(parts, { type: "image/png" });
}
