/**
 * SMP error types and their text encodings (src/hushwire/smp/errors.py; simplexmq
 * Protocol.hs ErrorType/CommandError/ProxyError/BrokerErrorType/NetworkError/BlockingInfo and
 * Transport.hs TransportError/HandshakeError; docs/protocol/smp.md).
 *
 * Each sum type is a tagged union; `encodeX` writes the wire text, `parseX` reads it.
 */

import { DecodeError } from "../errors.js";
import { encode, latin1, latin1Decode, safeDecodeUtf8, utf8, type Writer } from "../encoding.js";
import { parseAll, type SmpReader } from "./reader.js";

export const COMMAND_ERRORS = ["UNKNOWN", "SYNTAX", "PROHIBITED", "NO_AUTH", "HAS_AUTH", "NO_ENTITY"] as const;
export type CommandError = (typeof COMMAND_ERRORS)[number];

export const HANDSHAKE_ERRORS = ["PARSE", "IDENTITY", "BAD_AUTH", "BAD_SERVICE"] as const;
export type HandshakeError = (typeof HANDSHAKE_ERRORS)[number];

const TRANSPORT_SIMPLE = ["BLOCK", "VERSION", "LARGE_MSG", "SESSION", "NO_AUTH"] as const;
export type TransportError = { tag: (typeof TRANSPORT_SIMPLE)[number] } | { tag: "HANDSHAKE"; error: HandshakeError };

const NETWORK_SIMPLE = ["UNKNOWNCA", "FAILED", "TIMEOUT"] as const;
const NETWORK_TEXT = ["CONNECT", "TLS", "SUBSCRIBE"] as const;
export type NetworkError =
  | { tag: (typeof NETWORK_SIMPLE)[number] }
  | { tag: (typeof NETWORK_TEXT)[number]; text: Uint8Array };

const BROKER_SIMPLE = ["TIMEOUT", "HOST", "NO_SERVICE"] as const;
export type BrokerErrorType =
  | { tag: (typeof BROKER_SIMPLE)[number] }
  | { tag: "RESPONSE" | "UNEXPECTED"; text: Uint8Array }
  | { tag: "NETWORK"; error: NetworkError }
  | { tag: "TRANSPORT"; error: TransportError };

const PROXY_SIMPLE = ["BASIC_AUTH", "NO_SESSION"] as const;
export type ProxyError =
  | { tag: (typeof PROXY_SIMPLE)[number] }
  | { tag: "PROTOCOL"; error: ErrorType }
  | { tag: "BROKER"; error: BrokerErrorType };

/** Notice shown to the client of a blocked entity; JSON `{"ttl":n}` or `{}`. */
export interface ClientNotice {
  ttl: bigint | null;
}

export type BlockingReason = "spam" | "content";

export interface BlockingInfo {
  reason: BlockingReason;
  notice: ClientNotice | null;
}

const ERROR_SIMPLE = [
  "BLOCK",
  "SESSION",
  "AUTH",
  "SERVICE",
  "CRYPTO",
  "QUOTA",
  "NO_MSG",
  "LARGE_MSG",
  "EXPIRED",
  "INTERNAL",
  "DUPLICATE_",
] as const;
export type SimpleErrorTag = (typeof ERROR_SIMPLE)[number];

/** The error of `ERR` (Protocol.hs ErrorType). */
export type ErrorType =
  | { tag: SimpleErrorTag }
  | { tag: "CMD"; error: CommandError }
  | { tag: "PROXY"; error: ProxyError }
  | { tag: "BLOCKED"; info: BlockingInfo }
  | { tag: "STORE"; text: string };

function oneOf<T extends string>(list: readonly T[], word: Uint8Array): T | undefined {
  const s = latin1Decode(word);
  return list.find((x) => x === s);
}

// --------------------------------------------------------------------------- CommandError

export function parseCommandError(r: SmpReader): CommandError {
  const w = latin1Decode(r.takeTillSpace());
  if (w === "NO_QUEUE") return "NO_ENTITY"; // accepted for backward compatibility (Protocol.hs)
  const e = COMMAND_ERRORS.find((x) => x === w);
  if (e === undefined) throw new DecodeError("bad CommandError");
  return e;
}

// --------------------------------------------------------------------------- TransportError

export function encodeTransportError(w: Writer, e: TransportError): void {
  if (e.tag === "HANDSHAKE") w.ascii(`HANDSHAKE ${e.error}`);
  else w.ascii(e.tag);
}

export function parseTransportError(r: SmpReader): TransportError {
  const word = r.takeTillSpace();
  const simple = oneOf(TRANSPORT_SIMPLE, word);
  if (simple !== undefined) return { tag: simple };
  if (latin1Decode(word) === "HANDSHAKE") {
    r.sp();
    const detail = oneOf(HANDSHAKE_ERRORS, r.takeWord());
    if (detail === undefined) throw new DecodeError("bad HandshakeError");
    return { tag: "HANDSHAKE", error: detail };
  }
  throw new DecodeError("bad TransportError");
}

// --------------------------------------------------------------------------- NetworkError

function parseNetworkError(r: SmpReader): NetworkError {
  const word = r.takeTillSpace();
  const simple = oneOf(NETWORK_SIMPLE, word);
  if (simple !== undefined) return { tag: simple };
  const withText = oneOf(NETWORK_TEXT, word);
  if (withText === undefined) throw new DecodeError("bad NetworkError");
  r.sp();
  return { tag: withText, text: r.shortString() };
}

// --------------------------------------------------------------------------- BrokerErrorType

function encodeBrokerError(w: Writer, e: BrokerErrorType): void {
  switch (e.tag) {
    case "RESPONSE":
    case "UNEXPECTED":
      w.ascii(`${e.tag} `).shortString(e.text);
      return;
    case "NETWORK":
      w.ascii("NETWORK"); // the detail is dropped, as the reference does
      return;
    case "TRANSPORT":
      w.ascii("TRANSPORT ");
      encodeTransportError(w, e.error);
      return;
    default:
      w.ascii(e.tag);
  }
}

function parseBrokerError(r: SmpReader): BrokerErrorType {
  const word = r.takeTillSpace();
  const simple = oneOf(BROKER_SIMPLE, word);
  if (simple !== undefined) return { tag: simple };
  const w = latin1Decode(word);
  if (w === "RESPONSE" || w === "UNEXPECTED") {
    r.sp();
    return { tag: w, text: r.shortString() };
  }
  if (w === "TRANSPORT") {
    r.sp();
    return { tag: "TRANSPORT", error: parseTransportError(r) };
  }
  if (w === "NETWORK") {
    // `_smpP <|> pure NEFailedError`: the detail is optional on the wire.
    const detail = r.optional((x) => {
      x.sp();
      return parseNetworkError(x);
    });
    return { tag: "NETWORK", error: detail ?? { tag: "FAILED" } };
  }
  throw new DecodeError("bad BrokerErrorType");
}

// --------------------------------------------------------------------------- ProxyError

function encodeProxyError(w: Writer, e: ProxyError): void {
  if (e.tag === "PROTOCOL") {
    w.ascii("PROTOCOL ");
    encodeErrorType(w, e.error);
  } else if (e.tag === "BROKER") {
    w.ascii("BROKER ");
    encodeBrokerError(w, e.error);
  } else {
    w.ascii(e.tag);
  }
}

function parseProxyError(r: SmpReader): ProxyError {
  const word = r.takeTillSpace();
  const simple = oneOf(PROXY_SIMPLE, word);
  if (simple !== undefined) return { tag: simple };
  const w = latin1Decode(word);
  if (w === "PROTOCOL") {
    r.sp();
    return { tag: "PROTOCOL", error: parseErrorType(r) };
  }
  if (w === "BROKER") {
    r.sp();
    return { tag: "BROKER", error: parseBrokerError(r) };
  }
  throw new DecodeError("bad ProxyError");
}

// --------------------------------------------------------------------------- ClientNotice JSON

const STRING = /"(?:[^"\\]|\\.)*"/g;
const MAX_DEPTH = 512;

/**
 * `text` as strict JSON (RFC 8259, as Python's json.loads with NaN/Infinity refused, nested at
 * most {@link MAX_DEPTH} values deep), and the same document with every number token turned
 * into a string of its text, so `1`, `1.0` and `1e0` stay distinguishable as they are for
 * Python. The engine's JSON.parse does the reading (it needs no recursion of ours).
 */
function parseJson(text: string): [unknown, unknown] {
  try {
    const v: unknown = JSON.parse(text);
    // on valid JSON: with strings as `0`, a key is `0:`, any other token starts a value
    let depth = 0;
    for (const [t] of text.replace(STRING, "0").matchAll(/[[{]|[\]}]|0\s*:|[\w.+-]+/g)) {
      if (t === "]" || t === "}") depth--;
      else if (!t.endsWith(":") && depth + 1 > MAX_DEPTH) throw new DecodeError("invalid JSON");
      else if (t === "[" || t === "{") depth++;
    }
    return [v, JSON.parse(text.replace(new RegExp(`${STRING.source}|-?\\d[\\d.eE+-]*`, "g"), (m) => (m[0] === '"' ? m : `"${m}"`)))];
  } catch {
    throw new DecodeError("invalid JSON");
  }
}

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

export function clientNoticeToJson(n: ClientNotice): Uint8Array {
  return latin1(n.ttl === null ? "{}" : `{"ttl":${n.ttl}}`);
}

export function clientNoticeFromJson(data: Uint8Array): ClientNotice {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(data);
  } catch {
    throw new DecodeError("invalid JSON");
  }
  const [v, tokens] = parseJson(text);
  const obj = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);
  if (!obj(v) || !obj(tokens)) throw new DecodeError("JSON object expected");
  const ttl = v.ttl;
  if (ttl === undefined || ttl === null) return { ttl: null };
  // the number token's own text: an integer, no fraction or exponent
  if (typeof ttl !== "number" || typeof tokens.ttl !== "string" || !/^-?(0|[1-9][0-9]*)$/.test(tokens.ttl)) {
    throw new DecodeError("bad ClientNotice ttl");
  }
  const n = BigInt(tokens.ttl);
  if (n < INT64_MIN || n > INT64_MAX) throw new DecodeError("bad ClientNotice ttl");
  return { ttl: n };
}

// --------------------------------------------------------------------------- BlockingInfo

function encodeBlockingInfo(w: Writer, b: BlockingInfo): void {
  w.ascii(`reason=${b.reason}`);
  if (b.notice !== null) w.ascii(",notice=").bytes(clientNoticeToJson(b.notice));
}

function parseBlockingInfo(r: SmpReader): BlockingInfo {
  r.expectAscii("reason=");
  let reason: BlockingReason;
  if (r.tryLiteral("spam")) reason = "spam";
  else {
    r.expectAscii("content");
    reason = "content";
  }
  const notice = r.optional((x) => {
    x.expectAscii(",notice=");
    return clientNoticeFromJson(x.tail());
  });
  return { reason, notice };
}

// --------------------------------------------------------------------------- ErrorType

export function encodeErrorType(w: Writer, e: ErrorType): void {
  switch (e.tag) {
    case "CMD":
      w.ascii(`CMD ${e.error}`);
      return;
    case "PROXY":
      w.ascii("PROXY ");
      encodeProxyError(w, e.error);
      return;
    case "BLOCKED":
      w.ascii("BLOCKED ");
      encodeBlockingInfo(w, e.info);
      return;
    case "STORE":
      w.ascii("STORE ").bytes(utf8(e.text));
      return;
    default:
      w.ascii(e.tag);
  }
}

export function parseErrorType(r: SmpReader): ErrorType {
  const word = r.takeTillSpace();
  const simple = oneOf(ERROR_SIMPLE, word);
  if (simple !== undefined) return { tag: simple };
  const w = latin1Decode(word);
  if (w === "CMD") {
    r.sp();
    return { tag: "CMD", error: parseCommandError(r) };
  }
  if (w === "PROXY") {
    r.sp();
    return { tag: "PROXY", error: parseProxyError(r) };
  }
  if (w === "BLOCKED") {
    r.sp();
    return { tag: "BLOCKED", info: parseBlockingInfo(r) };
  }
  if (w === "STORE") {
    r.sp();
    return { tag: "STORE", text: safeDecodeUtf8(r.tail()) };
  }
  throw new DecodeError("bad ErrorType");
}

export function errorTypeBytes(e: ErrorType): Uint8Array {
  return encode((w) => encodeErrorType(w, e));
}

export function decodeErrorType(data: Uint8Array): ErrorType {
  return parseAll(data, parseErrorType);
}

export function decodeTransportError(data: Uint8Array): TransportError {
  return parseAll(data, parseTransportError);
}

/** The wire text of an error, for messages shown to people (never contains secrets). */
export function errorTypeText(e: ErrorType): string {
  return safeDecodeUtf8(errorTypeBytes(e));
}

export const ERR = {
  AUTH: { tag: "AUTH" } as ErrorType,
  BLOCK: { tag: "BLOCK" } as ErrorType,
  NO_MSG: { tag: "NO_MSG" } as ErrorType,
  LARGE_MSG: { tag: "LARGE_MSG" } as ErrorType,
  cmd: (error: CommandError): ErrorType => ({ tag: "CMD", error }),
};
