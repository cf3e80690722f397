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

/**
 * The panel, for a store that must ask the visitor something (ui/passphrase.ts): calling it
 * shows the panel's restoring (or connecting) state; the store puts its form into the panel
 * returned, before the message list, and removes it when done.
 */
export type Ask = () => HTMLElement;

/** What the panel (ui/panel.ts) needs of a resume store: {@link SessionStore} or ui/passphrase.ts. */
export interface Store {
  /** The stored session, or null (none, not a record of ours, or the visitor chose a new chat). */
  load(ask?: Ask): Promise<Session | null>;
  /** A key for a new session, stored before the worker first uses it; null: do not keep it. */
  newKey(ask?: Ask): Promise<CryptoKey | null>;
  save(key: CryptoKey, sealed: ArrayBuffer): Promise<void>;
  clear(): Promise<void>;
}

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

/** One IndexedDB record per contact address, written in order. */
export class Records {
  readonly #id: string;
  #db: Promise<IDBDatabase> | null = null;
  /** Writes in order: the last sealed state written is the last one the worker posted. */
  #chain: Promise<unknown> = Promise.resolve();

  constructor(id: string) {
    this.#id = id;
  }

  #open(): Promise<IDBDatabase> {
    this.#db ??= new Promise((resolve, reject) => {
      const r = indexedDB.open(DB_NAME, 1);
      r.onupgradeneeded = () => r.result.createObjectStore(STORE);
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error ?? new Error("IndexedDB unavailable"));
    });
    return this.#db;
  }

  async #tx<T>(mode: IDBTransactionMode, f: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
    const db = await this.#open();
    return request(f(db.transaction(STORE, mode).objectStore(STORE)));
  }

  /** The stored record, whatever it is. */
  get(): Promise<unknown> {
    return this.#tx("readonly", (s) => s.get(this.#id));
  }

  put(record: object): Promise<void> {
    return this.#queue(() => this.#tx("readwrite", (s) => s.put(record, this.#id)));
  }

  clear(): Promise<void> {
    return this.#queue(() => this.#tx("readwrite", (s) => s.delete(this.#id)));
  }

  #queue(f: () => Promise<unknown>): Promise<void> {
    const next = this.#chain.then(f, f);
    this.#chain = next.catch(() => undefined);
    return next.then(() => undefined);
  }
}

/** `data-resume`: the key itself is stored next to the state (see the module docstring). */
export class SessionStore implements Store {
  readonly #records: Records;

  constructor(id: string) {
    this.#records = new Records(id);
  }

  /** The stored session, or null (none, or not a record of ours). */
  async load(): Promise<Session | null> {
    const x = await this.#records.get();
    return isSession(x) ? x : null;
  }

  /** A fresh non-extractable key for a new session, stored before the worker first uses it. */
  async newKey(): Promise<CryptoKey> {
    const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
    await this.#records.put({ key, sealed: null } satisfies Session);
    return key;
  }

  /** Keep the latest sealed state (from the worker's `sealed` event) with its key. */
  save(key: CryptoKey, sealed: ArrayBuffer): Promise<void> {
    return this.#records.put({ key, sealed } satisfies Session);
  }

  clear(): Promise<void> {
    return this.#records.clear();
  }
}
