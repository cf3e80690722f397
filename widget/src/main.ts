/**
 * The widget's page side: starts the crypto worker and talks to it. No key, no cryptography
 * and no protocol code runs here (none is even bundled into this part); the worker does it all.
 *
 * The worker is created from a Blob of its bundled source, which build.mjs embeds here as a
 * string, so the widget is one file and its SRI hash covers the worker too. Pages with a
 * strict CSP must allow `worker-src blob:`; if the browser refuses the worker, the widget
 * fails closed (it never falls back to running crypto on the page).
 *
 * Use: `<script src=".../hushwire-widget.js" data-relay="smp://KEYHASH@host" data-ws="wss://host/"
 * integrity="sha384-..." crossorigin="anonymous"></script>` connects on load; or from code,
 * `const w = window.Hushwire.create(); await w.connect(relay, wsUrl)`.
 */

import workerSource from "virtual:hushwire-worker";

import { parseReply, type Results, type WorkerEvent, type WorkerRequest } from "./rpc.js";

type Pending = { resolve: (r: Results[keyof Results]) => void; reject: (e: Error) => void };
type Request = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, "id"> : never) : never;

export class WidgetError extends Error {
  override name = "WidgetError";
}

export class HushwireWidget {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  readonly #listeners = new Set<(e: WorkerEvent) => void>();
  #nextId = 1;
  #heard = false;
  #failed: WidgetError | null = null;

  constructor() {
    const url = URL.createObjectURL(new Blob([workerSource], { type: "text/javascript" }));
    try {
      this.#worker = new Worker(url, { name: "hushwire-crypto" });
    } catch {
      throw new WidgetError("the browser refused the widget's crypto worker (a CSP needs worker-src blob:)");
    } finally {
      URL.revokeObjectURL(url);
    }
    this.#worker.addEventListener("message", (ev: MessageEvent<unknown>) => this.#onReply(ev.data));
    // A CSP that forbids blob: workers does not throw above in every browser: Chromium reports
    // it here, asynchronously. Either way the widget stops; crypto never moves to the page.
    this.#worker.addEventListener("error", (ev: Event) => {
      ev.preventDefault();
      this.#fail(
        new WidgetError(
          this.#heard ? "the crypto worker failed" : "the browser refused the widget's crypto worker (a CSP needs worker-src blob:)",
        ),
      );
    });
  }

  /** Why the widget stopped working, or null while it works. */
  get failure(): WidgetError | null {
    return this.#failed;
  }

  #onReply(data: unknown): void {
    this.#heard = true;
    const r = parseReply(data);
    if (r === null) return;
    if ("event" in r) {
      for (const l of [...this.#listeners]) l(r);
      return;
    }
    const p = this.#pending.get(r.id);
    if (p === undefined) return;
    this.#pending.delete(r.id);
    if (r.ok) p.resolve(r.result);
    else p.reject(new WidgetError(r.error));
  }

  #fail(e: WidgetError): void {
    if (this.#failed === null) this.#failed = e;
    for (const p of this.#pending.values()) p.reject(e);
    this.#pending.clear();
    this.#worker.terminate();
  }

  #call<K extends keyof Results>(req: Request & { op: K }): Promise<Results[K]> {
    if (this.#failed !== null) return Promise.reject(this.#failed);
    const id = this.#nextId++;
    return new Promise<Results[K]>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (r: Results[keyof Results]) => void, reject });
      this.#worker.postMessage({ ...req, id });
    });
  }

  /** Status and keepalive events from the worker; returns a function that removes the listener. */
  on(listener: (e: WorkerEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Connect to the relay `server` (smp://KEYHASH@host) through its WebSocket URL. */
  connect(server: string, wsUrl: string): Promise<Results["connect"]> {
    return this.#call({ op: "connect", server, wsUrl });
  }

  ping(): Promise<Results["ping"]> {
    return this.#call({ op: "ping" });
  }

  async close(): Promise<void> {
    await this.#call({ op: "close" });
    this.#worker.terminate();
  }
}

declare global {
  interface Window {
    Hushwire?: { create: () => HushwireWidget; instance: HushwireWidget | null };
  }
}

const api = { create: (): HushwireWidget => new HushwireWidget(), instance: null as HushwireWidget | null };
window.Hushwire = api;

const script = document.currentScript;
if (script instanceof HTMLScriptElement) {
  const relay = script.dataset.relay;
  const ws = script.dataset.ws;
  if (relay !== undefined && ws !== undefined) {
    const w = api.create();
    api.instance = w;
    w.connect(relay, ws).catch(() => undefined);
  }
}
