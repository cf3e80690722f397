/**
 * Module "zstd" (hushwire-widget-zstd.js), worker side: fzstd's decompressor for `X` chat
 * batches (agent/protocol.ts decompress1). scripts/build.mjs bundles this file on its own and
 * ships it as a string; the page puts it in front of the crypto worker's source in the
 * worker's Blob, so it runs first, inside the worker, and leaves the function where
 * zstd_hook.ts finds it.
 */

import { decompress } from "fzstd";

(globalThis as { hushwireZstd?: typeof decompress }).hushwireZstd = decompress;
