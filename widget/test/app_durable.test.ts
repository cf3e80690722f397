/**
 * Write-ahead (src/worker/durable.ts) in the web app's worker: with a fake page that keeps the
 * sealed profiles in memory and answers `stored(seq)` when the test lets it,
 *
 * - the handshake itself: one sealed state in the page's hands at a time, the states taken
 *   meanwhile coalesced into the newest, waiters released only by the seq that covers them;
 * - two AppServices on a real relay (`.venv/bin/hushwire relay`): no SEND and no ACK leaves
 *   before the page stored the profile that covers it; a write the page cannot make holds
 *   every message back; and a reload from the last profile stored shows every message once and
 *   goes on both ways;
 * - a room hosted by an AppService: a profile that holds a member's message as processed holds
 *   its forwards to the other members too, so a host restored from it sends them.
 */

import { describe, expect, it } from "vitest";

import { parseAppReply, parseAppRequest, type Item } from "../src/app/rpc.js";
import { writeAhead } from "../src/worker/durable.js";
import { openText } from "../src/agent/state_read.js";
import { utf8 } from "../src/encoding.js";
import { appRelay, Page, until } from "./app_page.js";
import { HAVE_RELAY } from "./relay_process.js";

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

/** The page side of the handshake: what was posted, by seq. */
function fakePage(): { posts: [string, number][]; seal: (text: string) => Promise<ArrayBuffer>; post: (data: ArrayBuffer, seq: number) => void } {
  const posts: [string, number][] = [];
  return {
    posts,
    seal: (text) => Promise.resolve(new TextEncoder().encode(text).buffer as ArrayBuffer),
    post: (data, seq) => posts.push([new TextDecoder().decode(data), seq]),
  };
}

describe("write-ahead handshake", () => {
  it("is in the rpc: `sealed` carries its seq, the page answers `stored(seq)`", () => {
    const data = new Uint8Array([1, 2, 3]).buffer;
    expect(parseAppReply({ event: "sealed", data, seq: 7 })).toEqual({ event: "sealed", data, seq: 7 });
    expect(parseAppReply({ event: "sealed", data })).toBeNull();
    expect(parseAppReply({ event: "sealed", data, seq: -1 })).toBeNull();
    expect(parseAppRequest({ id: 0, op: "stored", seq: 4294967296 })).toEqual({ id: 0, op: "stored", seq: 4294967296 });
    expect(parseAppRequest({ id: 0, op: "stored", seq: "1" })).toBeNull();
  });

  it("releases a waiter only when the page stored its state or a newer one, and coalesces what came meanwhile", async () => {
    const page = fakePage();
    const wal = writeAhead(page.seal, page.post);
    const done: string[] = [];
    void wal.write("s1").then(() => done.push("s1"));
    await tick();
    expect(page.posts.map(([t]) => t)).toEqual(["s1"]);
    const seq1 = page.posts[0]![1];
    // s1 is in the page's hands: s2 and s3 wait, and only the newest goes next
    void wal.write("s2").then(() => done.push("s2"));
    void wal.write("s3").then(() => done.push("s3"));
    await tick();
    expect(page.posts.length).toBe(1);
    // a confirmation of another seq (another worker's) releases nothing
    wal.stored(seq1 + 1);
    wal.stored(seq1 - 1);
    await tick();
    expect(done).toEqual([]);
    wal.stored(seq1);
    await tick();
    expect(done).toEqual(["s1"]);
    expect(page.posts).toEqual([["s1", seq1], ["s3", seq1 + 1]]);
    wal.stored(seq1 + 1);
    await tick();
    expect(done).toEqual(["s1", "s2", "s3"]);
    // the same state again is not posted again: its waiter goes on at once
    void wal.write("s3").then(() => done.push("s3 again"));
    await tick();
    expect(done.at(-1)).toBe("s3 again");
    expect(page.posts.length).toBe(2);
  });

  it("a state equal to the one in the page's hands waits for that one's seq", async () => {
    const page = fakePage();
    const wal = writeAhead(page.seal, page.post);
    const done: string[] = [];
    void wal.write("a").then(() => done.push("first"));
    await tick();
    void wal.write("a").then(() => done.push("second"));
    await tick();
    expect(done).toEqual([]);
    wal.stored(page.posts[0]![1]);
    await tick();
    expect(done).toEqual(["first", "second"]);
    expect(page.posts.length).toBe(1);
  });

  it("a state that cannot be sealed is never posted and holds its waiters", async () => {
    const posts: number[] = [];
    const wal = writeAhead(() => Promise.reject(new Error("key refused")), (_d, seq) => posts.push(seq));
    let released = false;
    void wal.write("x").then(() => (released = true));
    void wal.write("y").then(() => (released = true));
    await tick();
    await tick();
    expect(posts).toEqual([]);
    expect(released).toBe(false);
  });
});

describe.runIf(HAVE_RELAY)("the web app's worker, write-ahead, on a real relay", () => {
  const env = appRelay();

  async function pair(): Promise<{ a: Page; b: Page; ab: string; ba: string }> {
    const a = new Page();
    const b = new Page();
    await env.start(a, null);
    await env.start(b, null);
    const inv = (await a.call({ op: "invite" })) as { id: string; link: string };
    const joined = (await b.call({ op: "join", link: inv.link })) as { id: string };
    await until(() => a.connected(inv.id) && b.connected(joined.id), "both connected");
    // the HELLOs are acknowledged too: a message each way shows the connection is settled
    await a.call({ op: "send", contact: inv.id, text: "hello b" });
    await until(() => b.messages(joined.id, "in").length === 1, "hello b");
    return { a, b, ab: inv.id, ba: joined.id };
  }

  it("sends nothing and acknowledges nothing before the page stored the profile that covers it", async () => {
    const { a, b, ab, ba } = await pair();

    // SEND: A's page does not confirm; A's message is encrypted (queued) but does not leave
    a.hold = true;
    let sent = false;
    const call = a.call({ op: "send", contact: ab, text: "held text" }).then(() => (sent = true));
    await until(() => a.held.length > 0, "a sealed profile held back");
    await new Promise((r) => setTimeout(r, 1500));
    expect(b.messages(ba, "in")).toEqual(["hello b"]);
    expect(a.messages(ab, "out")).toEqual(["hello b", "held text"]); // queued, shown with tick 0
    a.release();
    await call;
    expect(sent).toBe(true);
    await until(() => b.messages(ba, "in").length === 2, "the held text, once stored");
    expect(b.messages(ba, "in")).toEqual(["hello b", "held text"]);

    // ACK: A processes B's first message but does not acknowledge it while the page holds the
    // profile, so the relay does not deliver the second one
    await until(() => a.delivered(ab) === 2, "B's receipt of the held text");
    await new Promise((r) => setTimeout(r, 500));
    a.hold = true;
    await b.call({ op: "send", contact: ba, text: "one" });
    await b.call({ op: "send", contact: ba, text: "two" });
    await until(() => a.messages(ab, "in").length === 1, "one");
    await new Promise((r) => setTimeout(r, 1500));
    expect(a.messages(ab, "in")).toEqual(["one"]);
    a.release();
    await until(() => a.messages(ab, "in").length === 2, "two, after the ACK of one");
    expect(a.messages(ab, "in")).toEqual(["one", "two"]);
  }, 90000);

  it("a reload from the last profile stored loses nothing that was sent or acknowledged, shows nothing twice, and goes on", async () => {
    const { a, b, ab, ba } = await pair();
    await until(() => a.delivered(ab) === 1, "B's receipt of hello b");
    await new Promise((r) => setTimeout(r, 500));
    // A's page stops confirming (its writes fail): what B sends now is shown but not acknowledged
    a.hold = true;
    await b.call({ op: "send", contact: ba, text: "during the failure" });
    await until(() => a.messages(ab, "in").length === 1, "the message shown");
    // and what A writes waits
    void a.call({ op: "send", contact: ab, text: "written during the failure" }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 1000));
    expect(b.messages(ba, "in")).toEqual(["hello b"]);

    // the tab is closed: a new worker opens the last profile the page stored
    a.kill();
    const last = a.stored!;
    const a2 = new Page();
    const started = (await env.start(a2, last)) as { contacts: { id: string; items: Item[] }[] };
    const items = started.contacts.find((c) => c.id === ab)!.items;
    expect(items.map((x) => [x.dir, x.text])).toEqual([["out", "hello b"]]);
    // the message that was not acknowledged comes again, once
    await until(() => a2.messages(ab, "in").length === 1, "the message delivered again");
    // B was never told of "written during the failure": it is not in the stored profile either
    await b.call({ op: "send", contact: ba, text: "after the reload" });
    await until(() => a2.messages(ab, "in").length === 2, "after the reload");
    expect(a2.messages(ab, "in")).toEqual(["during the failure", "after the reload"]);
    await a2.call({ op: "send", contact: ab, text: "back" });
    await until(() => b.messages(ba, "in").length === 2, "back");
    expect(b.messages(ba, "in")).toEqual(["hello b", "back"]);
  }, 90000);

  it("a room's host restored from the profile that first holds a member's message forwards it to the others, once", async () => {
    const [host, m1, m2] = [new Page(), new Page(), new Page()];
    for (const p of [host, m1, m2]) await env.start(p, null);
    const room = (await host.call({ op: "createRoom", name: "Durable" })) as { id: string; link: string };
    const j1 = (await m1.call({ op: "join", link: room.link })) as { id: string };
    await until(() => m1.connected(j1.id), "the first member in");
    const j2 = (await m2.call({ op: "join", link: room.link })) as { id: string };
    await until(() => m2.connected(j2.id), "the second member in");
    const members = (p: Page, id: string): string[] => p.events.flatMap((e) => (e.event === "contact" && e.contact.id === id ? [e.contact.members] : [])).at(-1) ?? [];
    await until(() => members(host, room.id).length === 3, "the host admitted both");
    await m1.call({ op: "send", contact: j1.id, text: "warm up" });
    await until(() => m2.messages(j2.id, "in").includes("warm up"), "a first message through the host");
    await new Promise((r) => setTimeout(r, 500));

    // the host's page stores profiles only up to the first that holds the member's message
    host.hold = true;
    await m1.call({ op: "send", contact: j1.id, text: "forward me" });
    const ad = utf8("hushwire app profile 1") as Uint8Array<ArrayBuffer>;
    let holds = false;
    while (!holds) {
      await until(() => host.held.length > 0, "a sealed profile of the host");
      const seq = host.held.shift()!;
      const profile = JSON.stringify(await openText(env.key, ad, host.blobs.get(seq)!, new Error("does not open")));
      holds = profile.includes("forward me");
      host.confirm(seq);
    }
    await new Promise((r) => setTimeout(r, 1000));
    // the host's tab goes before any later profile is stored; a new one opens the last stored
    host.kill();
    const host2 = new Page();
    await env.start(host2, host.stored!);
    await until(() => m2.messages(j2.id, "in").includes("forward me"), "the forward, after the host's reload", 30000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(m2.messages(j2.id, "in").filter((t) => t === "forward me")).toEqual(["forward me"]);
    // the room goes on
    await m2.call({ op: "send", contact: j2.id, text: "still here" });
    await until(() => m1.messages(j1.id, "in").includes("still here"), "a message after the host's reload");
  }, 120000);
});
