/**
 * Module "grp" (hushwire-widget-grp.js), worker side: the GRP/1 transport (docs/grp.md) for
 * `data-profile="grp"`. scripts/build.mjs ships it as a string that the page puts in front of
 * the crypto worker's source, like "proxy"; the worker finds the dialer through
 * modules/grp_hook.ts. The dialer checks the embed before anything is dialled:
 *
 * - `data-relay` is the entry relay's GRP address, `#`, its SMP address (both with the same
 *   key hash): `grp://KEYHASH@HOST:PORT?nk=KEY#smp://KEYHASH@HOST:PORT`;
 * - the owner's address is on another relay (mandatory two hops: every sender command goes
 *   through the entry relay as a proxy with the "proxy" module, which the `#` brings in; a
 *   single relay would see both the visitor and the owner's queue).
 *
 * Each connection is a new {@link GrpSocket} (a fresh handshake and ML-KEM key): the SMP
 * client's reconnects, and the 6-hour maximum age, dial again (and check again).
 */

import { constantTimeEqual } from "../crypto/ct.js";
import { parseGrpAddress } from "../grp/address.js";
import { GrpSocket } from "../grp/transport.js";
import type { SMPServer } from "../smp/address.js";
import type { WebSocketLike } from "../smp/client.js";
import type { SocketFactory } from "../worker/service.js";

/** What the site owner got wrong in the embed, said so they can fix it. */
export class GrpEmbedError extends Error {
  override name = "GrpEmbedError";
}

export const NEEDS_GRP_RELAY =
  'data-profile="grp" needs data-relay="grp://KEYHASH@HOST:PORT?nk=KEY#smp://KEYHASH@HOST:PORT" (the entry relay\'s GRP address, \'#\', its SMP address)';
export const NEEDS_TWO_RELAYS =
  "GRP needs a distinct entry relay: the owner's address is on the widget's own relay (GRP sends through a second relay)";

/**
 * A new GRP/1 connection for `url` (data-relay before '#'), our relay `own` and the owner's
 * `contact`, over `socket(wsUrl)`; a wrong embed throws before anything is dialled.
 */
export function grpDial(url: string, own: SMPServer | undefined, contact: SMPServer | undefined, socket: (url: string) => WebSocketLike): WebSocketLike {
  // no '#smp://...' (then our relay is the owner's): no proxy, so no GRP
  if (!/^grps?:\/\//.test(url) || own === undefined || contact === undefined || own === contact) throw new GrpEmbedError(NEEDS_GRP_RELAY);
  const a = parseGrpAddress(url);
  if (!constantTimeEqual(a.keyHash, own.keyHash)) throw new GrpEmbedError("data-relay: the GRP address and the SMP address after '#' are of different relays");
  if (constantTimeEqual(contact.keyHash, own.keyHash)) throw new GrpEmbedError(NEEDS_TWO_RELAYS);
  const options = a.rate === undefined ? {} : { rate: a.rate };
  return new GrpSocket(socket(a.wsUrl), a.keyHash, a.staticKey, options);
}

const dial: SocketFactory = (url, own, contact) => grpDial(url, own, contact, (u) => new WebSocket(u));
(globalThis as { hushwireGrp?: SocketFactory }).hushwireGrp = dial;
