/**
 * The widget's page side: starts the crypto worker, talks to it, and shows the chat UI
 * (ui/panel.ts) in a Shadow DOM on one host element. No key, no cryptography and no protocol
 * code runs here (none is even bundled into this part); the worker does it all.
 *
 * The worker is created from a Blob of its bundled source, which build.mjs embeds here as a
 * string, so the core's SRI hash covers the worker too; the worker's zstd module
 * (modules.ts, SRI-checked by the browser) goes in front of it in the same Blob; when the
 * worker meets a business address it asks for the "business" module (an owner's reply queue on
 * another relay: the "proxy" module) and the session moves to a new worker whose Blob has
 * that module too, and "restore" (#upgrade; docs/widget.md). Pages with a
 * strict CSP must allow `worker-src blob:` (and, enforcing Trusted Types, the policy name
 * `hushwire`); if the browser refuses the worker, the widget fails closed (it never falls
 * back to running crypto on the page).
 *
 * Embed (docs/widget.md): `<script src=".../hushwire-widget.js" integrity="sha384-..."
 * crossorigin="anonymous" data-address="LINK" data-relay="wss://relay/" async></script>`,
 * optionally with `data-lang="de"`, `data-ask-name` and `data-resume` (German strings and the
 * resume store are modules, loaded before the widget mounts when the embed needs them), or
 * `data-mode="shop"`: the "shop" module (modules/shop.ts) mounts the shop instead of the chat. From code:
 * `window.Hushwire.widget.open()`, or `window.Hushwire.create()` for the bare worker client.
 */

import workerSource from "virtual:hushwire-worker";

import { define, isModuleURL, load } from "./modules.js";
import { parseReply, parseTranscriptItem, type Results, type WorkerEvent, type WorkerRequest } from "./rpc.js";
import { ChatWidget, type Backend } from "./ui/panel.js";
import type { Store } from "./ui/resume.js";
import { addStrings, chooseLanguage, STRINGS, type Strings } from "./ui/strings.js";

/** What the "shop" module's mount function gets (data-mode="shop"; modules/shop.ts). */
export interface ShopOptions {
  address: string;
  relay: string;
  create: () => HushwireWidget;
}

type Pending = { resolve: (r: Results[keyof Results]) => void; reject: (e: Error) => void };
type Request = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, "id"> : never) : never;

export class WidgetError extends Error {
  override name = "WidgetError";
}

const REFUSED = "the browser refused the widget's crypto worker (a CSP needs worker-src blob:)";
const TT_REFUSED = "the page's Trusted Types policy refused the widget's crypto worker (a CSP needs trusted-types hushwire)";

interface TrustedTypesLike {
  createPolicy(name: string, rules: { createScriptURL: (s: string) => string }): { createScriptURL(s: string): unknown };
}

let policy: { createScriptURL(s: string): unknown } | null | undefined;
/** The page enforces Trusted Types and did not allow the policy name `hushwire`. */
let policyRefused = false;

/** The worker's blob: URL or a module's URL, as a TrustedScriptURL where Trusted Types are available. */
function scriptURL(url: string): string {
  if (policy === undefined) {
    const tt = (globalThis as { trustedTypes?: TrustedTypesLike }).trustedTypes;
    try {
      // Only ever blob: URLs this file made and the modules' URLs (modules.ts); a page
      // enforcing Trusted Types lists `hushwire`.
      policy = tt?.createPolicy("hushwire", { createScriptURL: (s) => (s.startsWith("blob:") || isModuleURL(s) ? s : "about:invalid") }) ?? null;
    } catch {
      policy = null;
      policyRefused = true;
    }
  }
  return (policy === null ? url : policy.createScriptURL(url)) as string;
}

export class HushwireWidget implements Backend {
  #worker: Worker | null = null;
  /** Requests made before the worker started (it waits for its modules). */
  #early: WorkerRequest[] = [];
  readonly #pending = new Map<number, Pending>();
  readonly #listeners = new Set<(e: WorkerEvent) => void>();
  #nextId = 1;
  #heard = false;
  #failed: WidgetError | null = null;
  /** The worker's modules' sources, and the relay's URL (for a restart with one more module). */
  #modules: readonly string[] = [];
  #relay = "";

  /**
   * `modules`: the sources of the worker's modules (modules.ts), which run in the worker before
   * its own code; the worker starts when they are here, and requests wait for it.
   */
  constructor(modules: readonly string[] | Promise<readonly string[]> = []) {
    // sources already here: the worker starts now (a click's join then reaches it before the panel draws)
    if (!(modules instanceof Promise)) this.#start(modules);
    else
      modules.then(
        (m) => this.#start(m),
        (e: unknown) => this.#fail(new WidgetError(policyRefused ? TT_REFUSED : e instanceof Error ? e.message : "a module did not load")),
      );
  }

  #start(modules: readonly string[]): void {
    if (this.#failed !== null) return;
    this.#modules = modules;
    const url = URL.createObjectURL(new Blob([...modules, workerSource], { type: "text/javascript" }));
    let worker: Worker;
    try {
      worker = new Worker(scriptURL(url), { name: "hushwire-crypto" });
    } catch {
      this.#fail(new WidgetError(policyRefused ? TT_REFUSED : REFUSED));
      return;
    } finally {
      URL.revokeObjectURL(url);
    }
    this.#worker = worker;
    worker.addEventListener("message", (ev: MessageEvent<unknown>) => this.#onReply(ev.data));
    // A CSP that forbids blob: workers does not throw above in every browser: Chromium reports
    // it here, asynchronously. Either way the widget stops; crypto never moves to the page.
    worker.addEventListener("error", (ev: Event) => {
      ev.preventDefault();
      this.#fail(new WidgetError(this.#heard ? "the crypto worker failed" : REFUSED));
    });
    for (const r of this.#early.splice(0)) worker.postMessage(r);
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
      if (r.event === "upgrade") void this.#upgrade(r.module, r.key, r.data);
      else this.#emit(r);
      return;
    }
    const p = this.#pending.get(r.id);
    if (p === undefined) return;
    this.#pending.delete(r.id);
    if (r.ok) p.resolve(r.result);
    else p.reject(new WidgetError(r.error));
  }

  #emit(e: WorkerEvent): void {
    for (const l of [...this.#listeners]) l(e);
  }

  /**
   * The worker met a business address or an owner on another relay (worker/service.ts): load
   * `name` (SRI-checked), start a new worker with it and restore the session there; requests
   * wait for it.
   */
  async #upgrade(name: string, key: CryptoKey, sealed: ArrayBuffer): Promise<void> {
    const old = this.#worker;
    this.#worker = null;
    old?.terminate();
    for (const p of this.#pending.values()) p.reject(new WidgetError("restarted"));
    this.#pending.clear();
    try {
      // the module, and "restore" (which reads the state back) unless the worker had it
      const code = await Promise.all([name, "restore"].map((n) => module<string>(n)));
      const restored = this.#call({ op: "restore", relayUrl: this.#relay, key, sealed });
      this.#early.unshift(this.#early.pop()!); // before the requests that waited
      this.#start([...this.#modules, ...code.filter((c) => !this.#modules.includes(c))]);
      this.#emit({ event: "connected", peer: String((await restored)?.peer).slice(0, 200) });
    } catch (e) {
      const detail = (e as Error).message;
      this.#fail(new WidgetError(detail));
      this.#emit({ event: "status", status: "closed", detail });
    }
  }

  #fail(e: WidgetError): void {
    if (this.#failed === null) this.#failed = e;
    for (const p of this.#pending.values()) p.reject(e);
    this.#pending.clear();
    this.#early.length = 0;
    this.#worker?.terminate();
  }

  #call<K extends keyof Results>(req: Request & { op: K }): Promise<Results[K]> {
    if (this.#failed !== null) return Promise.reject(this.#failed);
    const id = this.#nextId++;
    return new Promise<Results[K]>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (r: Results[keyof Results]) => void, reject });
      const r = { ...req, id } as WorkerRequest;
      if (this.#worker === null) this.#early.push(r);
      else this.#worker.postMessage(r);
    });
  }

  /** Status, keepalive and chat events from the worker; returns a function that removes the listener. */
  on(listener: (e: WorkerEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Connect to the relay `server` (smp://KEYHASH@host) through its WebSocket URL. */
  connect(server: string, wsUrl: string): Promise<Results["connect"]> {
    return this.#call({ op: "connect", server, wsUrl });
  }

  /** Join the owner's contact address through the relay's WebSocket URL (see rpc.ts). */
  join(address: string, relayUrl: string, name: string, seal: CryptoKey | null): Promise<Results["join"]> {
    this.#relay = relayUrl;
    return this.#call({ op: "join", address, relayUrl, name, seal });
  }

  /** `shop`: a shop payload's JSON, sent beside `text` (its summary; rpc.ts). */
  send(text: string, shop?: string): Promise<Results["send"]> {
    return this.#call(shop === undefined ? { op: "send", text } : { op: "send", text, shop });
  }

  end(): Promise<Results["end"]> {
    return this.#call({ op: "end" });
  }

  async restore(relayUrl: string, key: CryptoKey, sealed: ArrayBuffer): Promise<Results["restore"]> {
    this.#relay = relayUrl;
    const r = await this.#call({ op: "restore", relayUrl, key, sealed });
    // Validate what crosses: the transcript is shown as text, items of any other shape are dropped.
    const items = Array.isArray(r?.transcript) ? r.transcript.map(parseTranscriptItem) : [];
    return { peer: typeof r?.peer === "string" ? r.peer.slice(0, 200) : "", transcript: items.filter((x) => x !== null) };
  }

  ping(): Promise<Results["ping"]> {
    return this.#call({ op: "ping" });
  }

  /** The sealed state `seq` is committed: the worker may send and acknowledge what it covers (rpc.ts). */
  stored(seq: number): void {
    // its reply (id 0) answers no request; a worker not started yet is not the one that sealed
    this.#worker?.postMessage({ id: 0, op: "stored", seq });
  }

  async close(): Promise<void> {
    await this.#call({ op: "close" });
    this.#worker?.terminate();
  }

  /** Stop the worker now (its keys go with it). */
  dispose(): void {
    this.#fail(new WidgetError("the widget was closed"));
  }
}

declare global {
  interface Window {
    Hushwire?: { create: () => HushwireWidget; widget: ChatWidget | null; define: (name: string, value: unknown) => void };
  }
}

/** Load module `name` (modules.ts). */
function module<T>(name: string): Promise<T> {
  return load<T>(name, scriptURL);
}

/**
 * The worker's modules: zstd; "restore", which reads a stored session back (an embed without
 * data-resume and not a shop never restores: dropped below); "short" when data-address is a
 * short link, "proxy" when data-relay names the widget's relay after '#' (added below).
 */
const workerModules = new Set(["zstd", "restore"]);

/** A worker module's source; without "restore" the worker still chats, a stored session just does not open. */
const workerModule = (name: string): Promise<string> => module<string>(name).catch((e: unknown) => (name === "restore" ? "" : Promise.reject(e)));

/** The worker's modules' sources, once loaded. */
let loaded: readonly string[] | null = null;

const api = {
  // The worker's modules load with the worker (intent or click), not with the page.
  create: (): HushwireWidget => new HushwireWidget(loaded ?? Promise.all([...workerModules].map(workerModule)).then((m) => (loaded = m))),
  widget: null as ChatWidget | null,
  define,
};
window.Hushwire = api;

/** A data attribute that is on unless absent or "false". */
function flag(v: string | undefined): boolean {
  return v !== undefined && v !== "false";
}

const script = document.currentScript;
if (script instanceof HTMLScriptElement && script.dataset.address !== undefined && script.dataset.relay !== undefined) {
  const d = script.dataset;
  const address = d.address ?? "";
  const relay = d.relay ?? "";
  if (/^\s*(?:simplex:|https:\/\/[^/]+)\/[a-z]\/?#/i.test(address)) workerModules.add("short");
  // data-relay="wss://...#smp://...": the owner's address is on another relay (docs/widget.md)
  if (relay.includes("#")) workerModules.add("proxy");
  // data-profile="grp": the relay only over GRP/1 (docs/grp.md)
  if (d.profile == "grp") workerModules.add("grp");
  // The modules this embed needs from the start: German strings, the resume store. Without
  // them (a file not served) the widget speaks English and does not resume.
  const lang = chooseLanguage(d.lang, navigator.languages);
  const strings = STRINGS[lang] === undefined ? module<Strings>(lang).then((s) => addStrings(lang, s)) : null;
  // data-resume="passphrase": the store whose key comes from the visitor's passphrase
  const resume = flag(d.resume) && typeof indexedDB !== "undefined" ? module<new (id: string, lang: string) => Store>(d.resume === "passphrase" ? "passphrase" : "resume") : null;
  const shop = d.mode === "shop" ? module<(o: ShopOptions) => void>("shop") : null;
  if (resume === null && shop === null) workerModules.delete("restore");
  const mount = async (): Promise<void> => {
    await strings?.catch(() => undefined);
    // Shop mode (data-mode="shop"): the "shop" module mounts the shop; if it does not load, the chat shows.
    if (d.mode === "shop" && (await shop?.then((f) => f({ address, relay, create: api.create }), () => 1)) !== 1) return;
    const Store = resume === null ? null : await resume.catch(() => null);
    const host = document.createElement("div");
    host.setAttribute("data-hushwire", "");
    document.body.append(host);
    const store = Store === null ? null : new Store(address, lang);
    const w = new ChatWidget(host, { address, relay, lang: d.lang, askName: flag(d.askName), store }, api.create, navigator.languages);
    api.widget = w;
    void w.resume();
    // data-preload: the crypto worker starts once the page is idle, as on the visitor's intent
    if (flag(d.preload)) (self.requestIdleCallback ?? setTimeout)(() => w.prewarm());
  };
  if (document.body !== null) void mount();
  else document.addEventListener("DOMContentLoaded", () => void mount(), { once: true });
}
