/**
 * SMP transmissions: layout, authorized bytes and the decode pipelines
 * (src/hushwire/smp/transmission.py; simplexmq Protocol.hs transmissionP, tEncodeAuth,
 * encodeTransmission, encodeTransmissionForAuth, tDecodeServer, tDecodeClient;
 * docs/protocol/smp.md).
 *
 * Client to server:
 *
 *     shortString auth     -- empty | 64 (Ed25519) | 114 (Ed448) | 80 (CbAuthenticator)
 *     [v16+, auth non-empty: Maybe shortString(64-byte Ed25519 service signature)]
 *     [v6 only: shortString sessionId]
 *     shortString corrId | shortString entityId | command
 *
 * Server to client: the same with an empty auth (one 0x00 byte, at every version).
 * The bytes a client signs are `shortString(sessionId) ‖ shortString(corrId) ‖
 * shortString(entityId) ‖ command` at every version; from v7 the session id is implied.
 */

import { DecodeError } from "../errors.js";
import { encode, type Bytes } from "../encoding.js";
import { constantTimeEqual } from "../crypto/ct.js";
import {
  checkCredentials,
  checkResponseCredentials,
  CommandDecodeError,
  decodeCommand,
  decodeResponse,
  encodeResponse,
  type BrokerMsg,
  type Command,
} from "./commands.js";
import { decodeBatch } from "./block.js";
import type { ErrorType } from "./errors.js";
import { parseAll, SmpReader } from "./reader.js";
import { AUTH_CMDS_VERSION, SERVICE_CERTS_VERSION } from "./version.js";

/** sha512 (64) + Poly1305 tag (16) (Crypto.hs cbAuthenticatorSize). */
export const CB_AUTHENTICATOR_SIZE = 80;
export const ED25519_SIGNATURE_SIZE = 64;
export const ED448_SIGNATURE_SIZE = 114;

export type AuthKind = "Ed25519" | "Ed448" | "CbAuthenticator";

const AUTH_BY_SIZE: ReadonlyMap<number, AuthKind> = new Map([
  [ED25519_SIGNATURE_SIZE, "Ed25519"],
  [ED448_SIGNATURE_SIZE, "Ed448"],
  [CB_AUTHENTICATOR_SIZE, "CbAuthenticator"],
]);

/** null for an empty auth; DecodeError for a length that is none of 64, 114, 80. */
export function authKind(auth: Bytes): AuthKind | null {
  if (auth.length === 0) return null;
  const kind = AUTH_BY_SIZE.get(auth.length);
  if (kind === undefined) throw new DecodeError("bad authorization length");
  return kind;
}

/** A transmission split into its fields, command still undecoded. */
export interface RawTransmission {
  auth: Bytes;
  serviceSig: Bytes | null;
  /** What the auth covers: always starts with shortString(sessionId). */
  authorized: Bytes;
  /** As sent (v6 only); empty from v7. */
  sessionId: Bytes;
  corrId: Bytes;
  entityId: Bytes;
  command: Bytes;
}

function serviceSig(r: SmpReader): Bytes {
  const sig = r.shortString();
  if (sig.length !== ED25519_SIGNATURE_SIZE) throw new DecodeError("service signature must be Ed25519");
  return sig;
}

/** Split one transmission received at `version` (transmissionP); strict. */
export function parseTransmission(data: Bytes, version: number, sessionId: Bytes): RawTransmission {
  const r = new SmpReader(data);
  const auth = r.shortString();
  const sig = version >= SERVICE_CERTS_VERSION && auth.length > 0 ? r.maybe(serviceSig) : null;
  let authorized = r.tail();
  const imply = version >= AUTH_CMDS_VERSION;
  const [sess, corrId, entityId, command] = parseAll(authorized, (t): [Bytes, Bytes, Bytes, Bytes] => {
    const s = imply ? new Uint8Array(0) : t.shortString();
    return [s, t.shortString(), t.shortString(), t.tail()];
  });
  if (imply) authorized = encode((w) => w.shortString(sessionId).bytes(authorized));
  return { auth, serviceSig: sig, authorized, sessionId: sess, corrId, entityId, command };
}

/** The bytes a client signs or authenticates, at every version. */
export function authorizedBytes(sessionId: Bytes, corrId: Bytes, entityId: Bytes, commandBytes: Bytes): Bytes {
  return encode((w) => w.shortString(sessionId).shortString(corrId).shortString(entityId).bytes(commandBytes));
}

/**
 * One client transmission (without the batch's Large prefix). `commandBytes` is
 * encodeCommand(version, ...); `auth` is made over {@link authorizedBytes}.
 */
export function encodeClientTransmission(
  version: number,
  sessionId: Bytes,
  corrId: Bytes,
  entityId: Bytes,
  commandBytes: Bytes,
  auth: Bytes = new Uint8Array(0),
  serviceSignature: Bytes | null = null,
): Bytes {
  if (auth.length > 0 && !AUTH_BY_SIZE.has(auth.length)) throw new RangeError("auth must be empty, 64, 114 or 80 bytes");
  return encode((w) => {
    w.shortString(auth);
    if (serviceSignature !== null) {
      if (auth.length === 0 || version < SERVICE_CERTS_VERSION) {
        throw new RangeError("a service signature needs v16+ and a non-empty auth");
      }
      if (serviceSignature.length !== ED25519_SIGNATURE_SIZE) throw new RangeError("service signature must be 64 bytes (Ed25519)");
      w.ascii("1").shortString(serviceSignature);
    } else if (auth.length > 0 && version >= SERVICE_CERTS_VERSION) {
      w.ascii("0");
    }
    if (version < AUTH_CMDS_VERSION) w.shortString(sessionId);
    w.shortString(corrId).shortString(entityId).bytes(commandBytes);
  });
}

/** One server transmission: empty auth, [v6 session id], corrId, entityId, response (tests, fakes). */
export function encodeServerTransmission(
  version: number,
  sessionId: Bytes,
  corrId: Bytes,
  entityId: Bytes,
  response: BrokerMsg,
): Bytes {
  return encode((w) => {
    w.byte(0);
    if (version < AUTH_CMDS_VERSION) w.shortString(sessionId);
    w.shortString(corrId).shortString(entityId).bytes(encodeResponse(version, response));
  });
}

// --------------------------------------------------------------------------- client side

/**
 * A server transmission as a client sees it (tDecodeClient): `result` is the decoded response
 * (which may itself be ERR), or the ErrorType it failed to decode with (BLOCK, SESSION, CMD ...).
 */
export interface ServerTransmission {
  corrId: Bytes;
  entityId: Bytes;
  result: { ok: true; msg: BrokerMsg } | { ok: false; error: ErrorType };
}

const EMPTY = new Uint8Array(0);

/** Client side: decode one server transmission; never throws. */
export function decodeServerTransmission(data: Bytes, version: number, sessionId: Bytes): ServerTransmission {
  let raw: RawTransmission;
  try {
    raw = parseTransmission(data, version, sessionId);
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    return { corrId: EMPTY, entityId: EMPTY, result: { ok: false, error: { tag: "BLOCK" } } };
  }
  if (version < AUTH_CMDS_VERSION && !constantTimeEqual(raw.sessionId, sessionId)) {
    return { corrId: raw.corrId, entityId: EMPTY, result: { ok: false, error: { tag: "SESSION" } } };
  }
  let msg: BrokerMsg;
  try {
    msg = decodeResponse(version, raw.command);
  } catch (e) {
    if (!(e instanceof CommandDecodeError)) throw e;
    return { corrId: raw.corrId, entityId: raw.entityId, result: { ok: false, error: { tag: "CMD", error: e.error } } };
  }
  const bad = checkResponseCredentials(msg, raw.entityId);
  if (bad !== null) return { corrId: raw.corrId, entityId: raw.entityId, result: { ok: false, error: { tag: "CMD", error: bad } } };
  return { corrId: raw.corrId, entityId: raw.entityId, result: { ok: true, msg } };
}

/** Client side: decode an unpadded batch; a malformed batch is one BLOCK error. */
export function decodeServerBatch(batch: Bytes, version: number, sessionId: Bytes): ServerTransmission[] {
  let items: Bytes[];
  try {
    items = decodeBatch(batch);
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    return [{ corrId: EMPTY, entityId: EMPTY, result: { ok: false, error: { tag: "BLOCK" } } }];
  }
  return items.map((t) => decodeServerTransmission(t, version, sessionId));
}

// --------------------------------------------------------------------------- server side (tests)

export type ClientRequest =
  | { ok: true; corrId: Bytes; entityId: Bytes; command: Command; auth: AuthKind | null; authorized: Bytes }
  | { ok: false; corrId: Bytes; entityId: Bytes; error: ErrorType };

/**
 * Server side (tDecodeServer), for tests and fakes: decode one client transmission. Knows only
 * the commands of commands.ts; never throws.
 */
export function decodeClientTransmission(data: Bytes, version: number, sessionId: Bytes): ClientRequest {
  let raw: RawTransmission;
  try {
    raw = parseTransmission(data, version, sessionId);
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    return { ok: false, corrId: EMPTY, entityId: EMPTY, error: { tag: "BLOCK" } };
  }
  if (version < AUTH_CMDS_VERSION && !constantTimeEqual(raw.sessionId, sessionId)) {
    return { ok: false, corrId: raw.corrId, entityId: EMPTY, error: { tag: "SESSION" } };
  }
  let auth: AuthKind | null;
  try {
    auth = authKind(raw.auth);
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    return { ok: false, corrId: raw.corrId, entityId: EMPTY, error: { tag: "BLOCK" } };
  }
  let command: Command;
  try {
    command = decodeCommand(version, raw.command);
  } catch (e) {
    if (!(e instanceof CommandDecodeError)) throw e;
    return { ok: false, corrId: raw.corrId, entityId: raw.entityId, error: { tag: "CMD", error: e.error } };
  }
  const bad = checkCredentials(command, auth !== null, raw.entityId);
  if (bad !== null) return { ok: false, corrId: raw.corrId, entityId: raw.entityId, error: { tag: "CMD", error: bad } };
  return { ok: true, corrId: raw.corrId, entityId: raw.entityId, command, auth, authorized: raw.authorized };
}
