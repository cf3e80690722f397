#!/usr/bin/env node
// Print the widget core's raw and gzipped size against the budget (55 KB gzipped), and each
// module's (hushwire-widget-<name>.js, loaded on demand; not counted against the budget).
//   node scripts/size.mjs [file]   (default: the built core and the modules next to it)

import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

export const BUDGET_GZIP = 55 * 1024;

const gzip = (bytes) => gzipSync(bytes, { level: 9 }).length;
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

/** `modules`: [file name, bytes] of each module. */
export function report(bytes, workerBytes, modules = []) {
  const gz = gzip(bytes);
  const worker = workerBytes === undefined ? "" : ` (crypto worker ${kb(workerBytes)} of it)`;
  console.log(`core: ${bytes.length} bytes raw = ${kb(bytes.length)}${worker}; ${gz} bytes gzipped = ${kb(gz)}; budget ${kb(BUDGET_GZIP)} gzipped`);
  for (const [name, m] of modules) console.log(`module ${name}: ${m.length} bytes raw; ${gzip(m)} bytes gzipped`);
  if (gz > BUDGET_GZIP) {
    console.error(`the gzipped bundle is over the budget by ${gz - BUDGET_GZIP} bytes`);
    return false;
  }
  return true;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "hushwire", "static");
  const file = process.argv[2] ?? join(dir, "hushwire-widget.js");
  const modules = process.argv[2] === undefined ? readdirSync(dir).filter((f) => /^hushwire-widget-.*\.js$/.test(f)).map((f) => [f, readFileSync(join(dir, f))]) : [];
  if (!report(readFileSync(file), undefined, modules)) process.exit(1);
}
