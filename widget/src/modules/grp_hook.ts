/**
 * The crypto worker's door to the "grp" module (modules/grp.ts), loaded with
 * `data-profile="grp"`: the module leaves its dialer on the worker's global, and the worker
 * (worker/service.ts #make) dials every connection to its relay with it. With the module the
 * relay is reached over GRP/1 only (`data-relay` must be a `grp://` address; anything else is
 * refused, never dialled in the clear) and the visitor's connInfo says so (`hw.grp`); without
 * it this finds nothing and the widget speaks SMP over WebSocket as before.
 */

import type { SocketFactory } from "../worker/service.js";

/** The module's dialer (data-relay before '#', our relay, the owner's relay), if it is loaded. */
export const grp = (): SocketFactory | undefined => (globalThis as { hushwireGrp?: SocketFactory }).hushwireGrp;
