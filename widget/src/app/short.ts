/**
 * Short links in the web app, the joiner's side: a SimpleX short link (`simplex:/a#...`,
 * `https://relay/i#...`, or its app-origin form turned back into `simplex:` by app/link.ts) is
 * resolved on the app's relay into the full link the app then joins as before.
 *
 * Mirrors src/hushwire/agent/shortlink_client.py `resolve_contact_link` (LGET) and
 * `resolve_invitation_link` (LKEY), with shortlinks.py `decrypt_link_data` and
 * `check_link_server` (simplexmq Agent.hs `getConnShortLink'`, Crypto/ShortLink.hs
 * `decryptLinkData`). Contact addresses and room links (types `a` and `g`) go through the
 * widget's agent/shortlinks.ts `resolveContactLink`. A one-time invitation (`i`) is fetched with
 * `LKEY senderKey`, which also secures the inviter's queue with that key: the join then sends
 * its confirmation signed by it and skips SKEY (app/handshake.ts `prepareJoin`).
 */

import { sha3_256 } from "@noble/hashes/sha3.js";

import { Reader, type Bytes } from "../encoding.js";
import { DecodeError } from "../errors.js";
import { constantTimeEqual } from "../crypto/ct.js";
import { KeyPair, PublicKey } from "../crypto/keys.js";
import type { SMPServer } from "../smp/address.js";
import type { SMPClient } from "../smp/client.js";
import type { BrokerMsg, QueueLinkData } from "../smp/commands.js";
import { SHORT_LINKS_VERSION, VersionRange } from "../smp/version.js";
import { ConnectionRequest, LinkError } from "../agent/links.js";
import { E2ERatchetParamsUri } from "../agent/ratchet.js";
import { invitationLinkKdf, linkSMPServer, NO_LINK, openBlob, parseQueueUri, parseShortLink, resolveContactLink, restoreShortLink, type ShortLink } from "../agent/shortlinks.js";

export { isShortLink } from "../agent/shortlinks.js";

export const OTHER_RELAY = "the short link is on another relay than this app's";

/** A short link resolved: the full link to join and, for an invitation, the key LKEY secured its queue with. */
export interface ResolvedShort {
  link: string;
  sndAuth: KeyPair | null;
}

/** `ConnectionRequestUri` Encoding of a one-time invitation ('I', versions, queues, client data, e2e params). */
function parseInvitationRequest(r: Reader): ConnectionRequest {
  if (r.byte() !== 0x49) throw new LinkError("link data: not a one-time invitation");
  const versions = VersionRange.parse(r);
  const queues = r.nonEmpty(parseQueueUri);
  const data = r.maybe((x) => x.large());
  const e2eVersions = VersionRange.parse(r);
  const k1 = PublicKey.fromDer(r.shortString());
  const k2 = PublicKey.fromDer(r.shortString());
  // a KEM offer ('1' ...) follows when the inviter offers the post-quantum ratchet; the app declines it
  const kem = r.remaining > 0 && r.peek() === 0x31;
  const e2e = new E2ERatchetParamsUri(e2eVersions, k1, k2, kem);
  return new ConnectionRequest("invitation", versions, queues, e2e, data === null ? null : new TextDecoder().decode(data));
}

/**
 * `decryptLinkData` for an invitation: both blobs open under `invShortLinkKdf`, the SHA3-256 of
 * the fixed data is the link key, the root key signed both, the user data is an invitation's.
 */
export function decryptInvitationLinkData(link: ShortLink, data: QueueLinkData): ConnectionRequest {
  const boxKey = invitationLinkKdf(link.linkKey);
  const [sig1, fd] = openBlob(boxKey, data.fixed);
  const [sig2, md] = openBlob(boxKey, data.user);
  let root: PublicKey;
  let req: ConnectionRequest;
  try {
    const r = new Reader(fd);
    VersionRange.parse(r);
    root = PublicKey.fromDer(r.shortString());
    if (root.alg !== "Ed25519") throw new DecodeError("link keys are Ed25519");
    req = parseInvitationRequest(r);
    if (md[0] !== 0x49) throw new DecodeError("not the link data of an invitation");
  } catch (e) {
    if (e instanceof LinkError) throw e;
    throw new LinkError(`link data: cannot parse (${e instanceof Error ? e.message : "?"})`);
  }
  if (!constantTimeEqual(sha3_256(fd), link.linkKey)) throw new LinkError("link data hash");
  if (!root.verify(sig1, fd)) throw new LinkError("link data signature");
  if (!root.verify(sig2, md)) throw new LinkError("user data signature");
  return req;
}

/** The relay's answer to `LKEY`/`LGET`, ERR AUTH as {@link NO_LINK}. */
async function linkRequest(send: () => Promise<BrokerMsg>): Promise<BrokerMsg> {
  try {
    return await send();
  } catch (e) {
    if (e instanceof Error && e.name === "SMPCommandError" && (e as { error?: { tag?: string } }).error?.tag === "AUTH") throw new LinkError(NO_LINK);
    throw e;
  }
}

/**
 * Resolve the short link `text` over `client` (connected to the app's relay `server`): the full
 * link to join, and the sender key of an invitation (LKEY secured its queue: keep it, it signs
 * the confirmation; `key`, when given, is that key: one sealed before LKEY went out, so a reload
 * goes on with it, LKEY again with the same key being accepted). {@link LinkError} for a link
 * on another relay, unknown to the relay, or whose data does not check.
 */
export async function resolveShort(client: SMPClient, server: SMPServer, text: string, key: KeyPair | null = null): Promise<ResolvedShort> {
  const link = restoreShortLink(parseShortLink(text));
  if (!constantTimeEqual(linkSMPServer(link.server).keyHash, server.keyHash)) throw new LinkError(OTHER_RELAY);
  if (client.version < SHORT_LINKS_VERSION) throw new LinkError(`the relay speaks SMP v${client.version}; short links need v${SHORT_LINKS_VERSION}`);
  if (link.type === null) {
    const sndAuth = key ?? KeyPair.generate("Ed25519");
    const linkId = link.linkId!;
    const reply = await linkRequest(() => client.request(linkId, { tag: "LKEY", senderKey: sndAuth.public }, sndAuth));
    if (reply.tag !== "LNK") throw new LinkError(`LKEY answered with ${reply.tag}`);
    const req = decryptInvitationLinkData(link, reply.data);
    // getConnShortLink': the request's first queue is the link's queue
    const q = req.queues[0]!;
    if (!q.server.hosts.includes(link.server.hosts[0]!) || !constantTimeEqual(q.senderId, reply.senderId as Bytes)) throw new LinkError("different address");
    return { link: req.toUri(), sndAuth };
  }
  if (link.type !== "A" && link.type !== "G") throw new LinkError("the app joins contact addresses, rooms and one-time invitations; this short link is a channel's or a relay's");
  const { request } = await resolveContactLink(client, link);
  return { link: request.toUri(), sndAuth: null };
}
