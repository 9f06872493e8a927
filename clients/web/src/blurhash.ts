// BlurHash decoding (the public algorithm, as shared/media/placeholder.py encodes it): a base-83 string holding a
// DC colour and a few cosine (AC) components, painted onto a tiny canvas that CSS stretches over the tile.

const BASE83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~";
// Long side of the painted canvas: a blur needs no more, and 24 tiles decode in well under a frame.
const CANVAS_SIDE = 32;

function decode83(text: string): number {
  let value = 0;
  for (const char of text) {
    const digit = BASE83.indexOf(char);
    if (digit < 0) throw new Error(`not a BlurHash character: ${char}`);
    value = value * 83 + digit;
  }
  return value;
}

function srgbToLinear(channel: number): number {
  const v = channel / 255;
  return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
}

function linearToSrgb(value: number): number {
  const v = Math.min(1, Math.max(0, value));
  return Math.trunc((v <= 0.0031308 ? v * 12.92 : 1.055 * v ** (1 / 2.4) - 0.055) * 255 + 0.5);
}

/** The DC and AC components of a hash, in linear light, row-major over (y, x); throws on a malformed hash. */
function components(hash: string): { x: number; y: number; colors: [number, number, number][] } {
  if (hash.length < 6) throw new Error("BlurHash too short");
  const sizeFlag = decode83(hash[0] ?? "");
  const x = (sizeFlag % 9) + 1;
  const y = Math.floor(sizeFlag / 9) + 1;
  if (hash.length !== 4 + 2 * x * y) throw new Error(`BlurHash of ${x}x${y} components should be ${4 + 2 * x * y} characters`);
  const maximum = (decode83(hash[1] ?? "") + 1) / 166;
  const dc = decode83(hash.slice(2, 6));
  const colors: [number, number, number][] = [[srgbToLinear(dc >> 16), srgbToLinear((dc >> 8) & 255), srgbToLinear(dc & 255)]];
  // Each AC channel is a base-19 digit, square-root companded around 9.
  const unpack = (digit: number): number => {
    const q = (digit - 9) / 9;
    return Math.sign(q) * q * q * maximum;
  };
  for (let i = 1; i < x * y; i += 1) {
    const value = decode83(hash.slice(4 + i * 2, 6 + i * 2));
    colors.push([unpack(Math.floor(value / 361)), unpack(Math.floor(value / 19) % 19), unpack(value % 19)]);
  }
  return { x, y, colors };
}

/** The RGBA pixels of a hash at width x height; throws on a malformed hash. */
export function decodeBlurHash(hash: string, width: number, height: number): Uint8ClampedArray<ArrayBuffer> {
  const { x: nx, y: ny, colors } = components(hash);
  // The basis is separable: one cosine table per axis instead of a cos() per pixel and component.
  const cosX = Array.from({ length: nx }, (_, i) => Array.from({ length: width }, (_, px) => Math.cos((Math.PI * px * i) / width)));
  const cosY = Array.from({ length: ny }, (_, j) => Array.from({ length: height }, (_, py) => Math.cos((Math.PI * py * j) / height)));
  const pixels = new Uint8ClampedArray(width * height * 4);
  for (let py = 0; py < height; py += 1) {
    for (let px = 0; px < width; px += 1) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let j = 0; j < ny; j += 1) {
        const wy = cosY[j]?.[py] ?? 0;
        for (let i = 0; i < nx; i += 1) {
          const weight = (cosX[i]?.[px] ?? 0) * wy;
          const color = colors[i + j * nx] ?? [0, 0, 0];
          r += color[0] * weight;
          g += color[1] * weight;
          b += color[2] * weight;
        }
      }
      const at = (py * width + px) * 4;
      pixels[at] = linearToSrgb(r);
      pixels[at + 1] = linearToSrgb(g);
      pixels[at + 2] = linearToSrgb(b);
      pixels[at + 3] = 255;
    }
  }
  return pixels;
}

/** A small canvas painted with the hash, in the picture's aspect ratio (CSS scales it); null for a bad hash. */
export function blurHashCanvas(hash: string, aspect: number): HTMLCanvasElement | null {
  const ratio = Number.isFinite(aspect) && aspect > 0 ? aspect : 1;
  const width = ratio >= 1 ? CANVAS_SIDE : Math.max(1, Math.round(CANVAS_SIDE * ratio));
  const height = ratio >= 1 ? Math.max(1, Math.round(CANVAS_SIDE / ratio)) : CANVAS_SIDE;
  let pixels: Uint8ClampedArray<ArrayBuffer>;
  try {
    pixels = decodeBlurHash(hash, width, height);
  } catch {
    return null; // a placeholder is a nicety: a bad one leaves the plain background
  }
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  canvas.className = "blurhash";
  canvas.setAttribute("aria-hidden", "true");
  canvas.getContext("2d")?.putImageData(new ImageData(pixels, width, height), 0, 0);
  return canvas;
}
