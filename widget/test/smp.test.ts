import { describe, expect, it } from "vitest";

import { DecodeError } from "../src/errors.js";
import { concat, encode, latin1, toHex } from "../src/encoding.js";
import { sha256 } from "../src/crypto/hash.js";
import { cbAuthenticate, cbNonce } from "../src/crypto/nacl.js";
import { PrivateKey, PublicKey } from "../src/crypto/keys.js";
import { MAX_BATCH_PAYLOAD, SMP_BLOCK_SIZE } from "../src/limits.js";
import {
  batchTransmissions,
  BlockChain,
  decodeBatch,
  decodeBlock,
  encodeBatch,
  encodeBlock,
  padBlock,
  unpadBlock,
} from "../src/smp/block.js";
import {
  CommandDecodeError,
  decodeCommand,
  decodeResponse,
  encodeCommand,
  encodeResponse,
  type BrokerMsg,
  type Command,
} from "../src/smp/commands.js";
import {
  decodeErrorType,
  decodeTransportError,
  encodeTransportError,
  errorTypeBytes,
  type TransportError,
} from "../src/smp/errors.js";
import { parseAll } from "../src/smp/reader.js";
import { encodeServerBinary, formatHosts, parseLocation, parseServerBinary, withExtraHosts } from "../src/smp/address.js";
import {
  chainLengthOk,
  decodeClientHello,
  decodeServerHello,
  decodeServiceResponse,
  encodeClientHello,
  encodeServerHello,
  encodeServiceResponse,
  negotiateClient,
} from "../src/smp/hello.js";
import { decodeRcvMsgBody, encodeRcvMsgBody, padRcvMsgBody, unpadRcvMsgBody, type RcvMessage } from "../src/smp/msgbody.js";
import {
  authorizedBytes,
  decodeClientTransmission,
  decodeServerBatch,
  decodeServerTransmission,
  encodeClientTransmission,
  encodeServerTransmission,
  parseTransmission,
} from "../src/smp/transmission.js";
import { compatible, maxMessageLength, VersionRange } from "../src/smp/version.js";
import { big, fromPlain, h, loadVectors, toPlain } from "./vectors.js";

// ------------------------------------------------------------------------------ versions

interface VersionsFile {
  compatible: [[number, number], [number, number], number | null][];
  intersect: [[number, number], [number, number], [number, number] | null][];
  capped: [[number, number], number, [number, number] | null][];
  encoded: { min: number; max: number; hex: string }[];
  invalid_hex: string[];
}

describe("smp_versions.json", () => {
  const V = loadVectors<VersionsFile>("smp_versions.json");
  const vr = ([a, b]: [number, number]): VersionRange => new VersionRange(a, b);
  it("compatible, intersect, capped", () => {
    for (const [a, b, r] of V.compatible) {
      expect(compatible(vr(a), vr(b))).toBe(r);
      expect(compatible(vr(b), vr(a))).toBe(r);
    }
    for (const [a, b, r] of V.intersect) expect(vr(a).intersect(vr(b))).toEqual(r === null ? null : vr(r));
    for (const [a, v, r] of V.capped) expect(vr(a).capped(v)).toEqual(r === null ? null : vr(r));
  });
  it("encoding both ways", () => {
    for (const e of V.encoded) {
      expect(toHex(encode((w) => new VersionRange(e.min, e.max).encode(w)))).toBe(e.hex);
      expect(parseAllRange(e.hex)).toEqual(new VersionRange(e.min, e.max));
    }
    for (const x of V.invalid_hex) expect(() => parseAllRange(x)).toThrow(DecodeError);
    expect(() => new VersionRange(7, 6)).toThrow(RangeError);
    expect([maxMessageLength(6), maxMessageLength(8), maxMessageLength(11), maxMessageLength(18)]).toEqual([16088, 16064, 16048, 16048]);
  });
});

function parseAllRange(hex: string): VersionRange {
  return parseAll(h(hex), (r) => VersionRange.parse(r));
}

// ------------------------------------------------------------------------------ hellos

interface HelloFile {
  real_v6_hello_hex: string;
  session_id_hex: string;
  leaf_cert_hex: string;
  ca_cert_hex: string;
  signed_key_hex: string;
  key_hash_hex: string;
  server_hellos: { min: number; max: number; with_cert_key: boolean; hex: string }[];
  client_hellos: { version: number; session_key: boolean; proxy_server?: boolean; service?: string; hex: string }[];
  service_responses: { hex: string; accepted?: string; rejected?: string }[];
}

describe("smp_hello.json", () => {
  const V = loadVectors<HelloFile>("smp_hello.json");
  const certKey = { certChain: [h(V.leaf_cert_hex), h(V.ca_cert_hex)], signedKey: h(V.signed_key_hex) };
  const X = PublicKey.fromDer(h("302a300506032b656e032100ae2cbe1dc011221aac8128d59e32aaa1fb7ecbaa71af1758ebcce7e3e2e36214"));

  it("server hellos both ways", () => {
    for (const s of V.server_hellos) {
      const hello = { versionRange: new VersionRange(s.min, s.max), sessionId: h(V.session_id_hex), certKey: s.with_cert_key ? certKey : null };
      expect(toHex(encodeServerHello(hello))).toBe(s.hex);
      expect(decodeServerHello(h(s.hex))).toEqual(hello);
      // lenient: trailing bytes are ignored
      expect(decodeServerHello(h(s.hex + "ff00"))).toEqual(hello);
    }
    const v6 = decodeServerHello(h(V.real_v6_hello_hex));
    expect(v6.versionRange).toEqual(new VersionRange(6, 6));
    expect(toHex(v6.sessionId)).toBe(V.session_id_hex);
    expect(chainLengthOk(certKey)).toBe(true);
    expect(chainLengthOk({ certChain: [certKey.certChain[0]!], signedKey: certKey.signedKey })).toBe(false);
    expect(() => decodeServerHello(h("0007"))).toThrow(DecodeError);
  });

  it("client hellos both ways", () => {
    for (const c of V.client_hellos) {
      const data = h(c.hex);
      const hello = decodeClientHello(data);
      expect(hello.version).toBe(c.version);
      expect(toHex(hello.keyHash)).toBe(V.key_hash_hex);
      expect(hello.sessionKey === null ? null : hello.sessionKey.equals(X)).toBe(c.session_key ? true : null);
      expect(hello.proxyServer).toBe(c.proxy_server ?? false);
      expect(hello.clientService?.role ?? null).toBe(c.service ?? null);
      expect(toHex(encodeClientHello(hello))).toBe(c.hex);
      if (c.service === undefined && !(c.proxy_server ?? false)) {
        const built = encodeClientHello({ version: c.version, keyHash: h(V.key_hash_hex), sessionKey: c.session_key ? X : null, proxyServer: false, clientService: null });
        expect(toHex(built)).toBe(c.hex);
      }
    }
  });

  it("service responses both ways", () => {
    for (const s of V.service_responses) {
      const r = decodeServiceResponse(h(s.hex));
      if (s.accepted !== undefined) expect(r).toEqual({ accepted: true, serviceId: h(s.accepted) });
      else {
        expect(r.accepted).toBe(false);
        if (!r.accepted) expect(toHex(encode((w) => w.bytes(errorTypeBytesOfTransport(r.error))))).toBe(toHex(latin1(s.rejected!)));
      }
      expect(toHex(encodeServiceResponse(r))).toBe(s.hex);
    }
  });

  it("client-side negotiation", () => {
    const client = new VersionRange(11, 18);
    expect(negotiateClient(new VersionRange(6, 18), client, { serverHasKey: true, clientHasKey: true })).toEqual({
      version: 18,
      versionRange: new VersionRange(11, 18),
      blockEncryption: true,
    });
    expect(negotiateClient(new VersionRange(6, 9), client, { serverHasKey: true, clientHasKey: true })).toBeNull();
    expect(negotiateClient(new VersionRange(6, 11), new VersionRange(7, 18), { serverHasKey: false, clientHasKey: true })?.blockEncryption).toBe(false);
    expect(negotiateClient(new VersionRange(6, 12), new VersionRange(7, 18), { serverHasKey: true, clientHasKey: true, proxyServer: true })?.version).toBe(10);
  });
});

function errorTypeBytesOfTransport(e: TransportError): Uint8Array {
  return encode((w) => encodeTransportError(w, e));
}

// ------------------------------------------------------------------------------ commands

interface CommandsFile {
  values: { commands: Record<string, unknown>; responses: Record<string, unknown> };
  commands: { name: string; version: number; hex: string; decoded: unknown }[];
  responses: { name: string; version: number; hex: string; decoded: unknown }[];
  invalid_commands: { hex: string; error: string; note: string }[];
}

/** The commands and responses the visitor implements; the others are UNKNOWN to it. */
const VISITOR_COMMANDS = new Set(["NEW", "KEY", "SKEY", "LKEY", "SEND", "ACK", "SUB", "GET", "OFF", "DEL", "PING", "LGET"]);
const VISITOR_RESPONSES = new Set(["IDS", "LNK", "SOK", "MSG", "ERR", "OK", "END", "DELD", "PONG"]);

const tagOf = (v: unknown): string => (v as { tag: string }).tag;

// The values and what a peer of each version decodes are in the vector file (written from the
// Python case table by tests/smp/make_vectors.py), so nothing here mirrors that table by hand.
describe("smp_commands.json", () => {
  const V = loadVectors<CommandsFile>("smp_commands.json");
  const known = V.commands.filter((c) => VISITOR_COMMANDS.has(tagOf(V.values.commands[c.name])));
  const other = V.commands.filter((c) => !VISITOR_COMMANDS.has(tagOf(V.values.commands[c.name])));

  it("every command and response has a value and every row a decoded value", () => {
    for (const c of V.commands) expect(V.values.commands[c.name]).toBeDefined();
    for (const c of V.responses) expect(V.values.responses[c.name]).toBeDefined();
    for (const c of [...V.commands, ...V.responses]) expect(c.decoded).toBeDefined();
    expect(new Set(known.map((c) => tagOf(c.decoded)))).toEqual(VISITOR_COMMANDS);
  });

  it.each(known.map((c) => [`${c.name} v${c.version}`, c] as const))("%s both ways", (_n, c) => {
    expect(toHex(encodeCommand(c.version, fromPlain<Command>(V.values.commands[c.name])))).toBe(c.hex);
    expect(toPlain(decodeCommand(c.version, h(c.hex)))).toEqual(c.decoded);
    expect(toHex(encodeCommand(c.version, fromPlain<Command>(c.decoded)))).toBe(c.hex);
  });

  it("commands the visitor never sends are UNKNOWN to it", () => {
    expect(other.length).toBeGreaterThan(0);
    for (const c of other) expect(() => decodeCommand(c.version, h(c.hex))).toThrow(CommandDecodeError);
  });

  const knownResp = V.responses.filter((c) => VISITOR_RESPONSES.has(tagOf(V.values.responses[c.name])));
  it.each(knownResp.map((c) => [`${c.name} v${c.version}`, c] as const))("%s both ways", (_n, c) => {
    expect(toHex(encodeResponse(c.version, fromPlain<BrokerMsg>(V.values.responses[c.name])))).toBe(c.hex);
    const got = decodeResponse(c.version, h(c.hex));
    expect(toPlain(got)).toEqual(c.decoded);
    expect(toHex(encodeResponse(c.version, got))).toBe(c.hex);
  });

  it("other responses decode as CMD UNKNOWN; PKEY and PRES pass their parameters through", () => {
    for (const c of V.responses.filter((x) => !VISITOR_RESPONSES.has(tagOf(V.values.responses[x.name])))) {
      const tag = tagOf(V.values.responses[c.name]);
      if (tag === "PKEY" || tag === "PRES") {
        const got = decodeResponse(c.version, h(c.hex));
        expect(got).toEqual({ tag, data: h(c.hex).subarray(5) });
        expect(toHex(encodeResponse(c.version, got))).toBe(c.hex);
        continue;
      }
      try {
        decodeResponse(c.version, h(c.hex));
        throw new Error(`${c.name} decoded`);
      } catch (e) {
        expect(e).toBeInstanceOf(CommandDecodeError);
        expect((e as CommandDecodeError).error).toBe("UNKNOWN");
      }
    }
  });

  it.each(V.invalid_commands.map((c) => [`${c.note} (${c.hex.slice(0, 16)})`, c] as const))("invalid: %s", (_n, c) => {
    const tag = Buffer.from(h(c.hex)).toString("latin1").split(" ")[0]!;
    const want = VISITOR_COMMANDS.has(tag) ? c.error : "UNKNOWN";
    try {
      decodeCommand(18, h(c.hex));
      throw new Error("decoded");
    } catch (e) {
      expect(e).toBeInstanceOf(CommandDecodeError);
      expect((e as CommandDecodeError).error).toBe(want);
    }
  });
});

// ------------------------------------------------------------------------------ errors

interface ErrorsFile {
  canonical_hex: string[];
  noncanonical_hex: [string, string][];
  invalid_hex: string[];
  transport_errors_hex: string[];
}

describe("smp_errors.json", () => {
  const V = loadVectors<ErrorsFile>("smp_errors.json");
  it.each(V.canonical_hex.map((x) => [Buffer.from(h(x)).toString("latin1"), x] as const))("canonical %s", (_n, x) => {
    expect(toHex(errorTypeBytes(decodeErrorType(h(x))))).toBe(x);
  });
  it.each(V.noncanonical_hex.map(([a, b]) => [Buffer.from(h(a)).toString("latin1"), a, b] as const))("non-canonical %s", (_n, a, b) => {
    expect(toHex(errorTypeBytes(decodeErrorType(h(a))))).toBe(b);
  });
  it.each(V.invalid_hex.map((x) => [Buffer.from(h(x)).toString("latin1"), x] as const))("invalid %s", (_n, x) => {
    expect(() => decodeErrorType(h(x))).toThrow(DecodeError);
  });
  it("transport errors", () => {
    for (const x of V.transport_errors_hex) expect(toHex(errorTypeBytesOfTransport(decodeTransportError(h(x))))).toBe(x);
    expect(() => decodeTransportError(latin1("HANDSHAKE NOPE"))).toThrow(DecodeError);
  });
});

// ------------------------------------------------------------------------------ transmissions

interface TransmissionsFile {
  session_id_hex: string;
  client: {
    name: string;
    version: number;
    auth_hex: string;
    service_sig_hex: string | null;
    corr_id_hex: string;
    entity_id_hex: string;
    command_hex: string;
    hex: string;
    authorized_hex: string;
  }[];
  server: { name: string; version: number; corr_id_hex: string; entity_id_hex: string; response: string; hex: string }[];
  invalid_client: { version: number; hex: string; error: string; corr_id_hex: string; note: string }[];
  cb_authenticator: {
    server_session_priv_hex: string;
    queue_priv_hex: string;
    session_id_hex: string;
    corr_id_hex: string;
    entity_id_hex: string;
    command_hex: string;
    authorized_hex: string;
    authenticator_hex: string;
  };
}

describe("smp_transmissions.json", () => {
  const V = loadVectors<TransmissionsFile>("smp_transmissions.json");
  const sess = h(V.session_id_hex);

  it.each(V.client.map((c) => [c.name, c] as const))("client %s both ways", (_n, c) => {
    const sig = c.service_sig_hex === null ? null : h(c.service_sig_hex);
    const t = encodeClientTransmission(c.version, sess, h(c.corr_id_hex), h(c.entity_id_hex), h(c.command_hex), h(c.auth_hex), sig);
    expect(toHex(t)).toBe(c.hex);
    expect(toHex(authorizedBytes(sess, h(c.corr_id_hex), h(c.entity_id_hex), h(c.command_hex)))).toBe(c.authorized_hex);
    const raw = parseTransmission(h(c.hex), c.version, sess);
    expect(toHex(raw.auth)).toBe(c.auth_hex);
    expect(raw.serviceSig === null ? null : toHex(raw.serviceSig)).toBe(c.service_sig_hex);
    expect(toHex(raw.authorized)).toBe(c.authorized_hex);
    expect(toHex(raw.corrId)).toBe(c.corr_id_hex);
    expect(toHex(raw.entityId)).toBe(c.entity_id_hex);
    expect(toHex(raw.command)).toBe(c.command_hex);
  });

  const responseOf: Record<string, BrokerMsg> = {
    OK: { tag: "OK" },
    PONG: { tag: "PONG" },
    "ERR CMD SYNTAX": { tag: "ERR", error: { tag: "CMD", error: "SYNTAX" } },
  };
  it.each(V.server.map((s) => [s.name, s] as const))("server %s both ways", (_n, s) => {
    const msg = responseOf[s.response]!;
    expect(toHex(encodeServerTransmission(s.version, sess, h(s.corr_id_hex), h(s.entity_id_hex), msg))).toBe(s.hex);
    const t = decodeServerTransmission(h(s.hex), s.version, sess);
    expect(t).toEqual({ corrId: h(s.corr_id_hex), entityId: h(s.entity_id_hex), result: { ok: true, msg } });
  });

  it("client decode failures", () => {
    const bad = decodeServerTransmission(h("00"), 18, sess);
    expect(bad.result).toEqual({ ok: false, error: { tag: "BLOCK" } });
    const wrongSession = encodeServerTransmission(6, new Uint8Array(32), latin1("abcd"), new Uint8Array(0), { tag: "PONG" });
    expect(decodeServerTransmission(wrongSession, 6, sess).result).toEqual({ ok: false, error: { tag: "SESSION" } });
    const unknown = encodeClientTransmission(18, sess, latin1("abcd"), latin1("q"), latin1("NMSG"));
    expect(decodeServerTransmission(unknown, 18, sess).result).toEqual({ ok: false, error: { tag: "CMD", error: "UNKNOWN" } });
    const okNoEntity = encodeServerTransmission(18, sess, latin1("abcd"), new Uint8Array(0), { tag: "OK" });
    expect(decodeServerTransmission(okNoEntity, 18, sess).result).toEqual({ ok: false, error: { tag: "CMD", error: "NO_ENTITY" } });
    const pongEntity = encodeServerTransmission(18, sess, latin1("abcd"), latin1("q"), { tag: "PONG" });
    expect(decodeServerTransmission(pongEntity, 18, sess).result).toEqual({ ok: false, error: { tag: "CMD", error: "HAS_AUTH" } });
    expect(decodeServerBatch(h("00"), 18, sess)).toEqual([{ corrId: new Uint8Array(0), entityId: new Uint8Array(0), result: { ok: false, error: { tag: "BLOCK" } } }]);
  });

  it.each(V.invalid_client.map((c) => [c.note, c] as const))("invalid client transmission: %s", (_n, c) => {
    const r = decodeClientTransmission(h(c.hex), c.version, sess);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toEqual({ tag: c.error });
      expect(toHex(r.corrId)).toBe(c.corr_id_hex);
    }
  });

  it("CbAuthenticator over a transmission", () => {
    const c = V.cb_authenticator;
    const server = new PrivateKey("X25519", h(c.server_session_priv_hex));
    const queue = new PrivateKey("X25519", h(c.queue_priv_hex));
    const authorized = authorizedBytes(h(c.session_id_hex), h(c.corr_id_hex), h(c.entity_id_hex), h(c.command_hex));
    expect(toHex(authorized)).toBe(c.authorized_hex);
    const auth = cbAuthenticate(server.public(), queue, cbNonce(h(c.corr_id_hex)), authorized);
    expect(toHex(auth)).toBe(c.authenticator_hex);
  });
});

interface SyntaxFile {
  rows: { name: string; version: number; hex: string; corr_id_hex: string; entity_id_hex: string; expect: string }[];
}

describe("smp_syntax.json (server-side decode of serverSyntaxTests)", () => {
  const V = loadVectors<SyntaxFile>("smp_syntax.json");
  const sess = new Uint8Array(32);
  it.each(V.rows.map((r) => [r.name, r] as const))("%s", (_n, row) => {
    const r = decodeClientTransmission(h(row.hex), row.version, sess);
    if (row.expect.startsWith("CMD ")) {
      expect(r).toMatchObject({ ok: false, error: { tag: "CMD", error: row.expect.slice(4) } });
    } else {
      // AUTH / PONG: the transmission is well-formed; the relay answers from its queue state
      expect(r.ok).toBe(true);
    }
    expect(toHex(r.corrId)).toBe(row.corr_id_hex);
    expect(toHex(r.entityId)).toBe(row.entity_id_hex);
  });
});

// ------------------------------------------------------------------------------ blocks

interface BlocksFile {
  ping_block: { corr_id_hex: string; transmission_hex: string; batch_hex: string; block_prefix_hex: string; block_sha256: string; length: number };
  batches: { items_hex: string[]; hex: string }[];
  invalid_batches_hex: string[];
  batching: { name: string; sequence: [string, number, number, number][]; expect: (number | "LARGE_MSG")[] }[];
  block_chain: {
    session_id_hex: string;
    dh_secret_hex: string;
  };
  encrypted_block: { session_id_hex: string; dh_secret_hex: string; payload_hex: string; block_prefix_hex: string; block_sha256: string };
}

describe("smp_blocks.json", () => {
  const V = loadVectors<BlocksFile>("smp_blocks.json");

  it("PING block", () => {
    const p = V.ping_block;
    const ping = encodeClientTransmission(7, new Uint8Array(32), h(p.corr_id_hex), new Uint8Array(0), encodeCommand(7, { tag: "PING" }));
    expect(toHex(ping)).toBe(p.transmission_hex);
    const batch = encodeBatch([ping]);
    expect(toHex(batch)).toBe(p.batch_hex);
    const block = padBlock(batch);
    expect(block.length).toBe(p.length);
    expect(toHex(block.subarray(0, 40))).toBe(p.block_prefix_hex);
    expect(toHex(sha256(block))).toBe(p.block_sha256);
    expect(encodeBlock([ping])).toEqual(block);
    expect(decodeBlock(block)).toEqual([ping]);
    expect(unpadBlock(block)).toEqual(batch);
  });

  it("batches both ways and invalid batches", () => {
    for (const b of V.batches) {
      expect(toHex(encodeBatch(b.items_hex.map(h)))).toBe(b.hex);
      expect(decodeBatch(h(b.hex)).map(toHex)).toEqual(b.items_hex);
    }
    for (const x of V.invalid_batches_hex) expect(() => decodeBatch(h(x))).toThrow(DecodeError);
    expect(() => unpadBlock(new Uint8Array(SMP_BLOCK_SIZE - 1))).toThrow(DecodeError);
    expect(() => unpadBlock(concat(h("ffff"), new Uint8Array(SMP_BLOCK_SIZE - 2)))).toThrow(DecodeError);
    expect(() => decodeBlock(padBlock(h("00")))).toThrow(DecodeError);
    expect(() => padBlock(new Uint8Array(SMP_BLOCK_SIZE - 1))).toThrow(RangeError);
    expect(() => encodeBatch([])).toThrow(RangeError);
    expect(() => encodeBatch(new Array<Uint8Array>(256).fill(new Uint8Array(0)))).toThrow(RangeError);
  });

  const SESS = Uint8Array.from({ length: 32 }, (_, i) => i);
  const ID24 = Uint8Array.from({ length: 24 }, (_, i) => i);
  const transmission = (kind: string, v: number, size: number): Uint8Array => {
    if (kind === "SUB") return encodeClientTransmission(v, SESS, ID24, ID24, latin1("SUB"), new Uint8Array(64));
    if (kind === "SEND") {
      const auth = new Uint8Array(v < 7 ? 64 : 80);
      const cmd = encodeCommand(v, { tag: "SEND", flags: { notification: false }, body: new Uint8Array(size) });
      return encodeClientTransmission(v, SESS, ID24, ID24, cmd, auth);
    }
    if (kind === "END") return encodeServerTransmission(v, SESS, new Uint8Array(0), ID24, { tag: "END" });
    if (kind === "NMSG") {
      // NMSG is not a widget response; its bytes are `NMSG ' ' nonce(24) shortString(meta)`.
      return encode((w) => w.byte(0).shortString(new Uint8Array(0)).shortString(ID24).ascii("NMSG ").bytes(ID24).shortString(new Uint8Array(size)));
    }
    if (kind === "SOK") return encodeServerTransmission(v, SESS, ID24, ID24, { tag: "SOK", serviceId: null });
    return encodeServerTransmission(v, SESS, ID24, ID24, { tag: "MSG", msgId: ID24, body: new Uint8Array(size) });
  };

  it.each(V.batching.map((b) => [b.name, b] as const))("batching like the reference: %s", (_n, row) => {
    const ts: Uint8Array[] = [];
    for (const [kind, v, size, count] of row.sequence) {
      const t = transmission(kind, v, size);
      for (let i = 0; i < count; i++) ts.push(t);
    }
    const got = batchTransmissions(ts);
    expect(got.map((x) => (x.kind === "batch" ? x.indices.length : "LARGE_MSG"))).toEqual(row.expect);
    const seen: number[] = [];
    for (const x of got) {
      if (x.kind === "batch") {
        expect(x.payload.length - 1).toBeLessThanOrEqual(MAX_BATCH_PAYLOAD);
        expect(decodeBatch(x.payload)).toEqual(x.indices.map((i) => ts[i]));
        expect(padBlock(x.payload).length).toBe(SMP_BLOCK_SIZE);
        seen.push(...x.indices);
      } else seen.push(x.index);
    }
    expect(seen).toEqual(ts.map((_, i) => i));
  });

  it("encrypted block from the chain both ways", () => {
    const e = V.encrypted_block;
    const [serverSend] = BlockChain.pair(h(e.session_id_hex), h(e.dh_secret_hex), true);
    const block = serverSend.encrypt(h(e.payload_hex));
    expect(toHex(block.subarray(0, 16))).toBe(e.block_prefix_hex);
    expect(toHex(sha256(block))).toBe(e.block_sha256);
    const [, clientRecv] = BlockChain.pair(h(e.session_id_hex), h(e.dh_secret_hex), false);
    expect(toHex(clientRecv.decrypt(block))).toBe(e.payload_hex);
    expect(() => clientRecv.decrypt(block)).toThrow(DecodeError);
    expect(() => clientRecv.decrypt(block.subarray(1))).toThrow(DecodeError);
    expect(String(clientRecv)).toBe("BlockChain(<redacted>)");
  });
});

// ------------------------------------------------------------------------------ message bodies

interface MsgBodyFile {
  messages: { kind: "message" | "quota"; ts: number | string; notification?: boolean; body_hex?: string; hex: string }[];
  noncanonical: { hex: string; kind: "message"; ts: number | string; notification: boolean; body_hex: string }[];
  invalid_hex: string[];
  padded: { hex_prefix: string; sha256: string; length: number };
}

describe("smp_msgbody.json", () => {
  const V = loadVectors<MsgBodyFile>("smp_msgbody.json");
  const value = (m: MsgBodyFile["messages"][number]): RcvMessage =>
    m.kind === "quota"
      ? { kind: "quota", ts: big(m.ts) }
      : { kind: "message", ts: big(m.ts), flags: { notification: m.notification! }, body: h(m.body_hex!) };

  it("messages both ways", () => {
    for (const m of V.messages) {
      expect(toHex(encodeRcvMsgBody(value(m)))).toBe(m.hex);
      expect(decodeRcvMsgBody(h(m.hex))).toEqual(value(m));
    }
    for (const m of V.noncanonical) expect(decodeRcvMsgBody(h(m.hex))).toEqual(value(m));
    for (const x of V.invalid_hex) expect(() => decodeRcvMsgBody(h(x))).toThrow(DecodeError);
  });

  it("padded form", () => {
    const m = value(V.messages[0]!);
    const padded = padRcvMsgBody(m);
    expect(padded.length).toBe(V.padded.length);
    expect(toHex(padded.subarray(0, V.padded.hex_prefix.length / 2))).toBe(V.padded.hex_prefix);
    expect(toHex(sha256(padded))).toBe(V.padded.sha256);
    expect(unpadRcvMsgBody(padded)).toEqual(m);
  });
});

// ------------------------------------------------------------------------------ server addresses

describe("SMPServer codec (smp/address.ts)", () => {
  const kh = new Uint8Array(32).fill(7);

  it("reads hosts and port of the text form, and writes them back", () => {
    expect(parseLocation("a.example,[::1]:5223")).toEqual({ hosts: ["a.example", "::1"], port: 5223 });
    expect(parseLocation("h")).toEqual({ hosts: ["h"], port: null });
    expect(formatHosts(["a.example", "::1"])).toBe("a.example,[::1]");
    for (const bad of ["", "h:0", "h:x", "h/"]) expect(() => parseLocation(bad)).toThrow(DecodeError);
  });

  it("writes and reads the binary form, legacy with one host", () => {
    const s = { hosts: ["a.example", "b.example"], keyHash: kh, port: 443, basicAuth: null };
    const full = encode((w) => encodeServerBinary(w, s, false));
    expect(parseAll(full, (r) => parseServerBinary(r, false))).toEqual(s);
    const legacy = encode((w) => encodeServerBinary(w, s, true));
    expect(toHex(legacy)).toBe(toHex(concat(latin1("\x09a.example\x03443\x20"), kh)));
    expect(parseAll(legacy, (r) => parseServerBinary(r, true)).hosts).toEqual(["a.example"]);
    expect(withExtraHosts(["a", "b"])).toEqual(["a", "b"]);
  });
});
