#!/usr/bin/env node
// Build the widget into ../src/hushwire/static/: the core, hushwire-widget.js, and its modules,
// hushwire-widget-<name>.js (optional parts loaded on demand; src/modules.ts), which the Python
// package ships:
//   1. bundle src/worker.ts (the crypto worker: protocol, keys, the curve code, noble's hashes and
//      ciphers) into a string, with
//      fzstd replaced by src/modules/zstd_hook.ts (the "zstd" module brings the decompressor);
//   2. bundle each module: "zstd", "business", "restore" and "short" (worker side: its source as a
//      string the page puts in front of the worker's) and the page-side "de", "resume",
//      "passphrase" and "shop";
//      each file calls Hushwire.define;
//   3. bundle src/main.ts (the page side) with the worker's string as "virtual:hushwire-worker"
//      and the modules' SRI hashes as "virtual:hushwire-modules", ui/strings_de.ts replaced by
//      src/modules/de_absent.ts; main.ts starts the worker from a Blob (see README.md).
// esbuild bundles, tree-shakes and minifies; a second pass of terser (safe options only: no
// `unsafe*`, no property mangling) then compresses both further, about 4% gzipped.
// Prints raw and gzipped sizes and fails if the gzipped bundle exceeds the budget.
//
//   node scripts/build.mjs          write the core and the modules
//   node scripts/build.mjs --check  fail unless every file on disk equals a fresh build

import { createHash } from "node:crypto";
import { readFileSync, readdirSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import * as esbuild from "esbuild";
import { minify } from "terser";

import { report } from "./size.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const STATIC = join(ROOT, "..", "src", "hushwire", "static");
const OUT = join(STATIC, "hushwire-widget.js");
const moduleFile = (name) => join(STATIC, `hushwire-widget-${name}.js`);
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
const worker = await esbuild.build({ ...common, entryPoints: ["src/worker.ts"], legalComments: "none", alias: { fzstd: "./src/modules/zstd_hook.ts" } });
const workerSource = await compress(worker.outputFiles[0].text);

/** A module's code, minified like the rest; `alias` as for the worker (it finds fzstd there). */
async function moduleCode(entry, { alias = {}, plugins = [] } = {}) {
  const out = await esbuild.build({ ...common, entryPoints: [entry], legalComments: "none", alias, plugins });
  return compress(out.outputFiles[0].text);
}

/** The core's page side without the German table (the "de" module brings it). */
const germanAbsent = {
  name: "german-absent",
  setup(build) {
    build.onResolve({ filter: /^\.\/strings_de\.js$/ }, () => ({ path: join(ROOT, "src", "modules", "de_absent.ts") }));
  },
};

const MIT_NOBLE = "MIT License (c) Paul Miller (paulmillr.com)";
const modules = new Map([
  ["zstd", `/*! Hushwire widget module zstd (AGPL-3.0-only). Bundles fzstd: MIT License (c) Arjun Barrett */\nwindow.Hushwire.define("zstd",${JSON.stringify(await moduleCode("src/modules/zstd.ts"))});\n`],
  ["business", `/*! Hushwire widget module business (AGPL-3.0-only) */\nwindow.Hushwire.define("business",${JSON.stringify(await moduleCode("src/modules/business.ts", { alias: { fzstd: "./src/modules/zstd_hook.ts" } }))});\n`],
  ["proxy", `/*! Hushwire widget module proxy (AGPL-3.0-only). Bundles @noble/ciphers, @noble/hashes: ${MIT_NOBLE} */\nwindow.Hushwire.define("proxy",${JSON.stringify(await moduleCode("src/modules/proxy.ts"))});\n`],
  // @noble/curves stays in grp: @noble/post-quantum's ML-KEM takes its NTT from it
  ["grp", `/*! Hushwire widget module grp (AGPL-3.0-only). Bundles @noble/curves, @noble/ciphers, @noble/hashes, @noble/post-quantum: ${MIT_NOBLE} */\nwindow.Hushwire.define("grp",${JSON.stringify(await moduleCode("src/modules/grp.ts"))});\n`],
  ["restore", `/*! Hushwire widget module restore (AGPL-3.0-only) */\nwindow.Hushwire.define("restore",${JSON.stringify(await moduleCode("src/modules/restore.ts"))});\n`],
  ["short", `/*! Hushwire widget module short (AGPL-3.0-only). Bundles @noble/ciphers, @noble/hashes: ${MIT_NOBLE} */\nwindow.Hushwire.define("short",${JSON.stringify(await moduleCode("src/modules/short.ts"))});\n`],
  ["de", `/*! Hushwire widget module de (AGPL-3.0-only) */\n${await moduleCode("src/modules/de.ts")}\n`],
  ["resume", `/*! Hushwire widget module resume (AGPL-3.0-only) */\n${await moduleCode("src/modules/resume.ts")}\n`],
  ["passphrase", `/*! Hushwire widget module passphrase (AGPL-3.0-only) */\n${await moduleCode("src/modules/passphrase.ts")}\n`],
  // the shop's chat panel speaks English, like the shop: no German table in it
  ["shop", `/*! Hushwire widget module shop (AGPL-3.0-only) */\n${await moduleCode("src/modules/shop.ts", { plugins: [germanAbsent] })}\n`],
]);
const sri = (bytes) => "sha384-" + createHash("sha384").update(bytes).digest("base64");
const hashes = Object.fromEntries([...modules].map(([name, code]) => [name, sri(Buffer.from(code))]));

const embedHashes = {
  name: "embed-module-hashes",
  setup(build) {
    build.onResolve({ filter: /^virtual:hushwire-modules$/ }, (args) => ({ path: args.path, namespace: "hushwire-modules" }));
    build.onLoad({ filter: /.*/, namespace: "hushwire-modules" }, () => ({ contents: `export default ${JSON.stringify(hashes)};`, loader: "js" }));
  },
};

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
  plugins: [embedWorker, embedHashes, germanAbsent],
  banner: { js: `/*! Hushwire widget (AGPL-3.0-only). Bundles @noble/ciphers, @noble/hashes: ${MIT_NOBLE}; its module zstd bundles fzstd: MIT License (c) Arjun Barrett */` },
});
const bundle = Buffer.from(await compress(main.outputFiles[0].text));

const files = new Map([[OUT, bundle], ...[...modules].map(([name, code]) => [moduleFile(name), Buffer.from(code)])]);
// A module file of an older build that no module is now would still be shipped: refuse it.
const stale = readdirSync(STATIC).filter((f) => /^hushwire-widget-.*\.js$/.test(f) && !files.has(join(STATIC, f)));
if (check) {
  let bad = stale.map((f) => `${join(STATIC, f)} is not a module of the current sources: remove it`);
  for (const [path, bytes] of files) {
    const onDisk = existsSync(path) ? readFileSync(path) : null;
    if (onDisk === null || Buffer.compare(onDisk, bytes) !== 0) bad.push(`${path} is not the build of the current sources: run 'make widget' and commit it`);
  }
  if (bad.length > 0) {
    for (const b of bad) console.error(b);
    process.exit(1);
  }
  console.log(`${OUT} and ${modules.size} modules: up to date`);
} else {
  mkdirSync(STATIC, { recursive: true });
  for (const f of stale) console.error(`warning: ${join(STATIC, f)} is not a module of the current sources`);
  for (const [path, bytes] of files) writeFileSync(path, bytes);
  console.log(`wrote ${OUT} and ${modules.size} modules`);
}
const ok = report(bundle, Buffer.byteLength(workerSource), [...modules].map(([name, code]) => [`hushwire-widget-${name}.js`, Buffer.from(code)]));
if (!ok) process.exit(1);
