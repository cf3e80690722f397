/**
 * The visitor's agent layers against the shared vectors, both directions, byte for byte:
 * agent_links.json, agent_ratchet.json (the reference ratchet test, exactly) and agent_protocol.json.
 */

import { describe, expect, it } from "vitest";

import { concat, latin1, toHex, utf8, Reader } from "../src/encoding.js";
import { CryptoError, DecodeError } from "../src/errors.js";
import { sha256, sha512 } from "../src/crypto/hash.js";
import { KeyPair, PrivateKey, PublicKey } from "../src/crypto/keys.js";
import { dhBoxKey } from "../src/crypto/nacl.js";
import { VersionRange } from "../src/smp/version.js";
import type { SMPServer } from "../src/smp/address.js";
import {
  AGENT_LINK_VERSIONS,
  ConnectionRequest,
  LinkError,
  parseLink,
  SHORT_LINK_MESSAGE,
  SMPQueueUri,
  SMP_CLIENT_VERSIONS,
} from "../src/agent/links.js";
import {
  chainKdf,
  E2E_VERSIONS,
  E2ERatchetParams,
  E2ERatchetParamsUri,
  encodeE2EParams,
  initJoinerRatchet,
  Ratchet,
  RatchetDuplicate,
  RatchetHeaderError,
  rootKdf,
  x3dhInitiator,
  x3dhJoiner,
} from "../src/agent/ratchet.js";
import {
  agentMessageHash,
  decodeClientMessage,
  decodeClientMsgEnvelope,
  decompressCompressedList,
  decryptClientMessage,
  E2E_CONFIRMATION_PAD,
  E2E_MESSAGE_PAD,
  encodeAgentEnvelope,
  encodeAgentMessage,
  encodeClientMessage,
  encodeClientMsgEnvelope,
  encodeSMPQueueInfo,
  encryptClientMessage,
  parseAgentEnvelope,
  parseAgentMessage,
  parseSMPQueueInfo,
  type AgentEnvelope,
  type AgentMessage,
  type AMessage,
  type ClientMessage,
  type QueueMessageTag,
} from "../src/agent/protocol.js";
import { encode, parseAll } from "../src/encoding.js";
import { percentDecode } from "../src/agent/strings.js";
import { ratchetFromJSON, ratchetToJSON } from "../src/agent/ratchet_json.js";
import "../src/agent/strict.js";
import { h, loadVectors } from "./vectors.js";

// --------------------------------------------------------------------------- agent_links.json

interface LinksFile {
  queue_uri: string;
  dh_key_spki_hex: string;
  key_hash_hex: string;
  sender_id_hex: string;
  contact_link: string;
  real_contact_link: string;
  real_contact_queue: string;
  e2e_value: string;
  invitation_link: string;
  queue_forms: [string, string][];
  link_forms: [string, string][];
  short_links: string[];
}

const L = loadVectors<LinksFile>("agent_links.json");
const ONION = "jjbyvoemxysm7qxap7m5d5m35jzv5qq6gnlv7s4rsn7tdwwmuqciwpid.onion";

describe("agent_links.json", () => {
  it("queue URI fields and string form", () => {
    const q = SMPQueueUri.parseStr(L.queue_uri);
    expect([q.versions.min, q.versions.max]).toEqual([SMP_CLIENT_VERSIONS.min, SMP_CLIENT_VERSIONS.max]);
    expect(q.server.hosts).toEqual(["smp.simplex.im", ONION]);
    expect(q.server.port).toBe(5223);
    expect(toHex(q.server.keyHash)).toBe(L.key_hash_hex);
    expect(toHex(q.senderId)).toBe(L.sender_id_hex);
    expect(toHex(q.dhPublicKey.toDer())).toBe(L.dh_key_spki_hex);
    expect(q.queueMode).toBe("M");
    expect(q.toStr()).toBe(L.queue_uri);
  });

  it.each(L.queue_forms)("queue form %s", (text, canonical) => {
    const q = SMPQueueUri.parseStr(text);
    expect(q.toStr()).toBe(canonical);
    expect(SMPQueueUri.parseStr(canonical).toStr()).toBe(canonical);
  });

  it.each(L.link_forms)("link form %s", (text, canonical) => {
    const cr = parseLink(text);
    expect(cr.toUri()).toBe(canonical);
    expect(parseLink(canonical).toUri()).toBe(canonical);
  });

  it("contact and invitation links", () => {
    const c = parseLink(L.contact_link);
    expect(c.mode).toBe("contact");
    expect([c.agentVersions.min, c.agentVersions.max]).toEqual([AGENT_LINK_VERSIONS.min, AGENT_LINK_VERSIONS.max]);
    expect(c.queues.map((q) => q.toStr())).toEqual([L.queue_uri]);
    expect(c.e2e).toBeNull();
    expect(c.toUri()).toBe(L.contact_link);
    const i = parseLink(L.invitation_link);
    expect(i.mode).toBe("invitation");
    expect(i.e2e!.versions.min).toBe(1);
    expect(i.e2e!.k1.equals(i.e2e!.k2)).toBe(true);
    expect(i.toUri().endsWith("&e2e=" + L.e2e_value)).toBe(true);
    expect(i.toUri()).toBe(L.invitation_link);
    const v1 = parseLink(L.contact_link.replace("simplex:/contact#/?v=2-7", "https://simplex.chat/contact#/?v=1"));
    expect([v1.agentVersions.min, v1.agentVersions.max]).toEqual([2, 2]);
  });

  it("the real-world contact link (https form, double-escaped dh, q=c)", () => {
    const cr = parseLink(L.real_contact_link);
    expect(cr.queues).toHaveLength(1);
    const q = cr.queues[0]!;
    expect(q.toStr()).toBe(L.real_contact_queue);
    expect(q.queueMode).toBe("C");
    expect(q.server.hosts).toEqual(["smp.simplego.dev"]);
    expect(q.server.port).toBeNull();
    expect(q.server.keyHash.length).toBe(32);
    expect(cr.toUri("simplex.chat")).toBe(L.real_contact_link);
  });

  it.each(L.short_links)("short link refused clearly: %s", (text) => {
    expect(() => parseLink(text)).toThrow(LinkError);
    expect(() => parseLink(text)).toThrow(SHORT_LINK_MESSAGE);
    expect(SHORT_LINK_MESSAGE).toContain("full link");
  });

  it("whitespace, unknown params, https host with port", () => {
    expect(parseLink(`  ${L.contact_link}\n`).toUri()).toBe(L.contact_link);
    expect(parseLink(L.contact_link + "&future=1&e2e=ignored").toUri()).toBe(L.contact_link);
    const cr = parseLink(L.contact_link.replace("simplex:/contact#", "https://example.com:8443/contact/#"));
    expect(cr.toUri("example.com:8443").startsWith("https://example.com:8443/contact#/?v=2-7&smp=")).toBe(true);
    expect(() => cr.toUri("bad/host")).toThrow(RangeError);
  });

  it.each([
    ["", "empty"],
    ["x".repeat(70000), "too long"],
    ["ftp://x/contact#/?v=2", "not a SimpleX link"],
    ["simplex://contact#/?v=2", "one slash"],
    ["simplex:contact#/?v=2", "expected '/'"],
    ["https:///contact#/?v=2", "host"],
    ["simplex:/group#/?v=2", "expected /contact#"],
    ["simplex:/contact?v=2", "'#/?'"],
    ["simplex:/contact#/?v=2&smp=a b", "space"],
    ["simplex:/contact#/?v=x&smp=a", "version range"],
    ["simplex:/contact#/?v=2-7", "smp= queue"],
    ["simplex:/contact#/?v=2-7&smp=nope", "smp://"],
    ["simplex:/contact#/?v=2-7&smp=smp%3A%2F%2F1234-w%3D%3D%40host%2F3456-w%3D%3D%23%2F%3Fv%3D1-4%26dh%3DAAAA", "not a public key"],
  ])("bad link %#: %s", (text, message) => {
    expect(() => parseLink(text)).toThrow(DecodeError);
    expect(() => parseLink(text)).toThrow(message);
  });

  it("our own invitation link round-trips (ConnectionRequest.toUri)", () => {
    const server: SMPServer = { hosts: ["localhost"], keyHash: new Uint8Array(32).fill(7), port: 5223, basicAuth: null };
    const k1 = KeyPair.generate("X448").public;
    const k2 = KeyPair.generate("X448").public;
    const dh = KeyPair.generate("X25519").public;
    const q = new SMPQueueUri(new VersionRange(1, 4), server, new Uint8Array(24).fill(9), dh, "M");
    const cr = new ConnectionRequest("invitation", new VersionRange(2, 7), [q], new E2ERatchetParamsUri(E2E_VERSIONS, k1, k2));
    const back = parseLink(cr.toUri());
    expect(back.toUri()).toBe(cr.toUri());
    expect(back.e2e!.toStr()).toBe(cr.e2e!.toStr());
    expect(back.queues[0]!.queueMode).toBe("M");
    expect(cr.toUri()).toContain("%26q%3Dm"); // q=m and no k=s at v1-4
  });
});

// --------------------------------------------------------------------------- agent_ratchet.json

interface RatchetFile {
  public_keys: Record<string, string>;
  x3dh: { hk: string; nhk: string; sk: string; ad: string };
  joiner_root_kdf: { rk: string; cks: string; nhks: string };
  chain_kdf: { ck: string; ck_next: string; mk: string; iv_msg: string; iv_hdr: string };
  confirmation: { version: number; body: string; pad_to: number; em_header: string; length: number; sha256: string };
  e2e_uri_haskell: { escaped: string; decoded: string };
  regression: {
    invitation_e2e: string;
    confirmation_params_v3: string;
    confirmation_params_v2: string;
    reply: { initiator_new_dh: string; body: string; pad_to: number; length: number; sha256: string; em_header: string };
    confirmation_v2: { version: number; max_version: number; body: string; pad_to: number; length: number; sha256: string; em_header: string };
  };
}

const R = loadVectors<RatchetFile>("agent_ratchet.json");

export function priv448(label: string): PrivateKey {
  return new PrivateKey("X448", sha512(latin1(label)).slice(0, 56));
}
const pair = (label: string): KeyPair => new KeyPair(priv448(label));

function vectorKeys(): ReturnType<typeof x3dhJoiner> {
  const inv = new E2ERatchetParamsUri(E2E_VERSIONS, priv448("a1").public(), priv448("a2").public());
  return x3dhJoiner(priv448("b1"), priv448("b2"), inv);
}

function initiatorFor(version: number, maxVersion = 3): Ratchet {
  const conf = new E2ERatchetParams(version, priv448("b1").public(), priv448("b2").public());
  const keys = x3dhInitiator(priv448("a1"), priv448("a2"), conf);
  return Ratchet.initInitiator(keys, pair("a2"), version, { maxVersion });
}

describe("agent_ratchet.json", () => {
  it("public keys from the labels", () => {
    for (const [label, pub] of Object.entries(R.public_keys)) expect(toHex(priv448(label).public().raw)).toBe(pub);
  });

  it("X3DH on both sides", () => {
    const j = vectorKeys();
    const conf = new E2ERatchetParams(3, priv448("b1").public(), priv448("b2").public());
    const i = x3dhInitiator(priv448("a1"), priv448("a2"), conf);
    for (const k of ["hk", "nhk", "sk", "ad"] as const) {
      expect(toHex(j[k])).toBe(R.x3dh[k]);
      expect(toHex(i[k])).toBe(R.x3dh[k]);
    }
    expect(R.x3dh.ad).toBe(R.public_keys.b1! + R.public_keys.a1!);
  });

  it("rootKdf and chainKdf", () => {
    const out = rootKdf(h(R.x3dh.sk), priv448("b3").dh(priv448("a2").public()));
    expect(out.map(toHex)).toEqual([R.joiner_root_kdf.rk, R.joiner_root_kdf.cks, R.joiner_root_kdf.nhks]);
    const c = R.chain_kdf;
    expect(chainKdf(h(c.ck)).map(toHex)).toEqual([c.ck_next, c.mk, c.iv_msg, c.iv_hdr]);
  });

  it("the joiner's confirmation, byte for byte, and the initiator (the widget) decrypts it", async () => {
    const c = R.confirmation;
    const joiner = initJoinerRatchet(vectorKeys(), priv448("a2").public(), c.version, { dhPair: pair("b3") });
    const [enc] = await joiner.encrypt(latin1(c.body), c.pad_to);
    expect(enc.length).toBe(c.length);
    expect(enc.length).toBe(2 + 124 + 16 + 14832);
    expect(toHex(enc.subarray(2, 126))).toBe(c.em_header);
    expect(toHex(sha256(enc))).toBe(c.sha256);
    const [pt, initiator] = await initiatorFor(c.version).decrypt(enc);
    expect(new TextDecoder().decode(pt)).toBe(c.body);
    expect(initiator.fields.snd).not.toBeNull();
  });

  it("the initiator's reply (regression), byte for byte, and the joiner decrypts it", async () => {
    const c = R.confirmation;
    const rep = R.regression.reply;
    const joiner0 = initJoinerRatchet(vectorKeys(), priv448("a2").public(), c.version, { dhPair: pair("b3") });
    const [enc, joiner] = await joiner0.encrypt(latin1(c.body), c.pad_to);
    const [, initiator] = await initiatorFor(3).decrypt(enc, pair(rep.initiator_new_dh));
    const [reply] = await initiator.encrypt(latin1(rep.body), rep.pad_to);
    expect(reply.length).toBe(rep.length);
    expect(toHex(reply.subarray(2, 126))).toBe(rep.em_header);
    expect(toHex(sha256(reply))).toBe(rep.sha256);
    const [pt] = await joiner.decrypt(reply);
    expect(new TextDecoder().decode(pt)).toBe(rep.body);
  });

  it("the v2 confirmation (1-byte lengths, no KEM field)", async () => {
    const c = R.regression.confirmation_v2;
    const joiner = initJoinerRatchet(vectorKeys(), priv448("a2").public(), 2, { dhPair: pair("b3"), maxVersion: c.max_version });
    const [enc] = await joiner.encrypt(latin1(c.body), c.pad_to);
    expect(enc[0]).toBe(123);
    expect(enc.length).toBe(c.length);
    expect(toHex(enc.subarray(1, 124))).toBe(c.em_header);
    expect(toHex(sha256(enc))).toBe(c.sha256);
    const [pt, initiator] = await initiatorFor(2).decrypt(enc);
    expect(new TextDecoder().decode(pt)).toBe(c.body);
    expect(initiator.version).toBe(2);
  });

  it("params encodings both ways, invitation e2e string, Haskell e2e URI", () => {
    const reg = R.regression;
    const b1 = priv448("b1").public();
    const b2 = priv448("b2").public();
    for (const [v, hex] of [
      [3, reg.confirmation_params_v3],
      [2, reg.confirmation_params_v2],
    ] as const) {
      const p = new E2ERatchetParams(v, b1, b2);
      expect(toHex(encodeE2EParams(p))).toBe(hex);
      const back = parseAll(h(hex), (r) => E2ERatchetParams.parse(r));
      expect(back.version).toBe(v);
      expect(back.k1.equals(b1) && back.k2.equals(b2)).toBe(true);
    }
    const inv = new E2ERatchetParamsUri(E2E_VERSIONS, priv448("a1").public(), priv448("a2").public());
    expect(inv.toStr()).toBe(reg.invitation_e2e);
    expect(E2ERatchetParamsUri.parseStr(reg.invitation_e2e).toStr()).toBe(inv.toStr());
    const hs = R.e2e_uri_haskell;
    expect(percentDecode(hs.escaped)).toBe(hs.decoded);
    const uri = E2ERatchetParamsUri.parseStr(hs.decoded);
    expect(uri.versions.min).toBe(1);
    expect(uri.toStr()).toBe(hs.decoded);
    expect(E2ERatchetParamsUri.parseStr(hs.decoded.replace("=,", ",")).toStr()).toBe(uri.toStr());
  });

  it("a conversation: skipped and late messages, duplicates, state through JSON", async () => {
    const c = R.confirmation;
    let joiner = initJoinerRatchet(vectorKeys(), priv448("a2").public(), 3, { dhPair: pair("b3") });
    let initiator = initiatorFor(3);
    const send = (r: Ratchet, t: string): Promise<[Uint8Array, Ratchet]> => r.encrypt(utf8(t), 200);
    let e: Uint8Array;
    [e, joiner] = await send(joiner, c.body);
    [, initiator] = await initiator.decrypt(e);
    const out: Uint8Array[] = [];
    for (let i = 0; i < 4; i++) {
      [e, initiator] = await send(initiator, `i${i}`);
      out.push(e);
    }
    // delivered as 3, 0, 2, 1 (skipped keys), then 1 again (gone)
    for (const i of [3, 0, 2, 1]) {
      const [pt, next] = await joiner.decrypt(out[i]!);
      expect(new TextDecoder().decode(pt)).toBe(`i${i}`);
      joiner = ratchetFromJSON(ratchetToJSON(next));
      expect(ratchetToJSON(joiner)).toBe(ratchetToJSON(next));
    }
    expect(joiner.skippedCount).toBe(0);
    await expect(joiner.decrypt(out[1]!)).rejects.toThrow("earlier message");
    await expect(joiner.decrypt(out[3]!)).rejects.toThrow(RatchetDuplicate);
    const foreign = out[0]!.slice();
    foreign[5]! ^= 1; // inside the header IV: no header key opens it
    await expect(joiner.decrypt(foreign)).rejects.toThrow(RatchetHeaderError);
    [e, joiner] = await send(joiner, "back");
    const [pt, i2] = await initiator.decrypt(e);
    expect(new TextDecoder().decode(pt)).toBe("back");
    await expect(i2.decrypt(e)).rejects.toThrow(RatchetDuplicate);
    // tampering is opaque
    const bad = e.slice();
    bad[bad.length - 1]! ^= 1;
    await expect(initiator.decrypt(bad)).rejects.toThrow(CryptoError);
    expect(() => ratchetFromJSON("{}")).toThrow(DecodeError);
    expect(() => ratchetFromJSON("[")).toThrow(DecodeError);
  });
});

// --------------------------------------------------------------------------- agent_protocol.json

interface ProtocolFile {
  common: { dh_key_der: string; key_hash: string; sender_id: string; hosts: string[]; port: number };
  smp_queue_info: { name: string; version: number; hosts: number; port: number | null; mode: "M" | "C" | null; hex: string }[];
  smp_queue_info_parse_only: { name: string; hex: string; hosts: string[]; mode: "M" | "C" | null }[];
  agent_conn_info_reply: { host: string; port: number; sender_id: string; dh_key_der: string; conn_info: string; hex: string; sha256: string };
  agent_conn_info: { conn_info: string; hex: string };
  agent_ratchet_info: { info: string; hex: string };
  agent_messages: {
    name: string;
    snd_msg_id: number;
    prev_msg_hash: string;
    kind: string;
    body?: string;
    receipts?: [number, string, string][];
    last_decrypted_msg_id?: number;
    hex: string;
    sha256: string;
  }[];
  queue_messages: { name: string; tag: QueueMessageTag; raw: string }[];
  queue_messages_invalid: { name: string; hex: string }[];
  e2e_keys: { k1_der: string; k2_der: string };
  enc_ratchet_message: string;
  envelopes: { name: string; kind: "C" | "M" | "R"; agent_version: number; e2e_version?: number | null; hex: string; info?: string }[];
  envelopes_parse_only: { name: string; agent_version: number; hex: string }[];
  invitation_envelope: {
    sender_priv: string;
    recipient_priv: string;
    nonce: string;
    conn_req: string;
    conn_info: string;
    agent_envelope_hex: string;
    client_message_hex: string;
    prefix_hex: string;
    length: number;
    sha256: string;
  };
  queue_envelopes: {
    sender_priv: string;
    recipient_priv: string;
    auth_key_der: string;
    cases: { name: string; client_message_hex: string; nonce: string; prefix_hex: string; length: number; sha256: string }[];
  };
  compressed: { bodies: string[]; list_hex: string; frame_hex: string; at_cap_list_hex: string };
  compressed_invalid: { name: string; hex: string }[];
}

const P = loadVectors<ProtocolFile>("agent_protocol.json");
const DH_KEY = PublicKey.fromDer(h(P.common.dh_key_der));
const K1 = PublicKey.fromDer(h(P.e2e_keys.k1_der));
const K2 = PublicKey.fromDer(h(P.e2e_keys.k2_der));
const ENC_RM = h(P.enc_ratchet_message);

function x25519(seed: string): PrivateKey {
  return new PrivateKey("X25519", sha256(latin1(seed)));
}

function amessage(c: ProtocolFile["agent_messages"][number]): AMessage {
  if (c.kind === "A_MSG") return { tag: "A_MSG", body: utf8(c.body!) };
  if (c.kind === "HELLO") return { tag: "HELLO" };
  if (c.kind === "EREADY") return { tag: "EREADY", lastDecryptedMsgId: BigInt(c.last_decrypted_msg_id!) };
  return { tag: "A_RCVD", receipts: c.receipts!.map(([i, hh, info]) => ({ agentMsgId: BigInt(i), msgHash: h(hh), rcptInfo: h(info) })) };
}

describe("agent_protocol.json", () => {
  it.each(P.smp_queue_info.map((c) => [c.name, c] as const))("SMPQueueInfo %s", (_n, c) => {
    const server: SMPServer = { hosts: P.common.hosts.slice(0, c.hosts), keyHash: h(P.common.key_hash), port: c.port, basicAuth: null };
    const q = { clientVersion: c.version, server, senderId: h(P.common.sender_id), dhPublicKey: DH_KEY, queueMode: c.mode };
    expect(toHex(encode((w) => encodeSMPQueueInfo(w, q)))).toBe(c.hex);
    const back = parseAll(h(c.hex), parseSMPQueueInfo);
    expect(toHex(encode((w) => encodeSMPQueueInfo(w, back)))).toBe(c.hex);
    expect(back.server.hosts).toEqual(server.hosts);
    expect(back.server.port).toBe(c.port);
  });

  it.each(P.smp_queue_info_parse_only.map((c) => [c.name, c] as const))("SMPQueueInfo parse only: %s", (_n, c) => {
    const q = parseAll(h(c.hex), parseSMPQueueInfo);
    expect(q.server.hosts).toEqual(c.hosts);
    expect(q.queueMode).toBe(c.mode);
  });

  it("AgentConnInfoReply, AgentConnInfo, AgentRatchetInfo", () => {
    const c = P.agent_conn_info_reply;
    const q = {
      clientVersion: 4,
      server: { hosts: [c.host], keyHash: h(P.common.key_hash), port: c.port, basicAuth: null },
      senderId: h(c.sender_id),
      dhPublicKey: PublicKey.fromDer(h(c.dh_key_der)),
      queueMode: "M" as const,
    };
    const msg: AgentMessage = { tag: "D", queues: [q], connInfo: utf8(c.conn_info) };
    expect(toHex(encodeAgentMessage(msg))).toBe(c.hex);
    expect(toHex(encodeAgentMessage(parseAgentMessage(h(c.hex))))).toBe(c.hex);
    expect(toHex(agentMessageHash(encodeAgentMessage(msg)))).toBe(c.sha256);
    const i = P.agent_conn_info;
    expect(toHex(encodeAgentMessage({ tag: "I", connInfo: utf8(i.conn_info) }))).toBe(i.hex);
    expect(parseAgentMessage(h(i.hex))).toEqual({ tag: "I", connInfo: utf8(i.conn_info) });
    expect(toHex(encodeAgentMessage({ tag: "R", info: utf8(P.agent_ratchet_info.info) }))).toBe(P.agent_ratchet_info.hex);
  });

  it.each(P.agent_messages.map((c) => [c.name, c] as const))("AgentMessage %s", (_n, c) => {
    const msg: AgentMessage = { tag: "M", header: { sndMsgId: BigInt(c.snd_msg_id), prevMsgHash: h(c.prev_msg_hash) }, message: amessage(c) };
    const enc = encodeAgentMessage(msg);
    expect(toHex(enc)).toBe(c.hex);
    expect(parseAgentMessage(enc)).toEqual(msg);
    expect(toHex(agentMessageHash(enc))).toBe(c.sha256);
  });

  it.each(P.queue_messages.map((c) => [c.name, c] as const))("queue message %s parses (not acted on)", (_n, c) => {
    const data = concat(latin1("M"), new Uint8Array(8), Uint8Array.of(0), latin1(c.tag), h(c.raw));
    const msg = parseAgentMessage(data);
    expect(msg).toEqual({ tag: "M", header: { sndMsgId: 0n, prevMsgHash: new Uint8Array(0) }, message: { tag: "QUEUE", qtag: c.tag, raw: h(c.raw) } });
    expect(toHex(encodeAgentMessage(msg))).toBe(toHex(data));
  });

  it.each(P.queue_messages_invalid.map((c) => [c.name, c] as const))("invalid queue message %s", (_n, c) => {
    expect(() => parseAgentMessage(h(c.hex))).toThrow(DecodeError);
  });

  it.each([
    "",
    "58",
    "4d0000000000000000",
    "4d000000000000000000",
    "4d0000000000000000005a",
    "4d0000000000000000004878",
    "4d00000000000000000056 00".replace(" ", ""),
    "4400",
  ])("invalid AgentMessage %s", (hex) => {
    expect(() => parseAgentMessage(h(hex))).toThrow(DecodeError);
  });

  it.each(P.envelopes.map((c) => [c.name, c] as const))("envelope %s", (_n, c) => {
    const e2e = c.e2e_version === null || c.e2e_version === undefined ? null : new E2ERatchetParams(c.e2e_version, K1, K2);
    let env: AgentEnvelope;
    if (c.kind === "C") env = { tag: "C", agentVersion: c.agent_version, e2e, encConnInfo: ENC_RM };
    else if (c.kind === "M") env = { tag: "M", agentVersion: c.agent_version, encAgentMessage: ENC_RM };
    else env = { tag: "R", agentVersion: c.agent_version, e2e: e2e!, info: utf8(c.info!) };
    expect(toHex(encodeAgentEnvelope(env))).toBe(c.hex);
    const back = parseAgentEnvelope(h(c.hex));
    expect(toHex(encodeAgentEnvelope(back))).toBe(c.hex);
    expect(back.tag).toBe(c.kind);
  });

  it.each(P.envelopes_parse_only.map((c) => [c.name, c] as const))("envelope with KEM parses: %s", (_n, c) => {
    const env = parseAgentEnvelope(h(c.hex));
    if (env.tag !== "C" || env.e2e === null) throw new Error("expected a confirmation with params");
    expect(env.agentVersion).toBe(c.agent_version);
    expect(env.e2e.peerOfferedKem).toBe(true);
    expect(env.e2e.k1.equals(K1) && env.e2e.k2.equals(K2)).toBe(true);
    expect(toHex(env.encConnInfo)).toBe(P.enc_ratchet_message);
  });

  it("AgentInvitation in its per-queue box (agentCbEncryptOnce)", () => {
    const c = P.invitation_envelope;
    const inv: AgentEnvelope = { tag: "I", agentVersion: 7, connReq: utf8(c.conn_req), connInfo: utf8(c.conn_info) };
    expect(toHex(encodeAgentEnvelope(inv))).toBe(c.agent_envelope_hex);
    expect(parseAgentEnvelope(h(c.agent_envelope_hex))).toEqual(inv);
    const cm: ClientMessage = { privHeader: { tag: "_" }, body: encodeAgentEnvelope(inv) };
    expect(toHex(encodeClientMessage(cm))).toBe(c.client_message_hex);
    const eph = x25519("invitation-ephemeral");
    const rcv = x25519("contact-queue-e2e");
    expect(toHex(eph.exportRaw())).toBe(c.sender_priv);
    expect(toHex(rcv.exportRaw())).toBe(c.recipient_priv);
    const nonce = h(c.nonce);
    const box = encryptClientMessage(dhBoxKey(rcv.public(), eph), nonce, encodeClientMessage(cm), E2E_CONFIRMATION_PAD);
    const env = encodeClientMsgEnvelope({ phVersion: 4, e2eKey: eph.public(), nonce, encBody: box });
    expect(env.length).toBe(c.length);
    expect(toHex(env).startsWith(c.prefix_hex)).toBe(true);
    expect(toHex(sha256(env))).toBe(c.sha256);
    const got = decodeClientMsgEnvelope(env);
    expect(got.phVersion).toBe(4);
    expect(got.e2eKey!.equals(eph.public())).toBe(true);
    const plain = decryptClientMessage(dhBoxKey(got.e2eKey!, rcv), got.nonce, got.encBody);
    expect(parseAgentEnvelope(decodeClientMessage(plain).body)).toEqual(inv);
  });

  it.each(P.queue_envelopes.cases.map((c) => [c.name, c] as const))("queue envelope %s", (_n, c) => {
    const q = P.queue_envelopes;
    const snd = x25519("joiner-queue-sender");
    const rcv = x25519("initiator-queue-e2e");
    expect(toHex(snd.exportRaw())).toBe(q.sender_priv);
    expect(toHex(rcv.exportRaw())).toBe(q.recipient_priv);
    const first = !c.name.includes("message");
    const cm: ClientMessage = first
      ? {
          privHeader: c.name.includes("slow") ? { tag: "K", senderKey: PublicKey.fromDer(h(q.auth_key_der)) } : { tag: "_" },
          body: encodeAgentEnvelope({ tag: "C", agentVersion: 7, e2e: new E2ERatchetParams(3, K1, K2), encConnInfo: ENC_RM }),
        }
      : { privHeader: { tag: "_" }, body: encodeAgentEnvelope({ tag: "M", agentVersion: 7, encAgentMessage: ENC_RM }) };
    expect(toHex(encodeClientMessage(cm))).toBe(c.client_message_hex);
    expect(toHex(encodeClientMessage(decodeClientMessage(encodeClientMessage(cm))))).toBe(c.client_message_hex);
    const nonce = h(c.nonce);
    const box = encryptClientMessage(dhBoxKey(rcv.public(), snd), nonce, encodeClientMessage(cm), first ? E2E_CONFIRMATION_PAD : E2E_MESSAGE_PAD);
    const env = encodeClientMsgEnvelope({ phVersion: 4, e2eKey: first ? snd.public() : null, nonce, encBody: box });
    expect(env.length).toBe(c.length);
    expect(toHex(env).startsWith(c.prefix_hex)).toBe(true);
    expect(toHex(sha256(env))).toBe(c.sha256);
    const got = decodeClientMsgEnvelope(env);
    const plain = decryptClientMessage(dhBoxKey(snd.public(), rcv), got.nonce, got.encBody);
    expect(toHex(plain)).toBe(c.client_message_hex);
    const tampered = box.slice();
    tampered[0]! ^= 1;
    expect(() => decryptClientMessage(dhBoxKey(snd.public(), rcv), got.nonce, tampered)).toThrow(CryptoError);
  });

  it("compressed batch", () => {
    const c = P.compressed;
    const out = decompressCompressedList(h(c.list_hex));
    expect(out.map((b) => new TextDecoder().decode(b))).toEqual(c.bodies);
    expect(decompressCompressedList(h(c.at_cap_list_hex))[0]!.length).toBe(65536);
    expect(() => decompressCompressedList(h(c.at_cap_list_hex), 65535)).toThrow(DecodeError);
  });

  it.each(P.compressed_invalid.map((c) => [c.name, c] as const))("invalid compressed: %s", (_n, c) => {
    expect(() => decompressCompressedList(h(c.hex))).toThrow(DecodeError);
  });

  it("reader helpers stay bounded", () => {
    expect(() => new Reader(new Uint8Array(0)).byte()).toThrow(DecodeError);
  });
});
