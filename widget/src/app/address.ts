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
import { ConnectionRequest } from "../agent/links.js";
import { AGENT_VERSIONS, decodeClientMessage, decodeClientMsgEnvelope, decryptClientMessage, parseAgentEnvelope } from "../agent/protocol.js";
import type { AgentClient } from "../agent/visitor.js";
import { newQueue, queueUri } from "./handshake.js";

/** What the host keeps of its room link's queue (seal it with the profile). */
export interface Address {
  rcvId: Bytes;
  /** Signs our commands on the queue (SUB, ACK, DEL). */
  auth: KeyPair;
  /** Opens the relay's encryption of each message. */
  boxKey: Bytes;
  /** Opens the per-queue box each joiner seals its request in. */
  e2e: KeyPair;
}

/** A join request: the joiner's invitation link (simplex:/invitation#/?...) and its connInfo. */
export interface JoinRequest {
  link: string;
  info: Bytes;
}

const b64 = base64urlEncode;

/**
 * A new room link on `server`: a contact queue (subscribed) and its link
 * (simplex:/contact#/?v=...&smp=...&data={"type":"group","groupLinkId":...}).
 */
export async function createAddress(client: AgentClient, server: SMPServer, groupLinkId: string): Promise<{ address: Address; link: string }> {
  const q = await newQueue(client, false);
  const data = JSON.stringify({ type: "group", groupLinkId });
  const link = new ConnectionRequest("contact", AGENT_VERSIONS, [queueUri(server, q, "C")], null, data).toUri();
  return { address: { rcvId: q.ids.rcvId, auth: q.auth, boxKey: queueDhKey(q.dh, q.ids.srvDhKey), e2e: q.e2e }, link };
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
  return [b64(a.rcvId), b64(a.auth.private.exportRaw()), b64(a.boxKey), b64(a.e2e.private.exportRaw())];
}

export function addressFromJSON(x: unknown): Address {
  if (!Array.isArray(x) || x.length !== 4 || !x.every((s) => typeof s === "string")) throw new DecodeError("invalid room address");
  const [rcvId, auth, boxKey, e2e] = (x as string[]).map(base64urlDecode);
  return { rcvId: rcvId!, auth: new KeyPair(new PrivateKey("Ed25519", auth!)), boxKey: boxKey!, e2e: new KeyPair(new PrivateKey("X25519", e2e!)) };
}
