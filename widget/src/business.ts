/**
 * The visitor as the customer member of a business chat: a SimpleX business address (or any
 * group link) answers the visitor's join with `x.grp.link.inv`, and the conversation is a
 * group of the visitor, the business (the host) and its team (operators).
 *
 * Mirrors the customer's side of simplex-chat (Library/Subscriber.hs: the CONF branch of a
 * group-link join, `xGrpMsgForward`, `xGrpLinkMem`; Types.hs GroupLinkInvitation,
 * BusinessChatInfo) and the decoders of src/hushwire/chat/group_types.py and groups.py
 * (docs/protocol/chat.md, docs/widget.md "Business addresses"). This file is the widget's
 * "business" module (modules/business.ts): it is not in the core bundle.
 *
 * Theory of operation. The widget holds exactly one connection, to the host. A group message
 * has no sender field: what comes over it directly is the host's. Operators' messages reach
 * the visitor only as `x.grp.msg.forward` from the host, naming their author by memberId
 * (and memberName). The visitor is a "star" member: it never answers an introduction
 * (`x.grp.mem.intro`), so the host keeps forwarding every member's messages to it. It shows
 *   - `x.msg.new` (text) from the host, and forwarded from another member;
 *   - a live message (`x.msg.new` with `live`, then `x.msg.update` with `live`) as typing
 *     ("…" while it has no text, as the team inbox sends it), and the message once its final
 *     update (without `live`) arrives; its deletion (`x.msg.del`) ends the typing;
 *   - each message once: a (author, shared msgId) pair seen before is dropped (the app's
 *     de-duplication of direct and forwarded copies);
 * under the business's name (the group profile's displayName), or, when a forward carries a
 * `memberName` other than that, under that name: the host decides whether operators are named
 * (Hushwire's team inbox forwards with the business's name unless operator names are on).
 * Refused without effect: any forward when the host's role is below admin (the app accepts
 * forwards only from an admin), a forward naming no author, the visitor itself or the host as
 * author, a nested forward, and forwarded events the app would not forward. The conversation
 * ends when the host deletes the group, removes the visitor, or leaves. Everything else
 * (x.grp.link.mem, x.grp.mem.new/intro/fwd/role, x.info, x.grp.info/prefs, reactions,
 * deletions) is ignored. Text is data, never markup.
 */

import { base64urlDecode, base64urlEncode, type Bytes } from "./encoding.js";
import { DecodeError } from "./errors.js";
import { constantTimeEqual } from "./crypto/ct.js";
import {
  chatMessage,
  chatMessageToJson,
  content,
  encodeChatMessage,
  envelope,
  isObject,
  parseChatElements,
  wellFormed,
  type ChatMessage,
  type JsonObject,
} from "./chat.js";
import { GROUP_MAX_MEMBER_ID_LENGTH, GROUP_MAX_MEMBER_NAME_LENGTH, GROUP_MAX_SEEN_MSG_IDS } from "./limits.js";

/** Live messages tracked at once. */
const MAX_LIVE = 16;
/** Characters of a name shown at most. */
const MAX_NAME = 100;
/** What a live message without text yet shows (someone is typing). */
const TYPING = "\u2026";

/** Roles in their order of power (Types/Shared.hs GroupMemberRole); unknown roles rank -1. */
const ROLES = ["relay", "observer", "commenter", "author", "member", "moderator", "admin", "owner"];
export const roleRank = (role: string): number => ROLES.indexOf(role);

/** Events a host forwards for their author (Protocol.hs isForwardedGroupMsg; groups.py FORWARDABLE_EVENTS). */
export const FORWARDABLE_EVENTS = new Set(
  "x.msg.new x.msg.file.descr x.msg.update x.msg.del x.msg.react x.file.cancel x.info x.grp.mem.new x.grp.mem.role x.grp.mem.restrict x.grp.mem.del x.grp.leave x.grp.del x.grp.info x.grp.prefs".split(" "),
);

// ----------------------------------------------------------------------------- JSON records

function str(o: JsonObject, key: string): string {
  const v = o[key];
  if (typeof v !== "string") throw new DecodeError(`${key} must be a string`);
  return v;
}

function optStr(o: JsonObject, key: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw new DecodeError(`${key} must be a string`);
  return v;
}

function obj(v: unknown, what: string): JsonObject {
  if (!isObject(v)) throw new DecodeError(`${what} must be a JSON object`);
  return v;
}

function optObj(o: JsonObject, key: string): JsonObject | undefined {
  const v = o[key];
  return v === undefined || v === null ? undefined : obj(v, key);
}

/** A member id: base64url of 1 to 64 bytes. */
export function memberId(v: unknown, what = "memberId"): Bytes {
  if (typeof v !== "string") throw new DecodeError(`${what} must be a base64url string`);
  const raw = base64urlDecode(v);
  if (raw.length > GROUP_MAX_MEMBER_ID_LENGTH) throw new DecodeError(`${what} is longer than ${GROUP_MAX_MEMBER_ID_LENGTH} bytes`);
  return raw;
}

/** MemberIdRole: `{"memberId": b64, "memberRole": role}`. */
export interface MemberIdRole {
  memberId: Bytes;
  memberRole: string;
}

function memberIdRole(v: unknown, what: string): MemberIdRole {
  const o = obj(v, what);
  const role = o.memberRole;
  if (typeof role !== "string" || role === "" || role.length > 32) throw new DecodeError("memberRole must be a role name");
  return { memberId: memberId(o.memberId), memberRole: role };
}

const memberIdRoleJson = (m: MemberIdRole): JsonObject => ({ memberId: base64urlEncode(m.memberId), memberRole: m.memberRole });

/** GroupProfile, with the fields the app sends (unknown ones dropped, as the Python side does). */
export interface GroupProfile {
  displayName: string;
  fullName: string;
  shortDescr?: string;
  description?: string;
  image?: string;
  groupPreferences?: JsonObject;
  memberAdmission?: JsonObject;
}

export function groupProfileFromJson(v: unknown): GroupProfile {
  const o = obj(v, "groupProfile");
  const p: GroupProfile = { displayName: str(o, "displayName"), fullName: str(o, "fullName") };
  for (const k of ["shortDescr", "description", "image"] as const) {
    const x = optStr(o, k);
    if (x !== undefined) p[k] = x;
  }
  for (const k of ["groupPreferences", "memberAdmission"] as const) {
    const x = optObj(o, k);
    if (x !== undefined) p[k] = x;
  }
  return p;
}

export function groupProfileToJson(p: GroupProfile): JsonObject {
  const out: JsonObject = { displayName: p.displayName, fullName: p.fullName };
  for (const k of ["shortDescr", "description", "image", "groupPreferences", "memberAdmission"] as const) {
    const x = p[k];
    if (x !== undefined) out[k] = x;
  }
  return out;
}

/** GroupLinkInvitation, the params of `x.grp.link.inv` (the host's confirmation connInfo). */
export interface GroupLinkInvitation {
  fromMember: MemberIdRole;
  fromMemberName: string;
  invitedMember: MemberIdRole;
  groupProfile: GroupProfile;
  /** "accepted" (also when absent), "pending" or "pending_review". */
  accepted?: string;
  /** BusinessChatInfo `{chatType, businessId, customerId}`: a business chat. */
  business?: JsonObject;
  groupSize?: number;
}

export function groupLinkInvitationFromJson(v: unknown): GroupLinkInvitation {
  const o = obj(v, "groupLinkInvitation");
  const inv: GroupLinkInvitation = {
    fromMember: memberIdRole(o.fromMember, "fromMember"),
    fromMemberName: str(o, "fromMemberName"),
    invitedMember: memberIdRole(o.invitedMember, "invitedMember"),
    groupProfile: groupProfileFromJson(o.groupProfile),
  };
  const accepted = optStr(o, "accepted");
  if (accepted !== undefined) {
    if (accepted !== "accepted" && accepted !== "pending" && accepted !== "pending_review") throw new DecodeError("groupLinkInvitation accepted has an unknown value");
    inv.accepted = accepted;
  }
  const business = optObj(o, "business");
  if (business !== undefined) inv.business = business;
  const size = o.groupSize;
  if (size !== undefined && size !== null) {
    if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) throw new DecodeError("groupSize must be a non-negative integer");
    inv.groupSize = size;
  }
  return inv;
}

export function groupLinkInvitationToJson(i: GroupLinkInvitation): JsonObject {
  const out: JsonObject = {
    fromMember: memberIdRoleJson(i.fromMember),
    fromMemberName: i.fromMemberName,
    invitedMember: memberIdRoleJson(i.invitedMember),
    groupProfile: groupProfileToJson(i.groupProfile),
  };
  if (i.accepted !== undefined) out.accepted = i.accepted;
  if (i.business !== undefined) out.business = i.business;
  if (i.groupSize !== undefined) out.groupSize = i.groupSize;
  return out;
}

const MSG_TS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,12})?Z$/;

/** `x.grp.msg.forward`: the host relays `msg` of author `memberId` (missing: a channel). */
export interface GroupForward {
  memberId: Bytes | null;
  memberName: string | null;
  msg: ChatMessage;
  msgTs: string;
}

export function forwardFromJson(p: JsonObject): GroupForward {
  const msg = envelope(p.msg);
  if (msg.event === "x.grp.msg.forward") throw new DecodeError("a forwarded message must not be a forward");
  const name = optStr(p, "memberName") ?? null;
  if (name !== null && name.length > GROUP_MAX_MEMBER_NAME_LENGTH) throw new DecodeError("memberName is too long");
  const msgTs = str(p, "msgTs");
  if (!MSG_TS.test(msgTs) || Number.isNaN(Date.parse(msgTs))) throw new DecodeError("msgTs must be an ISO-8601 UTC timestamp");
  const id = p.memberId;
  return { memberId: id === undefined || id === null ? null : memberId(id), memberName: name, msg, msgTs };
}

export function forwardToJson(f: GroupForward): JsonObject {
  const out: JsonObject = {};
  if (f.memberId !== null) out.memberId = base64urlEncode(f.memberId);
  if (f.memberName !== null) out.memberName = f.memberName;
  out.msg = chatMessageToJson(f.msg);
  out.msgTs = f.msgTs;
  return out;
}

/** The group link invitation in a connInfo (the host's confirmation), or null if there is none. */
export function linkInvitationOf(info: Bytes): GroupLinkInvitation | null {
  for (const m of parseChatElements(info)) {
    if (!(m instanceof DecodeError) && m.event === "x.grp.link.inv") return groupLinkInvitationFromJson(m.params.groupLinkInvitation);
  }
  return null;
}

// ----------------------------------------------------------------------------- the chat

/** What the visitor's UI is told. */
export type GroupOut =
  /** A message to show; `from` names an operator, null: under the business's name. */
  | { kind: "message"; text: string; from: string | null }
  /** Someone is writing a live message: its text so far ("…" before any); "" when it stopped. */
  | { kind: "typing"; text: string }
  /** The host deleted the group, removed the visitor or left. */
  | { kind: "ended" };

/** Something refused, for tests and counters; never content. */
export type Refusal = { event: string; reason: string };

const b64 = base64urlEncode;
const short = (s: string): string => wellFormed(s).slice(0, MAX_NAME);

interface Live {
  key: string;
  from: string | null;
}

export class BusinessChat {
  /** The business's name: the conversation's title. */
  readonly title: string;
  readonly #host: Bytes;
  readonly #hostRank: number;
  readonly #hostRole: string;
  readonly #own: Bytes;
  readonly #business: JsonObject | null;
  #seen: string[];
  #live: Live[];
  /** Refusals since the last look (tests read them; nothing is logged). */
  readonly refused: Refusal[] = [];

  private constructor(title: string, host: MemberIdRole, own: Bytes, business: JsonObject | null, seen: string[], live: Live[]) {
    this.title = title;
    this.#host = host.memberId;
    this.#hostRank = roleRank(host.memberRole);
    this.#own = own;
    this.#business = business;
    this.#seen = seen;
    this.#live = live;
    this.#hostRole = host.memberRole;
  }

  /** The chat a host's `x.grp.link.inv` opens; DecodeError if `info` carries none. */
  static open(info: Bytes): BusinessChat {
    const inv = linkInvitationOf(info);
    if (inv === null) throw new DecodeError("not a group link invitation");
    const title = short(inv.groupProfile.displayName) || short(inv.fromMemberName);
    return new BusinessChat(title, inv.fromMember, inv.invitedMember.memberId, inv.business ?? null, [], []);
  }

  /** A business chat (the invitation has `business`), not a plain group. */
  get isBusiness(): boolean {
    return this.#business !== null;
  }

  /** The visitor's messages to the group: `x.grp.leave` when it ends the conversation. */
  leave(): Bytes {
    return encodeChatMessage(chatMessage("x.grp.leave", {}));
  }

  /** Interpret one body the host sent (every element of a batch); bad elements are skipped. */
  receive(body: Bytes): GroupOut[] {
    const out: GroupOut[] = [];
    for (const m of parseChatElements(body)) {
      if (m instanceof DecodeError) {
        this.#refuse("?", "malformed");
        continue;
      }
      try {
        if (m.event === "x.grp.msg.forward") this.#forward(m, out);
        else this.#handle(m, this.#host, null, true, out);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
        this.#refuse(m.event, "malformed");
      }
    }
    return out;
  }

  #refuse(event: string, reason: string): void {
    this.refused.push({ event: event.slice(0, 40), reason });
    if (this.refused.length > 64) this.refused.shift();
  }

  #forward(m: ChatMessage, out: GroupOut[]): void {
    if (this.#hostRank < roleRank("admin")) return this.#refuse(m.event, "the host is not an admin");
    const f = forwardFromJson(m.params);
    const author = f.memberId;
    if (author === null) return this.#refuse(m.event, "no author");
    if (constantTimeEqual(author, this.#own) || constantTimeEqual(author, this.#host)) return this.#refuse(m.event, "forged author");
    if (!FORWARDABLE_EVENTS.has(f.msg.event)) return this.#refuse(f.msg.event, "not forwardable");
    const name = f.memberName === null ? "" : short(f.memberName);
    this.#handle(f.msg, author, name === "" || name === this.title ? null : name, false, out);
  }

  /** `key` of a message: its author and shared msgId. */
  #key(author: Bytes, msgId: Bytes): string {
    return `${b64(author)} ${b64(msgId)}`;
  }

  /** True the first time (author, msgId) is seen. */
  #first(key: string): boolean {
    if (this.#seen.includes(key)) return false;
    this.#seen.push(key);
    if (this.#seen.length > GROUP_MAX_SEEN_MSG_IDS) this.#seen.shift();
    return true;
  }

  #handle(m: ChatMessage, author: Bytes, from: string | null, direct: boolean, out: GroupOut[]): void {
    const p = m.params;
    switch (m.event) {
      case "x.msg.new": {
        const c = content(p.content);
        const text = typeof c.text === "string" ? wellFormed(c.text) : "";
        const key = m.msgId === null ? null : this.#key(author, m.msgId);
        if (key !== null && !this.#first(key)) return this.#refuse(m.event, "duplicate");
        if (p.live === true && key !== null) {
          this.#live = [...this.#live.slice(-(MAX_LIVE - 1)), { key, from }];
          out.push({ kind: "typing", text: text || TYPING });
        } else if (text !== "") out.push({ kind: "message", text, from });
        return;
      }
      case "x.msg.update":
      case "x.msg.del": {
        // only a live message of the same author: its next text, its final one, or its end
        const key = this.#key(author, memberId(p.msgId, "msgId"));
        const live = this.#live.find((l) => l.key === key);
        if (live === undefined || (m.event === "x.msg.del" && p.memberId != null)) return; // edits, deletions of shown messages: not shown
        const c = m.event === "x.msg.del" ? {} : content(p.content);
        const text = typeof c.text === "string" ? wellFormed(c.text) : "";
        if (p.live === true) {
          out.push({ kind: "typing", text: text || TYPING });
          return;
        }
        this.#live = this.#live.filter((l) => l !== live);
        out.push(text === "" ? { kind: "typing", text: "" } : { kind: "message", text, from: live.from });
        return;
      }
      case "x.grp.del":
      case "x.grp.leave":
        if (direct) out.push({ kind: "ended" });
        return;
      case "x.grp.mem.del":
        if (direct && constantTimeEqual(memberId(p.memberId), this.#own)) out.push({ kind: "ended" });
        return;
      default:
        return; // x.grp.link.mem, x.grp.mem.new/intro/fwd, x.info, x.grp.info, reactions...
    }
  }

  /** The state a sealed session keeps (JSON-able; no secret in it). */
  toJSON(): unknown {
    return {
      t: this.title,
      h: [b64(this.#host), this.#hostRole],
      o: b64(this.#own),
      b: this.#business,
      s: this.#seen,
      l: this.#live.map((l) => [l.key, l.from]),
    };
  }

  /** A chat from {@link BusinessChat.toJSON}; DecodeError if malformed. */
  static fromJSON(x: unknown): BusinessChat {
    const bad = (): never => {
      throw new DecodeError("invalid group state");
    };
    const d = isObject(x) ? x : bad();
    const list = (v: unknown, max: number): unknown[] => (Array.isArray(v) && v.length <= max ? v : bad());
    const text = (v: unknown): string => (typeof v === "string" ? v : bad());
    const [hostId, hostRole] = list(d.h, 2);
    const live = list(d.l, MAX_LIVE).map((l) => {
      const [key, from] = list(l, 2);
      return { key: text(key), from: from === null ? null : text(from) };
    });
    const business = d.b === null ? null : isObject(d.b) ? d.b : bad();
    return new BusinessChat(short(text(d.t)), { memberId: memberId(hostId), memberRole: text(hostRole) }, memberId(d.o), business, list(d.s, GROUP_MAX_SEEN_MSG_IDS).map(text), live);
  }
}
