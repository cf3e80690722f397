// Hushwire inbox: the shop's Orders view (#/orders). Plain JS next to inbox.js, sharing
// only the page's session key (localStorage) and the DOM. Everything a customer wrote
// (names, addresses, notes) is written with textContent, never as HTML.
"use strict";

(() => {
  const KEY_STORE = "hushwire-inbox-key";
  const ZERO = new Set(["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"]);
  const THREE = new Set(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"]);
  const LABEL = { received: "new", confirmed: "confirmed", paid: "paid", shipped: "shipped", delivered: "delivered", cancelled: "cancelled" };
  const ACTIONS = [
    ["Confirm order", "confirmed", ["received"]],
    ["Mark as paid", "paid", ["received", "confirmed"]],
    ["Mark as shipped", "shipped", ["received", "confirmed", "paid"]],
    ["Mark as delivered", "delivered", ["shipped"]],
    ["Cancel order", "cancelled", ["received", "confirmed", "paid"]],
  ];
  const orders = new Map(); // number -> order
  let updates = 0; // live order updates received, to spot one that races a load()
  let current = null;
  let view = null;

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function money(amount, cur) {
    const exp = ZERO.has(cur) ? 0 : THREE.has(cur) ? 3 : 2;
    if (exp === 0) return `${cur} ${amount}`;
    const scale = 10 ** exp;
    return `${cur} ${Math.floor(amount / scale)}.${String(amount % scale).padStart(exp, "0")}`;
  }

  function age(at) {
    const s = Math.max(0, Math.floor(Date.now() / 1000 - at));
    if (s < 3600) return `${Math.floor(s / 60)} min`;
    if (s < 86400) return `${Math.floor(s / 3600)} h`;
    return `${Math.floor(s / 86400)} d`;
  }

  async function api(method, path, body) {
    const init = { method, credentials: "same-origin", headers: { "X-Hushwire-Key": localStorage.getItem(KEY_STORE) || "" } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const resp = await fetch(path, init);
    if (method === "GET" && path.includes("/export.")) {
      if (!resp.ok) throw new Error(`export failed (${resp.status})`);
      return resp.blob();
    }
    const data = await resp.json().catch(() => ({}));
    if (!resp.ok) throw new Error(data.error || `request failed (${resp.status})`);
    return data;
  }

  function build() {
    const css = el("link");
    css.rel = "stylesheet";
    css.href = "/static/orders.css";
    document.head.append(css);
    const main = document.getElementById("main");
    view = el("section", "view orders");
    view.id = "view-orders";
    view.hidden = true;
    view.setAttribute("aria-labelledby", "orders-title");
    const h = el("h2", null, "Orders");
    h.id = "orders-title";
    const hint = el("p", "hint");
    hint.id = "orders-hint";
    const list = el("ul", "orders-list");
    list.id = "orders-list";
    list.setAttribute("role", "list");
    list.setAttribute("aria-label", "Orders");
    const detail = el("section", "order-detail");
    detail.id = "order-detail";
    detail.hidden = true;
    detail.setAttribute("aria-labelledby", "order-title");
    const error = el("p", "error");
    error.id = "order-error";
    error.setAttribute("role", "alert");
    view.append(h, hint, list, detail, error);
    main.append(view);
  }

  function renderList() {
    const list = document.getElementById("orders-list");
    const sorted = [...orders.values()].sort((a, b) => b.created_at - a.created_at);
    list.replaceChildren(
      ...sorted.map((o) => {
        const li = el("li", "order-item");
        const a = el("a");
        a.href = `#/orders/${encodeURIComponent(o.number)}`;
        if (o.number === current) a.setAttribute("aria-current", "true");
        a.append(
          el("span", "order-number", o.number),
          el("span", "order-customer", o.customer.name),
          el("span", "order-total", money(o.total, o.currency)),
          el("span", `order-status status-${o.status}`, LABEL[o.status] || o.status),
          el("span", "order-age", age(o.created_at)),
        );
        li.append(a);
        return li;
      }),
    );
    document.getElementById("orders-hint").textContent = sorted.length ? "" : "No orders yet. They appear here as soon as a customer orders.";
    const link = document.getElementById("orders-link");
    const fresh = sorted.filter((o) => o.status === "received").length;
    if (link) link.textContent = fresh ? `Orders (${fresh} new)` : "Orders";
  }

  function download(blob, name) {
    const url = URL.createObjectURL(blob);
    const a = el("a");
    a.href = url;
    a.download = name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  function renderDetail() {
    const detail = document.getElementById("order-detail");
    const o = current && orders.get(current);
    if (!o) {
      detail.hidden = true;
      return;
    }
    detail.hidden = false;
    const title = el("h3", null, `Order ${o.number}`);
    title.id = "order-title";
    const status = el("p", "order-state", `Status: ${LABEL[o.status] || o.status}`);
    const items = el("ul", "order-lines");
    items.setAttribute("aria-label", "Items");
    for (const i of o.items) items.append(el("li", null, `${i.qty} × ${i.name} — ${money(i.qty * i.price, o.currency)}`));
    items.append(el("li", null, `Shipping: ${o.shipping.name} — ${money(o.shipping.price, o.currency)}`));
    const total = el("p", "order-grand-total", `Total: ${money(o.total, o.currency)}`);
    const c = o.customer;
    const address = el("address", "order-address");
    for (const line of [c.name, c.address, `${c.postcode} ${c.city}`, c.country, c.email || ""]) {
      if (line.trim()) address.append(el("div", null, line));
    }
    const who = el("p", "hint", `From the conversation with ${o.customer_name}`);
    const parts = [title, status, items, total, address, who];
    if (o.tracking) parts.push(el("p", null, `Tracking number: ${o.tracking}`));
    const actions = el("div", "order-actions");
    const trackLabel = el("label", null, "Tracking number");
    const track = el("input");
    track.id = "tracking";
    track.type = "text";
    track.maxLength = 200;
    track.autocomplete = "off";
    trackLabel.htmlFor = "tracking";
    for (const [label, next, from] of ACTIONS) {
      if (!from.includes(o.status)) continue;
      if (next === "shipped") actions.append(trackLabel, track);
      const b = el("button", next === "cancelled" ? "danger" : null, label);
      b.type = "button";
      b.addEventListener("click", () => change(o.number, next, next === "shipped" ? track.value.trim() : null, b));
      actions.append(b);
    }
    const exports = el("div", "order-exports");
    for (const kind of ["json", "csv"]) {
      const b = el("button", null, `Export ${kind.toUpperCase()}`);
      b.type = "button";
      b.addEventListener("click", async () => {
        try {
          download(await api("GET", `/api/orders/${encodeURIComponent(o.number)}/export.${kind}`), `order-${o.number}.${kind}`);
        } catch (e) {
          document.getElementById("order-error").textContent = e.message;
        }
      });
      exports.append(b);
    }
    detail.replaceChildren(...parts, actions, exports);
  }

  async function change(number, status, tracking, button) {
    const error = document.getElementById("order-error");
    error.textContent = "";
    button.disabled = true;
    try {
      const got = await api("POST", `/api/orders/${encodeURIComponent(number)}/status`, { status, tracking: tracking || null });
      orders.set(got.order.number, got.order);
      renderList();
      renderDetail();
    } catch (e) {
      error.textContent = e.message;
      button.disabled = false;
    }
  }

  async function load() {
    // A live update that arrives while the list is being fetched may be newer than the
    // answer: fetch again rather than let the older answer hide it.
    const seen = updates;
    const got = await api("GET", "/api/orders");
    if (updates !== seen) return load();
    orders.clear();
    for (const o of got.orders) orders.set(o.number, o);
    if (!got.shop) document.getElementById("orders-hint").textContent = "This inbox has no shop: start it with --shop catalog.toml (see docs/inbox.md).";
  }

  async function route() {
    const hash = location.hash;
    if (!hash.startsWith("#/orders")) {
      if (view && !view.hidden) view.hidden = true;
      return;
    }
    for (const v of document.querySelectorAll("#main > .view")) v.hidden = v !== view;
    document.body.classList.remove("show-list");
    view.hidden = false;
    current = hash.startsWith("#/orders/") ? decodeURIComponent(hash.slice(9)) : null;
    document.getElementById("order-error").textContent = "";
    if (!localStorage.getItem(KEY_STORE)) {
      setTimeout(route, 300); // the page has not claimed its key yet
      return;
    }
    try {
      await load();
      renderList();
      renderDetail();
    } catch (e) {
      document.getElementById("order-error").textContent = e.message;
    }
  }

  function notify(o) {
    const live = document.getElementById("orders-live");
    if (live) live.textContent = `New order ${o.number} from ${o.customer.name}: ${money(o.total, o.currency)}`;
    if (!document.hidden || !("Notification" in window) || Notification.permission !== "granted") return;
    const n = new Notification(`New order ${o.number}`, { body: `${o.customer.name}: ${money(o.total, o.currency)}`, tag: `order-${o.number}` });
    n.onclick = () => {
      window.focus();
      location.hash = `#/orders/${encodeURIComponent(o.number)}`;
      n.close();
    };
  }

  function connect() {
    const key = localStorage.getItem(KEY_STORE);
    if (!key) {
      setTimeout(connect, 300);
      return;
    }
    const ws = new WebSocket(`ws://${location.host}/ws`, ["hushwire", `k.${key}`]);
    ws.onclose = () => setTimeout(connect, 2000);
    // Orders placed before this socket opened were not pushed to it: load the list again.
    ws.onopen = () => {
      if (view && !view.hidden) route();
    };
    ws.onmessage = (event) => {
      const u = JSON.parse(event.data);
      if (u.type === "order") {
        updates++;
        orders.set(u.order.number, u.order);
        if (u.new) notify(u.order);
        renderList();
        if (!view.hidden && u.order.number === current) renderDetail();
      } else if (u.type === "resync" && !view.hidden) route();
    };
  }

  document.addEventListener("DOMContentLoaded", () => {
    build();
    const nav = document.querySelector(".top-nav");
    if (nav && !document.getElementById("orders-link")) {
      const a = el("a", null, "Orders");
      a.id = "orders-link";
      a.href = "#/orders";
      nav.prepend(a);
    }
    const live = el("span", "sr-only");
    live.id = "orders-live";
    live.setAttribute("aria-live", "polite");
    document.body.append(live);
    window.addEventListener("hashchange", route);
    // inbox.js shows its own views when it routes (also late, after its first load): on
    // #/orders, any of them that turns visible is hidden again.
    new MutationObserver(() => {
      if (!location.hash.startsWith("#/orders")) return;
      for (const v of document.querySelectorAll("#main > .view")) {
        if (v !== view && !v.hidden) v.hidden = true;
      }
      if (view.hidden) view.hidden = false;
    }).observe(document.getElementById("main"), { attributes: true, subtree: true, attributeFilter: ["hidden"] });
    setTimeout(route, 0);
    connect();
  });
})();
