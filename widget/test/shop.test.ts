/**
 * The shop's wire format, customer side (src/shop/wire.ts, src/shop/assemble.ts), against the
 * vectors the owner's Python codecs write (tests/vectors/shop.json): every payload decodes,
 * encodes back to the same JSON and to the same chat message byte for byte with the same
 * summary; the catalog's parts join, gunzip and check against their version; the image's
 * parts join to bytes whose sha256 is its id; every refusal is refused alike (decode error,
 * or the order's refusal code and the customer's message).
 */

import { describe, expect, it } from "vitest";

import { base64urlDecode, toHex } from "../src/encoding.js";
import { MAX_RECV_TEXT, parseReply, parseRequest } from "../src/rpc.js";
import { Parts, sha256Hex, unpackCatalog } from "../src/shop/assemble.js";
import {
  OrderRefusal,
  ShopDecodeError,
  canonicalJson,
  decodePayload,
  encodePayload,
  formatMoney,
  newRef,
  parseCatalog,
  summary,
  type Catalog,
  type Payload,
} from "../src/shop/wire.js";
import { loadVectors } from "./vectors.js";

interface Vectors {
  limits: Record<string, number | string>;
  money: { amount: number; currency: string; text: string }[];
  messages: { name: string; json: string; payload: unknown; summary: string }[];
  catalog: { json: string; version: string; packed: string; parts: string[] }[];
  image: { bytes_b64url: string; id: string; mime: string; parts: string[] };
  refusals: { name: string; payload: unknown; error: string; message?: string }[];
}

const V = loadVectors<Vectors>("shop.json");
const MSG_ID = "c2hvcC12ZWN0b3Ix";

/** The chat message carrying `p` as the owner's shop_message writes it. */
function message(p: Payload, text: string): string {
  return JSON.stringify({ v: "1-16", msgId: MSG_ID, event: "x.msg.new", params: { content: { type: "text", text }, "hw.shop": encodePayload(p) } });
}

/** The payload of a chat message's JSON. */
function payloadOf(json: string): Payload {
  return decodePayload((JSON.parse(json) as { params: Record<string, unknown> }).params["hw.shop"]);
}

describe("shop wire vectors", () => {
  const catalog: Catalog = parseCatalog(JSON.parse(V.catalog[0]!.json));

  it("limits match", () => {
    expect(V.limits).toMatchObject({ chunk_chars: 12000, max_items: 100, max_qty: 999, max_image_ids: 64, max_summary: 2000, order_alphabet: "ABCDEFGHJKLMNPQRSTUVWXYZ23456789" });
  });

  it.each(V.money)("money $amount $currency", ({ amount, currency, text }) => {
    expect(formatMoney(amount, currency)).toBe(text);
  });

  it.each(V.messages)("$name", ({ json, payload, summary: text }) => {
    const p = decodePayload(payload);
    expect(encodePayload(p)).toEqual(payload);
    expect(payloadOf(json)).toEqual(p);
    const names = (id: string, variant: string | null): string => {
      const prod = catalog.products.find((x) => x.id === id)!;
      const v = prod.variants.find((x) => x.id === variant);
      return v === undefined ? prod.name : `${prod.name} (${v.name})`;
    };
    const ship = p.t === "order" ? catalog.shipping.find((s) => s.id === p.shipping)! : null;
    const made = summary(p, names, ship?.name ?? null, ship?.price ?? 0);
    expect(made).toBe(text);
    expect(message(p, made)).toBe(json);
  });

  it.each(V.catalog)("catalog $version joins, gunzips and checks", async (c) => {
    const parts = c.parts.map(payloadOf);
    expect(parts.every((p) => p.t === "catalog" && p.version === c.version)).toBe(true);
    for (const [i, p] of parts.entries()) expect(message(p, `Catalog (part ${i + 1} of ${parts.length})`)).toBe(c.parts[i]);
    const joined = new Parts(parts.length);
    let all: string | null = null;
    for (const p of [...parts].reverse()) if (p.t === "catalog") all = joined.add(p.part, p.data);
    expect(all).toBe(c.packed);
    const { raw, catalog: got } = await unpackCatalog(all!, c.version);
    expect(canonicalJson(raw)).toBe(c.json);
    expect(got.version).toBe(c.version);
    await expect(unpackCatalog(all!, "0000000000000000")).rejects.toThrow(ShopDecodeError);
  });

  it("a catalog whose content does not hash to its version is refused", async () => {
    const c = V.catalog[0]!;
    const raw = JSON.parse(c.json) as Record<string, unknown>;
    raw.products = [];
    const gz = new Uint8Array(await new Response(new Blob([canonicalJson(raw)]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer());
    const data = Buffer.from(gz).toString("base64url");
    await expect(unpackCatalog(data, c.version)).rejects.toThrow("not the hash");
  });

  it("image parts join to bytes whose sha256 is the id", async () => {
    const im = V.image;
    const parts = im.parts.map(payloadOf);
    const joined = new Parts(parts.length);
    let all: string | null = null;
    for (const p of parts) if (p.t === "image") all = joined.add(p.part, p.data);
    const bytes = base64urlDecode(all!) as Uint8Array<ArrayBuffer>;
    expect(toHex(bytes)).toBe(toHex(base64urlDecode(im.bytes_b64url)));
    expect(await sha256Hex(bytes)).toBe(im.id);
  });

  it.each(V.refusals)("refused: $name", ({ payload, error, message: text }) => {
    let caught: unknown = null;
    try {
      decodePayload(payload);
    } catch (e) {
      caught = e;
    }
    if (error === "decode") {
      expect(caught).toBeInstanceOf(ShopDecodeError);
    } else {
      expect(caught).toBeInstanceOf(OrderRefusal);
      expect((caught as OrderRefusal).code).toBe(error);
      expect((caught as OrderRefusal).message).toBe(text);
    }
  });
});

describe("shop wire, customer side", () => {
  it("a fresh ref is 32 lowercase hex digits, never the same twice", () => {
    const a = newRef();
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(newRef()).not.toBe(a);
  });

  it("an order summary is cut at 2000 code points with an ellipsis", () => {
    const long = "é".repeat(3000);
    const p = decodePayload({ t: "order.refused", ref: "0".repeat(32), reason: "bad_field", message: long.slice(0, 1000) });
    expect(summary(p)).toBe(long.slice(0, 1000));
    const s = decodePayload({
      t: "order.status",
      ref: "0".repeat(32),
      order: "ABCD-EFGH",
      status: "shipped",
      items: [{ product: "p", variant: null, name: "P", qty: 1, price: 1 }],
      shipping: { id: "s", name: "S", price: 0 },
      total: 1,
      currency: "EUR",
      tracking: "t".repeat(200),
      payment: null,
      note: "n".repeat(1000),
    });
    expect(summary(s).length).toBeLessThanOrEqual(2000);
  });

  it("catalog fields out of bounds are refused", () => {
    const base = JSON.parse(V.catalog[0]!.json) as { products: Record<string, unknown>[] };
    for (const bad of [{ name: "" }, { name: "x".repeat(201) }, { price: -1 }, { price: 1.5 }, { id: "a b" }, { images: ["nothex"] }, { tags: [7] }]) {
      const c = structuredClone(base);
      Object.assign(c.products[0]!, bad);
      expect(() => parseCatalog(c)).toThrow(ShopDecodeError);
    }
  });
});

describe("shop traffic between the page and the crypto worker (rpc.ts)", () => {
  it("a send may carry a shop payload's JSON; an oversized one is refused", () => {
    expect(parseRequest({ id: 1, op: "send", text: "Catalog request", shop: '{"t":"catalog.get","have":null}' })).toEqual({
      id: 1,
      op: "send",
      text: "Catalog request",
      shop: '{"t":"catalog.get","have":null}',
    });
    expect(parseRequest({ id: 1, op: "send", text: "hi" })).toEqual({ id: 1, op: "send", text: "hi" });
    expect(parseRequest({ id: 1, op: "send", text: "x", shop: "x".repeat(MAX_RECV_TEXT + 1) })).toBeNull();
  });

  it("a shop event carries the payload's JSON, bounded", () => {
    expect(parseReply({ event: "shop", data: '{"t":"catalog.same","version":"v"}' })).toEqual({ event: "shop", data: '{"t":"catalog.same","version":"v"}' });
    expect(parseReply({ event: "shop", data: 7 })).toBeNull();
    expect(parseReply({ event: "shop", data: "x".repeat(MAX_RECV_TEXT + 1) })).toBeNull();
  });
});
