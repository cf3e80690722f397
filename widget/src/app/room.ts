/**
 * The web app's rooms as pure state machines (no network): the browser that hosts a room
 * ({@link RoomHost}) and a browser that is a member of one ({@link RoomMember}).
 *
 * Mirrors src/hushwire/chat/group_host.py and group_state.py (GroupHost in star mode, the
 * member's side of GroupMember), themselves simplex-chat Library/Subscriber.hs (the group-link
 * branch of profileContactRequest, xGrpMsgForward, groupMessageDelete, forwardMsgs) and
 * Library/Internal.hs (sendHistory); docs/protocol/chat.md. The wire records (x.grp.link.inv,
 * x.grp.msg.forward, member ids) are the widget's business-chat codecs (../business.ts), so the
 * JSON is byte for byte what the Python host writes (tests/app/test_app_room_vectors.py).
 *
 * Theory of operation. The host is a star: one connection per member, nothing else. A joiner's
 * request through the room link is answered with `x.grp.link.inv` ({@link RoomHost.admit});
 * once its connection is up ({@link RoomHost.connected}) it gets `x.grp.link.mem` (the host's
 * profile), `x.grp.mem.new` for each member already there (the Python host announces only
 * later arrivals; the app's member list wants the others too), and the last N messages as
 * `x.grp.msg.forward` in JSON batches; everyone else gets `x.grp.mem.new` for it. Each event a
 * member sends ({@link RoomHost.receive}) is checked for the member's role (a member writes and
 * edits or deletes its own messages; nothing more), applied, and forwarded to every other
 * member. "Clear history" is the owner's moderation `x.msg.del` (naming the author) for every
 * kept message, sent to everyone; deleting the room is `x.grp.del`.
 *
 * The member ({@link RoomMember}) takes what the host sends directly as the host's, and a
 * forward (only from an admin or owner host) as its author's; each (author, msgId) once.
 * Outputs are what to show: messages, deletions, members joining and leaving, the end.
 * Text is data, never markup; names are cut to 100 characters.
 */

import { base64urlEncode, utf8 } from "../encoding.js";
import { DecodeError } from "../errors.js";
import { chatMessage, chatMessageToJson, content, envelope, isObject, parseChatElements, wellFormed, type ChatMessage, type JsonObject } from "../chat.js";
import { FORWARDABLE_EVENTS, forwardFromJson, forwardToJson, groupLinkInvitationToJson, groupProfileFromJson, groupProfileToJson, memberId, roleRank, type GroupLinkInvitation, type GroupProfile } from "../business.js";
import { GROUP_MAX_SEEN_MSG_IDS } from "../limits.js";

/** Messages a new member gets by default, and at most (GROUP_HISTORY_DEFAULT, _MAX). */
export const HISTORY_DEFAULT = 10;
export const HISTORY_MAX = 100;
/** Messages the host keeps (the Python host's log_limit). */
export const KEEP_LOG = 100;
/** Members a room admits (GROUP_MAX_MEMBERS_DEFAULT). */
export const MAX_MEMBERS = 100;
/** Largest JSON batch of forwards (GROUP_MAX_FORWARD_LENGTH). */
export const MAX_FORWARD = 15764;
const MAX_NAME = 100;
/** Live messages a member waits for the end of, at once. */
const MAX_LIVE = 16;
/** Joiners from this chat version are told they are refused (groupJoinRejectVersion). */
export const JOIN_REJECT_VERSION = 14;
/** Why a joiner over the member limit is refused (the Python host's words). */
export const REJECT_FULL = "the group is full";
/** Member records a room keeps, those gone included (authors of kept messages, the leavers). */
export const MAX_KNOWN = 1000;

const short = (s: string): string => wellFormed(s).slice(0, MAX_NAME);
const b64 = base64urlEncode;

/** What to show; `author` and `msgId` are base64url, `key` is `author msgId`. */
export type RoomOut =
  | { kind: "posted"; author: string; name: string; msgId: string; text: string }
  | { kind: "deleted"; author: string; msgId: string }
  | { kind: "joined"; member: string; name: string }
  | { kind: "left"; member: string; name: string }
  | { kind: "ended"; why: string };

/** A member's profile as a room shows it (redactedMemberProfile: no link, no preferences). */
export function memberProfile(p: JsonObject): JsonObject {
  const out: JsonObject = { displayName: typeof p.displayName === "string" ? p.displayName : "", fullName: typeof p.fullName === "string" ? p.fullName : "" };
  for (const k of ["shortDescr", "image"]) if (typeof p[k] === "string") out[k] = p[k];
  return out;
}

/** The JSON bodies for `messages`: batches up to {@link MAX_FORWARD} bytes, alone when too big. */
export function bodies(messages: readonly ChatMessage[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let batch: string[] = [];
  const flush = (): void => {
    if (batch.length > 0) out.push(utf8(batch.length === 1 ? batch[0]! : `[${batch.join(",")}]`));
    batch = [];
  };
  for (const m of messages) {
    const one = JSON.stringify(chatMessageToJson(m));
    if (batch.length > 0 && utf8(`[${[...batch, one].join(",")}]`).length > MAX_FORWARD) flush();
    batch.push(one);
  }
  flush();
  return out;
}

// ----------------------------------------------------------------------------- host

/** The chat versions a join request's connInfo says the joiner speaks (null: none given or unreadable). */
export function joinerVersions(info: Uint8Array): { min: number; max: number } | null {
  const hello = parseChatElements(info)[0];
  return hello === undefined || hello instanceof DecodeError ? null : hello.versions;
}

interface Member {
  id: string;
  role: string;
  profile: JsonObject;
  /** accepted (admitted, not yet connected), connected, left, removed. */
  status: string;
  v: [number, number] | null;
}

interface LogItem {
  author: string;
  name: string;
  msg: JsonObject;
  ts: string;
}

/** One step's result: messages per member (id -> messages), what to show, connections to end. */
export interface HostStep {
  sends: [string, ChatMessage[]][];
  shown: RoomOut[];
  disconnect: string[];
}

const nameOf = (p: JsonObject): string => short(typeof p.displayName === "string" ? p.displayName : "");
const versions = (m: Member): string | null => (m.v === null ? null : `${m.v[0]}-${m.v[1]}`);

export class RoomHost {
  profile: GroupProfile;
  readonly me: Member;
  readonly history: number;
  readonly members = new Map<string, Member>();
  log: LogItem[] = [];
  seen: string[] = [];

  constructor(profile: GroupProfile, me: Member, history = HISTORY_DEFAULT) {
    if (!Number.isInteger(history) || history < 0 || history > HISTORY_MAX) throw new RangeError(`history is 0 to ${HISTORY_MAX} messages`);
    this.profile = profile;
    this.me = me;
    this.history = history;
  }

  /** A new room named `name`, hosted by `hostName` with member id `id` (12 random bytes). */
  static create(name: string, hostName: string, id: Uint8Array, history = HISTORY_DEFAULT): RoomHost {
    const profile: GroupProfile = { displayName: name, fullName: "", groupPreferences: { history: { enable: "on" }, directMessages: { enable: "off" } } };
    return new RoomHost(profile, { id: b64(id), role: "owner", profile: { displayName: hostName, fullName: "" }, status: "connected", v: [1, 16] }, history);
  }

  get name(): string {
    return short(this.profile.displayName);
  }

  current(): Member[] {
    return [...this.members.values()].filter((m) => m.status === "accepted" || m.status === "connected");
  }

  connectedMembers(): Member[] {
    return [...this.members.values()].filter((m) => m.status === "connected");
  }

  /**
   * A join request with the joiner's connInfo `info` (x.info or x.contact): the member is
   * recorded under `id` (12 random bytes) and the `x.grp.link.inv` to accept it with returned.
   * DecodeError for a request that carries no profile; RangeError when the room is full.
   */
  admit(id: Uint8Array, info: Uint8Array): ChatMessage {
    const hello = parseChatElements(info)[0];
    if (hello === undefined || hello instanceof DecodeError || (hello.event !== "x.info" && hello.event !== "x.contact") || !isObject(hello.params.profile)) throw new DecodeError("a join request without a profile");
    const key = b64(id);
    if (!this.members.has(key)) {
      if (this.current().length >= MAX_MEMBERS) throw new RangeError(`the group has ${MAX_MEMBERS} members`);
      const v = hello.versions;
      this.members.set(key, { id: key, role: "member", profile: memberProfile(hello.params.profile), status: "accepted", v: v === null ? null : [v.min, v.max] });
    }
    const inv: GroupLinkInvitation = {
      fromMember: { memberId: memberId(this.me.id), memberRole: this.me.role },
      fromMemberName: nameOf(this.me.profile),
      invitedMember: { memberId: id, memberRole: "member" },
      groupProfile: this.profile,
      accepted: "accepted",
      groupSize: this.current().length + 1,
    };
    return chatMessage("x.grp.link.inv", { groupLinkInvitation: groupLinkInvitationToJson(inv) });
  }

  /**
   * The `x.grp.link.reject` that refuses a join request (the room is full) instead of
   * `x.grp.link.inv`: `id` (12 random bytes) is offered as an observer and never recorded.
   */
  reject(id: Uint8Array, reason = REJECT_FULL): ChatMessage {
    const rejection: JsonObject = {
      fromMember: { memberId: this.me.id, memberRole: this.me.role },
      invitedMember: { memberId: b64(id), memberRole: "observer" },
      groupProfile: groupProfileToJson(this.profile),
      rejectionReason: reason,
    };
    return chatMessage("x.grp.link.reject", { groupLinkRejection: rejection });
  }

  /** The connection to admitted member `id` is up: greet it, announce it, send it the history. */
  connected(id: string): HostStep {
    const step: HostStep = { sends: [], shown: [], disconnect: [] };
    const m = this.members.get(id);
    if (m === undefined || m.status !== "accepted") return step;
    m.status = "connected";
    const others = this.connectedMembers().filter((x) => x.id !== id);
    step.sends.push([id, [chatMessage("x.grp.link.mem", { profile: this.me.profile })]]);
    // the app's addition: the joiner learns who is there already (the Python host does not)
    if (others.length > 0) step.sends.push([id, others.map((x) => this.#memNew(x))]);
    const announce = this.#memNew(m);
    for (const x of others) step.sends.push([x.id, [announce]]);
    // history goes to members that take batches (chat version 5, batchSendVersion)
    const takesHistory = this.history > 0 && (m.v === null || m.v[1] >= 5);
    const history = takesHistory ? this.log.slice(-this.history).map((item) => this.#forwardOf(item)) : [];
    if (history.length > 0) step.sends.push([id, history]);
    step.shown.push({ kind: "joined", member: id, name: nameOf(m.profile) });
    return step;
  }

  #memNew(m: Member): ChatMessage {
    const info: JsonObject = { memberId: m.id, memberRole: m.role };
    const v = versions(m);
    if (v !== null) info.v = v;
    info.profile = m.profile;
    return chatMessage("x.grp.mem.new", { memberInfo: info });
  }

  #forwardOf(item: LogItem): ChatMessage {
    return chatMessage("x.grp.msg.forward", forwardToJson({ memberId: memberId(item.author), memberName: item.name, msg: envelope(item.msg), msgTs: item.ts }));
  }

  /** Every message member `sender` sent in one body, at time `ts` (ISO-8601 UTC). */
  receive(sender: string, body: Uint8Array, ts: string): HostStep {
    const step: HostStep = { sends: [], shown: [], disconnect: [] };
    const m = this.members.get(sender);
    if (m === undefined || m.status !== "connected") return step;
    for (const msg of parseChatElements(body)) {
      if (msg instanceof DecodeError || !FORWARDABLE_EVENTS.has(msg.event)) continue;
      if (msg.event === "x.msg.new" && msg.params.file !== undefined && msg.params.file !== null) continue;
      let shown: RoomOut[] | null;
      try {
        shown = this.#apply(m, msg, ts);
      } catch (e) {
        if (e instanceof DecodeError) continue;
        throw e;
      }
      if (shown === null) continue; // refused or a duplicate: not forwarded
      step.shown.push(...shown);
      const fwd = chatMessage("x.grp.msg.forward", forwardToJson({ memberId: memberId(sender), memberName: nameOf(m.profile), msg, msgTs: ts }));
      for (const x of this.connectedMembers()) if (x.id !== sender) step.sends.push([x.id, [fwd]]);
      if (msg.event === "x.grp.leave") step.disconnect.push(sender);
    }
    return step;
  }

  /** Apply a member's event; null: refused or a duplicate (not forwarded). */
  #apply(m: Member, msg: ChatMessage, ts: string): RoomOut[] | null {
    const p = msg.params;
    switch (msg.event) {
      case "x.msg.new": {
        if (roleRank(m.role) < roleRank("author") || msg.msgId === null) return null;
        const key = `${m.id} ${b64(msg.msgId)}`;
        if (this.seen.includes(key)) return null;
        this.seen.push(key);
        if (this.seen.length > GROUP_MAX_SEEN_MSG_IDS) this.seen.shift();
        const c = content(p.content);
        this.#keep({ author: m.id, name: nameOf(m.profile), msg: chatMessageToJson(msg), ts });
        if (p.live === true) return []; // a live message shows once its final text comes
        return [{ kind: "posted", author: m.id, name: nameOf(m.profile), msgId: b64(msg.msgId), text: typeof c.text === "string" ? wellFormed(c.text) : "" }];
      }
      case "x.msg.update": {
        const i = this.#find(m.id, b64(memberId(p.msgId, "msgId")));
        if (i < 0) return null;
        const item = this.log[i]!;
        const wasLive = (item.msg.params as JsonObject).live === true;
        const c = content(p.content);
        const params: JsonObject = { ...(item.msg.params as JsonObject), content: c };
        if (p.live === true) params.live = true;
        else delete params.live;
        item.msg = { ...item.msg, params };
        // the final text of a live message is when it shows; other edits are forwarded, not shown
        const text = typeof c.text === "string" ? wellFormed(c.text) : "";
        return wasLive && p.live !== true && text !== "" ? [{ kind: "posted", author: m.id, name: item.name, msgId: b64(memberId(p.msgId, "msgId")), text }] : [];
      }
      case "x.msg.del": {
        if (p.memberId !== undefined && p.memberId !== null && b64(memberId(p.memberId)) !== m.id) return null; // members delete only their own
        const msgId = b64(memberId(p.msgId, "msgId"));
        const i = this.#find(m.id, msgId);
        if (i < 0) return null;
        this.log.splice(i, 1);
        return [{ kind: "deleted", author: m.id, msgId }];
      }
      case "x.msg.react":
        return p.memberId === undefined || p.memberId === null ? null : [];
      case "x.info":
        if (!isObject(p.profile)) return null;
        m.profile = memberProfile(p.profile);
        return [];
      case "x.grp.leave":
        m.status = "left";
        this.#forget();
        return [{ kind: "left", member: m.id, name: nameOf(m.profile) }];
      default:
        return null; // admin and owner events: a member has no role for them
    }
  }

  /** Members gone for good are forgotten past {@link MAX_KNOWN} records, the oldest first. */
  #forget(): void {
    for (const [id, m] of this.members) {
      if (this.members.size <= MAX_KNOWN) return;
      if (m.status === "left" || m.status === "removed") this.members.delete(id);
    }
  }

  #find(author: string, msgId: string): number {
    return this.log.findIndex((x) => x.author === author && typeof x.msg.msgId === "string" && x.msg.msgId === msgId);
  }

  #keep(item: LogItem): void {
    this.log.push(item);
    if (this.log.length > KEEP_LOG) this.log.shift();
  }

  /** The host writes `text` (`msgId`: 12 random bytes); `ts` now. */
  post(text: string, msgId: Uint8Array, ts: string): HostStep {
    const msg = chatMessage("x.msg.new", { content: { type: "text", text: wellFormed(text) } }, msgId);
    this.seen.push(`${this.me.id} ${b64(msgId)}`);
    if (this.seen.length > GROUP_MAX_SEEN_MSG_IDS) this.seen.shift();
    this.#keep({ author: this.me.id, name: nameOf(this.me.profile), msg: chatMessageToJson(msg), ts });
    return { sends: this.#toAll([msg]), shown: [], disconnect: [] };
  }

  #toAll(msgs: ChatMessage[]): [string, ChatMessage[]][] {
    return this.connectedMembers().map((m) => [m.id, msgs]);
  }

  /** Delete every kept message for everybody (the owner's moderation deletes). */
  clearHistory(): HostStep {
    const dels = this.log.filter((x) => typeof x.msg.msgId === "string").map((x) => chatMessage("x.msg.del", { msgId: x.msg.msgId as string, memberId: x.author }));
    this.log = [];
    return { sends: dels.length === 0 ? [] : this.#toAll(dels), shown: [], disconnect: [] };
  }

  /**
   * After a reload: members admitted whose connection was never started (`has` says which
   * ids have one) are dropped, so they do not hold a place; their join request comes again.
   */
  dropUnstarted(has: (id: string) => boolean): string[] {
    const gone = [...this.members.values()].filter((m) => m.status === "accepted" && !has(m.id)).map((m) => m.id);
    for (const id of gone) this.members.delete(id);
    return gone;
  }

  /** The owner deletes the room: each member is sent `x.grp.del` as its connection's last message. */
  deleteRoom(): void {
    for (const m of this.current()) m.status = "removed";
  }

  /** Names of the members now in the room, the host first. */
  names(): string[] {
    return [nameOf(this.me.profile) + " (host)", ...this.connectedMembers().map((m) => nameOf(m.profile))];
  }

  toJSON(): unknown {
    return { p: groupProfileToJson(this.profile), me: this.me, h: this.history, m: [...this.members.values()], l: this.log, s: this.seen };
  }

  static fromJSON(x: unknown): RoomHost {
    const bad = (): never => {
      throw new DecodeError("invalid room state");
    };
    const d = isObject(x) ? x : bad();
    const member = (v: unknown): Member => {
      const o = isObject(v) ? v : bad();
      const vr = o.v;
      if (typeof o.id !== "string" || typeof o.role !== "string" || !isObject(o.profile) || typeof o.status !== "string") bad();
      const range = Array.isArray(vr) && vr.length === 2 && vr.every((n) => typeof n === "number") ? ([vr[0], vr[1]] as [number, number]) : null;
      return { id: o.id as string, role: o.role as string, profile: memberProfile(o.profile as JsonObject), status: o.status as string, v: range };
    };
    const h = new RoomHost(groupProfileFromJson(d.p), member(d.me), typeof d.h === "number" ? d.h : bad());
    for (const m of Array.isArray(d.m) ? d.m : bad()) {
      const rec = member(m);
      h.members.set(rec.id, rec);
    }
    h.log = (Array.isArray(d.l) ? d.l : bad()).map((v) => {
      const o = isObject(v) ? v : bad();
      if (typeof o.author !== "string" || typeof o.name !== "string" || !isObject(o.msg) || typeof o.ts !== "string") bad();
      return { author: o.author as string, name: o.name as string, msg: o.msg as JsonObject, ts: o.ts as string };
    });
    h.seen = (Array.isArray(d.s) ? d.s : bad()).map((v) => (typeof v === "string" ? v : bad()));
    return h;
  }
}

// ----------------------------------------------------------------------------- member

interface Known {
  name: string;
  role: string;
  here: boolean;
}

export class RoomMember {
  readonly title: string;
  readonly host: string;
  readonly own: string;
  readonly #hostRank: number;
  readonly members: Map<string, Known>;
  #seen: string[];
  /** Live messages (author msgId) whose final text has not come yet. */
  #live: string[] = [];

  private constructor(title: string, host: string, hostRole: string, own: string, members: Map<string, Known>, seen: string[]) {
    this.title = title;
    this.host = host;
    this.#hostRank = roleRank(hostRole);
    this.own = own;
    this.members = members;
    this.#seen = seen;
  }

  /** The room a host's `x.grp.link.inv` opens. */
  static open(inv: GroupLinkInvitation): RoomMember {
    const host = b64(inv.fromMember.memberId);
    const members = new Map<string, Known>([[host, { name: short(inv.fromMemberName), role: inv.fromMember.memberRole, here: true }]]);
    return new RoomMember(short(inv.groupProfile.displayName) || short(inv.fromMemberName), host, inv.fromMember.memberRole, b64(inv.invitedMember.memberId), members, []);
  }

  /** Names of the members known to be in the room, the host first. */
  names(): string[] {
    return [...this.members.entries()].filter(([, k]) => k.here).map(([id, k]) => (id === this.host ? `${k.name} (host)` : k.name));
  }

  /** What one body from the host means (every element of a batch; bad elements skipped). */
  receive(body: Uint8Array): RoomOut[] {
    const out: RoomOut[] = [];
    for (const m of parseChatElements(body)) {
      if (m instanceof DecodeError) continue;
      try {
        if (m.event === "x.grp.msg.forward") {
          if (this.#hostRank < roleRank("admin")) continue;
          const f = forwardFromJson(m.params);
          if (f.memberId === null || !FORWARDABLE_EVENTS.has(f.msg.event)) continue;
          const author = b64(f.memberId);
          if (author === this.own) continue;
          if (!this.members.has(author)) {
            if (this.members.size >= MAX_KNOWN) continue;
            this.members.set(author, { name: short(f.memberName ?? "") || "member", role: "member", here: author !== this.host });
          }
          this.#handle(f.msg, author, false, out);
        } else this.#handle(m, this.host, true, out);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
      }
    }
    return out;
  }

  #handle(m: ChatMessage, author: string, direct: boolean, out: RoomOut[]): void {
    const p = m.params;
    const who = this.members.get(author);
    const name = who?.name ?? "member";
    switch (m.event) {
      case "x.msg.new": {
        if (m.msgId === null) return;
        const msgId = b64(m.msgId);
        const key = `${author} ${msgId}`;
        if (this.#seen.includes(key)) return;
        this.#seen.push(key);
        if (this.#seen.length > GROUP_MAX_SEEN_MSG_IDS) this.#seen.shift();
        const c = content(p.content);
        const text = typeof c.text === "string" ? wellFormed(c.text) : "";
        if (p.live === true) this.#live = [...this.#live.slice(-(MAX_LIVE - 1)), key];
        else if (text !== "") out.push({ kind: "posted", author, name, msgId, text });
        return;
      }
      case "x.msg.update": {
        // only a live message's final text (edits of shown messages are not shown)
        const msgId = b64(memberId(p.msgId, "msgId"));
        const key = `${author} ${msgId}`;
        if (p.live === true || !this.#live.includes(key)) return;
        this.#live = this.#live.filter((k) => k !== key);
        const c = content(p.content);
        const text = typeof c.text === "string" ? wellFormed(c.text) : "";
        if (text !== "") out.push({ kind: "posted", author, name, msgId, text });
        return;
      }
      case "x.msg.del": {
        const target = p.memberId === undefined || p.memberId === null ? author : b64(memberId(p.memberId));
        if (target !== author && !(direct && this.#hostRank >= roleRank("moderator"))) return;
        out.push({ kind: "deleted", author: target, msgId: b64(memberId(p.msgId, "msgId")) });
        return;
      }
      case "x.info":
        if (who !== undefined && isObject(p.profile)) who.name = short(String(p.profile.displayName ?? "")) || who.name;
        return;
      case "x.grp.link.mem":
        if (direct && who !== undefined && isObject(p.profile)) who.name = short(String(p.profile.displayName ?? "")) || who.name;
        return;
      case "x.grp.mem.new": {
        if (!direct || !isObject(p.memberInfo)) return;
        const info = p.memberInfo;
        const id = b64(memberId(info.memberId));
        if (id === this.own) return;
        const n = isObject(info.profile) ? short(String(info.profile.displayName ?? "")) : "";
        const known = this.members.get(id);
        if (known === undefined && this.members.size >= MAX_KNOWN) return;
        this.members.set(id, { name: n || known?.name || "member", role: typeof info.memberRole === "string" ? info.memberRole : "member", here: true });
        if (known?.here !== true) out.push({ kind: "joined", member: id, name: n || "member" });
        return;
      }
      case "x.grp.leave":
        if (direct) out.push({ kind: "ended", why: "the host left the room" });
        else if (who !== undefined && who.here) {
          who.here = false;
          out.push({ kind: "left", member: author, name });
        }
        return;
      case "x.grp.mem.del": {
        const id = b64(memberId(p.memberId));
        if (!direct) return;
        if (id === this.own) out.push({ kind: "ended", why: "the host removed you from the room" });
        else {
          const k = this.members.get(id);
          if (k !== undefined && k.here) {
            k.here = false;
            out.push({ kind: "left", member: id, name: k.name });
          }
        }
        return;
      }
      case "x.grp.del":
        if (direct) out.push({ kind: "ended", why: "the host deleted the room" });
        return;
      default:
        return;
    }
  }

  /** A message of ours (so the host's echo of it, if any, is dropped). */
  sent(msgId: Uint8Array): void {
    this.#seen.push(`${this.own} ${b64(msgId)}`);
  }

  toJSON(): unknown {
    return { t: this.title, h: this.host, r: this.#hostRank >= roleRank("owner") ? "owner" : this.#hostRank >= roleRank("admin") ? "admin" : "member", o: this.own, m: [...this.members.entries()].map(([id, k]) => [id, k.name, k.role, k.here]), s: this.#seen, l: this.#live };
  }

  static fromJSON(x: unknown): RoomMember {
    const bad = (): never => {
      throw new DecodeError("invalid room state");
    };
    const d = isObject(x) ? x : bad();
    const text = (v: unknown): string => (typeof v === "string" ? v : bad());
    const members = new Map<string, Known>();
    for (const e of Array.isArray(d.m) ? d.m : bad()) {
      const [id, name, role, here] = Array.isArray(e) && e.length === 4 ? e : bad();
      members.set(text(id), { name: short(text(name)), role: text(role), here: here === true });
    }
    const seen = (Array.isArray(d.s) ? d.s : bad()).map(text).slice(-GROUP_MAX_SEEN_MSG_IDS);
    const member = new RoomMember(short(text(d.t)), text(d.h), text(d.r), text(d.o), members, seen);
    member.#live = (Array.isArray(d.l) ? d.l : []).map(text).slice(-MAX_LIVE);
    return member;
  }
}
