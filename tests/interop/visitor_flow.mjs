#!/usr/bin/env node
// Contact-address interop check: simplex-js@1.0.0's high-level visitor API
// (createBrowserClient) joins the contact address of an owner that echoes
// every text (hushwire bot echo), sends three texts and waits for the echoes.
//
// Usage:
//   node visitor_flow.mjs CONTACT_LINK [wss://HOST:PORT] [--name NAME] [--verbose] [--timeout-ms N]
//
// CONTACT_LINK is the owner's simplex:/contact#/?v=2-7&smp=... link. The
// optional server URL becomes simplex-js's `serverUrl`: it replaces host:port
// for every SMP connection (README.md, "Corrections").
//
// Output: one JSON object per line on stdout, one per step, then a SUMMARY
// line. simplex-js's console.log output is buffered and written to stderr on
// failure, or live with --verbose.
//
// Exit status: 0 = every step ok; 1 = anything else. The process always ends
// within --timeout-ms (default 45000, at most 55000) plus about one second.

import {listenerErrors, loadSimplexJs, safeString} from "./shim.mjs"

// ---------------------------------------------------------------- options

const argv = process.argv.slice(2)
const positional = []
let verbose = false
let overallTimeoutMs = 45000
let displayName = "Interop Visitor"
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]
  if (a === "--verbose" || a === "-v") verbose = true
  else if (a === "--timeout-ms") overallTimeoutMs = Number(argv[++i])
  else if (a === "--name") displayName = argv[++i]
  else if (a === "-h" || a === "--help") {
    process.stdout.write("usage: node visitor_flow.mjs CONTACT_LINK [wss://HOST:PORT] [--name NAME] [--verbose] [--timeout-ms N]\n")
    process.exit(0)
  } else positional.push(a)
}
if (!(overallTimeoutMs > 0)) overallTimeoutMs = 45000
overallTimeoutMs = Math.min(overallTimeoutMs, 55000)
const CONNECT_TIMEOUT_MS = Math.min(20000, Math.floor(overallTimeoutMs / 2))
const ECHO_TIMEOUT_MS = Math.min(15000, Math.floor(overallTimeoutMs / 3))

// The three texts. Each is echoed by the owner; an echo is matched by equality.
const TEXTS = [
  "hello from simplex-js",
  "<b>bold</b> & <i>tags</i> stay \"literal\"",
  "Grüße, 世界! Привет 👋🏽 — ünïcödé",
]

// ---------------------------------------------------------------- output

const steps = []
function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n")
}
function record(step, ok, extra = {}) {
  const entry = {step, ok, ...extra}
  steps.push(entry)
  emit(entry)
  return entry
}

const LOG_RING = 600
const logRing = []
function sxLog(...args) {
  const line = args.map((x) => (typeof x === "string" ? x : safeString(x))).join(" ")
  if (verbose) process.stderr.write("[simplex-js] " + line + "\n")
  else {
    logRing.push(line)
    if (logRing.length > LOG_RING) logRing.shift()
  }
}
console.log = sxLog
console.info = sxLog
console.debug = sxLog
console.warn = sxLog
console.error = sxLog

let finished = false
function finish(code) {
  if (finished) return
  finished = true
  const failed = steps.filter((s) => !s.ok)
  if (code === undefined) code = failed.length === 0 ? 0 : 1
  emit({step: "SUMMARY", ok: code === 0, exit_code: code, steps: steps.length, failed: failed.map((s) => s.step)})
  if (code !== 0 && !verbose && logRing.length > 0) {
    process.stderr.write("---- last " + logRing.length + " simplex-js log lines ----\n" + logRing.join("\n") + "\n")
  }
  // simplex-js keeps keepalive intervals and reconnect timers; do not wait for them.
  process.stdout.write("", () => process.exit(code))
  setTimeout(() => process.exit(code), 500).unref()
}

const watchdog = setTimeout(() => {
  record("TIMEOUT", false, {error: "overall timeout of " + overallTimeoutMs + " ms exceeded"})
  finish(1)
}, overallTimeoutMs)

process.on("uncaughtException", (e) => {
  record("UNCAUGHT", false, {error: safeString(e)})
  finish(1)
})
process.on("unhandledRejection", (e) => {
  record("UNHANDLED_REJECTION", false, {error: safeString(e)})
  finish(1)
})

// ---------------------------------------------------------------- load

const sx = await loadSimplexJs({log: sxLog})

function errText(e) {
  return e instanceof Error ? e.name + ": " + e.message : String(e)
}
function withTimeout(p, ms, what) {
  let t
  return Promise.race([
    p,
    new Promise((_, rej) => {
      t = setTimeout(() => rej(new Error("timeout after " + ms + " ms waiting for " + what)), ms)
    }),
  ]).finally(() => clearTimeout(t))
}

// ---------------------------------------------------------------- arguments

if (positional.length < 1 || positional.length > 2) {
  record("ARGS", false, {error: "usage: node visitor_flow.mjs CONTACT_LINK [wss://HOST:PORT]"})
  finish(1)
  await new Promise(() => {}) // finish() exits the process
}
const contactAddress = positional[0]
const serverUrl = positional[1]
try {
  const parsed = sx.parseContactAddress(contactAddress)
  if (parsed.format !== "full") throw new Error("short links are not resolved by simplex-js; got " + parsed.format)
  const q = parsed.data.smpQueues[0]
  record("ARGS", true, {
    host: q.server.hosts[0],
    port: q.server.port,
    queue_mode: q.queueMode ?? null,
    server_url: serverUrl ?? null,
  })
} catch (e) {
  record("ARGS", false, {error: errText(e)})
  finish(1)
  await new Promise(() => {})
}

// ---------------------------------------------------------------- flow

// Every status change, in order, with a waiter per target status.
const statuses = []
const statusWaiters = []
function onStatusChange(status) {
  statuses.push(status)
  emit({event: "status", status})
  for (const w of statusWaiters.splice(0)) {
    if (w.want === status || status === "error" || status === "offline") w.done(status)
    else statusWaiters.push(w)
  }
}
function waitStatus(want, ms) {
  if (statuses[statuses.length - 1] === want) return Promise.resolve(want)
  return withTimeout(
    new Promise((done) => statusWaiters.push({want, done})),
    ms,
    "status " + want
  )
}

// Incoming texts (onMessage), with waiters.
const received = []
let receivedWaiters = []
function onMessage(text) {
  received.push(text)
  emit({event: "message", text})
  const ws = receivedWaiters
  receivedWaiters = []
  for (const w of ws) w()
}
function waitReceived(n, ms) {
  const check = (done) => {
    if (received.length >= n) done()
    else receivedWaiters.push(() => check(done))
  }
  return withTimeout(new Promise(check), ms, n + " echoes (got " + received.length + ")")
}

const receipts = []
const ownStatus = new Map()
const errors = []

let client
async function main() {
  client = sx.createBrowserClient({
    contactAddress,
    serverUrl,
    displayName,
    onMessage,
    onStatusChange,
    onError: (e) => {
      errors.push(errText(e))
      emit({event: "error", error: errText(e)})
    },
    onOwnMessage: (m) => ownStatus.set(m.id, m.status),
    onMessageStatusChange: (id, status) => ownStatus.set(id, status),
    onDeliveryReceipt: (agentMsgId) => {
      receipts.push(agentMsgId)
      emit({event: "receipt", agent_msg_id: agentMsgId})
    },
  })

  // connect() resolves once the invitation is sent (status "pending"); the
  // connection is up when the owner's confirmation and HELLO have arrived.
  if (!(await step("CONNECT", async () => {
    await withTimeout(client.connect(displayName), CONNECT_TIMEOUT_MS, "connect()")
    return {status: client.status}
  }))) return
  // Text 1 is typed before the connection is up: simplex-js queues it and
  // sends it when the owner's HELLO arrives (flushMessageQueue).
  if (!(await step("SEND", async () => {
    await withTimeout(client.send(TEXTS[0]), ECHO_TIMEOUT_MS, "send()")
    return {n: 1, text: TEXTS[0], status: client.status}
  }))) return
  if (!(await step("CONNECTED", async () => {
    const s = await waitStatus("connected", CONNECT_TIMEOUT_MS)
    if (s !== "connected") throw new Error("status became " + s + " (errors: " + JSON.stringify(errors) + ")")
    return {statuses: statuses.slice()}
  }))) return

  // Texts 2 and 3 are sent as soon as the previous echo is shown.
  for (let i = 0; i < TEXTS.length; i++) {
    if (i > 0 && !(await step("SEND", async () => {
      await withTimeout(client.send(TEXTS[i]), ECHO_TIMEOUT_MS, "send()")
      return {n: i + 1, text: TEXTS[i]}
    }))) return
    if (!(await step("ECHO", async () => {
      await waitReceived(i + 1, ECHO_TIMEOUT_MS)
      const got = received[i]
      if (got !== TEXTS[i]) throw new Error("echo " + (i + 1) + " is " + JSON.stringify(got) + ", want " + JSON.stringify(TEXTS[i]))
      return {n: i + 1, text: got}
    }))) return
  }

  // Own-message status as simplex-js reports it ("sent" once SEND got OK).
  await step("SENT_STATUS", async () => {
    const st = [...ownStatus.values()]
    if (st.length !== TEXTS.length || st.some((s) => s !== "sent")) throw new Error("own message statuses: " + JSON.stringify(st))
    return {statuses: st}
  })

  // Delivery receipts (A_RCVD) from the owner, if simplex-js surfaces them.
  // Informational: give them a moment to arrive, never fail on them.
  const t0 = Date.now()
  while (receipts.length < TEXTS.length && Date.now() - t0 < 1500) await new Promise((r) => setTimeout(r, 100))
  record("RECEIPTS", true, {count: receipts.length, agent_msg_ids: receipts.slice()})

  await step("NO_EXTRA_MESSAGES", async () => {
    if (received.length !== TEXTS.length) throw new Error("received " + received.length + " texts: " + JSON.stringify(received))
    if (errors.length > 0) throw new Error("onError: " + JSON.stringify(errors))
    return {}
  })

  await step("DISCONNECT", async () => {
    await withTimeout(client.disconnect(), 5000, "disconnect()")
    return {status: client.status}
  })

  if (listenerErrors.length > 0) {
    record("WS_LISTENERS", false, {error: "exceptions in simplex-js WebSocket listeners", details: listenerErrors.slice(0, 5)})
  }
}

async function step(name, fn) {
  try {
    const extra = (await fn()) || {}
    record(name, true, extra)
    return true
  } catch (e) {
    record(name, false, {error: errText(e)})
    return false
  }
}

main()
  .catch((e) => record("CRASH", false, {error: errText(e), stack: e && e.stack}))
  .finally(() => {
    clearTimeout(watchdog)
    finish()
  })
