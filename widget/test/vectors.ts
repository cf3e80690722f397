/**
 * Test helpers: read the shared vector files (../tests/vectors/*.json) that the Python suite
 * pins, keeping integers of 16+ digits exact (as decimal strings) since JSON numbers are doubles.
 */

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import { fromHex } from "../src/encoding.js";

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
