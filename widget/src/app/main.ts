/**
 * The web app's page: one relay, an address book of 1:1 contacts made from one-time invitations,
 * and rooms (hosted here, or joined by their link: shown in the same list, with their members).
 * It holds no key: the crypto worker (app/worker.ts, embedded and started from a blob:) does
 * everything secret; the page shows names, texts and links, built with the DOM only (ui/dom.ts),
 * so a hostile name or text is shown as text. The profile, sealed by the worker, is kept in
 * IndexedDB with the non-extractable key that opens it (ui/resume.ts), and restored on load.
 * Write-ahead (worker/durable.ts): the page answers the worker's `sealed` with `stored(seq)` once
 * the IndexedDB transaction completed, and the worker sends and acknowledges nothing before; a
 * write that fails is tried again and the person is told ({@link AppStrings.unsaved}).
 *
 * Configuration comes from the page's <meta name="hushwire-relay"> (the relay's SMP address) and
 * <meta name="hushwire-ws"> (its WebSocket URL). Opening /invitation#/?... joins that invitation
 * (/contact#/?... an address or a room; /a#, /i#, /g# short links, resolved by the worker);
 * the fragment is then removed from the address bar (a reload must not join twice). The page
 * speaks English or German (app/strings.ts: `?lang=`, the choice remembered, navigator.languages).
 */

import workerSource from "virtual:hushwire-app-worker";
import { h } from "../ui/dom.js";
import { SessionStore } from "../ui/resume.js";
import { linkOfLocation, onOrigin, toSimplex } from "./link.js";
import { own, takeOver } from "./owner.js";
import { qrSvg } from "./qr.js";
import { en, LANGS, pickLanguage, translate, type AppStrings, type Lang } from "./strings.js";
import { de } from "./strings_de.js";
import { MAX_PROFILE, PASSPHRASE_NEEDED, parseAppReply, type AppEvent, type AppRequest, type AppResults, type ContactView, type Item } from "./rpc.js";

type Req = AppRequest extends infer R ? (R extends { id: number } ? Omit<R, "id"> : never) : never;

interface TrustedTypesLike {
  createPolicy(name: string, rules: { createScriptURL: (s: string) => string }): { createScriptURL(s: string): unknown };
}

/** The worker's blob: URL, as a TrustedScriptURL where Trusted Types are enforced. */
function workerURL(url: string): string {
  const tt = (globalThis as { trustedTypes?: TrustedTypesLike }).trustedTypes;
  const policy = tt?.createPolicy("hushwire-app", { createScriptURL: (s) => (s.startsWith("blob:") ? s : "about:invalid") });
  return (policy === undefined ? url : policy.createScriptURL(url)) as string;
}

class Worker_ {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (x: unknown) => void; reject: (e: Error) => void }>();
  #next = 1;

  constructor(onEvent: (e: AppEvent) => void) {
    const url = URL.createObjectURL(new Blob([workerSource], { type: "text/javascript" }));
    this.#worker = new Worker(workerURL(url), { name: "hushwire-app-crypto" });
    URL.revokeObjectURL(url);
    this.#worker.addEventListener("message", (ev: MessageEvent<unknown>) => {
      const r = parseAppReply(ev.data);
      if (r === null) return;
      if ("event" in r) return onEvent(r);
      const p = this.#pending.get(r.id);
      this.#pending.delete(r.id);
      if (r.ok) p?.resolve(r.result);
      else p?.reject(new Error(r.error));
    });
  }

  stop(): void {
    this.#worker.terminate();
    for (const p of this.#pending.values()) p.reject(new Error("stopped"));
    this.#pending.clear();
  }

  call<K extends Req["op"]>(req: Extract<Req, { op: K }>): Promise<AppResults[K]> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (x: unknown) => void, reject });
      this.#worker.postMessage({ ...req, id });
    });
  }
}

const TICKS = ["queued", "sent", "delivered"] as const;
const TABLES: Record<Lang, AppStrings> = { en, de };
/** Where the page remembers a language asked for with ?lang= or chosen in "Language". */
const LANG_KEY = "hushwire-app-lang";

function storedLanguage(): string | null {
  try {
    return localStorage.getItem(LANG_KEY);
  } catch {
    return null;
  }
}

function keepLanguage(lang: Lang): void {
  try {
    localStorage.setItem(LANG_KEY, lang);
  } catch {
    // storage off: the choice lasts for this page only
  }
}

const lang = pickLanguage(location.search, storedLanguage(), navigator.languages ?? [navigator.language]);
if (new URLSearchParams(location.search).has("lang")) keepLanguage(lang);
const t = TABLES[lang];
document.documentElement.lang = lang;

/** A contact's name as shown: the worker's names for the unnamed in the page's language. */
function shownName(name: string): string {
  return name === en.newContact ? t.newContact : name === en.room ? t.room : name;
}

/** An error (or the worker's English sentence) in the page's language. */
function message(e: unknown): string {
  return translate(t, e instanceof Error ? e.message : String(e));
}

const TICK_MARKS = ["…", "✓", "✓✓"] as const;

interface ContactUI {
  view: ContactView;
  items: Item[];
}

function meta(name: string): string {
  return document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content ?? "";
}

function quality(ms: number): string {
  return t.quality[ms < 250 ? 0 : ms < 1000 ? 1 : 2];
}

/** Ask for the profile's passphrase until `start` opens it. */
function unlock(root: HTMLElement, start: (passphrase: string) => Promise<AppResults["start"]>): Promise<AppResults["start"]> {
  const input = h("input", { id: "unlock", type: "password", autocomplete: "current-password" });
  const open = h("button", { type: "button" }, t.unlockButton);
  const why = h("p", { role: "alert" });
  const form = h("section", { id: "unlock-form", "aria-label": t.unlockRegion }, h("div", { class: "row" }, h("label", { for: "unlock" }, t.unlockLabel), input, open), why);
  root.prepend(form);
  input.focus();
  return new Promise((resolve) => {
    const go = (): void => {
      why.textContent = t.opening;
      start(input.value).then((r) => {
        form.remove();
        resolve(r);
      }, (e: unknown) => {
        why.textContent = message(e);
      });
    };
    open.addEventListener("click", go);
    input.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") go();
    });
  });
}

/** The page says the profile is another tab's, with a button to take it over. */
function elsewhere(root: HTMLElement, text: string): void {
  const take = h("button", { type: "button" }, t.useHere);
  take.addEventListener("click", takeOver);
  root.replaceChildren(h("header", {}, h("h1", {}, t.title)), h("p", { role: "alert", id: "elsewhere" }, text), take);
  take.focus();
}

async function main(): Promise<void> {
  const root = document.getElementById("app")!;
  let worker: Worker_ | null = null;
  const owner = await own(() => {
    worker?.stop();
    elsewhere(root, t.elsewhereNow);
  });
  if (!owner) {
    elsewhere(root, t.elsewhere);
    return;
  }
  const contacts = new Map<string, ContactUI>();
  let selected: string | null = null;
  let ready = false;

  const status = h("p", { id: "conn", role: "status" }, t.connecting);
  const error = h("p", { id: "error", role: "alert" });
  const nameInput = h("input", { id: "name", type: "text", maxlength: "100", autocomplete: "off" });
  const saveName = h("button", { type: "button" }, t.saveName);
  const nameSaved = h("span", { id: "name-saved", "aria-live": "polite" });
  const newInvite = h("button", { type: "button", id: "new-invitation" }, t.newInvitation);
  const inviteLink = h("input", { id: "invitation-link", type: "text", readonly: true });
  const copy = h("button", { type: "button" }, t.copyLink);
  const qrBox = h("div", { class: "qr-box" });
  const invitePanel = h("section", { id: "invitation", hidden: true, "aria-label": t.invitationRegion },
    h("label", { for: "invitation-link" }, t.invitationLink), inviteLink, copy, qrBox,
    h("p", { class: "hint" }, t.invitationHint));
  const pasteInput = h("input", { id: "paste", type: "text", autocomplete: "off" });
  const connect = h("button", { type: "button" }, t.connect);
  const roomName = h("input", { id: "room-name", type: "text", maxlength: "100", autocomplete: "off" });
  const newRoom = h("button", { type: "button", id: "new-room" }, t.newRoom);
  const list = h("ul", { id: "contacts", "aria-label": t.contacts });
  const roomLinkInput = h("input", { id: "room-link", type: "text", readonly: true });
  const roomQr = h("div", { class: "qr-box" });
  const roomLinkRow = h("div", { id: "room-link-box", hidden: true },
    h("label", { for: "room-link" }, t.roomLink), roomLinkInput, roomQr,
    h("p", { class: "hint" }, t.roomHint));
  const members = h("ul", { id: "members", "aria-label": t.members });
  const clearBtn = h("button", { type: "button", id: "clear-history" }, t.clearHistory);
  const leaveBtn = h("button", { type: "button", id: "leave-room" }, t.leaveRoom);
  const roomPanel = h("div", { id: "room", hidden: true }, roomLinkRow, h("h3", {}, t.members), members, h("div", { class: "row" }, clearBtn, leaveBtn));
  const chatTitle = h("h2", { id: "chat-title" });
  const chatStatus = h("p", { id: "chat-status" });
  const renameInput = h("input", { id: "rename", type: "text", maxlength: "100", autocomplete: "off" });
  const renameBtn = h("button", { type: "button" }, t.rename);
  const verifyBtn = h("button", { type: "button" }, t.verify);
  const deleteBtn = h("button", { type: "button" }, t.delete);
  const code = h("p", { id: "security-code", hidden: true });
  const log = h("ol", { id: "messages", role: "log", "aria-label": t.messages });
  const messageInput = h("input", { id: "message", type: "text", maxlength: "4096", autocomplete: "off" });
  const send = h("button", { type: "button" }, t.send);
  const chat = h("section", { id: "chat", hidden: true, "aria-labelledby": "chat-title" },
    chatTitle, chatStatus,
    h("div", { class: "row" }, h("label", { for: "rename" }, t.contactName), renameInput, renameBtn, verifyBtn, deleteBtn),
    code, roomPanel, log,
    h("div", { class: "row" }, h("label", { for: "message" }, t.message), messageInput, send));
  const passphrase = h("input", { id: "passphrase", type: "password", autocomplete: "new-password", maxlength: "1024" });
  const exportBtn = h("button", { type: "button" }, t.exportProfile);
  const fileInput = h("input", { id: "profile-file", type: "file" });
  const importBtn = h("button", { type: "button" }, t.importProfile);
  const transfer = h("p", { id: "transfer", "aria-live": "polite" });
  const protectInput = h("input", { id: "protect", type: "password", autocomplete: "new-password", maxlength: "1024" });
  const protectBtn = h("button", { type: "button" }, t.setPassphrase);
  const move = h("section", { "aria-labelledby": "move-title" },
    h("h2", { id: "move-title" }, t.moveTitle),
    h("p", { class: "hint" }, t.moveHint),
    h("div", { class: "row" }, h("label", { for: "passphrase" }, t.passphrase), passphrase, exportBtn),
    h("div", { class: "row" }, h("label", { for: "profile-file" }, t.profileFile), fileInput, importBtn),
    transfer,
    h("h2", {}, t.protectTitle),
    h("p", { class: "hint" }, t.protectHint),
    h("div", { class: "row" }, h("label", { for: "protect" }, t.newPassphrase), protectInput, protectBtn));
  const languages: Record<Lang, string> = { en: "English", de: "Deutsch" };
  const langSelect = h("select", { id: "language" }, ...LANGS.map((l) => h("option", { value: l, lang: l, selected: l === lang }, languages[l])));
  langSelect.addEventListener("change", () => {
    keepLanguage(langSelect.value as Lang);
    location.search = `?lang=${langSelect.value}`;
  });
  root.append(
    h("header", {}, h("h1", {}, t.title), status),
    error,
    h("section", { "aria-label": t.regions.profile, class: "row" }, h("label", { for: "name" }, t.nameLabel), nameInput, saveName, nameSaved),
    h("section", { "aria-label": t.regions.connect, class: "row" }, newInvite, h("label", { for: "paste" }, t.pasteLabel), pasteInput, connect),
    h("section", { "aria-label": t.regions.rooms, class: "row" }, h("label", { for: "room-name" }, t.roomName), roomName, newRoom),
    invitePanel,
    h("h2", {}, t.contacts),
    list,
    chat,
    move,
    h("footer", { class: "row" }, h("label", { for: "language" }, t.language), langSelect),
  );

  const showError = (e: unknown): void => {
    error.textContent = message(e);
  };

  const renderItem = (item: Item): HTMLLIElement => {
    const li = h("li", { class: item.dir, "data-msg-id": String(item.msgId) }, h("span", { class: "text" }, item.text));
    if (item.from !== undefined) li.prepend(h("span", { class: "from" }, item.from), ": ");
    if (item.dir === "out") li.append(h("span", { class: "tick", "data-tick": TICKS[item.tick], "aria-label": t.ticks[item.tick] }, TICK_MARKS[item.tick]));
    return li;
  };

  const statusText = (c: ContactView): string =>
    c.status === "failed" || (c.detail !== "" && c.kind === "room") ? `${t.statuses[c.status]}: ${translate(t, c.detail)}` : t.statuses[c.status];

  const renderList = (): void => {
    list.replaceChildren(...[...contacts.values()].map(({ view }) => {
      const b = h("button", { type: "button", "aria-current": view.id === selected ? "true" : false }, h("span", { class: "cname" }, shownName(view.name)), " ", h("span", { class: "cstatus" }, statusText(view)));
      b.addEventListener("click", () => select(view.id));
      return h("li", { "data-id": view.id }, b);
    }));
  };

  const renderChat = (): void => {
    const c = selected === null ? undefined : contacts.get(selected);
    chat.hidden = c === undefined;
    if (c === undefined) return;
    chatTitle.textContent = shownName(c.view.name);
    chatStatus.textContent = statusText(c.view);
    log.replaceChildren(...c.items.map(renderItem));
    const room = c.view.kind === "room";
    roomPanel.hidden = !room;
    verifyBtn.hidden = room;
    deleteBtn.hidden = room;
    clearBtn.hidden = !c.view.owner;
    members.replaceChildren(...c.view.members.map((n) => h("li", {}, n.endsWith(" (host)") ? `${n.slice(0, -7)} ${t.host}` : n)));
    const shown = c.view.owner && c.view.link !== "" ? onOrigin(c.view.link, location.origin) : "";
    roomLinkRow.hidden = shown === "";
    if (roomLinkInput.value !== shown) {
      roomLinkInput.value = shown;
      roomQr.replaceChildren(...(shown === "" ? [] : [qrSvg(shown, t.roomQr)]));
    }
  };

  const select = (id: string | null): void => {
    selected = id;
    code.hidden = true;
    const c = id === null ? undefined : contacts.get(id);
    if (c !== undefined) renameInput.value = shownName(c.view.name);
    renderList();
    renderChat();
    if (c !== undefined) messageInput.focus();
  };

  const showInvitation = (link: string): void => {
    const shown = onOrigin(link, location.origin);
    inviteLink.value = shown;
    qrBox.replaceChildren(qrSvg(shown, t.invitationQr));
    invitePanel.hidden = false;
  };

  const onEvent = (e: AppEvent): void => {
    switch (e.event) {
      case "status":
        // "Online" only once the page is ready (every control wired): until then, only noted
        status.dataset.state = e.status === "disconnected" ? "offline" : "online";
        if (ready) status.textContent = e.status === "disconnected" ? t.offline : t.online;
        return;
      case "lag":
        if (ready && status.dataset.state !== "offline") status.textContent = t.keepalive(Math.round(e.ms), quality(e.ms));
        return;
      case "contact": {
        const c = contacts.get(e.contact.id);
        if (c === undefined) contacts.set(e.contact.id, { view: e.contact, items: [] });
        else c.view = e.contact;
        if (e.contact.status !== "invited" && inviteLink.value !== "" && invitePanel.dataset.id === e.contact.id) invitePanel.hidden = true;
        renderList();
        renderChat();
        return;
      }
      case "message": {
        const c = contacts.get(e.contact);
        if (c === undefined) return;
        c.items.push(e.item);
        if (e.contact === selected) log.append(renderItem(e.item));
        return;
      }
      case "items": {
        const c = contacts.get(e.contact);
        if (c === undefined) return;
        c.items = e.items;
        if (e.contact === selected) renderChat();
        return;
      }
      case "tick": {
        const item = contacts.get(e.contact)?.items.find((x) => x.dir === "out" && x.msgId === e.msgId);
        if (item === undefined) return;
        item.tick = e.tick;
        if (e.contact === selected) renderChat();
        return;
      }
      case "sealed":
        // committed (or tried again until it is): only then may the worker send and acknowledge
        // what this profile covers; a failure is said until a write succeeds
        store.save(key, e.data, () => (error.textContent = t.unsaved)).then(() => {
          if (error.textContent === t.unsaved) error.textContent = "";
          void w.call({ op: "stored", seq: e.seq });
        }, () => undefined);
        return;
    }
  };

  const store = new SessionStore("hushwire-app-profile", lang);
  const saved = await store.load();
  const key = saved?.key ?? (await store.newKey());
  const w = new Worker_(onEvent);
  worker = w;
  const start = (passphrase: string | null): Promise<AppResults["start"]> =>
    w.call({ op: "start", server: meta("hushwire-relay"), wsUrl: meta("hushwire-ws"), key, sealed: saved?.sealed ?? null, passphrase });
  let started: AppResults["start"];
  try {
    started = await start(null);
  } catch (e) {
    if (!(e instanceof Error) || !e.message.includes(PASSPHRASE_NEEDED)) throw e;
    started = await unlock(root, start);
  }
  const apply = (profile: AppResults["start"]): void => {
    nameInput.value = profile.name;
    contacts.clear();
    for (const c of profile.contacts) contacts.set(c.id, { view: { id: c.id, name: c.name, status: c.status, link: c.link, detail: c.detail, kind: c.kind, owner: c.owner, members: c.members }, items: c.items });
    select(null);
  };
  apply(started);

  protectBtn.addEventListener("click", () => {
    const p = protectInput.value;
    transfer.textContent = t.protecting;
    w.call({ op: "protect", passphrase: p }).then(() => {
      protectInput.value = "";
      transfer.textContent = p === "" ? t.unprotected : t.protected;
    }, (e: unknown) => {
      transfer.textContent = "";
      showError(e);
    });
  });
  exportBtn.addEventListener("click", () => {
    transfer.textContent = t.encrypting;
    w.call({ op: "exportProfile", passphrase: passphrase.value }).then((r) => {
      const url = URL.createObjectURL(new Blob([r.data], { type: "application/octet-stream" }));
      h("a", { href: url, download: "hushwire-profile.hushwire" }).click();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      transfer.textContent = t.exported;
    }, (e: unknown) => {
      transfer.textContent = "";
      showError(e);
    });
  });
  importBtn.addEventListener("click", () => {
    const file = fileInput.files?.[0];
    if (file === undefined) return showError(new Error(t.chooseFile));
    if (file.size > MAX_PROFILE) return showError(new Error(t.tooLarge));
    transfer.textContent = t.opening;
    file.arrayBuffer().then((data) => w.call({ op: "importProfile", passphrase: passphrase.value, data })).then((r) => {
      apply(r);
      error.textContent = "";
      transfer.textContent = t.imported;
    }, (e: unknown) => {
      transfer.textContent = "";
      showError(e);
    });
  });

  const join = (text: string): void => {
    error.textContent = "";
    w.call({ op: "join", link: toSimplex(text, location.origin) }).then((r) => select(r.id), showError);
  };

  saveName.addEventListener("click", () => {
    nameSaved.textContent = "";
    // saved: the worker replies once the page stored the profile with the name
    w.call({ op: "setName", name: nameInput.value }).then(() => {
      nameSaved.textContent = t.nameSaved;
    }, showError);
  });
  newInvite.addEventListener("click", () => {
    error.textContent = "";
    w.call({ op: "invite" }).then((r) => {
      invitePanel.dataset.id = r.id;
      showInvitation(r.link);
      inviteLink.focus();
      inviteLink.select();
    }, showError);
  });
  copy.addEventListener("click", () => void navigator.clipboard?.writeText(inviteLink.value).catch(() => inviteLink.select()));
  connect.addEventListener("click", () => {
    if (pasteInput.value.trim() !== "") join(pasteInput.value);
    pasteInput.value = "";
  });
  pasteInput.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") connect.click();
  });
  const sendNow = (): void => {
    const text = messageInput.value;
    if (selected === null || text.trim() === "") return;
    messageInput.value = "";
    w.call({ op: "send", contact: selected, text }).catch((e: unknown) => {
      messageInput.value = text;
      showError(e);
    });
  };
  send.addEventListener("click", sendNow);
  messageInput.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") sendNow();
  });
  renameBtn.addEventListener("click", () => {
    if (selected !== null) void w.call({ op: "rename", contact: selected, name: renameInput.value }).catch(showError);
  });
  verifyBtn.addEventListener("click", () => {
    if (selected === null) return;
    w.call({ op: "verify", contact: selected }).then((r) => {
      code.textContent = t.securityCode(r.code);
      code.hidden = false;
    }, showError);
  });
  newRoom.addEventListener("click", () => {
    error.textContent = "";
    w.call({ op: "createRoom", name: roomName.value }).then((r) => {
      roomName.value = "";
      select(r.id);
      roomLinkInput.focus();
      roomLinkInput.select();
    }, showError);
  });
  roomName.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") newRoom.click();
  });
  clearBtn.addEventListener("click", () => {
    if (selected !== null) void w.call({ op: "clearHistory", contact: selected }).catch(showError);
  });
  leaveBtn.addEventListener("click", () => deleteBtn.click());
  deleteBtn.addEventListener("click", () => {
    const id = selected;
    if (id === null) return;
    w.call({ op: "remove", contact: id }).then(() => {
      contacts.delete(id);
      select(null);
    }, showError);
  });

  ready = true;
  status.textContent = status.dataset.state === "offline" ? t.offline : t.online;

  const link = linkOfLocation(location);
  if (link !== null) {
    history.replaceState(null, "", "/");
    join(link);
  }
}

main().catch((e: unknown) => {
  const el = document.getElementById("error") ?? document.body.appendChild(document.createElement("p"));
  el.setAttribute("role", "alert");
  el.textContent = t.cannotStart(message(e));
});
