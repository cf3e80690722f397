/**
 * Short links (agent/shortlinks.ts, the widget's "short" module) against the vectors the Python
 * suite pins (tests/vectors/agent_shortlinks.json): the reference's text forms, the preset
 * shorthand, the key derivation, and the contact link data byte for byte, plus each check a
 * tampered blob must fail, and LGET over a client.
 */

import { describe, expect, it } from "vitest";

import { concat, encode, toHex, utf8 } from "../src/encoding.js";
import { sha256 } from "../src/crypto/hash.js";
import { PrivateKey } from "../src/crypto/keys.js";
import { privateKeyFromDer } from "../src/crypto/pkcs8.js";
import { cbEncrypt, sbKey } from "../src/crypto/nacl.js";
import { parseSMPServer } from "../src/smp/address.js";
import type { BrokerMsg, Command } from "../src/smp/commands.js";
import { SMPCommandError } from "../src/smp/client/errors.js";
import { LinkError, parseLink } from "../src/agent/links.js";
import {
  checkLinkServer,
  contactLinkKdf,
  decodeFixedLinkData,
  decryptContactLinkData,
  formatShortLink,
  invitationLinkKdf,
  isShortLink,
  linkSMPServer,
  NO_LINK,
  parseShortLink,
  presetServers,
  resolveContactLink,
  restoreShortLink,
  type ShortLink,
} from "../src/agent/shortlinks.js";
import { h, loadVectors } from "./vectors.js";

interface UriForm {
  source: string;
  text: string;
  scheme: string;
  type: string;
  server: { hosts: string[]; port: number | null; key_hash: string };
  link_id: string | null;
  link_key: string;
}

interface Vectors {
  uri_forms: UriForm[];
  shorten_restore: { source: string; preset: string; full: string; short: string }[];
  kdf: Record<string, string>;
  contact_link: Record<string, string> & { enc_user_length: number };
}

const V = loadVectors<Vectors>("agent_shortlinks.json");
const C = V.contact_link;
const FIXED_PAD = 2008;
const USER_PAD = 13784;

/** A blob as the owner makes it: nonce ‖ secretbox(pad(shortString(sig) ‖ data)). */
function blob(boxKey: Uint8Array, nonce: Uint8Array, sig: Uint8Array, data: Uint8Array, padTo: number): Uint8Array {
  const signed = concat(encode((w) => w.shortString(sig)), data);
  return concat(nonce, cbEncrypt(sbKey(boxKey), nonce, signed, padTo));
}

const link = (): ShortLink => parseShortLink(C.link!);
const encUser = (): Uint8Array => blob(h(C.box_key!), h(C.user_nonce!), h(C.user_signature!), h(C.user_link_data!), USER_PAD);

describe("text forms (ConnectionRequestTests.hs)", () => {
  it.each(V.uri_forms)("$source", (c) => {
    const l = parseShortLink(c.text);
    expect(l.scheme).toBe(c.scheme);
    expect(l.server.hosts).toEqual(c.server.hosts);
    expect(l.server.port).toBe(c.server.port);
    expect(toHex(l.server.keyHash)).toBe(c.server.key_hash);
    expect(toHex(l.linkKey)).toBe(c.link_key);
    expect(l.linkId === null ? null : toHex(l.linkId)).toBe(c.link_id);
    expect(l.type).toBe(c.type === "i" ? null : c.type);
    expect(formatShortLink(l)).toBe(c.text);
    expect(isShortLink(c.text)).toBe(true);
  });

  it.each(V.shorten_restore)("restore $source", (c) => {
    const preset = [parseSMPServer(c.preset)];
    const short = parseShortLink(c.short);
    expect(() => linkSMPServer(short.server)).toThrow(/identity/);
    expect(restoreShortLink(short, preset)).toEqual(parseShortLink(c.full));
    expect(linkSMPServer(restoreShortLink(short, preset).server)).toEqual(preset[0]);
  });

  it("restores an app's preset shorthand", () => {
    const full = restoreShortLink(parseShortLink("https://smp8.simplex.im/a#" + "A".repeat(43)));
    expect(linkSMPServer(full.server)).toEqual(presetServers()[0]);
    expect(full.server.hosts).toEqual(["smp8.simplex.im", "beccx4yfxxbvyhqypaavemqurytl6hozr47wfc7uuecacjqdvwpw2xid.onion"]);
    const other = parseShortLink("https://relay.example/a#" + "A".repeat(43));
    expect(restoreShortLink(other)).toEqual(other);
  });

  it.each([
    ["https://smp.simplex.im/A#" + "A".repeat(43), true],
    ["https://smp.simplex.im/c/#" + "A".repeat(43), true],
    ["https://smp.simplex.im/r#" + "A".repeat(43) + "=", true],
    ["simplex:/a#" + "A".repeat(43), false],
    ["https://smp.simplex.im/I#" + "A".repeat(32) + "/" + "A".repeat(43), false],
    ["https://smp.simplex.im/x#" + "A".repeat(43), false],
    ["https://smp.simplex.im/a#" + "A".repeat(42), false],
    ["https://smp.simplex.im/i#" + "A".repeat(43), false],
    ["smp://x@y/a#" + "A".repeat(43), false],
  ] as const)("grammar %s", (text, ok) => {
    if (ok) expect(() => parseShortLink(text)).not.toThrow();
    else expect(() => parseShortLink(text)).toThrow(LinkError);
  });

  it("full links are not short links", () => {
    expect(isShortLink("simplex:/contact#/?v=2-7&smp=x")).toBe(false);
    expect(isShortLink("https://simplex.chat/invitation#/?v=2")).toBe(false);
  });
});

describe("key derivation", () => {
  it("matches the vector", () => {
    const [id, box] = contactLinkKdf(h(V.kdf.link_key!));
    expect(toHex(id)).toBe(V.kdf.contact_link_id);
    expect(toHex(box)).toBe(V.kdf.contact_box_key);
    expect(toHex(invitationLinkKdf(h(V.kdf.link_key!)))).toBe(V.kdf.invitation_box_key);
    const [cid, cbox] = contactLinkKdf(h(C.link_key!));
    expect(toHex(cid)).toBe(C.link_id);
    expect(toHex(cbox)).toBe(C.box_key);
  });
});

describe("contact link data", () => {
  it("the blobs are the vector's bytes", () => {
    const fixed = blob(h(C.box_key!), h(C.fixed_nonce!), h(C.fixed_signature!), h(C.fixed_data!), FIXED_PAD);
    expect(toHex(fixed)).toBe(C.enc_fixed);
    const user = encUser();
    expect(user.length).toBe(C.enc_user_length);
    expect(toHex(sha256(user))).toBe(C.enc_user_sha256);
  });

  it("opens, verifies and gives the full contact address", () => {
    const { fixed, user } = decryptContactLinkData(link(), { fixed: h(C.enc_fixed!), user: encUser() });
    expect(toHex(fixed.rootKey.raw)).toBe(toHex(privateKeyFromDer(pkcs8(h(C.root_seed!))).public().raw));
    expect(new TextDecoder().decode(user.userData)).toBe(C.user_data);
    expect(user.direct).toBe(true);
    const req = checkLinkServer(link(), fixed, h(C.sender_id!));
    const q = req.queues[0]!;
    expect(req.mode).toBe("contact");
    expect(toHex(q.senderId)).toBe(C.sender_id);
    expect(toHex(q.dhPublicKey.toDer())).toBe(C.queue_dh_der);
    expect(linkSMPServer(link().server)).toEqual(parseSMPServer(C.server!));
    const again = parseLink(req.toUri());
    expect(toHex(again.queues[0]!.senderId)).toBe(C.sender_id);
    expect(again.queues[0]!.server).toEqual(q.server);
    expect(() => checkLinkServer(link(), fixed, new Uint8Array(24).fill(120))).toThrow("different address");
  });

  it("a relay on another host than the link's is a different address", () => {
    const { fixed } = decryptContactLinkData(link(), { fixed: h(C.enc_fixed!), user: encUser() });
    const moved = { ...link(), server: { ...link().server, hosts: ["relay.other"] } };
    expect(() => checkLinkServer(moved, fixed, h(C.sender_id!))).toThrow("different address");
  });

  it("fails each check", () => {
    const box = h(C.box_key!);
    const fixed = h(C.enc_fixed!);
    const open = (f: Uint8Array, u: Uint8Array, l = link()): unknown => decryptContactLinkData(l, { fixed: f, user: u });
    expect(() => open(fixed, encUser(), { ...link(), linkKey: new Uint8Array(32) })).toThrow("link data: cannot decrypt");
    const flipped = fixed.slice();
    flipped[30]! ^= 1;
    expect(() => open(flipped, encUser())).toThrow("link data: cannot decrypt");
    const stranger = PrivateKey.generate("Ed25519");
    const md = h(C.user_link_data!);
    expect(() => open(fixed, blob(box, h(C.user_nonce!), stranger.sign(md), md, USER_PAD))).toThrow("user data signature");
    const fd = h(C.fixed_data!);
    expect(() => open(blob(box, h(C.fixed_nonce!), stranger.sign(fd), fd, FIXED_PAD), encUser())).toThrow("link data signature");
    // other fixed data (another root key) under the right box key: its hash is not the link key
    const other = concat(fd.subarray(0, 5), stranger.public().toDer(), fd.subarray(5 + 44));
    expect(decodeFixedLinkData(other).rootKey.equals(stranger.public())).toBe(true);
    expect(() => open(blob(box, h(C.fixed_nonce!), stranger.sign(other), other, FIXED_PAD), encUser())).toThrow("link data hash");
    expect(() => open(fixed.subarray(0, 10), encUser())).toThrow("too short");
  });
});

function pkcs8(seed: Uint8Array): Uint8Array {
  return concat(h("302e020100300506032b657004220420"), seed);
}

describe("LGET", () => {
  function client(reply: BrokerMsg, version = 15): { version: number; sent: [Uint8Array, Command][]; request: (e: Uint8Array, c: Command) => Promise<BrokerMsg> } {
    const sent: [Uint8Array, Command][] = [];
    return { version, sent, request: async (e, c) => (sent.push([e, c]), reply) };
  }

  it("asks for the derived link id without a signature and joins what it verified", async () => {
    const c = client({ tag: "LNK", senderId: h(C.sender_id!), data: { fixed: h(C.enc_fixed!), user: encUser() } });
    const { request, userData } = await resolveContactLink(c, link());
    expect(c.sent.map(([e, cmd]) => [toHex(e), cmd.tag])).toEqual([[C.link_id, "LGET"]]);
    expect(toHex(request.queues[0]!.senderId)).toBe(C.sender_id);
    expect(userData).toEqual(utf8(C.user_data!));
  });

  it("refuses old relays, invitations and another sender id", async () => {
    const lnk: BrokerMsg = { tag: "LNK", senderId: new Uint8Array(24), data: { fixed: h(C.enc_fixed!), user: encUser() } };
    await expect(resolveContactLink(client(lnk, 14), link())).rejects.toThrow("short links need v15");
    const inv = parseShortLink(V.uri_forms[3]!.text);
    await expect(resolveContactLink(client(lnk), inv)).rejects.toThrow("one-time invitation");
    await expect(resolveContactLink(client(lnk), link())).rejects.toThrow("different address");
    await expect(resolveContactLink(client({ tag: "OK" }), link())).rejects.toThrow("LGET answered with OK");
    const gone = { version: 15, request: async (): Promise<BrokerMsg> => Promise.reject(new SMPCommandError({ tag: "AUTH" })) };
    await expect(resolveContactLink(gone, link())).rejects.toThrow(NO_LINK);
    // direct = F and no relays: signed by the root key, yet not a 1:1 address
    const md = h(C.user_link_data!);
    md[5] = 0x46;
    const root = privateKeyFromDer(pkcs8(h(C.root_seed!)));
    const indirect = blob(h(C.box_key!), h(C.user_nonce!), root.sign(md), md, USER_PAD);
    const lnk2: BrokerMsg = { tag: "LNK", senderId: h(C.sender_id!), data: { fixed: h(C.enc_fixed!), user: indirect } };
    await expect(resolveContactLink(client(lnk2), link())).rejects.toThrow("not a direct contact address");
  });
});

