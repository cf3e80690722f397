/**
 * Test helpers: read the shared vector files (../tests/vectors/*.json) that the Python suite
 * pins, keeping integers of 16+ digits exact (as decimal strings) since JSON numbers are doubles.
 */

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import { PublicKey } from "../src/crypto/keys.js";
import { fromHex, toHex } from "../src/encoding.js";

export const VECTORS_DIR = fileURLToPath(new URL("../../tests/vectors/", import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Parse a vector file; integers with 16 or more digits come back as strings. */
export function loadVectors<T>(name: string): T {
  const text = readFileSync(VECTORS_DIR + name, "utf8");
  const safe = text.replace(/([:[,]\s*)(-?\d{16,})(?=\s*[,\]}])/g, '$1"$2"');
  return JSON.parse(safe) as T;
}

export function readFixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(VECTORS_DIR + "fixtures/" + name));
}

/** DER of the first certificate of a PEM file. */
export function pemToDer(pem: string): Uint8Array {
  const m = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(pem);
  if (m === null) throw new Error("no certificate");
  return new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ""), "base64"));
}

export const h = fromHex;

export function big(v: number | string): bigint {
  return BigInt(v);
}

/**
 * A decoded value in the language-neutral JSON form of the vector files (see `plain` in
 * tests/smp/make_vectors.py): bytes and keys (SPKI DER) as hex, bigints as numbers.
 */
export function toPlain(x: unknown): unknown {
  if (x instanceof Uint8Array) return toHex(x);
  if (x instanceof PublicKey) return toHex(x.toDer());
  if (typeof x === "bigint") return Number(x);
  if (Array.isArray(x)) return x.map(toPlain);
  if (x !== null && typeof x === "object") {
    return Object.fromEntries(Object.entries(x).filter(([, v]) => v !== undefined).map(([k, v]) => [k, toPlain(v)]));
  }
  return x;
}

/** Fields whose hex strings are public keys, byte strings, or Int64 numbers in the vector files. */
const KEY_FIELDS = new Set(["rcvAuthKey", "rcvDhKey", "senderKey", "srvDhKey", "authKey", "dhKey"]);
const BYTES_FIELDS = new Set(["basicAuth", "senderId", "linkId", "fixed", "user", "msgId", "body", "rcvId", "sndId", "serviceId", "notifierId"]);
const BIGINT_FIELDS = new Set(["ttl"]);

/** The inverse of {@link toPlain}, guided by the field names simplexmq gives these values. */
export function fromPlain<T>(x: unknown, field = ""): T {
  return fromPlainAny(x, field) as T;
}

function fromPlainAny(x: unknown, field: string): unknown {
  if (Array.isArray(x)) return x.map((i) => fromPlainAny(i, field));
  if (x !== null && typeof x === "object") {
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, fromPlainAny(v, k)]));
  }
  if (typeof x === "string" && KEY_FIELDS.has(field)) return PublicKey.fromDer(fromHex(x));
  if (typeof x === "string" && BYTES_FIELDS.has(field)) return fromHex(x);
  if (typeof x === "number" && BIGINT_FIELDS.has(field)) return BigInt(x);
  return x;
}
