/**
 * The ratchet's storage form: compact JSON, byte for byte what src/hushwire/agent/ratchet.py
 * Ratchet.to_json writes (secrets as padded base64url), so a state moves between the Python
 * agent and the widget. It holds every secret of the conversation: seal it, never log it.
 * A separate module so the worker bundle carries it only when it stores states.
 */

import { base64urlDecode, base64urlEncode, concat, type Bytes } from "../encoding.js";
import { DecodeError } from "../errors.js";
import { KeyPair, PrivateKey, PublicKey } from "../crypto/keys.js";
import { checkVersions, Ratchet, type RcvChain, type Skipped, type SkippedKey, type SndChain } from "./ratchet.js";

const KEY = 32;
const IV = 16;

export function ratchetToJSON(r: Ratchet): string {
  const f = r.fields;
  const b = (x: Bytes): string => base64urlEncode(x);
  return JSON.stringify({
    f: 1,
    v: [f.currentVersion, f.maxVersion],
    ad: b(f.ad),
    dhrs: b(f.dhrs.private.exportRaw()),
    rk: b(f.rk),
    snd: f.snd === null ? null : [b(f.snd.dhrr.raw), b(f.snd.ck), b(f.snd.hk)],
    rcv: f.rcv === null ? null : [b(f.rcv.ck), b(f.rcv.hk)],
    n: [f.ns, f.nr, f.pn],
    nhk: [b(f.nhks), b(f.nhkr)],
    sk: f.skipped.map((c) => [b(c.hk), c.keys.map(([n, mk, iv]) => [n, b(concat(mk, iv))])]),
    kem: f.peerOfferedKem,
  });
}

/** Parse {@link ratchetToJSON} output (or Python's to_json); anything malformed is a DecodeError. */
export function ratchetFromJSON(text: string): Ratchet {
  const bad = (): never => {
    throw new DecodeError("invalid ratchet state");
  };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return bad();
  }
  const obj = (x: unknown): Record<string, unknown> => (typeof x === "object" && x !== null && !Array.isArray(x) ? (x as Record<string, unknown>) : bad());
  const arr = (x: unknown, n?: number): unknown[] => (Array.isArray(x) && (n === undefined || x.length === n) ? x : bad());
  const key = (x: unknown, size = KEY): Bytes => {
    if (typeof x !== "string") return bad();
    const raw = base64urlDecode(x);
    return raw.length === size ? raw : bad();
  };
  const count = (x: unknown): number => (typeof x === "number" && Number.isInteger(x) && x >= 0 && x <= 0xffffffff ? x : bad());
  const d = obj(doc);
  if (d.f !== 1) bad();
  const [cur, mx] = arr(d.v, 2);
  if (typeof cur !== "number" || typeof mx !== "number") return bad();
  try {
    checkVersions(cur, mx);
  } catch {
    bad();
  }
  const [ns, nr, pn] = arr(d.n, 3).map(count) as [number, number, number];
  const [nhks, nhkr] = arr(d.nhk, 2).map((x) => key(x)) as [Bytes, Bytes];
  const skipped: Skipped[] = arr(d.sk).map((c) => {
    const [hk, keys] = arr(c, 2);
    const entries: SkippedKey[] = arr(keys).map((e) => {
      const [n, mkiv] = arr(e, 2);
      const raw = key(mkiv, KEY + IV);
      return [count(n), raw.slice(0, KEY), raw.slice(KEY)] as const;
    });
    if (entries.length === 0) bad();
    return { hk: key(hk), keys: entries };
  });
  if (typeof d.kem !== "boolean" || typeof d.ad !== "string") bad();
  const ad = base64urlDecode(d.ad as string);
  if (ad.length !== 112) bad();
  let snd: SndChain | null = null;
  if (d.snd !== null) {
    const [dhrr, ck, hk] = arr(d.snd, 3);
    snd = { dhrr: new PublicKey("X448", key(dhrr, 56)), ck: key(ck), hk: key(hk) };
  }
  let rcv: RcvChain | null = null;
  if (d.rcv !== null) {
    const [ck, hk] = arr(d.rcv, 2);
    rcv = { ck: key(ck), hk: key(hk) };
  }
  return Ratchet.fromFields({
    currentVersion: cur,
    maxVersion: mx,
    ad,
    dhrs: new KeyPair(new PrivateKey("X448", key(d.dhrs, 56))),
    rk: key(d.rk),
    snd,
    rcv,
    ns,
    nr,
    pn,
    nhks,
    nhkr,
    skipped,
    peerOfferedKem: d.kem as boolean,
  });
}
