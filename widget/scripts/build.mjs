#!/usr/bin/env node
// Build the widget into ONE file, ../src/hushwire/static/hushwire-widget.js, which the Python
// package ships:
//   1. bundle src/worker.ts (the crypto worker: protocol, keys, noble) into a string;
//   2. bundle src/main.ts (the page side) with that string as the module "virtual:hushwire-worker";
//      main.ts starts the worker from a Blob of it (see README.md for the CSP trade-off).
// esbuild bundles, tree-shakes and minifies; a second pass of terser (safe options only: no
// `unsafe*`, no property mangling) then compresses both further, about 4% gzipped.
// Prints raw and gzipped sizes and fails if the gzipped bundle exceeds the budget.
//
//   node scripts/build.mjs          write the bundle
//   node scripts/build.mjs --check  fail unless the file on disk equals a fresh build

import { readFileSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import * as esbuild from "esbuild";
import { minify } from "terser";

import { report } from "./size.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const OUT = join(ROOT, "..", "src", "hushwire", "static", "hushwire-widget.js");
const check = process.argv.includes("--check");

const common = {
  bundle: true,
  minify: true,
  format: "iife",
  platform: "browser",
  target: "es2022",
  legalComments: "eof",
  charset: "utf8",
  write: false,
  logLevel: "warning",
  absWorkingDir: ROOT,
};

/** terser after esbuild: three compress passes, names mangled again; `/*!` comments kept. */
async function compress(code) {
  const out = await minify(code, { ecma: 2022, compress: { passes: 3 }, mangle: true, format: { ecma: 2022, comments: /^!/ } });
  return out.code;
}

// The worker's own license comments would be duplicated inside the embedded string: the
// banner of the bundle names every bundled package instead.
const worker = await esbuild.build({ ...common, entryPoints: ["src/worker.ts"], legalComments: "none" });
const workerSource = await compress(worker.outputFiles[0].text);

const embedWorker = {
  name: "embed-worker",
  setup(build) {
    build.onResolve({ filter: /^virtual:hushwire-worker$/ }, (args) => ({ path: args.path, namespace: "hushwire-worker" }));
    build.onLoad({ filter: /.*/, namespace: "hushwire-worker" }, () => ({
      contents: `export default ${JSON.stringify(workerSource)};`,
      loader: "js",
    }));
  },
};

const main = await esbuild.build({
  ...common,
  entryPoints: ["src/main.ts"],
  plugins: [embedWorker],
  banner: { js: "/*! Hushwire widget (AGPL-3.0-only). Bundles @noble/curves, @noble/ciphers, @noble/hashes: MIT License (c) Paul Miller (paulmillr.com); fzstd: MIT License (c) Arjun Barrett */" },
});
const bundle = Buffer.from(await compress(main.outputFiles[0].text));

if (check) {
  const onDisk = existsSync(OUT) ? readFileSync(OUT) : null;
  if (onDisk === null || Buffer.compare(onDisk, Buffer.from(bundle)) !== 0) {
    console.error(`${OUT} is not the build of the current sources: run 'make widget' and commit it`);
    process.exit(1);
  }
  console.log(`${OUT}: up to date`);
} else {
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, bundle);
  console.log(`wrote ${OUT}`);
}
const ok = report(bundle, Buffer.byteLength(workerSource));
if (!ok) process.exit(1);
