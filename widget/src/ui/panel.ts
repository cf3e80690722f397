/**
 * The chat UI in a Shadow DOM: a launcher button and a panel with an optional name step, the
 * message list (role log) with sent and delivered ticks, the connection state and its quality
 * from the keepalive lag, an offline queue, and "End conversation".
 *
 * Theory of operation. The phase is one of
 *   idle -> (naming) -> connecting -> chat -> ended      (or failed, from connecting)
 *   idle -> restoring -> chat                             (resume after reload)
 * and, orthogonally, the relay link is online or offline (worker `status` events). Texts the
 * visitor sends go into an in-order queue first; the queue drains only in the chat phase
 * while online, one `send` at a time, and a text leaves the queue only when the worker
 * accepted it (one tick). A failed send stays at the head and is tried again after the next
 * `reconnected` (or a short timer). `receipt` events turn one tick into two.
 *
 * Everything the widget shows is built with createElement/textContent (ui/dom.ts), and its
 * look comes from a constructable stylesheet (ui/styles.ts): nothing a strict CSP blocks.
 */

import { MAX_SEND_TEXT, type Results, type TranscriptItem, type WorkerEvent } from "../rpc.js";
import { CHAT_ICON, CLOSE_ICON, LOCK_ICON, SEND_ICON, h, icon } from "./dom.js";
import type { Store } from "./resume.js";
import { pickStrings, type Strings } from "./strings.js";
import { styleSheet } from "./styles.js";

/** The crypto worker as the UI sees it (main.ts's HushwireWidget). */
export interface Backend {
  on(listener: (e: WorkerEvent) => void): () => void;
  join(address: string, relayUrl: string, name: string, seal: CryptoKey | null): Promise<Results["join"]>;
  send(text: string): Promise<Results["send"]>;
  end(): Promise<Results["end"]>;
  restore(relayUrl: string, key: CryptoKey, sealed: ArrayBuffer): Promise<Results["restore"]>;
  ping(): Promise<Results["ping"]>;
  /** The sealed state `seq` is committed to the store (rpc.ts). */
  stored(seq: number): void;
  dispose(): void;
}

export interface WidgetConfig {
  /** The owner's contact address (data-address). */
  address: string;
  /** The relay's WebSocket URL (data-relay). */
  relay: string;
  /** data-lang, else the browser's languages. */
  lang?: string | undefined;
  /** data-ask-name: start with the optional name step. */
  askName: boolean;
  /** data-resume: keep the session (sealed) across reloads; null = off. */
  store: Store | null;
}

export type Phase = "idle" | "naming" | "connecting" | "restoring" | "chat" | "ended" | "failed";

interface Out {
  tick: HTMLSpanElement;
  sr: HTMLSpanElement;
  text: string;
  msgId: number | null;
}

/** Lag (ms) at or below which the connection counts as good, then fair; above: poor. */
const GOOD_LAG = 150;
const FAIR_LAG = 600;
const RETRY_MS = 3000;

export function qualityOf(lagMs: number): 1 | 2 | 3 {
  return lagMs <= GOOD_LAG ? 3 : lagMs <= FAIR_LAG ? 2 : 1;
}

export class ChatWidget {
  readonly root: ShadowRoot;
  readonly #cfg: WidgetConfig;
  readonly #t: Strings;
  readonly #newBackend: () => Backend;
  #backend: Backend | null = null;
  /** A worker started ahead on the visitor's intent (pointer or focus on the launcher). */
  #spare: Backend | null = null;
  #unsubscribe: (() => void) | null = null;
  #phase: Phase = "idle";
  #online = false;
  #lag: number | null = null;
  #open = false;
  #unread = 0;
  #peer = "";
  #detail = "";
  /** The join request is on its way; the owner has not accepted yet. */
  #asked = false;
  #key: CryptoKey | null = null;
  readonly #queue: Out[] = [];
  readonly #byId = new Map<number, Out>();
  readonly #early = new Set<number>();
  #flushing = false;
  #live: HTMLLIElement | null = null;
  #retry: ReturnType<typeof setTimeout> | null = null;

  readonly #launcher: HTMLButtonElement;
  readonly #badge: HTMLSpanElement;
  readonly #panel: HTMLElement;
  readonly #sub: HTMLSpanElement;
  readonly #bar: HTMLDivElement;
  readonly #state: HTMLSpanElement;
  /** The quality text: not in the live region, so a new lag figure is not announced. */
  readonly #qt: HTMLSpanElement;
  readonly #q: HTMLSpanElement;
  readonly #end: HTMLButtonElement;
  readonly #nameForm: HTMLFormElement;
  readonly #name: HTMLInputElement;
  readonly #log: HTMLOListElement;
  readonly #compose: HTMLFormElement;
  readonly #field: HTMLTextAreaElement;
  readonly #again: HTMLButtonElement;

  constructor(host: HTMLElement, cfg: WidgetConfig, newBackend: () => Backend, browserLangs: readonly string[]) {
    this.#cfg = cfg;
    this.#newBackend = newBackend;
    const { lang, s: t } = pickStrings(cfg.lang, browserLangs);
    this.#t = t;
    const root = host.attachShadow({ mode: "open" });
    this.root = root;
    root.adoptedStyleSheets = [styleSheet()];

    this.#badge = h("span", { class: "badge", "aria-hidden": "true", hidden: true });
    this.#launcher = h("button", { type: "button", class: "launcher", "aria-label": t.open, "aria-expanded": "false", "aria-controls": "hw-panel" }, icon(CHAT_ICON), this.#badge);
    this.#launcher.addEventListener("click", () => (this.#open ? this.close() : this.open()));
    for (const ev of ["pointerenter", "focus", "touchstart"]) this.#launcher.addEventListener(ev, () => this.prewarm(), { passive: true });

    this.#sub = h("span", {}, t.secure);
    const head = h("div", { class: "head" }, h("div", {}, h("h2", { id: "hw-title" }, t.title), h("p", {}, icon(LOCK_ICON), this.#sub)));
    this.#state = h("span", { role: "status" });
    this.#qt = h("span", { class: "qt" });
    this.#q = h("span", { class: "q", "aria-hidden": "true", "data-q": "0" }, h("i"), h("i"), h("i"));
    this.#end = h("button", { type: "button", class: "link" }, t.end);
    this.#end.addEventListener("click", () => void this.end());
    const bar = h("div", { class: "bar" }, this.#q, h("span", { class: "state" }, this.#state, this.#qt), this.#end);
    this.#bar = bar;

    this.#name = h("input", { id: "hw-name", type: "text", autocomplete: "name", maxlength: "100", "aria-describedby": "hw-name-hint" });
    const anon = h("button", { type: "button", class: "btn alt" }, t.anonymous);
    anon.addEventListener("click", () => void this.#join(""));
    this.#nameForm = h(
      "form",
      { class: "name", hidden: true },
      h("label", { for: "hw-name" }, t.nameLabel),
      this.#name,
      h("p", { id: "hw-name-hint" }, t.nameHint),
      h("div", { class: "row" }, h("button", { type: "submit", class: "btn" }, t.start), anon),
    );
    this.#nameForm.addEventListener("submit", (ev) => {
      ev.preventDefault();
      void this.#join(this.#name.value.trim());
    });

    this.#log = h("ol", { class: "log", role: "log", "aria-label": t.messages, "aria-relevant": "additions" });
    this.#again = h("button", { type: "button", class: "btn center", hidden: true }, t.newChat);
    this.#again.addEventListener("click", () => this.#restart());

    this.#field = h("textarea", { "aria-label": t.message, rows: "1", maxlength: String(MAX_SEND_TEXT), lang, enterkeyhint: "send" });
    this.#field.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        this.#submit();
      }
    });
    const send = h("button", { type: "submit", class: "send", "aria-label": t.send }, icon(SEND_ICON));
    this.#compose = h("form", { class: "compose" }, this.#field, send);
    this.#compose.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.#submit();
    });

    this.#panel = h("section", { id: "hw-panel", class: "panel", role: "dialog", "aria-labelledby": "hw-title", lang, hidden: true }, head, bar, this.#nameForm, this.#log, this.#again, this.#compose);
    this.#panel.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") {
        ev.preventDefault();
        this.close();
      }
    });
    root.append(this.#panel, this.#launcher);
    this.#render();
  }

  get phase(): Phase {
    return this.#phase;
  }

  /** Open the panel (starting a chat if none is running) and move focus into it. */
  open(): void {
    this.#open = true;
    this.#unread = 0;
    if (this.#phase === "idle") {
      if (this.#cfg.askName) this.#phase = "naming";
      else void this.#join("");
    }
    this.#render();
    this.#focusInside();
  }

  /** Close the panel; focus goes back to the launcher. */
  close(): void {
    const inside = this.root.activeElement !== null && this.#panel.contains(this.root.activeElement);
    this.#open = false;
    this.#render();
    if (inside || this.root.activeElement === this.#launcher) this.#launcher.focus();
  }

  /**
   * Start the crypto worker before the click (it parses its code and gets ready, with no
   * network), so opening the chat does not wait for that. Called on pointer or focus on
   * the launcher; a no-op once a worker exists.
   */
  prewarm(): void {
    if (this.#phase !== "idle" || this.#backend !== null || this.#spare !== null) return;
    try {
      this.#spare = this.#newBackend();
    } catch {
      // the same failure shows, with its reason, when the chat is opened
    }
  }

  /** Reopen a sealed session after a reload (resume on). Falls back to idle if it fails. */
  async resume(): Promise<void> {
    const store = this.#cfg.store;
    if (store === null) return;
    const saved = await store.load(this.#ask).catch(() => null);
    if (saved === null) {
      // the visitor chose a new chat at the store's question (data-resume="passphrase")
      if (this.#phase === "restoring") this.#restart();
      return;
    }
    if (saved.sealed === null) {
      await store.clear().catch(() => undefined);
      return;
    }
    this.#phase = "restoring";
    this.#key = saved.key;
    this.#render();
    try {
      const r = await this.#attach().restore(this.#cfg.relay, saved.key, saved.sealed);
      this.#peer = r.peer;
      for (const item of r.transcript.slice(-500)) this.#addRestored(item);
      this.#phase = "chat";
      this.#online = true;
      this.#render();
      this.#measure();
    } catch {
      this.#detach();
      this.#key = null;
      this.#phase = "idle";
      await store.clear().catch(() => undefined);
      this.#render();
    }
  }

  /** End the conversation: x.direct.del to the owner, the queues deleted. */
  async end(): Promise<void> {
    const b = this.#backend;
    if (b === null || this.#phase === "ended") return;
    this.#end.disabled = true;
    try {
      await b.end();
      this.#ended("self");
    } catch {
      this.#note(this.#t.endFailed);
    } finally {
      this.#end.disabled = false;
    }
  }

  /** The panel, for a resume store's question (ui/resume.ts Ask), in the restoring state. */
  #ask = (): HTMLElement => {
    if (this.#phase === "idle") {
      this.#phase = "restoring";
      this.#render();
    }
    return this.#panel;
  };

  #attach(): Backend {
    const b = this.#spare ?? this.#newBackend();
    this.#spare = null;
    this.#backend = b;
    this.#unsubscribe = b.on((e) => this.#onEvent(e));
    return b;
  }

  #detach(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    this.#backend?.dispose();
    this.#backend = null;
  }

  async #join(name: string): Promise<void> {
    this.#phase = "connecting";
    this.#asked = false;
    this.#detail = "";
    const store = this.#cfg.store;
    // without a resume store the join goes to the worker before the panel renders; with one,
    // the key is asked for after it
    const joined = (async () => {
      const backend = this.#attach();
      const key = store && (await null, await store.newKey(this.#ask).catch(() => null));
      await backend.join(this.#cfg.address, this.#cfg.relay, name, (this.#key = key));
    })();
    this.#render();
    this.#focusInside();
    try {
      await joined;
      this.#asked = true;
      this.#render();
    } catch (e) {
      if (this.#phase !== "connecting") return;
      this.#phase = "failed";
      this.#detail = e instanceof Error ? e.message : "";
      this.#render();
    }
  }

  #restart(): void {
    this.#detach();
    if (this.#retry !== null) clearTimeout(this.#retry);
    this.#queue.length = 0;
    this.#byId.clear();
    this.#early.clear();
    this.#log.replaceChildren();
    this.#peer = "";
    this.#online = false;
    this.#lag = null;
    this.#phase = "idle";
    this.open();
  }

  #onEvent(e: WorkerEvent): void {
    switch (e.event) {
      case "status":
        if (e.status === "connected" || e.status === "reconnected") {
          this.#online = true;
          // while joining, the chat's "connected" measures (a PING now would hold up the join)
          if (this.#phase !== "connecting") this.#measure();
          void this.#flush();
        } else if (e.status === "disconnected" || e.status === "closed") {
          this.#online = false;
          this.#lag = null;
          // the worker stopped for good (a business chat whose module did not load)
          if (e.status === "closed" && this.#phase !== "ended") {
            this.#phase = "failed";
            this.#detail = e.detail;
          }
        }
        break;
      case "lag":
        this.#lag = e.ms;
        break;
      case "connected":
        if (this.#phase !== "connecting") return;
        this.#phase = "chat";
        this.#online = true;
        this.#peer = e.peer;
        this.#render();
        this.#measure();
        void this.#flush();
        return;
      case "message":
        this.#typing(null);
        this.#addIn(e.text, e.from);
        if (!this.#open) this.#unread++;
        break;
      case "typing":
        this.#typing(e.text);
        return;
      case "receipt": {
        const out = this.#byId.get(e.msgId);
        if (out !== undefined) this.#tick(out, "delivered");
        else this.#early.add(e.msgId);
        return;
      }
      case "ended":
        this.#ended(e.by);
        return;
      case "sealed": {
        // Write-ahead: the worker sends and acknowledges nothing before `stored` (a worker
        // that did not seal `seq` ignores it); a write that fails is said, and tried again by
        // the store (ui/resume.ts Records.keep).
        if (this.#cfg.store !== null && this.#key !== null && this.#phase !== "ended") {
          this.#cfg.store.save(this.#key, e.data, (text) => this.#note(text)).then(() => this.#backend?.stored(e.seq), () => undefined);
        }
        return;
      }
    }
    this.#render();
  }

  #ended(by: "self" | "peer"): void {
    if (this.#phase === "ended") return;
    this.#phase = "ended";
    this.#online = false;
    this.#note(by === "self" ? this.#t.ended : this.#t.endedByPeer);
    void this.#cfg.store?.clear().catch(() => undefined);
    this.#key = null;
    this.#render();
    if (this.#open) this.#again.focus();
  }

  /** Measure the round trip now (the worker's own keepalive reports every 30 s). */
  #measure(): void {
    this.#backend
      ?.ping()
      .then((r) => {
        this.#lag = r.lag;
        this.#render();
      })
      .catch(() => undefined);
  }

  #submit(): void {
    const text = this.#field.value.trim();
    if (text === "" || this.#phase === "ended" || this.#phase === "failed") return;
    this.#field.value = "";
    const out = this.#addOut(text.slice(0, MAX_SEND_TEXT), null);
    this.#queue.push(out);
    void this.#flush();
  }

  async #flush(): Promise<void> {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      while (this.#queue.length > 0 && this.#phase === "chat" && this.#online && this.#backend !== null) {
        const out = this.#queue[0] as Out;
        let r: Results["send"];
        try {
          r = await this.#backend.send(out.text);
        } catch {
          this.#retry ??= setTimeout(() => {
            this.#retry = null;
            void this.#flush();
          }, RETRY_MS);
          return;
        }
        this.#queue.shift();
        out.msgId = r.msgId;
        this.#byId.set(r.msgId, out);
        this.#tick(out, this.#early.delete(r.msgId) ? "delivered" : "sent");
      }
    } finally {
      this.#flushing = false;
    }
  }

  #addIn(text: string, from?: string): void {
    const sr = h("span", { class: "sr" }, `${from ?? (this.#peer || this.#t.owner)}: `);
    const who = from ? h("span", { class: "from", "aria-hidden": "true" }, from) : "";
    this.#append(h("li", { class: "msg in" }, sr, who, h("span", { class: "text" }, text)));
  }

  /** A live message being written (business chats): shown at the end, "" or null removes it. */
  #typing(text: string | null): void {
    this.#live?.remove();
    this.#live = text ? h("li", { class: "msg in live", "aria-hidden": "true" }, text) : null;
    if (this.#live) this.#append(this.#live);
  }


  #addOut(text: string, msgId: number | null): Out {
    const tick = h("span", { class: "tick", "aria-hidden": "true" });
    const sr = h("span", { class: "sr" });
    const li = h("li", { class: "msg out" }, h("span", { class: "sr" }, `${this.#t.you}: `), h("span", { class: "text" }, text), tick, sr);
    const out: Out = { tick, sr, text, msgId };
    this.#tick(out, "queued");
    this.#append(li, true);
    return out;
  }

  #addRestored(item: TranscriptItem): void {
    if (item.dir === "in") {
      this.#addIn(item.text, item.from);
      return;
    }
    const out = this.#addOut(item.text, item.msgId);
    this.#byId.set(item.msgId, out);
    this.#tick(out, item.delivered ? "delivered" : "sent");
  }

  #tick(out: Out, state: "queued" | "sent" | "delivered"): void {
    out.tick.dataset.state = state;
    out.tick.textContent = state === "queued" ? "○" : state === "sent" ? "✓" : "✓✓";
    out.sr.textContent = ` (${state === "queued" ? this.#t.queued : state === "sent" ? this.#t.sent : this.#t.delivered})`;
    out.tick.title = out.sr.textContent.slice(2, -1);
  }

  #note(text: string): void {
    this.#append(h("li", { class: "note" }, text), true);
  }

  #append(li: HTMLLIElement, force = false): void {
    const log = this.#log;
    const atEnd = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    log.append(li);
    if (force || atEnd) log.scrollTop = log.scrollHeight;
  }

  #focusInside(): void {
    if (!this.#open) return;
    if (this.#phase === "naming") this.#name.focus();
    else if (this.#phase === "ended" || this.#phase === "failed") this.#again.focus();
    else this.#field.focus();
  }

  #render(): void {
    const t = this.#t;
    const p = this.#phase;
    this.#panel.hidden = !this.#open;
    this.#panel.dataset.state = p;
    this.#panel.dataset.online = String(this.#online);
    this.#launcher.setAttribute("aria-expanded", String(this.#open));
    this.#launcher.setAttribute("aria-label", this.#open ? t.close : t.open);
    this.#launcher.replaceChildren(icon(this.#open ? CLOSE_ICON : CHAT_ICON), this.#badge);
    this.#badge.hidden = this.#unread === 0 || this.#open;
    this.#badge.textContent = String(this.#unread);
    this.#launcher.title = this.#unread > 0 && !this.#open ? `${this.#unread} ${t.unread}` : "";

    this.#bar.hidden = p === "naming" || p === "idle";
    this.#nameForm.hidden = p !== "naming";
    this.#log.hidden = p === "naming";
    this.#compose.hidden = p === "naming" || p === "ended" || p === "failed";
    this.#again.hidden = p !== "ended" && p !== "failed";
    this.#end.hidden = p !== "chat" && p !== "connecting";
    this.#sub.textContent = this.#peer !== "" && p === "chat" ? `${this.#peer} · ${t.secure}` : t.secure;

    let q = 0;
    let state: string;
    let qt = "";
    let ms = "";
    if (p === "chat") {
      if (this.#online) {
        state = t.online;
        if (this.#lag !== null) {
          q = qualityOf(this.#lag);
          qt = ` · ${t.quality[q - 1] ?? ""}`;
          ms = ` (${Math.round(this.#lag)} ms)`;
        }
      } else state = t.offline;
    } else if (p === "connecting") state = this.#asked ? t.waiting : t.connecting;
    else if (p === "restoring") state = t.restoring;
    else if (p === "ended") state = t.endedState;
    else if (p === "failed") state = this.#detail !== "" ? `${t.failed}: ${this.#detail}` : t.failed;
    else state = "";
    this.#q.dataset.q = String(q);
    this.#q.hidden = p !== "chat";
    if (this.#state.textContent !== state) this.#state.textContent = state;
    // the figure in its own span: below 360 px it is hidden, so the line does not wrap
    this.#qt.replaceChildren(qt, h("span", { class: "ms" }, ms));
  }
}
