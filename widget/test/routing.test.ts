/**
 * Private routing from the widget's client against two real Python relays on loopback: the
 * sender connected only to relay A (the proxy), the recipient's queue on relay B. The
 * module's sender (agent/routing.ts over smp/proxy.ts) secures and fills B's queue through A;
 * the proxy's errors come back as the visitor handles them (temporary: a lost connection,
 * retried; permanent: a refusal that says so), the destination's own answers as if direct.
 */

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";

import { latin1 } from "../src/encoding.js";
import { KeyPair } from "../src/crypto/keys.js";
import { ProxiedSender, temporaryProxyError } from "../src/agent/routing.js";
import type { SMPServer } from "../src/smp/address.js";
import {
  ConnectionLost,
  decryptMessage,
  queueDhKey,
  ReconnectingClient,
  SMPClient,
  SMPCommandError,
  UnexpectedResponse,
  type MsgResponse,
} from "../src/smp/client.js";
import { decodeErrorType, errorTypeText } from "../src/smp/errors.js";
import { EventQueue, HAVE_RELAY, startRelay, stopRelay, type Relay } from "./relay_process.js";

const ERRORS = { command: SMPCommandError, unexpected: UnexpectedResponse, lost: ConnectionLost };
const TLS = ["--tls", "127.0.0.1:0", "--host", "127.0.0.1"];

it.each([
  ["PROXY NO_SESSION", true],
  ["PROXY BROKER NETWORK", true],
  ["PROXY BROKER TIMEOUT", true],
  ["PROXY BROKER HOST", true],
  ["PROXY BROKER TRANSPORT VERSION", true],
  ["PROXY BASIC_AUTH", false],
  ["PROXY PROTOCOL AUTH", false],
  ["PROXY BROKER TRANSPORT HANDSHAKE IDENTITY", false],
  ["PROXY BROKER TRANSPORT NO_AUTH", false],
  ["AUTH", false],
  ["QUOTA", false],
])("%s is temporary: %s", (text, temporary) => {
  expect(temporaryProxyError(decodeErrorType(latin1(text)))).toBe(temporary);
});

describe.runIf(HAVE_RELAY)("the widget's client sends through relay A to relay B", () => {
  let a: Relay;
  let b: Relay;
  let closedProxy: Relay;
  const stop: (() => void)[] = [];

  beforeAll(async () => {
    [a, b, closedProxy] = await Promise.all([startRelay(TLS), startRelay(TLS), startRelay([...TLS, "--no-proxy"])]);
  });

  afterAll(async () => {
    for (const f of stop) f();
    await Promise.all([a, b, closedProxy].filter((r) => r !== undefined).map(stopRelay));
  });

  async function direct(r: Relay, events?: EventQueue): Promise<SMPClient> {
    const c = await SMPClient.connect(new WebSocket(r.wsUrl), r.server.keyHash, {
      config: { pingInterval: null },
      ...(events ? { onEvent: events.push } : {}),
    });
    stop.push(() => c.close());
    return c;
  }

  async function proxy(r: Relay): Promise<ReconnectingClient> {
    const rc = new ReconnectingClient((onEvent) => SMPClient.connect(new WebSocket(r.wsUrl), r.server.keyHash, { onEvent, config: { pingInterval: null } }));
    await rc.start();
    stop.push(() => rc.close());
    return rc;
  }

  it("SKEY and SEND reach B's queue; B's answers come back as if direct", async () => {
    const events = new EventQueue();
    const rcv = await direct(b, events);
    const auth = KeyPair.generate("Ed25519");
    const dh = KeyPair.generate("X25519");
    const ids = await rcv.createQueue(auth, dh, { subscribe: true, messaging: true });
    const sender = new ProxiedSender(await proxy(a), b.server, ERRORS);
    const key = KeyPair.generate("Ed25519");
    await sender.secureSender(ids.sndId, key);
    await sender.send(ids.sndId, latin1("through the proxy"), { key });
    await sender.send(ids.sndId, latin1("and again, same session"), { key });
    const bodies = [];
    let msg: MsgResponse | null = (await events.next("message")).msg;
    while (msg !== null) {
      const plain = decryptMessage(queueDhKey(dh, ids.srvDhKey), msg);
      expect(plain.kind).toBe("message");
      bodies.push(new TextDecoder().decode((plain as { body: Uint8Array }).body));
      // the next message comes with the ACK's answer, or as an event
      msg = (await rcv.ack(ids.rcvId, auth, msg.msgId)) ?? (bodies.length < 2 ? (await events.next("message")).msg : null);
    }
    expect(bodies).toEqual(["through the proxy", "and again, same session"]);
    // the queue is secured: unsigned is the destination's AUTH, not a proxy error
    const e = await sender.send(ids.sndId, latin1("unsigned")).then(() => null, (x: unknown) => x);
    expect(e).toBeInstanceOf(SMPCommandError);
    expect((e as SMPCommandError).error).toEqual({ tag: "AUTH" });
  });

  it("a destination that is not who its address says is refused for good", async () => {
    const wrong: SMPServer = { ...b.server, keyHash: b.server.keyHash.map((x, i) => (i === 0 ? x ^ 1 : x)) };
    const sender = new ProxiedSender(await proxy(a), wrong, ERRORS);
    const e = await sender.send(new Uint8Array(24), latin1("x")).then(() => null, (x: unknown) => x);
    expect(e).toBeInstanceOf(SMPCommandError);
    const err = (e as SMPCommandError).error;
    expect(err.tag).toBe("PROXY");
    expect(temporaryProxyError(err)).toBe(false);
    expect((e as Error).message).toBe(`this relay cannot send to the owner's relay (${errorTypeText(err)})`);
  });

  it("a destination the proxy cannot reach now is a lost connection (retried)", async () => {
    const gone: SMPServer = { ...b.server, port: 9 };
    const sender = new ProxiedSender(await proxy(a), gone, ERRORS);
    const e = await sender.send(new Uint8Array(24), latin1("x")).then(() => null, (x: unknown) => x);
    expect(e).toBeInstanceOf(ConnectionLost);
    expect((e as Error).message).toMatch(/^this relay cannot reach the owner's relay now \(PROXY BROKER /);
  });

  it("a relay that does not proxy refuses with BASIC_AUTH", async () => {
    const sender = new ProxiedSender(await proxy(closedProxy), b.server, ERRORS);
    const e = await sender.send(new Uint8Array(24), latin1("x")).then(() => null, (x: unknown) => x);
    expect(e).toBeInstanceOf(SMPCommandError);
    expect((e as SMPCommandError).error).toEqual({ tag: "PROXY", error: { tag: "BASIC_AUTH" } });
  });
});
