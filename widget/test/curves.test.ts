// The widget's own curve code (src/crypto/field.ts, montgomery.ts, edwards.ts): the RFC 7748 and
// RFC 8032 vectors, randomized agreement with @noble/curves (which it replaced in the core), and
// the encodings, scalars and sizes it must refuse exactly as noble's strict verify does.

import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { ed448, x448 } from "@noble/curves/ed448.js";
import { describe, expect, it } from "vitest";

import { ED25519, ED448, edPublic, edSign, edVerify, type EdCurve } from "../src/crypto/edwards.js";
import { bigToLe, leToBig } from "../src/crypto/field.js";
import { KeyPair, PrivateKey, PublicKey } from "../src/crypto/keys.js";
import { X25519, X448, xdh, xPublic, type XCurve } from "../src/crypto/montgomery.js";
import { randomBytes } from "../src/crypto/random.js";
import { concat, fromHex, toHex } from "../src/encoding.js";
import { CryptoError } from "../src/errors.js";
import { dhKey } from "../src/grp/noise.js";

const h = fromHex;

describe("X25519 and X448 (RFC 7748)", () => {
  it("section 5.2 single vectors", () => {
    const cases: [XCurve, string, string, string][] = [
      [X25519, "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4", "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c", "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"],
      // the u of this vector has its top bit set: X25519 ignores it
      [X25519, "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d", "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493", "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"],
      [X448, "3d262fddf9ec8e88495266fea19a34d28882acef045104d0d1aae121700a779c984c24f8cdd78fbff44943eba368f54b29259a4f1c600ad3", "06fce640fa3487bfda5f6cf2d5263f8aad88334cbd07437f020f08f9814dc031ddbdc38c19c6da2583fa5429db94ada18aa7a7fb4ef8a086", "ce3e4ff95a60dc6697da1db1d85e6afbdf79b50a2412d7546d5f239fe14fbaadeb445fc66a01b0779d98223961111e21766282f73dd96b6f"],
      [X448, "203d494428b8399352665ddca42f9de8fef600908e0d461cb021f8c538345dd77c3e4806e25f46d3315c44e0a5b4371282dd2c8d5be3095f", "0fbcc2f993cd56d3305b0b7d9e55d4c1a8fb5dbb52f8e9a1e9b6201b165d015894e56c4d3570bee52fe205e28a78b91cdfbde71ce8d157db", "884a02576239ff7a2f2f63b2db6a9ff37047ac13568e1e30fe63c4a7ad1b3ee3a5700df34321d62077e63633c575c1c954514e99da7c179d"],
    ];
    for (const [c, k, u, out] of cases) expect(toHex(xdh(c, h(k), h(u))!)).toBe(out);
  });

  it("section 5.2 iterations: 1 and 1,000", () => {
    const cases: [XCurve, string, string][] = [
      [X25519, "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079", "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51"],
      [X448, "3f482c8a9f19b01e6c46ee9711d9dc14fd4bf67af30765c2ae2b846a4d23a8cd0db897086239492caf350b51f833868b9bc2b3bca9cf4113", "aa3b4749d55b9daf1e5b00288826c467274ce3ebbdd5c17b975e09d4af6c67cf10d087202db88286e2b79fceea3ec353ef54faa26e219f38"],
    ];
    for (const [c, once, thousand] of cases) {
      let k = bigToLe(c.base, c.size);
      let u = k;
      for (let i = 1; i <= 1000; i++) {
        [k, u] = [xdh(c, k, u)!, k];
        if (i === 1) expect(toHex(k)).toBe(once);
      }
      expect(toHex(k)).toBe(thousand);
    }
  }, 120_000);

  it("section 6 Diffie-Hellman, also through PrivateKey and PublicKey", () => {
    const cases: [XCurve, "X25519" | "X448", string, string, string, string, string][] = [
      [X25519, "X25519", "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"],
      [X448, "X448", "9a8f4925d1519f5775cf46b04b5800d4ee9ee8bae8bc5565d498c28dd9c9baf574a9419744897391006382a6f127ab1d9ac2d8c0a598726b", "9b08f7cc31b7e3e67d22d5aea121074a273bd2b83de09c63faa73d2c22c5d9bbc836647241d953d40c5b12da88120d53177f80e532c41fa0", "1c306a7ac2a0e2e0990b294470cba339e6453772b075811d8fad0d1d6927c120bb5ee8972b0d3e21374c9c921b09d1b0366f10b65173992d", "3eb7a829b0cd20f5bcfc0b599b6feccf6da4627107bdb0d4f345b43027d8b972fc3e34fb4232a13ca706dcb57aec3dae07bdc1c67bf33609", "07fff4181ac6cc95ec1c16a94a0f74d12da232ce40a77552281d282bb60c0b56fd2464c335543936521c24403085d59a449a5037514a879d"],
    ];
    for (const [c, alg, a, aPub, b, bPub, shared] of cases) {
      expect(toHex(xPublic(c, h(a)))).toBe(aPub);
      expect(toHex(xPublic(c, h(b)))).toBe(bPub);
      expect(toHex(xdh(c, h(a), h(bPub))!)).toBe(shared);
      const alice = new PrivateKey(alg, h(a));
      expect(toHex(alice.public().raw)).toBe(aPub);
      expect(toHex(alice.dh(new PublicKey(alg, h(bPub))))).toBe(shared);
      expect(toHex(new PrivateKey(alg, h(b)).dh(new PublicKey(alg, h(aPub))))).toBe(shared);
    }
  });

  it("agrees with noble on random keys, DH and public keys", () => {
    for (const [c, n] of [[X25519, x25519], [X448, x448]] as const) {
      for (let i = 0; i < 16; i++) {
        const k = randomBytes(c.size);
        const u = randomBytes(c.size); // any bytes: a point of the curve or of its twist
        expect(toHex(xPublic(c, k))).toBe(toHex(n.getPublicKey(k)));
        expect(toHex(xdh(c, k, u)!)).toBe(toHex(n.getSharedSecret(k, u)));
      }
    }
  });

  it("refuses u of small order, canonical or not, as noble does; a CryptoError in PrivateKey.dh", () => {
    const p25 = 2n ** 255n - 19n;
    const p448 = 2n ** 448n - 2n ** 224n - 1n;
    const small: (readonly [XCurve, "X25519" | "X448", typeof x25519, Uint8Array])[] = [
      ...[0n, 1n, p25 - 1n, p25, p25 + 1n, 2n ** 255n + 1n].map((u) => [X25519, "X25519", x25519, bigToLe(u, 32)] as const),
      [X25519, "X25519", x25519, h("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")],
      [X25519, "X25519", x25519, h("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157")],
      ...[0n, 1n, p448 - 1n, p448, p448 + 1n].map((u) => [X448, "X448", x448, bigToLe(u, 56)] as const),
    ];
    for (const [c, alg, n, u] of small) {
      const k = randomBytes(c.size);
      expect(xdh(c, k, u)).toBeNull();
      expect(() => n.getSharedSecret(k, u)).toThrow();
      expect(() => new PrivateKey(alg, k).dh(new PublicKey(alg, u))).toThrow(CryptoError);
    }
    // a non-canonical u of a usable point: taken as its residue
    const k = randomBytes(32);
    expect(toHex(xdh(X25519, k, bigToLe(p25 + 9n, 32))!)).toBe(toHex(xPublic(X25519, k)));
  });

  it("refuses wrong sizes", () => {
    expect(() => xdh(X25519, randomBytes(31), randomBytes(32))).toThrow(RangeError);
    expect(() => xdh(X448, randomBytes(56), randomBytes(57))).toThrow(RangeError);
  });

  it("the GRP Noise keys are X25519", () => {
    const k = dhKey(h("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
    expect(toHex(k.pub)).toBe("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  });
});

// RFC 8032 7.1 TEST 1-3 (Ed25519) and 7.4 "-----Blank" and "1 octet" (Ed448)
const RFC8032: [EdCurve, "Ed25519" | "Ed448", string, string, string, string][] = [
  [ED25519, "Ed25519", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "", "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"],
  [ED25519, "Ed25519", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72", "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"],
  [ED25519, "Ed25519", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7", "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82", "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"],
  [ED448, "Ed448", "6c82a562cb808d10d632be89c8513ebf6c929f34ddfa8c9f63c9960ef6e348a3528c8a3fcc2f044e39a3fc5b94492f8f032e7549a20098f95b", "5fd7449b59b461fd2ce787ec616ad46a1da1342485a70e1f8a0ea75d80e96778edf124769b46c7061bd6783df1e50f6cd1fa1abeafe8256180", "", "533a37f6bbe457251f023c0d88f976ae2dfb504a843e34d2074fd823d41a591f2b233f034f628281f2fd7a22ddd47d7828c59bd0a21bfd3980ff0d2028d4b18a9df63e006c5d1c2d345b925d8dc00b4104852db99ac5c7cdda8530a113a0f4dbb61149f05a7363268c71d95808ff2e652600"],
  [ED448, "Ed448", "c4eab05d357007c632f3dbb48489924d552b08fe0c353a0d4a1f00acda2c463afbea67c5e8d2877c5e3bc397a659949ef8021e954e0a12274e", "43ba28f430cdff456ae531545f7ecd0ac834a55d9358c0372bfa0c6c6798c0866aea01eb00742802b8438ea4cb82169c235160627b4c3a9480", "03", "26b8f91727bd62897af15e41eb43c377efb9c610d48f2335cb0bd0087810f4352541b143c4b981b7e18f62de8ccdf633fc1bf037ab7cd779805e0dbcc0aae1cbcee1afb2e027df36bc04dcecbf154336c19f0af7e0a6472905e799f1953d2a0ff3348ab21aa4adafd1d234441cf807c03a00"],
];

const NOBLE = { Ed25519: ed25519, Ed448: ed448 };
const nobleVerify = (alg: "Ed25519" | "Ed448", sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): boolean => NOBLE[alg].verify(sig, msg, pub, { zip215: false });

/**
 * A signature with the given encoding of R whose scalar makes the equation hold for the point R
 * decodes to, here the neutral element (y = 1): S = k a, so [S]B = [k]A and R + [k]A - [S]B = R.
 */
function withR(c: EdCurve, a: bigint, rBytes: Uint8Array, msg: Uint8Array): [Uint8Array, Uint8Array] {
  const pub = edPublicOfScalar(c, a);
  const k = leToBig(c.hash(concat(new TextEncoder().encode(c.dom), rBytes, pub, msg))) % c.l;
  return [concat(rBytes, bigToLe((k * a) % c.l, c.size)), pub];
}

/** [a]B encoded (by noble: the module under test has no multiplication by a chosen scalar). */
function edPublicOfScalar(c: EdCurve, a: bigint): Uint8Array {
  const n = c === ED25519 ? ed25519 : ed448;
  return n.Point.BASE.multiply(a).toBytes();
}

describe("Ed25519 and Ed448 (RFC 8032)", () => {
  it("the section 7.1 and 7.4 vectors: public key, signature, verification; PrivateKey and PublicKey", () => {
    for (const [c, alg, secret, pub, msg, sig] of RFC8032) {
      expect(toHex(edPublic(c, h(secret)))).toBe(pub);
      expect(toHex(edSign(c, h(secret), h(msg)))).toBe(sig);
      expect(edVerify(c, h(sig), h(msg), h(pub))).toBe(true);
      const key = new PrivateKey(alg, h(secret));
      expect(toHex(key.public().raw)).toBe(pub);
      expect(toHex(key.sign(h(msg)))).toBe(sig);
      expect(new PublicKey(alg, h(pub)).verify(h(sig), h(msg))).toBe(true);
      expect(new PublicKey(alg, h(pub)).verify(h(sig), concat(h(msg), h("00")))).toBe(false);
    }
  });

  it("agrees with noble on random keys and messages: public keys, signatures, valid and tampered ones", () => {
    for (const [c, alg] of [[ED25519, "Ed25519"], [ED448, "Ed448"]] as const) {
      const n = NOBLE[alg];
      for (let i = 0; i < 12; i++) {
        const secret = randomBytes(c.size);
        const msg = randomBytes(i * 13);
        const pub = edPublic(c, secret);
        expect(toHex(pub)).toBe(toHex(n.getPublicKey(secret)));
        const sig = edSign(c, secret, msg);
        expect(toHex(sig)).toBe(toHex(n.sign(msg, secret)));
        expect(edVerify(c, sig, msg, pub)).toBe(true);
        const bad = sig.slice();
        const at = (i * 9) % bad.length;
        bad[at] = bad[at]! ^ (1 << i % 8);
        expect(edVerify(c, bad, msg, pub)).toBe(nobleVerify(alg, bad, msg, pub));
        expect(edVerify(c, bad, msg, pub)).toBe(false);
        const other = KeyPair.generate(alg).public.raw;
        expect(edVerify(c, sig, msg, other)).toBe(false);
        expect(edVerify(c, sig, concat(msg, h("01")), pub)).toBe(false);
        // random bytes as a key or as R: mostly not a point at all
        const junk = randomBytes(c.size);
        expect(edVerify(c, sig, msg, junk)).toBe(nobleVerify(alg, sig, msg, junk));
        const junkR = concat(junk, sig.subarray(c.size));
        expect(edVerify(c, junkR, msg, pub)).toBe(nobleVerify(alg, junkR, msg, pub));
      }
    }
  });

  it("the strict rule: non-canonical encodings, S >= L, a key of small order refused; R of small order accepted", () => {
    for (const [c, alg] of [[ED25519, "Ed25519"], [ED448, "Ed448"]] as const) {
      const n = NOBLE[alg];
      const p = c.f.p;
      const msg = h("616263");
      const a = leToBig(randomBytes(c.size)) % c.l;
      const identity = bigToLe(1n, c.size);
      // R = the neutral element, canonical: valid (as noble, which checks only A's order)
      const [good, pub] = withR(c, a, identity, msg);
      expect(edVerify(c, good, msg, pub)).toBe(true);
      expect(nobleVerify(alg, good, msg, pub)).toBe(true);
      // the same point as y = p + 1, and as x = 0 with the sign bit set: refused, though the
      // equation holds (noble's lenient ZIP-215 mode accepts both, its strict mode does not)
      for (const r of [bigToLe(p + 1n, c.size), concat(identity.subarray(0, c.size - 1), Uint8Array.of(0x80))]) {
        const [sig] = withR(c, a, r, msg);
        expect(n.verify(sig, msg, pub, { zip215: true })).toBe(true);
        expect(nobleVerify(alg, sig, msg, pub)).toBe(false);
        expect(edVerify(c, sig, msg, pub)).toBe(false);
      }
      // y >= p for a key: refused
      for (const y of [p, p + 1n, (1n << BigInt(8 * c.size - 1)) - 1n]) {
        const key = bigToLe(y, c.size);
        expect(edVerify(c, good, msg, key)).toBe(false);
        expect(nobleVerify(alg, good, msg, key)).toBe(false);
      }
      // S + L: the same S mod L, refused
      const sPlusL = concat(good.subarray(0, c.size), bigToLe(leToBig(good.subarray(c.size)) + c.l, c.size));
      expect(edVerify(c, sPlusL, msg, pub)).toBe(false);
      expect(nobleVerify(alg, sPlusL, msg, pub)).toBe(false);
      // a key of small order (the neutral element) with R = neutral, S = 0: the equation holds
      const zeroSig = concat(identity, new Uint8Array(c.size));
      expect(n.verify(zeroSig, msg, identity, { zip215: true })).toBe(true);
      expect(nobleVerify(alg, zeroSig, msg, identity)).toBe(false);
      expect(edVerify(c, zeroSig, msg, identity)).toBe(false);
      // wrong sizes
      expect(edVerify(c, good.subarray(1), msg, pub)).toBe(false);
      expect(edVerify(c, concat(good, h("00")), msg, pub)).toBe(false);
      expect(edVerify(c, good, msg, pub.subarray(1))).toBe(false);
    }
  });

  it("a small-order key of order 2 or 4 is refused too", () => {
    // Ed25519: (0, -1) of order 2; Ed448: (0, -1) of order 2 as well
    for (const [c, alg] of [[ED25519, "Ed25519"], [ED448, "Ed448"]] as const) {
      const minusOne = bigToLe(c.f.p - 1n, c.size);
      const sig = concat(bigToLe(1n, c.size), new Uint8Array(c.size));
      expect(edVerify(c, sig, h(""), minusOne)).toBe(false);
      expect(nobleVerify(alg, sig, h(""), minusOne)).toBe(false);
    }
  });

  it("sizes of private keys", () => {
    expect(() => edSign(ED25519, randomBytes(31), h(""))).toThrow(RangeError);
    expect(() => edPublic(ED448, randomBytes(56))).toThrow(RangeError);
  });
});
