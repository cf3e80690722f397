/**
 * Module "business" (hushwire-widget-business.js), worker side: the customer's end of a
 * business chat (business.ts). scripts/build.mjs bundles this file on its own and ships it as
 * a string, like the zstd module; when the crypto worker meets a business address it hands its
 * session over and the page starts a new worker whose Blob begins with this code, which leaves
 * the class where worker/service.ts finds it.
 */

import { BusinessChat } from "../business.js";

(globalThis as { hushwireBusiness?: typeof BusinessChat }).hushwireBusiness = BusinessChat;
