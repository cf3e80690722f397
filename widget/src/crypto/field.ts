/**
 * Arithmetic modulo a prime with BigInt, the base of the widget's own curve code
 * (montgomery.ts: X25519 and X448 of RFC 7748; edwards.ts: Ed25519 and Ed448 of RFC 8032).
 *
 * The widget carries its own small curve code instead of a general curve library because the
 * crypto worker is embedded in the widget's core bundle, whose gzipped size has a budget
 * (docs/widget.md): four curves' worth of what SimpleX needs is a few kilobytes.
 *
 * Timing: the code that handles secrets (the ladders, signing) has no branch and no table index
 * that depends on a secret: it does the same field operations in the same order for every key
 * and selects with arithmetic ({@link cswap}). BigInt itself promises nothing more: the engine's
 * multiplication and division take time that depends on the operands' lengths, and a garbage
 * collection may pause anywhere, so this is as resistant to timing attacks as a JavaScript
 * implementation can be (the same as the libraries it replaces), not constant time in the sense
 * of a C implementation.
 */

/** Little-endian bytes as an unsigned integer. */
export function leToBig(b: Uint8Array): bigint {
  let x = 0n;
  for (let i = b.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[i]!);
  return x;
}

/** The low `n` bytes of `x` >= 0, little-endian. */
export function bigToLe(x: bigint, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++, x >>= 8n) out[i] = Number(x & 255n);
  return out;
}

/**
 * A scalar clamped as RFC 7748 section 5 (and RFC 8032's key expansion) clamp it: bit `top` set,
 * every bit above it cleared, the low `cofactorBits` bits cleared (so it is a multiple of the
 * cofactor). X25519 and Ed25519: top 254, 3 bits; X448 and Ed448: top 447, 2 bits.
 */
export function clamp(b: Uint8Array, top: number, cofactorBits: number): bigint {
  const t = 1n << BigInt(top);
  return (leToBig(b) & (t - 1n) & ~((1n << BigInt(cofactorBits)) - 1n)) | t;
}

/** Swap the entries of `a` and `b` iff `bit` is 1 (0 leaves them), without branching on it. */
export function cswap(bit: bigint, a: bigint[], b: bigint[]): void {
  const mask = -bit;
  for (let i = 0; i < a.length; i++) {
    const d = mask & (a[i]! ^ b[i]!);
    a[i] = a[i]! ^ d;
    b[i] = b[i]! ^ d;
  }
}

/**
 * Arithmetic modulo `p`. Every function takes non-negative operands (a difference is formed as
 * `a + p - b`) so that no reduction branches on a sign; `mul`, `sub` and `pow` return values in
 * [0, p).
 */
export class Field {
  constructor(readonly p: bigint) {}

  mul(a: bigint, b: bigint): bigint {
    return (a * b) % this.p;
  }

  /** `a - b` in [0, p) for 0 <= b <= p. */
  sub(a: bigint, b: bigint): bigint {
    return (a + this.p - b) % this.p;
  }

  /** a^e for a public e >= 0 (left to right, fixed 4-bit windows: the exponent's digits pick). */
  pow(a: bigint, e: bigint): bigint {
    const table = [1n, a % this.p];
    for (let i = 2; i < 16; i++) table.push(this.mul(table[i - 1]!, table[1]!));
    let r = 1n;
    for (let shift = BigInt(e.toString(16).length * 4 - 4); shift >= 0n; shift -= 4n) {
      for (let j = 0; j < 4; j++) r = this.mul(r, r);
      r = this.mul(r, table[Number((e >> shift) & 15n)]!);
    }
    return r;
  }

  /** 1 / a (0 for 0), by Fermat: a^(p-2). */
  inv(a: bigint): bigint {
    return this.pow(a, this.p - 2n);
  }
}
