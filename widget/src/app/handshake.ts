/**
 * The two ends of a one-time invitation, for the web app: the browser that makes the link
 * (initiator) and the browser that opens it (joiner).
 *
 * Mirrors src/hushwire/agent/agent.py `create_invitation` (initiator) and `_join_invitation` with
 * its first handshake step (joiner) (simplexmq Simplex.Messaging.Agent newConnSrv, joinConnSrv,
 * secureConfirmQueue; docs/protocol/agent.md), on the fast path (SKEY: every queue the app makes
 * is in messaging mode).
 *
 * Theory of operation. Both ends hand over to the widget's {@link Visitor}, which runs the rest of
 * the connection (receiving, receipts, delivery, resume) from a state in its own JSON form
 * (`Visitor.load`):
 *
 * - {@link createInvitation}: NEW (messaging mode) and X448 keys k1, k2; the link carries our
 *   queue and the keys. The state is the visitor's `invited`: the joiner's confirmation arrives
 *   on our queue and the visitor's initiator role takes it from there (X3DH, SKEY of the
 *   joiner's reply queue, our confirmation, connected).
 * - {@link prepareJoin} then {@link completeJoin}: NEW our reply queue, SKEY the inviter's
 *   queue, X3DH as joiner, our confirmation (message 1: e2e params and, ratchet-encrypted, our
 *   reply queue and profile) sent signed. The inviter answers on our queue with its confirmation (PrivHeader '_', no e2e
 *   params): we open it with the ratchet and the connection is established. We do not ACK it:
 *   the visitor, loaded `connected`, subscribes again, gets it redelivered, recognises a repeated
 *   confirmation and ACKs it, then receives the rest in order.
 *
 * The joiner's state between the two steps is kept (sealed with the profile), so a reload before
 * the inviter's confirmation came goes on: our queue is subscribed again and the confirmation
 * sent again (the inviter ignores a repeated one).
 */

import { base64urlDecode, base64urlEncode, type Bytes } from "../encoding.js";
import { DecodeError, HushwireError } from "../errors.js";
import { constantTimeEqual } from "../crypto/ct.js";
import { sha256 } from "../crypto/hash.js";
import { KeyPair, PrivateKey } from "../crypto/keys.js";
import { dhBoxKey } from "../crypto/nacl.js";
import type { SMPServer } from "../smp/address.js";
import { decryptMessage, queueDhKey, SMPClientError, SMPCommandError, type IdsResponse, type MsgResponse } from "../smp/client.js";
import { compatible, VersionRange } from "../smp/version.js";
import { ConnectionRequest, parseLink, SMPQueueUri } from "../agent/links.js";
import { AGENT_VERSIONS, agentMessageHash, CONN_INFO_PAD, decodeClientMessage, decodeClientMsgEnvelope, decryptClientMessage, encodeAgentEnvelope, encodeAgentMessage, encodeClientMessage, parseAgentEnvelope, parseAgentMessage, SMP_CLIENT_VERSION } from "../agent/protocol.js";
import { E2E_VERSIONS, E2ERatchetParams, E2ERatchetParamsUri, initJoinerRatchet, x3dhJoiner } from "../agent/ratchet.js";
import { ratchetFromJSON, ratchetToJSON } from "../agent/ratchet_json.js";
import { sealForQueue, type AgentClient } from "../agent/visitor.js";

/** A step of the invitation handshake that cannot be done; the message says why. */
export class InvitationError extends HushwireError {
  override name = "InvitationError";
}

const b64 = base64urlEncode;
const raw = (k: KeyPair | PrivateKey): string => b64(("private" in k ? k.private : k).exportRaw());

/** A receive queue we made, with its keys (`e2e`: the per-queue key its senders box for). */
export interface NewQueue {
  ids: IdsResponse;
  auth: KeyPair;
  dh: KeyPair;
  e2e: KeyPair;
}

/** NEW, subscribed: a messaging queue (senders may SKEY it), or a contact queue (`messaging` false). */
export async function newQueue(client: AgentClient, messaging = true): Promise<NewQueue> {
  const auth = KeyPair.generate("Ed25519");
  const dh = KeyPair.generate("X25519");
  const ids = await client.createQueue(auth, dh, { subscribe: true, messaging });
  return { ids, auth, dh, e2e: KeyPair.generate("X25519") };
}

/** Our queue in the visitor state's `r` form (`shared`: the per-queue key, once known). */
function rcvState(q: NewQueue, shared: Bytes | null): unknown[] {
  return [b64(q.ids.rcvId), b64(q.ids.sndId), raw(q.auth), raw(q.dh), b64(queueDhKey(q.dh, q.ids.srvDhKey)), raw(q.e2e), shared && b64(shared), false];
}

/** The address of queue `q` on `server`, as links carry it. */
export function queueUri(server: SMPServer, q: NewQueue, mode: "M" | "C" = "M"): SMPQueueUri {
  return new SMPQueueUri(new VersionRange(1, SMP_CLIENT_VERSION), { ...server, basicAuth: null }, q.ids.sndId, q.e2e.public, mode);
}

/** A new one-time invitation on `server`: the link (simplex:/invitation#/?...) and the visitor state. */
export async function createInvitation(client: AgentClient, server: SMPServer): Promise<{ link: string; state: unknown }> {
  const q = await newQueue(client);
  const k1 = KeyPair.generate("X448");
  const k2 = KeyPair.generate("X448");
  const link = new ConnectionRequest("invitation", AGENT_VERSIONS, [queueUri(server, q)], new E2ERatchetParamsUri(E2E_VERSIONS, k1.public, k2.public)).toUri();
  const state = { s: "invited", v: AGENT_VERSIONS.max, x: [raw(k1), raw(k2)], r: rcvState(q, null), q: null, k: null, i: "", n: [0, "", 0, ""], h: [], m: [], b: [] };
  return { link, state };
}

/**
 * The first step of joining the invitation `link` (its queue on `server`, the relay `client`
 * talks to) as `ownInfo`: our reply queue (NEW), the inviter's queue secured (SKEY, unless
 * `secured`: the key a short link's LKEY secured it with), X3DH, our
 * confirmation sealed. Returns it as JSON-able data (it holds secrets: seal it) for
 * {@link completeJoin}, which sends it; kept, it lets a reload go on where the join was.
 */
export async function prepareJoin(client: AgentClient, server: SMPServer, link: string, ownInfo: Bytes, secured: KeyPair | null = null): Promise<unknown> {
  const req = parseLink(link);
  if (req.mode !== "invitation" || req.e2e === null) throw new InvitationError("this is not a one-time invitation link");
  const target = req.queues[0]!;
  if (!constantTimeEqual(target.server.keyHash, server.keyHash)) throw new InvitationError("the invitation is on another relay than this app's");
  if (target.queueMode !== "M") throw new InvitationError("this invitation needs the older (slow) handshake, which the app does not do yet");
  const agentV = compatible(AGENT_VERSIONS, req.agentVersions);
  const e2eV = compatible(E2E_VERSIONS, req.e2e.versions);
  if (agentV === null || e2eV === null) throw new InvitationError("this invitation needs a newer version of the SimpleX agent");
  const q = await newQueue(client);
  const sndAuth = secured ?? KeyPair.generate("Ed25519");
  const sndE2e = PrivateKey.generate("X25519");
  // a short invitation's LKEY secured the queue with `secured` already (app/short.ts)
  if (secured === null) await client.secureSender(target.senderId, sndAuth);
  const k1 = KeyPair.generate("X448");
  const k2 = KeyPair.generate("X448");
  const keys = x3dhJoiner(k1.private, k2.private, req.e2e);
  const ownQueue = queueUri(server, q);
  const reply = encodeAgentMessage({ tag: "D", queues: [{ clientVersion: SMP_CLIENT_VERSION, server: ownQueue.server, senderId: q.ids.sndId, dhPublicKey: q.e2e.public, queueMode: "M" }], connInfo: ownInfo });
  const [enc, ratchet] = await initJoinerRatchet(keys, req.e2e.k2, e2eV).encrypt(reply, CONN_INFO_PAD);
  const conf = encodeAgentEnvelope({ tag: "C", agentVersion: agentV, e2e: new E2ERatchetParams(e2eV, k1.public, k2.public), encConnInfo: enc });
  const body = sealForQueue(target.dhPublicKey, sndE2e, encodeClientMessage({ privHeader: { tag: "_" }, body: conf }), true);
  return { r: rcvState(q, null), t: [b64(target.senderId), b64(target.dhPublicKey.raw)], a: raw(sndAuth), e: raw(sndE2e), k: ratchetToJSON(ratchet), v: agentV, h: b64(agentMessageHash(reply)), b: b64(body) };
}

/**
 * Send the confirmation {@link prepareJoin} made (again, after a reload: a repeated one is
 * ignored by the inviter) and wait for the inviter's; resolves with the visitor state
 * `connected`. `resubscribe`: subscribe our queue first (after a reload). `sleep` paces the
 * retries of a send that found no connection.
 */
export async function completeJoin(client: AgentClient, pending: unknown, sleep: (ms: number) => Promise<void>, resubscribe: boolean): Promise<unknown> {
  const bad = (): never => {
    throw new DecodeError("invalid pending join");
  };
  const p = (typeof pending === "object" && pending !== null ? pending : bad()) as Record<string, unknown>;
  const text = (x: unknown): string => (typeof x === "string" ? x : bad());
  const bytes = (x: unknown): Bytes => base64urlDecode(text(x));
  const pair = (x: unknown, alg: "Ed25519" | "X25519"): KeyPair => new KeyPair(new PrivateKey(alg, bytes(x)));
  const r = Array.isArray(p.r) && p.r.length === 8 ? p.r : bad();
  const t = Array.isArray(p.t) && p.t.length === 2 ? p.t : bad();
  const rcvId = bytes(r[0]);
  const rcvAuth = pair(r[2], "Ed25519");
  const boxKey = bytes(r[4]);
  const rcvE2e = pair(r[5], "X25519");
  const senderId = bytes(t[0]);
  const sndAuth = pair(p.a, "Ed25519");
  const agentV = typeof p.v === "number" && AGENT_VERSIONS.contains(p.v) ? p.v : bad();
  const ratchet = ratchetFromJSON(text(p.k));
  const body = bytes(p.b);
  const confirmation = waitConfirmation(client, rcvId);
  if (resubscribe) await client.subscribe(rcvId, rcvAuth);
  for (let delay = 500; ; delay = Math.min(delay * 2, 30000)) {
    try {
      await client.send(senderId, body, { key: sndAuth });
      break;
    } catch (e) {
      if (e instanceof SMPCommandError || !(e instanceof SMPClientError)) {
        confirmation.stop();
        throw e instanceof SMPCommandError ? new InvitationError(`the relay refused the invitation's answer (${e.error.tag}): it was used already or has expired`) : e;
      }
      await sleep(delay);
    }
  }
  const msg = await confirmation.message;
  const plain = decryptMessage(boxKey, msg);
  if (plain.kind === "quota") throw new DecodeError("expected a confirmation");
  const env = decodeClientMsgEnvelope(plain.body);
  if (env.e2eKey === null) throw new DecodeError("expected a confirmation");
  const shared = dhBoxKey(env.e2eKey, rcvE2e.private);
  const cm = decodeClientMessage(decryptClientMessage(shared, env.nonce, env.encBody));
  if (cm.privHeader.tag !== "_") throw new InvitationError("the inviter asked for the older (slow) handshake, which the app does not do yet");
  const ae = parseAgentEnvelope(cm.body);
  if (ae.tag !== "C") throw new DecodeError("expected a confirmation");
  const [data, after] = await ratchet.decrypt(ae.encConnInfo);
  const info = parseAgentMessage(data);
  if (info.tag !== "I") throw new DecodeError("the inviter's confirmation carries its profile");
  return {
    s: "connected",
    v: Math.max(Math.min(agentV, ae.agentVersion), AGENT_VERSIONS.min),
    x: null,
    r: [...r.slice(0, 6), b64(shared), false],
    q: [t[0], t[1], "M", p.a, p.e, true],
    k: ratchetToJSON(after),
    i: b64(info.connInfo),
    n: [1, p.h, 1, b64(agentMessageHash(data))],
    h: [],
    m: [],
    b: [],
  };
}

/** The first message on our queue (the inviter's confirmation), not acknowledged. */
function waitConfirmation(client: AgentClient, rcvId: Bytes): { message: Promise<MsgResponse>; stop: () => void } {
  let stop = (): void => undefined;
  const message = new Promise<MsgResponse>((resolve) => {
    const off = client.on((ev) => {
      if (ev.type === "message" && constantTimeEqual(ev.recipientId, rcvId)) {
        off();
        resolve(ev.msg);
      }
    });
    stop = () => void off();
  });
  return { message, stop };
}

/**
 * The security code of a connection (simplex-chat verificationCode of the agent's
 * getConnectionRatchetAdHash): the SHA-256 of the ratchet's associated data (both sides' X3DH
 * identity keys, the same on both ends), read as one big-endian number, in decimal, in groups of
 * five digits. `state` is a visitor state with a ratchet; null without one.
 */
export function securityCode(state: unknown): string | null {
  const k = (state as { k?: unknown } | null)?.k;
  if (typeof k !== "string") return null;
  const hash = sha256(ratchetFromJSON(k).fields.ad);
  let n = 0n;
  for (const byte of hash) n = (n << 8n) | BigInt(byte);
  return (n.toString().match(/.{1,5}/g) ?? []).join(" ");
}
