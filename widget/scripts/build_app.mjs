#!/usr/bin/env node
// Build the web app into ../src/hushwire/static/app/hushwire-app.js (the Python package serves
// it with `hushwire app serve`): its crypto worker (src/app/worker.ts) bundled into a string, then
// the page (src/app/main.ts) with that string as "virtual:hushwire-app-worker" (the page starts
// the worker from a blob:, so the script's SRI hash covers the worker too). esbuild then terser,
// as for the widget (scripts/build.mjs); the widget's budget is not the app's: the size is printed.
//
//   node scripts/build_app.mjs          write the bundle
//   node scripts/build_app.mjs --check  fail unless the file on disk equals a fresh build

import { readFileSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

import * as esbuild from "esbuild";
import { minify } from "terser";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const OUT = join(ROOT, "..", "src", "hushwire", "static", "app", "hushwire-app.js");
const check = process.argv.includes("--check");

const common = { bundle: true, minify: true, format: "iife", platform: "browser", target: "es2022", charset: "utf8", write: false, logLevel: "warning", absWorkingDir: ROOT, legalComments: "none" };
const compress = async (code) => (await minify(code, { ecma: 2022, compress: { passes: 3 }, mangle: true, format: { ecma: 2022, comments: /^!/ } })).code;

const worker = await compress((await esbuild.build({ ...common, entryPoints: ["src/app/worker.ts"] })).outputFiles[0].text);
const embedWorker = {
  name: "embed-app-worker",
  setup(build) {
    build.onResolve({ filter: /^virtual:hushwire-app-worker$/ }, (args) => ({ path: args.path, namespace: "hushwire-app-worker" }));
    build.onLoad({ filter: /.*/, namespace: "hushwire-app-worker" }, () => ({ contents: `export default ${JSON.stringify(worker)};`, loader: "js" }));
  },
};
const page = await esbuild.build({
  ...common,
  entryPoints: ["src/app/main.ts"],
  plugins: [embedWorker],
  banner: { js: "/*! Hushwire web app (AGPL-3.0-only). Bundles @noble/curves, @noble/ciphers, @noble/hashes, @paulmillr/qr: MIT License (c) Paul Miller (paulmillr.com); fzstd: MIT License (c) Arjun Barrett */" },
});
const bundle = Buffer.from(await compress(page.outputFiles[0].text));

if (check) {
  if (!existsSync(OUT) || Buffer.compare(readFileSync(OUT), bundle) !== 0) {
    console.error(`${OUT} is not the build of the current sources: run 'make app' and commit it`);
    process.exit(1);
  }
  console.log(`${OUT}: up to date`);
} else {
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, bundle);
  console.log(`wrote ${OUT}`);
}
console.log(`app: ${bundle.length} bytes raw (crypto worker ${worker.length} of it); ${gzipSync(bundle, { level: 9 }).length} bytes gzipped`);
