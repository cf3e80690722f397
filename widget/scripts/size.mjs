#!/usr/bin/env node
// Print the widget bundle's raw and gzipped size against the budget (60 KB gzipped).
//   node scripts/size.mjs [file]   (default: the built bundle)

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

export const BUDGET_GZIP = 60 * 1024;

export function report(bytes, workerBytes) {
  const gz = gzipSync(bytes, { level: 9 }).length;
  const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
  const worker = workerBytes === undefined ? "" : ` (crypto worker ${kb(workerBytes)} of it)`;
  console.log(`bundle: ${bytes.length} bytes raw = ${kb(bytes.length)}${worker}; ${gz} bytes gzipped = ${kb(gz)}; budget ${kb(BUDGET_GZIP)} gzipped`);
  if (gz > BUDGET_GZIP) {
    console.error(`the gzipped bundle is over the budget by ${gz - BUDGET_GZIP} bytes`);
    return false;
  }
  return true;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "hushwire", "static", "hushwire-widget.js");
  if (!report(readFileSync(file))) process.exit(1);
}
