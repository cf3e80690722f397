/**
 * Resume after reload (`data-resume`, off by default): the visitor's session, sealed by the
 * worker, kept in IndexedDB next to the key that opens it.
 *
 * The key is a WebCrypto AES-GCM key made non-extractable: its bytes never exist in
 * JavaScript, IndexedDB stores it as an opaque CryptoKey, and the page only hands it to the
 * crypto worker, which encrypts its state under it (the `sealed` event) and opens it again
 * (`restore`). The page never sees the state in the clear. Ending the conversation deletes
 * the record. One record per contact address.
 */

const DB_NAME = "hushwire";
const STORE = "sessions";

export interface Session {
  key: CryptoKey;
  sealed: ArrayBuffer | null;
}

/** An IndexedDB request as a promise. */
function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error("IndexedDB request failed"));
  });
}

function isSession(x: unknown): x is Session {
  if (typeof x !== "object" || x === null) return false;
  const s = x as Record<string, unknown>;
  return s.key instanceof CryptoKey && (s.sealed === null || s.sealed instanceof ArrayBuffer);
}

/**
 * One IndexedDB object store, opened on first use (database `name`, version 1, one object
 * store), with its transactions as promises and a queue that keeps writes in order.
 */
export class Records {
  readonly #name: string;
  readonly #store: string;
  #db: Promise<IDBDatabase> | null = null;
  #chain: Promise<unknown> = Promise.resolve();

  constructor(name: string, store: string) {
    this.#name = name;
    this.#store = store;
  }

  #open(): Promise<IDBDatabase> {
    this.#db ??= new Promise((resolve, reject) => {
      const r = indexedDB.open(this.#name, 1);
      r.onupgradeneeded = () => r.result.createObjectStore(this.#store);
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error ?? new Error("IndexedDB unavailable"));
    });
    return this.#db;
  }

  async tx<T>(mode: IDBTransactionMode, f: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
    const db = await this.#open();
    return request(f(db.transaction(this.#store, mode).objectStore(this.#store)));
  }

  /** Run `f` after every write queued before it. */
  queue(f: () => Promise<unknown>): Promise<void> {
    const next = this.#chain.then(f, f);
    this.#chain = next.catch(() => undefined);
    return next.then(() => undefined);
  }
}

export class SessionStore {
  readonly #id: string;
  /** Writes in order: the last sealed state written is the last one the worker posted. */
  readonly #r = new Records(DB_NAME, STORE);

  constructor(id: string) {
    this.#id = id;
  }

  /** The stored session, or null (none, or not a record of ours). */
  async load(): Promise<Session | null> {
    const x: unknown = await this.#r.tx("readonly", (s) => s.get(this.#id));
    return isSession(x) ? x : null;
  }

  /** A fresh non-extractable key for a new session, stored before the worker first uses it. */
  async newKey(): Promise<CryptoKey> {
    const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
    await this.#r.queue(() => this.#r.tx("readwrite", (s) => s.put({ key, sealed: null } satisfies Session, this.#id)));
    return key;
  }

  /** Keep the latest sealed state (from the worker's `sealed` event) with its key. */
  save(key: CryptoKey, sealed: ArrayBuffer): Promise<void> {
    return this.#r.queue(() => this.#r.tx("readwrite", (s) => s.put({ key, sealed } satisfies Session, this.#id)));
  }

  clear(): Promise<void> {
    return this.#r.queue(() => this.#r.tx("readwrite", (s) => s.delete(this.#id)));
  }
}
