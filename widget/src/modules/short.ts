/**
 * Module "short" (hushwire-widget-short.js), worker side: resolves a short contact link
 * (agent/shortlinks.ts: parse, restore a preset server, LGET on the link's relay, decrypt and
 * verify the link data) into the full contact address the visitor then joins. Loaded only
 * when `data-address` is a short link; scripts/build.mjs ships it as a string that the page
 * puts in front of the crypto worker's source, like the zstd module, and the worker finds the
 * resolver through modules/short_hook.ts. A link on another relay than the widget's
 * (`data-relay` with `#smp://...`) is read through the widget's relay with the "proxy" module
 * (`LGET` forwarded: the link's relay never sees the visitor's address).
 */

import { LinkError } from "../agent/links.js";
import type { ProxiedSender, RoutingErrors } from "../agent/routing.js";
import { isShortLink, linkSMPServer, parseShortLink, resolveContactLink, restoreShortLink, type LinkClient } from "../agent/shortlinks.js";
import { constantTimeEqual } from "../crypto/ct.js";
import type { SMPServer } from "../smp/address.js";
import type { SMPClient } from "../smp/client/client.js";
import { ConnectionLost, SMPCommandError, UnexpectedResponse } from "../smp/client/errors.js";
import type { ShortResolver } from "./short_hook.js";

type Proxy = (proxy: { waitConnected(): Promise<SMPClient> }, destination: SMPServer, errors: RoutingErrors) => ProxiedSender;

/** `client` for a link on the widget's relay `own`; for a link elsewhere, LGET through it (the "proxy" module), if loaded. */
async function linkClient(client: SMPClient, own: SMPServer, server: SMPServer): Promise<LinkClient> {
  const proxy = (globalThis as { hushwireProxy?: Proxy }).hushwireProxy;
  if (proxy === undefined || constantTimeEqual(own.keyHash, server.keyHash)) return client;
  const errors = { command: SMPCommandError, unexpected: UnexpectedResponse, lost: ConnectionLost };
  return proxy({ waitConnected: async () => client }, server, errors).linkClient();
}

function resolver(address: string): ShortResolver | null {
  if (!isShortLink(address)) return null;
  const link = restoreShortLink(parseShortLink(address));
  if (link.type !== "A") throw new LinkError("the widget joins contact addresses; this short link is a one-time invitation, a group or a channel");
  const server = linkSMPServer(link.server);
  return {
    server,
    resolve: async (client, own) => {
      const { request } = await resolveContactLink(await linkClient(client, own, server), link);
      return request.toUri();
    },
  };
}

(globalThis as { hushwireShort?: typeof resolver }).hushwireShort = resolver;
