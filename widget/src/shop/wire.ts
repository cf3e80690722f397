/**
 * The shop's wire format, customer side (docs/protocol/shop.md): the payloads carried as
 * "hw.shop" beside the text summary of an `x.msg.new`, their strict decoding with the same
 * bounds as the owner's codecs (src/hushwire/shop/wire.py), the plain-text summaries, money in
 * integer minor units, and the catalog JSON. Pure functions, no DOM and no I/O; vectors:
 * tests/vectors/shop.json (test/shop.test.ts).
 *
 * Decoding throws {@link ShopDecodeError}; an order whose `ref` is readable but whose fields
 * the shop would refuse throws {@link OrderRefusal} with the code (as the owner answers it).
 */

import { DecodeError, HushwireError } from "../errors.js";

export const CHUNK_CHARS = 12000;
export const MAX_CATALOG_PARTS = 256;
export const MAX_IMAGE_PARTS = 64;
export const MAX_CATALOG_JSON = 4 * 1024 * 1024;
export const MAX_IMAGE_IDS = 64;
export const MAX_ITEMS = 100;
export const MAX_QTY = 999;
export const MAX_PRICE = 100_000_000;
export const MAX_ID = 64;
export const MAX_NAME = 200;
export const MAX_DESCRIPTION = 2000;
export const MAX_LINE = 200;
export const MAX_EMAIL = 254;
export const MAX_NOTE = 1000;
export const MAX_TEXT = 4000;
export const MAX_SUMMARY = 2000;
export const MAX_VERSION = 64;
/** Products, tags of one product, images of one product, variants, shipping options in a catalog. */
export const MAX_PRODUCTS = 5000;
export const MAX_TAGS = 32;
export const MAX_PRODUCT_IMAGES = 16;
export const MAX_VARIANTS = 64;
export const MAX_SHIPPING = 32;

export const STATUSES = ["received", "confirmed", "paid", "shipped", "delivered", "cancelled"] as const;
export type Status = (typeof STATUSES)[number];
export const REFUSAL_CODES = [
  "unknown_product",
  "unknown_variant",
  "bad_quantity",
  "price_changed",
  "out_of_stock",
  "unknown_shipping",
  "bad_field",
  "too_many_items",
  "currency_mismatch",
  "total_mismatch",
] as const;
export const MIMES = ["image/webp", "image/jpeg", "image/png"] as const;
/** (key, label the customer sees, required, most characters), in the form's order. */
export const CUSTOMER_FIELDS = [
  ["name", "Full name", true, MAX_LINE],
  ["address", "Address", true, MAX_LINE],
  ["postcode", "Postcode", true, MAX_LINE],
  ["city", "City", true, MAX_LINE],
  ["country", "Country", true, MAX_LINE],
  ["email", "Email", false, MAX_EMAIL],
] as const;
export const ORDER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

const ID = /^[A-Za-z0-9._-]{1,64}$/;
const REF = /^[0-9a-f]{32}$/;
const SHA256 = /^[0-9a-f]{64}$/;
const CURRENCY = /^[A-Z]{3}$/;
const B64URL = /^[A-Za-z0-9_-]+$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;
const ORDER_NUMBER = new RegExp(`^[${ORDER_ALPHABET}]{4}-[${ORDER_ALPHABET}]{4}$`);

export class ShopDecodeError extends DecodeError {
  override name = "ShopDecodeError";
}

/** An order the shop refuses: `code` (one of REFUSAL_CODES) and a message for the customer. */
export class OrderRefusal extends HushwireError {
  override name = "OrderRefusal";
  constructor(
    readonly ref: string,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface Customer {
  name: string;
  address: string;
  postcode: string;
  city: string;
  country: string;
  email: string | null;
}
export interface OrderItem {
  product: string;
  variant: string | null;
  qty: number;
  price: number;
}
export interface ShopLine {
  product: string;
  variant: string | null;
  name: string;
  qty: number;
  price: number;
}
export interface ShopShipping {
  id: string;
  name: string;
  price: number;
}
export interface CatalogGet {
  t: "catalog.get";
  have: string | null;
}
export interface ImagesGet {
  t: "images.get";
  ids: string[];
}
export interface Order {
  t: "order";
  ref: string;
  currency: string;
  items: OrderItem[];
  shipping: string;
  total: number;
  customer: Customer;
}
export interface CatalogSame {
  t: "catalog.same";
  version: string;
}
export interface CatalogPart {
  t: "catalog";
  version: string;
  part: number;
  parts: number;
  data: string;
}
export interface ImagePart {
  t: "image";
  id: string;
  mime: string;
  part: number;
  parts: number;
  data: string;
}
export interface OrderStatus {
  t: "order.status";
  ref: string;
  order: string;
  status: Status;
  items: ShopLine[];
  shipping: ShopShipping;
  total: number;
  currency: string;
  tracking: string | null;
  payment: string | null;
  note: string | null;
}
export interface OrderRefused {
  t: "order.refused";
  ref: string;
  reason: string;
  message: string;
}
export type Payload = CatalogGet | ImagesGet | Order | CatalogSame | CatalogPart | ImagePart | OrderStatus | OrderRefused;

// ----------------------------------------------------------------------------- money

const EXPONENTS: Record<string, number> = {};
for (const c of "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split(" ")) EXPONENTS[c] = 0;
for (const c of "BHD IQD JOD KWD LYD OMR TND".split(" ")) EXPONENTS[c] = 3;

/** Digits after the decimal point of `currency` (ISO 4217; 2 for most). */
export function exponent(currency: string): number {
  return EXPONENTS[currency] ?? 2;
}

/** "EUR 9.00" from 900 minor units; "JPY 900" for a zero-decimal currency. Integers only. */
export function formatMoney(amount: number, currency: string): string {
  const exp = exponent(currency);
  if (exp === 0) return `${currency} ${amount}`;
  const unit = 10 ** exp;
  const major = Math.floor(amount / unit);
  return `${currency} ${major}.${String(amount - major * unit).padStart(exp, "0")}`;
}

// ----------------------------------------------------------------------------- decoding

type Obj = Record<string, unknown>;

function bad(what: string): ShopDecodeError {
  return new ShopDecodeError(`shop payload: ${what}`);
}

function isObj(x: unknown): x is Obj {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function isInt(x: unknown): x is number {
  return typeof x === "number" && Number.isSafeInteger(x);
}

/** Length in code points, as Python's len(). */
function cps(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function str(o: Obj, key: string, most: number, pattern?: RegExp): string {
  const v = o[key];
  if (typeof v !== "string" || v.length === 0 || cps(v) > most) throw bad(`${key} must be a string of 1 to ${most} characters`);
  if (pattern !== undefined && !pattern.test(v)) throw bad(`${key} has a bad form`);
  return v;
}

function optText(o: Obj, key: string, most: number): string | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== "string" || cps(v) > most) throw bad(`${key} must be null or a string of at most ${most} characters`);
  return v;
}

function int(o: Obj, key: string, lo: number, hi: number): number {
  const v = o[key];
  if (!isInt(v) || v < lo || v > hi) throw bad(`${key} must be an integer from ${lo} to ${hi}`);
  return v;
}

function optId(o: Obj, key: string): string | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== "string" || !ID.test(v)) throw bad(`${key} has a bad form`);
  return v;
}

function parts(o: Obj, most: number): { part: number; parts: number; data: string } {
  const n = int(o, "parts", 1, most);
  return { part: int(o, "part", 0, n - 1), parts: n, data: str(o, "data", CHUNK_CHARS, B64URL) };
}

function orderItem(ref: string, n: number, raw: unknown): OrderItem {
  if (!isObj(raw)) throw new OrderRefusal(ref, "bad_field", `Item ${n} of the order cannot be read.`);
  const { product, variant, qty, price } = raw;
  if (typeof product !== "string" || !ID.test(product)) throw new OrderRefusal(ref, "unknown_product", `Item ${n} is not a product of this shop.`);
  if (variant !== undefined && variant !== null && (typeof variant !== "string" || !ID.test(variant))) {
    throw new OrderRefusal(ref, "unknown_variant", `Item ${n} names a variant this shop does not have.`);
  }
  if (!isInt(qty) || qty < 1 || qty > MAX_QTY) throw new OrderRefusal(ref, "bad_quantity", `The quantity of item ${n} must be 1 to ${MAX_QTY}.`);
  if (!isInt(price) || price < 0 || price > MAX_PRICE) throw new OrderRefusal(ref, "bad_field", `The price of item ${n} cannot be read.`);
  return { product, variant: typeof variant === "string" ? variant : null, qty, price };
}

function customer(ref: string, raw: unknown): Customer {
  if (!isObj(raw)) throw new OrderRefusal(ref, "bad_field", "The delivery details are missing.");
  const out: Record<string, string | null> = {};
  for (const [key, label, required, most] of CUSTOMER_FIELDS) {
    const v = raw[key];
    if (v === undefined || v === null || v === "") {
      if (required) throw new OrderRefusal(ref, "bad_field", `${label} is missing.`);
      out[key] = null;
      continue;
    }
    if (typeof v !== "string") throw new OrderRefusal(ref, "bad_field", `${label} cannot be read.`);
    if (cps(v) > most) throw new OrderRefusal(ref, "bad_field", `${label} is too long: at most ${most} characters.`);
    if (CONTROL.test(v)) throw new OrderRefusal(ref, "bad_field", `${label} contains characters that are not allowed.`);
    if (key === "email" && !v.includes("@")) throw new OrderRefusal(ref, "bad_field", "Email is not an email address.");
    out[key] = v;
  }
  return out as unknown as Customer;
}

function order(o: Obj): Order {
  const ref = str(o, "ref", 32, REF);
  const currency = o.currency;
  if (typeof currency !== "string" || !CURRENCY.test(currency)) throw new OrderRefusal(ref, "currency_mismatch", "The order's currency cannot be read.");
  const raw = o.items;
  if (!Array.isArray(raw) || raw.length === 0) throw new OrderRefusal(ref, "bad_quantity", "The cart is empty.");
  if (raw.length > MAX_ITEMS) throw new OrderRefusal(ref, "too_many_items", `An order can have at most ${MAX_ITEMS} items.`);
  const items = raw.map((x: unknown, i) => orderItem(ref, i + 1, x));
  const shipping = o.shipping;
  if (typeof shipping !== "string" || !ID.test(shipping)) throw new OrderRefusal(ref, "unknown_shipping", "Choose one of the shop's shipping options.");
  const total = o.total;
  if (!isInt(total) || total < 0) throw new OrderRefusal(ref, "bad_field", "The order's total cannot be read.");
  return { t: "order", ref, currency, items, shipping, total, customer: customer(ref, o.customer) };
}

function line(raw: unknown): ShopLine {
  if (!isObj(raw)) throw bad("an order line must be an object");
  const variant = optId(raw, "variant");
  return { product: str(raw, "product", MAX_ID, ID), variant, name: str(raw, "name", MAX_NAME), qty: int(raw, "qty", 1, MAX_QTY), price: int(raw, "price", 0, MAX_PRICE) };
}

function orderStatus(o: Obj): OrderStatus {
  const status = o.status;
  if (!(STATUSES as readonly unknown[]).includes(status)) throw bad("unknown order status");
  const raw = o.items;
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_ITEMS) throw bad(`items must be a list of 1 to ${MAX_ITEMS} lines`);
  const ship = o.shipping;
  if (!isObj(ship)) throw bad("shipping must be an object");
  const currency = str(o, "currency", 3, CURRENCY);
  return {
    t: "order.status",
    ref: str(o, "ref", 32, REF),
    order: str(o, "order", 9, ORDER_NUMBER),
    status: status as Status,
    items: raw.map(line),
    shipping: { id: str(ship, "id", MAX_ID, ID), name: str(ship, "name", MAX_NAME), price: int(ship, "price", 0, MAX_PRICE) },
    total: int(o, "total", 0, MAX_PRICE * MAX_QTY * (MAX_ITEMS + 1)),
    currency,
    tracking: optText(o, "tracking", MAX_LINE),
    payment: optText(o, "payment", MAX_TEXT),
    note: optText(o, "note", MAX_NOTE),
  };
}

/** The typed payload of an "hw.shop" object; unknown keys are ignored. */
export function decodePayload(o: unknown): Payload {
  if (!isObj(o)) throw bad("must be an object");
  switch (o.t) {
    case "catalog.get": {
      const have = o.have;
      if (have !== undefined && have !== null && (typeof have !== "string" || have.length === 0 || cps(have) > MAX_VERSION)) throw bad("have must be null or a version string");
      return { t: "catalog.get", have: typeof have === "string" ? have : null };
    }
    case "images.get": {
      const ids = o.ids;
      if (!Array.isArray(ids) || ids.length === 0 || ids.length > MAX_IMAGE_IDS) throw bad(`ids must be a list of 1 to ${MAX_IMAGE_IDS} image ids`);
      if (!ids.every((i: unknown) => typeof i === "string" && SHA256.test(i))) throw bad("an image id must be 64 lowercase hex digits");
      return { t: "images.get", ids: ids as string[] };
    }
    case "order":
      return order(o);
    case "catalog.same":
      return { t: "catalog.same", version: str(o, "version", MAX_VERSION) };
    case "catalog": {
      const version = str(o, "version", MAX_VERSION);
      return { t: "catalog", version, ...parts(o, MAX_CATALOG_PARTS) };
    }
    case "image": {
      const id = str(o, "id", 64, SHA256);
      const mime = o.mime;
      if (!(MIMES as readonly unknown[]).includes(mime)) throw bad("mime must be image/webp, image/jpeg or image/png");
      return { t: "image", id, mime: mime as string, ...parts(o, MAX_IMAGE_PARTS) };
    }
    case "order.status":
      return orderStatus(o);
    case "order.refused": {
      const reason = o.reason;
      if (!(REFUSAL_CODES as readonly unknown[]).includes(reason)) throw bad("unknown refusal reason");
      return { t: "order.refused", ref: str(o, "ref", 32, REF), reason: reason as string, message: str(o, "message", MAX_NOTE) };
    }
    default:
      throw bad("unknown type");
  }
}

/** The JSON object of a payload, keys in the wire's order (what the owner's to_json writes). */
export function encodePayload(p: Payload): Obj {
  switch (p.t) {
    case "catalog.get":
      return { t: p.t, have: p.have };
    case "images.get":
      return { t: p.t, ids: [...p.ids] };
    case "order": {
      const c = p.customer;
      return {
        t: p.t,
        ref: p.ref,
        currency: p.currency,
        items: p.items.map((i) => ({ product: i.product, variant: i.variant, qty: i.qty, price: i.price })),
        shipping: p.shipping,
        total: p.total,
        customer: { name: c.name, address: c.address, postcode: c.postcode, city: c.city, country: c.country, email: c.email },
      };
    }
    case "catalog.same":
      return { t: p.t, version: p.version };
    case "catalog":
      return { t: p.t, version: p.version, part: p.part, parts: p.parts, data: p.data };
    case "image":
      return { t: p.t, id: p.id, mime: p.mime, part: p.part, parts: p.parts, data: p.data };
    case "order.status":
      return {
        t: p.t,
        ref: p.ref,
        order: p.order,
        status: p.status,
        items: p.items.map((i) => ({ product: i.product, variant: i.variant, name: i.name, qty: i.qty, price: i.price })),
        shipping: { id: p.shipping.id, name: p.shipping.name, price: p.shipping.price },
        total: p.total,
        currency: p.currency,
        tracking: p.tracking,
        payment: p.payment,
        note: p.note,
      };
    case "order.refused":
      return { t: p.t, ref: p.ref, reason: p.reason, message: p.message };
  }
}

// ----------------------------------------------------------------------------- summaries

/** (product id, variant id) -> the name an order's summary shows. */
export type Names = (product: string, variant: string | null) => string;

function cut(text: string): string {
  const c = [...text];
  return c.length <= MAX_SUMMARY ? text : c.slice(0, MAX_SUMMARY - 1).join("") + "…";
}

function linesText(lines: [number, string, number][], ship: string, shipPrice: number, total: number, cur: string): string {
  const parts = lines.map(([qty, name, price]) => `${qty} x ${name} (${formatMoney(qty * price, cur)})`);
  return `${parts.join(", ")}, shipping ${ship} (${formatMoney(shipPrice, cur)}), total ${formatMoney(total, cur)}.`;
}

const defaultName: Names = (product, variant) => (variant === null ? product : `${product} (${variant})`);

/** The plain text a SimpleX app shows for `p` (an order names its items with `names`). */
export function summary(p: Payload, names: Names = defaultName, shippingName: string | null = null, shippingPrice = 0): string {
  switch (p.t) {
    case "catalog.get":
      return "Catalog request";
    case "images.get":
      return "Image request";
    case "catalog.same":
      return "Catalog is up to date";
    case "catalog":
      return `Catalog (part ${p.part + 1} of ${p.parts})`;
    case "image":
      return `Image (part ${p.part + 1} of ${p.parts})`;
    case "order": {
      const c = p.customer;
      const lines = p.items.map((i): [number, string, number] => [i.qty, names(i.product, i.variant), i.price]);
      let text = "Order: " + linesText(lines, shippingName || p.shipping, shippingPrice, p.total, p.currency);
      text += ` Ship to: ${c.name}, ${c.address}, ${c.postcode} ${c.city}, ${c.country}`;
      if (c.email) text += `. Email: ${c.email}`;
      return cut(text);
    }
    case "order.status": {
      let text: string;
      if (p.status === "received") {
        text = `Order ${p.order} received: ` + linesText(p.items.map((i) => [i.qty, i.name, i.price]), p.shipping.name, p.shipping.price, p.total, p.currency);
        if (p.payment) text += ` Payment: ${p.payment}`;
      } else {
        text = `Order ${p.order} is now ${p.status}`;
        if (p.tracking) text += ` (tracking ${p.tracking})`;
      }
      if (p.note) text += `. Note: ${p.note}`;
      return cut(text);
    }
    case "order.refused":
      return cut(p.message);
  }
}

// ----------------------------------------------------------------------------- catalog

export interface Variant {
  id: string;
  name: string;
  price: number | null;
  stock: number | null;
}
export interface Product {
  id: string;
  name: string;
  description: string;
  price: number;
  stock: number | null;
  tags: string[];
  images: string[];
  variants: Variant[];
}
export interface Catalog {
  version: string;
  shop: { name: string; currency: string; payment: string; terms: string };
  products: Product[];
  shipping: ShopShipping[];
}

function list(o: Obj, key: string, most: number): unknown[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.length > most) throw bad(`${key} must be a list of at most ${most}`);
  return v;
}

function optStock(o: Obj): number | null {
  const v = o.stock;
  if (v === undefined || v === null) return null;
  if (!isInt(v) || v < 0) throw bad("stock must be null or a count");
  return v;
}

function text(o: Obj, key: string, most: number): string {
  return optText(o, key, most) ?? "";
}

function variant(raw: unknown): Variant {
  if (!isObj(raw)) throw bad("a variant must be an object");
  const price = raw.price === undefined || raw.price === null ? null : int(raw, "price", 0, MAX_PRICE);
  return { id: str(raw, "id", MAX_ID, ID), name: str(raw, "name", MAX_NAME), price, stock: optStock(raw) };
}

function product(raw: unknown): Product {
  if (!isObj(raw)) throw bad("a product must be an object");
  const tags = list(raw, "tags", MAX_TAGS);
  const images = list(raw, "images", MAX_PRODUCT_IMAGES);
  if (!tags.every((t) => typeof t === "string" && t.length > 0 && cps(t) <= MAX_NAME)) throw bad("a tag must be a short string");
  if (!images.every((i) => typeof i === "string" && SHA256.test(i))) throw bad("an image id must be 64 lowercase hex digits");
  return {
    id: str(raw, "id", MAX_ID, ID),
    name: str(raw, "name", MAX_NAME),
    description: text(raw, "description", MAX_DESCRIPTION),
    price: int(raw, "price", 0, MAX_PRICE),
    stock: optStock(raw),
    tags: tags as string[],
    images: images as string[],
    variants: list(raw, "variants", MAX_VARIANTS).map(variant),
  };
}

/** A catalog JSON object, checked field by field (everything in it is shown as text). */
export function parseCatalog(raw: unknown): Catalog {
  if (!isObj(raw)) throw bad("the catalog must be an object");
  const shop = raw.shop;
  if (!isObj(shop)) throw bad("the catalog has no shop");
  return {
    version: str(raw, "version", MAX_VERSION),
    shop: { name: str(shop, "name", MAX_NAME), currency: str(shop, "currency", 3, CURRENCY), payment: text(shop, "payment", MAX_TEXT), terms: text(shop, "terms", MAX_TEXT) },
    products: list(raw, "products", MAX_PRODUCTS).map(product),
    shipping: list(raw, "shipping", MAX_SHIPPING).map((s) => {
      if (!isObj(s)) throw bad("a shipping option must be an object");
      return { id: str(s, "id", MAX_ID, ID), name: str(s, "name", MAX_NAME), price: int(s, "price", 0, MAX_PRICE) };
    }),
  };
}

/** Sorted keys, compact: the text whose sha256 names a catalog version (the owner's canonical_json). */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (isObj(v)) {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

/** A fresh order reference: 32 lowercase hex digits from the browser's CSPRNG. */
export function newRef(): string {
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
}
