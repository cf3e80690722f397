/**
 * Binary formats of the SimpleX agent protocol (sans-I/O).
 *
 * Mirrors src/hushwire/agent/protocol.py (simplexmq Agent/Protocol.hs AgentMsgEnvelope,
 * AgentMessage, APrivHeader, AMessage, AMessageReceipt, SMPQueueInfo; Protocol.hs
 * ClientMsgEnvelope, PubHeader, ClientMessage, PrivHeader; Compression.hs; Agent/Client.hs
 * agentCbEncrypt/agentCbDecrypt; see docs/protocol/agent.md). Type names match the Python
 * ones (AgentConfirmation, AgentInvitation, SMPQueueInfo, ...). Layers, outermost first:
 *
 *     ClientMsgEnvelope = PubHeader(Word16 version, Maybe X25519) | nonce(24) | Tail(crypto_box)
 *       -> pad(ClientMessage, 15904 | 16000)
 *     ClientMessage     = PrivHeader('K' key | '_') | AgentMsgEnvelope
 *     AgentMsgEnvelope  = Word16 agentVersion | 'C' | 'M' | 'I' | 'R' ...
 *       -> (double ratchet) -> AgentMessage ('I' | 'D' | 'R' | 'M')
 *
 * Every encoder writes what Haskell's smpEncode writes; every decoder consumes its whole input
 * and throws only DecodeError (zstd failures included).
 */

import { decompress as zstdDecompress } from "fzstd";

import { encode, parseAll, Reader, Writer, type Bytes } from "../encoding.js";
import { DecodeError } from "../errors.js";
import { sha256 } from "../crypto/hash.js";
import { PublicKey, type KeyAlg } from "../crypto/keys.js";
import { cbDecrypt, cbEncrypt, NONCE_SIZE } from "../crypto/nacl.js";
import { MAX_DECOMPRESSED_SIZE } from "../limits.js";
import { encodeServerBinary, parseServerBinary, type SMPServer } from "../smp/address.js";
import type { QueueMode } from "../smp/commands.js";
import { VersionRange } from "../smp/version.js";
import { E2ERatchetParams, encodeE2EParams } from "./ratchet.js";

// --------------------------------------------------------------------------- versions and sizes

export const DUPLEX_HANDSHAKE_SMPA_VERSION = 2;
export const DELIVERY_RCPTS_SMPA_VERSION = 4;
export const PQDR_SMPA_VERSION = 5;
export const RATCHET_ON_CONF_SMPA_VERSION = 7;
/** Agent (SMPA) versions we speak (supportedSMPAgentVRange). */
export const AGENT_VERSIONS = new VersionRange(DUPLEX_HANDSHAKE_SMPA_VERSION, RATCHET_ON_CONF_SMPA_VERSION);
export const INITIAL_SMP_CLIENT_VERSION = 1;
/** SMP client v2: several hosts per server in queue addresses. */
export const SRV_HOSTNAMES_SMP_CLIENT_VERSION = 2;
const SND_AUTH_KEY_SMP_CLIENT_VERSION = 3;
export const SHORT_LINKS_SMP_CLIENT_VERSION = 4;
/** Versions of queue addresses (supportedSMPClientVRange). */
export const SMP_CLIENT_VERSIONS = new VersionRange(INITIAL_SMP_CLIENT_VERSION, SHORT_LINKS_SMP_CLIENT_VERSION);
/** Version of queue addresses and of the PubHeader we write. */
export const SMP_CLIENT_VERSION = SHORT_LINKS_SMP_CLIENT_VERSION;

/** Per-queue box padding when the PubHeader carries a key (e2eEncConfirmationLength). */
export const E2E_CONFIRMATION_PAD = 15904;
/** Per-queue box padding of every other message (e2eEncMessageLength). */
export const E2E_MESSAGE_PAD = 16000;
/** Ratchet padding of confirmations and of messages (non-PQ connection). */
export const CONN_INFO_PAD = 14832;
export const AGENT_MSG_PAD = 15840;

// --------------------------------------------------------------------------- keys

function keyP(r: Reader, algs: readonly KeyAlg[]): PublicKey {
  const key = PublicKey.fromDer(r.shortString());
  if (!algs.includes(key.alg)) throw new DecodeError("unexpected key algorithm");
  return key;
}

const X25519_ONLY: readonly KeyAlg[] = ["X25519"];
const AUTH_ALGS: readonly KeyAlg[] = ["Ed25519", "Ed448", "X25519"];

// --------------------------------------------------------------------------- SMP server (binary)

/** SMPServer as SMPQueueInfo writes it (smp/address.ts): v2+ all hosts, v1 one host. */
export function encodeSMPServerBinary(w: Writer, server: SMPServer, clientVersion: number): void {
  encodeServerBinary(w, server, clientVersion <= INITIAL_SMP_CLIENT_VERSION);
}

export function parseSMPServerBinary(r: Reader, clientVersion: number): SMPServer {
  return parseServerBinary(r, clientVersion <= INITIAL_SMP_CLIENT_VERSION);
}

// --------------------------------------------------------------------------- SMPQueueInfo

/** queueModeP: an optional 'M'/'C', else an optional Bool (T = messaging). */
function queueModeP(r: Reader): QueueMode | null {
  const b = r.peek();
  let mode: QueueMode;
  if (b === 0x4d || b === 0x54) mode = "M";
  else if (b === 0x43 || b === 0x46) mode = "C";
  else return null;
  r.byte();
  return mode;
}

/** A queue address for one SMP client version (SMPQueueInfo). */
export interface SMPQueueInfo {
  clientVersion: number;
  server: SMPServer;
  senderId: Bytes;
  dhPublicKey: PublicKey;
  queueMode: QueueMode | null;
}

export function encodeSMPQueueInfo(w: Writer, q: SMPQueueInfo): void {
  if (q.dhPublicKey.alg !== "X25519") throw new RangeError("X25519 key needed");
  const v = q.clientVersion;
  w.word16(v);
  encodeSMPServerBinary(w, q.server, v);
  w.shortString(q.senderId).shortString(q.dhPublicKey.toDer());
  if (v >= SHORT_LINKS_SMP_CLIENT_VERSION) {
    if (q.queueMode !== null) w.ascii(q.queueMode);
  } else if (v >= SND_AUTH_KEY_SMP_CLIENT_VERSION && q.queueMode === "M") w.ascii("T");
}

export function parseSMPQueueInfo(r: Reader): SMPQueueInfo {
  const clientVersion = r.word16();
  const server = parseSMPServerBinary(r, clientVersion);
  const senderId = r.shortString();
  const dhPublicKey = keyP(r, X25519_ONLY);
  return { clientVersion, server, senderId, dhPublicKey, queueMode: queueModeP(r) };
}

// --------------------------------------------------------------------------- per-queue e2e

/** The SEND body: PubHeader (Word16 version, Maybe X25519 key) | nonce(24) | Tail box. */
export interface ClientMsgEnvelope {
  phVersion: number;
  e2eKey: PublicKey | null;
  nonce: Bytes;
  encBody: Bytes;
}

export function encodeClientMsgEnvelope(e: ClientMsgEnvelope): Bytes {
  if (e.nonce.length !== NONCE_SIZE) throw new RangeError("nonce must be 24 bytes");
  if (e.e2eKey !== null && e.e2eKey.alg !== "X25519") throw new RangeError("X25519 key needed");
  return encode((w) => {
    w.word16(e.phVersion).maybe(e.e2eKey, (w2, k) => void w2.shortString(k.toDer()));
    w.bytes(e.nonce).bytes(e.encBody);
  });
}

export function decodeClientMsgEnvelope(data: Bytes): ClientMsgEnvelope {
  return parseAll(data, (r) => {
    const phVersion = r.word16();
    const e2eKey = r.maybe((x) => keyP(x, X25519_ONLY));
    return { phVersion, e2eKey, nonce: r.take(NONCE_SIZE), encBody: r.tail() };
  });
}

/** cmEncBody: crypto_box of pad(clientMessage, padTo) under the per-queue key (dhBoxKey). */
export function encryptClientMessage(sharedKey: Bytes, nonce: Bytes, clientMessage: Bytes, padTo: number): Bytes {
  return cbEncrypt(sharedKey, nonce, clientMessage, padTo);
}

/** Open cmEncBody and unpad it; any failure is the opaque CryptoError. */
export function decryptClientMessage(sharedKey: Bytes, nonce: Bytes, encBody: Bytes): Bytes {
  return cbDecrypt(sharedKey, nonce, encBody);
}

export type PrivHeader = PHConfirmation | PHEmpty;
/** PrivHeader 'K': the sender's auth key, for the recipient to secure the queue. */
export type PHConfirmation = { tag: "K"; senderKey: PublicKey };
export type PHEmpty = { tag: "_" };

/** The padded plaintext of the per-queue box: PrivHeader | body (the rest). */
export interface ClientMessage {
  privHeader: PrivHeader;
  body: Bytes;
}

export function encodeClientMessage(cm: ClientMessage): Bytes {
  return encode((w) => {
    if (cm.privHeader.tag === "K") {
      if (!AUTH_ALGS.includes(cm.privHeader.senderKey.alg)) throw new RangeError("bad auth key");
      w.ascii("K").shortString(cm.privHeader.senderKey.toDer());
    } else w.ascii("_");
    w.bytes(cm.body);
  });
}

export function decodeClientMessage(data: Bytes): ClientMessage {
  return parseAll(data, (r) => {
    const tag = r.byte();
    let privHeader: PrivHeader;
    if (tag === 0x4b) privHeader = { tag: "K", senderKey: keyP(r, AUTH_ALGS) };
    else if (tag === 0x5f) privHeader = { tag: "_" };
    else throw new DecodeError("invalid PrivHeader");
    return { privHeader, body: r.tail() };
  });
}

// --------------------------------------------------------------------------- agent envelopes

export type AgentEnvelope = AgentConfirmation | AgentMsgEnvelope | AgentInvitation | AgentRatchetKey;
/** 'C': the joiner's ratchet parameters (null from the initiator) and the encrypted connInfo. */
export type AgentConfirmation = { tag: "C"; agentVersion: number; e2e: E2ERatchetParams | null; encConnInfo: Bytes };
/** 'M': a ratchet-encrypted AgentMessage. */
export type AgentMsgEnvelope = { tag: "M"; agentVersion: number; encAgentMessage: Bytes };
/** 'I': an invitation link and plain connInfo, sent to a contact address. */
export type AgentInvitation = { tag: "I"; agentVersion: number; connReq: Bytes; connInfo: Bytes };
/** 'R': new ratchet parameters for ratchet re-synchronisation. */
export type AgentRatchetKey = { tag: "R"; agentVersion: number; e2e: E2ERatchetParams; info: Bytes };

export function encodeAgentEnvelope(e: AgentEnvelope): Bytes {
  return encode((w) => {
    w.word16(e.agentVersion).ascii(e.tag);
    switch (e.tag) {
      case "C":
        w.maybe(e.e2e, (w2, p) => void w2.bytes(encodeE2EParams(p))).bytes(e.encConnInfo);
        break;
      case "M":
        w.bytes(e.encAgentMessage);
        break;
      case "I":
        w.large(e.connReq).bytes(e.connInfo);
        break;
      case "R":
        w.bytes(encodeE2EParams(e.e2e)).bytes(e.info);
        break;
    }
  });
}

/** Decode the body of a ClientMessage (AgentMsgEnvelope smpP). */
export function parseAgentEnvelope(data: Bytes): AgentEnvelope {
  return parseAll(data, (r) => {
    const agentVersion = r.word16();
    const tag = r.byte();
    if (tag === 0x43) {
      const e2e = r.maybe((x) => E2ERatchetParams.parse(x));
      return { tag: "C", agentVersion, e2e, encConnInfo: r.tail() };
    }
    if (tag === 0x4d) return { tag: "M", agentVersion, encAgentMessage: r.tail() };
    if (tag === 0x49) {
      const connReq = r.large();
      return { tag: "I", agentVersion, connReq, connInfo: r.tail() };
    }
    if (tag === 0x52) {
      const e2e = E2ERatchetParams.parse(r);
      return { tag: "R", agentVersion, e2e, info: r.tail() };
    }
    throw new DecodeError("bad AgentMsgEnvelope");
  });
}

// --------------------------------------------------------------------------- AMessage

export interface AMessageReceipt {
  /** The sender's sndMsgId of the acknowledged message. */
  agentMsgId: bigint;
  /** SHA-256 of that whole AgentMessage. */
  msgHash: Bytes;
  rcptInfo: Bytes;
}

export type QueueMessageTag = "QC" | "QA" | "QK" | "QU" | "QT";

export type AMessage = HELLO | A_MSG | A_RCVD | EREADY | AMessageUnsupported;
export type HELLO = { tag: "HELLO" };
export type A_MSG = { tag: "A_MSG"; body: Bytes };
export type A_RCVD = { tag: "A_RCVD"; receipts: AMessageReceipt[] };
export type EREADY = { tag: "EREADY"; lastDecryptedMsgId: bigint };
/** A_QCONT / QADD / QKEY / QUSE / QTEST kept as their tag and (validated) encoding. */
export type AMessageUnsupported = { tag: "QUEUE"; qtag: QueueMessageTag; raw: Bytes };

function encodeAMessage(w: Writer, m: AMessage): void {
  switch (m.tag) {
    case "HELLO":
      w.ascii("H");
      return;
    case "A_MSG":
      w.ascii("M").bytes(m.body);
      return;
    case "A_RCVD":
      w.ascii("V").nonEmpty(m.receipts, (w2, x) => void w2.int64(x.agentMsgId).shortString(x.msgHash).large(x.rcptInfo));
      return;
    case "EREADY":
      w.ascii("E").int64(m.lastDecryptedMsgId);
      return;
    case "QUEUE":
      w.ascii(m.qtag).bytes(m.raw);
      return;
  }
}

/**
 * Validates the body of a queue-rotation message (QADD, QKEY, ...). The widget ignores those
 * messages, so by default only their tag is checked; `./strict.js` installs the full check of
 * the reference parser (the tests use it).
 */
export const queueMessageCheck: { check: (tag: QueueMessageTag, raw: Bytes) => void } = { check: () => undefined };

function parseAMessage(r: Reader): AMessage {
  const tag = r.byte();
  switch (tag) {
    case 0x48:
      return { tag: "HELLO" };
    case 0x4d:
      return { tag: "A_MSG", body: r.tail() };
    case 0x56:
      return {
        tag: "A_RCVD",
        receipts: r.nonEmpty((x) => ({ agentMsgId: x.int64(), msgHash: x.shortString(), rcptInfo: x.large() })),
      };
    case 0x45:
      return { tag: "EREADY", lastDecryptedMsgId: r.int64() };
    case 0x51: {
      const qtag = "Q" + String.fromCharCode(r.byte());
      if (qtag !== "QC" && qtag !== "QA" && qtag !== "QK" && qtag !== "QU" && qtag !== "QT") throw new DecodeError("bad AMsgType");
      const raw = r.tail();
      queueMessageCheck.check(qtag, raw);
      return { tag: "QUEUE", qtag, raw };
    }
    default:
      throw new DecodeError("bad AMsgType");
  }
}

// --------------------------------------------------------------------------- AgentMessage

/** sndMsgId Int64 | prevMsgHash shortString (SHA-256 of the previous AgentMessage, or empty). */
export interface APrivHeader {
  sndMsgId: bigint;
  prevMsgHash: Bytes;
}

/** Every AgentMessage (Python's AgentMessageT; Python's AgentMessage is {@link AgentMessageM}). */
export type AgentMessage = AgentConnInfo | AgentConnInfoReply | AgentRatchetInfo | AgentMessageM;
export type AgentMessageT = AgentMessage;
/** 'I': the initiator's confirmation. */
export type AgentConnInfo = { tag: "I"; connInfo: Bytes };
/** 'D': the joiner's confirmation: its reply queues and connInfo. */
export type AgentConnInfoReply = { tag: "D"; queues: SMPQueueInfo[]; connInfo: Bytes };
export type AgentRatchetInfo = { tag: "R"; info: Bytes };
/** 'M': APrivHeader | AMessage. */
export type AgentMessageM = { tag: "M"; header: APrivHeader; message: AMessage };

export function encodeAgentMessage(m: AgentMessage): Bytes {
  if (m.tag === "M") return encodeAMsg(m.header, m.message);
  if (m.tag === "I") return encodeConnInfoMsg(m.connInfo);
  return encode((w) => {
    w.ascii(m.tag);
    if (m.tag === "D") w.nonEmpty(m.queues, encodeSMPQueueInfo).bytes(m.connInfo);
    else w.bytes(m.info);
  });
}

/** AgentConnInfo ('I'): the initiator's confirmation. */
export function encodeConnInfoMsg(connInfo: Bytes): Bytes {
  return encode((w) => w.ascii("I").bytes(connInfo));
}

/** 'M' APrivHeader AMessage. */
export function encodeAMsg(header: APrivHeader, message: AMessage): Bytes {
  return encode((w) => {
    w.ascii("M").int64(header.sndMsgId).shortString(header.prevMsgHash);
    encodeAMessage(w, message);
  });
}

/** Decode a ratchet-decrypted (unpadded) AgentMessage. */
export function parseAgentMessage(data: Bytes): AgentMessage {
  return parseAll(data, (r): AgentMessage => {
    const tag = r.byte();
    if (tag === 0x49) return { tag: "I", connInfo: r.tail() };
    if (tag === 0x44) {
      const queues = r.nonEmpty(parseSMPQueueInfo);
      return { tag: "D", queues, connInfo: r.tail() };
    }
    if (tag === 0x52) return { tag: "R", info: r.tail() };
    if (tag === 0x4d) {
      const header = { sndMsgId: r.int64(), prevMsgHash: r.shortString() };
      return { tag: "M", header, message: parseAMessage(r) };
    }
    throw new DecodeError("bad AgentMessage");
  });
}

/** SHA-256 of the whole unpadded AgentMessage: prevMsgHash and receipt msgHash. */
export function agentMessageHash(encodedAgentMessage: Bytes): Bytes {
  return sha256(encodedAgentMessage);
}

// --------------------------------------------------------------------------- compression

export type CompressedBody = Passthrough | Compressed;
/** '0' shortString: a short body left as it is. */
export type Passthrough = { tag: "0"; data: Bytes };
/** '1' Large: one zstd frame. */
export type Compressed = { tag: "1"; frame: Bytes };

export function parseCompressed(r: Reader): CompressedBody {
  const tag = r.byte();
  if (tag === 0x30) return { tag: "0", data: r.shortString() };
  if (tag === 0x31) return { tag: "1", frame: r.large() };
  throw new DecodeError("unknown Compressed tag");
}

const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

/**
 * The declared content size of a zstd frame after checking that `frame` is exactly one
 * complete frame (header, blocks, optional checksum) and nothing else; -1 if no size is declared.
 */
function zstdFrameSize(frame: Bytes): number {
  const bad = (): never => {
    throw new DecodeError("invalid zstd frame");
  };
  if (frame.length < 6 || ZSTD_MAGIC.some((b, i) => frame[i] !== b)) bad();
  const fhd = frame[4]!;
  if (fhd & 0x08) bad();
  const single = (fhd >> 5) & 1;
  const fcsFlag = fhd >> 6;
  const dictBytes = [0, 1, 2, 4][fhd & 3]!;
  const fcsBytes = fcsFlag === 0 ? single : 1 << fcsFlag;
  let pos = 5 + (single ? 0 : 1) + dictBytes;
  if (pos + fcsBytes > frame.length) bad();
  let size = -1;
  if (fcsBytes > 0) {
    size = 0;
    for (let i = fcsBytes - 1; i >= 0; i--) {
      if (size > 2 ** 40) return Number.MAX_SAFE_INTEGER; // far above any cap
      size = size * 256 + frame[pos + i]!;
    }
    if (fcsBytes === 2) size += 256;
  }
  pos += fcsBytes;
  for (;;) {
    if (pos + 3 > frame.length) bad();
    const h = frame[pos]! | (frame[pos + 1]! << 8) | (frame[pos + 2]! << 16);
    pos += 3;
    const type = (h >> 1) & 3;
    if (type === 3) bad();
    pos += type === 1 ? 1 : h >>> 3;
    if (pos > frame.length) bad();
    if (h & 1) break;
  }
  if (fhd & 0x04) pos += 4;
  if (pos !== frame.length) bad();
  return size;
}

/**
 * limitDecompress1: the frame must declare its size, at most `limit`, and hold exactly one
 * frame of exactly that size; anything else is a DecodeError.
 */
export function decompress1(item: CompressedBody, limit = MAX_DECOMPRESSED_SIZE): Bytes {
  if (item.tag === "0") return item.data;
  const size = zstdFrameSize(item.frame);
  if (size < 0 || size > limit) throw new DecodeError("bad compressed size");
  let out: Bytes;
  try {
    out = zstdDecompress(item.frame);
  } catch {
    throw new DecodeError("invalid zstd frame");
  }
  if (out.length !== size) throw new DecodeError("invalid zstd frame");
  return out;
}

/** Decode and decompress the NonEmpty list after a chat body's 'X'. */
export function decompressCompressedList(data: Bytes, limit = MAX_DECOMPRESSED_SIZE): Bytes[] {
  const items = parseAll(data, (r) => r.nonEmpty(parseCompressed));
  return items.map((c) => decompress1(c, limit));
}
