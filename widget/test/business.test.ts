/**
 * business.ts: the group decoders against chat_groups.json (the cases the Python suite pins),
 * and the customer's side of a business chat with exact JSON in and the exact result out:
 * the host's and forwarded operators' messages, duplicates and forged forwards refused,
 * live messages as typing, the end, and the state across a reload.
 */

import { describe, expect, it } from "vitest";

import { utf8 } from "../src/encoding.js";
import { DecodeError } from "../src/errors.js";
import { parseChatBody } from "../src/chat.js";
import {
  BusinessChat,
  forwardFromJson,
  forwardToJson,
  groupLinkInvitationFromJson,
  groupLinkInvitationToJson,
  linkInvitationOf,
  roleRank,
  type GroupOut,
} from "../src/business.js";
import { parseLink } from "../src/agent/links.js";
import { Visitor } from "../src/agent/visitor.js";
import { KeyPair } from "../src/crypto/keys.js";
import { parseReply, parseRequest } from "../src/rpc.js";
import { WorkerService } from "../src/worker/service.js";
import "../src/modules/restore.js"; // the widget's "restore" module: Visitor.load reads states with it
import { h, loadVectors } from "./vectors.js";

interface GroupsFile {
  cases: { name: string; json: string; kind: string }[];
}

const V = loadVectors<GroupsFile>("chat_groups.json");
const vector = (name: string): string => V.cases.find((c) => c.name === name)!.json;
const paramsText = (json: string, key?: string): string => {
  const p = (JSON.parse(json) as { params: Record<string, unknown> }).params;
  return JSON.stringify(key === undefined ? p : p[key]);
};

describe("decoders against chat_groups.json", () => {
  for (const name of ["x.grp.link.inv", "x.grp.link.inv business"]) {
    it(`${name}: decodes and encodes back to the same JSON`, () => {
      const [m] = parseChatBody(utf8(vector(name)));
      expect(m!.event).toBe("x.grp.link.inv");
      const inv = groupLinkInvitationFromJson(m!.params.groupLinkInvitation);
      expect(inv.fromMember).toEqual({ memberId: h("01020304"), memberRole: "owner" });
      expect(inv.invitedMember).toEqual({ memberId: h("05060708"), memberRole: "member" });
      expect(inv.accepted).toBe("accepted");
      // same key order as the Python encoder wrote into the vector file
      expect(JSON.stringify(groupLinkInvitationToJson(inv))).toBe(paramsText(vector(name), "groupLinkInvitation"));
    });
  }

  it("x.grp.link.inv business: the business and the group's name", () => {
    const inv = linkInvitationOf(utf8(vector("x.grp.link.inv business")))!;
    expect(inv.business).toEqual({ chatType: "business", businessId: "AQIDBA==", customerId: "BQYHCA==" });
    expect(inv.groupProfile).toEqual({ displayName: "shop", fullName: "The Shop" });
    expect(inv.groupSize).toBe(1);
    expect(linkInvitationOf(utf8(vector("x.grp.link.inv")))!.business).toBeUndefined();
    expect(linkInvitationOf(utf8('{"v":"1-16","event":"x.info","params":{"profile":{"displayName":"a","fullName":""}}}'))).toBeNull();
  });

  for (const name of ["x.grp.msg.forward", "x.grp.msg.forward with fraction"]) {
    it(`${name}: decodes and encodes back to the same JSON`, () => {
      const [m] = parseChatBody(utf8(vector(name)));
      const f = forwardFromJson(m!.params);
      expect(f.memberId).toEqual(h("05060708"));
      expect(f.memberName).toBe("bob");
      expect(f.msg.msgId).toEqual(h("090a0b0c"));
      expect(JSON.stringify(forwardToJson(f))).toBe(paramsText(vector(name)));
    });
  }

  it("refuses what the Python decoder refuses", () => {
    const fwd = JSON.parse(paramsText(vector("x.grp.msg.forward"))) as Record<string, unknown>;
    const bad = (change: Record<string, unknown>): unknown => () => forwardFromJson({ ...fwd, ...change } as never);
    expect(bad({ msgTs: "2025-01-01 00:00:00" })).toThrow(DecodeError);
    expect(bad({ msgTs: 5 })).toThrow(DecodeError);
    expect(bad({ memberName: "x".repeat(1025) })).toThrow(DecodeError);
    expect(bad({ memberId: "A".repeat(88) })).toThrow(DecodeError); // 66 bytes
    expect(bad({ msg: { ...(fwd.msg as object), event: "x.grp.msg.forward" } })).toThrow("must not be a forward");
    expect(bad({ msg: "{}" })).toThrow(DecodeError);
    const inv = JSON.parse(paramsText(vector("x.grp.link.inv"), "groupLinkInvitation")) as Record<string, unknown>;
    expect(() => groupLinkInvitationFromJson({ ...inv, accepted: "maybe" })).toThrow("unknown value");
    expect(() => groupLinkInvitationFromJson({ ...inv, groupSize: -1 })).toThrow(DecodeError);
    expect(() => groupLinkInvitationFromJson({ ...inv, fromMemberName: null })).toThrow(DecodeError);
    expect(() => groupLinkInvitationFromJson({ ...inv, fromMember: { memberId: "AQIDBA==" } })).toThrow(DecodeError);
    expect(roleRank("admin")).toBeGreaterThan(roleRank("member"));
    expect(roleRank("superuser")).toBe(-1);
  });
});

// ------------------------------------------------------------------------- the customer's chat

const HOST = "AQIDBA=="; // owner, the business
const ME = "BQYHCA=="; // the visitor, the customer
const ALICE = "CQoLDA=="; // operators
const BOB = "DQ4PEA==";

function linkInv(hostRole = "owner", business = true): Uint8Array {
  const inv = {
    fromMember: { memberId: HOST, memberRole: hostRole },
    fromMemberName: "Tiny Bakery",
    invitedMember: { memberId: ME, memberRole: "member" },
    groupProfile: { displayName: "Tiny Bakery", fullName: "Tiny Bakery Ltd" },
    accepted: "accepted",
    ...(business ? { business: { chatType: "business", businessId: HOST, customerId: ME } } : {}),
    groupSize: 1,
  };
  return utf8(JSON.stringify({ v: "1-16", event: "x.grp.link.inv", params: { groupLinkInvitation: inv } }));
}

const text = (t: string, msgId: string, extra = ""): string => `{"v":"1-16","msgId":"${msgId}","event":"x.msg.new","params":{"content":{"type":"text","text":${JSON.stringify(t)}}${extra}}}`;
const fwd = (author: string | null, name: string | null, inner: string): string =>
  `{"v":"1-16","event":"x.grp.msg.forward","params":{${author === null ? "" : `"memberId":"${author}",`}${name === null ? "" : `"memberName":${JSON.stringify(name)},`}"msg":${inner},"msgTs":"2026-12-03T22:00:00.5Z"}}`;
const update = (msgId: string, t: string, live: boolean): string => `{"v":"1-16","event":"x.msg.update","params":{"msgId":"${msgId}","content":{"type":"text","text":${JSON.stringify(t)}}${live ? ',"live":true' : ""}}}`;

function chat(hostRole = "owner"): [BusinessChat, (json: string) => GroupOut[]] {
  const c = BusinessChat.open(linkInv(hostRole));
  return [c, (json) => c.receive(utf8(json))];
}

describe("BusinessChat", () => {
  it("opens from the host's x.grp.link.inv, titled with the business's name", () => {
    const c = BusinessChat.open(linkInv());
    expect(c.title).toBe("Tiny Bakery");
    expect(c.isBusiness).toBe(true);
    expect(BusinessChat.open(linkInv("owner", false)).isBusiness).toBe(false);
    expect(() => BusinessChat.open(utf8('{"v":"1-16","event":"x.info","params":{"profile":{"displayName":"a","fullName":""}}}'))).toThrow("not a group link invitation");
  });

  it("shows the host's messages and operators' forwarded ones, each once", () => {
    const [c, rx] = chat();
    expect(rx(text("Hello from the bakery", "AAAAAAAAAAAAAAAB"))).toEqual([{ kind: "message", text: "Hello from the bakery", from: null }]);
    // operators: without memberName under the business's name, with it under the operator's
    expect(rx(fwd(ALICE, null, text("We have rye today", "AAAAAAAAAAAAAAAC")))).toEqual([{ kind: "message", text: "We have rye today", from: null }]);
    expect(rx(fwd(BOB, "Bob", text("And sourdough", "AAAAAAAAAAAAAAAC")))).toEqual([{ kind: "message", text: "And sourdough", from: "Bob" }]);
    // the team inbox with operator names off forwards under the business's name
    expect(rx(fwd(BOB, "Tiny Bakery", text("And rolls", "AAAAAAAAAAAAAAAF")))).toEqual([{ kind: "message", text: "And rolls", from: null }]);
    // the same (author, msgId) again, directly or forwarded: dropped
    expect(rx(fwd(ALICE, null, text("We have rye today", "AAAAAAAAAAAAAAAC")))).toEqual([]);
    expect(rx(text("Hello from the bakery", "AAAAAAAAAAAAAAAB"))).toEqual([]);
    expect(c.refused).toEqual([
      { event: "x.msg.new", reason: "duplicate" },
      { event: "x.msg.new", reason: "duplicate" },
    ]);
    // a batch: every element
    expect(rx(`[${fwd(ALICE, "", text("one", "AAAAAAAAAAAAAAAD"))},${text("two", "AAAAAAAAAAAAAAAE")}]`)).toEqual([
      { kind: "message", text: "one", from: null },
      { kind: "message", text: "two", from: null },
    ]);
  });

  it("refuses forged forwards and shows nothing of them", () => {
    const [c, rx] = chat();
    expect(rx(fwd(ME, "me", text("I said this?", "AAAAAAAAAAAAAAAB")))).toEqual([]);
    expect(rx(fwd(HOST, "host", text("host via itself", "AAAAAAAAAAAAAAAB")))).toEqual([]);
    expect(rx(fwd(null, null, text("from a channel", "AAAAAAAAAAAAAAAB")))).toEqual([]);
    expect(rx(fwd(ALICE, "a", '{"v":"1-16","event":"x.grp.mem.intro","params":{"memberInfo":{"memberId":"AQIDBA==","memberRole":"admin","v":"1-16","profile":{"displayName":"x","fullName":""}}}}'))).toEqual([]);
    expect(rx(fwd(ALICE, "a", fwd(BOB, "b", text("nested", "AAAAAAAAAAAAAAAB"))))).toEqual([]);
    expect(c.refused).toEqual([
      { event: "x.grp.msg.forward", reason: "forged author" },
      { event: "x.grp.msg.forward", reason: "forged author" },
      { event: "x.grp.msg.forward", reason: "no author" },
      { event: "x.grp.mem.intro", reason: "not forwardable" },
      { event: "x.grp.msg.forward", reason: "malformed" },
    ]);
    // the refused ones did not take their msgIds: the real message still shows
    expect(rx(fwd(ALICE, null, text("real", "AAAAAAAAAAAAAAAB")))).toEqual([{ kind: "message", text: "real", from: null }]);
  });

  it("takes no forward from a host below admin", () => {
    const [c, rx] = chat("member");
    expect(rx(fwd(ALICE, null, text("hi", "AAAAAAAAAAAAAAAB")))).toEqual([]);
    expect(c.refused).toEqual([{ event: "x.grp.msg.forward", reason: "the host is not an admin" }]);
    expect(rx(text("direct", "AAAAAAAAAAAAAAAB"))).toEqual([{ kind: "message", text: "direct", from: null }]);
  });

  it("shows a live message as typing, then the message once it is final", () => {
    const [, rx] = chat();
    expect(rx(fwd(ALICE, "Alice", text("Hel", "AAAAAAAAAAAAAAAB", ',"live":true')))).toEqual([{ kind: "typing", text: "Hel" }]);
    expect(rx(fwd(ALICE, "Alice", update("AAAAAAAAAAAAAAAB", "Hello th", true)))).toEqual([{ kind: "typing", text: "Hello th" }]);
    // someone else's update of that msgId is not Alice's message
    expect(rx(fwd(BOB, "Bob", update("AAAAAAAAAAAAAAAB", "hijacked", false)))).toEqual([]);
    expect(rx(fwd(ALICE, "Alice", update("AAAAAAAAAAAAAAAB", "Hello there", false)))).toEqual([{ kind: "message", text: "Hello there", from: "Alice" }]);
    // done: a later update is an edit, not shown
    expect(rx(fwd(ALICE, "Alice", update("AAAAAAAAAAAAAAAB", "edited", false)))).toEqual([]);
    // a live message abandoned empty stops the typing
    expect(rx(text("x", "AAAAAAAAAAAAAAAC", ',"live":true'))).toEqual([{ kind: "typing", text: "x" }]);
    expect(rx(update("AAAAAAAAAAAAAAAC", "", false))).toEqual([{ kind: "typing", text: "" }]);
    // the team inbox's typing: an empty live message ("…"), then its final text or its deletion
    expect(rx(fwd(BOB, "Tiny Bakery", text("", "AAAAAAAAAAAAAAAD", ',"live":true')))).toEqual([{ kind: "typing", text: "\u2026" }]);
    expect(rx(fwd(ALICE, "Tiny Bakery", '{"v":"1-16","event":"x.msg.del","params":{"msgId":"AAAAAAAAAAAAAAAD"}}'))).toEqual([]);
    expect(rx(fwd(BOB, "Tiny Bakery", '{"v":"1-16","event":"x.msg.del","params":{"msgId":"AAAAAAAAAAAAAAAD"}}'))).toEqual([{ kind: "typing", text: "" }]);
    expect(rx(text("", "AAAAAAAAAAAAAAAE", ',"live":true'))).toEqual([{ kind: "typing", text: "\u2026" }]);
    expect(rx(update("AAAAAAAAAAAAAAAE", "Sure, 5 pm works.", false))).toEqual([{ kind: "message", text: "Sure, 5 pm works.", from: null }]);
  });

  it("ends when the host deletes the group, removes the visitor or leaves; not for others", () => {
    const ended = (json: string): GroupOut[] => chat()[1](json);
    expect(ended('{"v":"1-16","event":"x.grp.del","params":{}}')).toEqual([{ kind: "ended" }]);
    expect(ended('{"v":"1-16","event":"x.grp.leave","params":{}}')).toEqual([{ kind: "ended" }]);
    expect(ended(`{"v":"1-16","event":"x.grp.mem.del","params":{"memberId":"${ME}"}}`)).toEqual([{ kind: "ended" }]);
    expect(ended(`{"v":"1-16","event":"x.grp.mem.del","params":{"memberId":"${ALICE}"}}`)).toEqual([]);
    expect(ended(fwd(ALICE, "Alice", '{"v":"1-16","event":"x.grp.leave","params":{}}'))).toEqual([]);
    expect(ended(fwd(ALICE, "Alice", '{"v":"1-16","event":"x.grp.del","params":{}}'))).toEqual([]);
    // introductions and announcements: ignored, never answered
    expect(ended('{"v":"1-16","event":"x.grp.link.mem","params":{"profile":{"displayName":"host","fullName":""}}}')).toEqual([]);
    expect(ended(`{"v":"1-16","event":"x.grp.mem.new","params":{"memberInfo":{"memberId":"${ALICE}","memberRole":"admin","profile":{"displayName":"Alice","fullName":""}}}}`)).toEqual([]);
  });

  it("carries hostile text and names as they are (the UI renders text)", () => {
    const [, rx] = chat();
    const evil = "<img src=x onerror=alert(1)>";
    expect(rx(fwd(ALICE, "<b>Alice</b>", text(evil, "AAAAAAAAAAAAAAAB")))).toEqual([{ kind: "message", text: evil, from: "<b>Alice</b>" }]);
    // lone surrogates become U+FFFD; names are cut to 100 characters
    expect(rx(fwd(BOB, "B".repeat(300), text("\ud800", "AAAAAAAAAAAAAAAC")))).toEqual([{ kind: "message", text: "\ufffd", from: "B".repeat(100) }]);
  });

  it("leaves with x.grp.leave", () => {
    expect(new TextDecoder().decode(chat()[0].leave())).toBe('{"v":"1-16","event":"x.grp.leave","params":{}}');
  });

  it("keeps what it has seen across a reload (toJSON / fromJSON)", () => {
    const [c, rx] = chat();
    rx(fwd(ALICE, null, text("seen", "AAAAAAAAAAAAAAAB")));
    rx(fwd(ALICE, "Alice", text("typing", "AAAAAAAAAAAAAAAC", ',"live":true')));
    const again = BusinessChat.fromJSON(JSON.parse(JSON.stringify(c)));
    expect(again.title).toBe("Tiny Bakery");
    expect(again.receive(utf8(fwd(ALICE, null, text("seen", "AAAAAAAAAAAAAAAB"))))).toEqual([]);
    expect(again.receive(utf8(fwd(ALICE, "Alice", update("AAAAAAAAAAAAAAAC", "done", false))))).toEqual([{ kind: "message", text: "done", from: "Alice" }]);
    expect(() => BusinessChat.fromJSON({ ...(JSON.parse(JSON.stringify(c)) as object), h: [HOST] })).toThrow("invalid group state");
    expect(() => BusinessChat.fromJSON(null)).toThrow(DecodeError);
  });
});

// ------------------------------------------------------------------------- the worker's hand-over

describe("a sealed business session restored by a worker without the module", () => {
  it("is returned to the page, then handed over unchanged (upgrade), without connecting", async () => {
    const contact = loadVectors<{ contact_link: string }>("agent_links.json").contact_link;
    // a visitor whose invitation is on its way (no relay: every command succeeds)
    const srvDh = KeyPair.generate("X25519");
    const client = {
      createQueue: async () => ({ tag: "IDS" as const, rcvId: new Uint8Array(24).fill(1), sndId: new Uint8Array(24).fill(2), srvDhKey: srvDh.public, queueMode: "M" as const, linkId: null, serviceId: null, serverNtfCreds: null }),
      subscribe: async () => undefined,
      secure: async () => undefined,
      secureSender: async () => undefined,
      send: async () => undefined,
      ack: async () => null,
      delete: async () => undefined,
      on: () => () => undefined,
    };
    const v = new Visitor(client, utf8("info"), () => undefined);
    await v.join(contact);
    expect(parseLink(contact).mode).toBe("contact");
    const group = BusinessChat.open(linkInv());
    const doc = { f: 1, a: contact, c: "aW5mbw==", p: "Tiny Bakery", t: [{ dir: "in", text: "Welcome", msgId: 2, delivered: false }], v: v.state(), g: group, H: [], r: true };
    const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const ct = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: utf8("hushwire session 1") as Uint8Array<ArrayBuffer> }, key, utf8(JSON.stringify(doc)) as Uint8Array<ArrayBuffer>));
    const sealed = new Uint8Array([...iv, ...ct]).buffer;

    const posted: unknown[] = [];
    const sockets: string[] = [];
    const s = new WorkerService(
      (m) => posted.push(m),
      (url) => {
        sockets.push(url);
        throw new Error("no network in this test");
      },
    );
    await s.handle(parseRequest({ id: 1, op: "restore", relayUrl: "ws://127.0.0.1:9/", key, sealed })!);
    expect(posted).toEqual([{ id: 1, ok: true, result: { peer: "Tiny Bakery", transcript: doc.t } }]);
    await new Promise((r) => setTimeout(r, 20));
    expect(posted).toHaveLength(2);
    const up = parseReply(posted[1]);
    expect(up).toEqual({ event: "upgrade", module: "business", key, data: sealed });
    expect(sockets).toEqual([]); // it never connected
    await v.close(false);
  });
});
