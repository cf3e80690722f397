/**
 * Chat messages: the JSON envelope, profiles, and the events a 1:1 chat needs.
 *
 * Mirrors src/hushwire/chat/messages.py (simplex-chat Protocol.hs AppMessageJson,
 * parseChatMessages, appJsonToCM; Types.hs Profile; docs/protocol/chat.md). A chat body is one of
 *
 *     {...}                 one JSON message
 *     [{...},{...}]         a JSON batch (apps send it from chat version 9)
 *     'X' count (('0' shortString) | ('1' Large zstd frame))+
 *                           a compressed batch; each element decompresses to '{' or '['
 *
 * A message is `{"v":"1-16","msgId":"<base64url>","event":"x.…","params":{…}}`, compact UTF-8
 * JSON. The text of a message is data: carried exactly as given, never interpreted as markup.
 */

import { base64urlDecode, base64urlEncode, utf8, type Bytes } from "./encoding.js";
import { DecodeError, HushwireError } from "./errors.js";
import { randomBytes } from "./crypto/random.js";
import { CHAT_MAX_BODY_LENGTH, CHAT_MAX_ENCODED_INFO_LENGTH, CHAT_MAX_ENCODED_MSG_LENGTH, MAX_DECOMPRESSED_SIZE } from "./limits.js";
import { VersionRange } from "./smp/version.js";
import { decompressCompressedList } from "./agent/protocol.js";
import { formatVersionRange, parseVersionRange } from "./agent/strings.js";

/** Chat versions Hushwire offers (docs/protocol/chat.md). */
export const CHAT_VERSIONS = new VersionRange(1, 16);
/** What a message without `v` means. */
export const CHAT_INITIAL_VERSIONS = new VersionRange(1, 1);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

/** An encoded chat message is over its cap (the app's ECMLarge). */
export class ChatMessageTooLarge extends HushwireError {
  override name = "ChatMessageTooLarge";
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Replace lone UTF-16 surrogates with U+FFFD, so the text is valid Unicode. */
export function wellFormed(s: string): string {
  return s.replace(LONE_SURROGATE, "\uFFFD");
}

// ----------------------------------------------------------------------------- versions

function parseRange(text: string): VersionRange {
  return parseVersionRange(text, () => new DecodeError("bad chat version range"));
}

// ----------------------------------------------------------------------------- profile

export interface Profile {
  displayName: string;
  fullName: string;
  shortDescr?: string;
  image?: string;
  contactLink?: string;
  preferences?: JsonObject;
}

/** Contact preferences Hushwire advertises: no voice messages and no calls. */
export const DEFAULT_PREFERENCES: JsonObject = { voice: { allow: "no" }, calls: { allow: "no" } };

/** JSON object with absent fields omitted, in the reference order. */
export function profileToJson(p: Profile): JsonObject {
  const out: JsonObject = { displayName: p.displayName, fullName: p.fullName };
  if (p.shortDescr !== undefined) out.shortDescr = p.shortDescr;
  if (p.image !== undefined) out.image = p.image;
  if (p.contactLink !== undefined) out.contactLink = p.contactLink;
  if (p.preferences !== undefined) out.preferences = p.preferences;
  return out;
}

export function isObject(x: unknown): x is JsonObject {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function optStr(o: JsonObject, key: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") return v;
  throw new DecodeError(`bad profile ${key}`);
}

/** Read a profile object; unknown fields are ignored, wrong types are a DecodeError. */
export function profileFromJson(obj: unknown): Profile {
  if (!isObject(obj)) throw new DecodeError("bad profile");
  const { displayName, fullName, preferences } = obj;
  if (typeof displayName !== "string") throw new DecodeError("profile: no displayName");
  if (typeof fullName !== "string") throw new DecodeError("profile: no fullName");
  if (preferences !== undefined && preferences !== null && !isObject(preferences)) {
    throw new DecodeError("bad profile preferences");
  }
  const p: Profile = { displayName, fullName };
  const shortDescr = optStr(obj, "shortDescr");
  const image = optStr(obj, "image");
  const contactLink = optStr(obj, "contactLink");
  if (shortDescr !== undefined) p.shortDescr = shortDescr;
  if (image !== undefined) p.image = image;
  if (contactLink !== undefined) p.contactLink = contactLink;
  if (isObject(preferences)) p.preferences = preferences;
  return p;
}

/** A profile advertising {@link DEFAULT_PREFERENCES} (no voice, no calls). */
export function hushwireProfile(displayName: string, fullName = ""): Profile {
  return { displayName, fullName, preferences: JSON.parse(JSON.stringify(DEFAULT_PREFERENCES)) as JsonObject };
}

// ----------------------------------------------------------------------------- envelope

function checkEvent(event: string): boolean {
  return event.startsWith("x") && !event.includes(" ");
}

/** One chat message envelope (AppMessageJson). `versions` null omits `v`. */
export interface ChatMessage {
  event: string;
  params: JsonObject;
  msgId: Bytes | null;
  versions: VersionRange | null;
}

export function chatMessage(event: string, params: JsonObject, msgId: Bytes | null = null, versions: VersionRange | null = CHAT_VERSIONS): ChatMessage {
  if (!checkEvent(event)) throw new RangeError(`not a chat event name: ${event}`);
  if (msgId !== null && msgId.length === 0) throw new RangeError("msgId must not be empty");
  return { event, params, msgId, versions };
}

/** The envelope as a JSON object (`v`, `msgId`, `event`, `params`). */
export function chatMessageToJson(m: ChatMessage): JsonObject {
  const out: JsonObject = {};
  if (m.versions !== null) out.v = formatVersionRange(m.versions);
  if (m.msgId !== null) out.msgId = base64urlEncode(m.msgId);
  out.event = m.event;
  out.params = m.params;
  return out;
}

/** Compact UTF-8 JSON; ChatMessageTooLarge over `maxSize` bytes. */
export function encodeChatMessage(m: ChatMessage, maxSize = CHAT_MAX_ENCODED_MSG_LENGTH): Bytes {
  const body = utf8(JSON.stringify(chatMessageToJson(m)));
  if (body.length > maxSize) throw new ChatMessageTooLarge(`chat message of ${body.length} bytes (at most ${maxSize}): shorten it`);
  return body;
}

/** Encode as connInfo (AgentInvitation / AgentConfirmation), capped at 14694 bytes. */
export function encodeConnInfo(m: ChatMessage): Bytes {
  return encodeChatMessage(m, CHAT_MAX_ENCODED_INFO_LENGTH);
}

// ----------------------------------------------------------------------------- parsing

function loads(data: Bytes): unknown {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(data);
  } catch {
    throw new DecodeError("chat message is not UTF-8");
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new DecodeError("chat message is not JSON");
  }
}

/** A chat message from its JSON object; DecodeError if it is not one. */
export function envelope(value: unknown): ChatMessage {
  if (!isObject(value)) throw new DecodeError("bad chat message");
  const { event, params, v, msgId } = value;
  if (typeof event !== "string" || !checkEvent(event)) throw new DecodeError("bad chat event name");
  if (!isObject(params)) throw new DecodeError("bad chat params");
  if (v !== undefined && v !== null && typeof v !== "string") throw new DecodeError("bad chat v");
  let id: Bytes | null = null;
  if (msgId !== undefined && msgId !== null) {
    if (typeof msgId !== "string") throw new DecodeError("bad chat msgId");
    id = base64urlDecode(msgId);
  }
  return { event, params, msgId: id, versions: typeof v === "string" ? parseRange(v) : null };
}

function parseUncompressed(data: Bytes): (ChatMessage | DecodeError)[] {
  if (data.length === 0) return [new DecodeError("empty chat message")];
  const first = data[0]!;
  if (first !== 0x7b && first !== 0x5b) {
    if (first === 0x3d) return [new DecodeError("binary batch (groups only)")];
    return [new DecodeError("unknown chat message form")];
  }
  let value: unknown;
  try {
    value = loads(data);
  } catch (e) {
    return [e as DecodeError];
  }
  const items = first === 0x5b ? value : [value];
  if (!Array.isArray(items)) return [new DecodeError("bad chat batch")];
  return items.map((item) => {
    try {
      return envelope(item);
    } catch (e) {
      if (e instanceof DecodeError) return e;
      throw e;
    }
  });
}

/** Every element of a chat body, each a message or the error it had (one bad element keeps the rest). */
export function parseChatElements(data: Bytes): (ChatMessage | DecodeError)[] {
  if (data.length > CHAT_MAX_BODY_LENGTH) return [new DecodeError("chat body over the limit")];
  if (data[0] !== 0x58) return parseUncompressed(data);
  let parts: Bytes[];
  try {
    parts = decompressCompressedList(data.subarray(1), MAX_DECOMPRESSED_SIZE);
  } catch (e) {
    if (e instanceof DecodeError) return [e];
    throw e;
  }
  return parts.flatMap(parseUncompressed);
}

/** All messages of a chat body; any malformed element throws DecodeError. */
export function parseChatBody(data: Bytes): ChatMessage[] {
  return parseChatElements(data).map((x) => {
    if (x instanceof DecodeError) throw x;
    return x;
  });
}

// ----------------------------------------------------------------------------- events

export type ChatEvent =
  | { kind: "XInfo"; profile: Profile }
  | { kind: "XContact"; profile: Profile; contactReqId: Bytes | null }
  | { kind: "XMsgNew"; text: string | null; content: JsonObject; msgId: Bytes | null }
  | { kind: "XDirectDel" }
  | { kind: "XOk" }
  | { kind: "XUnknown"; event: string; params: JsonObject };

function optId(p: JsonObject, key: string): Bytes | null {
  const v = p[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== "string") throw new DecodeError(`bad ${key}`);
  return base64urlDecode(v);
}

/** A message's `content` object (MsgContent), checked. */
export function content(value: unknown): JsonObject {
  if (!isObject(value) || typeof value.type !== "string") throw new DecodeError("bad message content");
  const text = value.text;
  if (text !== undefined && text !== null && typeof text !== "string") throw new DecodeError("bad message text");
  if (value.type === "text" && typeof text !== "string") throw new DecodeError("text content without text");
  return value;
}

/** The typed view of a message; malformed params of these events throw DecodeError. */
export function interpret(m: ChatMessage): ChatEvent {
  const p = m.params;
  switch (m.event) {
    case "x.info":
      return { kind: "XInfo", profile: profileFromJson(p.profile) };
    case "x.contact":
      return { kind: "XContact", profile: profileFromJson(p.profile), contactReqId: optId(p, "contactReqId") };
    case "x.msg.new": {
      const c = content(p.content);
      return { kind: "XMsgNew", text: typeof c.text === "string" ? c.text : null, content: c, msgId: m.msgId };
    }
    case "x.direct.del":
      return { kind: "XDirectDel" };
    case "x.ok":
      return { kind: "XOk" };
    default:
      return { kind: "XUnknown", event: m.event, params: p };
  }
}

// ----------------------------------------------------------------------------- constructors

export function xInfo(profile: Profile, msgId: Bytes | null = null): ChatMessage {
  return chatMessage("x.info", { profile: profileToJson(profile) }, msgId);
}

/** x.msg.new with text content; `msgId` (12 random bytes unless given) names the message. */
export function xMsgNewText(text: string, msgId: Bytes | null = randomBytes(12)): ChatMessage {
  if (text === "") throw new RangeError("text content must not be empty");
  return chatMessage("x.msg.new", { content: { text: wellFormed(text), type: "text" } }, msgId);
}

export function xDirectDel(): ChatMessage {
  return chatMessage("x.direct.del", {});
}

/** x.contact for a contact request; `contactReqId` (16 random bytes) lets the owner spot a repeat. */
export function xContact(profile: Profile, contactReqId: Bytes | null = null, msgId: Bytes | null = null): ChatMessage {
  const params: JsonObject = {};
  if (contactReqId !== null) params.contactReqId = base64urlEncode(contactReqId);
  params.profile = profileToJson(profile);
  return chatMessage("x.contact", params, msgId);
}
