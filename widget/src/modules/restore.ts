/**
 * Module "restore" (hushwire-widget-restore.js), worker side: reads a sealed session's document,
 * visitor state and ratchet back (agent/state_read.ts) when the page restores a chat (data-resume, the
 * shop, the hand-over to the business module's worker), and seals it as it goes (the write-ahead
 * of worker/durable.ts: a worker without this module seals nothing, as nothing it sealed could
 * open). scripts/build.mjs ships it as a string
 * that the page puts in front of the crypto worker's source, like the zstd module, and
 * Visitor.load finds the reader through modules/restore_hook.ts. The web app and the tests
 * import this file for the same effect.
 */

import { readSession, readVisitorState, type Restorer } from "../agent/state_read.js";
import { writeAhead } from "../worker/durable.js";

(globalThis as { hushwireRestore?: Restorer }).hushwireRestore = { session: readSession, visitor: readVisitorState, wal: writeAhead };
