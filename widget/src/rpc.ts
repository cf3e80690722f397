/**
 * The message protocol between the page (main.ts) and the crypto worker (worker.ts).
 *
 * Only plain, structured-cloneable data crosses: commands in, results and events out. Keys,
 * key material and protocol ciphertext never do; the page sees connection status and chat
 * text only. Every message is validated on arrival ({@link parseRequest}, {@link parseReply}).
 *
 * The visitor's chat (page side: ui/panel.ts; worker side: agent/ and chat.ts):
 *
 * - `join(address, relayUrl, name, seal)`: join the owner's contact address through the relay's
 *   WebSocket URL, introducing ourselves as `name` ("" = anonymous). Resolves once the request
 *   is on its way; the event `connected` follows when the owner accepted (from then on a
 *   message is deliverable). `seal` is null, or (resume on) a non-extractable AES-GCM CryptoKey
 *   that the page keeps in IndexedDB: the worker then posts `sealed` with its session state
 *   encrypted under that key with a `seq`, and the page stores it as it is and answers
 *   `stored(seq)` once the IndexedDB transaction completed. The worker sends and acknowledges
 *   nothing that the stored state does not cover: each SEND and each ACK waits for that
 *   answer (write-ahead; one sealed state is in the page's hands at a time, the states sealed
 *   meanwhile collapse into the newest). A page that cannot store it retries and says so.
 * - `send(text)` resolves with the agent's message id once the relay took the message (one
 *   tick); the event `receipt` with that id means the owner's device got it (two ticks).
 *   It rejects while the relay is unreachable: the page keeps the text and sends it again
 *   after `status` `reconnected`.
 * - `end()` sends `x.direct.del` and deletes the visitor's queues; then `ended` (by "self").
 * - `restore(relayUrl, key, sealed)` opens a sealed state after a reload, reconnects and
 *   resubscribes, and returns the owner's name and the transcript kept in the state.
 * - events: `message` (the owner's text; the worker acknowledges it with a receipt itself),
 *   `receipt`, `ended` (by "peer" after the owner's `x.direct.del`), `sealed`, plus `status`
 *   and `lag` (keepalive round trip, shown as connection quality).
 * - business chats (docs/widget.md section 7): `message` may name the operator (`from`),
 *   `typing` carries a live message's text, and `upgrade` asks the page to restart the worker
 *   with the "business" module (main.ts handles it; the UI never sees it); also with the
 *   "proxy" module for an owner's reply queue on another relay (docs/widget.md section 1).
 */

/** Longest text the page may send (characters); the x.msg.new JSON must fit one SMP message. */
export const MAX_SEND_TEXT = 4096;
/** Longest text accepted from the worker in a `message` event or a transcript item. */
export const MAX_RECV_TEXT = 16384;
/** Largest sealed state the page stores. */
export const MAX_SEALED = 1 << 20;
/** Longest contact address the page hands over (characters). */
export const MAX_ADDRESS = 8192;
/** Most transcript items a restored state carries. */
export const MAX_TRANSCRIPT = 500;

/** One message of a restored conversation. */
export interface TranscriptItem {
  dir: "in" | "out";
  text: string;
  /** The agent's message id: for "out", the id a later `receipt` names. */
  msgId: number;
  /** "out" only: "sent" (the relay took it) or "delivered" (receipt came). */
  delivered: boolean;
  /** "in", business chats only: the operator who wrote it, when the business names them. */
  from?: string;
}

export interface Results {
  connect: { version: number };
  ping: { lag: number };
  close: null;
  join: null;
  send: { msgId: number };
  end: null;
  restore: { peer: string; transcript: TranscriptItem[] };
  stored: null;
}

export type Op = keyof Results;

export type WorkerRequest =
  | { id: number; op: "connect"; server: string; wsUrl: string }
  | { id: number; op: "ping" }
  | { id: number; op: "close" }
  | { id: number; op: "join"; address: string; relayUrl: string; name: string; seal: CryptoKey | null }
  /** `shop`: the JSON of a shop payload, sent as "hw.shop" beside `text` (its summary), never kept in the transcript. */
  | { id: number; op: "send"; text: string; shop?: string }
  | { id: number; op: "end" }
  | { id: number; op: "restore"; relayUrl: string; key: CryptoKey; sealed: ArrayBuffer }
  /** The page committed the sealed state `seq` (its IndexedDB transaction completed). */
  | { id: number; op: "stored"; seq: number };

export type WorkerEvent =
  | { event: "status"; status: "ready" | "connected" | "disconnected" | "reconnected" | "closed"; detail: string }
  | { event: "lag"; ms: number }
  /** The owner accepted: the chat is established and a message sent now is deliverable. */
  | { event: "connected"; peer: string }
  /** A text from the owner (already acknowledged with a receipt by the worker); `from`: an operator's name. */
  | { event: "message"; msgId: number; text: string; from?: string }
  /** Business chats: someone is writing a live message, its text so far ("" = stopped). */
  | { event: "typing"; text: string }
  /**
   * The worker met a business address or an owner on another relay: load `module` and go on
   * in a new worker (main.ts), restoring `data` (the session, sealed under `key`, as `sealed`
   * is) there.
   */
  | { event: "upgrade"; module: "business" | "proxy"; key: CryptoKey; data: ArrayBuffer }
  /** The owner's device received our message `msgId`. */
  | { event: "receipt"; msgId: number }
  /** The conversation is over: ended by us (`end`) or by the owner (`x.direct.del`). */
  | { event: "ended"; by: "self" | "peer" }
  /** The session state, encrypted under the `seal` key (resume on only): store it as it is, then answer `stored(seq)`. */
  | { event: "sealed"; data: ArrayBuffer; seq: number }
  /** A shop payload from the owner ("hw.shop" of an x.msg.new, as JSON): not a chat line. */
  | { event: "shop"; data: string };

export type WorkerReply =
  | { id: number; ok: true; result: Results[Op] }
  | { id: number; ok: false; error: string }
  | WorkerEvent;

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

const MAX_TEXT = 2048;

function shortText(x: unknown): x is string {
  return typeof x === "string" && x.length > 0 && x.length <= MAX_TEXT;
}

function msgId(x: unknown): x is number {
  return typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
}

/** A non-extractable AES-GCM key (the only kind the page hands over for sealing). */
function sealKey(x: unknown): x is CryptoKey {
  return typeof CryptoKey !== "undefined" && x instanceof CryptoKey && x.algorithm.name === "AES-GCM" && !x.extractable;
}

function sealedData(x: unknown): x is ArrayBuffer {
  return x instanceof ArrayBuffer && x.byteLength > 0 && x.byteLength <= MAX_SEALED;
}

/** A transcript item from a restored state, or null. */
export function parseTranscriptItem(x: unknown): TranscriptItem | null {
  if (!isRecord(x) || (x.dir !== "in" && x.dir !== "out") || !msgId(x.msgId)) return null;
  if (typeof x.text !== "string" || x.text.length > MAX_RECV_TEXT || typeof x.delivered !== "boolean") return null;
  return { dir: x.dir, text: x.text, msgId: x.msgId, delivered: x.delivered, from: shortText(x.from) ? x.from : undefined };
}

/** A request from the page, or null if it is not one. */
export function parseRequest(x: unknown): WorkerRequest | null {
  if (!isRecord(x) || typeof x.id !== "number" || !Number.isSafeInteger(x.id)) return null;
  const id = x.id;
  switch (x.op) {
    case "connect":
      return shortText(x.server) && shortText(x.wsUrl) ? { id, op: "connect", server: x.server, wsUrl: x.wsUrl } : null;
    case "ping":
      return { id, op: "ping" };
    case "close":
      return { id, op: "close" };
    case "join":
      if (typeof x.address !== "string" || x.address.length === 0 || x.address.length > MAX_ADDRESS || !shortText(x.relayUrl) || typeof x.name !== "string" || x.name.length > 100) return null;
      if (x.seal !== null && !sealKey(x.seal)) return null;
      return { id, op: "join", address: x.address, relayUrl: x.relayUrl, name: x.name, seal: x.seal };
    case "send":
      if (typeof x.text !== "string" || x.text.length === 0 || x.text.length > MAX_SEND_TEXT) return null;
      if (x.shop === undefined) return { id, op: "send", text: x.text };
      return typeof x.shop === "string" && x.shop.length <= MAX_RECV_TEXT ? { id, op: "send", text: x.text, shop: x.shop } : null;
    case "end":
      return { id, op: "end" };
    case "restore":
      if (!shortText(x.relayUrl) || !sealKey(x.key) || !sealedData(x.sealed)) return null;
      return { id, op: "restore", relayUrl: x.relayUrl, key: x.key, sealed: x.sealed };
    case "stored":
      return msgId(x.seq) ? { id, op: "stored", seq: x.seq } : null;
    default:
      return null;
  }
}

/** A reply or event from the worker, or null if it is not one. */
export function parseReply(x: unknown): WorkerReply | null {
  if (!isRecord(x)) return null;
  if (typeof x.id === "number") {
    if (x.ok === true) return { id: x.id, ok: true, result: x.result as Results[Op] };
    if (x.ok === false && typeof x.error === "string") return { id: x.id, ok: false, error: x.error };
    return null;
  }
  if (x.event === "status" && typeof x.status === "string" && typeof x.detail === "string") {
    const s = x.status;
    if (s === "ready" || s === "connected" || s === "disconnected" || s === "reconnected" || s === "closed") {
      return { event: "status", status: s, detail: x.detail };
    }
    return null;
  }
  switch (x.event) {
    case "lag":
      return typeof x.ms === "number" && Number.isFinite(x.ms) && x.ms >= 0 ? { event: "lag", ms: x.ms } : null;
    case "connected":
      return typeof x.peer === "string" && x.peer.length <= MAX_TEXT ? { event: "connected", peer: x.peer } : null;
    case "message":
      return msgId(x.msgId) && typeof x.text === "string" && x.text.length <= MAX_RECV_TEXT
        ? { event: "message", msgId: x.msgId, text: x.text, from: shortText(x.from) ? x.from : undefined }
        : null;
    case "typing":
      return typeof x.text === "string" && x.text.length <= MAX_RECV_TEXT ? { event: "typing", text: x.text } : null;
    case "upgrade":
      return (x.module === "business" || x.module === "proxy") && sealKey(x.key) && sealedData(x.data) ? { event: "upgrade", module: x.module, key: x.key, data: x.data } : null;
    case "receipt":
      return msgId(x.msgId) ? { event: "receipt", msgId: x.msgId } : null;
    case "ended":
      return x.by === "self" || x.by === "peer" ? { event: "ended", by: x.by } : null;
    case "sealed":
      return sealedData(x.data) && msgId(x.seq) ? { event: "sealed", data: x.data, seq: x.seq } : null;
    case "shop":
      return typeof x.data === "string" && x.data.length <= MAX_RECV_TEXT ? { event: "shop", data: x.data } : null;
    default:
      return null;
  }
}
