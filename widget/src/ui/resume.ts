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
export function request<T>(r: IDBRequest<T>): Promise<T> {
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

/** Open (creating on first use) database `name` with one object store `store`. */
export function openDatabase(name: string, store: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(name, 1);
    r.onupgradeneeded = () => r.result.createObjectStore(store);
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error("IndexedDB unavailable"));
  });
}

/** A queue that runs the functions given to it one after the other (writes in order). */
export function serial(): (f: () => Promise<unknown>) => Promise<void> {
  let chain: Promise<unknown> = Promise.resolve();
  return (f) => {
    const next = chain.then(f, f);
    chain = next.catch(() => undefined);
    return next.then(() => undefined);
  };
}

export class SessionStore {
  readonly #id: string;
  #db: Promise<IDBDatabase> | null = null;
  /** Writes in order: the last sealed state written is the last one the worker posted. */
  readonly #queue = serial();

  constructor(id: string) {
    this.#id = id;
  }

  #open(): Promise<IDBDatabase> {
    this.#db ??= openDatabase(DB_NAME, STORE);
    return this.#db;
  }

  async #tx<T>(mode: IDBTransactionMode, f: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
    const db = await this.#open();
    return request(f(db.transaction(STORE, mode).objectStore(STORE)));
  }

  /** The stored session, or null (none, or not a record of ours). */
  async load(): Promise<Session | null> {
    const x: unknown = await this.#tx("readonly", (s) => s.get(this.#id));
    return isSession(x) ? x : null;
  }

  /** A fresh non-extractable key for a new session, stored before the worker first uses it. */
  async newKey(): Promise<CryptoKey> {
    const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
    await this.#queue(() => this.#tx("readwrite", (s) => s.put({ key, sealed: null } satisfies Session, this.#id)));
    return key;
  }

  /** Keep the latest sealed state (from the worker's `sealed` event) with its key. */
  save(key: CryptoKey, sealed: ArrayBuffer): Promise<void> {
    return this.#queue(() => this.#tx("readwrite", (s) => s.put({ key, sealed } satisfies Session, this.#id)));
  }

  clear(): Promise<void> {
    return this.#queue(() => this.#tx("readwrite", (s) => s.delete(this.#id)));
  }

}
