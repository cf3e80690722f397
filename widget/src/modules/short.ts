/**
 * Module "short" (hushwire-widget-short.js), worker side: resolves a short contact link
 * (agent/shortlinks.ts: parse, restore a preset server, LGET on the link's relay, decrypt and
 * verify the link data) into the full contact address the visitor then joins. Loaded only
 * when `data-address` is a short link; scripts/build.mjs ships it as a string that the page
 * puts in front of the crypto worker's source, like the zstd module, and the worker finds the
 * resolver through modules/short_hook.ts.
 */

import { LinkError } from "../agent/links.js";
import { isShortLink, linkSMPServer, parseShortLink, resolveContactLink, restoreShortLink } from "../agent/shortlinks.js";
import type { ShortResolver } from "./short_hook.js";

function resolver(address: string): ShortResolver | null {
  if (!isShortLink(address)) return null;
  const link = restoreShortLink(parseShortLink(address));
  if (link.type !== "A") throw new LinkError("the widget joins contact addresses; this short link is a one-time invitation, a group or a channel");
  return {
    server: linkSMPServer(link.server),
    resolve: async (client) => {
      const { request } = await resolveContactLink(client, link);
      return request.toUri();
    },
  };
}

(globalThis as { hushwireShort?: typeof resolver }).hushwireShort = resolver;
