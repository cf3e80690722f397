// The page side's pure parts: the string table, language choice, lag -> quality, and the
// validation of the chat messages that cross between page and worker (rpc.ts).
import { describe, expect, it } from "vitest";

import { MAX_SEND_TEXT, parseReply, parseRequest, parseTranscriptItem } from "../src/rpc.js";
import { qualityOf } from "../src/ui/panel.js";
import { STRINGS, pickStrings } from "../src/ui/strings.js";

describe("strings", () => {
  it("has every key in every language, none empty", () => {
    const keys = Object.keys(STRINGS.en ?? {}).sort();
    for (const [lang, table] of Object.entries(STRINGS)) {
      expect(Object.keys(table).sort(), lang).toEqual(keys);
      for (const [k, v] of Object.entries(table)) expect(String(v).length, `${lang}.${k}`).toBeGreaterThan(0);
    }
  });

  it("keeps the accessible names tests and screen readers rely on", () => {
    const en = STRINGS.en;
    expect([en?.open, en?.message, en?.send, en?.end, en?.messages]).toEqual(["Open chat", "Message", "Send", "End conversation", "Messages"]);
  });

  it("picks data-lang, then the browser's languages, then English", () => {
    expect(pickStrings("de", ["en-US"]).lang).toBe("de");
    expect(pickStrings(undefined, ["fr-FR", "de-AT"]).lang).toBe("de");
    expect(pickStrings("DE-ch", []).s.open).toBe("Chat öffnen");
    expect(pickStrings("xx", ["fr"]).lang).toBe("en");
    expect(pickStrings("constructor", ["__proto__"]).lang).toBe("en");
  });
});

describe("connection quality", () => {
  it("maps the keepalive lag to three levels", () => {
    expect([qualityOf(0), qualityOf(150), qualityOf(151), qualityOf(600), qualityOf(601)]).toEqual([3, 3, 2, 2, 1]);
  });
});

describe("chat messages between page and worker", () => {
  it("validates requests", () => {
    expect(parseRequest({ id: 1, op: "join", address: "simplex:/contact#/?v=2", relayUrl: "ws://x/", name: "", seal: null })).toEqual({
      id: 1,
      op: "join",
      address: "simplex:/contact#/?v=2",
      relayUrl: "ws://x/",
      name: "",
      seal: null,
    });
    expect(parseRequest({ id: 1, op: "join", address: "a", relayUrl: "ws://x/", name: "n", seal: "key" })).toBeNull();
    expect(parseRequest({ id: 2, op: "send", text: "hi" })).toEqual({ id: 2, op: "send", text: "hi" });
    expect(parseRequest({ id: 2, op: "send", text: "" })).toBeNull();
    expect(parseRequest({ id: 2, op: "send", text: "x".repeat(MAX_SEND_TEXT + 1) })).toBeNull();
    expect(parseRequest({ id: 3, op: "end" })).toEqual({ id: 3, op: "end" });
    expect(parseRequest({ id: 4, op: "restore", relayUrl: "ws://x/", key: {}, sealed: new ArrayBuffer(8) })).toBeNull();
  });

  it("accepts only non-extractable AES-GCM keys for sealing", async () => {
    const ok = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
    const extractable = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, true, ["encrypt", "decrypt"]);
    const sealed = new ArrayBuffer(8);
    expect(parseRequest({ id: 4, op: "restore", relayUrl: "ws://x/", key: ok, sealed })).toEqual({ id: 4, op: "restore", relayUrl: "ws://x/", key: ok, sealed });
    expect(parseRequest({ id: 4, op: "restore", relayUrl: "ws://x/", key: extractable, sealed })).toBeNull();
    expect(parseRequest({ id: 5, op: "join", address: "a", relayUrl: "ws://x/", name: "", seal: extractable })).toBeNull();
  });

  it("validates events", () => {
    expect(parseReply({ event: "connected", peer: "Bakery" })).toEqual({ event: "connected", peer: "Bakery" });
    expect(parseReply({ event: "message", msgId: 3, text: "<b>x</b>" })).toEqual({ event: "message", msgId: 3, text: "<b>x</b>" });
    expect(parseReply({ event: "message", msgId: -1, text: "x" })).toBeNull();
    expect(parseReply({ event: "message", msgId: 1, text: 5 })).toBeNull();
    expect(parseReply({ event: "receipt", msgId: 7 })).toEqual({ event: "receipt", msgId: 7 });
    expect(parseReply({ event: "receipt", msgId: 1.5 })).toBeNull();
    expect(parseReply({ event: "ended", by: "peer" })).toEqual({ event: "ended", by: "peer" });
    expect(parseReply({ event: "ended", by: "someone" })).toBeNull();
    expect(parseReply({ event: "sealed", data: new ArrayBuffer(4), seq: 7 })).toEqual({ event: "sealed", data: new ArrayBuffer(4), seq: 7 });
    expect(parseReply({ event: "sealed", data: new ArrayBuffer(4) })).toBeNull();
    expect(parseReply({ event: "sealed", data: new Uint8Array(4), seq: 7 })).toBeNull();
    expect(parseRequest({ id: 0, op: "stored", seq: 7 })).toEqual({ id: 0, op: "stored", seq: 7 });
    expect(parseRequest({ id: 0, op: "stored", seq: -1 })).toBeNull();
    expect(parseReply({ event: "lag", ms: Number.NaN })).toBeNull();
    expect(parseReply({ event: "nope" })).toBeNull();
  });

  it("validates transcript items", () => {
    expect(parseTranscriptItem({ dir: "out", text: "hi", msgId: 1, delivered: true })).toEqual({ dir: "out", text: "hi", msgId: 1, delivered: true });
    expect(parseTranscriptItem({ dir: "sideways", text: "hi", msgId: 1, delivered: true })).toBeNull();
    expect(parseTranscriptItem({ dir: "in", text: "hi", msgId: 1 })).toBeNull();
  });
});
