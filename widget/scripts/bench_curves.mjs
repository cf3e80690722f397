#!/usr/bin/env node
// Time the widget's own curve code (src/crypto/montgomery.ts, edwards.ts) against @noble/curves,
// which it replaced in the core, for what the widget does with them: X25519 and X448 DH, an X448
// public key, Ed448 and Ed25519 verify, Ed25519 sign. Each figure is measured twice: the first call
// in a fresh Node process (a fresh worker: noble's Ed448 base tables dropped as crypto/keys.ts
// used to, its Ed25519 tables built on first use), and the median of later calls (steady state).
// Each figure is the median over five processes. Prints a table, then one line `RESULT {json}` (milliseconds). Nothing is asserted.
//   node scripts/bench_curves.mjs [--runs N]   (N steady-state calls, default 30)

import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import * as esbuild from "esbuild";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const runs = Number(process.argv[process.argv.indexOf("--runs") + 1]) || 30;

// One bundle holding both implementations; argv picks the operation and the implementation.
const entry = `
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { ed448, x448 } from "@noble/curves/ed448.js";
import { X25519, X448, xdh, xPublic } from "./src/crypto/montgomery.ts";
import { ED25519, ED448, edSign, edVerify } from "./src/crypto/edwards.ts";
const [op, impl, n, inputs] = process.argv.slice(2);
const rnd = (k) => crypto.getRandomValues(new Uint8Array(k));
const hex = (b) => Buffer.from(b).toString("hex");
if (op === "inputs") {
  // made by noble in a process of its own, so that no measured process has run either's code
  const msg = rnd(300), k25 = rnd(32), k448 = rnd(56), e25 = rnd(32), e448 = rnd(57);
  const v = { msg, k25, k448, e25, e448, p25: x25519.getPublicKey(rnd(32)), p448: x448.getPublicKey(rnd(56)), e25pub: ed25519.getPublicKey(e25), e448pub: ed448.getPublicKey(e448), s25: ed25519.sign(msg, e25), s448: ed448.sign(msg, e448) };
  console.log(JSON.stringify(Object.fromEntries(Object.entries(v).map(([k, b]) => [k, hex(b)]))));
  process.exit(0);
}
const { msg, k25, k448, e25, e448, p25, p448, e25pub, e448pub, s25, s448 } = Object.fromEntries(Object.entries(JSON.parse(inputs)).map(([k, h]) => [k, new Uint8Array(Buffer.from(h, "hex"))]));
// as crypto/keys.ts prepareKeys did for the worker before the own code
if (impl === "noble") ed448.Point.BASE.precompute(1);
const old = {
  x25519: () => x25519.getSharedSecret(k25, p25),
  x448: () => x448.getSharedSecret(k448, p448),
  x448pub: () => x448.scalarMult(k448, x448.GuBytes),
  ed448verify: () => ed448.verify(s448, msg, e448pub, { zip215: false }),
  ed25519verify: () => ed25519.verify(s25, msg, e25pub, { zip215: false }),
  ed25519sign: () => ed25519.sign(msg, e25),
};
const mine = {
  x25519: () => xdh(X25519, k25, p25),
  x448: () => xdh(X448, k448, p448),
  x448pub: () => xPublic(X448, k448),
  ed448verify: () => edVerify(ED448, s448, msg, e448pub),
  ed25519verify: () => edVerify(ED25519, s25, msg, e25pub),
  ed25519sign: () => edSign(ED25519, e25, msg, e25pub),
};
const f = (impl === "noble" ? old : mine)[op];
const times = [];
for (let i = 0; i <= Number(n); i++) {
  const t = performance.now();
  f();
  times.push(performance.now() - t);
}
const first = times.shift();
times.sort((a, b) => a - b);
console.log(JSON.stringify({ first, steady: times[times.length >> 1] }));
`;
const built = await esbuild.build({ stdin: { contents: entry, resolveDir: ROOT, loader: "js" }, bundle: true, platform: "node", format: "esm", write: false, logLevel: "warning" });
const file = join(mkdtempSync(join(tmpdir(), "curves-bench-")), "bench.mjs");
writeFileSync(file, built.outputFiles[0].text);

const inputs = execFileSync(process.execPath, [file, "inputs", "", "0"], { encoding: "utf8" }).trim();
const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
const ops = ["x25519", "x448", "x448pub", "ed448verify", "ed25519verify", "ed25519sign"];
const result = {};
console.log("operation        noble first  own first  noble steady  own steady   (ms)");
for (const op of ops) {
  const r = {};
  for (const impl of ["noble", "own"]) {
    // five fresh processes: the median first call, the median of their steady-state medians
    const ms = Array.from({ length: 5 }, () => JSON.parse(execFileSync(process.execPath, [file, op, impl, String(runs), inputs], { encoding: "utf8" })));
    r[impl] = { first: median(ms.map((m) => m.first)), steady: median(ms.map((m) => m.steady)) };
  }
  result[op] = r;
  const c = (x) => x.toFixed(2).padStart(11);
  console.log(`${op.padEnd(15)} ${c(r.noble.first)} ${c(r.own.first)} ${c(r.noble.steady)}  ${c(r.own.steady)}`);
}
console.log(`RESULT ${JSON.stringify(result)}`);
