/**
 * The web app's page: one relay, an address book of 1:1 contacts made from one-time invitations,
 * and rooms (hosted here, or joined by their link: shown in the same list, with their members).
 * It holds no key: the crypto worker (app/worker.ts, embedded and started from a blob:) does
 * everything secret; the page shows names, texts and links, built with the DOM only (ui/dom.ts),
 * so a hostile name or text is shown as text. The profile, sealed by the worker, is kept in
 * IndexedDB with the non-extractable key that opens it (ui/resume.ts), and restored on load.
 *
 * Configuration comes from the page's <meta name="hushwire-relay"> (the relay's SMP address) and
 * <meta name="hushwire-ws"> (its WebSocket URL). Opening /invitation#/?... joins that invitation;
 * the fragment is then removed from the address bar (a reload must not join twice).
 */

import workerSource from "virtual:hushwire-app-worker";
import { h } from "../ui/dom.js";
import { SessionStore } from "../ui/resume.js";
import { linkOfLocation, onOrigin, toSimplex } from "./link.js";
import { own, takeOver } from "./owner.js";
import { qrSvg } from "./qr.js";
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
const TICK_MARKS = ["…", "✓", "✓✓"] as const;

interface ContactUI {
  view: ContactView;
  items: Item[];
}

function meta(name: string): string {
  return document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content ?? "";
}

function quality(ms: number): string {
  return ms < 250 ? "good" : ms < 1000 ? "fair" : "poor";
}

/** Ask for the profile's passphrase until `start` opens it. */
function unlock(root: HTMLElement, start: (passphrase: string) => Promise<AppResults["start"]>): Promise<AppResults["start"]> {
  const input = h("input", { id: "unlock", type: "password", autocomplete: "current-password" });
  const open = h("button", { type: "button" }, "Open profile");
  const why = h("p", { role: "alert" });
  const form = h("section", { id: "unlock-form", "aria-label": "Unlock" }, h("div", { class: "row" }, h("label", { for: "unlock" }, "Passphrase to open the profile"), input, open), why);
  root.prepend(form);
  input.focus();
  return new Promise((resolve) => {
    const go = (): void => {
      why.textContent = "Opening…";
      start(input.value).then((r) => {
        form.remove();
        resolve(r);
      }, (e: unknown) => {
        why.textContent = e instanceof Error ? e.message : String(e);
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
  const take = h("button", { type: "button" }, "Use it here");
  take.addEventListener("click", takeOver);
  root.replaceChildren(h("header", {}, h("h1", {}, "Hushwire")), h("p", { role: "alert", id: "elsewhere" }, text), take);
  take.focus();
}

async function main(): Promise<void> {
  const root = document.getElementById("app")!;
  let worker: Worker_ | null = null;
  const owner = await own(() => {
    worker?.stop();
    elsewhere(root, "This profile is now open in another tab.");
  });
  if (!owner) {
    elsewhere(root, "This profile is open in another tab.");
    return;
  }
  const contacts = new Map<string, ContactUI>();
  let selected: string | null = null;
  let ready = false;
  /** The last write of the sealed profile to IndexedDB. */
  let saving: Promise<void> = Promise.resolve();

  const status = h("p", { id: "conn", role: "status" }, "Connecting to the relay…");
  const error = h("p", { id: "error", role: "alert" });
  const nameInput = h("input", { id: "name", type: "text", maxlength: "100", autocomplete: "off" });
  const saveName = h("button", { type: "button" }, "Save name");
  const nameSaved = h("span", { id: "name-saved", "aria-live": "polite" });
  const newInvite = h("button", { type: "button", id: "new-invitation" }, "New invitation");
  const inviteLink = h("input", { id: "invitation-link", type: "text", readonly: true });
  const copy = h("button", { type: "button" }, "Copy link");
  const qrBox = h("div", { class: "qr-box" });
  const invitePanel = h("section", { id: "invitation", hidden: true, "aria-label": "Invitation" },
    h("label", { for: "invitation-link" }, "Invitation link"), inviteLink, copy, qrBox,
    h("p", { class: "hint" }, "Send this link to one person (or let them scan the code). It works once."));
  const pasteInput = h("input", { id: "paste", type: "text", autocomplete: "off" });
  const connect = h("button", { type: "button" }, "Connect");
  const roomName = h("input", { id: "room-name", type: "text", maxlength: "100", autocomplete: "off" });
  const newRoom = h("button", { type: "button", id: "new-room" }, "New room");
  const list = h("ul", { id: "contacts", "aria-label": "Contacts" });
  const roomLinkInput = h("input", { id: "room-link", type: "text", readonly: true });
  const roomQr = h("div", { class: "qr-box" });
  const roomLinkRow = h("div", { id: "room-link-box", hidden: true },
    h("label", { for: "room-link" }, "Room link"), roomLinkInput, roomQr,
    h("p", { class: "hint" }, "Anyone with this link can join the room. This browser admits them while the app is open here; people who open it meanwhile wait until then."));
  const members = h("ul", { id: "members", "aria-label": "Members" });
  const clearBtn = h("button", { type: "button", id: "clear-history" }, "Clear history");
  const leaveBtn = h("button", { type: "button", id: "leave-room" }, "Leave room");
  const roomPanel = h("div", { id: "room", hidden: true }, roomLinkRow, h("h3", {}, "Members"), members, h("div", { class: "row" }, clearBtn, leaveBtn));
  const chatTitle = h("h2", { id: "chat-title" });
  const chatStatus = h("p", { id: "chat-status" });
  const renameInput = h("input", { id: "rename", type: "text", maxlength: "100", autocomplete: "off" });
  const renameBtn = h("button", { type: "button" }, "Rename");
  const verifyBtn = h("button", { type: "button" }, "Verify");
  const deleteBtn = h("button", { type: "button" }, "Delete");
  const code = h("p", { id: "security-code", hidden: true });
  const log = h("ol", { id: "messages", role: "log", "aria-label": "Messages" });
  const messageInput = h("input", { id: "message", type: "text", maxlength: "4096", autocomplete: "off" });
  const send = h("button", { type: "button" }, "Send");
  const chat = h("section", { id: "chat", hidden: true, "aria-labelledby": "chat-title" },
    chatTitle, chatStatus,
    h("div", { class: "row" }, h("label", { for: "rename" }, "Contact name"), renameInput, renameBtn, verifyBtn, deleteBtn),
    code, roomPanel, log,
    h("div", { class: "row" }, h("label", { for: "message" }, "Message"), messageInput, send));
  const passphrase = h("input", { id: "passphrase", type: "password", autocomplete: "new-password", maxlength: "1024" });
  const exportBtn = h("button", { type: "button" }, "Export profile");
  const fileInput = h("input", { id: "profile-file", type: "file" });
  const importBtn = h("button", { type: "button" }, "Import profile");
  const transfer = h("p", { id: "transfer", "aria-live": "polite" });
  const protectInput = h("input", { id: "protect", type: "password", autocomplete: "new-password", maxlength: "1024" });
  const protectBtn = h("button", { type: "button" }, "Set passphrase");
  const move = h("section", { "aria-labelledby": "move-title" },
    h("h2", { id: "move-title" }, "Move to another device"),
    h("p", { class: "hint" }, "Export the whole profile as one file, encrypted with a passphrase, and import it in the other browser. Then stop using it here: two browsers with the same profile break its connections."),
    h("div", { class: "row" }, h("label", { for: "passphrase" }, "Passphrase"), passphrase, exportBtn),
    h("div", { class: "row" }, h("label", { for: "profile-file" }, "Profile file"), fileInput, importBtn),
    transfer,
    h("h2", {}, "Protect this browser's profile"),
    h("p", { class: "hint" }, "With a passphrase, the profile stored in this browser opens only when you type it (an empty one removes the protection)."),
    h("div", { class: "row" }, h("label", { for: "protect" }, "New profile passphrase"), protectInput, protectBtn));
  root.append(
    h("header", {}, h("h1", {}, "Hushwire"), status),
    error,
    h("section", { "aria-label": "Profile", class: "row" }, h("label", { for: "name" }, "Your name"), nameInput, saveName, nameSaved),
    h("section", { "aria-label": "Connect", class: "row" }, newInvite, h("label", { for: "paste" }, "Paste a link"), pasteInput, connect),
    h("section", { "aria-label": "Rooms", class: "row" }, h("label", { for: "room-name" }, "Room name"), roomName, newRoom),
    invitePanel,
    h("h2", {}, "Contacts"),
    list,
    chat,
    move,
  );

  const showError = (e: unknown): void => {
    error.textContent = e instanceof Error ? e.message : String(e);
  };

  const renderItem = (item: Item): HTMLLIElement => {
    const li = h("li", { class: item.dir, "data-msg-id": String(item.msgId) }, h("span", { class: "text" }, item.text));
    if (item.from !== undefined) li.prepend(h("span", { class: "from" }, item.from), ": ");
    if (item.dir === "out") li.append(h("span", { class: "tick", "data-tick": TICKS[item.tick], "aria-label": TICKS[item.tick] }, TICK_MARKS[item.tick]));
    return li;
  };

  const statusText = (c: ContactView): string =>
    c.status === "failed" ? `failed: ${c.detail}` : c.status === "invited" ? "waiting for the invitation to be opened" : c.detail !== "" && c.kind === "room" ? `${c.status}: ${c.detail}` : c.status;

  const renderList = (): void => {
    list.replaceChildren(...[...contacts.values()].map(({ view }) => {
      const b = h("button", { type: "button", "aria-current": view.id === selected ? "true" : false }, h("span", { class: "cname" }, view.name), " ", h("span", { class: "cstatus" }, statusText(view)));
      b.addEventListener("click", () => select(view.id));
      return h("li", { "data-id": view.id }, b);
    }));
  };

  const renderChat = (): void => {
    const c = selected === null ? undefined : contacts.get(selected);
    chat.hidden = c === undefined;
    if (c === undefined) return;
    chatTitle.textContent = c.view.name;
    chatStatus.textContent = statusText(c.view);
    log.replaceChildren(...c.items.map(renderItem));
    const room = c.view.kind === "room";
    roomPanel.hidden = !room;
    verifyBtn.hidden = room;
    deleteBtn.hidden = room;
    clearBtn.hidden = !c.view.owner;
    members.replaceChildren(...c.view.members.map((n) => h("li", {}, n)));
    const shown = c.view.owner && c.view.link !== "" ? onOrigin(c.view.link, location.origin) : "";
    roomLinkRow.hidden = shown === "";
    if (roomLinkInput.value !== shown) {
      roomLinkInput.value = shown;
      roomQr.replaceChildren(...(shown === "" ? [] : [qrSvg(shown, "QR code of the room link")]));
    }
  };

  const select = (id: string | null): void => {
    selected = id;
    code.hidden = true;
    const c = id === null ? undefined : contacts.get(id);
    if (c !== undefined) renameInput.value = c.view.name;
    renderList();
    renderChat();
    if (c !== undefined) messageInput.focus();
  };

  const showInvitation = (link: string): void => {
    const shown = onOrigin(link, location.origin);
    inviteLink.value = shown;
    qrBox.replaceChildren(qrSvg(shown, "QR code of the invitation link"));
    invitePanel.hidden = false;
  };

  const onEvent = (e: AppEvent): void => {
    switch (e.event) {
      case "status":
        // "Online" only once the page is ready (every control wired): until then, only noted
        status.dataset.state = e.status === "disconnected" ? "offline" : "online";
        if (ready) status.textContent = e.status === "disconnected" ? "Offline: reconnecting… (messages you write go out later)" : "Online";
        return;
      case "lag":
        if (ready && status.dataset.state !== "offline") status.textContent = `Online · keepalive ${Math.round(e.ms)} ms · ${quality(e.ms)}`;
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
        saving = store.save(key, e.data, (text) => showError(new Error(text))).catch(() => undefined);
        return;
    }
  };

  const store = new SessionStore("hushwire-app-profile");
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
    transfer.textContent = "Protecting…";
    w.call({ op: "protect", passphrase: p }).then(() => {
      protectInput.value = "";
      transfer.textContent = p === "" ? "The profile is no longer protected by a passphrase." : "The profile now needs its passphrase to open.";
    }, (e: unknown) => {
      transfer.textContent = "";
      showError(e);
    });
  });
  exportBtn.addEventListener("click", () => {
    transfer.textContent = "Encrypting…";
    w.call({ op: "exportProfile", passphrase: passphrase.value }).then((r) => {
      const url = URL.createObjectURL(new Blob([r.data], { type: "application/octet-stream" }));
      h("a", { href: url, download: "hushwire-profile.hushwire" }).click();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      transfer.textContent = "Profile exported.";
    }, (e: unknown) => {
      transfer.textContent = "";
      showError(e);
    });
  });
  importBtn.addEventListener("click", () => {
    const file = fileInput.files?.[0];
    if (file === undefined) return showError(new Error("choose the profile file first"));
    if (file.size > MAX_PROFILE) return showError(new Error("this file is too large to be a profile"));
    transfer.textContent = "Opening…";
    file.arrayBuffer().then((data) => w.call({ op: "importProfile", passphrase: passphrase.value, data })).then((r) => {
      apply(r);
      error.textContent = "";
      transfer.textContent = "Profile imported.";
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
    // saved once the worker sealed the profile and the page stored it
    w.call({ op: "setName", name: nameInput.value }).then(() => saving).then(() => {
      nameSaved.textContent = "Name saved.";
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
      code.textContent = `Security code: ${r.code}. Compare it with your contact's (in person or by a call): if they match, nobody is in between.`;
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
  status.textContent = status.dataset.state === "offline" ? "Offline: reconnecting… (messages you write go out later)" : "Online";

  const link = linkOfLocation(location);
  if (link !== null) {
    history.replaceState(null, "", "/");
    join(link);
  }
}

main().catch((e: unknown) => {
  const el = document.getElementById("error") ?? document.body.appendChild(document.createElement("p"));
  el.setAttribute("role", "alert");
  el.textContent = `The app could not start: ${e instanceof Error ? e.message : String(e)}`;
});
