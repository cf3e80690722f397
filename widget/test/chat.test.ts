/** chat.ts against chat_messages.json (both directions, byte for byte) and the body forms. */

import { describe, expect, it } from "vitest";

import { toHex, utf8 } from "../src/encoding.js";
import { DecodeError } from "../src/errors.js";
import {
  ChatMessageTooLarge,
  encodeChatMessage,
  encodeConnInfo,
  hushwireProfile,
  interpret,
  parseChatBody,
  parseChatElements,
  profileFromJson,
  profileToJson,
  xContact,
  xDirectDel,
  xInfo,
  xMsgNewText,
  type ChatMessage,
} from "../src/chat.js";
import { h, loadVectors } from "./vectors.js";

interface ChatFile {
  parse: {
    name: string;
    json: string;
    kind: string;
    text?: string;
    msg_id_hex?: string | null;
    profile?: Record<string, unknown>;
    contact_req_id_hex?: string | null;
    exact: boolean;
  }[];
  encode: { name: string; constructor: string; display_name?: string; text?: string; msg_id_hex?: string | null; contact_req_id_hex?: string; bytes: string }[];
}

const V = loadVectors<ChatFile>("chat_messages.json");
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

describe("chat_messages.json", () => {
  it.each(V.parse.map((c) => [c.name, c] as const))("parse %s", (_n, c) => {
    const data = utf8(c.json);
    const msgs = parseChatBody(data);
    expect(msgs).toHaveLength(1);
    const msg = msgs[0]!;
    expect(msg.params).toEqual((JSON.parse(c.json) as { params: unknown }).params);
    if (c.exact) expect(dec(encodeChatMessage(msg))).toBe(c.json);
    const view = interpret(msg);
    expect(view.kind).toBe(c.kind);
    if (view.kind === "XMsgNew") {
      expect(view.text).toBe(c.text);
      expect(view.msgId === null ? null : toHex(view.msgId)).toBe(c.msg_id_hex);
    }
    if (view.kind === "XInfo" || view.kind === "XContact") {
      expect(profileToJson(view.profile)).toEqual(c.profile);
      expect(profileFromJson(c.profile)).toEqual(view.profile);
    }
    if (view.kind === "XContact") {
      expect(view.contactReqId === null ? null : toHex(view.contactReqId)).toBe(c.contact_req_id_hex ?? null);
    }
    if (view.kind === "XUnknown") expect(view.event).toBe(msg.event);
  });

  const construct = (c: ChatFile["encode"][number]): ChatMessage => {
    switch (c.constructor) {
      case "x_info":
        return xInfo({ displayName: c.display_name!, fullName: "" });
      case "x_msg_new_text":
        return xMsgNewText(c.text!, c.msg_id_hex ? h(c.msg_id_hex) : null);
      case "x_direct_del":
        return xDirectDel();
      default:
        return xContact(hushwireProfile(c.display_name!), h(c.contact_req_id_hex!));
    }
  };

  it.each(V.encode.map((c) => [c.name, c] as const))("encode %s", (_n, c) => {
    const msg = construct(c);
    const data = encodeChatMessage(msg);
    expect(dec(data)).toBe(c.bytes);
    expect(parseChatBody(data)).toEqual([msg]);
  });
});

describe("chat bodies", () => {
  it("the 8.4 connInfo body", () => {
    const body = encodeConnInfo(xInfo({ displayName: "test", fullName: "" }));
    expect("I" + dec(body)).toBe('I{"v":"1-16","event":"x.info","params":{"profile":{"displayName":"test","fullName":""}}}');
  });

  it("JSON batches keep good elements beside bad ones", () => {
    const items = parseChatElements(utf8('[{"event":"x.ok","params":{}},{"event":"bad"},{"v":"1-9","event":"x.direct.del","params":{}}]'));
    expect(items).toHaveLength(3);
    expect(items[1]).toBeInstanceOf(DecodeError);
    expect(interpret(items[2] as ChatMessage).kind).toBe("XDirectDel");
    expect(() => parseChatBody(utf8('[{"event":"bad"}]'))).toThrow(DecodeError);
  });

  it("compressed X batch (agent_protocol.json)", () => {
    const P = loadVectors<{ compressed: { bodies: string[]; list_hex: string } }>("agent_protocol.json");
    const body = new Uint8Array([0x58, ...h(P.compressed.list_hex)]);
    const msgs = parseChatBody(body);
    expect(msgs.map((m) => m.event)).toEqual(["x.ok", "x.msg.new"]);
    const v = interpret(msgs[1]!);
    expect(v.kind === "XMsgNew" && v.text!.startsWith("lorem ipsum")).toBe(true);
  });

  it.each([
    ["", "empty"],
    ["=x", "groups"],
    ["hello", "unknown chat message form"],
    ["{", "not JSON"],
    ['{"event":"y.x","params":{}}', "event name"],
    ['{"event":"x.a","params":[]}', "params"],
    ['{"v":"2-1","event":"x.a","params":{}}', "version range"],
    ['{"v":1,"event":"x.a","params":{}}', "bad chat v"],
  ])("bad body %j", (text, message) => {
    expect(() => parseChatBody(utf8(text))).toThrow(message);
  });

  it("bad bytes and typed-view errors", () => {
    expect(() => parseChatBody(new Uint8Array([0x7b, 0xff]))).toThrow("UTF-8");
    expect(() => parseChatBody(new Uint8Array(70000).fill(0x7b))).toThrow("limit");
    expect(() => interpret(parseChatBody(utf8('{"event":"x.msg.new","params":{"content":{"type":"text"}}}'))[0]!)).toThrow(DecodeError);
    expect(() => interpret(parseChatBody(utf8('{"event":"x.info","params":{"profile":{"displayName":"a"}}}'))[0]!)).toThrow("fullName");
  });

  it("text is data: markup, quotes, non-ASCII and lone surrogates", () => {
    const m = xMsgNewText('<img src=x onerror="alert(1)">\u00e9\ud83d\ude00\ud800', new Uint8Array(12));
    const data = encodeChatMessage(m);
    const back = interpret(parseChatBody(data)[0]!);
    expect(back.kind === "XMsgNew" && back.text).toBe('<img src=x onerror="alert(1)">\u00e9\ud83d\ude00\ufffd');
    expect(xMsgNewText("x").msgId!.length).toBe(12);
    expect(() => xMsgNewText("")).toThrow(RangeError);
    expect(() => encodeChatMessage(xMsgNewText("a".repeat(16000)))).toThrow(ChatMessageTooLarge);
  });
});
