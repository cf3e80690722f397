/**
 * The SMP commands and server responses the visitor uses, with per-version encodings
 * (src/hushwire/smp/commands.py; simplexmq Protocol.hs Command/BrokerMsg encodeProtocol /
 * protocolP, checkCredentials; docs/protocol/smp.md).
 *
 * Commands: NEW, KEY, SKEY, SUB, SEND, ACK, GET, OFF, DEL, PING, and the short-link client
 * commands LKEY/LGET. Responses: IDS, LNK, MSG, OK, SOK, END, DELD, PONG, ERR. Any other
 * response tag decodes as `CMD UNKNOWN` here (the visitor never asks for them). Private
 * routing's PRXY/PFWD and PKEY/PRES pass their parameters through as bytes: their codec is
 * smp/proxy.ts, in the "proxy" module (docs/widget.md), so the core carries only the tags.
 *
 * Parsing is strict: the parameters must be consumed exactly. An unknown tag throws
 * CommandDecodeError("UNKNOWN"), bad parameters CommandDecodeError("SYNTAX").
 *
 * Version-dependent encodings: NEW (v6-8 / v9-14 / v15-16 / v17+), IDS (v6-8 / v9-14 / v15 /
 * v16 / v17+), SOK (OK below v16), DELD (END below v10), ERR BLOCKED (AUTH below v12, notice
 * dropped below v18). Fields a version cannot carry are dropped, as the reference does.
 */

import { DecodeError } from "../errors.js";
import { encode, latin1Decode, type Writer } from "../encoding.js";
import { PublicKey } from "../crypto/keys.js";
import { encodeErrorType, parseErrorType, type CommandError, type ErrorType } from "./errors.js";
import { parseAll, type SmpReader } from "./reader.js";
import {
  BLOCKED_ENTITY_VERSION,
  CLIENT_NOTICES_VERSION,
  DELETED_EVENT_VERSION,
  NEW_NTF_CREDS_VERSION,
  SERVICE_CERTS_VERSION,
  SHORT_LINKS_VERSION,
  SND_AUTH_KEY_VERSION,
} from "./version.js";

/** A command or response that does not decode; `error` is what a server answers (ERR CMD). */
export class CommandDecodeError extends DecodeError {
  override name = "CommandDecodeError";
  readonly error: CommandError;
  constructor(error: CommandError) {
    super(`CMD ${error}`);
    this.error = error;
  }
}

// --------------------------------------------------------------------------- field types

export type SubscriptionMode = "S" | "C";
export type QueueMode = "M" | "C";

export interface QueueLinkData {
  fixed: Uint8Array;
  user: Uint8Array;
}

export type QueueReqData =
  | { mode: "M"; link: { senderId: Uint8Array; data: QueueLinkData } | null }
  | { mode: "C"; link: { linkId: Uint8Array; senderId: Uint8Array; data: QueueLinkData } | null };

export interface NewNtfCreds {
  authKey: PublicKey;
  dhKey: PublicKey;
}

export interface ServerNtfCreds {
  notifierId: Uint8Array;
  dhKey: PublicKey;
}

function checkAuthKey(k: PublicKey): void {
  if (k.alg === "X448") throw new RangeError(`${k.alg} key cannot be used for authorization`);
}

function checkDhKey(k: PublicKey): void {
  if (k.alg !== "X25519") throw new RangeError("X25519 key expected");
}

function encKey(w: Writer, k: PublicKey): void {
  w.shortString(k.toDer());
}

/** APublicAuthKey: Ed25519, Ed448 or X25519 SPKI in a shortString. */
export function parseAuthKey(r: SmpReader): PublicKey {
  const k = PublicKey.fromDer(r.shortString());
  if (k.alg === "X448") throw new DecodeError("key cannot be used for authorization");
  return k;
}

/** PublicKeyX25519 SPKI in a shortString. */
export function parseDhKey(r: SmpReader): PublicKey {
  const k = PublicKey.fromDer(r.shortString());
  if (k.alg !== "X25519") throw new DecodeError("X25519 key expected");
  return k;
}

/** BasicAuth characters: printable Latin-1, no space, no `@ : /` (Protocol.hs). */
export function basicAuthOk(b: Uint8Array): boolean {
  for (const c of b) {
    const ok = (c >= 0x21 && c <= 0x7e && c !== 0x40 && c !== 0x3a && c !== 0x2f) || (c >= 0xa1 && c <= 0xff && c !== 0xad);
    if (!ok) return false;
  }
  return true;
}

function parseBasicAuth(r: SmpReader): Uint8Array {
  const b = r.shortString();
  if (!basicAuthOk(b)) throw new DecodeError("invalid character in BasicAuth");
  return b;
}

function encLinkData(w: Writer, d: QueueLinkData): void {
  w.large(d.fixed).large(d.user);
}

function parseLinkData(r: SmpReader): QueueLinkData {
  return { fixed: r.large(), user: r.large() };
}

function encQueueReqData(w: Writer, q: QueueReqData): void {
  w.ascii(q.mode);
  if (q.mode === "M") {
    w.maybe(q.link, (x, l) => {
      x.shortString(l.senderId);
      encLinkData(x, l.data);
    });
  } else {
    w.maybe(q.link, (x, l) => {
      x.shortString(l.linkId).shortString(l.senderId);
      encLinkData(x, l.data);
    });
  }
}

function parseQueueReqData(r: SmpReader): QueueReqData {
  const c = latin1Decode(r.take(1));
  if (c === "M") return { mode: "M", link: r.maybe((x) => ({ senderId: x.shortString(), data: parseLinkData(x) })) };
  if (c === "C") {
    return {
      mode: "C",
      link: r.maybe((x) => ({ linkId: x.shortString(), senderId: x.shortString(), data: parseLinkData(x) })),
    };
  }
  throw new DecodeError("bad QueueReqData");
}

/** MsgFlags: one Bool; on parse any further bytes up to the next space are skipped. */
export interface MsgFlags {
  notification: boolean;
}

export function parseMsgFlags(r: SmpReader): MsgFlags {
  const notification = r.bool();
  r.takeTillSpace();
  return { notification };
}

// --------------------------------------------------------------------------- commands

export type Command =
  | {
      tag: "NEW";
      rcvAuthKey: PublicKey;
      rcvDhKey: PublicKey;
      basicAuth: Uint8Array | null;
      subMode: SubscriptionMode;
      queueReqData: QueueReqData | null;
      ntfCreds: NewNtfCreds | null;
    }
  | { tag: "KEY"; senderKey: PublicKey }
  | { tag: "SKEY"; senderKey: PublicKey }
  | { tag: "LKEY"; senderKey: PublicKey }
  | { tag: "SEND"; flags: MsgFlags; body: Uint8Array }
  | { tag: "ACK"; msgId: Uint8Array }
  | { tag: "SUB" | "GET" | "OFF" | "DEL" | "PING" | "LGET" }
  /** Private routing (smp/proxy.ts encodes the parameters): `raw` follows the tag as it is. */
  | { tag: "PRXY" | "PFWD"; raw: Uint8Array };

export type CommandTag = Command["tag"];

// One name per command, as in src/hushwire/smp/commands.py (a grep for the spec name finds both).
type CommandOf<T extends CommandTag> = Extract<Command, { tag: T }>;
export type NEW = CommandOf<"NEW">;
export type KEY = CommandOf<"KEY">;
export type SKEY = CommandOf<"SKEY">;
export type LKEY = CommandOf<"LKEY">;
export type SEND = CommandOf<"SEND">;
export type ACK = CommandOf<"ACK">;
export type SUB = { tag: "SUB" };
export type GET = { tag: "GET" };
export type OFF = { tag: "OFF" };
export type DEL = { tag: "DEL" };
export type PING = { tag: "PING" };
export type LGET = { tag: "LGET" };

/** Tag and parameters of `cmd` as sent at the negotiated `version`. */
export function encodeCommand(version: number, cmd: Command): Uint8Array {
  return encode((w) => {
    w.ascii(cmd.tag);
    switch (cmd.tag) {
      case "NEW": {
        checkAuthKey(cmd.rcvAuthKey);
        checkDhKey(cmd.rcvDhKey);
        if (cmd.basicAuth !== null && !basicAuthOk(cmd.basicAuth)) throw new RangeError("invalid character in BasicAuth");
        if (cmd.ntfCreds !== null) {
          checkAuthKey(cmd.ntfCreds.authKey);
          checkDhKey(cmd.ntfCreds.dhKey);
        }
        w.ascii(" ");
        encKey(w, cmd.rcvAuthKey);
        encKey(w, cmd.rcvDhKey);
        if (version >= SND_AUTH_KEY_VERSION) {
          w.maybe(cmd.basicAuth, (x, b) => x.shortString(b));
          w.ascii(cmd.subMode);
          if (version >= SHORT_LINKS_VERSION) {
            w.maybe(cmd.queueReqData, encQueueReqData);
            if (version >= NEW_NTF_CREDS_VERSION) {
              w.maybe(cmd.ntfCreds, (x, n) => {
                encKey(x, n.authKey);
                encKey(x, n.dhKey);
              });
            }
          } else {
            w.bool(cmd.queueReqData?.mode === "M");
          }
        } else {
          if (cmd.basicAuth !== null) w.ascii("A").shortString(cmd.basicAuth);
          w.ascii(cmd.subMode);
        }
        return;
      }
      case "KEY":
      case "SKEY":
      case "LKEY":
        checkAuthKey(cmd.senderKey);
        w.ascii(" ");
        encKey(w, cmd.senderKey);
        return;
      case "SEND":
        w.ascii(" ").bool(cmd.flags.notification).ascii(" ").bytes(cmd.body);
        return;
      case "ACK":
        w.ascii(" ").shortString(cmd.msgId);
        return;
      case "PRXY":
      case "PFWD":
        w.bytes(cmd.raw);
        return;
      default:
        return;
    }
  });
}

function parseNew(version: number, r: SmpReader): Command {
  r.sp();
  const rcvAuthKey = parseAuthKey(r);
  const rcvDhKey = parseDhKey(r);
  let basicAuth: Uint8Array | null;
  let subMode: SubscriptionMode;
  let queueReqData: QueueReqData | null = null;
  let ntfCreds: NewNtfCreds | null = null;
  const mode = (): SubscriptionMode => {
    const c = latin1Decode(r.take(1));
    if (c === "S" || c === "C") return c;
    throw new DecodeError("bad SubscriptionMode");
  };
  if (version >= SND_AUTH_KEY_VERSION) {
    basicAuth = r.maybe(parseBasicAuth);
    subMode = mode();
    if (version >= SHORT_LINKS_VERSION) {
      queueReqData = r.maybe(parseQueueReqData);
      if (version >= NEW_NTF_CREDS_VERSION) {
        ntfCreds = r.maybe((x) => ({ authKey: parseAuthKey(x), dhKey: parseDhKey(x) }));
      }
    } else {
      queueReqData = r.bool() ? { mode: "M", link: null } : { mode: "C", link: null };
    }
  } else {
    basicAuth = r.optional((x) => {
      x.expectAscii("A");
      return parseBasicAuth(x);
    });
    subMode = mode();
  }
  return { tag: "NEW", rcvAuthKey, rcvDhKey, basicAuth, subMode, queueReqData, ntfCreds };
}

const COMMAND_PARSERS: Readonly<Record<string, (version: number, r: SmpReader) => Command>> = {
  NEW: parseNew,
  KEY: (_v, r) => (r.sp(), { tag: "KEY", senderKey: parseAuthKey(r) }),
  SKEY: (_v, r) => (r.sp(), { tag: "SKEY", senderKey: parseAuthKey(r) }),
  LKEY: (_v, r) => (r.sp(), { tag: "LKEY", senderKey: parseAuthKey(r) }),
  SEND: (_v, r) => {
    r.sp();
    const flags = parseMsgFlags(r);
    r.sp();
    return { tag: "SEND", flags, body: r.tail() };
  },
  ACK: (_v, r) => (r.sp(), { tag: "ACK", msgId: r.shortString() }),
  SUB: () => ({ tag: "SUB" }),
  GET: () => ({ tag: "GET" }),
  OFF: () => ({ tag: "OFF" }),
  DEL: () => ({ tag: "DEL" }),
  PING: () => ({ tag: "PING" }),
  LGET: () => ({ tag: "LGET" }),
};

function splitTag(data: Uint8Array): string {
  const i = data.indexOf(0x20);
  return latin1Decode(i < 0 ? data : data.subarray(0, i));
}

/**
 * Decode a command sent at `version` (parseProtocol). Only the commands listed in the module
 * comment are known; any other tag is CMD UNKNOWN.
 */
export function decodeCommand(version: number, data: Uint8Array): Command {
  const tag = splitTag(data);
  const parser = Object.hasOwn(COMMAND_PARSERS, tag) ? COMMAND_PARSERS[tag] : undefined;
  if (parser === undefined) throw new CommandDecodeError("UNKNOWN");
  try {
    return parseAll(data.subarray(tag.length), (r) => parser(version, r));
  } catch (e) {
    if (e instanceof DecodeError) throw new CommandDecodeError("SYNTAX");
    throw e;
  }
}

/**
 * Credential shape of a command (Protocol.hs checkCredentials); null when fine.
 * NEW: auth required, no entity. SEND: entity. PING: neither. LGET: entity, no auth.
 * All others: auth and entity.
 */
export function checkCredentials(cmd: Command, hasAuth: boolean, entityId: Uint8Array): CommandError | null {
  const hasEntity = entityId.length > 0;
  switch (cmd.tag) {
    case "NEW":
      if (!hasAuth) return "NO_AUTH";
      return hasEntity ? "HAS_AUTH" : null;
    case "SEND":
      return hasEntity ? null : "NO_ENTITY";
    case "PING":
      return !hasAuth && !hasEntity ? null : "HAS_AUTH";
    case "LGET":
      if (!hasEntity) return "NO_ENTITY";
      return hasAuth ? "HAS_AUTH" : null;
    default:
      return hasAuth && hasEntity ? null : "NO_AUTH";
  }
}

// --------------------------------------------------------------------------- responses

export type BrokerMsg =
  | {
      tag: "IDS";
      rcvId: Uint8Array;
      sndId: Uint8Array;
      srvDhKey: PublicKey;
      queueMode: QueueMode | null;
      linkId: Uint8Array | null;
      serviceId: Uint8Array | null;
      serverNtfCreds: ServerNtfCreds | null;
    }
  | { tag: "LNK"; senderId: Uint8Array; data: QueueLinkData }
  | { tag: "SOK"; serviceId: Uint8Array | null }
  | { tag: "MSG"; msgId: Uint8Array; body: Uint8Array }
  | { tag: "ERR"; error: ErrorType }
  /** Private routing: what follows the tag's space, for smp/proxy.ts to decode. */
  | { tag: "PKEY"; data: Uint8Array }
  | { tag: "PRES"; data: Uint8Array }
  | { tag: "OK" | "END" | "DELD" | "PONG" };

export type BrokerMsgTag = BrokerMsg["tag"];

// One name per response, as in src/hushwire/smp/responses.py.
type ResponseOf<T extends BrokerMsgTag> = Extract<BrokerMsg, { tag: T }>;
export type IDS = ResponseOf<"IDS">;
export type LNK = ResponseOf<"LNK">;
export type SOK = ResponseOf<"SOK">;
export type MSG = ResponseOf<"MSG">;
export type ERR = ResponseOf<"ERR">;
export type OK = { tag: "OK" };
export type END = { tag: "END" };
export type DELD = { tag: "DELD" };
export type PONG = { tag: "PONG" };

/** The error as a peer of version `v` is sent it (only BLOCKED changes). */
function errorForVersion(e: ErrorType, v: number): ErrorType {
  if (e.tag !== "BLOCKED") return e;
  if (v < BLOCKED_ENTITY_VERSION) return { tag: "AUTH" };
  if (v < CLIENT_NOTICES_VERSION && e.info.notice !== null) {
    return { tag: "BLOCKED", info: { reason: e.info.reason, notice: null } };
  }
  return e;
}

/** Tag and parameters of a response as a server sends it at `version` (tests, fakes). */
export function encodeResponse(version: number, msg: BrokerMsg): Uint8Array {
  return encode((w) => {
    switch (msg.tag) {
      case "IDS":
        checkDhKey(msg.srvDhKey);
        w.ascii("IDS ").shortString(msg.rcvId).shortString(msg.sndId);
        encKey(w, msg.srvDhKey);
        if (version >= SHORT_LINKS_VERSION) {
          w.maybe(msg.queueMode, (x, m) => x.ascii(m));
          w.maybe(msg.linkId, (x, l) => x.shortString(l));
          if (version >= SERVICE_CERTS_VERSION) {
            w.maybe(msg.serviceId, (x, s) => x.shortString(s));
            if (version >= NEW_NTF_CREDS_VERSION) {
              w.maybe(msg.serverNtfCreds, (x, n) => {
                x.shortString(n.notifierId);
                encKey(x, n.dhKey);
              });
            }
          }
        } else if (version >= SND_AUTH_KEY_VERSION) {
          w.bool(msg.queueMode === "M");
        }
        return;
      case "LNK":
        w.ascii("LNK ").shortString(msg.senderId);
        encLinkData(w, msg.data);
        return;
      case "SOK":
        if (version < SERVICE_CERTS_VERSION) w.ascii("OK");
        else w.ascii("SOK ").maybe(msg.serviceId, (x, s) => x.shortString(s));
        return;
      case "MSG":
        w.ascii("MSG ").shortString(msg.msgId).bytes(msg.body);
        return;
      case "ERR":
        w.ascii("ERR ");
        encodeErrorType(w, errorForVersion(msg.error, version));
        return;
      case "DELD":
        w.ascii(version >= DELETED_EVENT_VERSION ? "DELD" : "END");
        return;
      case "PKEY":
      case "PRES":
        w.ascii(msg.tag + " ").bytes(msg.data);
        return;
      default:
        w.ascii(msg.tag);
    }
  });
}

function parseIds(version: number, r: SmpReader): BrokerMsg {
  r.sp();
  const rcvId = r.shortString();
  const sndId = r.shortString();
  const srvDhKey = parseDhKey(r);
  let queueMode: QueueMode | null = null;
  let linkId: Uint8Array | null = null;
  let serviceId: Uint8Array | null = null;
  let serverNtfCreds: ServerNtfCreds | null = null;
  if (version >= SHORT_LINKS_VERSION) {
    queueMode = r.maybe((x): QueueMode => {
      const c = latin1Decode(x.take(1));
      if (c === "M" || c === "C") return c;
      throw new DecodeError("bad QueueMode");
    });
    linkId = r.maybe((x) => x.shortString());
    if (version >= SERVICE_CERTS_VERSION) {
      serviceId = r.maybe((x) => x.shortString());
      if (version >= NEW_NTF_CREDS_VERSION) {
        serverNtfCreds = r.maybe((x) => ({ notifierId: x.shortString(), dhKey: parseDhKey(x) }));
      }
    }
  } else if (version >= SND_AUTH_KEY_VERSION) {
    queueMode = r.bool() ? "M" : "C";
  }
  return { tag: "IDS", rcvId, sndId, srvDhKey, queueMode, linkId, serviceId, serverNtfCreds };
}

const RESPONSE_PARSERS: Readonly<Record<string, (version: number, r: SmpReader) => BrokerMsg>> = {
  IDS: parseIds,
  LNK: (_v, r) => (r.sp(), { tag: "LNK", senderId: r.shortString(), data: parseLinkData(r) }),
  SOK: (_v, r) => (r.sp(), { tag: "SOK", serviceId: r.maybe((x) => x.shortString()) }),
  MSG: (_v, r) => {
    r.sp();
    const msgId = r.shortString();
    return { tag: "MSG", msgId, body: r.tail() };
  },
  ERR: (_v, r) => (r.sp(), { tag: "ERR", error: parseErrorType(r) }),
  OK: () => ({ tag: "OK" }),
  END: () => ({ tag: "END" }),
  DELD: () => ({ tag: "DELD" }),
  PONG: () => ({ tag: "PONG" }),
  PKEY: (_v, r) => (r.sp(), { tag: "PKEY", data: r.tail() }),
  PRES: (_v, r) => (r.sp(), { tag: "PRES", data: r.tail() }),
};

/** Decode a server response received at `version`; throws CommandDecodeError. */
export function decodeResponse(version: number, data: Uint8Array): BrokerMsg {
  const tag = splitTag(data);
  const parser = Object.hasOwn(RESPONSE_PARSERS, tag) ? RESPONSE_PARSERS[tag] : undefined;
  if (parser === undefined) throw new CommandDecodeError("UNKNOWN");
  try {
    return parseAll(data.subarray(tag.length), (r) => parser(version, r));
  } catch (e) {
    if (e instanceof DecodeError) throw new CommandDecodeError("SYNTAX");
    throw e;
  }
}

/**
 * Entity shape of a response (checkCredentials for BrokerMsg); null when fine.
 * IDS and ERR: any entity. PONG and PKEY: no entity (else HAS_AUTH). Others: entity required.
 */
export function checkResponseCredentials(msg: BrokerMsg, entityId: Uint8Array): CommandError | null {
  if (msg.tag === "IDS" || msg.tag === "ERR") return null;
  if (msg.tag === "PONG" || msg.tag === "PKEY") return entityId.length > 0 ? "HAS_AUTH" : null;
  return entityId.length > 0 ? null : "NO_ENTITY";
}
