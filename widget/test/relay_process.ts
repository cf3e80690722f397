/**
 * Test helpers: an SMP relay process with its WebSocket listener (relayproc.ts starts it) and a
 * client's events as an awaitable queue, for the tests against real relays.
 */

import { parseSMPServer, type SMPServer } from "../src/smp/address.js";
import type { ClientEvent } from "../src/smp/client.js";
import { type RelayProc, startRelayProc, stopRelayProc } from "./relayproc.js";

export { HAVE_RELAY } from "./relayproc.js";

export interface Relay extends RelayProc {
  server: SMPServer;
  wsUrl: string;
}

/** A relay on loopback with a WebSocket listener (`extra`: more arguments, e.g. `--tls 127.0.0.1:0`). */
export async function startRelay(extra: string[] = []): Promise<Relay> {
  const r = await startRelayProc(
    () => ["--ws", "127.0.0.1:0", ...extra],
    (out) => /^smp:\/\/\S+$/m.test(out) && /WebSocket: ws:\/\/\S+/.test(out),
  );
  const addr = /^(smp:\/\/\S+)$/m.exec(r.out)!;
  const ws = /WebSocket: (ws:\/\/\S+)/.exec(r.out)!;
  return { ...r, server: parseSMPServer(addr[1]!), wsUrl: ws[1]! };
}

export const stopRelay = stopRelayProc;

/** Events of a client, awaitable one by one. */
export class EventQueue {
  readonly items: ClientEvent[] = [];
  #waiters: { pred: (e: ClientEvent) => boolean; resolve: (e: ClientEvent) => void }[] = [];

  push = (e: ClientEvent): void => {
    const i = this.#waiters.findIndex((w) => w.pred(e));
    if (i >= 0) {
      const [w] = this.#waiters.splice(i, 1);
      w!.resolve(e);
    } else this.items.push(e);
  };

  next<T extends ClientEvent["type"]>(type: T, timeoutMs = 10000): Promise<Extract<ClientEvent, { type: T }>> {
    const pred = (e: ClientEvent): boolean => e.type === type;
    const i = this.items.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.items.splice(i, 1)[0] as Extract<ClientEvent, { type: T }>);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${type} event`)), timeoutMs);
      this.#waiters.push({
        pred,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e as Extract<ClientEvent, { type: T }>);
        },
      });
    });
  }
}
