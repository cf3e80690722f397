/**
 * The crypto worker's door to the "restore" module (modules/restore.ts): reading a stored
 * session back (agent/state_read.ts) is in the module, which runs in the worker before the
 * worker's own code and leaves the reader on the worker's global, with the write-ahead that
 * seals the session. Without the module a stored session does not open and none is sealed (the
 * page starts a new chat, as without the page's resume store).
 */

import type { Restorer } from "../agent/state_read.js";

/** The module's readers, or undefined without the module. */
export const restoreModule = (): Restorer | undefined => (globalThis as { hushwireRestore?: Restorer }).hushwireRestore;

/** The module's readers; an Error if the module is not loaded. */
export function restorer(): Restorer {
  const r = restoreModule();
  if (r === undefined) throw new Error("the restore module is not loaded");
  return r;
}
