/**
 * The widget's shop mode, customer side (`data-mode="shop"`; docs/widget.md "Shop mode"): the
 * catalog, its images, a cart, the checkout and the orders' statuses, every byte of it over the
 * visitor's end-to-end encrypted connection to the owner (shop/wire.ts), never from the web
 * host. Loaded as the module "shop" (modules/shop.ts); the core only starts it.
 *
 * Theory of operation.
 * - The connection is the chat's: a crypto worker from the core (`create`), joined to the
 *   owner's contact address, its state sealed and resumed across page loads (the resume store,
 *   ui/resume.ts), so the orders' later statuses reach the same conversation.
 * - Once the owner accepted (or the session resumed), `catalog.get` goes out with the cached
 *   catalog's version: `catalog.same`, or the catalog's parts (base64url of gzip, gunzipped
 *   with DecompressionStream and checked against its version). Images are asked for
 *   (`images.get`, 64 ids at most) only when a product comes into view and is not cached; each
 *   arrives in parts, is checked by sha256 against its id and cached, then shown via a blob: URL.
 * - The cart and the orders are one sealed record (shop/store.ts), so placing an order (a fresh
 *   `ref`, sealed before anything is sent) and emptying the cart happen together. An order that
 *   has no answer yet is sent again, with the same ref, whenever the session is back (reload,
 *   a tab that died mid-send) and every 20 s while connected (a message the relay or the
 *   owner lost); the owner keeps one order per (connection, ref).
 * - What the page shows is built with createElement/textContent (ui/dom.ts): product names,
 *   descriptions and statuses from the owner are text, never markup.
 */

import type { ShopOptions } from "../main.js";
import { base64urlDecode } from "../encoding.js";
import type { TranscriptItem, WorkerEvent } from "../rpc.js";
import { h } from "../ui/dom.js";
import { ChatWidget } from "../ui/panel.js";
import { SessionStore } from "../ui/resume.js";
import { ChatLink, resumedStore, type ShopLink, type Worker as Backend } from "./chat.js";
import { ShopStore } from "./store.js";
import { Parts, sha256Hex, unpackCatalog } from "./assemble.js";
import { shopSheet } from "./styles.js";
import {
  CUSTOMER_FIELDS,
  MAX_IMAGE_IDS,
  MAX_QTY,
  MIMES,
  OrderRefusal,
  decodePayload,
  encodePayload,
  exponent,
  formatMoney,
  newRef,
  parseCatalog,
  summary,
  type Catalog,
  type CatalogPart,
  type ImagePart,
  type Order,
  type OrderStatus,
  type Payload,
  type Product,
  type Status,
} from "./wire.js";


interface CartLine {
  product: string;
  variant: string | null;
  qty: number;
}

interface OrderRecord {
  ref: string;
  /** The session the order was sent in (a fresh session must not send it again: another connection). */
  sid: string;
  sent: Order | null;
  status: OrderStatus | null;
  history: { status: Status; at: number }[];
  refused: { reason: string; message: string } | null;
  at: number;
}

interface State {
  sid: string;
  cart: CartLine[];
  orders: OrderRecord[];
}

export const LABELS: Record<Status, string> = {
  received: "Received",
  confirmed: "Confirmed",
  paid: "Paid",
  shipped: "Shipped",
  delivered: "Delivered",
  cancelled: "Cancelled",
};

/** A form control with its label above it (beside, not around it: a label around a select would take in its options' text). */
function field(id: string, label: string, control: HTMLElement): HTMLDivElement {
  return h("div", { class: "field" }, h("label", { for: id }, label), control);
}

/** Images asked for and not arrived yet, at most. */
const MAX_WANTED = 128;
const RETRY_MS = 3000;
/** An order's JSON at most (characters): with its summary it must fit one chat message. */
const MAX_ORDER_JSON = 12000;
/** An image asked for and not arrived after this long is given up (until the next visit). */
const IMAGE_WAIT_MS = 30000;
const UNANSWERED = "The connection to the shop was renewed before the shop answered this order: it may not have arrived. Ask the shop, or place it again.";
/** An order without an answer is sent again (same ref) this often while connected. */
const RESEND_MS = 20000;
/** Orders kept in the history. */
const MAX_ORDERS = 200;

function isState(x: unknown): x is State {
  if (typeof x !== "object" || x === null) return false;
  const s = x as Record<string, unknown>;
  return typeof s.sid === "string" && Array.isArray(s.cart) && Array.isArray(s.orders);
}

export class Shop {
  readonly root: ShadowRoot;
  readonly #o: ShopOptions;
  readonly #store: ShopStore;
  readonly #session: SessionStore;
  #backend: Backend | null = null;
  /** A worker started ahead, before the stores were read. */
  #spare: Backend | null = null;
  #seal: CryptoKey | null = null;
  #ready = false;
  #online = false;
  #state: State = { sid: "", cart: [], orders: [] };
  #catalog: Catalog | null = null;
  #catalogParts: { version: string; parts: Parts } | null = null;
  readonly #imageParts = new Map<string, Parts>();
  readonly #urls = new Map<string, string>();
  readonly #wanted = new Set<string>();
  readonly #missing = new Set<string>();
  readonly #loading = new Set<string>();
  readonly #retried = new Set<string>();
  readonly #outbox: Payload[] = [];
  #flushing = false;
  #retry: ReturnType<typeof setTimeout> | null = null;
  #placing = false;
  #resender: ReturnType<typeof setInterval> | null = null;
  #observer: IntersectionObserver | null = null;
  /** The chat beside the shop (shop/chat.ts): its listeners, the owner's name, a resumed session's lines. */
  readonly #listeners = new Set<(e: WorkerEvent) => void>();
  #peer = "";
  #transcript: TranscriptItem[] = [];
  #whenReady = deferred<Backend>();
  readonly #resumed = deferred<boolean>();

  readonly #title: HTMLHeadingElement;
  readonly #status: HTMLParagraphElement;
  readonly #cartBtn: HTMLButtonElement;
  readonly #count: HTMLSpanElement;
  readonly #search: HTMLInputElement;
  readonly #tag: HTMLSelectElement;
  readonly #min: HTMLInputElement;
  readonly #max: HTMLInputElement;
  readonly #list: HTMLUListElement;
  readonly #none: HTMLParagraphElement;
  readonly #cart: HTMLElement;
  readonly #lines: HTMLUListElement;
  readonly #sum: HTMLDListElement;
  readonly #ship: HTMLSelectElement;
  readonly #fields = new Map<string, HTMLInputElement>();
  readonly #placeBtn: HTMLButtonElement;
  readonly #alert: HTMLParagraphElement;
  readonly #orders: HTMLOListElement;
  readonly #ordersRegion: HTMLElement;

  constructor(host: HTMLElement, o: ShopOptions) {
    this.#o = o;
    this.#store = new ShopStore(o.address);
    this.#session = new SessionStore(`shop\n${o.address}`);
    const root = host.attachShadow({ mode: "open" });
    this.root = root;
    root.adoptedStyleSheets = [shopSheet()];

    this.#title = h("h2", { id: "hs-title" }, "Shop");
    this.#status = h("p", { class: "state", role: "status" }, "Connecting…");
    this.#count = h("span", { class: "count", "aria-hidden": "true" }, "0");
    this.#cartBtn = h("button", { type: "button", class: "btn", "aria-expanded": "false", "aria-controls": "hs-cart" }, "Cart", this.#count);
    this.#cartBtn.addEventListener("click", () => this.#toggleCart());

    this.#search = h("input", { type: "search", id: "hs-q", autocomplete: "off" });
    this.#tag = h("select", { id: "hs-tag" }, h("option", { value: "" }, "All"));
    this.#min = h("input", { type: "number", id: "hs-min", min: "0", step: "any", inputmode: "decimal" });
    this.#max = h("input", { type: "number", id: "hs-max", min: "0", step: "any", inputmode: "decimal" });
    const filters = h(
      "div",
      { class: "filters", role: "search", "aria-label": "Filter products" },
      field("hs-q", "Search", this.#search),
      field("hs-tag", "Tag", this.#tag),
      field("hs-min", "Min price", this.#min),
      field("hs-max", "Max price", this.#max),
    );
    for (const el of [this.#search, this.#tag, this.#min, this.#max]) el.addEventListener("input", () => this.#filter());

    this.#list = h("ul");
    this.#none = h("p", { hidden: true }, "No products match.");
    const products = h("section", { class: "products", role: "region", "aria-label": "Products" }, this.#list, this.#none);

    this.#lines = h("ul", { class: "lines" });
    this.#sum = h("dl", { class: "sum" });
    this.#ship = h("select", { id: "hs-ship", required: true });
    this.#ship.addEventListener("change", () => this.#renderCart());
    const form = h("form", { class: "form", novalidate: true });
    for (const [key, label, required, most] of CUSTOMER_FIELDS) {
      const input = h("input", { id: `hs-${key}`, name: key, type: key === "email" ? "email" : "text", maxlength: String(most), required, autocomplete: key === "address" ? "street-address" : key === "postcode" ? "postal-code" : key === "city" ? "address-level2" : key === "country" ? "country-name" : key });
      this.#fields.set(key, input);
      form.append(field(`hs-${key}`, required ? label : `${label} (optional)`, input));
    }
    form.append(field("hs-ship", "Shipping", this.#ship));
    this.#placeBtn = h("button", { type: "submit", class: "btn" }, "Place order");
    this.#alert = h("p", { class: "alert", role: "alert" });
    form.append(this.#placeBtn);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      void this.#place();
    });
    this.#cart = h("section", { id: "hs-cart", class: "panel", role: "region", "aria-labelledby": "hs-cart-title", hidden: true }, h("h3", { id: "hs-cart-title" }, "Your cart"), this.#lines, this.#sum, form, this.#alert);

    this.#orders = h("ol");
    this.#ordersRegion = h("section", { class: "orders panel", role: "region", "aria-labelledby": "hs-orders-title", hidden: true }, h("h3", { id: "hs-orders-title" }, "Your orders"), this.#orders);

    const head = h("header", {}, this.#title, this.#status, this.#cartBtn);
    root.append(h("div", { class: "shop" }, head, filters, this.#cart, this.#ordersRegion, products));
  }

  /** Load what is cached, then connect and ask the owner for what is new. */
  async start(): Promise<void> {
    mark("start");
    const [state, catalog] = await Promise.all([this.#store.get("state"), this.#store.get("catalog")]);
    if (isState(state)) this.#state = state;
    // Nothing cached to show (a first visit): the worker starts now (its code parses, its
    // module loads) while the session is looked up; else after the cached catalog is shown.
    if (catalog === null) this.#spare = this.#o.create();
    else {
      try {
        this.#showCatalog(parseCatalog(catalog));
      } catch {
        // a cached catalog that no longer reads: the owner sends it again
      }
    }
    this.#renderCart();
    this.#renderOrders();
    await this.#connect();
  }

  // ------------------------------------------------------------------ the connection

  async #connect(): Promise<void> {
    const saved = await this.#session.load().catch(() => null);
    this.#resumed.resolve(saved !== null && saved.sealed !== null);
    if (saved !== null && saved.sealed !== null) {
      const b = this.#attach();
      this.#seal = saved.key;
      this.#say("Restoring your session…");
      try {
        const r = await b.restore(this.#o.relay, saved.key, saved.sealed);
        this.#peer = r.peer;
        this.#transcript = r.transcript;
        this.#onReady();
        return;
      } catch {
        this.#detach();
      }
    }
    await this.#session.clear().catch(() => undefined);
    const b = this.#attach();
    this.#seal = await this.#session.newKey().catch(() => null);
    this.#state.sid = newRef();
    // Orders of the old connection that had no answer cannot be sent again on a new one (the
    // owner could not tell them from new orders): the customer is told.
    for (const r of this.#state.orders) {
      if (r.status === null && r.refused === null) r.refused = { reason: "unanswered", message: UNANSWERED };
    }
    await this.#save();
    this.#renderOrders();
    this.#say("Connecting…");
    mark("join");
    try {
      await b.join(this.#o.address, this.#o.relay, "", this.#seal);
      this.#say("Waiting for the shop…");
      mark("joined");
    } catch (e) {
      this.#say(`The shop could not connect: ${e instanceof Error ? e.message : ""}`);
    }
  }

  #attach(): Backend {
    const b = this.#spare ?? this.#o.create();
    this.#spare = null;
    this.#backend = b;
    b.on((e) => this.#onEvent(b, e));
    return b;
  }

  #detach(): void {
    this.#backend?.dispose();
    this.#backend = null;
    this.#ready = false;
    this.#online = false;
    this.#whenReady = deferred<Backend>();
  }

  #onEvent(b: Backend, e: WorkerEvent): void {
    if (b !== this.#backend) return;
    for (const f of [...this.#listeners]) f(e);
    switch (e.event) {
      case "status":
        if (e.status === "ready") return; // the worker started: says nothing about the relay
        this.#online = e.status === "connected" || e.status === "reconnected";
        if (this.#ready) this.#say(this.#online ? "Connected" : "Offline: your order will be sent when the connection returns");
        void this.#flush();
        return;
      case "connected":
        this.#peer = e.peer;
        this.#onReady();
        return;
      case "sealed":
        this.#saveSealed(b, e.data, e.seq);
        return;
      case "shop":
        void this.#onShop(e.data);
        return;
      case "ended":
        // The owner ended the conversation: start a new one (orders sent in the old one are not sent again).
        void this.#session.clear().catch(() => undefined);
        this.#detach();
        setTimeout(() => void this.#connect(), 1000);
        return;
      default:
        return;
    }
  }

  /**
   * Store the worker's sealed state, then confirm it (`stored`): the worker sends and
   * acknowledges nothing its stored state does not cover (write-ahead). It posts one state at a
   * time; those sealed while one is being written collapse into the newest (docs/widget.md
   * section 4). A write that fails is said and tried again (ui/resume.ts Records.keep).
   */
  #saveSealed(b: Backend, data: ArrayBuffer, seq: number): void {
    if (this.#seal !== null) this.#session.save(this.#seal, data, (text) => this.#say(text)).then(() => b.stored(seq), () => undefined);
  }

  #onReady(): void {
    mark("ready");
    this.#ready = true;
    if (this.#backend !== null) this.#whenReady.resolve(this.#backend);
    this.#online = true;
    this.#say("Connected");
    this.#send({ t: "catalog.get", have: this.#catalog?.version ?? null });
    this.#resend();
    this.#requestImages();
    this.#resender ??= setInterval(() => {
      if (this.#ready && this.#online && this.#outbox.length === 0) this.#resend();
    }, RESEND_MS);
  }

  /** Send again every order of this session that has no answer yet (same ref: the owner keeps one order). */
  #resend(): void {
    for (const r of this.#state.orders) {
      if (r.sent !== null && r.status === null && r.refused === null && r.sid === this.#state.sid) this.#send(r.sent);
    }
  }

  #send(p: Payload): void {
    this.#outbox.push(p);
    void this.#flush();
  }

  async #flush(): Promise<void> {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      while (this.#outbox.length > 0 && this.#ready && this.#online && this.#backend !== null) {
        const p = this.#outbox[0] as Payload;
        try {
          await this.#backend.send(this.#summaryOf(p), JSON.stringify(encodePayload(p)));
        } catch (e) {
          if (e instanceof Error && e.message.startsWith("ChatMessageTooLarge")) {
            this.#outbox.shift();
            if (p.t === "order") await this.#refused(p.ref, "too_many_items", "The order is too large to send: remove some items and place it again.");
            continue;
          }
          this.#retry ??= setTimeout(() => {
            this.#retry = null;
            void this.#flush();
          }, RETRY_MS);
          return;
        }
        this.#outbox.shift();
      }
    } finally {
      this.#flushing = false;
    }
  }

  #summaryOf(p: Payload): string {
    if (p.t !== "order") return summary(p);
    const ship = this.#catalog?.shipping.find((s) => s.id === p.shipping);
    return summary(p, (id, v) => this.#lineName(id, v), ship?.name ?? null, ship?.price ?? 0);
  }

  // ------------------------------------------------------------------ from the owner

  async #onShop(data: string): Promise<void> {
    let p: Payload;
    try {
      p = decodePayload(JSON.parse(data));
    } catch {
      return; // not a payload we read: ignored, as the owner ignores ours
    }
    switch (p.t) {
      case "catalog.same":
        this.#say("Catalog is up to date");
        return;
      case "catalog":
        await this.#onCatalogPart(p);
        return;
      case "image":
        await this.#onImagePart(p);
        return;
      case "order.status":
        await this.#onStatus(p);
        return;
      case "order.refused":
        await this.#refused(p.ref, p.reason, p.message);
        if (p.reason === "price_changed" || p.reason === "out_of_stock" || p.reason === "unknown_product" || p.reason === "unknown_variant") {
          this.#send({ t: "catalog.get", have: this.#catalog?.version ?? null });
        }
        return;
      default:
        return; // customer-side payloads are not for us
    }
  }

  async #onCatalogPart(p: CatalogPart): Promise<void> {
    if (p.version === this.#catalog?.version) return;
    let c = this.#catalogParts;
    if (c === null || c.version !== p.version || c.parts.count !== p.parts) {
      c = { version: p.version, parts: new Parts(p.parts) };
      this.#catalogParts = c;
    }
    this.#say(`Loading the catalog (part ${p.part + 1} of ${p.parts})…`);
    mark(`catalog part ${p.part + 1}`);
    const all = c.parts.add(p.part, p.data);
    if (all === null) return;
    this.#catalogParts = null;
    try {
      const { raw, catalog } = await unpackCatalog(all, p.version);
      await this.#store.put("catalog", raw);
      this.#showCatalog(catalog);
      mark("catalog shown");
      this.#say("Catalog is up to date");
    } catch {
      this.#say("The catalog could not be read.");
    }
  }

  async #onImagePart(p: ImagePart): Promise<void> {
    if (!this.#wanted.has(p.id)) return;
    let parts = this.#imageParts.get(p.id);
    if (parts === undefined || parts.count !== p.parts) {
      parts = new Parts(p.parts);
      this.#imageParts.set(p.id, parts);
    }
    const all = parts.add(p.part, p.data);
    if (all === null) return;
    this.#imageParts.delete(p.id);
    this.#wanted.delete(p.id);
    try {
      const bytes = base64urlDecode(all) as Uint8Array<ArrayBuffer>;
      if ((await sha256Hex(bytes)) !== p.id) return; // not the image that id names
      const rec = new Uint8Array(bytes.length + 1);
      rec[0] = MIMES.indexOf(p.mime as (typeof MIMES)[number]);
      rec.set(bytes, 1);
      void this.#store.putBytes(`img:${p.id}`, rec);
      this.#showImage(p.id, p.mime, bytes);
    } catch {
      // a broken image stays a placeholder
    } finally {
      this.#requestImages();
    }
  }

  async #onStatus(p: OrderStatus): Promise<void> {
    let r = this.#state.orders.find((o) => o.ref === p.ref);
    if (r === undefined) {
      r = { ref: p.ref, sid: this.#state.sid, sent: null, status: null, history: [], refused: null, at: Date.now() };
      this.#state.orders.unshift(r);
    }
    r.status = p;
    r.refused = null;
    if (r.history.at(-1)?.status !== p.status) r.history.push({ status: p.status, at: Date.now() });
    await this.#save();
    this.#renderOrders();
    this.#say(`Order ${p.order}: ${LABELS[p.status]}`);
  }

  async #refused(ref: string, reason: string, message: string): Promise<void> {
    const r = this.#state.orders.find((o) => o.ref === ref);
    if (r === undefined || r.status !== null) return;
    r.refused = { reason, message };
    // The items go back into the cart so the customer can fix the order and place it again.
    if (r.sent !== null && this.#state.cart.length === 0) this.#state.cart = r.sent.items.map((i) => ({ product: i.product, variant: i.variant, qty: i.qty }));
    await this.#save();
    this.#renderOrders();
    this.#renderCart();
    this.#alert.textContent = `The shop refused your order: ${message}`;
  }

  // ------------------------------------------------------------------ catalog and images

  #product(id: string): Product | undefined {
    return this.#catalog?.products.find((p) => p.id === id);
  }

  #price(p: Product, variant: string | null): number | null {
    if (variant === null) return p.variants.length === 0 ? p.price : null;
    const v = p.variants.find((x) => x.id === variant);
    return v === undefined ? null : (v.price ?? p.price);
  }

  #lineName(product: string, variant: string | null): string {
    const p = this.#product(product);
    if (p === undefined) return product;
    const v = p.variants.find((x) => x.id === variant);
    return v === undefined ? p.name : `${p.name} (${v.name})`;
  }

  #money(n: number): string {
    return formatMoney(n, this.#catalog?.shop.currency ?? "EUR");
  }

  #showCatalog(c: Catalog): void {
    this.#catalog = c;
    this.#title.textContent = c.shop.name;
    const tags = [...new Set(c.products.flatMap((p) => p.tags))].sort();
    this.#tag.replaceChildren(h("option", { value: "" }, "All"), ...tags.map((t) => h("option", { value: t }, t)));
    this.#ship.replaceChildren(...c.shipping.map((s) => h("option", { value: s.id }, `${s.name} (${formatMoney(s.price, c.shop.currency)})`)));
    this.#observer?.disconnect();
    this.#observer = typeof IntersectionObserver === "undefined" ? null : new IntersectionObserver((es) => this.#onVisible(es), { rootMargin: "400px" });
    this.#list.replaceChildren(...c.products.map((p) => this.#card(p)));
    this.#filter();
    this.#renderCart();
    this.#renderOrders();
  }

  #card(p: Product): HTMLLIElement {
    const li = h("li", { class: "product", "data-id": p.id });
    li.dataset.text = `${p.name} ${p.description} ${p.tags.join(" ")}`.toLowerCase();
    const image = p.images[0];
    if (image !== undefined) {
      const img = h("img", { class: "pic", alt: "", "data-img": image, decoding: "async" });
      const url = this.#urls.get(image);
      if (url !== undefined) img.src = url;
      else this.#observer?.observe(img);
      li.append(img);
    }
    let variant: HTMLSelectElement | null = null;
    const price = h("p", { class: "price" }, this.#money(p.price));
    li.append(h("h3", { class: "name" }, p.name));
    if (p.description !== "") li.append(h("p", { class: "desc" }, p.description));
    li.append(price);
    if (p.variants.length > 0) {
      variant = h("select", { "aria-label": `Variant of ${p.name}` }, ...p.variants.map((v) => h("option", { value: v.id }, `${v.name} (${this.#money(v.price ?? p.price)})`)));
      li.append(variant);
    }
    const out = p.stock === 0 || (p.variants.length > 0 && p.variants.every((v) => v.stock === 0));
    const add = h("button", { type: "button", class: "btn", "aria-label": `Add ${p.name} to cart`, disabled: out }, out ? "Out of stock" : "Add to cart");
    add.addEventListener("click", () => void this.#add(p, variant?.value ?? null));
    li.append(add);
    return li;
  }

  #filter(): void {
    const c = this.#catalog;
    if (c === null) return;
    const q = this.#search.value.trim().toLowerCase();
    const tag = this.#tag.value;
    const unit = 10 ** exponent(c.shop.currency);
    const bound = (el: HTMLInputElement): number | null => (el.value === "" || !Number.isFinite(el.valueAsNumber) ? null : Math.round(el.valueAsNumber * unit));
    const min = bound(this.#min);
    const max = bound(this.#max);
    let shown = 0;
    const cards = this.#list.children;
    c.products.forEach((p, i) => {
      const ok = (q === "" || (cards[i] as HTMLElement).dataset.text?.includes(q) === true) && (tag === "" || p.tags.includes(tag)) && (min === null || p.price >= min) && (max === null || p.price <= max);
      (cards[i] as HTMLElement).hidden = !ok;
      if (ok) shown++;
    });
    this.#none.hidden = shown > 0;
  }

  #onVisible(entries: IntersectionObserverEntry[]): void {
    for (const e of entries) {
      if (!e.isIntersecting) continue;
      this.#observer?.unobserve(e.target);
      const id = (e.target as HTMLElement).dataset.img;
      if (id !== undefined) void this.#needImage(id);
    }
  }

  async #needImage(id: string): Promise<void> {
    if (this.#urls.has(id) || this.#loading.has(id) || this.#wanted.has(id)) return;
    this.#loading.add(id);
    const rec = await this.#store.getBytes(`img:${id}`);
    this.#loading.delete(id);
    const mime = rec === null ? undefined : MIMES[rec[0] ?? 255];
    if (rec !== null && mime !== undefined) {
      this.#showImage(id, mime, rec.slice(1));
      return;
    }
    this.#missing.add(id);
    this.#requestImages();
  }

  /** Ask for missing images, 64 ids at a time, with at most MAX_WANTED outstanding. */
  #requestImages(): void {
    if (!this.#ready) return;
    while (this.#missing.size > 0 && this.#wanted.size + MAX_IMAGE_IDS <= MAX_WANTED) {
      const ids = [...this.#missing].slice(0, MAX_IMAGE_IDS);
      for (const id of ids) {
        this.#missing.delete(id);
        this.#wanted.add(id);
      }
      this.#send({ t: "images.get", ids });
      setTimeout(() => {
        for (const id of ids) {
          // not come: asked for once more (the request may have been lost), then given up
          if (this.#wanted.delete(id) && !this.#retried.has(id)) {
            this.#retried.add(id);
            this.#missing.add(id);
          }
        }
        this.#requestImages();
      }, IMAGE_WAIT_MS);
    }
  }

  #showImage(id: string, mime: string, bytes: Uint8Array<ArrayBuffer>): void {
    let url = this.#urls.get(id);
    if (url === undefined) {
      url = URL.createObjectURL(new Blob([bytes], { type: mime }));
      this.#urls.set(id, url);
    }
    const src = url;
    this.root.querySelectorAll<HTMLImageElement>(`img[data-img="${id}"]`).forEach((img) => (img.src = src));
  }

  // ------------------------------------------------------------------ cart and checkout

  async #add(p: Product, variant: string | null): Promise<void> {
    const line = this.#state.cart.find((l) => l.product === p.id && l.variant === variant);
    if (line !== undefined) line.qty = Math.min(MAX_QTY, line.qty + 1);
    else this.#state.cart.push({ product: p.id, variant, qty: 1 });
    this.#renderCart();
    this.#say(`Added ${this.#lineName(p.id, variant)} to cart`);
    await this.#save();
  }

  #toggleCart(open = this.#cart.hidden): void {
    this.#cart.hidden = !open;
    this.#cartBtn.setAttribute("aria-expanded", String(open));
    if (open) this.#renderCart();
  }

  /** The cart's lines that the current catalog can price. */
  #priced(): { line: CartLine; price: number }[] {
    const out: { line: CartLine; price: number }[] = [];
    for (const line of this.#state.cart) {
      const p = this.#product(line.product);
      const price = p === undefined ? null : this.#price(p, line.variant);
      if (price !== null) out.push({ line, price });
    }
    return out;
  }

  #renderCart(): void {
    const cart = this.#state.cart;
    this.#count.textContent = String(cart.reduce((n, l) => n + l.qty, 0));
    if (this.#cart.hidden) return;
    const priced = new Map(this.#priced().map((x) => [x.line, x.price]));
    this.#lines.replaceChildren(
      ...cart.map((line) => {
        const name = this.#lineName(line.product, line.variant);
        const price = priced.get(line);
        const qty = h("input", { type: "number", min: "1", max: String(MAX_QTY), value: String(line.qty), "aria-label": `Quantity of ${name}` });
        qty.addEventListener("change", () => {
          const n = Math.trunc(qty.valueAsNumber);
          line.qty = Number.isFinite(n) ? Math.min(MAX_QTY, Math.max(1, n)) : 1;
          this.#renderCart();
          void this.#save();
        });
        const rm = h("button", { type: "button", class: "btn alt", "aria-label": `Remove ${name}` }, "Remove");
        rm.addEventListener("click", () => {
          this.#state.cart = this.#state.cart.filter((l) => l !== line);
          this.#renderCart();
          void this.#save();
        });
        return h("li", {}, h("span", { class: "name" }, name), qty, h("span", {}, price === undefined ? "No longer available" : this.#money(price * line.qty)), rm);
      }),
    );
    if (cart.length === 0) this.#lines.append(h("li", {}, "Your cart is empty."));
    const subtotal = [...priced].reduce((n, [l, p]) => n + l.qty * p, 0);
    const ship = this.#catalog?.shipping.find((s) => s.id === this.#ship.value)?.price ?? 0;
    this.#sum.replaceChildren(h("dt", {}, "Subtotal"), h("dd", {}, this.#money(subtotal)), h("dt", {}, "Shipping"), h("dd", {}, this.#money(ship)), h("dt", {}, "Total"), h("dd", { class: "total" }, this.#money(subtotal + ship)));
  }

  async #place(): Promise<void> {
    if (this.#placing) return;
    this.#placing = true;
    this.#placeBtn.disabled = true;
    this.#alert.textContent = "";
    try {
      const c = this.#catalog;
      const priced = this.#priced();
      if (c === null || priced.length === 0) {
        this.#alert.textContent = "Your cart is empty.";
        return;
      }
      const ship = c.shipping.find((s) => s.id === this.#ship.value);
      const value = (k: string): string => this.#fields.get(k)?.value.trim() ?? "";
      const order: Order = {
        t: "order",
        ref: newRef(),
        currency: c.shop.currency,
        items: priced.map(({ line, price }) => ({ product: line.product, variant: line.variant, qty: line.qty, price })),
        shipping: ship?.id ?? "",
        total: priced.reduce((n, x) => n + x.line.qty * x.price, 0) + (ship?.price ?? 0),
        customer: { name: value("name"), address: value("address"), postcode: value("postcode"), city: value("city"), country: value("country"), email: value("email") || null },
      };
      try {
        decodePayload(encodePayload(order)); // the owner's own checks, here first: a clear message at once
      } catch (e) {
        this.#alert.textContent = e instanceof OrderRefusal ? e.message : "The order cannot be sent.";
        return;
      }
      if (JSON.stringify(encodePayload(order)).length > MAX_ORDER_JSON) {
        this.#alert.textContent = "The order is too large to send in one message: split it into two orders.";
        return;
      }
      // Sealed before it is sent: a reload or a tab that dies now sends it again with this ref.
      this.#state.orders.unshift({ ref: order.ref, sid: this.#state.sid, sent: order, status: null, history: [], refused: null, at: Date.now() });
      this.#state.orders.length = Math.min(this.#state.orders.length, MAX_ORDERS);
      this.#state.cart = [];
      await this.#save();
      this.#send(order);
      this.#renderCart();
      this.#renderOrders();
      this.#say("Order sent: waiting for the shop");
    } finally {
      this.#placing = false;
      this.#placeBtn.disabled = false;
    }
  }

  // ------------------------------------------------------------------ orders

  #renderOrders(): void {
    const orders = this.#state.orders;
    this.#ordersRegion.hidden = orders.length === 0;
    this.#orders.replaceChildren(
      ...orders.map((r) => {
        const s = r.status;
        const cur = s?.currency ?? r.sent?.currency ?? "EUR";
        const title = s === null ? "Order (waiting for the shop)" : `Order ${s.order}`;
        const state = r.refused === null ? (s === null ? "Sending…" : LABELS[s.status]) : r.refused.reason === "unanswered" ? "No answer" : "Refused";
        const li = h("li", { class: "order", "data-ref": r.ref }, h("h4", {}, title), h("p", {}, "Status: ", h("span", { class: "st" }, state)));
        const items = s?.items.map((i) => `${i.qty} x ${i.name}`) ?? r.sent?.items.map((i) => `${i.qty} x ${this.#lineName(i.product, i.variant)}`) ?? [];
        li.append(h("p", {}, items.join(", ")));
        li.append(h("p", {}, "Total: ", h("span", { class: "total" }, formatMoney(s?.total ?? r.sent?.total ?? 0, cur))));
        if (s?.tracking) li.append(h("p", {}, "Tracking number: ", h("span", { class: "tracking" }, s.tracking)));
        if (s?.payment && s.status !== "paid" && s.status !== "cancelled") li.append(h("p", {}, `Payment: ${s.payment}`));
        if (s?.note) li.append(h("p", {}, `Note: ${s.note}`));
        if (r.refused !== null) li.append(h("p", { class: "alert" }, r.refused.message));
        if (r.history.length > 1) li.append(h("p", { class: "desc" }, `History: ${r.history.map((x) => LABELS[x.status]).join(" → ")}`));
        return li;
      }),
    );
  }

  // ------------------------------------------------------------------ the chat beside it

  /** What the chat panel borrows of the shop (shop/chat.ts). */
  get link(): ShopLink {
    return {
      ready: () => this.#whenReady.promise,
      peer: () => this.#peer,
      transcript: () => this.#transcript,
      listen: (f) => {
        this.#listeners.add(f);
        return () => this.#listeners.delete(f);
      },
    };
  }

  /** Whether the shop found a session to resume (known as soon as it looked, before it resumed it). */
  resumed(): Promise<boolean> {
    return this.#resumed.promise;
  }

  // ------------------------------------------------------------------ helpers

  #say(text: string): void {
    if (this.#status.textContent !== text) this.#status.textContent = text;
  }

  #save(): Promise<void> {
    return this.#store.put("state", this.#state).catch(() => undefined);
  }
}

/** A performance mark "hushwire-shop: NAME" (benchmarks/shop_browser.py reads them). */
function mark(name: string): void {
  performance.mark(`hushwire-shop: ${name}`);
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve: (v: T) => void = () => undefined;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * Mount the shop (the "shop" module's value): into `[data-hushwire-shop]` if the page has one,
 * else at the end of the body; and the chat's launcher beside it, on the same connection.
 */
export function mountShop(o: ShopOptions): Shop {
  let host = document.querySelector<HTMLElement>("[data-hushwire-shop]");
  if (host === null || host.shadowRoot !== null) {
    host = document.createElement("div");
    host.setAttribute("data-hushwire-shop", "");
    document.body.append(host);
  }
  const shop = new Shop(host, o);
  void shop.start();
  // The chat, on the shop's connection: the launcher in the corner, as on any other page.
  const chatHost = document.createElement("div");
  chatHost.setAttribute("data-hushwire", "");
  document.body.append(chatHost);
  const store = resumedStore(() => shop.resumed());
  const chat = new ChatWidget(chatHost, { address: o.address, relay: o.relay, lang: "en", askName: false, store }, () => new ChatLink(shop.link), navigator.languages);
  void chat.resume();
  return shop;
}
