/**
 * The shop's state in the browser, sealed at rest: the cart and the orders (one record, so an
 * order placed and the cart it empties are written together), the catalog, and each image.
 *
 * Like the chat's resume store (ui/resume.ts), a WebCrypto AES-GCM-256 key made
 * non-extractable is kept in IndexedDB (database `hushwire-shop`, one key per contact
 * address); every record is AES-GCM under it (a random 12-byte IV, then the ciphertext) with
 * the record's name as additional data, so records cannot be swapped. The same caveat
 * applies (docs/widget.md): any script on the page can use the key while the page is open.
 */

import { Records } from "../ui/resume.js";

const DB_NAME = "hushwire-shop";
const STORE = "records";

export class ShopStore {
  readonly #id: string;
  /** Writes in order. */
  readonly #r: Records;
  #key: Promise<CryptoKey> | null = null;

  constructor(id: string) {
    this.#id = id;
    this.#r = new Records(id, DB_NAME, STORE);
  }

  /** The key of this address, made (non-extractable) and stored on first use. */
  #sealKey(): Promise<CryptoKey> {
    this.#key ??= (async () => {
      const name = `${this.#id}\nkey`;
      const k = await this.#r.get(name);
      if (k instanceof CryptoKey) return k;
      const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
      await this.#r.put(key, name);
      return key;
    })();
    return this.#key;
  }

  #ad(name: string): Uint8Array<ArrayBuffer> {
    return new TextEncoder().encode(`hushwire shop 1\n${this.#id}\n${name}`);
  }

  /** The bytes of record `name`, or null (absent, or it does not open). */
  async getBytes(name: string): Promise<Uint8Array | null> {
    try {
      const key = await this.#sealKey();
      const v = await this.#r.get(`${this.#id}\n${name}`);
      if (!(v instanceof ArrayBuffer) || v.byteLength < 28) return null;
      const d = new Uint8Array(v);
      return new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: d.slice(0, 12), additionalData: this.#ad(name) }, key, d.slice(12)));
    } catch {
      return null;
    }
  }

  /** Seal and store `bytes` as record `name`. */
  putBytes(name: string, bytes: Uint8Array<ArrayBuffer>): Promise<void> {
    return this.#r.queue(async () => {
      const key = await this.#sealKey();
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const ct = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: this.#ad(name) }, key, bytes));
      const out = new Uint8Array(12 + ct.length);
      out.set(iv);
      out.set(ct, 12);
      await this.#r.tx("readwrite", (s) => s.put(out.buffer, `${this.#id}\n${name}`));
    });
  }

  async get(name: string): Promise<unknown> {
    const b = await this.getBytes(name);
    if (b === null) return null;
    try {
      return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(b)) as unknown;
    } catch {
      return null;
    }
  }

  put(name: string, value: unknown): Promise<void> {
    return this.putBytes(name, new TextEncoder().encode(JSON.stringify(value)));
  }

}
