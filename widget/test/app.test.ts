/**
 * The web app's own logic (src/app/): links on the app's origin, the rpc checks, the QR path,
 * and the security code (the same on both ends, simplex-chat's verificationCode form).
 */

import { createHash } from "node:crypto";

import { describe, expect, it } from "vitest";

import { KeyPair } from "../src/crypto/keys.js";
import { ratchetToJSON } from "../src/agent/ratchet_json.js";
import { E2ERatchetParams, initJoinerRatchet, x3dhInitiator, x3dhJoiner, Ratchet } from "../src/agent/ratchet.js";
import { exportProfile, importProfile } from "../src/app/export.js";
import { securityCode } from "../src/app/handshake.js";
import { linkOfLocation, onOrigin, toSimplex } from "../src/app/link.js";
import { qrPath } from "../src/app/qr.js";
import { parseAppReply, parseAppRequest, parseItem } from "../src/app/rpc.js";

const LINK = "simplex:/invitation#/?v=2-7&smp=smp%3A%2F%2Fabc%40h%2Fq%23%2F%3Fv%3D1-4&e2e=v%3D2-3";

describe("links on the app's origin", () => {
  it("shows a simplex: link on the origin and reads it back", () => {
    const shown = onOrigin(LINK, "https://app.example");
    expect(shown).toBe("https://app.example/invitation#/?v=2-7&smp=smp%3A%2F%2Fabc%40h%2Fq%23%2F%3Fv%3D1-4&e2e=v%3D2-3");
    expect(toSimplex(` ${shown}\n`, "https://app.example")).toBe(LINK);
    expect(toSimplex("https://simplex.chat/contact#/?v=1", "https://app.example")).toBe("https://simplex.chat/contact#/?v=1");
    expect(() => onOrigin("https://x/invitation#/?v=1", "https://app.example")).toThrow(RangeError);
  });

  it("takes the link the browser opened from the path and the fragment only", () => {
    expect(linkOfLocation({ pathname: "/invitation", hash: "#/?v=2-7&smp=x" })).toBe("simplex:/invitation#/?v=2-7&smp=x");
    expect(linkOfLocation({ pathname: "/contact/", hash: "#/?v=2" })).toBe("simplex:/contact#/?v=2");
    expect(linkOfLocation({ pathname: "/", hash: "#/?v=2" })).toBeNull();
    expect(linkOfLocation({ pathname: "/invitation", hash: "" })).toBeNull();
    expect(linkOfLocation({ pathname: "/invitationx", hash: "#/?v=2" })).toBeNull();
  });

  it("takes a short link opened on the app's origin as its simplex: form", () => {
    const short = "simplex:/a#MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY?h=relay.example&p=5223&c=1234-w";
    const shown = onOrigin(short, "https://app.example");
    expect(shown).toBe("https://app.example/a#MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY?h=relay.example&p=5223&c=1234-w");
    const u = new URL(shown);
    expect(linkOfLocation(u)).toBe(short);
    expect(toSimplex(shown, "https://app.example")).toBe(short);
    expect(linkOfLocation({ pathname: "/i", hash: "#ID/KEY?h=r" })).toBe("simplex:/i#ID/KEY?h=r");
    expect(linkOfLocation({ pathname: "/g/", hash: "#KEY" })).toBe("simplex:/g#KEY");
    expect(linkOfLocation({ pathname: "/a", hash: "#" })).toBeNull();
    expect(linkOfLocation({ pathname: "/x", hash: "#KEY" })).toBeNull();
  });
});

describe("rpc", () => {
  it("accepts well-formed requests and refuses the rest", () => {
    expect(parseAppRequest({ id: 1, op: "send", contact: "c1", text: "hi" })).toEqual({ id: 1, op: "send", contact: "c1", text: "hi" });
    expect(parseAppRequest({ id: 1, op: "send", contact: "c1", text: "" })).toBeNull();
    expect(parseAppRequest({ id: 1, op: "send", contact: "c1", text: "x".repeat(4097) })).toBeNull();
    expect(parseAppRequest({ id: 2, op: "join", link: "" })).toBeNull();
    expect(parseAppRequest({ id: 3, op: "remove", contact: "c" })).toEqual({ id: 3, op: "remove", contact: "c" });
    expect(parseAppRequest({ id: 4, op: "start", server: "smp://x@h", wsUrl: "ws://h", key: {}, sealed: null })).toBeNull();
    expect(parseAppRequest({ id: -1, op: "invite" })).toBeNull();
    expect(parseAppRequest({ id: 5, op: "eval" })).toBeNull();
  });

  it("checks the worker's events", () => {
    const contact = { id: "c", name: "<b>x</b>", status: "connected", link: "", detail: "", kind: "room", owner: true, members: ["a (host)", "b"] };
    expect(parseAppReply({ event: "contact", contact })).toEqual({ event: "contact", contact });
    // a contact stored before rooms existed: a 1:1 contact
    const old = { id: "c", name: "x", status: "connected", link: "", detail: "" };
    expect(parseAppReply({ event: "contact", contact: old })).toEqual({ event: "contact", contact: { ...old, kind: "contact", owner: false, members: [] } });
    expect(parseAppReply({ event: "contact", contact: { ...contact, kind: "group" } })).toBeNull();
    expect(parseAppReply({ event: "contact", contact: { ...contact, members: [1] } })).toBeNull();
    expect(parseAppReply({ event: "contact", contact: { ...contact, status: "owned" } })).toBeNull();
    expect(parseAppReply({ event: "tick", contact: "c", msgId: 3, tick: 2 })).toEqual({ event: "tick", contact: "c", msgId: 3, tick: 2 });
    expect(parseAppReply({ event: "tick", contact: "c", msgId: 3, tick: 3 })).toBeNull();
    expect(parseAppReply({ event: "lag", ms: -1 })).toBeNull();
    expect(parseAppReply({ id: 1, ok: false, error: "no" })).toEqual({ id: 1, ok: false, error: "no" });
    expect(parseItem({ dir: "in", text: "t", msgId: 1, tick: 0 })).toEqual({ dir: "in", text: "t", msgId: 1, tick: 0 });
    expect(parseItem({ dir: "sideways", text: "t", msgId: 1, tick: 0 })).toBeNull();
  });
});

describe("QR code", () => {
  it("draws one unit square per dark module, after the quiet zone", () => {
    expect(qrPath([[true, false], [false, true]], 4)).toBe("M4 4h1v1h-1zM5 5h1v1h-1z");
    expect(qrPath([[false]], 4)).toBe("");
  });
});

describe("security code", () => {
  it("is the same on both ends and is SHA-256 of the associated data in groups of 5 digits", async () => {
    const [ik1, ik2, jk1, jk2] = [KeyPair.generate("X448"), KeyPair.generate("X448"), KeyPair.generate("X448"), KeyPair.generate("X448")];
    const joinerKeys = x3dhJoiner(jk1.private, jk2.private, { k1: ik1.public, k2: ik2.public });
    const joiner = initJoinerRatchet(joinerKeys, ik2.public, 2);
    const [enc] = await joiner.encrypt(new Uint8Array([1, 2, 3]), 100);
    const initiatorKeys = x3dhInitiator(ik1.private, ik2.private, new E2ERatchetParams(2, jk1.public, jk2.public));
    const [, initiator] = await Ratchet.initInitiator(initiatorKeys, ik2, 2).decrypt(enc);
    const a = securityCode({ k: ratchetToJSON(joiner) });
    const b = securityCode({ k: ratchetToJSON(initiator) });
    expect(a).toBe(b);
    const hash = createHash("sha256").update(Buffer.concat([jk1.public.raw, ik1.public.raw])).digest("hex");
    const digits = BigInt("0x" + hash).toString();
    expect(a).toBe(digits.match(/.{1,5}/g)!.join(" "));
    expect(securityCode({ k: null })).toBeNull();
  });
});

describe("exported profile", () => {
  it("opens with its passphrase only", async () => {
    const file = await exportProfile("correct horse", JSON.stringify({ f: 1, n: "Alice", c: [] }));
    expect(new TextDecoder().decode(new Uint8Array(file).slice(0, 15))).toBe("HUSHWIRE-APP-1\n");
    expect(await importProfile("correct horse", file)).toEqual({ f: 1, n: "Alice", c: [] });
    await expect(importProfile("correct horsf", file)).rejects.toThrow("the profile does not open with this passphrase");
    const flipped = new Uint8Array(file.slice(0));
    flipped[20]! ^= 1; // the salt is authenticated too
    await expect(importProfile("correct horse", flipped.buffer)).rejects.toThrow("does not open");
    await expect(importProfile("correct horse", new TextEncoder().encode("{}").buffer)).rejects.toThrow("not an exported Hushwire profile");
    await expect(exportProfile("short", "{}")).rejects.toThrow("at least 8 characters");
  });
});
