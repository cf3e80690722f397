// Hushwire inbox page. Plain modern JS, no framework. Every piece of text that came from a
// visitor (names, messages) is written with textContent, never as HTML.
"use strict";

const TICKS = {
  pending: ["…", "Sending"],
  sent: ["✓", "Sent"],
  delivered: ["✓✓", "Delivered"],
  failed: ["!", "Not sent"],
};
const STATUS = { connecting: "connecting", online: "online", ended: "ended" };

const state = {
  convs: new Map(), // id -> conversation
  current: null, // open conversation id
  view: "empty",
};

const $ = (id) => document.getElementById(id);

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

// The session has two halves: the HttpOnly cookie, which the browser also sends to other
// servers on 127.0.0.1 (cookies ignore ports), and this key, which the page claims once
// right after login and keeps in this origin's storage (no other port can read it).
const KEY_STORE = "hushwire-inbox-key";
let sessionKey = localStorage.getItem(KEY_STORE) || "";

async function claimKey() {
  const resp = await fetch("/api/session", { method: "POST", credentials: "same-origin" });
  if (resp.ok) {
    const data = await resp.json().catch(() => ({}));
    if (typeof data.key === "string") {
      sessionKey = data.key;
      localStorage.setItem(KEY_STORE, sessionKey);
    }
  }
}

// Without a working key the cookie is of no use: end it and show the login page.
async function loggedOut() {
  localStorage.removeItem(KEY_STORE);
  await fetch("/logout", { method: "POST", credentials: "same-origin" }).catch(() => {});
  location.replace("/");
}

async function api(method, path, body) {
  const init = { method, credentials: "same-origin", headers: { "X-Hushwire-Key": sessionKey } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const resp = await fetch(path, init);
  if (resp.status === 401) {
    loggedOut();
    throw new Error("not logged in");
  }
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new Error(data.error || `request failed (${resp.status})`);
  return data;
}

function when(at) {
  const d = new Date(at * 1000);
  const today = new Date().toDateString() === d.toDateString();
  return today
    ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : d.toLocaleString([], { dateStyle: "short", timeStyle: "short" });
}

// ------------------------------------------------------------------ conversation list

function sortedConvs() {
  return [...state.convs.values()].sort(
    (a, b) => (b.last_at || b.updated_at) - (a.last_at || a.updated_at),
  );
}

function renderList() {
  const list = $("conversations");
  list.replaceChildren();
  const convs = sortedConvs();
  $("no-conversations").hidden = convs.length > 0;
  for (const c of convs) {
    const li = el("li");
    const a = el("a");
    a.href = `#/c/${encodeURIComponent(c.id)}`;
    a.dataset.id = c.id;
    if (c.id === state.current && state.view === "conversation") a.setAttribute("aria-current", "page");
    a.append(el("span", "conv-name", c.name));
    const meta = el("span", "conv-meta");
    const status = el("span", "status", STATUS[c.status] || c.status);
    status.dataset.status = c.status;
    meta.append(status);
    if (c.unread > 0) {
      const badge = el("span", "badge", String(c.unread));
      badge.setAttribute("aria-label", `${c.unread} unread`);
      meta.append(badge);
    }
    a.append(meta);
    const prefix = c.last_direction === "out" ? "You: " : "";
    a.append(el("span", "conv-last", c.last_text ? prefix + c.last_text : "No messages yet"));
    li.append(a);
    list.append(li);
  }
  updateTitle();
}

function updateTitle() {
  const unread = [...state.convs.values()].reduce((n, c) => n + (c.unread || 0), 0);
  document.title = unread ? `(${unread}) Hushwire inbox` : "Hushwire inbox";
}

async function loadConversations() {
  const data = await api("GET", "/api/conversations");
  state.convs = new Map(data.conversations.map((c) => [c.id, c]));
  renderList();
}

// ------------------------------------------------------------------ views

function show(view) {
  state.view = view;
  for (const v of ["empty", "conversation", "search", "settings"]) $(`view-${v}`).hidden = v !== view;
  document.body.classList.toggle("show-list", view === "empty");
  renderList();
}

function messageItem(m) {
  const li = el("li", `msg ${m.direction}`);
  li.dataset.id = String(m.id);
  li.append(el("p", "msg-text", m.text));
  const meta = el("div", "msg-meta");
  const time = el("time", null, when(m.at));
  time.dateTime = new Date(m.at * 1000).toISOString();
  meta.append(time);
  if (m.direction === "out") {
    const [mark, label] = TICKS[m.state] || ["", m.state];
    const tick = el("span", "tick", mark);
    tick.dataset.state = m.state;
    tick.title = label;
    tick.setAttribute("aria-hidden", "true");
    meta.append(tick, el("span", "sr-only", label));
  }
  li.append(meta);
  return li;
}

function upsertMessage(m) {
  const list = $("messages");
  const item = messageItem(m);
  const old = list.querySelector(`li[data-id="${CSS.escape(String(m.id))}"]`);
  if (old) old.replaceWith(item);
  else {
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    list.append(item);
    if (atBottom || m.direction === "out") list.scrollTop = list.scrollHeight;
  }
}

function renderHeader(c) {
  $("conv-title").textContent = c.name;
  const status = $("conv-status");
  status.textContent = STATUS[c.status] || c.status;
  status.dataset.status = c.status;
  const ended = c.status === "ended";
  $("end-btn").textContent = ended ? "Delete conversation" : "End conversation";
  $("relay-btn").hidden = ended;
  $("reply").disabled = ended;
  $("send").disabled = ended;
  $("reply").placeholder = ended
    ? "This conversation has ended."
    : "Write a reply. Enter sends, Shift+Enter starts a new line.";
}

async function openConversation(id) {
  state.current = id;
  show("conversation");
  $("reply-error").textContent = "";
  const data = await api("GET", `/api/conversations/${encodeURIComponent(id)}`);
  state.convs.set(id, data.conversation);
  renderHeader(data.conversation);
  $("messages").replaceChildren(...data.messages.map(messageItem));
  $("messages").scrollTop = $("messages").scrollHeight;
  renderList();
  markRead();
}

function markRead() {
  const c = state.convs.get(state.current);
  if (state.view !== "conversation" || !c || !c.unread || document.hidden) return;
  api("POST", `/api/conversations/${encodeURIComponent(c.id)}/read`, {}).catch(() => {});
}

async function sendReply(event) {
  event.preventDefault();
  const box = $("reply");
  const text = box.value;
  if (!text.trim() || !state.current) return;
  $("send").disabled = true;
  try {
    const data = await api("POST", `/api/conversations/${encodeURIComponent(state.current)}/messages`, { text });
    box.value = "";
    $("reply-error").textContent = "";
    upsertMessage(data.message);
  } catch (e) {
    $("reply-error").textContent = e.message;
  } finally {
    $("send").disabled = false;
    box.focus();
  }
}

async function endConversation() {
  const c = state.convs.get(state.current);
  if (!c) return;
  const question =
    c.status === "ended"
      ? `Delete the conversation with ${c.name}? Its history is erased from this inbox.`
      : `End the conversation with ${c.name}? The visitor is told, and the history is erased from this inbox.`;
  if (!confirm(question)) return;
  try {
    await api("POST", `/api/conversations/${encodeURIComponent(c.id)}/end`, {});
    state.convs.delete(c.id);
    location.hash = "#/";
  } catch (e) {
    $("reply-error").textContent = e.message;
  }
}

async function changeRelay() {
  const c = state.convs.get(state.current);
  if (!c) return;
  try {
    await api("POST", `/api/conversations/${encodeURIComponent(c.id)}/change-relay`, {});
    $("reply-error").textContent = "Changing the relay: it completes when the visitor's app answers.";
  } catch (e) {
    $("reply-error").textContent = e.message;
  }
}

async function runSearch(q) {
  show("search");
  $("search").value = q;
  const data = await api("GET", `/api/search?q=${encodeURIComponent(q)}`);
  $("search-summary").textContent = data.results.length
    ? `${data.results.length} message(s) containing “${q}”`
    : `No message contains “${q}”.`;
  const list = $("results");
  list.replaceChildren();
  for (const r of data.results) {
    const li = el("li");
    const a = el("a", null, `${r.direction === "in" ? r.name : "You → " + r.name} · ${when(r.at)}`);
    a.href = `#/c/${encodeURIComponent(r.conv_id)}`;
    li.append(a, el("span", "msg-text", r.text));
    list.append(li);
  }
}

/** A notice from the service (for example: another process took over the address), as text. */
function showNotice(text) {
  $("notice").textContent = text;
  $("notice").hidden = false;
}

async function openSettings() {
  show("settings");
  const s = await api("GET", "/api/settings");
  $("owner-name").textContent = s.name;
  // The short link comes first (SMP v15+ relays); the full one stays for older apps. The
  // QR code encodes the short link when there is one.
  const short = typeof s.short_address === "string" && s.short_address ? s.short_address : "";
  $("short-block").hidden = !short;
  $("short-address").value = short;
  $("address").value = s.address;
  $("address-label").textContent = short ? "Full link (for older apps)" : "Link";
  $("copy-address").textContent = short ? "Copy full link" : "Copy link";
  const shown = short || s.address;
  $("qr").alt = short ? "QR code of the short link" : "QR code of the contact address";
  $("qr").src = `/qr.svg?v=${encodeURIComponent(`${short ? "s" : "f"}${shown.length}`)}`;
  $("data-dir").textContent = s.data;
  $("snippet").hidden = !s.snippet;
  $("copy-snippet").hidden = !s.snippet;
  $("snippet").textContent = s.snippet || "";
  $("snippet-note").hidden = !s.snippet_note;
  $("snippet-note").textContent = s.snippet_note || "";
}

async function copy(text, button) {
  try {
    await navigator.clipboard.writeText(text);
    const old = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => (button.textContent = old), 1500);
  } catch {
    button.textContent = "Select and copy by hand";
  }
}

function route() {
  const hash = location.hash;
  let p;
  if (hash.startsWith("#/c/")) p = openConversation(decodeURIComponent(hash.slice(4)));
  else if (hash === "#/settings") p = openSettings();
  else if (hash.startsWith("#/search/")) p = runSearch(decodeURIComponent(hash.slice(9)));
  else {
    state.current = null;
    show("empty");
    return;
  }
  p.catch((e) => {
    show("empty");
    $("view-empty").querySelector("p").textContent = e.message;
  });
}

// ------------------------------------------------------------------ notifications

function setupNotifications() {
  const btn = $("notify-btn");
  if (!("Notification" in window) || Notification.permission !== "default") return;
  btn.hidden = false;
  btn.addEventListener("click", async () => {
    await Notification.requestPermission();
    btn.hidden = Notification.permission === "default";
  });
}

function notify(m) {
  if (!document.hidden || !("Notification" in window) || Notification.permission !== "granted") return;
  const c = state.convs.get(m.conv_id);
  const n = new Notification(c ? c.name : "New message", { body: m.text, tag: m.conv_id });
  n.onclick = () => {
    window.focus();
    location.hash = `#/c/${encodeURIComponent(m.conv_id)}`;
    n.close();
  };
}

// ------------------------------------------------------------------ live updates

let retry = 500;

function connect() {
  const ws = new WebSocket(`ws://${location.host}/ws`, ["hushwire", `k.${sessionKey}`]);
  ws.onopen = () => {
    retry = 500;
    $("live").textContent = "Live";
    $("live").classList.add("ok");
    loadConversations().catch(() => {});
    if (state.view === "conversation" && state.current) openConversation(state.current).catch(() => {});
  };
  ws.onclose = () => {
    $("live").textContent = "Reconnecting…";
    $("live").classList.remove("ok");
    setTimeout(connect, retry);
    retry = Math.min(retry * 2, 15000);
  };
  ws.onmessage = (event) => {
    const u = JSON.parse(event.data);
    if (u.type === "conversation") {
      state.convs.set(u.conversation.id, u.conversation);
      if (u.conversation.id === state.current && state.view === "conversation") {
        renderHeader(u.conversation);
        markRead();
      }
      renderList();
    } else if (u.type === "message") {
      if (u.message.conv_id === state.current && state.view === "conversation") upsertMessage(u.message);
      if (u.message.direction === "in") notify(u.message);
    } else if (u.type === "deleted") {
      state.convs.delete(u.id);
      if (u.id === state.current) location.hash = "#/";
      renderList();
    } else if (u.type === "notice") {
      showNotice(u.text);
    } else if (u.type === "resync") {
      loadConversations().catch(() => {});
      if (state.view === "conversation" && state.current) openConversation(state.current).catch(() => {});
    }
  };
}

// ------------------------------------------------------------------ start

document.addEventListener("DOMContentLoaded", () => {
  $("reply-form").addEventListener("submit", sendReply);
  $("reply").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      $("reply-form").requestSubmit();
    }
  });
  $("end-btn").addEventListener("click", endConversation);
  $("relay-btn").addEventListener("click", changeRelay);
  $("search-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const q = $("search").value.trim();
    location.hash = q ? `#/search/${encodeURIComponent(q)}` : "#/";
  });
  $("copy-short-address").addEventListener("click", (e) =>
    copy($("short-address").value, e.currentTarget),
  );
  $("copy-address").addEventListener("click", (e) => copy($("address").value, e.currentTarget));
  $("copy-snippet").addEventListener("click", (e) => copy($("snippet").textContent, e.currentTarget));
  document.addEventListener("visibilitychange", markRead);
  window.addEventListener("hashchange", route);
  // A plain form post would carry "Origin: null" under our no-referrer policy (and be
  // refused as cross-origin): log out with fetch, which names our origin.
  $("logout-form").addEventListener("submit", (e) => {
    e.preventDefault();
    loggedOut();
  });
  setupNotifications();
  claimKey()
    .catch(() => {})
    .then(() => {
      if (!sessionKey) return loggedOut();
      loadConversations().then(route, route);
      connect();
      api("GET", "/api/settings")
        .then((s) => {
          if (s.notices && s.notices.length) showNotice(s.notices[s.notices.length - 1]);
        })
        .catch(() => {});
    });
});
