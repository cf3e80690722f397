/**
 * X3DH key agreement and the double ratchet with header encryption (SimpleX e2e v2/v3).
 *
 * Mirrors src/hushwire/agent/ratchet.py (simplexmq Crypto/Ratchet.hs E2ERatchetParams,
 * E2ERatchetParamsUri, pqX3dhSnd/pqX3dhRcv, initSndRatchet/initRcvRatchet, rcEncryptHeader/
 * rcEncryptMsg, rcDecrypt, rootKdf/chainKdf; docs/protocol/agent.md, "X3DH", "Double ratchet"). Post-quantum
 * KEM is declined: our params and headers carry none; received KEM fields are skipped.
 *
 * Theory of operation. The initiator (the widget: it sends the invitation) publishes (k1, k2);
 * the joiner (the owner) answers with its own (k1, k2) in its confirmation. Both run X3DH
 * (three X448 DHs, HKDF-SHA512 "SimpleXX3DH") to a root key SK and header keys HK/NHK, with
 * AD = raw(joiner k1) ‖ raw(initiator k1). The joiner sends at once with a fresh ratchet key;
 * the initiator ({@link Ratchet.initInitiator}) has no sending chain until it decrypts the
 * joiner's first message. Each message header {maxVersion, DHRs, PN, Ns} is encrypted under the
 * sending header key; the receiver tries the header keys of stored skipped keys, then HKr (same
 * chain), then NHKr (the peer ratcheted: one DH step makes a new receiving and sending chain).
 * Skipped message keys are kept (at most {@link RATCHET_MAX_SKIP} per step and
 * {@link RATCHET_MAX_SKIPPED_KEYS} in all) so late messages decrypt exactly once.
 *
 * A {@link Ratchet} is immutable: encrypt and decrypt return the new state beside the result;
 * on any error the caller keeps the old one. {@link Ratchet.toJSON} is byte for byte the
 * Python store format (it holds secrets: never log it).
 */

import { base64urlDecode, base64urlEncode, concat, encode, Reader, type Bytes } from "../encoding.js";
import { CryptoError, DecodeError, HushwireError } from "../errors.js";
import { decryptAead, encryptAead } from "../crypto/aead_subtle.js";
import { constantTimeEqual } from "../crypto/ct.js";
import { hkdfSha512 } from "../crypto/kdf.js";
import { KeyPair, PrivateKey, PublicKey } from "../crypto/keys.js";
import { latin1 } from "../encoding.js";
import { RATCHET_MAX_SKIP, RATCHET_MAX_SKIPPED_KEYS } from "../limits.js";
import { VersionRange } from "../smp/version.js";
import { formatVersionRange, parseQuery, parseVersionRange, queryParam } from "./strings.js";

/** e2e v2: HKDF in X3DH. */
export const KDF_X3DH_E2E_VERSION = 2;
/** e2e v3: KEM field in params and headers, 2-byte length prefixes. */
export const PQ_RATCHET_E2E_VERSION = 3;
export const E2E_VERSIONS = new VersionRange(KDF_X3DH_E2E_VERSION, PQ_RATCHET_E2E_VERSION);
/** Our headers are padded to this (paddedHeaderLen without PQ support). */
export const HEADER_PAD = 88;

const X3DH_INFO = latin1("SimpleXX3DH");
const ROOT_INFO = latin1("SimpleXRootRatchet");
const CHAIN_INFO = latin1("SimpleXChainRatchet");
const LARGE_MARK = 0x20;
const GCM_IV_SIZE = 16;
const GCM_TAG_SIZE = 16;

// --------------------------------------------------------------------------- errors

export class RatchetError extends HushwireError {
  override name = "RatchetError";
}
/** The last message of the current chain, again. */
export class RatchetDuplicate extends RatchetError {
  override name = "RatchetDuplicate";
  constructor() {
    super("duplicate message");
  }
}
/** No header key opens the header. */
export class RatchetHeaderError extends RatchetError {
  override name = "RatchetHeaderError";
  constructor() {
    super("no header key opens the header");
  }
}

/**
 * The other ratchet failures are plain RatchetErrors: an earlier message without a stored key
 * (CERatchetEarlierMessage), too many skipped (CERatchetTooManySkipped), a KEM ciphertext we
 * never asked for (CERatchetKEMState).
 */
const earlier = (n: number): RatchetError => new RatchetError(`earlier message (${n})`);
const tooManySkipped = (n: number): RatchetError => new RatchetError(`too many skipped messages (${n})`);
const kemError = (): RatchetError => new RatchetError("unexpected KEM ciphertext");

// --------------------------------------------------------------------------- helpers

function encLarge(v: number, b: Bytes): Bytes {
  return encode((w) => (v >= PQ_RATCHET_E2E_VERSION ? w.large(b) : w.shortString(b)));
}

/** Ratchet.hs largeP: a first byte below 0x20 starts a 2-byte length. */
function largeP(r: Reader): Bytes {
  const first = r.peek();
  if (first === undefined) throw new DecodeError("no length");
  return first < LARGE_MARK ? r.large() : r.shortString();
}

function x448Key(r: Reader): PublicKey {
  const key = PublicKey.fromDer(r.shortString());
  if (key.alg !== "X448") throw new DecodeError("e2e keys must be X448");
  return key;
}

type Kem = "P" | "A" | null;

/** Maybe ARKEMParams: skipped; null, "P" (proposed key) or "A" (ciphertext and key). */
function skipKem(r: Reader): Kem {
  const tag = r.byte();
  if (tag === 0x30) return null;
  if (tag !== 0x31) throw new DecodeError("invalid Maybe tag");
  const kind = r.byte();
  if (kind === 0x50) {
    r.large();
    return "P";
  }
  if (kind === 0x41) {
    r.large();
    r.large();
    return "A";
  }
  throw new DecodeError("bad ratchet KEM params");
}

function hkdf3(salt: Bytes, ikm: Bytes, info: Bytes): [Bytes, Bytes, Bytes] {
  const out = hkdfSha512(salt, ikm, info, 96);
  return [out.slice(0, 32), out.slice(32, 64), out.slice(64)];
}

/** Ratchet.hs rootKdf without KEM: [RK', CK, NHK]. */
export function rootKdf(rk: Bytes, dhOut: Bytes): [Bytes, Bytes, Bytes] {
  return hkdf3(rk, dhOut, ROOT_INFO);
}

/** Ratchet.hs chainKdf: [CK', MK, ivMsg, ivHdr]. */
export function chainKdf(ck: Bytes): [Bytes, Bytes, Bytes, Bytes] {
  const [ck2, mk, ivs] = hkdf3(new Uint8Array(0), ck, CHAIN_INFO);
  return [ck2, mk, ivs.slice(0, 16), ivs.slice(16)];
}

// --------------------------------------------------------------------------- e2e params

/** Binary e2e params of a confirmation (Word16 version, k1, k2, from v3 Maybe KEM). */
export class E2ERatchetParams {
  constructor(
    readonly version: number,
    readonly k1: PublicKey,
    readonly k2: PublicKey,
    /** The peer sent KEM params (ignored: we decline PQ). */
    readonly peerOfferedKem = false,
    /** Those params were an acceptance (a ciphertext). */
    readonly peerKemAccepted = false,
  ) {
    if (k1.alg !== "X448" || k2.alg !== "X448") throw new RangeError("e2e ratchet params need X448 keys");
  }

  static parse(r: Reader): E2ERatchetParams {
    const v = r.word16();
    const k1 = x448Key(r);
    const k2 = x448Key(r);
    const kem = v >= PQ_RATCHET_E2E_VERSION ? skipKem(r) : null;
    return new E2ERatchetParams(v, k1, k2, kem !== null, kem === "A");
  }
}

/** The `e2e=` value of an invitation link: `v=2-3&x3dh=<k1>,<k2>` (not escaped inside). */
export class E2ERatchetParamsUri {
  constructor(
    readonly versions: VersionRange,
    readonly k1: PublicKey,
    readonly k2: PublicKey,
    readonly peerOfferedKem = false,
  ) {
    if (k1.alg !== "X448" || k2.alg !== "X448") throw new RangeError("e2e ratchet params need X448 keys");
  }

  toStr(): string {
    return `v=${formatVersionRange(this.versions)}&x3dh=${base64urlEncode(this.k1.toDer())},${base64urlEncode(this.k2.toDer())}`;
  }

  static parseStr(text: string): E2ERatchetParamsUri {
    const q = parseQuery(text);
    const v = queryParam(q, "v");
    if (v === null) throw new DecodeError("e2e params: no v");
    const versions = parseVersionRange(v, (m) => new DecodeError(`e2e params: ${m}`));
    const x3dh = queryParam(q, "x3dh");
    if (x3dh === null) throw new DecodeError("e2e params: no x3dh");
    const parts = x3dh.split(",");
    if (parts.length !== 2) throw new DecodeError("e2e params: x3dh needs two keys");
    const keys = parts.map((p) => PublicKey.fromDer(base64urlDecode(p)));
    if (keys.some((k) => k.alg !== "X448")) throw new DecodeError("e2e params: keys must be X448");
    let kem = false;
    if (versions.max >= PQ_RATCHET_E2E_VERSION) {
      const kemKey = queryParam(q, "kem_key");
      if (kemKey !== null) {
        base64urlDecode(kemKey);
        const kemCt = queryParam(q, "kem_ct");
        if (kemCt !== null) base64urlDecode(kemCt);
        kem = true;
      }
    }
    return new E2ERatchetParamsUri(versions, keys[0]!, keys[1]!, kem);
  }

}

// --------------------------------------------------------------------------- X3DH

/** X3DH output: header key, next header key, root key, associated data. Secrets. */
export interface X3DHKeys {
  readonly hk: Bytes;
  readonly nhk: Bytes;
  readonly sk: Bytes;
  readonly ad: Bytes;
}

function x3dh(joinerK1: PublicKey, initiatorK1: PublicKey, dh1: Bytes, dh2: Bytes, dh3: Bytes): X3DHKeys {
  const ikm = concat(dh1, dh2, dh3);
  const [hk, nhk, sk] = hkdf3(new Uint8Array(64), ikm, X3DH_INFO);
  ikm.fill(0);
  return { hk, nhk, sk, ad: concat(joinerK1.raw, initiatorK1.raw) };
}

/** The joiner's X3DH (pqX3dhSnd); a KEM proposal in `peer` is ignored. */
export function x3dhJoiner(k1: PrivateKey, k2: PrivateKey, peer: { k1: PublicKey; k2: PublicKey }): X3DHKeys {
  return x3dh(k1.public(), peer.k1, k2.dh(peer.k1), k1.dh(peer.k2), k2.dh(peer.k2));
}

/** The initiator's X3DH (pqX3dhRcv) with the joiner's params; RatchetKEMError for a KEM acceptance. */
export function x3dhInitiator(k1: PrivateKey, k2: PrivateKey, peer: E2ERatchetParams): X3DHKeys {
  if (peer.peerKemAccepted && peer.version >= PQ_RATCHET_E2E_VERSION) throw kemError();
  return x3dh(peer.k1, k1.public(), k1.dh(peer.k2), k2.dh(peer.k1), k2.dh(peer.k2));
}

// --------------------------------------------------------------------------- wire forms

export interface MsgHeader {
  maxVersion: number;
  dh: PublicKey;
  pn: number;
  ns: number;
  kem: Kem;
}

/** encodeMsgHeader: the v3+ form has a Maybe KEM field, always '0' from us. */
export function encodeMsgHeader(v: number, h: MsgHeader): Bytes {
  return encode((w) => {
    w.word16(h.maxVersion).shortString(h.dh.toDer());
    if (v >= PQ_RATCHET_E2E_VERSION) w.byte(0x30);
    w.word32(h.pn).word32(h.ns);
  });
}

/** msgHeaderP (trailing bytes allowed). */
export function decodeMsgHeader(v: number, data: Bytes): MsgHeader {
  const r = new Reader(data);
  const maxVersion = r.word16();
  const dh = x448Key(r);
  const kem = v >= PQ_RATCHET_E2E_VERSION ? skipKem(r) : null;
  const pn = r.word32();
  const ns = r.word32();
  return { maxVersion, dh, pn, ns, kem };
}

interface EncHeader {
  version: number;
  iv: Bytes;
  tag: Bytes;
  body: Bytes;
}

/** encRatchetMessageP + EncMessageHeader (strict): [emHeader, header, body tag, body]. */
function parseMessage(data: Bytes): [Bytes, EncHeader, Bytes, Bytes] {
  const r = new Reader(data);
  const emHeader = largeP(r);
  const tag = r.take(GCM_TAG_SIZE);
  const body = r.tail();
  const hr = new Reader(emHeader);
  const version = hr.word16();
  const iv = hr.take(GCM_IV_SIZE);
  const htag = hr.take(GCM_TAG_SIZE);
  const hbody = largeP(hr);
  hr.end();
  return [emHeader, { version, iv, tag: htag, body: hbody }, tag, body];
}

// --------------------------------------------------------------------------- the ratchet

export interface SndChain {
  readonly dhrr: PublicKey;
  readonly ck: Bytes;
  readonly hk: Bytes;
}
export interface RcvChain {
  readonly ck: Bytes;
  readonly hk: Bytes;
}
export type SkippedKey = readonly [number, Bytes, Bytes]; // Ns, MK, ivMsg
export interface Skipped {
  readonly hk: Bytes;
  readonly keys: readonly SkippedKey[];
}
type Added = [Bytes, SkippedKey[]][];

export interface Fields {
  readonly currentVersion: number;
  readonly maxVersion: number;
  readonly ad: Bytes;
  readonly dhrs: KeyPair;
  readonly rk: Bytes;
  readonly snd: SndChain | null;
  readonly rcv: RcvChain | null;
  readonly ns: number;
  readonly nr: number;
  readonly pn: number;
  readonly nhks: Bytes;
  readonly nhkr: Bytes;
  readonly skipped: readonly Skipped[];
  readonly peerOfferedKem: boolean;
}

class WrongKey extends Error {}

export function checkVersions(version: number, maxVersion: number): void {
  if (!E2E_VERSIONS.contains(version) || !E2E_VERSIONS.contains(maxVersion) || version > maxVersion) {
    throw new RangeError("e2e version not supported");
  }
}

/** One connection's double-ratchet state, immutable. */
export class Ratchet {
  readonly #f: Fields;

  private constructor(f: Fields) {
    this.#f = f;
  }

  #with(patch: Partial<Fields>): Ratchet {
    return new Ratchet({ ...this.#f, ...patch });
  }

  /** The current ratchet version (what our headers are encoded at). */
  get version(): number {
    return this.#f.currentVersion;
  }
  get skippedCount(): number {
    return this.#f.skipped.reduce((n, s) => n + s.keys.length, 0);
  }

  /** initRcvRatchet: DHRs = our k2, RK = SK, NHKs = NHK, NHKr = HK, no chains. */
  static initInitiator(keys: X3DHKeys, ownK2: KeyPair, version: number, opts: { maxVersion?: number } = {}): Ratchet {
    const maxVersion = opts.maxVersion ?? E2E_VERSIONS.max;
    checkVersions(version, maxVersion);
    return new Ratchet({
      currentVersion: version,
      maxVersion,
      ad: keys.ad,
      dhrs: ownK2,
      rk: keys.sk,
      snd: null,
      rcv: null,
      ns: 0,
      nr: 0,
      pn: 0,
      nhks: keys.nhk,
      nhkr: keys.hk,
      skipped: [],
      peerOfferedKem: false,
    });
  }

  // ------------------------------------------------------------------ encrypt

  /** rcEncryptHeader + rcEncryptMsg: [EncRatchetMessage, new state]; body padded to `padTo`. */
  async encrypt(plaintext: Bytes, padTo: number): Promise<[Bytes, Ratchet]> {
    const f = this.#f;
    if (f.snd === null) throw new RatchetError("no sending chain yet");
    if (plaintext.length > padTo - 2) throw new RangeError("message too long");
    const [ck, mk, iv, hiv] = chainKdf(f.snd.ck);
    const v = f.currentVersion;
    const header = encodeMsgHeader(v, { maxVersion: Math.max(f.maxVersion, v), dh: f.dhrs.public, pn: f.pn, ns: f.ns, kem: null });
    const [hct, htag] = await encryptAead(f.snd.hk, hiv, HEADER_PAD, f.ad, header);
    const emHeader = concat(encode((w) => w.word16(v)), hiv, htag, encLarge(v, hct));
    const [bct, btag] = await encryptAead(mk, iv, padTo, concat(f.ad, emHeader), plaintext);
    mk.fill(0);
    const out = concat(encLarge(v, emHeader), btag, bct);
    return [out, this.#with({ snd: { ...f.snd, ck }, ns: f.ns + 1 })];
  }

  // ------------------------------------------------------------------ decrypt

  /**
   * rcDecrypt: [unpadded plaintext, new state]. `newDh` is the next ratchet key if this message
   * makes a DH step (fresh when not given). Errors leave no trace: keep the old state.
   */
  async decrypt(enc: Bytes, newDh?: KeyPair): Promise<[Bytes, Ratchet]> {
    const f = this.#f;
    const [emHeader, eh, tag, body] = parseMessage(enc);
    // 1. Header keys of stored skipped message keys.
    for (const chain of f.skipped) {
      let hdr: MsgHeader;
      try {
        hdr = await this.#decryptHeader(chain.hk, eh);
      } catch (e) {
        if (e instanceof WrongKey) continue;
        throw e;
      }
      for (let i = 0; i < chain.keys.length; i++) {
        const [n, mk, iv] = chain.keys[i]!;
        if (n === hdr.ns) {
          const pt = await decryptAead(mk, iv, concat(f.ad, emHeader), body, tag);
          return [pt, this.#withoutSkipped(chain, i)];
        }
      }
      let advance: boolean;
      if (f.rcv !== null && constantTimeEqual(chain.hk, f.rcv.hk)) advance = false;
      else if (constantTimeEqual(chain.hk, f.nhkr)) advance = true;
      else throw new RatchetHeaderError();
      return this.#decryptRcMessage(advance, hdr, emHeader, tag, body, newDh);
    }
    // 2. The current receiving header key, then the next one.
    if (f.rcv !== null) {
      let same: MsgHeader | null = null;
      try {
        same = await this.#decryptHeader(f.rcv.hk, eh);
      } catch (e) {
        if (!(e instanceof WrongKey)) throw e;
      }
      if (same !== null) return this.#decryptRcMessage(false, same, emHeader, tag, body, newDh);
    }
    let hdr: MsgHeader;
    try {
      hdr = await this.#decryptHeader(f.nhkr, eh);
    } catch (e) {
      if (e instanceof WrongKey) throw new RatchetHeaderError();
      throw e;
    }
    return this.#decryptRcMessage(true, hdr, emHeader, tag, body, newDh);
  }

  async #decryptHeader(hk: Bytes, eh: EncHeader): Promise<MsgHeader> {
    let plain: Bytes;
    try {
      plain = await decryptAead(hk, eh.iv, this.#f.ad, eh.body, eh.tag);
    } catch (e) {
      if (e instanceof CryptoError) throw new WrongKey();
      throw e;
    }
    return decodeMsgHeader(eh.version, plain);
  }

  async #decryptRcMessage(advance: boolean, hdr: MsgHeader, emHeader: Bytes, tag: Bytes, body: Bytes, newDh?: KeyPair): Promise<[Bytes, Ratchet]> {
    let rc: Ratchet = this;
    const cur = rc.#f.currentVersion;
    if (hdr.maxVersion > cur) {
      // The peer supports more (docs/protocol/agent.md, "Double ratchet"); raise ours up to our maximum.
      rc = rc.#with({ currentVersion: Math.max(cur, Math.min(hdr.maxVersion, rc.#f.maxVersion)) });
    }
    const added: Added = [];
    if (advance) {
      rc = rc.#skip(hdr.pn, added);
      rc = rc.#ratchetStep(hdr, newDh);
    }
    rc = rc.#skip(hdr.ns, added);
    const rcv = rc.#f.rcv!;
    const [ck, mk, iv] = chainKdf(rcv.ck);
    const pt = await decryptAead(mk, iv, concat(rc.#f.ad, emHeader), body, tag);
    mk.fill(0);
    rc = rc.#with({ rcv: { ...rcv, ck }, nr: rc.#f.nr + 1 });
    if (hdr.kem !== null && !rc.#f.peerOfferedKem) rc = rc.#with({ peerOfferedKem: true });
    return [pt, rc.#withSkipped(added)];
  }

  /** skipMessageKeys: derive and collect the keys of messages nr..until-1. */
  #skip(until: number, added: Added): Ratchet {
    const f = this.#f;
    if (f.rcv === null) return this;
    const nr = f.nr;
    if (nr > until + 1) throw earlier(nr - until - 1);
    if (nr === until + 1) throw new RatchetDuplicate();
    if (nr + RATCHET_MAX_SKIP < until) throw tooManySkipped(until + 1 - nr);
    if (nr === until) return this;
    let ck = f.rcv.ck;
    const keys: SkippedKey[] = [];
    for (let n = nr; n < until; n++) {
      const [ck2, mk, iv] = chainKdf(ck);
      ck = ck2;
      keys.push([n, mk, iv]);
    }
    added.push([f.rcv.hk, keys]);
    return this.#with({ rcv: { ...f.rcv, ck }, nr: until });
  }

  /** The DH ratchet step with KEM declined. */
  #ratchetStep(hdr: MsgHeader, newDh?: KeyPair): Ratchet {
    if (hdr.kem === "A") throw kemError();
    const f = this.#f;
    const pair = newDh ?? KeyPair.generate("X448");
    const [rk, ckr, nhkr] = rootKdf(f.rk, f.dhrs.private.dh(hdr.dh));
    const [rk2, cks, nhks] = rootKdf(rk, pair.private.dh(hdr.dh));
    return this.#with({
      dhrs: pair,
      rk: rk2,
      snd: { dhrr: hdr.dh, ck: cks, hk: f.nhks },
      rcv: { ck: ckr, hk: f.nhkr },
      pn: f.ns,
      ns: 0,
      nr: 0,
      nhks,
      nhkr,
    });
  }

  #withoutSkipped(chain: Skipped, i: number): Ratchet {
    const keys = [...chain.keys.slice(0, i), ...chain.keys.slice(i + 1)];
    const out: Skipped[] = [];
    for (const c of this.#f.skipped) {
      if (c !== chain) out.push(c);
      else if (keys.length > 0) out.push({ hk: c.hk, keys });
    }
    return this.#with({ skipped: out });
  }

  #withSkipped(added: Added): Ratchet {
    if (added.length === 0) return this;
    const chains: Skipped[] = [...this.#f.skipped];
    for (const [hk, keys] of added) {
      const i = chains.findIndex((c) => constantTimeEqual(c.hk, hk));
      if (i >= 0) chains[i] = { hk, keys: [...chains[i]!.keys, ...keys] };
      else chains.push({ hk, keys });
    }
    let excess = chains.reduce((n, c) => n + c.keys.length, 0) - RATCHET_MAX_SKIPPED_KEYS;
    while (excess > 0) {
      const first = chains[0]!;
      if (first.keys.length <= excess) {
        excess -= first.keys.length;
        chains.shift();
      } else {
        chains[0] = { hk: first.hk, keys: first.keys.slice(excess) };
        excess = 0;
      }
    }
    return this.#with({ skipped: chains });
  }

  // ------------------------------------------------------------------ storage

  /** The state's fields, for ratchet_json.ts only (they hold secrets). */
  get fields(): Fields {
    return this.#f;
  }

  /** A ratchet from fields (ratchet_json.ts only). */
  static fromFields(f: Fields): Ratchet {
    return new Ratchet(f);
  }
}

/** initSndRatchet: fresh X448 DHRs (unless given), DHRr = the initiator's k2. */
export function initJoinerRatchet(keys: X3DHKeys, peerK2: PublicKey, version: number, opts: { dhPair?: KeyPair; maxVersion?: number } = {}): Ratchet {
  const maxVersion = opts.maxVersion ?? E2E_VERSIONS.max;
  checkVersions(version, maxVersion);
  const pair = opts.dhPair ?? KeyPair.generate("X448");
  const [rk, cks, nhks] = rootKdf(keys.sk, pair.private.dh(peerK2));
  return Ratchet.fromFields({
    currentVersion: version,
    maxVersion,
    ad: keys.ad,
    dhrs: pair,
    rk,
    snd: { dhrr: peerK2, ck: cks, hk: keys.hk },
    rcv: null,
    ns: 0,
    nr: 0,
    pn: 0,
    nhks,
    nhkr: keys.nhk,
    skipped: [],
    peerOfferedKem: false,
  });
}

/** E2ERatchetParams binary form (the joiner's confirmation; the widget as initiator sends none). */
export function encodeE2EParams(p: E2ERatchetParams): Bytes {
  return encode((w) => {
    w.word16(p.version).shortString(p.k1.toDer()).shortString(p.k2.toDer());
    if (p.version >= PQ_RATCHET_E2E_VERSION) w.byte(0x30);
  });
}
