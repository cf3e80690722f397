/**
 * The plaintext ratchet MsgHeader against tests/vectors/agent_msgheader.json, both ways: the
 * same file tests/agent/test_ratchet_msgheader.py reads (bytes hand-assembled from simplexmq
 * Simplex.Messaging.Crypto.Ratchet encodeMsgHeader/msgHeaderP by
 * tests/vectors/generators/agent_msgheader.py).
 */

import { describe, expect, it } from "vitest";

import { toHex } from "../src/encoding.js";
import { DecodeError } from "../src/errors.js";
import { PublicKey } from "../src/crypto/keys.js";
import { decodeMsgHeader, E2E_VERSIONS, encodeMsgHeader, type MsgHeader } from "../src/agent/ratchet.js";
import { h, loadVectors } from "./vectors.js";

interface Decoded {
  max_version: number;
  dh_spki_hex: string;
  pn: number;
  ns: number;
  kem: "P" | "A" | null;
}
interface Case {
  name: string;
  e2e_version: number;
  decoded: Decoded;
  hex: string;
}
interface File {
  versions: number[];
  headers: Case[];
  decode_only: Case[];
  invalid: { name: string; e2e_version: number; hex: string }[];
}

const V = loadVectors<File>("agent_msgheader.json");

const header = (d: Decoded): MsgHeader => ({
  maxVersion: d.max_version,
  dh: PublicKey.fromDer(h(d.dh_spki_hex)),
  pn: d.pn,
  ns: d.ns,
  kem: d.kem,
});

function expectHeader(got: MsgHeader, want: Decoded): void {
  expect(got.maxVersion).toBe(want.max_version);
  expect(toHex(got.dh.toDer())).toBe(want.dh_spki_hex);
  expect(got.pn).toBe(want.pn);
  expect(got.ns).toBe(want.ns);
  expect(got.kem).toBe(want.kem);
}

describe("agent_msgheader.json", () => {
  it("covers every supported e2e version", () => {
    const versions: number[] = [];
    for (let v = E2E_VERSIONS.min; v <= E2E_VERSIONS.max; v++) versions.push(v);
    expect(V.versions).toEqual(versions);
  });

  for (const c of V.headers) {
    it(`v${c.e2e_version} ${c.name}: encodes and decodes`, () => {
      expect(toHex(encodeMsgHeader(c.e2e_version, header(c.decoded)))).toBe(c.hex);
      expectHeader(decodeMsgHeader(c.e2e_version, h(c.hex)), c.decoded);
    });
  }

  for (const c of V.decode_only) {
    it(`decodes: ${c.name}`, () => {
      expectHeader(decodeMsgHeader(c.e2e_version, h(c.hex)), c.decoded);
    });
  }

  for (const c of V.invalid) {
    it(`rejects: ${c.name}`, () => {
      expect(() => decodeMsgHeader(c.e2e_version, h(c.hex))).toThrow(DecodeError);
    });
  }
});
