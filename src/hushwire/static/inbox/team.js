// Hushwire inbox page, team part: assignment and its filters, operators, typing both ways,
// saved replies. Loaded after inbox.js, whose helpers ($, el, api, state, renderList) it
// uses; inbox.js calls the window.team* hooks below. Text from people is written with
// textContent, never as HTML.
"use strict";

const team = {
  role: null, // "host", "operator" or null (a 1:1 inbox)
  filter: "all",
  typing: new Map(), // conversation id -> { name, timer }
  typingSent: false, // we told the others we are typing in the open conversation
  saved: [],
  menuIndex: 0,
};

const TYPING_SHOWN_MS = 8000;

// ------------------------------------------------------------------ list and header

window.teamFilter = (c) => {
  if (!c.team || team.filter === "all") return true;
  if (team.filter === "mine") return c.mine === true;
  return !c.assigned; // unassigned
};

window.teamDecorate = (c, meta) => {
  if (c.team && c.assigned) meta.append(el("span", "assigned", c.mine ? "Mine" : `→ ${c.assigned}`));
};

window.teamHeader = (c) => {
  const btn = $("assign-btn");
  const label = $("conv-assigned");
  btn.hidden = !c.team || c.status === "ended";
  label.hidden = !c.team;
  if (!c.team) return;
  label.textContent = c.assigned ? `Assigned to ${c.mine ? "you" : c.assigned}` : "Unassigned";
  btn.textContent = c.mine ? "Unassign" : "Assign to me";
  btn.dataset.mine = c.mine ? "1" : "";
  showTyping();
};

async function assignToggle() {
  const c = state.convs.get(state.current);
  if (!c) return;
  try {
    await api("POST", `/api/conversations/${encodeURIComponent(c.id)}/assign`, { mine: !c.mine });
  } catch (e) {
    $("reply-error").textContent = e.message;
  }
}

function setFilter(name) {
  team.filter = name;
  for (const b of $("team-filters").querySelectorAll("button")) {
    b.setAttribute("aria-pressed", String(b.dataset.filter === name));
  }
  renderList();
}

// ------------------------------------------------------------------ typing

function showTyping() {
  const t = team.typing.get(state.current);
  $("typing").textContent = t ? `${t.name} is typing…` : "";
}

function typingSeen(id, name, on) {
  const old = team.typing.get(id);
  if (old) clearTimeout(old.timer);
  if (on) {
    const timer = setTimeout(() => {
      team.typing.delete(id);
      showTyping();
    }, TYPING_SHOWN_MS);
    team.typing.set(id, { name, timer });
  } else team.typing.delete(id);
  showTyping();
}

function tellTyping(on) {
  const c = state.convs.get(state.current);
  if (!c || !c.team || team.typingSent === on) return;
  team.typingSent = on;
  api("POST", `/api/conversations/${encodeURIComponent(c.id)}/typing`, { typing: on }).catch(() => {});
}

window.teamUpdate = (u) => {
  if (u.type === "typing") {
    typingSeen(u.id, u.name, u.typing);
    return true;
  }
  if (u.type === "operators") {
    if (state.view === "settings") renderOperators(u.operators);
    return true;
  }
  if (u.type === "message" && u.message.direction === "in") typingSeen(u.message.conv_id, "", false);
  return false;
};

// ------------------------------------------------------------------ saved replies

async function loadSaved() {
  team.saved = (await api("GET", "/api/saved-replies")).replies;
}

function menuItems() {
  const text = $("reply").value;
  if (!text.startsWith("/") || text.includes("\n")) return [];
  const q = text.slice(1).toLowerCase();
  return team.saved.filter((r) => r.name.startsWith(q)).slice(0, 20);
}

function renderMenu() {
  const menu = $("saved-menu");
  const items = menuItems();
  menu.hidden = items.length === 0;
  menu.replaceChildren();
  team.menuIndex = Math.min(team.menuIndex, Math.max(items.length - 1, 0));
  items.forEach((r, i) => {
    const li = el("li", null, `/${r.name} — ${r.text.slice(0, 80)}`);
    li.setAttribute("role", "option");
    li.setAttribute("aria-selected", String(i === team.menuIndex));
    li.addEventListener("mousedown", (e) => {
      e.preventDefault();
      pick(r);
    });
    menu.append(li);
  });
}

function pick(r) {
  $("reply").value = r.text;
  $("saved-menu").hidden = true;
  $("reply").focus();
}

function menuKeys(e) {
  if ($("saved-menu").hidden) return;
  const items = menuItems();
  if (e.key === "ArrowDown" || e.key === "ArrowUp") {
    team.menuIndex = (team.menuIndex + (e.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
    renderMenu();
  } else if ((e.key === "Enter" || e.key === "Tab") && items.length) {
    pick(items[team.menuIndex]);
  } else if (e.key === "Escape") {
    $("saved-menu").hidden = true;
  } else return;
  e.preventDefault();
  e.stopPropagation();
}

function renderSaved() {
  const list = $("saved-list");
  list.replaceChildren();
  for (const r of team.saved) {
    const li = el("li");
    li.append(el("code", null, `/${r.name}`), el("span", null, r.text));
    const del = el("button", "danger", "Delete");
    del.type = "button";
    del.addEventListener("click", async () => {
      team.saved = (await api("POST", `/api/saved-replies/${encodeURIComponent(r.name)}/delete`, {})).replies;
      renderSaved();
    });
    li.append(del);
    list.append(li);
  }
}

async function saveReply(e) {
  e.preventDefault();
  try {
    const body = { name: $("saved-name").value, text: $("saved-text").value };
    team.saved = (await api("POST", "/api/saved-replies", body)).replies;
    $("saved-name").value = "";
    $("saved-text").value = "";
    $("saved-error").textContent = "";
    renderSaved();
  } catch (err) {
    $("saved-error").textContent = err.message;
  }
}

// ------------------------------------------------------------------ settings: operators

function renderOperators(ops) {
  const list = $("operators");
  list.replaceChildren();
  if (!ops.length) list.append(el("li", "hint", "No operators yet."));
  for (const op of ops) {
    const li = el("li");
    li.append(el("span", null, op.name), el("span", "status", op.status));
    const btn = el("button", "danger", "Remove");
    btn.type = "button";
    btn.addEventListener("click", async () => {
      if (!confirm(`Remove ${op.name} from the team and from every conversation?`)) return;
      try {
        await api("POST", `/api/team/operators/${encodeURIComponent(op.id)}/remove`, {});
      } catch (err) {
        $("saved-error").textContent = err.message;
      }
    });
    li.append(btn);
    list.append(li);
  }
}

window.teamSettings = async () => {
  renderSaved();
  $("team-settings").hidden = team.role !== "host";
  if (!team.role) return;
  const t = await api("GET", "/api/team");
  if (team.role === "host") renderOperators(t.operators);
  const of = $("operator-of");
  of.hidden = !t.team;
  if (t.team) of.textContent = `This inbox is an operator of the team inbox “${t.team.name}” (${t.team.status}).`;
};

async function inviteOperator() {
  try {
    const data = await api("POST", "/api/team/operators", {});
    // the short link when the relay has one (apps show the team's name), else the full one
    $("operator-link").value = data.short_link || data.link;
    $("operator-invite").hidden = false;
  } catch (err) {
    $("saved-error").textContent = err.message;
  }
}

// ------------------------------------------------------------------ start

document.addEventListener("DOMContentLoaded", () => {
  $("assign-btn").addEventListener("click", assignToggle);
  for (const b of $("team-filters").querySelectorAll("button")) {
    b.addEventListener("click", () => setFilter(b.dataset.filter));
  }
  const box = $("reply");
  // before inbox.js's Enter-sends handler: Enter picks a saved reply while the menu is open
  $("reply-form").addEventListener("keydown", menuKeys, { capture: true });
  box.addEventListener("input", () => {
    renderMenu();
    tellTyping(box.value.trim() !== "" && !box.value.startsWith("/"));
  });
  $("reply-form").addEventListener("submit", () => {
    team.typingSent = false; // the reply ends the live message
  });
  window.addEventListener("hashchange", () => {
    tellTyping(false);
    showTyping();
  });
  $("saved-form").addEventListener("submit", saveReply);
  $("invite-operator").addEventListener("click", inviteOperator);
  $("copy-operator-link").addEventListener("click", (e) => copy($("operator-link").value, e.currentTarget));
  // wait for inbox.js to claim the session key, then learn our role
  const start = () => {
    if (!sessionKey) return setTimeout(start, 200);
    api("GET", "/api/team")
      .then((t) => {
        team.role = t.role;
        $("team-filters").hidden = !t.role;
        renderList();
      })
      .catch(() => {});
    loadSaved().catch(() => {});
  };
  start();
});
