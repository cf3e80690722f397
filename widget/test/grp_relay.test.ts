/**
 * The TypeScript GRP/1 transport against the real Python relay (`hushwire relay --grp`): the
 * Noise handshake and key proof across the two implementations, the widget's SMP client
 * unchanged on top, a queue round trip, cover frames both ways, and a wrong relay static key
 * failing the handshake.
 */

import { writeFileSync } from "node:fs";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";

import { KeyPair } from "../src/crypto/keys.js";
import { latin1, toHex } from "../src/encoding.js";
import { GrpSocket } from "../src/grp/transport.js";
import { parseSMPServer, type SMPServer } from "../src/smp/address.js";
import { Backoff, decryptMessage, queueDhKey, ReconnectingClient, SMPClient, type ClientEvent } from "../src/smp/client.js";
import { HAVE_RELAY, type RelayProc, startRelayProc, stopRelayProc } from "./relayproc.js";

const RATE = 50;

interface Relay extends RelayProc {
  server: SMPServer;
  grpUrl: string;
  staticKey: Uint8Array;
}

function b64url(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/-/g, "+").replace(/_/g, "/"), "base64"));
}

async function startRelay(): Promise<Relay> {
  const grpLine = /^GRP: grp:\/\/[^@]+@([^?]+)\?nk=(\S+)$/m;
  const r = await startRelayProc(
    (data) => {
      const config = join(data, "relay.toml");
      writeFileSync(config, `grp_cover_rate = ${RATE}\n`);
      return ["--ws", "127.0.0.1:0", "--grp", "127.0.0.1:0", "--config", config];
    },
    (out) => /^smp:\/\//m.test(out) && grpLine.test(out),
  );
  const addr = /^(smp:\/\/\S+)$/m.exec(r.out)!;
  const grp = grpLine.exec(r.out)!;
  return { ...r, server: parseSMPServer(addr[1]!), grpUrl: `ws://${grp[1]!}/grp/1`, staticKey: b64url(grp[2]!) };
}

describe.runIf(HAVE_RELAY)("GRP/1 from TypeScript to the Python relay", () => {
  let relay: Relay;
  const sockets: GrpSocket[] = [];

  beforeAll(async () => {
    relay = await startRelay();
  });

  afterAll(async () => {
    for (const s of sockets) s.close();
    if (relay !== undefined) await stopRelayProc(relay);
  });

  function grp(staticKey = relay.staticKey): GrpSocket {
    const s = new GrpSocket(new WebSocket(relay.grpUrl), relay.server.keyHash, staticKey, { rate: RATE });
    sockets.push(s);
    return s;
  }

  it("runs the SMP client over GRP: a queue round trip, cover both ways", async () => {
    const events: ClientEvent[] = [];
    let wake: () => void = () => {};
    const socket = grp();
    const c = await SMPClient.connect(socket, relay.server.keyHash, {
      config: { pingInterval: null },
      onEvent: (e) => {
        events.push(e);
        wake();
      },
    });
    expect(toHex(c.sessionId)).toBe(toHex(socket.handshakeHash!));
    const rcvAuth = KeyPair.generate("Ed25519");
    const rcvDh = KeyPair.generate("X25519");
    const ids = await c.createQueue(rcvAuth, rcvDh);
    await c.send(ids.sndId, latin1("over GRP from TypeScript"));
    while (!events.some((e) => e.type === "message")) await new Promise<void>((r) => (wake = r));
    const ev = events.find((e) => e.type === "message")!;
    if (ev.type !== "message") throw new Error("unreachable");
    expect(decryptMessage(queueDhKey(rcvDh, ids.srvDhKey), ev.msg)).toMatchObject({ body: latin1("over GRP from TypeScript") });
    await new Promise((r) => setTimeout(r, 300));
    expect(socket.counters.sentData).toBeGreaterThanOrEqual(3); // hello, NEW, SEND
    expect(socket.counters.sentCover).toBeGreaterThan(0);
    expect(socket.counters.recvCover).toBeGreaterThan(0);
    c.close();
  });

  it("closes itself with a CLOSE at a tick once it reaches its maximum age; a new dial runs a new handshake", async () => {
    let now = 0; // the socket's clock (ms), moved by hand
    const hashes: string[] = [];
    for (let i = 0; i < 2; i++) {
      const s = new GrpSocket(new WebSocket(relay.grpUrl), relay.server.keyHash, relay.staticKey, { rate: RATE, maxAge: 6 * 3600 * 1000, clock: () => now });
      sockets.push(s);
      const c = await SMPClient.connect(s, relay.server.keyHash, { config: { pingInterval: null } });
      hashes.push(toHex(s.handshakeHash!));
      const cover = s.counters.sentCover;
      while (s.counters.sentCover < cover + 3) await new Promise((r) => setTimeout(r, 20));
      expect(s.readyState).toBe(1); // younger than its age: still open, ticking
      now += 6 * 3600 * 1000;
      const reason = await c.closed;
      expect(reason.message).toMatch(/closed/i);
      expect(s.readyState).toBe(3);
    }
    expect(hashes[0]).not.toBe(hashes[1]);
  });

  it("the reconnecting client dials GRP again at the maximum age and its queue is subscribed again", async () => {
    let now = 0;
    const hashes: string[] = [];
    const events: ClientEvent[] = [];
    let wake: () => void = () => {};
    const rc = new ReconnectingClient(
      (onEvent) => {
        const s = new GrpSocket(new WebSocket(relay.grpUrl), relay.server.keyHash, relay.staticKey, { rate: RATE, clock: () => now });
        sockets.push(s);
        return SMPClient.connect(s, relay.server.keyHash, { config: { pingInterval: null }, onEvent }).then((c) => {
          hashes.push(toHex(s.handshakeHash!));
          return c;
        });
      },
      { backoff: new Backoff(10, 10) },
    );
    rc.on((e) => {
      events.push(e);
      wake();
    });
    const until = async (f: () => boolean): Promise<void> => {
      while (!f()) await new Promise<void>((r) => (wake = r));
    };
    await rc.start();
    const rcvAuth = KeyPair.generate("Ed25519");
    const rcvDh = KeyPair.generate("X25519");
    const ids = await rc.createQueue(rcvAuth, rcvDh);
    now += 6 * 3600 * 1000; // the connection is 6 hours old: CLOSE at its next tick
    await until(() => events.some((e) => e.type === "reconnected"));
    expect(hashes.length).toBe(2);
    expect(hashes[0]).not.toBe(hashes[1]); // a new handshake
    const sender = await SMPClient.connect(grp(), relay.server.keyHash, { config: { pingInterval: null } });
    await sender.send(ids.sndId, latin1("after the new handshake"));
    await until(() => events.some((e) => e.type === "message"));
    const ev = events.find((e) => e.type === "message")!;
    if (ev.type !== "message") throw new Error("unreachable");
    expect(decryptMessage(queueDhKey(rcvDh, ids.srvDhKey), ev.msg)).toMatchObject({ body: latin1("after the new handshake") });
    sender.close();
    rc.close();
  });

  it("what the network sees is the same with and without messages: one frame size, only at ticks", async () => {
    const TICKS = 40;
    async function trace(chat: boolean): Promise<string[]> {
      let i = 0;
      let at = 0; // schedule time: the sum of the gaps asked for so far
      const out: string[] = [];
      const ws = new WebSocket(relay.grpUrl);
      const send = ws.send.bind(ws);
      ws.send = (d: Parameters<typeof ws.send>[0]) => {
        out.push(`${(d as Uint8Array).length}@${at.toFixed(3)}`);
        send(d);
      };
      const sleep = (ms: number): Promise<void> => {
        at += ms;
        return new Promise((r) => setTimeout(r, ms));
      };
      const s = new GrpSocket(ws, relay.server.keyHash, relay.staticKey, { rate: RATE, sleep, uniform: () => ((++i * 0.6180339887) % 1) });
      sockets.push(s);
      const c = await SMPClient.connect(s, relay.server.keyHash, { config: { pingInterval: null } });
      if (chat) {
        const ids = await c.createQueue(KeyPair.generate("Ed25519"), KeyPair.generate("X25519"));
        for (const t of ["one", "two", "three"]) await c.send(ids.sndId, latin1(t));
      }
      while (out.length < TICKS + 1) await new Promise((r) => setTimeout(r, 20));
      c.close();
      return out.slice(0, TICKS + 1);
    }
    const quiet = await trace(false);
    const talking = await trace(true);
    expect(quiet[0]).toBe("1297@0.000"); // message 1 of the handshake
    expect(new Set(quiet.slice(1).map((x) => x.split("@")[0]))).toEqual(new Set(["16401"]));
    expect(talking).toEqual(quiet);
  });

  it("a wrong relay static key fails the handshake: the connection closes, never opens", async () => {
    const other = KeyPair.generate("X25519").public.raw;
    const socket = grp(other);
    const closed = new Promise<boolean>((resolve) => {
      socket.addEventListener("open", () => resolve(false));
      socket.addEventListener("close", () => resolve(true));
    });
    expect(await closed).toBe(true);
  });
});
