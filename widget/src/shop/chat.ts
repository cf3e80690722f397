/**
 * The chat beside the shop: the widget's own chat panel (ui/panel.ts) on the shop's
 * connection, so a customer can ask the owner a question in the same end-to-end encrypted
 * conversation that carries the catalog and the orders.
 *
 * {@link ChatLink} is the panel's backend: it does not start a worker of its own but lends the
 * shop's (shop/shop.ts). `join` waits until the shop is connected; `restore` hands back the
 * owner's name and the chat lines the shop's resumed session kept (the panel's resume path,
 * through a stand-in store that only says whether there is a session); shop traffic never
 * reaches the panel (the worker sends it as `shop` events, not `message`). "End
 * conversation" ends the shop's connection too; the shop then starts a new one.
 */

import type { HushwireWidget } from "../main.js";
import type { Results, TranscriptItem, WorkerEvent } from "../rpc.js";
import type { Backend as ChatBackend } from "../ui/panel.js";
import type { SessionStore } from "../ui/resume.js";

export type Worker = Pick<HushwireWidget, "on" | "join" | "restore" | "send" | "dispose" | "end" | "ping" | "stored">;

/** What the chat needs of the shop. */
export interface ShopLink {
  /** The shop's worker once the owner accepted or the session resumed. */
  ready(): Promise<Worker>;
  /** The owner's name and the chat lines of a resumed session ("" and none for a new one). */
  peer(): string;
  transcript(): TranscriptItem[];
  /** The shop's worker events, as they come. */
  listen(f: (e: WorkerEvent) => void): () => void;
}

export class ChatLink implements ChatBackend {
  readonly #shop: ShopLink;

  constructor(shop: ShopLink) {
    this.#shop = shop;
  }

  on(listener: (e: WorkerEvent) => void): () => void {
    this.#own.add(listener);
    const off = this.#shop.listen((e) => {
      if (e.event !== "shop" && e.event !== "sealed") listener(e);
    });
    return () => {
      off();
      this.#own.delete(listener);
    };
  }

  async join(): Promise<Results["join"]> {
    await this.#shop.ready();
    // The panel moves to its chat phase on `connected`: the shop's connection already is.
    setTimeout(() => this.#replay({ event: "connected", peer: this.#shop.peer() }), 0);
    return null;
  }

  readonly #own = new Set<(e: WorkerEvent) => void>();

  #replay(e: WorkerEvent): void {
    for (const f of this.#own) f(e);
  }

  async send(text: string): Promise<Results["send"]> {
    return (await this.#shop.ready()).send(text);
  }

  async end(): Promise<Results["end"]> {
    return (await this.#shop.ready()).end();
  }

  async restore(): Promise<Results["restore"]> {
    await this.#shop.ready();
    return { peer: this.#shop.peer(), transcript: this.#shop.transcript() };
  }

  async ping(): Promise<Results["ping"]> {
    return (await this.#shop.ready()).ping();
  }

  dispose(): void {
    // the worker is the shop's: it stays
  }

  stored(): void {
    // the shop stores the sealed states and confirms them (shop/shop.ts)
  }

}

/** The panel's store in shop mode: "a session exists" when the shop resumed one; nothing is written. */
export function resumedStore(resumed: () => Promise<boolean>): SessionStore {
  const none = async (): Promise<void> => undefined;
  return {
    load: async () => ((await resumed()) ? { key: null, sealed: new ArrayBuffer(1) } : null),
    newKey: async () => null,
    save: none,
    clear: none,
  } as unknown as SessionStore;
}
