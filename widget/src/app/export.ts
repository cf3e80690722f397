/**
 * The profile as one file, to move it to another device: the magic line `HUSHWIRE-APP-1\n`,
 * a 16-byte random salt, then AES-256-GCM (random 12-byte IV first) of the profile's JSON under a
 * key derived from the passphrase with PBKDF2-HMAC-SHA256 (600,000 iterations, the salt), with
 * the magic and the salt as additional data. Only the worker ever sees the passphrase.
 *
 * The exported profile holds the ratchets: the device it was exported from must not go on using
 * it (both would send under the same keys); the import replaces the profile where it lands.
 */

import { concat, utf8 } from "../encoding.js";
import { DecodeError } from "../errors.js";
import { randomBytes } from "../crypto/random.js";
import { openText } from "../agent/state_read.js";
import { sealText } from "../worker/service.js";

const MAGIC = utf8("HUSHWIRE-APP-1\n");
export const SALT = 16;
const ITERATIONS = 600000;
export const MIN_PASSPHRASE = 8;

/** The AES-256-GCM key of `passphrase` with `salt` (PBKDF2-HMAC-SHA256, 600,000 iterations). */
export async function passphraseKey(passphrase: string, salt: Uint8Array): Promise<CryptoKey> {
  if (passphrase.length < MIN_PASSPHRASE) throw new RangeError(`the passphrase needs at least ${MIN_PASSPHRASE} characters`);
  const base = await crypto.subtle.importKey("raw", utf8(passphrase) as Uint8Array<ArrayBuffer>, "PBKDF2", false, ["deriveKey"]);
  return crypto.subtle.deriveKey({ name: "PBKDF2", salt: salt as Uint8Array<ArrayBuffer>, iterations: ITERATIONS, hash: "SHA-256" }, base, { name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
}

/** The export file of the profile JSON `text`. */
export async function exportProfile(passphrase: string, text: string): Promise<ArrayBuffer> {
  const salt = randomBytes(SALT);
  const head = concat(MAGIC, salt);
  const sealed = await sealText(await passphraseKey(passphrase, salt), head as Uint8Array<ArrayBuffer>, text);
  return concat(head, new Uint8Array(sealed)).buffer as ArrayBuffer;
}

/** The profile (a JSON object) in an export file; DecodeError for a wrong passphrase or another file. */
export async function importProfile(passphrase: string, file: ArrayBuffer): Promise<Record<string, unknown>> {
  const data = new Uint8Array(file);
  const head = data.slice(0, MAGIC.length + SALT);
  if (data.length <= head.length + 12 || !MAGIC.every((b, i) => data[i] === b)) throw new DecodeError("this is not an exported Hushwire profile");
  const error = new DecodeError("the profile does not open with this passphrase");
  const d = await openText(await passphraseKey(passphrase, head.slice(MAGIC.length)), head, data.slice(head.length).buffer, error);
  if (typeof d !== "object" || d === null || Array.isArray(d)) throw error;
  return d as Record<string, unknown>;
}
