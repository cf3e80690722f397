/**
 * The TypeScript visitor against the Python reference:
 *
 * - cross-checks made by a small Python script: a Python joiner's (owner's) confirmation and
 *   message that the TS initiator must decrypt, the TS reply that Python must decrypt, the TS
 *   ratchet state that Python loads byte for byte;
 * - the Node integration test: the real relay (`hushwire relay`, ws:// and TLS) and the echo
 *   bot (`hushwire bot echo`); the worker service (the widget's worker code, with the `ws`
 *   package as WebSocket) joins the bot's contact address, sends three texts (HTML,
 *   non-ASCII), gets the echoes and the receipts, ends the conversation (x.direct.del + DEL);
 *   then both processes get SIGTERM and must exit cleanly.
 */

import { execFileSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { describe, expect, it } from "vitest";
import { WebSocket } from "ws";

import { toHex, utf8, Reader } from "../src/encoding.js";
import { KeyPair } from "../src/crypto/keys.js";
import { E2ERatchetParams, Ratchet, x3dhInitiator } from "../src/agent/ratchet.js";
import { ratchetToJSON } from "../src/agent/ratchet_json.js";
import { parseRequest, type WorkerEvent, type WorkerReply } from "../src/rpc.js";
import { WorkerService } from "../src/worker/service.js";
import "../src/modules/restore.js"; // the widget's "restore" module: Visitor.load reads states with it
import type { WebSocketLike } from "../src/smp/client.js";
import { h } from "./vectors.js";

import { HUSHWIRE, PYTHON, SLOW_OWNER, start, stop } from "./owner_process.js";

// --------------------------------------------------------------------------- cross-checks

const PY = String.raw`
import json, sys
from hushwire.agent.ratchet import E2E_VERSIONS, E2ERatchetParams, E2ERatchetParamsUri, Ratchet, x3dh_joiner
from hushwire.crypto.keys import KeyAlg, KeyPair, PublicKey
req = json.load(sys.stdin)
out = {}
if req["op"] == "owner":
    inv = E2ERatchetParamsUri(E2E_VERSIONS, PublicKey(KeyAlg.X448, bytes.fromhex(req["a1"])), PublicKey(KeyAlg.X448, bytes.fromhex(req["a2"])))
    b1, b2 = KeyPair.generate(KeyAlg.X448), KeyPair.generate(KeyAlg.X448)
    r = Ratchet.init_joiner(x3dh_joiner(b1.private, b2.private, inv), inv.k2, 3)
    enc1, r = r.encrypt(bytes.fromhex(req["conf"]), 14832)
    enc2, r = r.encrypt(bytes.fromhex(req["msg"]), 15840)
    out = {"params": E2ERatchetParams(3, b1.public, b2.public).encode().hex(), "enc1": enc1.hex(), "enc2": enc2.hex(), "state": r.to_json().decode()}
elif req["op"] == "decrypt":
    r = Ratchet.from_json(req["state"].encode())
    pt, r = r.decrypt(bytes.fromhex(req["enc"]))
    out = {"pt": pt.hex()}
elif req["op"] == "reload":
    out = {"json": Ratchet.from_json(req["state"].encode()).to_json().decode()}
json.dump(out, sys.stdout)
`;

function py<T>(req: object): T {
  return JSON.parse(execFileSync(PYTHON, ["-c", PY], { input: JSON.stringify(req), encoding: "utf8" })) as T;
}

describe.runIf(existsSync(PYTHON))("cross-check with hushwire.agent.ratchet", () => {
  it("a Python owner's confirmation and message decrypt in TS; the TS reply decrypts in Python; states move both ways", async () => {
    const a1 = KeyPair.generate("X448");
    const a2 = KeyPair.generate("X448");
    const conf = utf8('D{"event":"x.info"}');
    const msg = utf8("M\u00e9\u00e8 hello");
    const o = py<{ params: string; enc1: string; enc2: string; state: string }>({
      op: "owner",
      a1: toHex(a1.public.raw),
      a2: toHex(a2.public.raw),
      conf: toHex(conf),
      msg: toHex(msg),
    });
    const params = E2ERatchetParams.parse(new Reader(h(o.params)));
    let r = Ratchet.initInitiator(x3dhInitiator(a1.private, a2.private, params), a2, 3);
    let pt: Uint8Array;
    [pt, r] = await r.decrypt(h(o.enc1));
    expect(toHex(pt)).toBe(toHex(conf));
    [pt, r] = await r.decrypt(h(o.enc2));
    expect(toHex(pt)).toBe(toHex(msg));
    const reply = utf8("M reply from the widget \ud83d\ude00");
    let enc: Uint8Array;
    [enc, r] = await r.encrypt(reply, 15840);
    expect(py<{ pt: string }>({ op: "decrypt", state: o.state, enc: toHex(enc) }).pt).toBe(toHex(reply));
    const state = ratchetToJSON(r);
    expect(py<{ json: string }>({ op: "reload", state }).json).toBe(state);
  });
});

// --------------------------------------------------------------------------- the echo bot




/** The worker's replies and events, awaitable. */
class Inbox {
  readonly items: WorkerReply[] = [];
  #waiters: { pred: (m: WorkerReply) => boolean; resolve: (m: WorkerReply) => void }[] = [];

  post = (m: WorkerReply): void => {
    this.items.push(m);
    for (const w of [...this.#waiters]) {
      if (w.pred(m)) {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  };

  wait(pred: (m: WorkerReply) => boolean, what: string, ms = 20000): Promise<WorkerReply> {
    const found = this.items.find(pred);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
      this.#waiters.push({
        pred,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  events<E extends WorkerEvent["event"]>(event: E): Extract<WorkerEvent, { event: E }>[] {
    return this.items.filter((m) => "event" in m && m.event === event) as Extract<WorkerEvent, { event: E }>[];
  }
}

const TEXTS = ['<b>bold</b> & <script>alert("x")</script>', "Grüße aus Köln, 你好, привет 🙂", "plain text, the third"];


async function chat(ownerArgs: (address: string, wsUrl: string, data: string) => [string, string[]], peer: string, cleanExit: boolean): Promise<void> {
  const data = mkdtempSync(join(tmpdir(), "hushwire-widget-visitor-"));
  let relay: ChildProcess | null = null;
  let owner: ChildProcess | null = null;
  let ownerCode: number | null = 0;
  let relayCode: number | null = 0;
  try {
    const r = await start(["relay", "--data", join(data, "relay"), "--ws", "127.0.0.1:0", "--tls", "127.0.0.1:0", "--host", "localhost"], /^(smp:\/\/\S+)$[\s\S]*WebSocket: (ws:\/\/\S+)/m, "relay");
    relay = r.proc;
    const address = r.match[1]!;
    const wsUrl = r.match[2]!.replace(/\/$/, "");
    const [cmd, args] = ownerArgs(address, wsUrl, join(data, "owner"));
    const b = await start(args, /^(simplex:\S+)$/m, "owner", cmd);
    owner = b.proc;
    const link = b.match[1]!;

    const inbox = new Inbox();
    const service = new WorkerService(inbox.post, (url) => new WebSocket(url) as unknown as WebSocketLike);
    let nextId = 1;
    const call = async (req: Record<string, unknown>): Promise<unknown> => {
      const id = nextId++;
      const parsed = parseRequest({ ...req, id });
      expect(parsed, `request ${String(req.op)} is valid`).not.toBeNull();
      void service.handle(parsed!);
      const reply = (await inbox.wait((m) => "id" in m && m.id === id, `reply to ${String(req.op)}`, 30000)) as WorkerReply & { id: number };
      if (!("ok" in reply) || !reply.ok) throw new Error(`${String(req.op)} failed: ${"error" in reply ? reply.error : "?"}`);
      return reply.result;
    };

    await call({ op: "join", address: link, relayUrl: wsUrl + "/", name: "Ada", seal: null });
    const connected = await inbox.wait((m) => "event" in m && m.event === "connected", "connected");
    expect(connected).toEqual({ event: "connected", peer });

    const ids: number[] = [];
    for (const text of TEXTS) ids.push(((await call({ op: "send", text })) as { msgId: number }).msgId);
    // our confirmation is message 1; on the slow path our HELLO reply is 2. An echo may come
    // back before the next text goes out, and its A_RCVD receipt takes the next id, so only the
    // first id is fixed; the rest only increase.
    const first = peer === "Slow owner" ? 3 : 2;
    expect(ids[0]).toBe(first);
    expect(ids[1]!).toBeGreaterThan(ids[0]!);
    expect(ids[2]!).toBeGreaterThan(ids[1]!);
    for (let i = 0; i < TEXTS.length; i++) {
      await inbox.wait(() => inbox.events("message").length > i, `echo ${i + 1}`);
      await inbox.wait(() => inbox.events("receipt").some((e) => e.msgId === ids[i]), `receipt ${ids[i]}`);
    }
    expect(inbox.events("message").map((e) => e.text)).toEqual(TEXTS);
    expect(inbox.events("receipt").map((e) => e.msgId).sort((a, b) => a - b)).toEqual(ids);

    expect(await call({ op: "ping" })).toHaveProperty("lag");
    await call({ op: "end" });
    expect(inbox.events("ended")).toEqual([{ event: "ended", by: "self" }]);
    await expect(call({ op: "send", text: "after the end" })).rejects.toThrow("not in a conversation");
    await new Promise((res) => setTimeout(res, 1000)); // the owner sees the visitor leave
  } finally {
    if (owner !== null) ownerCode = await stop(owner);
    if (relay !== null) relayCode = await stop(relay);
    rmSync(data, { recursive: true, force: true });
  }
  if (cleanExit) expect(ownerCode).toBe(0);
  expect(relayCode).toBe(0);
}

/** A worker service whose sockets can be frozen: from then on nothing it writes reaches the relay. */
/** Poll `pred` until it holds (20 s at most). */
async function until(pred: () => boolean, what: string): Promise<void> {
  for (let i = 0; !pred(); i++) {
    if (i > 1000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

/**
 * A worker service whose socket can be frozen (nothing more goes out), on a page that confirms
 * each sealed state at once (`stored`), unless `hold` says to keep the confirmation back.
 */
function frozenService(inbox: Inbox, hold: (seq: number) => boolean = () => false): { service: WorkerService; freeze: () => void; call: (req: Record<string, unknown>) => Promise<unknown> } {
  let frozen = false;
  const sockets: WebSocket[] = [];
  const service: WorkerService = new WorkerService((m) => {
    inbox.post(m);
    if ("event" in m && m.event === "sealed" && !hold(m.seq)) queueMicrotask(() => void service.handle({ id: 0, op: "stored", seq: m.seq }));
  }, (url) => {
    const ws = new WebSocket(url);
    sockets.push(ws);
    return {
      get binaryType() {
        return ws.binaryType;
      },
      set binaryType(t: string) {
        ws.binaryType = t as "arraybuffer";
      },
      get readyState() {
        return ws.readyState;
      },
      send: (data: Uint8Array) => {
        if (!frozen) ws.send(data);
      },
      close: (code?: number, reason?: string) => ws.close(code, reason),
      addEventListener: (type: "open" | "close" | "error" | "message", l: (ev: object) => void) => ws.addEventListener(type, l),
    } as WebSocketLike;
  });
  let nextId = 1;
  const call = async (req: Record<string, unknown>): Promise<unknown> => {
    const id = nextId++;
    const parsed = parseRequest({ ...req, id });
    expect(parsed, `request ${String(req.op)} is valid`).not.toBeNull();
    void service.handle(parsed!);
    const reply = (await inbox.wait((m) => "id" in m && m.id === id, `reply to ${String(req.op)}`, 30000)) as WorkerReply & { id: number };
    if (!("ok" in reply) || !reply.ok) throw new Error(`${String(req.op)} failed: ${"error" in reply ? reply.error : "?"}`);
    return reply.result;
  };
  return { service, freeze: () => (frozen = true), call };
}

/** A relay and the echo bot, as processes (their data in a new temporary directory), for `body`. */
async function withEchoBot(prefix: string, body: (wsUrl: string, link: string) => Promise<void>): Promise<void> {
  const data = mkdtempSync(join(tmpdir(), prefix));
  let relay: ChildProcess | null = null;
  let owner: ChildProcess | null = null;
  try {
    const r = await start(["relay", "--data", join(data, "relay"), "--ws", "127.0.0.1:0", "--tls", "127.0.0.1:0", "--host", "localhost"], /^(smp:\/\/\S+)$[\s\S]*WebSocket: (ws:\/\/\S+)/m, "relay");
    relay = r.proc;
    const wsUrl = r.match[2]!.replace(/\/$/, "") + "/";
    const b = await start(["bot", "echo", "--data", join(data, "owner"), "--relay", r.match[1]!, "--ws", wsUrl], /^(simplex:\S+)$/m, "owner");
    owner = b.proc;
    await body(wsUrl, b.match[1]!);
  } finally {
    if (owner !== null) await stop(owner);
    if (relay !== null) await stop(relay);
    rmSync(data, { recursive: true, force: true });
  }
}

describe.runIf(existsSync(HUSHWIRE))("resume after reload, against the echo bot", () => {
  it("write-ahead: no SEND and no ACK before the page confirms the sealed state; a reload restores what it confirmed", async () => {
    await withEchoBot("hushwire-widget-wal-", async (wsUrl, link) => {
      const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);

      // The page: confirms each sealed state at once, except while `held` (then it keeps them back).
      let held = false;
      const heldSeqs: number[] = [];
      const blobs = new Map<number, ArrayBuffer>();
      let confirmed: ArrayBuffer | null = null;
      const inbox1 = new Inbox();
      const w1 = frozenService(inbox1, (seq) => {
        if (held) heldSeqs.push(seq);
        else confirmed = blobs.get(seq) ?? null;
        return held;
      });
      const post = inbox1.post;
      inbox1.post = (m) => {
        if ("event" in m && m.event === "sealed") blobs.set(m.seq, m.data);
        // the echo of "two" arrives: from now on the page does not confirm (its ACK waits)
        if ("event" in m && m.event === "message" && m.text === "two") held = true;
        post(m);
      };
      await w1.call({ op: "join", address: link, relayUrl: wsUrl, name: "Ada", seal: key });
      await inbox1.wait((m) => "event" in m && m.event === "connected", "connected");
      await w1.call({ op: "send", text: "one" });
      await inbox1.wait(() => inbox1.events("message").length === 1, "the echo of one");

      // SEND: with the confirmation held back, "two" does not leave (no reply, no echo)
      held = true;
      let replied = false;
      const two = w1.call({ op: "send", text: "two" }).then(() => (replied = true));
      await until(() => heldSeqs.length > 0, "a sealed state held back");
      await new Promise((res) => setTimeout(res, 1500));
      expect(replied).toBe(false);
      expect(inbox1.events("message").map((e) => e.text)).toEqual(["one"]);
      // the page stores it: "two" goes, and its echo comes
      const n = heldSeqs.length;
      held = false;
      confirmed = blobs.get(heldSeqs.at(-1)!)!;
      await w1.service.handle({ id: 0, op: "stored", seq: heldSeqs.at(-1)! });
      await two;
      await inbox1.wait(() => inbox1.events("message").length === 2, "the echo of two");
      // ACK: the state after the echo is not confirmed (held again): the reload comes now
      await until(() => heldSeqs.length > n, "the state sealed after the echo of two, held back");
      w1.freeze();
      await w1.call({ op: "close" });

      // The reload restores the last state the page confirmed: the echo of two was not
      // acknowledged, so the relay delivers it again, and it is shown once.
      const inbox2 = new Inbox();
      const w2 = frozenService(inbox2);
      const restored = (await w2.call({ op: "restore", relayUrl: wsUrl, key, sealed: confirmed! })) as { transcript: { dir: string; text: string }[] };
      expect(restored.transcript.map((x) => [x.dir, x.text])).toEqual([
        ["out", "one"],
        ["in", "one"],
        ["out", "two"],
      ]);
      await inbox2.wait(() => inbox2.events("message").length > 0, "the echo of two, delivered again");
      await w2.call({ op: "send", text: "three" });
      await inbox2.wait(() => inbox2.events("message").length > 1, "the echo of three");
      expect(inbox2.events("message").map((e) => e.text)).toEqual(["two", "three"]);
      await w2.call({ op: "end" });
    });
  }, 90000);

  it("a sealed session opens in a new worker; the echo received but not acknowledged before the reload counts once", async () => {
    await withEchoBot("hushwire-widget-resume-", async (wsUrl, link) => {
      const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);

      // The first page: join, one text, its echo. The state sealed after the echo (posted
      // before its ACK) is the last one the page stores: the worker is frozen right then.
      const inbox1 = new Inbox();
      const w1 = frozenService(inbox1);
      let sawEcho = false;
      let sealed: ArrayBuffer | null = null;
      const post = inbox1.post;
      inbox1.post = (m) => {
        if ("event" in m && m.event === "message") sawEcho = true;
        if ("event" in m && m.event === "sealed" && sealed === null && sawEcho) {
          w1.freeze();
          sealed = m.data;
        }
        post(m);
      };
      await w1.call({ op: "join", address: link, relayUrl: wsUrl, name: "Ada", seal: key });
      await inbox1.wait((m) => "event" in m && m.event === "connected", "connected");
      const id1 = ((await w1.call({ op: "send", text: "before the reload" })) as { msgId: number }).msgId;
      await inbox1.wait(() => sealed !== null, "the state sealed after the echo");
      expect(inbox1.events("message").map((e) => e.text)).toEqual(["before the reload"]);
      await w1.call({ op: "close" });

      // The reload: a new worker with the stored state.
      const inbox2 = new Inbox();
      const w2 = frozenService(inbox2);
      await expect(w2.call({ op: "restore", relayUrl: wsUrl, key: await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]), sealed: sealed! })).rejects.toThrow("does not open");
      const restored = (await w2.call({ op: "restore", relayUrl: wsUrl, key, sealed: sealed! })) as { peer: string; transcript: { dir: string; text: string; msgId: number }[] };
      expect(restored.peer).toBe("Echo bot");
      expect(restored.transcript.map((x) => [x.dir, x.text])).toEqual([
        ["out", "before the reload"],
        ["in", "before the reload"],
      ]);
      expect(restored.transcript[0]!.msgId).toBe(id1);
      // The relay delivers the unacknowledged echo again: recognised, acknowledged, not shown twice.
      const id2 = ((await w2.call({ op: "send", text: "after the reload" })) as { msgId: number }).msgId;
      expect(id2).toBeGreaterThan(id1);
      await inbox2.wait(() => inbox2.events("message").length > 0, "the echo after the reload");
      await inbox2.wait(() => inbox2.events("receipt").some((e) => e.msgId === id2), `receipt ${id2}`);
      await new Promise((res) => setTimeout(res, 500));
      expect(inbox2.events("message").map((e) => e.text)).toEqual(["after the reload"]);
      expect(inbox2.events("sealed").length).toBeGreaterThan(0);
      await w2.call({ op: "end" });
      expect(inbox2.events("ended")).toEqual([{ event: "ended", by: "self" }]);
    });
  }, 90000);
});

describe.runIf(existsSync(HUSHWIRE))("the confirmation right behind its SKEY, against the echo bot", () => {
  it("a reload that finds the confirmation queued and the owner's queue not known to be secured sends both again (the relay took them already) and chats", async () => {
    await withEchoBot("hushwire-widget-skey-", async (wsUrl, link) => {
      const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
      // The first page stores every state; kept: the first one with our confirmation queued
      // (message 1 in the outbox) and the owner's queue not secured yet, sealed before its SEND.
      const inbox1 = new Inbox();
      const w1 = frozenService(inbox1);
      const states: Promise<[ArrayBuffer, { s: string; q: unknown[] | null; b: unknown[][] }]>[] = [];
      const post = inbox1.post;
      inbox1.post = (m) => {
        if ("event" in m && m.event === "sealed") {
          const data = m.data;
          const open = crypto.subtle.decrypt({ name: "AES-GCM", iv: new Uint8Array(data, 0, 12), additionalData: new TextEncoder().encode("hushwire session 1") }, key, new Uint8Array(data, 12));
          states.push(open.then((plain) => [data, (JSON.parse(new TextDecoder().decode(plain)) as { v: { s: string; q: unknown[] | null; b: unknown[][] } }).v]));
        }
        post(m);
      };
      await w1.call({ op: "join", address: link, relayUrl: wsUrl, name: "Ada", seal: key });
      await inbox1.wait((m) => "event" in m && m.event === "connected", "connected");
      const pending = (await Promise.all(states)).find(([, v]) => v.s === "confirming" && v.q?.[5] === false && v.b.some((o) => o[1] === "conf"));
      expect(pending).toBeDefined();
      w1.freeze();
      await w1.call({ op: "close" });

      // The reload: the relay has our SKEY and our confirmation already; both go again.
      const inbox2 = new Inbox();
      const w2 = frozenService(inbox2);
      await w2.call({ op: "restore", relayUrl: wsUrl, key, sealed: pending![0] });
      await inbox2.wait((m) => "event" in m && m.event === "connected", "connected again");
      await w2.call({ op: "send", text: "after the reload" });
      await inbox2.wait(() => inbox2.events("message").length > 0, "the echo after the reload");
      expect(inbox2.events("message").map((e) => e.text)).toEqual(["after the reload"]);
      await w2.call({ op: "end" });
    });
  }, 90000);
});

describe.runIf(existsSync(HUSHWIRE))("without the restore module, against the echo bot", () => {
  it("a join with a sealing key seals nothing (no sealed state could open) and chats as without one", async () => {
    await withEchoBot("hushwire-widget-norestore-", async (wsUrl, link) => {
      const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
      const g = globalThis as { hushwireRestore?: unknown };
      const reader = g.hushwireRestore;
      delete g.hushwireRestore;
      try {
        const inbox = new Inbox();
        const w = frozenService(inbox);
        await w.call({ op: "join", address: link, relayUrl: wsUrl, name: "Ada", seal: key });
        await inbox.wait((m) => "event" in m && m.event === "connected", "connected");
        await w.call({ op: "send", text: "one" });
        await inbox.wait(() => inbox.events("message").length === 1, "the echo of one");
        expect(inbox.events("message").map((e) => e.text)).toEqual(["one"]);
        expect(inbox.events("sealed")).toEqual([]);
        await w.call({ op: "end" });
      } finally {
        g.hushwireRestore = reader;
      }
    });
  }, 90000);
});

describe.runIf(existsSync(HUSHWIRE))("the TS visitor against Python owners over ws://", () => {
  it("the echo bot (fast handshake): three texts, echoes, receipts, end; both processes exit on SIGTERM", async () => {
    await chat((address, wsUrl, data) => [HUSHWIRE, ["bot", "echo", "--data", data, "--relay", address, "--ws", wsUrl]], "Echo bot", true);
  }, 90000);

  it("an owner whose reply queue is in contact mode (slow handshake: 'K', KEY, HELLO both ways)", async () => {
    await chat((address, wsUrl, data) => [PYTHON, ["-c", SLOW_OWNER, data, address, wsUrl]], "Slow owner", false);
  }, 90000);
});
