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
/** A sealed state that could not be stored is tried again this often. */
const RETRY_MS = 3000;
/** What the visitor is told when a sealed state could not be stored (the store's languages). */
const UNSAVED: Record<string, string> = {
  en: "This browser could not save the conversation: messages wait until it can.",
  de: "Dieser Browser konnte die Unterhaltung nicht speichern: Nachrichten warten, bis er es kann.",
};

/** {@link UNSAVED} in `lang` (English if it has none). */
export const unsavedText = (lang: string): string => UNSAVED[lang] ?? UNSAVED.en!;

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
  /**
   * Keep the worker's latest sealed state; resolves once it is committed (the worker waits
   * for that: rpc.ts `stored`). A write that fails calls `failed` once, with the text to show
   * the visitor, and is tried again (Records.keep); it rejects if a newer write or clear()
   * comes first.
   */
  save(key: CryptoKey, sealed: ArrayBuffer, failed: (text: string) => void): Promise<void>;
  clear(): Promise<void>;
}

function isSession(x: unknown): x is Session {
  if (typeof x !== "object" || x === null) return false;
  const s = x as Record<string, unknown>;
  return s.key instanceof CryptoKey && (s.sealed === null || s.sealed instanceof ArrayBuffer);
}

/**
 * Records in one IndexedDB object store (database `db`, version 1, one object store, opened on
 * first use), written in order: the resume stores keep one per contact address (`id`, the
 * default key); the shop (shop/store.ts) keeps its records under keys of its own.
 */
export class Records {
  readonly #id: string;
  readonly #name: string;
  readonly #store: string;
  #db: Promise<IDBDatabase> | null = null;
  /** Writes in order: the last sealed state written is the last one the worker posted. */
  #chain: Promise<unknown> = Promise.resolve();
  /** Counts keep() and clear() calls: a failed write is tried again only while it is the latest. */
  #gen = 0;

  constructor(id: string, db = DB_NAME, store = STORE) {
    this.#id = id;
    this.#name = db;
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

  /**
   * One request in a transaction of its own (not queued); resolves when the transaction has
   * completed (`oncomplete`: committed with the browser's default durability), not when the
   * request succeeded, so a write is stored when it resolves.
   */
  async tx<T>(mode: IDBTransactionMode, f: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
    const db = await this.#open();
    const t = db.transaction(this.#store, mode);
    const r = f(t.objectStore(this.#store));
    return new Promise((resolve, reject) => {
      t.oncomplete = () => resolve(r.result);
      t.onerror = t.onabort = () => reject(t.error ?? r.error ?? new Error("IndexedDB transaction failed"));
    });
  }

  /** The stored record, whatever it is. */
  get(key: string = this.#id): Promise<unknown> {
    return this.tx("readonly", (s) => s.get(key));
  }

  put(record: unknown, key: string = this.#id): Promise<void> {
    return this.queue(() => this.tx("readwrite", (s) => s.put(record, key)));
  }

  clear(key: string = this.#id): Promise<void> {
    this.#gen++;
    return this.queue(() => this.tx("readwrite", (s) => s.delete(key)));
  }

  /**
   * put() a sealed state until it is stored: a failure calls `failed` (once) and the write is
   * tried again every {@link RETRY_MS}; rejects when a newer keep() or a clear() supersedes it.
   */
  async keep(record: unknown, failed: () => void): Promise<void> {
    const gen = ++this.#gen;
    for (let said = false; ; said = true) {
      try {
        return await this.put(record);
      } catch {
        if (gen !== this.#gen) throw new Error("superseded");
        if (!said) failed();
        await new Promise((r) => setTimeout(r, RETRY_MS));
        if (gen !== this.#gen) throw new Error("superseded");
      }
    }
  }

  /** Run `f` after every write queued before it (and before any queued after it). */
  queue(f: () => Promise<unknown>): Promise<void> {
    const next = this.#chain.then(f, f);
    this.#chain = next.catch(() => undefined);
    return next.then(() => undefined);
  }
}

/** `data-resume`: the key itself is stored next to the state (see the module docstring). */
export class SessionStore implements Store {
  readonly #records: Records;
  readonly #lang: string;

  constructor(id: string, lang = "en") {
    this.#records = new Records(id);
    this.#lang = lang;
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
  save(key: CryptoKey, sealed: ArrayBuffer, failed: (text: string) => void): Promise<void> {
    return this.#records.keep({ key, sealed } satisfies Session, () => failed(unsavedText(this.#lang)));
  }

  clear(): Promise<void> {
    return this.#records.clear();
  }
}
