/**
 * The TypeScript SMP client against the real Python relay over ws:// (the `ws` package as the
 * WebSocket): handshake with identity check at v18 with block encryption, queue lifecycles,
 * events, keepalive and reconnect.
 */

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";

import { latin1, toHex } from "../src/encoding.js";
import { KeyPair } from "../src/crypto/keys.js";
import {
  Backoff,
  decryptMessage,
  IdentityMismatch,
  queueDhKey,
  ReconnectingClient,
  SMPClient,
  SMPCommandError,
  VersionMismatch,
  type ClientConfig,
  type MsgResponse,
} from "../src/smp/client.js";
import { VersionRange } from "../src/smp/version.js";
import { parseReply, parseRequest, type WorkerReply } from "../src/rpc.js";
import { WorkerService } from "../src/worker/service.js";
import { EventQueue, HAVE_RELAY, startRelay, stopRelay, type Relay } from "./relay_process.js";

describe.runIf(HAVE_RELAY)("SMP client against the Python relay over WebSocket", () => {
  let relay: Relay;
  const sockets: WebSocket[] = [];
  const clients: SMPClient[] = [];

  beforeAll(async () => {
    relay = await startRelay();
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    if (relay !== undefined) await stopRelay(relay);
  });

  async function connect(
    opts: { keyHash?: Uint8Array; config?: Partial<ClientConfig>; events?: EventQueue } = {},
  ): Promise<SMPClient> {
    const ws = new WebSocket(relay.wsUrl);
    sockets.push(ws);
    const client = await SMPClient.connect(ws, opts.keyHash ?? relay.server.keyHash, {
      config: { pingInterval: null, ...opts.config },
      ...(opts.events ? { onEvent: opts.events.push } : {}),
    });
    clients.push(client);
    return client;
  }

  it("negotiates v18 with block encryption and checks the relay's identity", async () => {
    const c = await connect();
    expect(c.version).toBe(18);
    expect(c.sessionId.length).toBe(32);
    const lag = await c.ping();
    expect(lag).toBeGreaterThanOrEqual(0);
    expect(c.blocksSent).toBe(2); // client hello + PING
    const wrong = relay.server.keyHash.slice();
    wrong[0]! ^= 1;
    await expect(connect({ keyHash: wrong })).rejects.toBeInstanceOf(IdentityMismatch);
    await expect(connect({ config: { versionRange: new VersionRange(19, 20) } })).rejects.toBeInstanceOf(VersionMismatch);
    c.close();
    await expect(c.ping()).rejects.toThrow(/closed by the client/);
  });

  it("create, secure (SKEY), send, receive, ack, delete", async () => {
    const evA = new EventQueue();
    const a = await connect({ events: evA });
    const b = await connect();
    const rcvAuth = KeyPair.generate("Ed25519");
    const rcvDh = KeyPair.generate("X25519");
    const ids = await a.createQueue(rcvAuth, rcvDh);
    expect(ids.queueMode).toBe("M");
    expect(ids.rcvId.length).toBe(24);
    const key = queueDhKey(rcvDh, ids.srvDhKey);

    const snd = KeyPair.generate("Ed25519");
    await b.secureSender(ids.sndId, snd);
    // an unauthorized SEND to a secured queue is refused
    await expect(b.send(ids.sndId, latin1("nope"))).rejects.toMatchObject({ error: { tag: "AUTH" } });

    await b.send(ids.sndId, latin1("hello"), { key: snd });
    const ev = await evA.next("message");
    expect(toHex(ev.recipientId)).toBe(toHex(ids.rcvId));
    const m1 = decryptMessage(key, ev.msg);
    expect(m1).toMatchObject({ kind: "message", flags: { notification: false }, body: latin1("hello") });

    // the next message arrives as the answer to ACK
    await b.send(ids.sndId, latin1("second"), { key: snd, notification: true });
    await b.send(ids.sndId, latin1("third"), { key: snd });
    const m2 = await a.ack(ids.rcvId, rcvAuth, ev.msg.msgId);
    expect(m2).not.toBeNull();
    expect(decryptMessage(key, m2!)).toMatchObject({ kind: "message", flags: { notification: true }, body: latin1("second") });
    const m3 = await a.ack(ids.rcvId, rcvAuth, m2!.msgId);
    expect(decryptMessage(key, m3!)).toMatchObject({ body: latin1("third") });
    expect(await a.ack(ids.rcvId, rcvAuth, m3!.msgId)).toBeNull();
    await expect(a.ack(ids.rcvId, rcvAuth, m3!.msgId)).rejects.toMatchObject({ error: { tag: "NO_MSG" } });

    await a.suspend(ids.rcvId, rcvAuth);
    await expect(b.send(ids.sndId, latin1("late"), { key: snd })).rejects.toMatchObject({ error: { tag: "AUTH" } });
    await a.delete(ids.rcvId, rcvAuth);
    await expect(a.subscribe(ids.rcvId, rcvAuth)).rejects.toBeInstanceOf(SMPCommandError);
  });

  it("KEY with X25519 recipient keys (CbAuthenticator), GET, END and DELD", async () => {
    const ev1 = new EventQueue();
    const ev2 = new EventQueue();
    const a1 = await connect({ events: ev1 });
    const a2 = await connect({ events: ev2 });
    const b = await connect();
    const rcvAuth = KeyPair.generate("X25519");
    const rcvDh = KeyPair.generate("X25519");
    const ids = await a1.createQueue(rcvAuth, rcvDh, { subscribe: false });
    const snd = KeyPair.generate("Ed448");
    await a1.secure(ids.rcvId, rcvAuth, snd.public);
    await b.send(ids.sndId, latin1("via GET"), { key: snd });
    const got = await a1.get(ids.rcvId, rcvAuth);
    expect(decryptMessage(queueDhKey(rcvDh, ids.srvDhKey), got!)).toMatchObject({ body: latin1("via GET") });
    expect(await a1.ack(ids.rcvId, rcvAuth, got!.msgId)).toBeNull();

    // a second connection subscribing takes the subscription over: END to the first
    await a2.subscribe(ids.rcvId, rcvAuth);
    const a3 = await connect();
    await a3.subscribe(ids.rcvId, rcvAuth);
    const end = await ev2.next("subscriptionEnded");
    expect(toHex(end.recipientId)).toBe(toHex(ids.rcvId));
    expect(a2.subscriptions.length).toBe(0);

    // deleting from another connection tells the subscriber: DELD (v10+)
    const ev4 = new EventQueue();
    const a4 = await connect({ events: ev4 });
    await a4.subscribe(ids.rcvId, rcvAuth);
    await a1.delete(ids.rcvId, rcvAuth);
    const deld = await ev4.next("queueDeleted");
    expect(toHex(deld.recipientId)).toBe(toHex(ids.rcvId));
  });

  it("batches concurrent commands into shared blocks", async () => {
    const a = await connect();
    const before = a.blocksSent;
    const lags = await Promise.all(Array.from({ length: 20 }, () => a.ping()));
    expect(lags.length).toBe(20);
    expect(a.blocksSent - before).toBe(1);
  });

  it("keepalive measures the lag", async () => {
    const a = await connect({ config: { pingInterval: 100 } });
    await new Promise((r) => setTimeout(r, 400));
    expect(a.lag).not.toBeNull();
    expect(a.lag!).toBeGreaterThanOrEqual(0);
  });

  it("reconnects after a drop and subscribes again", async () => {
    const events = new EventQueue();
    let current: WebSocket | null = null;
    const rc = new ReconnectingClient(
      async (onEvent) => {
        const ws = new WebSocket(relay.wsUrl);
        current = ws;
        return SMPClient.connect(ws, relay.server.keyHash, { config: { pingInterval: null }, onEvent });
      },
      { backoff: new Backoff(10, 100) },
    );
    rc.on(events.push);
    await rc.start();
    const b = await connect();
    const rcvAuth = KeyPair.generate("Ed25519");
    const rcvDh = KeyPair.generate("X25519");
    const ids = await rc.createQueue(rcvAuth, rcvDh);
    const key = queueDhKey(rcvDh, ids.srvDhKey);

    (current as WebSocket | null)!.terminate(); // the network drops
    const dis = await events.next("disconnected");
    expect(dis.reason).toMatch(/closed/);
    const re = await events.next("reconnected");
    expect(re.resubscribed.map(toHex)).toEqual([toHex(ids.rcvId)]);
    expect(re.failed).toEqual([]);
    expect(rc.reconnects).toBe(1);

    await b.send(ids.sndId, latin1("after the drop"));
    const ev = await events.next("message");
    const msg: MsgResponse = ev.msg;
    expect(decryptMessage(key, msg)).toMatchObject({ body: latin1("after the drop") });
    expect(await rc.ack(ids.rcvId, rcvAuth, msg.msgId)).toBeNull();
    expect(await rc.ping()).toBeGreaterThanOrEqual(0);
    rc.close();
    await rc.stopped;
  });

  it("the worker service connects, pings and closes over its message protocol", async () => {
    const out: WorkerReply[] = [];
    const svc = new WorkerService((m) => out.push(m), (url) => new WebSocket(url));
    const req = (x: unknown) => {
      const r = parseRequest(x);
      expect(r).not.toBeNull();
      return svc.handle(r!);
    };
    const addr = `smp://${Buffer.from(relay.server.keyHash).toString("base64url")}=@127.0.0.1`;
    await req({ id: 1, op: "connect", server: addr, wsUrl: relay.wsUrl });
    expect(out).toContainEqual({ id: 1, ok: true, result: { version: 18 } });
    expect(out).toContainEqual({ event: "status", status: "connected", detail: "SMP v18" });
    await req({ id: 2, op: "ping" });
    const pong = out.find((m) => "id" in m && m.id === 2);
    expect(pong).toMatchObject({ ok: true, result: { lag: expect.any(Number) } });
    await req({ id: 3, op: "connect", server: addr, wsUrl: relay.wsUrl });
    expect(out).toContainEqual({ id: 3, ok: false, error: "Error: already connected" });
    await req({ id: 4, op: "close" });
    expect(out).toContainEqual({ event: "status", status: "closed", detail: "closed by the page" });
    for (const m of out) expect(parseReply(JSON.parse(JSON.stringify(m)))).toEqual(m);
    // a wrong identity is refused with a message that names the check, not the keys
    const svc2 = new WorkerService((m) => out.push(m), (url) => new WebSocket(url));
    const wrong = `smp://${Buffer.from(new Uint8Array(32)).toString("base64url")}@127.0.0.1`;
    await svc2.handle({ id: 5, op: "connect", server: wrong, wsUrl: relay.wsUrl });
    expect(out).toContainEqual({ id: 5, ok: false, error: "IdentityMismatch: server identity does not match the address" });
  });
});

describe("worker message validation", () => {
  it("accepts only well-formed requests and replies", () => {
    expect(parseRequest({ id: 1, op: "ping" })).toEqual({ id: 1, op: "ping" });
    expect(parseRequest({ id: 1.5, op: "ping" })).toBeNull();
    expect(parseRequest({ id: 1, op: "sign" })).toBeNull();
    expect(parseRequest({ id: 1, op: "connect", server: "", wsUrl: "ws://x" })).toBeNull();
    expect(parseRequest({ id: 1, op: "connect", server: "x".repeat(5000), wsUrl: "ws://x" })).toBeNull();
    expect(parseRequest(null)).toBeNull();
    expect(parseRequest([1])).toBeNull();
    expect(parseReply({ event: "status", status: "weird", detail: "" })).toBeNull();
    expect(parseReply({ event: "lag", ms: 3 })).toEqual({ event: "lag", ms: 3 });
    expect(parseReply({ id: 1, ok: false })).toBeNull();
  });
});
