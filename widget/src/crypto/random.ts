/**
 * The only source of randomness in the widget: `crypto.getRandomValues` (Web Crypto, present
 * in windows, workers and Node 20+). Nothing else (no Math.random) may feed keys, nonces,
 * correlation ids or jitter.
 */

const MAX_CHUNK = 65536; // getRandomValues refuses larger requests

export function randomBytes(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0) throw new RangeError("randomBytes: bad length");
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += MAX_CHUNK) {
    globalThis.crypto.getRandomValues(out.subarray(i, Math.min(n, i + MAX_CHUNK)));
  }
  return out;
}

/** A uniformly random float in [0, 1) from 53 random bits (for backoff jitter). */
export function randomFraction(): number {
  const b = randomBytes(8);
  const hi = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  const lo = ((b[4]! << 24) | (b[5]! << 16) | (b[6]! << 8) | b[7]!) >>> 0;
  return ((hi >>> 11) * 2 ** 32 + lo) / 2 ** 53;
}
