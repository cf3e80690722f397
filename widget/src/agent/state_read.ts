/**
 * Reading a stored session back: the JSON forms of the ratchet (ratchet_json.ts
 * ratchetToJSON, byte for byte src/hushwire/agent/ratchet.py Ratchet.to_json) and of the
 * visitor (visitor.ts Visitor.state), every shape, size and count checked; anything malformed
 * is a DecodeError ("invalid ratchet state", "invalid session state") and nothing is made.
 *
 * Only a visitor that resumes needs this, so in the widget it is not in the core: the "restore"
 * module (modules/restore.ts) brings it into the crypto worker and Visitor.load finds it there
 * (modules/restore_hook.ts). It takes the core's key and ratchet classes as a {@link Kit}
 * instead of importing them, so the module carries no curve code of its own.
 */

import { base64urlDecode, type Bytes } from "../encoding.js";
import { DecodeError } from "../errors.js";
import { parseSMPServer, type SMPServer } from "../smp/address.js";
import type { KeyPair, PrivateKey, PublicKey } from "../crypto/keys.js";
import type { writeAhead } from "../worker/durable.js";
import type { QueueMode } from "../smp/commands.js";
import type { VersionRange } from "../smp/version.js";
import { parseTranscriptItem, type TranscriptItem } from "../rpc.js";
import type { checkVersions, Ratchet, RcvChain, Skipped, SkippedKey, SndChain } from "./ratchet.js";

/** The classes and checks of the core that a read state is made of. */
export interface Kit {
  KeyPair: typeof KeyPair;
  PrivateKey: typeof PrivateKey;
  PublicKey: typeof PublicKey;
  Ratchet: typeof Ratchet;
  checkVersions: typeof checkVersions;
  agentVersions: VersionRange;
}

/** The module's readers (modules/restore.ts puts them where modules/restore_hook.ts finds them). */
export interface Restorer {
  session: typeof readSession;
  visitor: typeof readVisitorState;
  /** The write-ahead of sealed states (worker/durable.ts): only a session that can be read back is sealed. */
  wal: typeof writeAhead;
}

/** A widget session's document beside the visitor's state (worker/service.ts #text), checked. */
export interface SessionDoc {
  /** The contact address, our connInfo (base64url), the owner's name, the transcript. */
  a: string;
  c: string;
  p: string;
  t: TranscriptItem[];
  /** Bodies held for the business module, the business chat's state, the visitor's state. */
  H: string[];
  g?: unknown;
  v?: unknown;
  /** false: sealed only for the hand-over to the business module's worker, not resumed. */
  r?: unknown;
}

/** The visitor's fields a {@link readVisitorState} gives back (visitor.ts owns their meaning). */
export interface VisitorFields {
  status: "invited" | "confirming" | "wait_hello" | "connected";
  agentVersion: number;
  x3dh: [KeyPair, KeyPair] | null;
  rcv: { rcvId: Bytes; sndId: Bytes; auth: KeyPair; dh: KeyPair; boxKey: Bytes; e2e: KeyPair; shared: Bytes | null; secured: boolean };
  /** `server`: the owner's relay (null in a state sealed before it was kept: the address's). */
  snd: { server: SMPServer | null; senderId: Bytes; peerE2e: PublicKey; mode: QueueMode; auth: KeyPair; e2e: PrivateKey; secured: boolean } | null;
  ratchet: Ratchet | null;
  peerInfo: Bytes;
  lastSndId: number;
  lastSndHash: Bytes;
  lastRcvId: number;
  lastRcvHash: Bytes;
  seen: Bytes[];
  sent: Map<number, Bytes>;
  outbox: { id: number; kind: OutgoingKind; body: Bytes; to: Bytes; signed: boolean }[];
}

export type OutgoingKind = "invitation" | "conf" | "conf_k" | "hello_reply" | "msg" | "receipt";

const KEY = 32;
const IV = 16;
/** How many hashes of received messages and of our sent ones a visitor keeps (visitor.ts). */
export const SEEN_HASHES = 64;
export const SENT_HASHES = 512;

/** Parse ratchetToJSON output (or Python's to_json). */
export function readRatchet(text: string, k: Kit): Ratchet {
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
    k.checkVersions(cur, mx);
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
    snd = { dhrr: new k.PublicKey("X448", key(dhrr, 56)), ck: key(ck), hk: key(hk) };
  }
  let rcv: RcvChain | null = null;
  if (d.rcv !== null) {
    const [ck, hk] = arr(d.rcv, 2);
    rcv = { ck: key(ck), hk: key(hk) };
  }
  return k.Ratchet.fromFields({
    currentVersion: cur,
    maxVersion: mx,
    ad,
    dhrs: new k.KeyPair(new k.PrivateKey("X448", key(d.dhrs, 56))),
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

/** Parse a Visitor.state. */
export function readVisitorState(state: unknown, k: Kit): VisitorFields {
  const bad = (): never => {
    throw new DecodeError("invalid session state");
  };
  const arr = (x: unknown, n: number): unknown[] => (Array.isArray(x) && x.length === n ? x : bad());
  const list = (x: unknown, max: number): unknown[] => (Array.isArray(x) && x.length <= max ? x : bad());
  const bytes = (x: unknown): Bytes => (x === "" ? new Uint8Array(0) : typeof x === "string" ? base64urlDecode(x) : bad());
  const sized = (x: unknown, n = 32): Bytes => {
    const b = bytes(x);
    return b.length === n ? b : bad();
  };
  const num = (x: unknown): number => (Number.isSafeInteger(x) && (x as number) >= 0 ? (x as number) : bad());
  const bool = (x: unknown): boolean => (typeof x === "boolean" ? x : bad());
  const pair = (x: unknown, alg: "Ed25519" | "X25519" | "X448"): KeyPair => new k.KeyPair(new k.PrivateKey(alg, sized(x, alg === "X448" ? 56 : 32)));
  // an auth key: X25519 marked "x:", else Ed25519 (the visitor's keys before X25519 auth)
  const auth = (x: unknown): KeyPair => (typeof x === "string" && x.startsWith("x:") ? pair(x.slice(2), "X25519") : pair(x, "Ed25519"));
  const smpServer = (x: unknown): SMPServer => {
    try {
      return parseSMPServer(typeof x === "string" ? x : "");
    } catch {
      return bad();
    }
  };
  const d = (typeof state === "object" && state !== null ? state : bad()) as Record<string, unknown>;
  const status = d.s;
  if (status !== "invited" && status !== "confirming" && status !== "wait_hello" && status !== "connected") return bad();
  const [rcvId, sndId, rAuth, dh, boxKey, e2e, shared, secured] = arr(d.r, 8);
  const rcv = {
    rcvId: bytes(rcvId),
    sndId: bytes(sndId),
    auth: auth(rAuth),
    dh: pair(dh, "X25519"),
    boxKey: sized(boxKey),
    e2e: pair(e2e, "X25519"),
    shared: shared === null ? null : sized(shared),
    secured: bool(secured),
  };
  const x3dh = d.x === null ? null : (arr(d.x, 2).map((x) => pair(x, "X448")) as [KeyPair, KeyPair]);
  let snd: VisitorFields["snd"] = null;
  if (d.q !== null) {
    const [senderId, peerE2e, mode, sAuth, sE2e, sSecured, sServer] = list(d.q, 7);
    snd = {
      server: sServer === undefined ? null : smpServer(sServer),
      senderId: bytes(senderId),
      peerE2e: new k.PublicKey("X25519", sized(peerE2e)),
      mode: mode === "M" || mode === "C" ? mode : bad(),
      auth: auth(sAuth),
      e2e: pair(sE2e, "X25519").private,
      secured: bool(sSecured),
    };
  }
  const ratchet = d.k === null ? null : typeof d.k === "string" ? readRatchet(d.k, k) : bad();
  // from "confirming" on, the owner's queue and the ratchet exist; before, our X3DH keys
  if (status === "invited" ? x3dh === null : snd === null || ratchet === null || rcv.shared === null) bad();
  const agentVersion = k.agentVersions.contains(num(d.v)) ? (d.v as number) : bad();
  const peerInfo = bytes(d.i);
  const [sId, sHash, rId, rHash] = arr(d.n, 4);
  return {
    status,
    agentVersion,
    x3dh,
    rcv,
    snd,
    ratchet,
    peerInfo,
    lastSndId: num(sId),
    lastSndHash: bytes(sHash),
    lastRcvId: num(rId),
    lastRcvHash: bytes(rHash),
    seen: list(d.h, SEEN_HASHES).map((x) => sized(x)),
    sent: new Map(
      list(d.m, SENT_HASHES).map((e) => {
        const [id, hash] = arr(e, 2);
        return [num(id), sized(hash)];
      }),
    ),
    outbox: list(d.b, 1000).map((e) => {
      const [id, kind, body, to, signed] = arr(e, 5);
      if (!["invitation", "conf", "conf_k", "hello_reply", "msg", "receipt"].includes(kind as string)) bad();
      return { id: num(id), kind: kind as OutgoingKind, body: bytes(body), to: bytes(to), signed: bool(signed) };
    }),
  };
}

/** The JSON value worker/service.ts sealText sealed; `error` if it does not open with `key` or is not JSON. */
export async function openText(key: CryptoKey, ad: Uint8Array<ArrayBuffer>, sealed: ArrayBuffer, error: Error): Promise<unknown> {
  const data = new Uint8Array(sealed);
  try {
    const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: data.slice(0, 12), additionalData: ad }, key, data.slice(12));
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(plain)) as unknown;
  } catch {
    throw error;
  }
}

/**
 * Open a widget session sealed under `key` with additional data `ad` and check its document;
 * `keep`: the most transcript items and held bodies it has.
 */
export async function readSession(key: CryptoKey, ad: Uint8Array<ArrayBuffer>, sealed: ArrayBuffer, keep: number): Promise<SessionDoc> {
  const d = (await openText(key, ad, sealed, new DecodeError("the sealed session does not open with this key"))) as Record<string, unknown>;
  const bad = new DecodeError("invalid session state");
  if (typeof d !== "object" || d === null || d.f !== 1 || typeof d.a !== "string" || typeof d.c !== "string" || typeof d.p !== "string" || !Array.isArray(d.t)) throw bad;
  const held = d.H ?? [];
  if (!Array.isArray(held) || held.length > keep || !held.every((h) => typeof h === "string")) throw bad;
  const t = d.t.map(parseTranscriptItem);
  if (t.length > keep || t.includes(null)) throw bad;
  return { ...d, t, H: held } as SessionDoc;
}
