/**
 * A minimal PNG decoder for the browser test (8-bit grey, grey+alpha, RGB and RGBA, not
 * interlaced: what Chromium's screenshots and canvas exports produce), so that "the chart is not
 * blank" is checked on actual pixels without another dependency.
 */
import { inflateSync } from 'node:zlib';

/** Decoded pixels, always RGBA. */
export interface Image {
  width: number;
  height: number;
  rgba: Uint8Array;
}

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

/** Decodes a PNG file; throws on anything this decoder does not handle. */
export function decodePng(buf: Uint8Array): Image {
  for (let i = 0; i < 8; i++) if (buf[i] !== SIGNATURE[i]) throw new Error('not a PNG file');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let width = 0;
  let height = 0;
  let colorType = -1;
  const idat: Uint8Array[] = [];
  for (let p = 8; p < buf.length; ) {
    const len = view.getUint32(p);
    const type = String.fromCharCode(buf[p + 4], buf[p + 5], buf[p + 6], buf[p + 7]);
    const data = buf.subarray(p + 8, p + 8 + len);
    if (type === 'IHDR') {
      width = view.getUint32(p + 8);
      height = view.getUint32(p + 12);
      const depth = data[8];
      colorType = data[9];
      if (depth !== 8 || data[12] !== 0) throw new Error(`unsupported PNG: bit depth ${depth}, interlace ${data[12]}`);
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    p += 12 + len;
  }
  const channels = ({ 0: 1, 2: 3, 4: 2, 6: 4 } as Record<number, number>)[colorType];
  if (!channels) throw new Error(`unsupported PNG colour type ${colorType}`);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const px = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = px.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? px.subarray((y - 1) * stride, y * stride) : new Uint8Array(stride);
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? out[i - channels] : 0;
      const b = prev[i];
      const c = i >= channels ? prev[i - channels] : 0;
      let v = src[i];
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const pp = a + b - c;
        const pa = Math.abs(pp - a);
        const pb = Math.abs(pp - b);
        const pc = Math.abs(pp - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else if (filter !== 0) throw new Error(`bad PNG filter ${filter}`);
      out[i] = v & 255;
    }
  }
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const s = px.subarray(i * channels, (i + 1) * channels);
    if (channels === 1 || channels === 2) rgba.set([s[0], s[0], s[0], channels === 2 ? s[1] : 255], i * 4);
    else rgba.set([s[0], s[1], s[2], channels === 4 ? s[3] : 255], i * 4);
  }
  return { width, height, rgba };
}

/**
 * How varied an image is: distinct colours, the share of pixels unlike the most common one, and
 * the share of clearly coloured (not grey) pixels. Axes, labels and titles are grey or black, the
 * data marks of every chart are coloured: a chart whose data failed to draw has almost none.
 */
export function pixelStats(img: Image): { colours: number; nonBackground: number; coloured: number } {
  const counts = new Map<number, number>();
  const n = img.width * img.height;
  let coloured = 0;
  for (let i = 0; i < n; i++) {
    const r = img.rgba[i * 4];
    const g = img.rgba[i * 4 + 1];
    const b = img.rgba[i * 4 + 2];
    const k = ((r << 24) | (g << 16) | (b << 8) | img.rgba[i * 4 + 3]) >>> 0;
    counts.set(k, (counts.get(k) ?? 0) + 1);
    if (Math.max(r, g, b) - Math.min(r, g, b) > 48) coloured++;
  }
  const top = Math.max(...counts.values());
  return { colours: counts.size, nonBackground: n === 0 ? 0 : 1 - top / n, coloured: n === 0 ? 0 : coloured / n };
}
