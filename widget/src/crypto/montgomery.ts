/**
 * X25519 and X448 (RFC 7748): Diffie-Hellman on the Montgomery curves curve25519 and curve448,
 * one x-only Montgomery ladder for both (section 5), the widget's own code (field.ts says why,
 * and what BigInt can and cannot promise about timing: the ladder runs the same operations for
 * every scalar and swaps with arithmetic, {@link cswap}).
 *
 * A peer's u-coordinate is taken as the RFC says: X25519 ignores its top bit, and both accept the
 * non-canonical values p..2^bits-1 as their residues mod p. A u of small order (whose multiple
 * by the cofactor is the point at infinity, on the curve or on its twist: these are exactly the
 * inputs whose result would be all zero) is refused before the ladder touches the secret.
 */

import { Field, bigToLe, clamp, cswap, leToBig } from "./field.js";

/** One Montgomery curve: its field, (A - 2) / 4, the bit length of u and k, the base point's u. */
export interface XCurve {
  readonly f: Field;
  readonly a24: bigint;
  readonly bits: number;
  readonly size: number;
  readonly cofactorBits: number;
  readonly base: bigint;
}

// p = 2^255 - 19 and 2^448 - 2^224 - 1 as literals (edwards.ts says why)
export const X25519: XCurve = { f: /* @__PURE__ */ new Field(0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffedn), a24: 121665n, bits: 255, size: 32, cofactorBits: 3, base: 9n };
export const X448: XCurve = { f: /* @__PURE__ */ new Field(0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffffffffffffffffffffffffffffffffffffffffffffffffffffn), a24: 39081n, bits: 448, size: 56, cofactorBits: 2, base: 5n };

/** x-only doubling of (x : z) (the ladder's x_2, z_2 step). */
function double(c: XCurve, x: bigint, z: bigint): [bigint, bigint] {
  const { f } = c;
  const aa = f.mul(x + z, x + z);
  const bb = f.mul(x + f.p - z, x + f.p - z);
  const e = f.sub(aa, bb);
  return [f.mul(aa, bb), f.mul(e, aa + c.a24 * e)];
}

/** [k]u for a clamped k, RFC 7748 section 5's ladder. */
function ladder(c: XCurve, k: bigint, u: bigint): bigint {
  const { f } = c;
  const p2 = [1n, 0n]; // x_2, z_2
  const p3 = [u, 1n]; // x_3, z_3
  let swap = 0n;
  for (let t = c.bits - 1; t >= 0; t--) {
    const kt = (k >> BigInt(t)) & 1n;
    cswap(swap ^ kt, p2, p3);
    swap = kt;
    const [x2, z2] = p2 as [bigint, bigint];
    const [x3, z3] = p3 as [bigint, bigint];
    const da = f.mul(x3 + f.p - z3, x2 + z2);
    const cb = f.mul(x3 + z3, x2 + f.p - z2);
    p3[0] = f.mul(da + cb, da + cb);
    p3[1] = f.mul(u, f.mul(da + f.p - cb, da + f.p - cb));
    [p2[0], p2[1]] = double(c, x2, z2);
  }
  cswap(swap, p2, p3);
  return f.mul(p2[0]!, f.inv(p2[1]!));
}

/** True iff the u-coordinate `u` (reduced) is of small order. */
function smallOrder(c: XCurve, u: bigint): boolean {
  let xz: [bigint, bigint] = [u, 1n];
  for (let i = 0; i < c.cofactorBits; i++) xz = double(c, ...xz);
  return xz[1] === 0n;
}

/**
 * X25519(k, u) or X448(k, u): the shared secret of private key `k` and public key `u`, or null
 * when `u` is of small order (the result would be all zero). Wrong sizes are a RangeError.
 */
export function xdh(c: XCurve, k: Uint8Array, u: Uint8Array): Uint8Array | null {
  if (k.length !== c.size || u.length !== c.size) throw new RangeError(`keys must be ${c.size} bytes`);
  const x = (leToBig(u) & ((1n << BigInt(c.bits)) - 1n)) % c.f.p;
  if (smallOrder(c, x)) return null;
  return bigToLe(ladder(c, clamp(k, c.bits - 1, c.cofactorBits), x), c.size);
}

/** The public key of private key `k`: X25519(k, 9) or X448(k, 5). */
export function xPublic(c: XCurve, k: Uint8Array): Uint8Array {
  return xdh(c, k, bigToLe(c.base, c.size))!;
}
