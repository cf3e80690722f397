/**
 * The web app's rooms (src/app/room.ts): the host writes byte for byte what the Python room
 * host writes (../tests/vectors/app_rooms.json, which tests/app/test_app_room_vectors.py runs
 * through the Python GroupHost), and a member reads what a host sends: messages once, history,
 * members, deletions, the end; forged forwards refused.
 */

import { describe, expect, it } from "vitest";

import { base64urlDecode, base64urlEncode, utf8 } from "../src/encoding.js";
import { encodeChatMessage, xMsgNewText } from "../src/chat.js";
import { linkInvitationOf } from "../src/business.js";
import { bodies, MAX_KNOWN, RoomHost, RoomMember, type HostStep } from "../src/app/room.js";
import { loadVectors } from "./vectors.js";

interface Send {
  to: string;
  body: string;
  app?: boolean;
}
interface Step {
  do: "admit" | "connected" | "receive" | "post" | "clear" | "reject";
  member?: string;
  info?: string;
  connInfo?: string;
  body?: string;
  ts?: string;
  text?: string;
  msgId?: string;
  sends?: Send[];
}
interface Vectors {
  room: { name: string; host: string; hostId: string; history: number };
  steps: Step[];
}

const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const sent = (s: HostStep): { to: string; body: string }[] => s.sends.flatMap(([to, msgs]) => bodies(msgs).map((b) => ({ to, body: text(b) })));

/** The room of the vectors, run up to (not including) step `upTo`. */
function run(v: Vectors, upTo = v.steps.length, check = false): RoomHost {
  const host = RoomHost.create(v.room.name, v.room.host, base64urlDecode(v.room.hostId), v.room.history);
  for (const step of v.steps.slice(0, upTo)) {
    const expected = (step.sends ?? []).map(({ to, body }) => ({ to, body }));
    let out: HostStep;
    switch (step.do) {
      case "admit": {
        const inv = host.admit(base64urlDecode(step.member!), utf8(step.info!));
        if (check) expect(text(encodeChatMessage(inv))).toBe(step.connInfo);
        continue;
      }
      case "reject":
        if (check) expect(text(encodeChatMessage(host.reject(base64urlDecode(step.member!))))).toBe(step.connInfo);
        continue;
      case "connected":
        out = host.connected(step.member!);
        break;
      case "receive":
        out = host.receive(step.member!, utf8(step.body!), step.ts!);
        break;
      case "post":
        out = host.post(step.text!, base64urlDecode(step.msgId!), step.ts!);
        break;
      case "clear":
        out = host.clearHistory();
        break;
    }
    if (check) expect(sent(out), step.do).toEqual(expected);
  }
  return host;
}

describe("the room host", () => {
  const v = loadVectors<Vectors>("app_rooms.json");

  it("writes what the Python room host writes", () => {
    expect(v.steps).toHaveLength(12);
    expect(v.steps.flatMap((s) => s.sends ?? []).filter((s) => s.app === true)).toHaveLength(1);
    const host = run(v, v.steps.length, true);
    expect(host.log).toEqual([]);
    expect(host.names()).toEqual(["Lobby (host)", "ada"]);
  });

  it("comes back from its stored state and goes on", () => {
    const host = RoomHost.fromJSON(JSON.parse(JSON.stringify(run(v, 6))));
    const post = v.steps[6]!;
    expect(sent(host.post(post.text!, base64urlDecode(post.msgId!), post.ts!))).toEqual(post.sends);
  });

  it("refuses what a member may not do, and a member that is not connected", () => {
    const host = run(v, 3);
    const ada = "AgICAgICAgICAgIC";
    const before = JSON.stringify(host);
    for (const body of [
      '{"v":"1-16","event":"x.grp.del","params":{}}',
      '{"v":"1-16","event":"x.grp.mem.del","params":{"memberId":"AQEBAQEBAQEBAQEB"}}',
      '{"v":"1-16","event":"x.msg.del","params":{"msgId":"AAAAAAAAAAAAAAAA","memberId":"AQEBAQEBAQEBAQEB"}}',
      '{"v":"1-16","event":"x.grp.msg.forward","params":{"memberId":"AQEBAQEBAQEBAQEB","msg":{"v":"1","event":"x.msg.new","params":{"content":{"type":"text","text":"forged"}}},"msgTs":"2026-01-01T00:00:00Z"}}',
      '{"v":"1-16","msgId":"AAAAAAAAAAAAAAAA","event":"x.msg.new","params":{"content":{"type":"text","text":"hi <b>all</b>"}}}',
      "not json",
    ]) {
      expect(host.receive(ada, utf8(body), "2026-01-01T00:00:00.000Z")).toEqual({ sends: [], shown: [], disconnect: [] });
    }
    expect(JSON.stringify(host)).toBe(before);
    expect(host.receive("AwMDAwMDAwMDAwMD", utf8('{"v":"1","msgId":"CCCC","event":"x.msg.new","params":{"content":{"type":"text","text":"x"}}}'), "2026-01-01T00:00:00.000Z").sends).toEqual([]);
  });

  it("sends a joiner only the last messages it keeps for history", () => {
    const host = RoomHost.create("Room", "Ann", new Uint8Array(12).fill(1), 2);
    const joiner = (n: number): Uint8Array => new Uint8Array(12).fill(n);
    host.admit(joiner(2), utf8('{"v":"1-16","event":"x.info","params":{"profile":{"displayName":"b","fullName":""}}}'));
    host.connected("AgICAgICAgICAgIC");
    for (let i = 0; i < 5; i++) host.post(`m${i}`, new Uint8Array(12).fill(10 + i), "2026-01-01T00:00:00.000Z");
    host.admit(joiner(3), utf8('{"v":"1-16","event":"x.info","params":{"profile":{"displayName":"c","fullName":""}}}'));
    const greet = host.connected("AwMDAwMDAwMDAwMD");
    const history = greet.sends.filter(([to]) => to === "AwMDAwMDAwMDAwMD").at(-1)![1];
    expect(history.map((m) => m.event)).toEqual(["x.grp.msg.forward", "x.grp.msg.forward"]);
    expect(history.map((m) => ((m.params.msg as { params: { content: { text: string } } }).params.content.text))).toEqual(["m3", "m4"]);
  });
});

describe("a room member", () => {
  const v = loadVectors<Vectors>("app_rooms.json");
  const bob = (): RoomMember => RoomMember.open(linkInvitationOf(utf8(v.steps[3]!.connInfo!))!);
  const to = (who: string, step: Step): string[] => (step.sends ?? []).filter((s) => s.to === who).map((s) => s.body);

  it("reads what the host sends it: greeting, members, history, messages, deletions", () => {
    const m = bob();
    expect(m.title).toBe("Lobby");
    const out = v.steps.flatMap((s) => to("AwMDAwMDAwMDAwMD", s)).flatMap((b) => m.receive(utf8(b)));
    expect(out).toEqual([
      { kind: "joined", member: "AgICAgICAgICAgIC", name: "ada" },
      { kind: "posted", author: "AgICAgICAgICAgIC", name: "ada", msgId: "AAAAAAAAAAAAAAAA", text: "hi <b>all</b>" },
      { kind: "posted", author: "AQEBAQEBAQEBAQEB", name: "Lobby", msgId: "BAQEBAQEBAQEBAQE", text: "from the host" },
      { kind: "deleted", author: "AgICAgICAgICAgIC", msgId: "AAAAAAAAAAAAAAAA" },
    ]);
    expect(m.names()).toEqual(["Lobby (host)", "ada"]);
    // each message once: the same bodies again show nothing new
    const again = v.steps.flatMap((s) => to("AwMDAwMDAwMDAwMD", s)).flatMap((b) => m.receive(utf8(b)));
    expect(again.filter((o) => o.kind === "posted" || o.kind === "joined")).toEqual([]);
    const restored = RoomMember.fromJSON(JSON.parse(JSON.stringify(m)));
    expect(restored.names()).toEqual(m.names());
    expect(restored.receive(utf8(to("AwMDAwMDAwMDAwMD", v.steps[6]!)[0]!))).toEqual([]);
  });

  it("sees a member leave, a clear, and the room's end; refuses forged forwards", () => {
    const m = RoomMember.open(linkInvitationOf(utf8(v.steps[0]!.connInfo!))!);
    const out = v.steps.flatMap((s) => to("AgICAgICAgICAgIC", s)).flatMap((b) => m.receive(utf8(b)));
    expect(out.filter((o) => o.kind !== "posted")).toEqual([
      { kind: "joined", member: "AwMDAwMDAwMDAwMD", name: "bob" },
      { kind: "left", member: "AwMDAwMDAwMDAwMD", name: "bob" },
      { kind: "deleted", author: "AwMDAwMDAwMDAwMD", msgId: "BBBBBBBBBBBBBBBB" },
      { kind: "deleted", author: "AQEBAQEBAQEBAQEB", msgId: "BAQEBAQEBAQEBAQE" },
    ]);
    // a forward naming us as author, a forward inside a forward: nothing
    const forged = `{"v":"1-16","event":"x.grp.msg.forward","params":{"memberId":"AgICAgICAgICAgIC","msg":${text(encodeChatMessage(xMsgNewText("me?")))},"msgTs":"2026-01-01T00:00:00Z"}}`;
    expect(m.receive(utf8(forged))).toEqual([]);
    expect(m.receive(utf8('{"v":"1-16","event":"x.grp.del","params":{}}'))).toEqual([{ kind: "ended", why: "the host deleted the room" }]);
  });

  it("keeps at most MAX_KNOWN member records, whatever the host announces", () => {
    const m = bob();
    for (let i = 0; i < MAX_KNOWN + 50; i++) {
      const id = base64urlEncode(new Uint8Array([i >> 8, i & 255, 7, 7]));
      m.receive(utf8(`{"v":"1-16","event":"x.grp.mem.new","params":{"memberInfo":{"memberId":"${id}","memberRole":"member","profile":{"displayName":"m${i}","fullName":""}}}}`));
    }
    expect(m.members.size).toBe(MAX_KNOWN);
  });
});

describe("the room host's records", () => {
  it("forgets members who left once past MAX_KNOWN, never those still in", () => {
    const host = RoomHost.create("Room", "Ann", new Uint8Array(12).fill(1));
    const info = utf8('{"v":"1-16","event":"x.info","params":{"profile":{"displayName":"x","fullName":""}}}');
    const stay = new Uint8Array(12).fill(2);
    host.admit(stay, info);
    host.connected(base64urlEncode(stay));
    for (let i = 0; i < MAX_KNOWN + 20; i++) {
      const id = new Uint8Array(12);
      new DataView(id.buffer).setUint32(0, i + 1000);
      host.admit(id, info);
      host.connected(base64urlEncode(id));
      host.receive(base64urlEncode(id), utf8('{"v":"1-16","event":"x.grp.leave","params":{}}'), "2026-01-01T00:00:00Z");
    }
    expect(host.members.size).toBe(MAX_KNOWN);
    expect(host.members.get(base64urlEncode(stay))?.status).toBe("connected");
  });

  it("after a reload drops a member admitted whose connection never started, and only that one", () => {
    const host = RoomHost.create("Room", "Ann", new Uint8Array(12).fill(1));
    const info = utf8('{"v":"1-16","event":"x.info","params":{"profile":{"displayName":"x","fullName":""}}}');
    const [joined, starting, ghost] = [2, 3, 4].map((n) => new Uint8Array(12).fill(n));
    for (const id of [joined, starting, ghost]) host.admit(id!, info);
    host.connected(base64urlEncode(joined!));
    const back = RoomHost.fromJSON(JSON.parse(JSON.stringify(host)));
    // the room's peers after the reload: the connected member and the one whose join is under way
    const peers = new Set([joined, starting].map((id) => base64urlEncode(id!)));
    expect(back.dropUnstarted((id) => peers.has(id))).toEqual([base64urlEncode(ghost!)]);
    expect([...back.members.keys()]).toEqual([...peers]);
    expect(back.current()).toHaveLength(2);
    // the ghost's redelivered request is admitted afresh under a new id and counted once
    const inv = back.admit(new Uint8Array(12).fill(5), info);
    expect(inv.params.groupLinkInvitation).toMatchObject({ groupSize: 4 });
    expect(back.dropUnstarted(() => true)).toEqual([]);
  });

  it("shows a live message once, with its final text, on the host and on a member", () => {
    const v = loadVectors<Vectors>("app_rooms.json");
    const host = run(v, 5); // ada and bob connected
    const ada = "AgICAgICAgICAgIC";
    const live = (event: string, text: string, isLive: boolean): Uint8Array =>
      utf8(`{"v":"1-16",${event === "x.msg.new" ? '"msgId":"DDDDDDDDDDDDDDDD",' : ""}"event":"${event}","params":{${event === "x.msg.update" ? '"msgId":"DDDDDDDDDDDDDDDD",' : ""}"content":{"type":"text","text":"${text}"}${isLive ? ',"live":true' : ""}}}`);
    const m = RoomMember.open(linkInvitationOf(utf8(v.steps[3]!.connInfo!))!);
    const steps = [host.receive(ada, live("x.msg.new", "", true), "2026-01-01T00:00:00Z"), host.receive(ada, live("x.msg.update", "typ", true), "2026-01-01T00:00:01Z"), host.receive(ada, live("x.msg.update", "typed", false), "2026-01-01T00:00:02Z")];
    expect(steps.map((s) => s.shown)).toEqual([[], [], [{ kind: "posted", author: ada, name: "ada", msgId: "DDDDDDDDDDDDDDDD", text: "typed" }]]);
    const toBob = steps.flatMap((s) => sent(s).filter((x) => x.to === "AwMDAwMDAwMDAwMD").map((x) => x.body));
    expect(toBob).toHaveLength(3);
    const out = toBob.flatMap((b) => m.receive(utf8(b)));
    expect(out).toEqual([{ kind: "posted", author: ada, name: "ada", msgId: "DDDDDDDDDDDDDDDD", text: "typed" }]);
    // the history a newcomer gets holds the final text
    expect(host.log.at(-1)!.msg.params).toEqual({ content: { type: "text", text: "typed" } });
  });
});
