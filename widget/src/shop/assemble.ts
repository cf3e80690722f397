/**
 * Putting the owner's parts back together, customer side (docs/protocol/shop.md): the parts of
 * a catalog version or an image joined in order, the catalog gunzipped with the browser's
 * DecompressionStream (bounded) and checked against its version (the first 16 hex digits of
 * sha256 of its canonical JSON without "version"), sha256 with WebCrypto. No DOM.
 */

import { base64urlDecode, concat } from "../encoding.js";
import { MAX_CATALOG_JSON, ShopDecodeError, canonicalJson, parseCatalog, type Catalog } from "./wire.js";

export async function sha256Hex(b: Uint8Array<ArrayBuffer>): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", b));
  return [...d].map((x) => x.toString(16).padStart(2, "0")).join("");
}

/** gunzip with the browser's DecompressionStream, refusing more than `most` bytes. */
export async function gunzip(data: Uint8Array<ArrayBuffer>, most: number): Promise<Uint8Array<ArrayBuffer>> {
  const reader = new Blob([data]).stream().pipeThrough(new DecompressionStream("gzip")).getReader();
  const chunks: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.length;
    if (n > most) {
      await reader.cancel();
      throw new ShopDecodeError("the catalog is too large");
    }
    chunks.push(value);
  }
  return concat(...chunks) as Uint8Array<ArrayBuffer>;
}

/** Parts of one catalog version or one image, joined when complete (null until then). */
export class Parts {
  readonly #have = new Map<number, string>();
  constructor(readonly count: number) {}
  add(part: number, data: string): string | null {
    this.#have.set(part, data);
    if (this.#have.size < this.count) return null;
    let s = "";
    for (let i = 0; i < this.count; i++) s += this.#have.get(i) ?? "";
    return s;
  }
}

/** The catalog from the joined data of its parts: gunzipped, read, checked against `version`. */
export async function unpackCatalog(data: string, version: string): Promise<{ raw: Record<string, unknown>; catalog: Catalog }> {
  const json = await gunzip(base64urlDecode(data) as Uint8Array<ArrayBuffer>, MAX_CATALOG_JSON);
  const raw: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(json));
  const catalog = parseCatalog(raw);
  const { version: v, ...rest } = raw as Record<string, unknown>;
  const hash = (await sha256Hex(new TextEncoder().encode(canonicalJson(rest)))).slice(0, 16);
  if (v !== version || hash !== version) throw new ShopDecodeError("the catalog's version is not the hash of its content");
  return { raw: raw as Record<string, unknown>, catalog };
}
