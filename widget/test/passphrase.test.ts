/**
 * Passphrase resume (ui/passphrase.ts): the key derivation is PBKDF2-HMAC-SHA-256 with the
 * stated work factor, checked against Node's own PBKDF2 and AES-GCM (same bytes out), and the
 * key it gives is non-extractable AES-GCM, the only kind the worker accepts for sealing.
 * The forms and IndexedDB are exercised in Chromium (tests/widget/test_widget_passphrase_browser.py).
 */

import { createCipheriv, pbkdf2Sync } from "node:crypto";

import { describe, expect, it } from "vitest";

import { parseRequest } from "../src/rpc.js";
import { deriveKey, ITERATIONS, MIN_PASSPHRASE } from "../src/ui/passphrase.js";
import { PASSPHRASE_STRINGS } from "../src/ui/strings_passphrase.js";

describe("the passphrase key", () => {
  it("is PBKDF2-HMAC-SHA-256 with 600,000 iterations over the UTF-8 passphrase", async () => {
    const salt = new Uint8Array(16).map((_, i) => i);
    const pass = "rye at dawn, 7 loaves – Brötchen";
    const key = await deriveKey(pass, salt.buffer, ITERATIONS);
    expect(ITERATIONS).toBe(600_000);
    expect(key.extractable).toBe(false);
    expect(key.algorithm).toMatchObject({ name: "AES-GCM", length: 256 });
    const iv = new Uint8Array(12).fill(7);
    const plain = new TextEncoder().encode("sealed state");
    const ours = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, plain));
    const raw = pbkdf2Sync(Buffer.from(pass, "utf8"), salt, ITERATIONS, 32, "sha256");
    const c = createCipheriv("aes-256-gcm", raw, iv);
    const theirs = Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
    expect(Buffer.from(ours).toString("hex")).toBe(theirs.toString("hex"));
    // the worker takes it as a sealing key
    expect(parseRequest({ id: 1, op: "restore", relayUrl: "ws://x/", key, sealed: new ArrayBuffer(8) })).not.toBeNull();
  });

  it("another passphrase or salt gives another key", async () => {
    const salt = new Uint8Array(16).buffer;
    const iv = new Uint8Array(12);
    const ct = async (k: CryptoKey): Promise<string> => Buffer.from(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, k, new Uint8Array(4))).toString("hex");
    const a = await ct(await deriveKey("correct horse", salt, 100_000));
    expect(await ct(await deriveKey("correct horse", salt, 100_000))).toBe(a);
    expect(await ct(await deriveKey("correct hors", salt, 100_000))).not.toBe(a);
    expect(await ct(await deriveKey("correct horse", new Uint8Array(16).fill(1).buffer, 100_000))).not.toBe(a);
  });

  it("has English and German strings for every prompt", () => {
    expect(Object.keys(PASSPHRASE_STRINGS).sort()).toEqual(["de", "en"]);
    expect(Object.keys(PASSPHRASE_STRINGS.de!).sort()).toEqual(Object.keys(PASSPHRASE_STRINGS.en!).sort());
    expect(PASSPHRASE_STRINGS.en!.unlockLabel).toBe("Passphrase to continue your conversation");
    expect(PASSPHRASE_STRINGS.en!.tooShort).toContain(String(MIN_PASSPHRASE));
  });
});
