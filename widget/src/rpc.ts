/**
 * The message protocol between the page (main.ts) and the crypto worker (worker.ts).
 *
 * Only plain, structured-cloneable data crosses: commands in, results and events out. Keys,
 * key material and ciphertext never do; the page sees connection status and (later) chat
 * text only. Every message is validated on arrival ({@link parseRequest}, {@link parseReply}).
 */

export interface Results {
  connect: { version: number };
  ping: { lag: number };
  close: null;
}

export type Op = keyof Results;

export type WorkerRequest =
  | { id: number; op: "connect"; server: string; wsUrl: string }
  | { id: number; op: "ping" }
  | { id: number; op: "close" };

export type WorkerEvent =
  | { event: "status"; status: "ready" | "connected" | "disconnected" | "reconnected" | "closed"; detail: string }
  | { event: "lag"; ms: number };

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
  if (x.event === "lag" && typeof x.ms === "number") return { event: "lag", ms: x.ms };
  return null;
}
