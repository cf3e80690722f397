/**
 * Resume with a passphrase (`data-resume="passphrase"`): like ui/resume.ts, but the key that
 * seals the visitor's session is derived from a passphrase the visitor chooses, and is never
 * stored. IndexedDB holds only the salt, the work factor, a check value and the sealed state;
 * a script on the host page that reads the record holds nothing that opens it.
 *
 * Key: PBKDF2-HMAC-SHA-256 (WebCrypto) over the UTF-8 passphrase with a random 16-byte salt per
 * conversation and {@link ITERATIONS} iterations, giving a non-extractable AES-GCM-256 key
 * (usages encrypt, decrypt) that the page hands to the crypto worker as with plain resume.
 * Check value: AES-GCM of {@link CHECK} under that key (random 12-byte IV first), so a wrong
 * passphrase is told apart before anything is restored, and the visitor can try again.
 *
 * The forms (choose a passphrase when a chat starts; type it after a reload) go into the
 * panel, before the message list, with labelled fields, hints tied by aria-describedby and
 * errors in a role=alert paragraph; their strings are ui/strings_passphrase.ts.
 */

import { h } from "./dom.js";
import { Records, unsavedText, type Ask, type Session, type Store } from "./resume.js";
import { PASSPHRASE_STRINGS, type PassphraseStrings } from "./strings_passphrase.js";

/** PBKDF2 iterations of a new record (OWASP's 2023 figure for PBKDF2-HMAC-SHA-256). */
export const ITERATIONS = 600_000;
/** A stored record's iterations must lie in this range (a tampered one cannot stall the page). */
const MIN_ITERATIONS = 100_000;
const MAX_ITERATIONS = 10_000_000;
export const MIN_PASSPHRASE = 8;
const SALT_SIZE = 16;
const CHECK = new TextEncoder().encode("hushwire passphrase check 1");

/** What IndexedDB holds for a passphrase session (no key). */
export interface PassphraseRecord {
  mode: "passphrase";
  salt: ArrayBuffer;
  iterations: number;
  check: ArrayBuffer;
  sealed: ArrayBuffer | null;
}

function isRecord(x: unknown): x is PassphraseRecord {
  if (typeof x !== "object" || x === null) return false;
  const r = x as Record<string, unknown>;
  const n = r.iterations;
  return (
    r.mode === "passphrase" &&
    r.salt instanceof ArrayBuffer &&
    r.salt.byteLength === SALT_SIZE &&
    typeof n === "number" &&
    Number.isInteger(n) &&
    n >= MIN_ITERATIONS &&
    n <= MAX_ITERATIONS &&
    r.check instanceof ArrayBuffer &&
    (r.sealed === null || r.sealed instanceof ArrayBuffer)
  );
}

/** The sealing key for `passphrase`: PBKDF2-HMAC-SHA-256 to a non-extractable AES-GCM-256 key. */
export async function deriveKey(passphrase: string, salt: ArrayBuffer, iterations: number): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey("raw", new TextEncoder().encode(passphrase), "PBKDF2", false, ["deriveKey"]);
  return crypto.subtle.deriveKey({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, base, { name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
}

async function checkValue(key: CryptoKey): Promise<ArrayBuffer> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, CHECK));
  const out = new Uint8Array(12 + ct.length);
  out.set(iv);
  out.set(ct, 12);
  return out.buffer;
}

/** True iff `check` opens under `key` (the passphrase was right). */
async function opens(key: CryptoKey, check: ArrayBuffer): Promise<boolean> {
  const b = new Uint8Array(check);
  try {
    const plain = new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: b.slice(0, 12) }, key, b.slice(12)));
    return plain.length === CHECK.length && plain.every((x, i) => x === CHECK[i]);
  } catch {
    return false;
  }
}

type Answer = { pass: string } | { other: true };

export class PassphraseStore implements Store {
  readonly #records: Records;
  readonly #t: PassphraseStrings;
  readonly #lang: string;
  #record: PassphraseRecord | null = null;

  constructor(id: string, lang = "en") {
    this.#records = new Records(id);
    this.#t = PASSPHRASE_STRINGS[lang] ?? PASSPHRASE_STRINGS.en!;
    this.#lang = lang;
  }

  /**
   * Ask for the passphrase of the stored session until it opens its check value; null if there
   * is none or the visitor starts a new chat instead (the record is then deleted).
   */
  async load(ask?: Ask): Promise<Session | null> {
    const rec = await this.#records.get();
    if (!isRecord(rec) || rec.sealed === null || ask === undefined) return null;
    const t = this.#t;
    const form = this.#form(ask(), "unlock", t.unlockLabel, t.unlockHint, t.unlock, t.fresh);
    try {
      for (;;) {
        const a = await form.answer();
        if ("other" in a) {
          await this.clear();
          return null;
        }
        form.busy(t.checking);
        const key = await deriveKey(a.pass, rec.salt, rec.iterations);
        if (await opens(key, rec.check)) {
          this.#record = rec;
          return { key, sealed: rec.sealed };
        }
        form.error(t.wrong);
      }
    } finally {
      form.remove();
    }
  }

  /** Ask the visitor for a new passphrase (or not to keep the chat): its key, or null. */
  async newKey(ask?: Ask): Promise<CryptoKey | null> {
    if (ask === undefined) return null;
    const t = this.#t;
    const form = this.#form(ask(), "new", t.chooseLabel, t.chooseHint, t.keep, t.skip);
    try {
      for (;;) {
        const a = await form.answer();
        if ("other" in a) return null;
        if (a.pass.length < MIN_PASSPHRASE) {
          form.error(t.tooShort);
          continue;
        }
        form.busy(t.checking);
        const salt = crypto.getRandomValues(new Uint8Array(SALT_SIZE)).buffer;
        const key = await deriveKey(a.pass, salt, ITERATIONS);
        const rec: PassphraseRecord = { mode: "passphrase", salt, iterations: ITERATIONS, check: await checkValue(key), sealed: null };
        this.#record = rec;
        await this.#records.put(rec);
        return key;
      }
    } finally {
      form.remove();
    }
  }

  /** Keep the latest sealed state with the salt and check value (the key is not stored). */
  save(_key: CryptoKey, sealed: ArrayBuffer, failed: (text: string) => void): Promise<void> {
    const rec = this.#record;
    if (rec === null) return Promise.reject(new Error("no passphrase record"));
    return this.#records.keep({ ...rec, sealed } satisfies PassphraseRecord, () => failed(unsavedText(this.#lang)));
  }

  clear(): Promise<void> {
    this.#record = null;
    return this.#records.clear();
  }

  /** A passphrase form before the panel's message list. */
  #form(panel: HTMLElement, id: string, label: string, hint: string, ok: string, other: string) {
    const field = h("input", { id: `hw-pass-${id}`, type: "password", autocomplete: id === "new" ? "new-password" : "current-password", "aria-describedby": `hw-pass-${id}-hint hw-pass-${id}-error` });
    const err = h("p", { id: `hw-pass-${id}-error`, role: "alert" });
    const okBtn = h("button", { type: "submit", class: "btn" }, ok);
    const otherBtn = h("button", { type: "button", class: "btn alt" }, other);
    const form = h("form", { class: "name pass" }, h("label", { for: field.id }, label), field, h("p", { id: `hw-pass-${id}-hint` }, hint), err, h("div", { class: "row" }, okBtn, otherBtn));
    (panel.querySelector("ol") ?? panel.lastChild)?.before(form);
    // Focus the field when the panel is (or becomes) visible: it is the visitor's next step.
    // (after the panel's own focus move of this turn, hence the microtask)
    const focus = (): unknown => panel.hidden || field.focus();
    const seen = new MutationObserver(focus);
    seen.observe(panel, { attributeFilter: ["hidden"] });
    queueMicrotask(focus);
    const enable = (on: boolean): void => {
      field.disabled = okBtn.disabled = otherBtn.disabled = !on;
    };
    return {
      answer: (): Promise<Answer> =>
        new Promise((resolve) => {
          enable(true);
          form.onsubmit = (ev) => {
            ev.preventDefault();
            resolve({ pass: field.value });
          };
          otherBtn.onclick = () => resolve({ other: true });
        }),
      busy: (text: string): void => {
        enable(false);
        err.textContent = "";
        form.setAttribute("aria-busy", "true");
        okBtn.textContent = text;
      },
      error: (text: string): void => {
        form.removeAttribute("aria-busy");
        okBtn.textContent = ok;
        enable(true);
        field.value = "";
        err.textContent = text;
        field.focus();
      },
      remove: (): void => {
        seen.disconnect();
        form.remove();
      },
    };
  }
}
