/**
 * Test helper for the web app's worker (src/app/service.ts) on a real relay: a fake page that
 * keeps the sealed profiles in memory and answers `stored(seq)` when the test lets it, and can
 * be "closed" (its sockets cut, nothing more confirmed) so a new page reloads the last profile.
 */

import { afterAll, beforeAll } from "vitest";
import { WebSocket } from "ws";

import { AppService } from "../src/app/service.js";
import { parseAppRequest, type AppEvent, type AppReply } from "../src/app/rpc.js";
import type { WebSocketLike } from "../src/smp/client.js";
import { startRelay, stopRelay, type Relay } from "./relay_process.js";

/** Poll `pred` until it holds (`ms` at most). */
export async function until(pred: () => boolean, what: string, ms = 20000): Promise<void> {
  for (const end = Date.now() + ms; !pred(); ) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A web app worker on `relay` and its page: holds `stored` while `hold`, keeps every blob it stored. */
export class Page {
  readonly events: AppEvent[] = [];
  readonly #replies = new Map<number, (r: AppReply) => void>();
  readonly service: AppService;
  /** The sealed profiles posted, by seq; the last one stored (what a reload opens). */
  readonly blobs = new Map<number, ArrayBuffer>();
  stored: ArrayBuffer | null = null;
  /** While true the page does not answer `stored` (a write that has not committed, or fails). */
  hold = false;
  readonly held: number[] = [];
  #next = 1;

  readonly #sockets: WebSocket[] = [];
  #dead = false;

  constructor() {
    this.service = new AppService((m) => this.#onReply(m), (url) => {
      // a closed tab: nothing reaches the relay any more (its reconnects are refused)
      const ws = new WebSocket(this.#dead ? "ws://127.0.0.1:9/" : url);
      this.#sockets.push(ws);
      return ws as unknown as WebSocketLike;
    });
  }

  /** The tab is closed: its connection goes, and it confirms nothing more. */
  kill(): void {
    this.#dead = true;
    this.hold = true;
    for (const ws of this.#sockets) ws.terminate();
  }

  #onReply(m: AppReply): void {
    if ("event" in m) {
      this.events.push(m);
      if (m.event === "sealed") {
        this.blobs.set(m.seq, m.data);
        if (this.hold) this.held.push(m.seq);
        else setTimeout(() => this.confirm(m.seq), 0);
      }
      return;
    }
    this.#replies.get(m.id)?.(m);
  }

  /** The page's IndexedDB transaction for `seq` completed. */
  confirm(seq: number): void {
    this.stored = this.blobs.get(seq)!;
    void this.service.handle({ id: 0, op: "stored", seq });
  }

  /** Let the held confirmations through (the write finally succeeded). */
  release(): void {
    this.hold = false;
    for (const seq of this.held.splice(0)) this.confirm(seq);
  }

  call(req: Record<string, unknown>): Promise<unknown> {
    const id = this.#next++;
    const parsed = parseAppRequest({ ...req, id });
    if (parsed === null) throw new Error(`invalid request ${String(req.op)}`);
    return new Promise((resolve, reject) => {
      this.#replies.set(id, (r) => ("ok" in r && r.ok ? resolve(r.result) : reject(new Error("error" in r ? r.error : "?"))));
      void this.service.handle(parsed);
    });
  }

  messages(contact: string, dir: "in" | "out"): string[] {
    return this.events.flatMap((e) => (e.event === "message" && e.contact === contact && e.item.dir === dir ? [e.item.text] : []));
  }

  /** How many of our messages to `contact` were delivered (tick 2). */
  delivered(contact: string): number {
    return this.events.filter((e) => e.event === "tick" && e.contact === contact && e.tick === 2).length;
  }

  connected(contact: string): boolean {
    return this.events.some((e) => e.event === "contact" && e.contact.id === contact && e.contact.status === "connected");
  }
}

/** A relay for the tests of the calling `describe` (started before them, stopped after) and the pages' key. */
export interface AppRelay {
  relay: Relay;
  /** The relay's smp:// address. */
  smp: string;
  /** The browser's non-extractable key every page seals its profile under. */
  key: CryptoKey;
  /** Start `page`'s worker on the relay from the profile `sealed` (null: a new one). */
  start(page: Page, sealed: ArrayBuffer | null): Promise<unknown>;
}

export function appRelay(): AppRelay {
  const env: AppRelay = {
    relay: undefined as unknown as Relay,
    smp: "",
    key: undefined as unknown as CryptoKey,
    start: (page, sealed) => page.call({ op: "start", server: env.smp, wsUrl: env.relay.wsUrl, key: env.key, sealed, passphrase: null }),
  };
  beforeAll(async () => {
    env.relay = await startRelay();
    env.smp = /^(smp:\/\/\S+)$/m.exec(env.relay.out)![1]!;
    env.key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
  });
  afterAll(async () => {
    if (env.relay !== undefined) await stopRelay(env.relay);
  });
  return env;
}
