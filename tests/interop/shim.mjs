// Shared environment for running simplex-js@1.0.0 under Node as if in a browser.
//
//   import {loadSimplexJs, listenerErrors, safeString} from "./shim.mjs"
//   const sx = await loadSimplexJs({log: myLogFunction})
//
// loadSimplexJs() sets `globalThis.self` and `globalThis.WebSocket` (to
// BrowserLikeWebSocket) and only then imports simplex-js dynamically: see
// README.md quirk Q1 (a static import would be evaluated first).

import {WebSocket as WsWebSocket} from "ws"

let shimLog = () => {}

export function safeString(x) {
  try {
    return x instanceof Error ? x.stack || x.message : typeof x === "object" ? JSON.stringify(x) : String(x)
  } catch {
    return String(x)
  }
}

// Exceptions thrown by WebSocket listeners ({type, error}), in order.
export const listenerErrors = []

// Browser-like WebSocket on top of the `ws` package:
//  - accepts the relay's self-signed certificate (rejectUnauthorized: false);
//  - dispatches open/message/error/close events one per macrotask, in order,
//    like a browser's WebSocket task source (ws emits several 'message'
//    events synchronously when several frames arrive in one TCP read);
//  - supports addEventListener/removeEventListener and on<event> properties,
//    binaryType "arraybuffer" | "blob" ("nodebuffer" is not browser API);
//  - an exception thrown by a listener is reported (as a browser reports it
//    to the console) but does not stop dispatch or kill the process.
export class BrowserLikeWebSocket {
  static CONNECTING = 0
  static OPEN = 1
  static CLOSING = 2
  static CLOSED = 3

  constructor(url, protocols) {
    this.url = String(url)
    this._listeners = new Map()
    this._queue = []
    this._pumping = false
    this._binaryType = "blob"
    this.onopen = null
    this.onmessage = null
    this.onerror = null
    this.onclose = null
    this._ws = new WsWebSocket(url, protocols, {
      rejectUnauthorized: false,
      perMessageDeflate: false,
      maxPayload: 1 << 20,
    })
    this._ws.binaryType = "nodebuffer"
    this._ws.on("open", () => this._enqueue("open", {}))
    this._ws.on("message", (data, isBinary) => {
      let payload
      if (!isBinary) payload = data.toString("utf8")
      else if (this._binaryType === "blob") payload = new Blob([data])
      else payload = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)
      this._enqueue("message", {data: payload})
    })
    this._ws.on("error", (err) => this._enqueue("error", {error: err, message: err && err.message}))
    this._ws.on("close", (code, reason) =>
      this._enqueue("close", {code, reason: reason ? reason.toString() : "", wasClean: code === 1000})
    )
  }

  get readyState() {
    return this._ws.readyState
  }
  get bufferedAmount() {
    return this._ws.bufferedAmount
  }
  get protocol() {
    return this._ws.protocol
  }
  get extensions() {
    return this._ws.extensions
  }
  get binaryType() {
    return this._binaryType
  }
  set binaryType(t) {
    if (t === "arraybuffer" || t === "blob") this._binaryType = t
  }

  send(data) {
    this._ws.send(data)
  }
  close(code, reason) {
    this._ws.close(code, reason)
  }

  addEventListener(type, fn, opts) {
    if (typeof fn !== "function" && !(fn && typeof fn.handleEvent === "function")) return
    const once = typeof opts === "object" && opts !== null && opts.once === true
    let list = this._listeners.get(type)
    if (!list) this._listeners.set(type, (list = []))
    if (!list.some((l) => l.fn === fn)) list.push({fn, once})
  }
  removeEventListener(type, fn) {
    const list = this._listeners.get(type)
    if (list) this._listeners.set(type, list.filter((l) => l.fn !== fn))
  }
  dispatchEvent(ev) {
    const list = (this._listeners.get(ev.type) || []).slice()
    for (const l of list) {
      if (l.once) this.removeEventListener(ev.type, l.fn)
      this._invoke(l.fn, ev)
    }
    const prop = this["on" + ev.type]
    if (typeof prop === "function") this._invoke(prop, ev)
    return true
  }
  _invoke(fn, ev) {
    try {
      if (typeof fn === "function") fn.call(this, ev)
      else fn.handleEvent(ev)
    } catch (e) {
      listenerErrors.push({type: ev.type, error: safeString(e)})
      shimLog("[shim] exception in '" + ev.type + "' listener: " + safeString(e))
    }
  }
  _enqueue(type, fields) {
    const ev = {type, target: this, currentTarget: this, ...fields}
    this._queue.push(ev)
    if (!this._pumping) {
      this._pumping = true
      setImmediate(() => this._pump())
    }
  }
  _pump() {
    const ev = this._queue.shift()
    if (ev) this.dispatchEvent(ev)
    if (this._queue.length > 0) setImmediate(() => this._pump())
    else this._pumping = false
  }
}

// Installs the globals simplex-js needs, then imports it. `log` receives the
// shim's own diagnostics (listener exceptions).
//
// The globals must be in place before simplex-js is evaluated: its bundled
// tweetnacl picks its PRNG from `self.crypto` at module load
// (dist/index.js:3328) and otherwise has none (its Node fallback is a
// "(disabled):crypto" stub, dist/index.js:1050), so nacl.box.keyPair() in
// connectSMP (dist/index.js:11658) would throw.
export async function loadSimplexJs({log} = {}) {
  if (log) shimLog = log
  globalThis.self = globalThis
  globalThis.WebSocket = BrowserLikeWebSocket
  return await import("simplex-js")
}
