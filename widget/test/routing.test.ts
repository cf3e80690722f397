/**
 * Private routing from the widget's client against two real Python relays on loopback: the
 * sender connected only to relay A (the proxy), the recipient's queue on relay B. The
 * module's sender (agent/routing.ts over smp/proxy.ts) secures and fills B's queue through A;
 * the proxy's errors come back as the visitor handles them (temporary: a lost connection,
 * retried; permanent: a refusal that says so), the destination's own answers as if direct.
 */

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";

import { base64urlEncode as b64, latin1, type Bytes } from "../src/encoding.js";
import { KeyPair } from "../src/crypto/keys.js";
import { ConnectionRequest, SMPQueueUri } from "../src/agent/links.js";
import { AGENT_VERSIONS } from "../src/agent/protocol.js";
import { KIT } from "../src/agent/ratchet_json.js";
import { ProxiedSender, temporaryProxyError } from "../src/agent/routing.js";
import { readVisitorState } from "../src/agent/state_read.js";
import { Visitor, type AgentClient } from "../src/agent/visitor.js";
import { encodeSMPServer, type SMPServer } from "../src/smp/address.js";
import type { BrokerMsg, Command } from "../src/smp/commands.js";
import type { ProxyClient } from "../src/smp/proxy.js";
import { VersionRange } from "../src/smp/version.js";
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

// --------------------------------------------------------------------------- without relays

/** A proxy connection that answers PRXY and PFWD from a script and records what was asked. */
class ScriptedProxy implements ProxyClient {
  readonly version = 18;
  readonly config = { commandTimeout: 1000, now: () => 0 };
  readonly asked: string[] = [];
  constructor(readonly answer: (tag: string) => BrokerMsg | Error) {}
  async request(_e: Bytes, command: Command): Promise<BrokerMsg> {
    this.asked.push(command.tag);
    const a = this.answer(command.tag);
    if (a instanceof Error) throw a;
    if (a.tag === "ERR") throw new SMPCommandError(a.error);
    return a;
  }
}

const errorOf = (text: string): BrokerMsg => ({ tag: "ERR", error: decodeErrorType(latin1(text)) });
const B: SMPServer = { hosts: ["b.example"], port: null, keyHash: new Uint8Array(32).fill(2), basicAuth: null };

describe("ProxiedSender with a scripted proxy", () => {
  it("a proxy refusing the session is final, with its reason; one that cannot reach B now is retried", async () => {
    for (const [text, cls] of [
      ["PROXY BASIC_AUTH", SMPCommandError],
      ["PROXY BROKER TRANSPORT HANDSHAKE IDENTITY", SMPCommandError],
      ["PROXY BROKER NETWORK", ConnectionLost],
      ["PROXY BROKER TIMEOUT", ConnectionLost],
      ["PROXY BROKER HOST", ConnectionLost],
    ] as const) {
      const proxy = new ScriptedProxy(() => errorOf(text));
      const sender = new ProxiedSender({ waitConnected: async () => proxy }, B, ERRORS);
      const e = await sender.send(new Uint8Array(24), latin1("x")).then(() => null, (x: unknown) => x);
      expect(e).toBeInstanceOf(cls);
      expect((e as Error).message).toContain(`(${text})`);
      expect(proxy.asked).toEqual(["PRXY"]);
    }
  });

  it("NO_SESSION makes a new session once; twice in a row is retried later", async () => {
    const proxy = new ScriptedProxy(() => errorOf("PROXY NO_SESSION"));
    const sender = new ProxiedSender({ waitConnected: async () => proxy }, B, ERRORS);
    const e = await sender.send(new Uint8Array(24), latin1("x")).then(() => null, (x: unknown) => x);
    expect(e).toBeInstanceOf(ConnectionLost);
    expect(proxy.asked).toEqual(["PRXY", "PRXY"]);
  });

  it("a lost connection to the proxy is passed on as it is", async () => {
    const lost = new ConnectionLost("the connection was closed");
    const proxy = new ScriptedProxy(() => lost);
    const sender = new ProxiedSender({ waitConnected: async () => proxy }, B, ERRORS);
    expect(await sender.secureSender(new Uint8Array(24), KeyPair.generate("Ed25519")).then(() => null, (x: unknown) => x)).toBe(lost);
  });
});

describe("the visitor's routing", () => {
  const A: SMPServer = { hosts: ["a.example"], port: null, keyHash: new Uint8Array(32).fill(1), basicAuth: null };
  const onB = new ConnectionRequest("contact", AGENT_VERSIONS, [new SMPQueueUri(new VersionRange(1, 4), B, new Uint8Array(24).fill(9), KeyPair.generate("X25519").public)]).toUri();
  const client = (): AgentClient & { created: number } => {
    const c = {
      created: 0,
      createQueue: async () => {
        c.created++;
        throw new ConnectionLost("not in this test");
      },
      on: () => () => undefined,
    };
    return c as unknown as AgentClient & { created: number };
  };

  it("an owner on another relay without the proxy module is refused before anything is sent", async () => {
    const c = client();
    const v = new Visitor(c, new Uint8Array(0), () => undefined, { relay: A });
    await expect(v.join(onB)).rejects.toThrow("the owner is on another relay (no proxy module)");
    expect(c.created).toBe(0);
  });

  it("with the module, the visitor's queue is made on its own relay", async () => {
    const c = client();
    const asked: SMPServer[] = [];
    const proxy = (s: SMPServer): ProxiedSender => (asked.push(s), new ProxiedSender({ waitConnected: async () => new ScriptedProxy(() => errorOf("AUTH")) }, s, ERRORS));
    const v = new Visitor(c, new Uint8Array(0), () => undefined, { relay: A, proxy });
    await expect(v.join(onB)).rejects.toBeInstanceOf(ConnectionLost);
    expect(c.created).toBe(1);
    expect(asked.map((s) => s.hosts)).toEqual([["b.example"]]);
  });
});

describe("the owner's relay in a stored state", () => {
  it("is the 7th field of the owner's queue; a state sealed before it has none (the address's)", async () => {
    const A: SMPServer = { hosts: ["a.example"], port: 5223, keyHash: new Uint8Array(32).fill(1), basicAuth: null };
    const onA = new ConnectionRequest("contact", AGENT_VERSIONS, [new SMPQueueUri(new VersionRange(1, 4), A, new Uint8Array(24).fill(9), KeyPair.generate("X25519").public)]).toUri();
    const c = {
      createQueue: async () => ({ tag: "IDS", rcvId: new Uint8Array(24).fill(1), sndId: new Uint8Array(24).fill(2), srvDhKey: KeyPair.generate("X25519").public }),
      send: async () => undefined,
      on: () => () => undefined,
    } as unknown as AgentClient;
    const v = new Visitor(c, new Uint8Array(0), () => undefined);
    await v.join(onA);
    const k = (): string => b64(KeyPair.generate("Ed25519").private.exportRaw());
    const x = (): string => b64(KeyPair.generate("X25519").private.exportRaw());
    const q = [b64(new Uint8Array(24).fill(3)), b64(KeyPair.generate("X25519").public.raw), "M", k(), x(), true];
    const state = v.state() as Record<string, unknown>;
    expect(readVisitorState({ ...state, q }, KIT).snd!.server).toBeNull();
    const withB = readVisitorState({ ...state, q: [...q, encodeSMPServer(B)] }, KIT).snd!.server!;
    expect([withB.hosts, withB.keyHash]).toEqual([B.hosts, B.keyHash]);
    expect(() => readVisitorState({ ...state, q: [...q, "smp://nothing"] }, KIT)).toThrow("invalid session state");
    expect(() => readVisitorState({ ...state, q: [...q, 5] }, KIT)).toThrow("invalid session state");
    expect(() => readVisitorState({ ...state, q: [...q, encodeSMPServer(B), 1] }, KIT)).toThrow("invalid session state");
  });
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
