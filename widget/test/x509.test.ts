import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";

import { describe, expect, it } from "vitest";

import { CryptoError, DecodeError } from "../src/errors.js";
import { base64urlEncode, toHex } from "../src/encoding.js";
import { PublicKey } from "../src/crypto/keys.js";
import { certPublicKey, keyHash, parseCertificate, validateChain, verifySignedKey } from "../src/crypto/x509.js";
import { h, loadVectors, pemToDer, REPO_ROOT, VECTORS_DIR } from "./vectors.js";

interface X509File {
  fingerprints: { file: string; der_len: number; key_hash_b64url: string }[];
  chains: { files: string[]; leaf_alg: string; valid_at: string; not_valid_before?: string }[];
  generated: {
    alg: string;
    now: string;
    ca_der_hex: string;
    online_der_hex: string;
    session_pub_hex: string;
    signed_key_hex: string;
  }[];
}

const V = loadVectors<X509File>("crypto_x509.json");
const fixture = (name: string): Uint8Array => pemToDer(readFileSync(VECTORS_DIR + "fixtures/" + name, "utf8"));
const when = (iso: string): number => Date.parse(iso) / 1000;

describe("crypto_x509.json", () => {
  it.each(V.fingerprints.map((v) => [v.file, v] as const))("fingerprint of %s", (_n, v) => {
    const der = fixture(v.file);
    expect(der.length).toBe(v.der_len);
    expect(base64urlEncode(keyHash(der))).toBe(v.key_hash_b64url);
  });

  it.each(V.chains.map((v) => [v.files[0]!, v] as const))("chain %s validates", (_n, v) => {
    const chain = v.files.map(fixture);
    const leaf = validateChain(chain, keyHash(chain[1]!), when(v.valid_at));
    expect(leaf.alg).toBe(v.leaf_alg);
    expect(leaf.equals(certPublicKey(chain[0]!))).toBe(true);
    if (v.not_valid_before !== undefined) {
      expect(() => validateChain(chain, keyHash(chain[1]!), when(v.not_valid_before!) - 1)).toThrow(CryptoError);
      expect(validateChain(chain, keyHash(chain[1]!), when(v.not_valid_before!)).alg).toBe(v.leaf_alg);
    }
  });

  it("rejects wrong identities, lengths and tampering", () => {
    const srv = fixture("server.crt");
    const ca = fixture("ca.crt");
    const now = when("2026-06-01T00:00:00Z");
    const kh = keyHash(ca);
    const other = keyHash(fixture("ed25519/ca.crt"));
    expect(() => validateChain([srv, ca], other, now)).toThrow(CryptoError);
    expect(() => validateChain([srv], kh, now)).toThrow(CryptoError);
    expect(() => validateChain([srv, ca, ca, ca, ca], kh, now)).toThrow(CryptoError);
    // leaf signed by another CA
    expect(() => validateChain([fixture("ed25519/server.crt"), ca], kh, now)).toThrow(CryptoError);
    // the identity certificate must be a CA
    expect(() => validateChain([srv, srv], keyHash(srv), now)).toThrow(CryptoError);
    // a flipped signature bit
    const bad = srv.slice();
    bad[bad.length - 1]! ^= 1;
    expect(() => validateChain([bad, ca], kh, now)).toThrow(CryptoError);
    // truncated DER is a decode error
    expect(() => validateChain([srv.subarray(0, 100), ca], kh, now)).toThrow(DecodeError);
    expect(() => parseCertificate(new Uint8Array([0x30, 0x81, 0x05]))).toThrow(DecodeError);
  });

  it.each(V.generated.map((v) => [v.alg, v] as const))("generated %s identity and signed key", (_n, v) => {
    const ca = h(v.ca_der_hex);
    const online = h(v.online_der_hex);
    const leaf = validateChain([online, ca], keyHash(ca), when(v.now));
    expect(leaf.alg).toBe(v.alg);
    const key = verifySignedKey(online, h(v.signed_key_hex));
    expect(toHex(key.raw)).toBe(v.session_pub_hex);
    expect(key.alg).toBe("X25519");
    const tampered = h(v.signed_key_hex);
    tampered[tampered.length - 1]! ^= 1;
    expect(() => verifySignedKey(online, tampered)).toThrow(CryptoError);
    expect(() => verifySignedKey(online, h(v.signed_key_hex).subarray(1))).toThrow(DecodeError);
    // a key signed by the CA rather than the leaf does not verify with the leaf
    expect(() => validateChain([online, ca], keyHash(ca), when(v.now) - 1)).toThrow(CryptoError);
  });
});

// Cross-check with the Python implementation: chains it generates must validate here, and the
// ones it refuses must be refused here too.
const PYTHON = REPO_ROOT + ".venv/bin/python";
const GEN = `
import json, sys
from datetime import UTC, datetime, timedelta
from hushwire.crypto import x509 as x
from hushwire.crypto.keys import KeyAlg, KeyPair
NOW = datetime(2025, 1, 1, tzinfo=UTC)
out = {"now": int(NOW.timestamp()), "cases": []}
def add(name, chain, kh, ok):
    out["cases"].append({"name": name, "chain": [c.hex() for c in chain], "key_hash": kh.hex(), "ok": ok})
for ca_alg, leaf_alg in [(KeyAlg.ED448, KeyAlg.ED448), (KeyAlg.ED25519, KeyAlg.ED25519), (KeyAlg.ED25519, KeyAlg.ED448)]:
    ca, ca_key = x.generate_ca(ca_alg, now=NOW)
    leaf, leaf_key = x.generate_online_cert(ca, ca_key, leaf_alg, "localhost", now=NOW)
    add(f"{ca_alg.value}/{leaf_alg.value}", [leaf, ca], x.key_hash(ca), True)
    sess = KeyPair.generate(KeyAlg.X25519).public
    out["cases"].append({"name": "signed " + leaf_alg.value, "leaf": leaf.hex(), "signed": x.sign_key(leaf_key, sess).hex(), "key": sess.raw.hex()})
    other, other_key = x.generate_ca(ca_alg, now=NOW)
    add("foreign issuer", [leaf, other], x.key_hash(other), False)
    expired, _ = x.generate_online_cert(ca, ca_key, leaf_alg, "h", now=NOW - timedelta(days=10), days=5)
    add("expired leaf", [expired, ca], x.key_hash(ca), False)
    future, _ = x.generate_online_cert(ca, ca_key, leaf_alg, "h", now=NOW + timedelta(days=1))
    add("leaf not yet valid", [future, ca], x.key_hash(ca), False)
json.dump(out, sys.stdout)
`;

describe.runIf(existsSync(PYTHON))("cross-check with hushwire.crypto.x509", () => {
  it("validates what Python validates and refuses what it refuses", () => {
    const out = JSON.parse(execFileSync(PYTHON, ["-c", GEN], { encoding: "utf8" })) as {
      now: number;
      cases: ({ name: string; chain: string[]; key_hash: string; ok: boolean } | { name: string; leaf: string; signed: string; key: string })[];
    };
    expect(out.cases.length).toBe(15);
    for (const c of out.cases) {
      if ("signed" in c) {
        expect(verifySignedKey(h(c.leaf), h(c.signed)).equals(new PublicKey("X25519", h(c.key)))).toBe(true);
        continue;
      }
      const chain = c.chain.map(h);
      if (c.ok) expect(validateChain(chain, h(c.key_hash), out.now).alg, c.name).toMatch(/^Ed/);
      else expect(() => validateChain(chain, h(c.key_hash), out.now), c.name).toThrow(CryptoError);
    }
  });
});
