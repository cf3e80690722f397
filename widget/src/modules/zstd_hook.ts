/**
 * The core's stand-in for `fzstd` (scripts/build.mjs aliases the package to this file in the
 * worker bundle): the decompressor the "zstd" module (zstd.ts) put on the worker's global.
 * Tests and Node import fzstd itself.
 */

type Decompress = (data: Uint8Array, out?: Uint8Array) => Uint8Array;

export function decompress(data: Uint8Array, out?: Uint8Array): Uint8Array {
  const z = (globalThis as { hushwireZstd?: Decompress }).hushwireZstd;
  if (z === undefined) throw new Error("the zstd module is not loaded");
  return z(data, out);
}
