/**
 * The room link of a room the app hosts: a SimpleX contact address (a contact-mode queue on the
 * app's relay) whose link carries `data={"type":"group","groupLinkId":...}`, and the join
 * requests that arrive on it.
 *
 * Mirrors src/hushwire/agent/agent.py `create_address` and its handling of an AgentInvitation on
 * a contact queue (simplexmq Simplex.Messaging.Agent newConnSrv for a contact connection,
 * processSMPTransmission's 'I' branch; docs/protocol/agent.md), and src/hushwire/rooms/host.py
 * `RoomHost.link` (the link's data). A join request is a per-queue box under the joiner's fresh
 * X25519 key holding ClientMessage('_', AgentInvitation): the joiner's one-time invitation link
 * and its profile (x.info). The host answers by joining that invitation (handshake.ts) with
 * `x.grp.link.inv` as its connInfo.
 */

import { base64urlDecode, base64urlEncode, type Bytes } from "../encoding.js";
import { DecodeError } from "../errors.js";
import { KeyPair, PrivateKey } from "../crypto/keys.js";
import { dhBoxKey } from "../crypto/nacl.js";
import type { SMPServer } from "../smp/address.js";
import { decryptMessage, queueDhKey, type MsgResponse } from "../smp/client.js";
import { VersionRange } from "../smp/version.js";
import { ConnectionRequest, SMPQueueUri } from "../agent/links.js";
import { AGENT_VERSIONS, decodeClientMessage, decodeClientMsgEnvelope, decryptClientMessage, parseAgentEnvelope, SMP_CLIENT_VERSION } from "../agent/protocol.js";
import type { AgentClient } from "../agent/visitor.js";

/** The contact queue of a room link (its keys: seal with the profile). */
export interface Address {
  rcvId: Bytes;
  sndId: Bytes;
  auth: KeyPair;
  dh: KeyPair;
  boxKey: Bytes;
  e2e: KeyPair;
}

/** A join request: the joiner's invitation link (simplex:/invitation#/?...) and its connInfo. */
export interface JoinRequest {
  link: string;
  info: Bytes;
}

const b64 = base64urlEncode;
const raw = (k: KeyPair): string => b64(k.private.exportRaw());

/** A new contact queue on `server`, subscribed. */
export async function createAddress(client: AgentClient): Promise<Address> {
  const auth = KeyPair.generate("Ed25519");
  const dh = KeyPair.generate("X25519");
  const ids = await client.createQueue(auth, dh, { subscribe: true, messaging: false });
  return { rcvId: ids.rcvId, sndId: ids.sndId, auth, dh, boxKey: queueDhKey(dh, ids.srvDhKey), e2e: KeyPair.generate("X25519") };
}

/** The room link (simplex:/contact#/?v=...&smp=...&data=...) of `address` on `server`. */
export function roomLink(server: SMPServer, address: Address, groupLinkId: string): string {
  const queue = new SMPQueueUri(new VersionRange(1, SMP_CLIENT_VERSION), { ...server, basicAuth: null }, address.sndId, address.e2e.public, "C");
  const data = JSON.stringify({ type: "group", groupLinkId });
  return new ConnectionRequest("contact", AGENT_VERSIONS, [queue], null, data).toUri();
}

/** True if the link's data says it is a group (a room), as SimpleX apps read it. */
export function isGroupLink(clientData: string | null): boolean {
  if (clientData === null) return false;
  try {
    const d = JSON.parse(clientData) as unknown;
    return typeof d === "object" && d !== null && (d as { type?: unknown }).type === "group";
  } catch {
    return false;
  }
}

/** The join request in a message of the address's queue; null for anything else. */
export function readJoinRequest(address: Address, msg: MsgResponse): JoinRequest | null {
  try {
    const plain = decryptMessage(address.boxKey, msg);
    if (plain.kind === "quota") return null;
    const env = decodeClientMsgEnvelope(plain.body);
    if (env.e2eKey === null) return null;
    const shared = dhBoxKey(env.e2eKey, address.e2e.private);
    const cm = decodeClientMessage(decryptClientMessage(shared, env.nonce, env.encBody));
    shared.fill(0);
    const ae = parseAgentEnvelope(cm.body);
    if (ae.tag !== "I") return null;
    const link = new TextDecoder("utf-8", { fatal: true }).decode(ae.connReq);
    return { link, info: ae.connInfo };
  } catch {
    return null; // not a request we can read: acknowledged and dropped
  }
}

export function addressToJSON(a: Address): unknown {
  return [b64(a.rcvId), b64(a.sndId), raw(a.auth), raw(a.dh), b64(a.boxKey), raw(a.e2e)];
}

export function addressFromJSON(x: unknown): Address {
  if (!Array.isArray(x) || x.length !== 6 || !x.every((s) => typeof s === "string")) throw new DecodeError("invalid room address");
  const [rcv, snd, auth, dh, box, e2e] = (x as string[]).map(base64urlDecode);
  const pair = (k: Bytes, alg: "Ed25519" | "X25519"): KeyPair => new KeyPair(new PrivateKey(alg, k));
  return { rcvId: rcv!, sndId: snd!, auth: pair(auth!, "Ed25519"), dh: pair(dh!, "X25519"), boxKey: box!, e2e: pair(e2e!, "X25519") };
}
