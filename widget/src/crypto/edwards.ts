/**
 * Ed25519 and Ed448 (RFC 8032): one twisted-Edwards implementation for both curves, the
 * widget's own code (field.ts says why, and what BigInt can and cannot promise about timing).
 *
 * Points are extended coordinates (X : Y : Z : T), x = X/Z, y = Y/Z, xy = T/Z, with the
 * "add-2008-hwcd" and "dbl-2008-hwcd" formulas of Hisil, Wong, Carter and Dawson for a general
 * `a`; both curves have a square `a` (-1, 1) and a non-square `d`, so the addition is complete
 * (no exceptional points, also for the neutral element and for doubling).
 *
 * Signing (and a public key) multiplies the base point by a secret with a ladder that does one
 * addition and one doubling per bit of the group order and swaps with arithmetic ({@link cswap}).
 * Verification multiplies public values only: [S]B - [k]A at once (Straus: one run of doublings,
 * width-5 NAF digits for both scalars), then the cofactored check.
 *
 * Verification rule (RFC 8032 sections 5.1.7 and 5.2.7, strict decoding; the same decisions as
 * @noble/curves `verify(..., { zip215: false })`, which the widget used before):
 * - the signature is exactly 2 * b bytes and the key b bytes (b = 32 or 57);
 * - A and R decode canonically (section 5.1.3/5.2.3): y < p, x recovered from y, and the
 *   encoding "x = 0 with the sign bit set" refused; R may be any point, also of small order;
 * - S < L (S = 0 is allowed);
 * - A is not of small order ([h]A is not the neutral element): a key of small order is refused;
 * - the cofactored equation [h][S]B = [h]R + [h][k]A holds, with k = H(dom || R || A || M) mod L
 *   over the bytes as received.
 */

import { sha512 } from "@noble/hashes/sha2.js";
import { shake256 } from "@noble/hashes/sha3.js";

import { concat, latin1 } from "../encoding.js";
import { Field, bigToLe, clamp, cswap, leToBig } from "./field.js";

/** Extended coordinates [X, Y, Z, T]. */
type Point = bigint[];

/** One Edwards curve: a x^2 + y^2 = 1 + d x^2 y^2 over `f`, base point (bx, by) of prime order L. */
export interface EdCurve {
  readonly f: Field;
  readonly a: bigint;
  readonly d: bigint;
  readonly l: bigint;
  readonly bx: bigint;
  readonly by: bigint;
  /** Bytes of an encoded point or scalar, b / 8. */
  readonly size: number;
  /** The key expansion's clamping: the bit set and the cofactor's bits cleared (field.ts clamp). */
  readonly top: number;
  readonly cofactorBits: number;
  /** The hash H of the scheme; `dom` goes before every hash but the key expansion's. */
  readonly hash: (m: Uint8Array) => Uint8Array;
  readonly dom: string;
}

// Literals only at the top level (p = 2^255 - 19 and 2^448 - 2^224 - 1, a = -1, d = -39081,
// L = 2^252 + 27742317777372353535851937790883648493), so that a bundle importing nothing of this
// module drops it (an arithmetic expression would count as a possible side effect).
export const ED25519: EdCurve = {
  f: /* @__PURE__ */ new Field(0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffedn),
  a: 0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffecn,
  d: 0x52036cee2b6ffe738cc740797779e89800700a4d4141d8ab75eb4dca135978a3n,
  l: 0x1000000000000000000000000000000014def9dea2f79cd65812631a5cf5d3edn,
  hash: (m) => sha512(m),
  dom: "",
  bx: 0x216936d3cd6e53fec0a4e231fdd6dc5c692cc7609525a7b2c9562d608f25d51an,
  by: 0x6666666666666666666666666666666666666666666666666666666666666658n,
  size: 32, top: 254, cofactorBits: 3,
};

export const ED448: EdCurve = {
  f: /* @__PURE__ */ new Field(0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffffffffffffffffffffffffffffffffffffffffffffffffffffn),
  a: 1n,
  d: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffffffffffffffffffffffffffffffffffffffffffffffff6756n,
  l: 0x3fffffffffffffffffffffffffffffffffffffffffffffffffffffff7cca23e9c44edb49aed63690216cc2728dc58f552378c292ab5844f3n,
  hash: (m) => shake256(m, { dkLen: 114 }),
  dom: "SigEd448\0\0", // dom4(0, ""): no pre-hash, empty context
  bx: 0x4f1970c66bed0ded221d15a622bf36da9e146570470f1767ea6de324a3d3a46412ae1af72ab66511433b80e18b00938e2626a82bc70cc05en,
  by: 0x693f46716eb6bc248876203756c9c7624bea73736ca3984087789c1e05a0c2d73ad3ff1ce67c39c4fdbd132c4ed7c8ad9808795bf230fa14n,
  size: 57, top: 447, cofactorBits: 2,
};

const zero = (): Point => [0n, 1n, 1n, 0n];
const base = (c: EdCurve): Point => [c.bx, c.by, 1n, c.f.mul(c.bx, c.by)];

function add(c: EdCurve, [x1, y1, z1, t1]: Point, [x2, y2, z2, t2]: Point): Point {
  const { f } = c;
  const p = f.p;
  const a = f.mul(x1!, x2!);
  const b = f.mul(y1!, y2!);
  const cc = f.mul(f.mul(t1!, t2!), c.d);
  const d = f.mul(z1!, z2!);
  const e = f.mul(x1! + y1!, x2! + y2!) + 2n * p - a - b;
  const ff = d + p - cc;
  const g = d + cc;
  const h = b + p - f.mul(c.a, a);
  return [f.mul(e, ff), f.mul(g, h), f.mul(ff, g), f.mul(e, h)];
}

function double(c: EdCurve, [x, y, z]: Point): Point {
  const { f } = c;
  const p = f.p;
  const a = f.mul(x!, x!);
  const b = f.mul(y!, y!);
  const cc = f.mul(2n * z!, z!);
  const d = f.mul(c.a, a);
  const e = f.mul(x! + y!, x! + y!) + 2n * p - a - b;
  const g = d + b;
  const ff = g + p - cc;
  const h = d + p - b;
  return [f.mul(e, ff), f.mul(g, h), f.mul(ff, g), f.mul(e, h)];
}

const negate = (c: EdCurve, [x, y, z, t]: Point): Point => [c.f.sub(0n, x!), y!, z!, c.f.sub(0n, t!)];

/** [h]P, h the cofactor. */
function clearCofactor(c: EdCurve, pt: Point): Point {
  for (let i = 0; i < c.cofactorBits; i++) pt = double(c, pt);
  return pt;
}

const isNeutral = (c: EdCurve, [x, y, z]: Point): boolean => x! % c.f.p === 0n && c.f.sub(y!, z!) === 0n;

/** [k]B for a secret 0 <= k < 2^bits(L): the ladder of the module docstring. */
function mulBase(c: EdCurve, k: bigint): Point {
  let r0 = zero();
  let r1 = base(c);
  let swap = 0n;
  for (let t = c.l.toString(2).length - 1; t >= 0; t--) {
    const bit = (k >> BigInt(t)) & 1n;
    cswap(swap ^ bit, r0, r1);
    swap = bit;
    r1 = add(c, r0, r1);
    r0 = double(c, r0);
  }
  cswap(swap, r0, r1);
  return r0;
}

/** Width-5 NAF digits of k >= 0 (odd digits in -15..15 or 0), least significant first. */
function naf(k: bigint): number[] {
  const out: number[] = [];
  for (; k > 0n; k >>= 1n) {
    let digit = 0;
    if (k & 1n) {
      digit = Number(k & 31n);
      if (digit > 16) digit -= 32;
      k -= BigInt(digit);
    }
    out.push(digit);
  }
  return out;
}

/** [s1]P1 + [s2]P2 for public scalars and points (Straus). */
function mulDouble(c: EdCurve, s1: bigint, p1: Point, s2: bigint, p2: Point): Point {
  const digits = [naf(s1), naf(s2)];
  const tables = [p1, p2].map((pt) => {
    const twice = double(c, pt);
    const odd = [pt]; // pt, 3pt, ..., 15pt
    for (let i = 1; i < 8; i++) odd.push(add(c, odd[i - 1]!, twice));
    return odd;
  });
  let acc = zero();
  for (let i = Math.max(digits[0]!.length, digits[1]!.length) - 1; i >= 0; i--) {
    acc = double(c, acc);
    for (let j = 0; j < 2; j++) {
      const digit = digits[j]![i] ?? 0;
      const pt = tables[j]![Math.abs(digit) >> 1]!;
      if (digit) acc = add(c, acc, digit > 0 ? pt : negate(c, pt));
    }
  }
  return acc;
}

function encode(c: EdCurve, [x, y, z]: Point): Uint8Array {
  const zi = c.f.inv(z!);
  const xa = c.f.mul(x!, zi);
  return bigToLe(c.f.mul(y!, zi) | ((xa & 1n) << BigInt(8 * c.size - 1)), c.size);
}

/** The point of an encoding (RFC 8032 5.1.3, 5.2.3), or null if it is not a canonical one. */
function decode(c: EdCurve, bytes: Uint8Array): Point | null {
  const { f } = c;
  const p = f.p;
  const top = BigInt(8 * c.size - 1);
  const v = leToBig(bytes);
  const y = v & ((1n << top) - 1n);
  const sign = v >> top;
  if (y >= p) return null;
  const yy = f.mul(y, y);
  // x^2 = u / w with u = y^2 - 1, w = d y^2 - a; one exponentiation gives the candidate root
  const u = f.sub(yy, 1n);
  const w = f.sub(f.mul(c.d, yy), c.a);
  const w3 = f.mul(f.mul(w, w), w);
  let x: bigint;
  if (p % 4n === 3n) {
    const u3 = f.mul(f.mul(u, u), u);
    x = f.mul(f.mul(u3, w), f.pow(f.mul(f.mul(u3, f.mul(u, u)), w3), (p - 3n) / 4n));
  } else {
    // p = 5 mod 8: the candidate or the candidate times sqrt(-1) = 2^((p-1)/4)
    x = f.mul(f.mul(u, w3), f.pow(f.mul(u, f.mul(f.mul(w3, w3), w)), (p - 5n) / 8n));
    if (f.mul(w, f.mul(x, x)) === f.sub(0n, u)) x = f.mul(x, f.pow(2n, (p - 1n) / 4n));
  }
  if (f.mul(w, f.mul(x, x)) !== u || (x === 0n && sign === 1n)) return null;
  if ((x & 1n) !== sign) x = p - x;
  return [x, y, 1n, f.mul(x, y)];
}

/** H(dom || parts) as an integer mod L. */
function hashScalar(c: EdCurve, ...parts: Uint8Array[]): bigint {
  return leToBig(c.hash(concat(latin1(c.dom), ...parts))) % c.l;
}

/** The secret scalar mod L and the prefix of a private key (RFC 8032 5.1.5, 5.2.5). */
function expand(c: EdCurve, secret: Uint8Array): [bigint, Uint8Array] {
  if (secret.length !== c.size) throw new RangeError(`private key must be ${c.size} bytes`);
  const h = c.hash(secret);
  return [clamp(h.subarray(0, c.size), c.top, c.cofactorBits) % c.l, h.subarray(c.size)];
}

/** The public key of a private key. */
export function edPublic(c: EdCurve, secret: Uint8Array): Uint8Array {
  return encode(c, mulBase(c, expand(c, secret)[0]));
}

/** The signature of `msg` by `secret`; `pub`, when given, must be its public key (saves a multiplication). */
export function edSign(c: EdCurve, secret: Uint8Array, msg: Uint8Array, pub?: Uint8Array): Uint8Array {
  const [s, prefix] = expand(c, secret);
  const a = pub ?? encode(c, mulBase(c, s));
  const r = hashScalar(c, prefix, msg);
  const big = encode(c, mulBase(c, r));
  return concat(big, bigToLe((r + hashScalar(c, big, a, msg) * s) % c.l, c.size));
}

/** True iff `sig` is a valid signature of `msg` by `pub` under the rule of the module docstring. */
export function edVerify(c: EdCurve, sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): boolean {
  const n = c.size;
  if (sig.length !== 2 * n || pub.length !== n) return false;
  const rBytes = sig.subarray(0, n);
  const a = decode(c, pub);
  const r = decode(c, rBytes);
  const s = leToBig(sig.subarray(n));
  if (a === null || r === null || s >= c.l || isNeutral(c, clearCofactor(c, a))) return false;
  const k = hashScalar(c, rBytes, pub, msg);
  return isNeutral(c, clearCofactor(c, add(c, mulDouble(c, s, base(c), k, negate(c, a)), negate(c, r))));
}
