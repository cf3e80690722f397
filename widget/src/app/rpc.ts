/**
 * The message protocol between the web app's page (app/main.ts) and its crypto worker
 * (app/worker.ts), like the widget's rpc.ts: plain structured-cloneable data, checked on arrival
 * ({@link parseAppRequest}, {@link parseAppReply}); keys and ciphertext never cross, only names,
 * texts, links the user shares and the profile sealed under the page's non-extractable key.
 *
 * - `start(server, wsUrl, key, sealed, passphrase)`: connect to the relay (its SMP address and
 *   WebSocket URL), open the sealed profile (null: a new one) and resume every contact; returns
 *   the profile's name and contacts with their messages. A profile protected by a passphrase
 *   (`protect`) needs it too: without it, the error says {@link PASSPHRASE_NEEDED}.
 * - `protect(passphrase)`: from now on the profile opens only with this passphrase as well as
 *   the browser's key ("" removes the protection).
 * - `invite()`: a new one-time invitation; returns the contact's id and the link
 *   (`simplex:/invitation#/?...`; the page shows it on its own origin).
 * - `join(link)`: open someone's invitation or contact address; returns the new contact's id at
 *   once, the event `contact` says when it is connected.
 * - `send(id, text)`: resolves with the message's id once it is encrypted and queued (it goes out
 *   when the relay is reachable); `tick` events follow (1: the relay took it, 2: delivered).
 * - `rename(id, name)`, `remove(id)`, `verify(id)` (the security code), `setName(name)`.
 * - `createRoom(name)`: a room this browser hosts; returns its id and its link (a contact address
 *   with group data). `join` of a room link makes this browser a member; `remove` of a room
 *   leaves it (the host's: deletes it for everyone); `clearHistory(id)` (the host) deletes every
 *   message of the room for everybody.
 * - `exportProfile(passphrase)`: the whole profile as one file, encrypted under the passphrase
 *   (to move it to another device); `importProfile(passphrase, data)` replaces this browser's
 *   profile with it and returns what `start` returns.
 * - `stored(seq)`: the page committed the sealed profile `seq` (its IndexedDB transaction
 *   completed). Write-ahead (worker/durable.ts): the worker sends and acknowledges nothing that
 *   the stored profile does not cover, so each SEND and ACK waits for this answer.
 * - events: `status`, `lag` (keepalive round trip), `contact` (a contact's name or status
 *   changed), `message`, `tick`, `items` (a room's messages after a deletion), `sealed` (the
 *   profile, encrypted, and its seq: store it as it is, then answer `stored(seq)`).
 */

/** Longest text of one message, name, link (characters). */
export const MAX_TEXT = 4096;
export const MAX_NAME = 100;
export const MAX_LINK = 8192;
/** The start error of a profile that needs its passphrase. */
export const PASSPHRASE_NEEDED = "this profile is protected by a passphrase";
/** Longest passphrase of an exported or protected profile. */
export const MAX_PASSPHRASE = 1024;
/** Largest sealed or exported profile. */
export const MAX_PROFILE = 16 << 20;

export type Tick = 0 | 1 | 2;
export type ContactStatus = "invited" | "connecting" | "connected" | "failed" | "ended";

export interface Item {
  dir: "in" | "out";
  text: string;
  msgId: number;
  /** Outgoing: 0 queued, 1 the relay took it, 2 delivered. */
  tick: Tick;
  /** In a room: the author's name (incoming) and the message's key (author and shared id). */
  from?: string;
  key?: string;
}

export interface ContactView {
  id: string;
  name: string;
  status: ContactStatus;
  /** The invitation link while `invited`, else "". */
  link: string;
  /** Why it failed (status `failed`), else "". */
  detail: string;
  /** A 1:1 contact or a room; `owner`: a room this browser hosts; `members`: a room's names. */
  kind: "contact" | "room";
  owner: boolean;
  members: string[];
}

export interface AppResults {
  start: { name: string; contacts: (ContactView & { items: Item[] })[] };
  invite: { id: string; link: string };
  join: { id: string };
  send: { msgId: number };
  rename: null;
  remove: null;
  verify: { code: string };
  setName: null;
  protect: null;
  exportProfile: { data: ArrayBuffer };
  importProfile: AppResults["start"];
  createRoom: { id: string; link: string };
  clearHistory: null;
  stored: null;
}

export type AppOp = keyof AppResults;

export type AppRequest =
  | { id: number; op: "start"; server: string; wsUrl: string; key: CryptoKey; sealed: ArrayBuffer | null; passphrase: string | null }
  | { id: number; op: "invite" }
  | { id: number; op: "join"; link: string }
  | { id: number; op: "send"; contact: string; text: string }
  | { id: number; op: "rename"; contact: string; name: string }
  | { id: number; op: "remove"; contact: string }
  | { id: number; op: "verify"; contact: string }
  | { id: number; op: "setName"; name: string }
  | { id: number; op: "protect"; passphrase: string }
  | { id: number; op: "exportProfile"; passphrase: string }
  | { id: number; op: "importProfile"; passphrase: string; data: ArrayBuffer }
  | { id: number; op: "createRoom"; name: string }
  | { id: number; op: "clearHistory"; contact: string }
  | { id: number; op: "stored"; seq: number };

export type AppEvent =
  | { event: "status"; status: "connected" | "disconnected" | "reconnected"; detail: string }
  | { event: "lag"; ms: number }
  | { event: "contact"; contact: ContactView }
  | { event: "message"; contact: string; item: Item }
  | { event: "tick"; contact: string; msgId: number; tick: Tick }
  | { event: "items"; contact: string; items: Item[] }
  | { event: "sealed"; data: ArrayBuffer; seq: number };

export type AppReply = { id: number; ok: true; result: AppResults[AppOp] } | { id: number; ok: false; error: string } | AppEvent;

type Rec = Record<string, unknown>;
const isRec = (x: unknown): x is Rec => typeof x === "object" && x !== null && !Array.isArray(x);
const str = (x: unknown, max: number, min = 0): x is string => typeof x === "string" && x.length >= min && x.length <= max;
const count = (x: unknown): x is number => typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
const tick = (x: unknown): x is Tick => x === 0 || x === 1 || x === 2;
const buffer = (x: unknown): x is ArrayBuffer => x instanceof ArrayBuffer && x.byteLength > 0 && x.byteLength <= MAX_PROFILE;
const STATUSES: readonly string[] = ["invited", "connecting", "connected", "failed", "ended"];

/** A message item (from the worker or a restored profile), or null. */
export function parseItem(x: unknown): Item | null {
  if (!isRec(x) || (x.dir !== "in" && x.dir !== "out") || !str(x.text, 4 * MAX_TEXT) || !count(x.msgId) || !tick(x.tick)) return null;
  const item: Item = { dir: x.dir, text: x.text, msgId: x.msgId, tick: x.tick };
  if (x.from !== undefined) {
    if (!str(x.from, 2 * MAX_NAME)) return null;
    item.from = x.from;
  }
  if (x.key !== undefined) {
    if (!str(x.key, 300)) return null;
    item.key = x.key;
  }
  return item;
}

export function parseContactView(x: unknown): ContactView | null {
  if (!isRec(x) || !str(x.id, 64, 1) || !str(x.name, 2 * MAX_NAME) || !STATUSES.includes(x.status as string) || !str(x.link, MAX_LINK) || !str(x.detail, 500)) return null;
  // profiles from before rooms have no kind: a contact
  const kind = x.kind === undefined ? "contact" : x.kind;
  const members = x.members === undefined ? [] : x.members;
  if ((kind !== "contact" && kind !== "room") || !Array.isArray(members) || members.length > 1000 || !members.every((m) => str(m, 2 * MAX_NAME))) return null;
  return { id: x.id, name: x.name, status: x.status as ContactStatus, link: x.link, detail: x.detail, kind, owner: x.owner === true, members: members as string[] };
}

/** A request from the page, or null. */
export function parseAppRequest(x: unknown): AppRequest | null {
  if (!isRec(x) || !count(x.id)) return null;
  const id = x.id;
  switch (x.op) {
    case "start": {
      const key = x.key;
      const okKey = typeof CryptoKey !== "undefined" && key instanceof CryptoKey && key.algorithm.name === "AES-GCM" && !key.extractable;
      if (!okKey || !str(x.server, 2048, 1) || !str(x.wsUrl, 2048, 1) || !(x.sealed === null || buffer(x.sealed))) return null;
      if (x.passphrase !== null && !str(x.passphrase, MAX_PASSPHRASE, 1)) return null;
      return { id, op: "start", server: x.server, wsUrl: x.wsUrl, key: key as CryptoKey, sealed: x.sealed, passphrase: x.passphrase };
    }
    case "invite":
      return { id, op: "invite" };
    case "join":
      return str(x.link, MAX_LINK, 1) ? { id, op: "join", link: x.link } : null;
    case "send":
      return str(x.contact, 64, 1) && str(x.text, MAX_TEXT, 1) ? { id, op: "send", contact: x.contact, text: x.text } : null;
    case "rename":
      return str(x.contact, 64, 1) && str(x.name, MAX_NAME) ? { id, op: "rename", contact: x.contact, name: x.name } : null;
    case "createRoom":
      return str(x.name, MAX_NAME) ? { id, op: "createRoom", name: x.name } : null;
    case "remove":
    case "verify":
    case "clearHistory":
      return str(x.contact, 64, 1) ? { id, op: x.op, contact: x.contact } : null;
    case "setName":
      return str(x.name, MAX_NAME) ? { id, op: "setName", name: x.name } : null;
    case "protect":
      return str(x.passphrase, MAX_PASSPHRASE) ? { id, op: "protect", passphrase: x.passphrase } : null;
    case "exportProfile":
      return str(x.passphrase, MAX_PASSPHRASE, 1) ? { id, op: "exportProfile", passphrase: x.passphrase } : null;
    case "importProfile":
      return str(x.passphrase, MAX_PASSPHRASE, 1) && buffer(x.data) ? { id, op: "importProfile", passphrase: x.passphrase, data: x.data } : null;
    case "stored":
      return count(x.seq) ? { id, op: "stored", seq: x.seq } : null;
    default:
      return null;
  }
}

/** A reply or event from the worker, or null. Results are checked by the page where used. */
export function parseAppReply(x: unknown): AppReply | null {
  if (!isRec(x)) return null;
  if (count(x.id)) {
    if (x.ok === true) return { id: x.id, ok: true, result: x.result as AppResults[AppOp] };
    return x.ok === false && str(x.error, 2000) ? { id: x.id, ok: false, error: x.error } : null;
  }
  switch (x.event) {
    case "status":
      return (x.status === "connected" || x.status === "disconnected" || x.status === "reconnected") && str(x.detail, 500) ? { event: "status", status: x.status, detail: x.detail } : null;
    case "lag":
      return typeof x.ms === "number" && Number.isFinite(x.ms) && x.ms >= 0 ? { event: "lag", ms: x.ms } : null;
    case "contact": {
      const c = parseContactView(x.contact);
      return c === null ? null : { event: "contact", contact: c };
    }
    case "message": {
      const item = parseItem(x.item);
      return item !== null && str(x.contact, 64, 1) ? { event: "message", contact: x.contact, item } : null;
    }
    case "tick":
      return str(x.contact, 64, 1) && count(x.msgId) && tick(x.tick) ? { event: "tick", contact: x.contact, msgId: x.msgId, tick: x.tick } : null;
    case "items": {
      const items = Array.isArray(x.items) && x.items.length <= 1000 ? x.items.map(parseItem) : [null];
      return str(x.contact, 64, 1) && !items.includes(null) ? { event: "items", contact: x.contact, items: items as Item[] } : null;
    }
    case "sealed":
      return buffer(x.data) && count(x.seq) ? { event: "sealed", data: x.data, seq: x.seq } : null;
    default:
      return null;
  }
}
