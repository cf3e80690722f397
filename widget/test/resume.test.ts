/**
 * Resume after reload, without a relay: the visitor's state round trip (a fake SMP client),
 * the state persisted before anything goes out, and `restore` refusing a wrong key, a
 * corrupted blob and a foreign one before it connects to anything. The round trip through a
 * real relay (with an unacknowledged message across the reload) is in visitor.test.ts.
 */

import { describe, expect, it } from "vitest";

import { KeyPair } from "../src/crypto/keys.js";
import { utf8 } from "../src/encoding.js";
import { parseLink } from "../src/agent/links.js";
import { Visitor, type AgentClient } from "../src/agent/visitor.js";
import { parseRequest, type WorkerReply } from "../src/rpc.js";
import type { ClientEvent, IdsResponse } from "../src/smp/client.js";
import { WorkerService } from "../src/worker/service.js";
import "../src/modules/restore.js"; // the widget's "restore" module: Visitor.load reads states with it
import { loadVectors } from "./vectors.js";

const CONTACT = loadVectors<{ contact_link: string }>("agent_links.json").contact_link;
const SERVER = parseLink(CONTACT).queues[0]!.server;

/** Records what the visitor asks of the relay; every command succeeds. */
class FakeClient implements AgentClient {
  readonly log: string[] = [];
  readonly srvDh = KeyPair.generate("X25519");
  #n = 0;

  async createQueue(): Promise<IdsResponse> {
    this.log.push("NEW");
    const id = (x: number): Uint8Array => new Uint8Array(24).fill(x);
    return { tag: "IDS", rcvId: id(++this.#n), sndId: id(++this.#n), srvDhKey: this.srvDh.public, queueMode: "M", linkId: null, serviceId: null, serverNtfCreds: null };
  }
  async subscribe(rid: Uint8Array): Promise<void> {
    this.log.push(`SUB ${rid[0]}`);
  }
  async secure(): Promise<void> {
    this.log.push("KEY");
  }
  async secureSender(): Promise<void> {
    this.log.push("SKEY");
  }
  async send(_sid: Uint8Array, body: Uint8Array): Promise<void> {
    this.log.push(`SEND ${body.length}`);
  }
  async ack(): Promise<null> {
    this.log.push("ACK");
    return null;
  }
  async delete(): Promise<void> {
    this.log.push("DEL");
  }
  on(_listener: (ev: ClientEvent) => void): () => void {
    return () => undefined;
  }
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

/** A FakeClient that also notes the algorithm of each auth key it is given. */
class KeyLog extends FakeClient {
  readonly algs: string[] = [];
  override async createQueue(auth?: KeyPair): Promise<IdsResponse> {
    this.algs.push(`NEW ${auth?.public.alg}`);
    return super.createQueue();
  }
  override async subscribe(rid: Uint8Array, key?: KeyPair): Promise<void> {
    this.algs.push(`SUB ${key?.public.alg}`);
    return super.subscribe(rid);
  }
}

describe("the visitor's state", () => {
  it("is persisted before the invitation goes out, and round-trips through JSON into a new visitor", async () => {
    const client = new FakeClient();
    const states: string[] = [];
    const v = new Visitor(client, utf8("info"), () => undefined, {
      persist: async () => {
        states.push(JSON.stringify(v.state()));
        client.log.push("PERSIST");
      },
    });
    await v.join(CONTACT);
    await settle();
    expect(client.log.slice(0, 3)).toEqual(["NEW", "PERSIST", expect.stringMatching(/^SEND /)]);
    const before = JSON.parse(states[0]!) as { s: string; b: unknown[] };
    expect(before.s).toBe("invited");
    expect(before.b).toHaveLength(1); // the invitation, not sent yet when it was persisted
    const now = JSON.stringify(v.state());
    expect(states.at(-1)).toBe(now); // persisted again once it was sent
    expect((JSON.parse(now) as { b: unknown[] }).b).toEqual([]);

    const client2 = new FakeClient();
    const v2 = new Visitor(client2, utf8("info"), () => undefined);
    v2.load(JSON.parse(now), SERVER);
    await v2.resume();
    expect(v2.status).toBe("invited");
    expect(JSON.stringify(v2.state())).toBe(now);
    expect(client2.log).toEqual(["SUB 1"]); // our queue again; nothing to send
    await v.close(false);
    await v2.close(false);
  });

  it("resends what was not sent before the reload", async () => {
    const client = new FakeClient();
    let first: unknown = null;
    const v = new Visitor(client, utf8("info"), () => undefined, {
      persist: async () => {
        first ??= JSON.parse(JSON.stringify(v.state()));
      },
    });
    await v.join(CONTACT);
    const client2 = new FakeClient();
    const v2 = new Visitor(client2, utf8("info"), () => undefined);
    v2.load(first, SERVER);
    await v2.resume();
    await settle();
    expect(client2.log).toEqual(["SUB 1", expect.stringMatching(/^SEND /)]);
    expect(client2.log[1]).toBe(client.log[1]); // the same invitation bytes
    await v2.close(false);
  });

  it("keeps X25519 auth keys marked 'x:', and reads a state from before them (unmarked Ed25519 keys) as Ed25519", async () => {
    const client = new KeyLog();
    const v = new Visitor(client, utf8("info"), () => undefined, { persist: async () => undefined });
    await v.join(CONTACT);
    expect(client.algs).toEqual(["NEW X25519"]);
    const state = JSON.parse(JSON.stringify(v.state())) as { r: unknown[] };
    const auth = state.r[2] as string;
    expect(auth).toMatch(/^x:[\w-]{43}=$/);
    const old = { ...state, r: state.r.map((x, i) => (i === 2 ? auth.slice(2) : x)) };
    const c = new KeyLog();
    const v2 = new Visitor(c, utf8("info"), () => undefined);
    v2.load(old, SERVER);
    await v2.resume();
    expect(c.algs).toEqual(["SUB Ed25519"]);
    expect((v2.state() as { r: unknown[] }).r[2]).toBe(auth.slice(2));
    await v.close(false);
    await v2.close(false);
  });

  it("refuses a malformed state before it touches the relay", async () => {
    const client = new FakeClient();
    const v = new Visitor(client, utf8("info"), () => undefined, { persist: async () => undefined });
    await v.join(CONTACT);
    const good = JSON.parse(JSON.stringify(v.state())) as Record<string, unknown>;
    const broken: unknown[] = [
      null,
      "state",
      { ...good, s: "ended" },
      { ...good, x: null }, // invited without our X3DH keys
      { ...good, r: (good.r as unknown[]).slice(1) },
      { ...good, v: 99 },
      { ...good, n: [1, "", -1, ""] },
      { ...good, b: [[0, "spam", "AA==", "AA==", false]] },
      { ...good, k: "{}" },
    ];
    for (const state of broken) {
      const c = new FakeClient();
      const v2 = new Visitor(c, utf8("info"), () => undefined);
      expect(() => v2.load(state, SERVER)).toThrow();
      expect(c.log).toEqual([]);
    }
    await v.close(false);
  });
});

// --------------------------------------------------------------------------- the worker's restore

function service(): { call: (req: Record<string, unknown>) => Promise<WorkerReply>; sockets: string[] } {
  const sockets: string[] = [];
  const replies: WorkerReply[] = [];
  const s = new WorkerService(
    (m) => replies.push(m),
    (url) => {
      sockets.push(url);
      throw new Error("no network in this test");
    },
  );
  let id = 0;
  return {
    sockets,
    call: async (req) => {
      const r = parseRequest({ ...req, id: ++id });
      expect(r).not.toBeNull();
      await s.handle(r!);
      return replies.find((m) => "id" in m && m.id === id)!;
    },
  };
}

function sealKey(): Promise<CryptoKey> {
  return crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
}

async function seal(key: CryptoKey, doc: unknown, ad = "hushwire session 1"): Promise<ArrayBuffer> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: utf8(ad) as Uint8Array<ArrayBuffer> }, key, utf8(JSON.stringify(doc)) as Uint8Array<ArrayBuffer>));
  const out = new Uint8Array(12 + ct.length);
  out.set(iv);
  out.set(ct, 12);
  return out.buffer;
}

describe("restore", () => {
  it("refuses a wrong key, a corrupted blob, another purpose's ciphertext and a foreign state, without connecting", async () => {
    const key = await sealKey();
    const client = new FakeClient();
    const v = new Visitor(client, utf8("info"), () => undefined, { persist: async () => undefined });
    await v.join(CONTACT);
    const doc = { f: 1, a: CONTACT, c: "aW5mbw==", p: "Owner", t: [], v: v.state() };
    const good = await seal(key, doc);

    const corrupted = new Uint8Array(good.slice(0));
    corrupted[corrupted.length - 20]! ^= 1;
    const cases: [CryptoKey, ArrayBuffer, string][] = [
      [await sealKey(), good, "does not open"],
      [key, corrupted.buffer, "does not open"],
      [key, good.slice(0, 20), "does not open"],
      [key, await seal(key, doc, "something else"), "does not open"],
      [key, await seal(key, { hello: "world" }), "invalid session state"],
      [key, await seal(key, { ...doc, t: [{ dir: "sideways", text: "x", msgId: 1, delivered: false }] }), "invalid session state"],
      [key, await seal(key, { ...doc, v: { ...(doc.v as object), s: "new" } }), "invalid session state"],
    ];
    for (const [k, blob, why] of cases) {
      const s = service();
      const r = await s.call({ op: "restore", relayUrl: "ws://127.0.0.1:9/", key: k, sealed: blob });
      expect(r).toMatchObject({ ok: false, error: expect.stringContaining(why) });
      expect(s.sockets).toEqual([]);
    }
    // the good one gets as far as connecting (none here)
    const s = service();
    const r = await s.call({ op: "restore", relayUrl: "ws://127.0.0.1:9/", key, sealed: good });
    expect(r).toMatchObject({ ok: false });
    expect(s.sockets).toEqual(["ws://127.0.0.1:9/"]);
    await v.close(false);
  });

  it("without the restore module, opens the state but reads none of it and connects nowhere", async () => {
    const key = await sealKey();
    const v = new Visitor(new FakeClient(), utf8("info"), () => undefined, { persist: async () => undefined });
    await v.join(CONTACT);
    const sealed = await seal(key, { f: 1, a: CONTACT, c: "aW5mbw==", p: "Owner", t: [], v: v.state() });
    const g = globalThis as { hushwireRestore?: unknown };
    const reader = g.hushwireRestore;
    delete g.hushwireRestore;
    try {
      const s = service();
      const r = await s.call({ op: "restore", relayUrl: "ws://127.0.0.1:9/", key, sealed });
      expect(r).toMatchObject({ ok: false, error: "Error: the restore module is not loaded" });
      expect(s.sockets).toEqual([]);
      expect(() => new Visitor(new FakeClient(), utf8("info"), () => undefined).load(v.state(), SERVER)).toThrow("the restore module is not loaded");
    } finally {
      g.hushwireRestore = reader;
    }
    await v.close(false);
  });

  it("keeps the key usable only through WebCrypto (non-extractable)", async () => {
    const key = await sealKey();
    await expect(crypto.subtle.exportKey("raw", key)).rejects.toThrow();
    expect(parseRequest({ id: 1, op: "join", address: CONTACT, relayUrl: "ws://x/", name: "", seal: key })).not.toBeNull();
    const extractable = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, true, ["encrypt", "decrypt"]);
    expect(parseRequest({ id: 1, op: "join", address: CONTACT, relayUrl: "ws://x/", name: "", seal: extractable })).toBeNull();
  });
});

