/**
 * The sender's side of private routing (src/smp/proxy.ts) on the vectors the Python codec
 * pins (tests/vectors/smp_proxy.json, tests/smp/make_proxy_vectors.py): PRXY, PKEY, the
 * inner transmission and PFWD byte for byte, the destination's response opened; then the
 * functions over a client that answers as a proxy would, error by error.
 */

import { describe, expect, it } from "vitest";

import { concat, latin1, toHex, type Bytes } from "../src/encoding.js";
import { CryptoError, DecodeError } from "../src/errors.js";
import { sha256 } from "../src/crypto/hash.js";
import { KeyPair, PrivateKey, PublicKey } from "../src/crypto/keys.js";
import { cbDecrypt, cbEncrypt, dhBoxKey, reverseNonce } from "../src/crypto/nacl.js";
import { decodeBatch, encodeBatch } from "../src/smp/block.js";
import { decodeResponse, encodeCommand, encodeResponse, type BrokerMsg, type Command } from "../src/smp/commands.js";
import { SMPCommandError, UnexpectedResponse } from "../src/smp/client.js";
import { decodeErrorType, errorTypeText, type ErrorType } from "../src/smp/errors.js";
import {
  acceptPKEY,
  decodePKEY,
  encodePRXY,
  ERR_HANDSHAKE_IDENTITY,
  ERR_TRANSPORT_VERSION,
  encodeForwardedTransmission,
  openForwarded,
  PADDED_PROXIED_LENGTH,
  proxiedRequest,
  proxySession,
  sealForwarded,
  type ProxiedRelay,
  type ProxyClient,
} from "../src/smp/proxy.js";
import { VersionRange } from "../src/smp/version.js";
import { h, loadVectors } from "./vectors.js";

interface Blob {
  len: number;
  sha256: string;
  head_hex: string;
}
interface Case {
  name: string;
  version: number;
  entity_hex: string;
  command_hex: string;
  auth: "ed25519" | "x25519" | "none";
  response_hex: string;
  inner_transmission_hex: string;
  inner_batch_hex: string;
  enc_transmission: Blob;
  pfwd_command: Blob;
  response_transmission_hex: string;
  enc_response: Blob;
}
interface Vectors {
  keys: Record<string, string>;
  cases: Case[];
  prxy: { hosts: string[]; port: number | null; key_hash_hex: string; basic_auth: string | null; command_hex: string }[];
  pkey: { session_id_hex: string; min: number; max: number; cert_chain_hex: string[]; signed_key_hex: string; key_hash_hex: string; response_hex: string };
}

const V = loadVectors<Vectors>("smp_proxy.json");
const K = V.keys;
const D = new PrivateKey("X25519", h(K.d_priv_hex!));
const CMD = new KeyPair(new PrivateKey("X25519", h(K.cmd_priv_hex!)));
const N = h(K.n_hex!);
const SESSION = h(K.session_id_hex!);
const ERRORS = { command: SMPCommandError, unexpected: UnexpectedResponse };

function blob(b: Bytes, want: Blob): void {
  expect({ len: b.length, sha256: toHex(sha256(b)), head_hex: toHex(b.subarray(0, 48)) }).toEqual(want);
}

const relayAt = (version: number): ProxiedRelay => ({ sessionId: SESSION, version, serverKey: D.public() });

function command(c: Case): Command {
  const bytes = h(c.command_hex);
  const text = new TextDecoder().decode(bytes.subarray(0, 4));
  if (text === "LGET") return { tag: "LGET" };
  if (text === "SEND") return { tag: "SEND", flags: { notification: bytes[5] === 0x54 }, body: bytes.subarray(7) };
  return { tag: "SKEY", senderKey: new PrivateKey("Ed25519", h(K.sender_ed25519_seed_hex!)).public() };
}

function authKey(c: Case): PrivateKey | null {
  if (c.auth === "ed25519") return new PrivateKey("Ed25519", h(K.sender_ed25519_seed_hex!));
  if (c.auth === "x25519") return new PrivateKey("X25519", h(K.sender_x25519_priv_hex!));
  return null;
}

/** The destination's sealed answer (Server.hs processForwardedCommand's inner layer). */
function destinationAnswer(c: Case): Bytes {
  const key = dhBoxKey(CMD.public, D);
  return cbEncrypt(key, reverseNonce(N), encodeBatch([h(c.response_transmission_hex)]), PADDED_PROXIED_LENGTH);
}

describe("vectors", () => {
  it.each(V.prxy)("PRXY $hosts.0", (p) => {
    const server = { hosts: p.hosts, port: p.port, keyHash: h(p.key_hash_hex), basicAuth: null };
    const cmd: Command = { tag: "PRXY", raw: encodePRXY(server, p.basic_auth) };
    expect(toHex(encodeCommand(17, cmd))).toBe(p.command_hex);
  });

  it("PKEY", () => {
    const p = V.pkey;
    const msg = decodeResponse(17, h(p.response_hex));
    expect(msg.tag).toBe("PKEY");
    const pkey = decodePKEY((msg as { data: Bytes }).data);
    expect(toHex(pkey.sessionId)).toBe(p.session_id_hex);
    expect([pkey.versionRange.min, pkey.versionRange.max]).toEqual([p.min, p.max]);
    expect(pkey.certKey.certChain.map(toHex)).toEqual(p.cert_chain_hex);
    expect(toHex(pkey.certKey.signedKey)).toBe(p.signed_key_hex);
    expect(toHex(encodeResponse(17, msg))).toBe(p.response_hex);
    // the vector's session key is not signed: not the destination
    const now = Date.UTC(2026, 0, 1) / 1000;
    expect(acceptPKEY(pkey, h(p.key_hash_hex), now)).toEqual(ERR_HANDSHAKE_IDENTITY);
    expect(acceptPKEY(pkey, new Uint8Array(32), now)).toEqual(ERR_HANDSHAKE_IDENTITY);
    expect(acceptPKEY({ ...pkey, versionRange: new VersionRange(6, 7) }, h(p.key_hash_hex), now)).toEqual(ERR_TRANSPORT_VERSION);
    expect(() => decodePKEY(concat((msg as { data: Bytes }).data, Uint8Array.of(0)))).toThrow(DecodeError);
  });

  it.each(V.cases)("$name", (c) => {
    const relay = relayAt(c.version);
    const entity = h(c.entity_hex);
    const cmd = command(c);
    expect(toHex(encodeCommand(c.version, cmd))).toBe(c.command_hex);
    expect(toHex(encodeForwardedTransmission(relay, N, entity, cmd, authKey(c)))).toBe(c.inner_transmission_hex);
    const sealed = sealForwarded(relay, entity, cmd, authKey(c), CMD, N);
    const pfwd = encodeCommand(c.version, { tag: "PFWD", raw: sealed.pfwd });
    blob(pfwd, c.pfwd_command);
    blob(pfwd.subarray(pfwd.length - 16242), c.enc_transmission);
    // the destination's answer, pinned by its hash, opens to the response
    const enc = destinationAnswer(c);
    blob(enc, c.enc_response);
    const pres = decodeResponse(c.version, concat(latin1("PRES "), enc));
    const result = openForwarded(sealed, (pres as { data: Bytes }).data, SESSION);
    expect(result.ok && toHex(encodeResponse(c.version, result.msg))).toBe(c.response_hex);
    // a flipped byte, or the nonce not reversed, does not open
    const bad = enc.slice();
    bad[100]! ^= 1;
    expect(() => openForwarded(sealed, bad, SESSION)).toThrow(CryptoError);
    expect(() => openForwarded({ ...sealed, nonce: reverseNonce(N) }, enc, SESSION)).toThrow(CryptoError);
  });

  it("refuses a command too large for the padded batch", () => {
    const body = new Uint8Array(PADDED_PROXIED_LENGTH);
    expect(() => sealForwarded(relayAt(17), new Uint8Array(24), { tag: "SEND", flags: { notification: false }, body }, null, CMD, N)).toThrow(RangeError);
  });
});

// --------------------------------------------------------------------------- over a client

/** A proxy that answers each request with the next scripted function of what was sent. */
class FakeProxy implements ProxyClient {
  readonly config = { commandTimeout: 1000, now: () => Date.UTC(2026, 0, 1) / 1000 };
  readonly sent: { entityId: Bytes; command: Command; corrId: Bytes | undefined; timeout: number | undefined }[] = [];
  constructor(
    readonly version: number,
    readonly answers: ((c: Command, corrId: Bytes) => BrokerMsg)[],
  ) {}
  async request(entityId: Bytes, command: Command, _key: KeyPair | null, timeout?: number, corrId?: Bytes): Promise<BrokerMsg> {
    this.sent.push({ entityId, command, corrId, timeout });
    const msg = this.answers.shift()!(command, corrId ?? new Uint8Array(0));
    if (msg.tag === "ERR") throw new SMPCommandError(msg.error);
    return msg;
  }
}

const err = (text: string): BrokerMsg => ({ tag: "ERR", error: decodeErrorType(latin1(text)) });
const DEST = { hosts: ["b.example"], port: 5223, keyHash: new Uint8Array(32).fill(7), basicAuth: null };

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => expect.fail("resolved"),
    (e: unknown) => e,
  );
}

describe("over a client", () => {
  it("PRXY carries the destination and the proxy's password; its errors are the proxy's", async () => {
    for (const text of ["PROXY BASIC_AUTH", "PROXY BROKER NETWORK", "PROXY BROKER TIMEOUT", "PROXY BROKER TRANSPORT VERSION", "PROXY BROKER HOST"]) {
      const c = new FakeProxy(18, [() => err(text)]);
      const e = await rejection(proxySession(c, DEST, "secret", ERRORS));
      expect(e).toBeInstanceOf(SMPCommandError);
      expect(errorTypeText((e as SMPCommandError).error)).toBe(text);
      expect(toHex(encodeCommand(18, c.sent[0]!.command))).toBe(toHex(concat(latin1("PRXY"), encodePRXY(DEST, "secret"))));
      expect(c.sent[0]!.entityId.length).toBe(0);
    }
  });

  it("a PKEY that fails the identity check is PROXY BROKER TRANSPORT HANDSHAKE IDENTITY", async () => {
    const c = new FakeProxy(18, [() => decodeResponse(17, h(V.pkey.response_hex))]);
    const e = await rejection(proxySession(c, { ...DEST, keyHash: h(V.pkey.key_hash_hex) }, null, ERRORS));
    expect((e as SMPCommandError).error).toEqual(ERR_HANDSHAKE_IDENTITY);
  });

  it("a proxy below v8 is not asked", async () => {
    const c = new FakeProxy(7, []);
    const e = await rejection(proxySession(c, DEST, null, ERRORS));
    expect((e as SMPCommandError).error).toEqual(ERR_TRANSPORT_VERSION);
    expect(c.sent).toEqual([]);
  });

  it("PFWD: entity = session id, corrId = the box nonce; the destination's answers come back as if direct", async () => {
    const relay = relayAt(17);
    const seen: Bytes[] = [];
    const answer = (response: string) => (cmd: Command, corrId: Bytes): BrokerMsg => {
      // play the destination: " " Word16 v ss(44-byte SPKI) EncTransmission, opened with N = corrId
      const raw = (cmd as { raw: Bytes }).raw;
      expect([raw[0], (raw[1]! << 8) | raw[2]!, raw[3]]).toEqual([0x20, 17, 44]);
      const box = dhBoxKey(new PublicKey("X25519", raw.subarray(4 + 12, 4 + 44)), D);
      const [t] = decodeBatch(cbDecrypt(box, corrId, raw.subarray(48)));
      seen.push(t!);
      const reply = concat(Uint8Array.of(0, 24), corrId, Uint8Array.of(24), new Uint8Array(24), latin1(response));
      return { tag: "PRES", data: cbEncrypt(box, reverseNonce(corrId), encodeBatch([reply]), PADDED_PROXIED_LENGTH) };
    };
    const ok = new FakeProxy(18, [answer("OK")]);
    const sid = new Uint8Array(24);
    expect(await proxiedRequest(ok, relay, sid, { tag: "SEND", flags: { notification: false }, body: latin1("hi") }, null, ERRORS)).toEqual({ tag: "OK" });
    const sent = ok.sent[0]!;
    expect(sent.entityId).toEqual(SESSION);
    expect(sent.corrId!.length).toBe(24);
    expect(sent.timeout).toBe(2000);
    // the inner transmission: no auth, corrId = N, the queue, the command at v17
    expect(toHex(seen[0]!)).toBe(toHex(concat(Uint8Array.of(0, 24), sent.corrId!, Uint8Array.of(24), sid, latin1("SEND F hi"))));
    const auth = new FakeProxy(18, [answer("ERR AUTH")]);
    const e = await rejection(proxiedRequest(auth, relay, sid, { tag: "LGET" }, null, ERRORS));
    expect((e as SMPCommandError).error).toEqual({ tag: "AUTH" } satisfies ErrorType);
    const noSession = new FakeProxy(18, [() => err("PROXY NO_SESSION")]);
    expect(((await rejection(proxiedRequest(noSession, relay, sid, { tag: "LGET" }, null, ERRORS))) as SMPCommandError).error).toEqual({
      tag: "PROXY",
      error: { tag: "NO_SESSION" },
    });
    const garbage = new FakeProxy(18, [() => ({ tag: "PRES", data: new Uint8Array(16242) })]);
    expect(await rejection(proxiedRequest(garbage, relay, sid, { tag: "LGET" }, null, ERRORS))).toBeInstanceOf(UnexpectedResponse);
    const wrong = new FakeProxy(18, [() => ({ tag: "OK" })]);
    expect(await rejection(proxiedRequest(wrong, relay, sid, { tag: "LGET" }, null, ERRORS))).toBeInstanceOf(UnexpectedResponse);
  });
});
